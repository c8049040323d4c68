//! Serving incoming CALLs: from one text frame to the frame to send back.
//!
//! A [`Dispatcher`] is built for one version and one role from the services of the functional
//! blocks the application supports (each block's `CsmsService` or `ChargingStationService`,
//! wrapping the application's implementation of that block's handler trait). For each CALL it:
//!
//! 1. parses the frame (unreadable frames get `RpcFrameworkError` with message id `-1`);
//! 2. looks the action up among the version's actions (unknown: `NotImplemented`) and checks
//!    that the peer may send it (otherwise `NotSupported`);
//! 3. validates the payload against the request schema, reporting every violation in the
//!    CALLERROR's details and choosing the code by [`OcppVersion::error_code_for`];
//! 4. hands the typed request to the block's handler method (no service for the block:
//!    `NotSupported`);
//! 5. validates the handler's response against the response schema (`InternalError` if it is
//!    invalid: the dispatcher never sends a frame the schema rejects) and encodes the CALLRESULT.

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{CallError, ErrorCode};
use crate::feature::Role;
use crate::frame::Frame;
use crate::validate::{validate, Violation};
use crate::version::{OcppVersion, Situation};

/// A boxed, `Send` future, as returned by [`Service::call`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The most violations listed in a CALLERROR's details.
pub const MAX_REPORTED_VIOLATIONS: usize = 16;

/// One functional block's handlers for one role, as the dispatcher sees them.
///
/// Implemented by the `CsmsService` and `ChargingStationService` wrappers that
/// `functional_block!` generates; applications implement the typed handler traits instead.
pub trait Service: Send + Sync {
    /// The role whose incoming CALLs this service answers.
    fn role(&self) -> Role;

    /// The actions whose CALLs this service answers (those the peer initiates).
    fn actions(&self) -> &'static [&'static str];

    /// Decodes an already validated payload, calls the handler method for `action` and encodes
    /// its response. An action not in [`Service::actions`] is answered `NotSupported`.
    fn call<'a>(
        &'a self,
        charging_station_id: &'a str,
        action: &str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, CallError>>;
}

/// Decodes a payload that has passed validation into its typed form.
///
/// Integral floats (`5.0`, valid for an `integer` member) are turned into integers first.
pub fn decode<T: DeserializeOwned>(mut payload: Value) -> Result<T, CallError> {
    normalize_integral_floats(&mut payload);
    serde_json::from_value(payload).map_err(|e| {
        // Validation passed, so this is a value the Rust type cannot hold (an integer beyond
        // the 64-bit range); the payload is valid but this receiver cannot process it.
        CallError::new(
            ErrorCode::GenericError,
            format!("cannot represent payload: {e}"),
        )
    })
}

/// Encodes a typed payload as a JSON value.
pub fn encode<T: Serialize>(payload: &T) -> Result<Value, CallError> {
    serde_json::to_value(payload)
        .map_err(|e| CallError::internal(format!("cannot encode payload: {e}")))
}

/// Decodes a valid payload into `T` and encodes it back: what a typed round trip makes of it.
pub fn reencode<T: Serialize + DeserializeOwned>(payload: Value) -> Result<Value, CallError> {
    encode(&decode::<T>(payload)?)
}

/// Replaces floats with no fractional part that fit in 64 bits by integers, in place.
///
/// Harmless for `number` members (their Rust `f64` reads integers), and needed for `integer`
/// members, which draft-06 lets be written as `5.0`.
pub(crate) fn normalize_integral_floats(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) {
                    // In range, so the conversion is exact.
                    #[allow(clippy::cast_possible_truncation)]
                    let i = f as i64;
                    *value = Value::from(i);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_integral_floats),
        Value::Object(members) => members.values_mut().for_each(normalize_integral_floats),
        _ => {}
    }
}

/// The CALLERROR for a payload's violations (none if the list is empty).
pub fn violations_error(
    version: OcppVersion,
    what: &str,
    violations: &[Violation],
) -> Option<CallError> {
    let code = version.error_code_for(violations)?;
    let first = &violations[0];
    let more = match violations.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    let errors: Vec<Value> = violations
        .iter()
        .take(MAX_REPORTED_VIOLATIONS)
        .map(|v| {
            let mut m = Map::new();
            m.insert("path".into(), v.pointer.clone().into());
            m.insert("message".into(), v.kind.to_string().into());
            Value::Object(m)
        })
        .collect();
    Some(
        CallError::new(code, format!("{what} violates its schema: {first}{more}"))
            .with_detail("errors", errors),
    )
}

/// Serves the incoming CALLs of one role for one OCPP version.
///
/// ```
/// # use ocpp_messages::dispatch::Dispatcher;
/// # use ocpp_messages::{OcppVersion, Role};
/// let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms);
/// let reply = futures_lite_block_on(dispatcher.handle("CS1", r#"[2,"1","NoSuchAction",{}]"#));
/// assert!(reply.unwrap().contains("NotImplemented"));
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct Dispatcher {
    version: OcppVersion,
    role: Role,
    services: Vec<Box<dyn Service>>,
    max_frame_len: usize,
}

