//! Serving incoming CALLs: from one text frame to the frame to send back.
//!
//! A [`Dispatcher`] is built for one version and one role from the services of the functional
//! blocks the application supports (each block's `CsmsService` or `ChargingStationService`,
//! wrapping the application's implementation of that block's handler trait). For each CALL it:
//!
//! 1. checks the frame against its [`Limits`] ([`Dispatcher::with_limits`]) and parses it
//!    (unreadable frames get `RpcFrameworkError` with message id `-1`);
//! 2. looks the action up among the version's actions (unknown: `NotImplemented`) and checks
//!    that the peer may send it (otherwise `NotSupported`);
//! 3. validates the payload against the request schema, reporting every violation in the
//!    CALLERROR's details and choosing the code by [`OcppVersion::error_code_for`] (unless
//!    the [`Policy`] set with [`Dispatcher::with_policy`] relaxes it for this station and
//!    action);
//! 4. hands the typed request to the block's handler method (no service for the block:
//!    `NotSupported`);
//! 5. validates the handler's response against the response schema (`InternalError` if it is
//!    invalid: the dispatcher never sends a frame the schema rejects, unless an outgoing rule
//!    of the policy says otherwise) and encodes the CALLRESULT.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use crate::call::{Answer, PendingCalls, Unmatched};
pub use crate::codec::CallText;
use crate::codec::Codec;
use crate::error::{CallError, ErrorCode};
use crate::feature::{FeatureInfo, Role};
use crate::frame::{Envelope, Frame};
use crate::limits::{LimitError, Limits};
use crate::policy::{Direction, Leniency, Policy, Report, UnknownMembers};
use crate::validate::{validate, Violation, ViolationKind};
use crate::version::{OcppVersion, Situation};

/// A boxed, `Send` future, as returned by [`Service::call`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub use crate::version::MAX_REPORTED_VIOLATIONS;

/// One functional block's handlers for one role, as the dispatcher sees them.
///
/// Implemented by the `CsmsService` and `ChargingStationService` wrappers that
/// `functional_block!` generates (1.6: `CentralSystemService` and `ChargePointService`);
/// applications implement the typed handler traits instead.
pub trait Service: Send + Sync {
    /// The role whose incoming CALLs this service answers.
    fn role(&self) -> Role;

    /// The version whose dispatchers this service belongs to; `None` for a block that declares
    /// no version (it may be added to any dispatcher).
    fn version(&self) -> Option<OcppVersion> {
        None
    }

    /// The actions whose CALLs this service answers (those the peer initiates).
    fn actions(&self) -> &'static [&'static str];

    /// The metadata of `action`, if this service's block declares it. The dispatcher asks
    /// for actions its version does not define: that is how a downstream block's own actions
    /// are routed. The default declares none.
    fn feature(&self, action: &str) -> Option<&'static FeatureInfo> {
        let _ = action;
        None
    }

    /// Decodes an already validated payload, calls the handler method for `action` and encodes
    /// its response. An action not in [`Service::actions`] is answered `NotSupported`.
    fn call<'a>(
        &'a self,
        charging_station_id: &'a str,
        action: &str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, CallError>>;

    /// The fast path: decodes the payload of the CALL frame `frame` (of `action`, which the
    /// dispatcher has read from it) straight from the text, calls the handler and encodes its
    /// response as CALLRESULT payload text. `None` when the payload does not decode, or the
    /// service does not answer `action`: the dispatcher then takes the slow path, which
    /// reports exactly what is wrong. The default never takes the fast path.
    fn call_text<'a>(
        &'a self,
        charging_station_id: &'a str,
        action: &str,
        frame: CallText<'_>,
    ) -> Option<BoxFuture<'a, Result<String, CallError>>> {
        let _ = (charging_station_id, action, frame);
        None
    }
}

#[doc(hidden)]
pub use crate::codec::{decode, encode, reencode};

/// Decodes the payload text of a request or response on the fast path and encodes it back
/// (`None` when the fast path rejects it): the differential tests compare it with the
/// validator's verdict and with [`reencode`].
#[doc(hidden)]
pub fn fast_reencode<T: Codec>(payload: &str) -> Option<Value> {
    let typed: T = serde_json::from_str(payload).ok()?;
    serde_json::to_value(&typed).ok()
}

/// Encodes a handler's response as the JSON text of a CALLRESULT payload, checked against its
/// schema on the typed value; a response its schema rejects is an `InternalError` naming
/// every violation (the dispatcher never sends an invalid frame).
#[doc(hidden)]
pub fn encode_response<T: Codec>(response: &T) -> Result<String, CallError> {
    crate::codec::to_checked_text(response)
        .map_err(|violations| internal_response_error(&violations))
}

/// The `InternalError` for a handler response with these violations (not empty).
fn internal_response_error(violations: &[Violation]) -> CallError {
    let (description, _) = crate::version::violations_report("the handler's response", violations);
    CallError::new(ErrorCode::InternalError, description)
}

/// The CALLERROR for a payload's violations (none if the list is empty).
#[doc(hidden)]
pub fn violations_error(
    version: OcppVersion,
    what: &str,
    violations: &[Violation],
) -> Option<CallError> {
    version.violations_error(what, violations)
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
    /// The index in `services` of the service answering each action, sorted by action.
    by_action: Vec<(&'static str, usize)>,
    limits: Limits,
    policy: Policy,
    /// Whether `policy` may relax outgoing responses (the fast path then stands aside).
    relaxes_outgoing: bool,
    /// Whether `policy` may relax incoming payloads (answers are then matched under it).
    relaxes_incoming: bool,
}

pub use crate::limits::DEFAULT_MAX_FRAME_LEN;

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("version", &self.version)
            .field("role", &self.role)
            .field("services", &self.services.len())
            .field("limits", &self.limits)
            .field("policy", &self.policy)
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
    /// A CALLRESULT or CALLERROR this side refused to read because it breaks one of the
    /// [`Limits`] (a string or array too large): nothing is sent back, and the call it answers
    /// has failed with `error` ([`PendingCalls::fail`]).
    Refused {
        /// The frame's message id.
        message_id: String,
        /// Why it was refused, as the CALLERROR this side would have sent for a CALL.
        error: CallError,
    },
    /// A frame that is never answered (OCPP 2.1's SEND and CALLRESULTERROR): nothing to send
    /// back.
    NoReply(NoReply),
}

/// A frame that gets no answer, and what became of it (OCPP 2.1 Part 4: a SEND and a
/// CALLRESULTERROR are never answered, not even when they are invalid).
#[derive(Debug, Clone, PartialEq)]
pub enum NoReply {
    /// A valid SEND, delivered to its handler.
    Delivered {
        /// The SEND's action.
        action: String,
    },
    /// A SEND that was not delivered: the error a CALL would have been answered with (unknown
    /// action, wrong direction, invalid payload, or a malformed frame). Worth a log line.
    Undelivered {
        /// The SEND's message id, when it could be read.
        message_id: Option<String>,
        /// Why it was not delivered.
        error: CallError,
    },
    /// The peer's CALLRESULTERROR: it found the CALLRESULT we sent for its CALL `message_id`
    /// invalid. Worth a log line; there is nothing to match or answer.
    ResultRejected {
        /// The message id of the peer's CALL and of our CALLRESULT.
        message_id: String,
        /// The error as the peer sent it.
        error: CallError,
    },
}

/// What [`Dispatcher::receive`] made of one incoming frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A CALL was served (or the frame was unreadable): send this frame back.
    Reply(String),
    /// The answer to one of our own CALLs, matched and validated against its response schema;
    /// [`Answer::into_response`] gives the typed response.
    Answer(Answer),
    /// A CALLRESULT or CALLERROR for no pending call (never sent, answered already, or
    /// cancelled): nothing to send back, as OCPP-J says; worth a log line.
    Unmatched(Unmatched),
    /// A CALLRESULT to one of our calls whose payload its schema rejects, under OCPP 2.1:
    /// send `reply`, the CALLRESULTERROR with the CALLRESULT's message id, back. `answer`
    /// says what was wrong. (Under 1.6 and 2.0.1 such an answer is a [`Received::Answer`] with
    /// an error result, and nothing is sent.)
    RejectedAnswer {
        /// The answer, with the violations in its result.
        answer: Answer,
        /// The CALLRESULTERROR frame to send.
        reply: String,
    },
    /// A frame that is never answered (OCPP 2.1's SEND and CALLRESULTERROR).
    NoReply(NoReply),
}