/// The default largest frame a [`Dispatcher`] parses, in bytes (8 MiB).
pub const DEFAULT_MAX_FRAME_LEN: usize = 8 << 20;

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("version", &self.version)
            .field("role", &self.role)
            .field("services", &self.services.len())
            .field("max_frame_len", &self.max_frame_len)
            .finish()
    }
}

/// What the dispatcher made of one incoming frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// The frame was a CALL (or unreadable): send this frame back.
    Reply(String),
    /// The frame answers one of our own CALLs (a CALLRESULT or CALLERROR): match it to the
    /// pending call by message id, e.g. with [`crate::call::decode_response`].
    Response(Frame),
}

impl Dispatcher {
    /// A dispatcher that answers every known action with `NotSupported` until services are
    /// added with [`Dispatcher::with`].
    pub fn new(version: OcppVersion, role: Role) -> Self {
        Dispatcher {
            version,
            role,
            services: Vec::new(),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }

    /// Sets the largest frame parsed, in bytes (default [`DEFAULT_MAX_FRAME_LEN`]). A longer
    /// frame is answered `RpcFrameworkError` (1.6: `FormationViolation`) with message id `-1`
    /// without being parsed, so its size cannot multiply into memory.
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.max_frame_len = max_frame_len;
        self
    }

    /// Adds a functional block's service.
    ///
    /// # Panics
    ///
    /// If the service answers the other role: that is a programming error that no input can
    /// cause.
    #[must_use]
    pub fn with(mut self, service: impl Service + 'static) -> Self {
        assert_eq!(
            service.role(),
            self.role,
            "a {:?} service was added to a {:?} dispatcher",
            service.role(),
            self.role
        );
        self.services.push(Box::new(service));
        self
    }

    /// The version this dispatcher speaks.
    pub fn version(&self) -> OcppVersion {
        self.version
    }

    /// The role this dispatcher serves.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Handles one incoming text frame.
    ///
    /// For a CALL (and for anything that is not a readable frame) the result is the frame to
    /// send back; CALLRESULTs and CALLERRORs are handed back as [`Incoming::Response`].
    pub async fn handle_frame(&self, charging_station_id: &str, text: &str) -> Incoming {
        if text.len() > self.max_frame_len {
            let error = CallError::new(
                self.version.error_code(Situation::UnreadableFrame),
                format!(
                    "frame of {} bytes is longer than the limit of {} bytes",
                    text.len(),
                    self.max_frame_len
                ),
            );
            return Incoming::Reply(error.to_frame(crate::frame::UNREADABLE_MESSAGE_ID));
        }
        match Frame::parse(text) {
            Err(e) => Incoming::Reply(e.to_frame(self.version)),
            Ok(Frame::Call {
                message_id,
                action,
                payload,
            }) => {
                let reply = match self.call(charging_station_id, &action, payload).await {
                    Ok(result) => {
                        Value::Array(vec![3.into(), message_id.into(), result]).to_string()
                    }
                    Err(e) => e.to_frame(&message_id),
                };
                Incoming::Reply(reply)
            }
            Ok(frame) => Incoming::Response(frame),
        }
    }

    /// Handles one incoming text frame and returns the frame to send back, if any (`None` for
    /// CALLRESULTs and CALLERRORs, which answer our own calls; use
    /// [`Dispatcher::handle_frame`] to receive those).
    pub async fn handle(&self, charging_station_id: &str, text: &str) -> Option<String> {
        match self.handle_frame(charging_station_id, text).await {
            Incoming::Reply(reply) => Some(reply),
            Incoming::Response(_) => None,
        }
    }

    /// Serves one CALL whose frame has already been parsed: validates, dispatches, validates
    /// the response. Returns the CALLRESULT payload or the CALLERROR to send.
    pub async fn call(
        &self,
        charging_station_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, CallError> {
        let version = self.version;
        let Some(feature) = version.feature(action) else {
            return Err(CallError::new(
                version.error_code(Situation::UnknownAction),
                CallError::not_implemented(action).description,
            ));
        };
        if !feature.initiator.may_be_sent_by(self.role.peer()) {
            return Err(CallError::new(
                version.error_code(Situation::UnsupportedAction),
                format!(
                    "{action} is not sent by the {}",
                    role_name(self.role.peer())
                ),
            ));
        }
        if let Some(e) = violations_error(version, "request", &validate(feature.request, &payload))
        {
            return Err(e);
        }
        let Some(service) = self.services.iter().find(|s| s.actions().contains(&action)) else {
            return Err(CallError::not_supported(action));
        };
        let response = service.call(charging_station_id, action, payload).await?;
        let violations = validate(feature.response, &response);
        if let Some(e) = violations_error(version, "the handler's response", &violations) {
            return Err(CallError::new(
                version.error_code(Situation::Internal),
                e.description,
            ));
        }
        Ok(response)
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::ChargingStation => "charging station",
        Role::Csms => "CSMS",
    }
}