impl Dispatcher {
    /// Receives one text frame from the peer: the one call a connection's read loop needs.
    ///
    /// A CALL is served by the handlers and its CALLRESULT or CALLERROR returned as
    /// [`Received::Reply`] (so is the CALLERROR for an unreadable frame); a CALLRESULT or
    /// CALLERROR is matched against `pending`, the calls this side has sent, and returned as
    /// [`Received::Answer`] (or [`Received::Unmatched`]). The lock is taken only to match an
    /// answer, never while a handler runs, so other tasks can make calls meanwhile.
    ///
    /// ```
    /// use std::sync::Mutex;
    ///
    /// use ocpp_messages::call::PendingCalls;
    /// use ocpp_messages::dispatch::{Dispatcher, Received};
    /// use ocpp_messages::v2_0_1::provisioning::{ResetFeature, ResetRequest, Reset};
    /// use ocpp_messages::{OcppVersion, Role};
    ///
    /// let csms = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms);
    /// let pending = Mutex::new(PendingCalls::new(OcppVersion::V2_0_1));
    /// let (id, _frame) = pending.lock().unwrap().call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle)).unwrap();
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// // The read loop: every text frame from the station goes through `receive`.
    /// let incoming = [
    ///     r#"[2,"s1","Heartbeat",{}]"#.to_owned(),
    ///     format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#),
    /// ];
    /// for text in incoming {
    ///     match csms.receive("CS-1", &text, &pending).await {
    ///         Received::Reply(reply) => assert!(reply.contains("NotSupported")), // send it back
    ///         Received::Answer(answer) => {
    ///             let response = answer.into_response::<ResetFeature>().unwrap();
    ///             assert_eq!(response.status.as_str(), "Accepted");
    ///         }
    ///         Received::Unmatched(unmatched) => eprintln!("ignoring: {unmatched}"),
    ///         // OCPP 2.1: a CALLRESULTERROR to send back, and frames never answered.
    ///         Received::RejectedAnswer { reply, .. } => { /* send `reply` */ }
    ///         Received::NoReply(what) => eprintln!("{what:?}"),
    ///     }
    /// }
    /// # });
    /// ```
    pub async fn receive(
        &self,
        charging_station_id: &str,
        text: &str,
        pending: &Mutex<PendingCalls>,
    ) -> Received {
        let answer = match self.handle_frame(charging_station_id, text).await {
            Incoming::Reply(reply) => return Received::Reply(reply),
            Incoming::NoReply(no_reply) => return Received::NoReply(no_reply),
            // A poisoned lock still holds a consistent map of pending calls.
            Incoming::Response(frame) if self.relaxes_incoming => {
                let leniency = |action: &str| {
                    self.policy
                        .leniency(Direction::Incoming, charging_station_id, action)
                };
                let answer = pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .answer_relaxed(frame, leniency);
                answer.map(|(answer, relaxation)| {
                    if let Some(relaxation) = relaxation {
                        self.policy.report(&Report {
                            charging_station_id,
                            action: answer.action,
                            direction: Direction::Incoming,
                            leniency: relaxation.leniency,
                            violations: &relaxation.violations,
                            delivered: relaxation.delivered,
                        });
                    }
                    answer
                })
            }
            Incoming::Response(frame) => pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .answer(frame),
            Incoming::Refused { message_id, error } => pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .fail(&message_id, error),
        };
        match answer {
            // OCPP 2.1: an invalid CALLRESULT is answered with a CALLRESULTERROR.
            Ok(answer) => match (&answer.result, self.version.has_call_result_error()) {
                (Err(crate::call::ResponseError::Invalid(error)), true) => {
                    let reply = error.to_result_error_frame(&answer.message_id);
                    Received::RejectedAnswer { answer, reply }
                }
                _ => Received::Answer(answer),
            },
            Err(unmatched) => Received::Unmatched(unmatched),
        }
    }

    /// A dispatcher that answers every known action with `NotSupported` until services are
    /// added with [`Dispatcher::with`].
    pub fn new(version: OcppVersion, role: Role) -> Self {
        Dispatcher {
            version,
            role,
            services: Vec::new(),
            by_action: Vec::new(),
            limits: Limits::DEFAULT,
            policy: Policy::strict(),
            relaxes_outgoing: false,
            relaxes_incoming: false,
        }
    }

    /// Sets the validation policy (default [`Policy::strict`]): which payloads, from or to
    /// which charging stations, may break their schema and how. See [`crate::policy`].
    ///
    /// ```
    /// use ocpp_messages::dispatch::Dispatcher;
    /// use ocpp_messages::policy::{Leniency, Policy, Rule};
    /// use ocpp_messages::{OcppVersion, Role};
    ///
    /// let csms = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with_policy(
    ///     Policy::strict().rule(Rule::incoming(Leniency::AllowUnknownMembers).for_station("CS-OLD")),
    /// );
    /// # let _ = csms;
    /// ```
    #[must_use]
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.relaxes_outgoing = policy.relaxes_outgoing();
        self.relaxes_incoming = policy.relaxes_incoming();
        self.policy = policy;
        self
    }

    /// The validation policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Sets the largest frame parsed, in bytes (default [`DEFAULT_MAX_FRAME_LEN`]). A longer
    /// frame is answered `RpcFrameworkError` (1.6: `FormationViolation`) with message id `-1`
    /// without being parsed, so its size cannot multiply into memory. The same as
    /// [`Dispatcher::with_limits`] with [`Limits::with_max_frame_len`].
    #[must_use]
    pub fn with_max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.limits = self.limits.with_max_frame_len(max_frame_len);
        self
    }

    /// Sets the limits every incoming frame is checked against before it is read (default
    /// [`Limits::DEFAULT`]; see [`crate::limits`]). A frame that breaks one is answered
    /// without being parsed: too long or too deep, `RpcFrameworkError` (1.6:
    /// `FormationViolation`) with message id `-1`; a string too long,
    /// `PropertyConstraintViolation`, an array too large, `OccurrenceConstraintViolation`, with
    /// the frame's message id (when it is a CALLRESULT or CALLERROR, nothing is sent and the
    /// call it answers fails: [`Incoming::Refused`]). Text that is not JSON is unreadable
    /// whatever limit it breaks.
    ///
    /// ```
    /// use ocpp_messages::dispatch::Dispatcher;
    /// use ocpp_messages::limits::Limits;
    /// use ocpp_messages::{OcppVersion, Role};
    ///
    /// let csms = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
    ///     .with_limits(Limits::default().with_max_string_chars(4096).with_max_depth(16));
    /// let frame = format!(
    ///     r#"[2,"7","DataTransfer",{{"vendorId":"v","data":"{}"}}]"#,
    ///     "x".repeat(5000)
    /// );
    /// let reply = tokio::runtime::Builder::new_current_thread().build().unwrap()
    ///     .block_on(csms.handle("CS-1", &frame)).unwrap();
    /// assert!(reply.starts_with(r#"[4,"7","PropertyConstraintViolation","#));
    /// ```
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits incoming frames are checked against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The answer to a frame that breaks a limit, without parsing it.
    fn refuse(&self, text: &str, breach: LimitError) -> Incoming {
        let mut situation = breach.situation();
        let mut description = breach.to_string();
        // Only JSON is answered with its id: text that is not is unreadable, limit or no limit.
        // (Checked without building anything, and only for a frame that breaks a limit.)
        if situation != Situation::UnreadableFrame && !crate::frame::is_json(text) {
            situation = Situation::UnreadableFrame;
            description = "frame is not valid JSON".to_owned();
        }
        let error = CallError::new(self.version.error_code(situation), description);
        if situation != Situation::UnreadableFrame {
            match crate::frame::head(text) {
                Some((3 | 4, message_id)) => {
                    return Incoming::Refused {
                        message_id: message_id.to_owned(),
                        error,
                    }
                }
                Some((_, message_id)) => return Incoming::Reply(error.to_frame(message_id)),
                None => {}
            }
        }
        Incoming::Reply(error.to_frame(crate::frame::UNREADABLE_MESSAGE_ID))
    }

    /// Adds a functional block's service.
    ///
    /// # Panics
    ///
    /// If the service answers the other role, or belongs to another version (a 2.0.1 block
    /// added to a 1.6 dispatcher): those are programming errors that no input can cause.
    #[must_use]
    pub fn with(mut self, service: impl Service + 'static) -> Self {
        assert_eq!(
            service.role(),
            self.role,
            "a {:?} service was added to a {:?} dispatcher",
            service.role(),
            self.role
        );
        if let Some(version) = service.version() {
            assert!(
                version == self.version,
                "an OCPP {version} service was added to an OCPP {} dispatcher",
                self.version
            );
        }
        for action in service.actions() {
            // The first service added for an action answers it.
            if let Err(at) = self.by_action.binary_search_by(|(a, _)| a.cmp(action)) {
                self.by_action.insert(at, (action, self.services.len()));
            }
        }
        self.services.push(Box::new(service));
        self
    }

    /// The metadata of `action`: the version's, else that of the service declaring it.
    fn feature(&self, action: &str) -> Option<&'static FeatureInfo> {
        self.version
            .feature(action)
            .or_else(|| self.service(action)?.feature(action))
    }

    /// The service answering `action`, if one was added.
    fn service(&self, action: &str) -> Option<&dyn Service> {
        let at = self
            .by_action
            .binary_search_by(|(a, _)| (*a).cmp(action))
            .ok()?;
        Some(&*self.services[self.by_action[at].1])
    }

    /// The fast path of a CALL: the envelope read in place, the payload decoded straight from
    /// the text into the typed request, the response encoded straight into the CALLRESULT.
    /// `None` when anything is not as it should be; the slow path then answers.
    async fn handle_fast(&self, charging_station_id: &str, text: &str) -> Option<String> {
        let (Envelope::Call { message_id, action }, start) = crate::frame::scan(text)? else {
            return None;
        };
        let feature = self.feature(action)?;
        if feature.send || !feature.initiator.may_be_sent_by(self.role.peer()) {
            return None;
        }
        // An invalid response the policy may let through is encoded on the slow path.
        if self.relaxes_outgoing
            && self
                .policy
                .leniency(Direction::Outgoing, charging_station_id, action)
                == Leniency::Report
        {
            return None;
        }
        let future = self.service(action)?.call_text(
            charging_station_id,
            action,
            CallText::new(text, start),
        )?;
        Some(match future.await {
            Ok(payload) => {
                let mut reply = String::with_capacity(payload.len() + message_id.len() + 8);
                reply.push_str("[3,\"");
                reply.push_str(message_id);
                reply.push_str("\",");
                reply.push_str(&payload);
                reply.push(']');
                reply
            }
            Err(e) => e.to_frame(message_id),
        })
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
        if let Err(breach) = self.limits.check(text) {
            return self.refuse(text, breach);
        }
        if let Some(reply) = self.handle_fast(charging_station_id, text).await {
            return Incoming::Reply(reply);
        }
        match Frame::parse_for(self.version, text) {
            Err(e) if !e.is_answered() => Incoming::NoReply(NoReply::Undelivered {
                message_id: e.message_id.clone(),
                error: e.to_call_error(self.version),
            }),
            Err(e) => Incoming::Reply(e.to_frame(self.version)),
            Ok(Frame::Send {
                message_id,
                action,
                payload,
            }) => Incoming::NoReply(
                match self.serve_send(charging_station_id, &action, payload).await {
                    Ok(()) => NoReply::Delivered { action },
                    Err(error) => NoReply::Undelivered {
                        message_id: Some(message_id),
                        error,
                    },
                },
            ),
            Ok(Frame::CallResultError {
                message_id,
                error_code,
                description,
                details,
            }) => {
                let code = error_code.parse().unwrap_or(ErrorCode::GenericError);
                let mut error = CallError::new(code, description);
                error.details = details;
                Incoming::NoReply(NoReply::ResultRejected { message_id, error })
            }
            Ok(Frame::Call {
                message_id,
                action,
                payload,
            }) => {
                let reply = match self.serve_call(charging_station_id, &action, payload).await {
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

    /// Handles one incoming text frame and returns the frame to send back, if any.
    ///
    /// CALLRESULTs and CALLERRORs, the answers to this side's own calls, give `None` and are
    /// dropped: a side that makes calls reads its frames with [`Dispatcher::receive`] instead,
    /// which hands them to its [`PendingCalls`].
    pub async fn handle(&self, charging_station_id: &str, text: &str) -> Option<String> {
        match self.handle_frame(charging_station_id, text).await {
            Incoming::Reply(reply) => Some(reply),
            Incoming::Response(_) | Incoming::NoReply(_) | Incoming::Refused { .. } => None,
        }
    }

    /// [`Dispatcher::handle`] for a frame as bytes (a binary WebSocket frame, or a transport
    /// that does not check UTF-8): bytes that are not UTF-8 are an unreadable frame, answered
    /// `RpcFrameworkError` (1.6: `FormationViolation`) with message id `-1`.
    pub async fn handle_bytes(&self, charging_station_id: &str, bytes: &[u8]) -> Option<String> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.handle(charging_station_id, text).await,
            Err(_) => Some(self.not_utf8()),
        }
    }

    /// [`Dispatcher::receive`] for a frame as bytes, as [`Dispatcher::handle_bytes`].
    pub async fn receive_bytes(
        &self,
        charging_station_id: &str,
        bytes: &[u8],
        pending: &Mutex<PendingCalls>,
    ) -> Received {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.receive(charging_station_id, text, pending).await,
            Err(_) => Received::Reply(self.not_utf8()),
        }
    }

    fn not_utf8(&self) -> String {
        CallError::new(
            self.version.error_code(Situation::UnreadableFrame),
            "frame is not UTF-8 text",
        )
        .to_frame(crate::frame::UNREADABLE_MESSAGE_ID)
    }

    /// Serves one incoming CALL whose frame has already been parsed: validates, dispatches,
    /// validates the response. Returns the CALLRESULT payload or the CALLERROR to send.
    /// (Outgoing calls are made with [`PendingCalls::call`].)
    pub async fn serve_call(
        &self,
        charging_station_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, CallError> {
        let version = self.version;
        let Some(feature) = self.feature(action) else {
            return Err(CallError::new(
                version.error_code(Situation::UnknownAction),
                CallError::not_implemented(action).description,
            ));
        };
        if feature.send {
            return Err(CallError::new(
                version.error_code(Situation::UnsupportedAction),
                format!("{action} is a SEND (message type 6), never a CALL"),
            ));
        }
        self.check_sender(feature, action)?;
        let mut payload = payload;
        let violations = validate(feature.request, &payload);
        let mut relaxed = Relaxed::default();
        if let Some(e) = violations_error(version, "request", &violations) {
            relaxed = self.relax_request(charging_station_id, feature, &mut payload, &violations);
            if !relaxed.delivered {
                // What the policy allowed is not why the request is refused.
                if relaxed.leniency != Leniency::Strict {
                    let rest: Vec<Violation> = violations
                        .iter()
                        .filter(|v| !matches!(v.kind, ViolationKind::Additional { .. }))
                        .cloned()
                        .collect();
                    if let Some(e) = violations_error(version, "request", &rest) {
                        return Err(e);
                    }
                }
                return Err(e);
            }
        }
        let Some(service) = self.service(action) else {
            return Err(CallError::not_supported(action));
        };
        let future = service.call(charging_station_id, action, payload);
        let response = Scoped {
            inner: future,
            unknown: relaxed.unknown,
            lenient: relaxed.lenient,
        }
        .await?;
        let violations = validate(feature.response, &response);
        if !violations.is_empty() {
            let leniency = self
                .policy
                .leniency(Direction::Outgoing, charging_station_id, action);
            let delivered = leniency == Leniency::Report;
            if leniency != Leniency::Strict {
                self.policy.report(&Report {
                    charging_station_id,
                    action,
                    direction: Direction::Outgoing,
                    leniency,
                    violations: &violations,
                    delivered,
                });
            }
            if !delivered {
                let e = internal_response_error(&violations);
                return Err(CallError::new(
                    version.error_code(Situation::Internal),
                    e.description,
                ));
            }
        }
        Ok(response)
    }

    /// Applies the policy to an incoming request with `violations`: takes unknown members out
    /// of `payload` where a rule allows it, and says whether the rest can be delivered.
    fn relax_request(
        &self,
        charging_station_id: &str,
        feature: &FeatureInfo,
        payload: &mut Value,
        violations: &[Violation],
    ) -> Relaxed {
        let leniency = self
            .policy
            .leniency(Direction::Incoming, charging_station_id, feature.name);
        let mut relaxed = Relaxed {
            leniency,
            ..Relaxed::default()
        };
        match leniency {
            Leniency::Strict => return relaxed,
            Leniency::AllowUnknownMembers => {
                let only_unknown = violations
                    .iter()
                    .all(|v| matches!(v.kind, ViolationKind::Additional { .. }));
                if only_unknown {
                    relaxed.unknown = Some(Arc::new(UnknownMembers::take(payload, violations)));
                    relaxed.delivered = true;
                }
            }
            Leniency::Report => {
                let mut rest = payload.clone();
                let unknown = UnknownMembers::take(&mut rest, violations);
                // Whether the type can hold what is left: decoded once, leniently, here.
                if crate::codec::leniently(|| (feature.reencode_request)(rest.clone())).is_ok() {
                    *payload = rest;
                    relaxed.unknown = (!unknown.is_empty()).then(|| Arc::new(unknown));
                    relaxed.lenient = true;
                    relaxed.delivered = true;
                }
            }
        }
        self.policy.report(&Report {
            charging_station_id,
            action: feature.name,
            direction: Direction::Incoming,
            leniency,
            violations,
            delivered: relaxed.delivered,
        });
        relaxed
    }
}

/// What the policy made of an invalid request.
#[derive(Default)]
struct Relaxed {
    /// The leniency of the rule that applied.
    leniency: Leniency,
    /// Whether it goes to the handler.
    delivered: bool,
    /// The members taken out of it, for [`crate::policy::unknown_members`].
    unknown: Option<Arc<UnknownMembers>>,
    /// Whether it is decoded leniently.
    lenient: bool,
}

/// A handler's future, polled with [`crate::policy::unknown_members`] set to its request's
/// and, on the first poll (where the request is decoded), lenient decoding if asked for.
struct Scoped<'a> {
    inner: BoxFuture<'a, Result<Value, CallError>>,
    unknown: Option<Arc<UnknownMembers>>,
    lenient: bool,
}

impl Future for Scoped<'_> {
    type Output = Result<Value, CallError>;
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.get_mut();
        let _unknown = crate::policy::enter(this.unknown.clone());
        let lenient = std::mem::take(&mut this.lenient);
        crate::codec::set_lenient_next(lenient);
        let poll = this.inner.as_mut().poll(cx);
        if lenient {
            crate::codec::set_lenient_next(false);
        }
        poll
    }
}

impl Dispatcher {
    /// Refuses an incoming CALL or SEND of `feature` that the peer's role does not send.
    fn check_sender(&self, feature: &FeatureInfo, action: &str) -> Result<(), CallError> {
        if feature.initiator.may_be_sent_by(self.role.peer()) {
            return Ok(());
        }
        Err(CallError::new(
            self.version.error_code(Situation::UnsupportedAction),
            format!(
                "{action} is not sent by the {}",
                role_name(self.role.peer())
            ),
        ))
    }

    /// Delivers one incoming SEND (OCPP 2.1, message type 6) to its handler: checks it as a
    /// CALL is checked, and returns what a CALL would have been answered with if it is not
    /// delivered. Nothing is ever sent back for a SEND.
    pub async fn serve_send(
        &self,
        charging_station_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<(), CallError> {
        let version = self.version;
        let feature = match self.feature(action) {
            Some(feature) if feature.send => feature,
            Some(_) => {
                return Err(CallError::new(
                    version.error_code(Situation::UnsupportedAction),
                    format!("{action} is a CALL, not a SEND"),
                ))
            }
            None => {
                return Err(CallError::new(
                    version.error_code(Situation::UnknownAction),
                    CallError::not_implemented(action).description,
                ))
            }
        };
        // Checked strictly: the validation policy does not apply to SENDs.
        self.check_sender(feature, action)?;
        let violations = validate(feature.request, &payload);
        if let Some(e) = violations_error(version, "request", &violations) {
            return Err(e);
        }
        let service = self
            .service(action)
            .ok_or_else(|| CallError::not_supported(action))?;
        service.call(charging_station_id, action, payload).await?;
        Ok(())
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::ChargingStation => "charging station",
        Role::Csms => "CSMS",
    }
}
