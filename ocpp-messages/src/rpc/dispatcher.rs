//! The dispatcher: from one incoming frame to the frame to send back, through the limits, the
//! version's actions, the request schema, the validation policy and the handlers.
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
//! 4. hands the payload, with the decoding [`Mode`] the policy chose, to the block's service,
//!    which decodes it and calls the handler method (no service for the block: `NotSupported`);
//! 5. validates the handler's response against the response schema (`InternalError` if it is
//!    invalid: the dispatcher never sends a frame the schema rejects, unless an outgoing rule
//!    of the policy says otherwise) and encodes the CALLRESULT.
//!
//! A connection reads its frames through a [`Session`](super::Session), which also matches
//! the answers to this side's own calls.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use super::check::{self, InvalidPayload};
use super::verdict::Rejection;
use crate::codec::Mode;
use crate::feature::{FeatureInfo, Role};
use crate::policy::{Direction, Leniency, Policy, Relaxed, UnknownMembers};
use crate::service::{internal_response_error, BoxFuture, Payload, Service};
use crate::spec::{CallError, OcppVersion, PeerError, Situation};
use crate::validate::{validate, Violation, ViolationKind};
use crate::wire::frame::{write, Envelope, Frame, UNREADABLE_MESSAGE_ID};
use crate::wire::limits::{LimitError, Limits};
use crate::wire::CallText;

/// Serves the incoming CALLs and SENDs of one role for one OCPP version.
///
/// One dispatcher serves every connection of its version and role; each connection reads its
/// frames through its own [`Session`](super::Session). [`Dispatcher::handle`] serves a single
/// frame without a session.
///
/// ```
/// # use ocpp_messages::rpc::Dispatcher;
/// # use ocpp_messages::{OcppVersion, Role};
/// let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms);
/// let reply = block_on(dispatcher.handle("CS1", r#"[2,"1","NoSuchAction",{}]"#));
/// assert!(reply.unwrap().contains("NotImplemented"));
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
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
    /// Whether a frame of an unknown message type is answered (2.0.1's default) or ignored.
    answers_unknown_message_types: bool,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("version", &self.version)
            .field("role", &self.role)
            .field("services", &self.services.len())
            .field("limits", &self.limits)
            .field("policy", &self.policy)
            .field(
                "answers_unknown_message_types",
                &self.answers_unknown_message_types,
            )
            .finish()
    }
}

/// What the dispatcher made of one frame, before a session matches answers to its calls.
#[derive(Debug)]
pub(crate) enum Handled<'t> {
    /// A CALL went to its handler: `reply` is the CALLRESULT, or the CALLERROR `error`.
    Served {
        message_id: Cow<'t, str>,
        action: &'static str,
        reply: String,
        error: Option<CallError>,
    },
    /// A message this side does not accept; `reply` answers it, unless it is never answered.
    Rejected {
        reply: Option<String>,
        rejection: Rejection,
    },
    /// A SEND went to its handler.
    Delivered {
        message_id: String,
        action: &'static str,
    },
    /// A CALLRESULT or CALLERROR, for the session to match.
    Answer(Frame),
    /// A CALLRESULT (`call_result`) or CALLERROR this side refused to read: it breaks a limit.
    Breach {
        message_id: String,
        call_result: bool,
        error: CallError,
    },
    /// The peer's CALLRESULTERROR (2.1).
    ResultError {
        message_id: String,
        error: PeerError,
    },
    /// A frame of a message type the version does not define, ignored.
    UnknownMessageType { message_id: Option<String> },
}

/// A CALL the fast path served.
struct Served<'t> {
    message_id: &'t str,
    action: &'static str,
    reply: String,
    error: Option<CallError>,
}

impl Handled<'_> {
    /// The frame to send back, if any (answers are not matched here).
    fn into_reply(self) -> Option<String> {
        match self {
            Handled::Served { reply, .. } => Some(reply),
            Handled::Rejected { reply, .. } => reply,
            _ => None,
        }
    }
}

impl Dispatcher {
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
            answers_unknown_message_types: version.answers_unknown_message_type(),
        }
    }

    /// Sets the validation policy (default [`Policy::strict`]): which payloads, from or to
    /// which charging stations, may break their schema and how. See [`crate::policy`].
    ///
    /// ```
    /// use ocpp_messages::rpc::Dispatcher;
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

    /// Sets the largest frame parsed, in bytes (default [`DEFAULT_MAX_FRAME_LEN`](crate::limits::DEFAULT_MAX_FRAME_LEN)). A longer
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
    /// call it answers fails: [`Event::Answered`](super::Event::Answered) with an error result). Text that is not JSON is unreadable
    /// whatever limit it breaks.
    ///
    /// ```
    /// use ocpp_messages::rpc::Dispatcher;
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

    /// Ignores frames of a message type number the version does not define, instead of
    /// answering them `MessageTypeNotSupported` (see
    /// [`OcppVersion::answers_unknown_message_type`]: OCPP 2.0.1 Part 4 allows both, and this
    /// is its §4.1.3; 1.6 and 2.1 always ignore them).
    ///
    /// ```
    /// use ocpp_messages::rpc::Dispatcher;
    /// use ocpp_messages::{OcppVersion, Role};
    ///
    /// let answering = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms);
    /// let ignoring = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).ignoring_unknown_message_types();
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let frame = r#"[7,"1","Heartbeat",{}]"#;
    /// assert!(answering.handle("CS-1", frame).await.unwrap().contains("MessageTypeNotSupported"));
    /// assert_eq!(ignoring.handle("CS-1", frame).await, None);
    /// # });
    /// ```
    #[must_use]
    pub fn ignoring_unknown_message_types(mut self) -> Self {
        self.answers_unknown_message_types = false;
        self
    }

    /// Whether a frame of an unknown message type is answered (`MessageTypeNotSupported`) or
    /// ignored.
    pub fn answers_unknown_message_types(&self) -> bool {
        self.answers_unknown_message_types
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

    /// The version this dispatcher speaks.
    pub fn version(&self) -> OcppVersion {
        self.version
    }

    /// The role this dispatcher serves.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The metadata of `action`: the version's, else that of the service declaring it.
    pub fn feature(&self, action: &str) -> Option<&'static FeatureInfo> {
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

    /// Serves one incoming text frame and returns the frame to send back, if any: a one-shot
    /// for a side that makes no calls of its own. CALLRESULTs and CALLERRORs (answers to this
    /// side's calls) are dropped: a connection reads its frames through a
    /// [`Session`](super::Session), which matches them.
    pub async fn handle(&self, charging_station_id: &str, text: &str) -> Option<String> {
        // The fast path's reply, without the rest of what happened.
        if let Err(breach) = self.limits.check(text) {
            return self.refuse(text, breach).into_reply();
        }
        if let Some(served) = self.handle_fast(charging_station_id, text).await {
            return Some(served.reply);
        }
        self.handle_parsed(charging_station_id, text)
            .await
            .into_reply()
    }

    /// What this side makes of one incoming text frame.
    pub(crate) async fn handle_text<'t>(
        &self,
        charging_station_id: &str,
        text: &'t str,
    ) -> Handled<'t> {
        if let Err(breach) = self.limits.check(text) {
            return self.refuse(text, breach);
        }
        if let Some(Served {
            message_id,
            action,
            reply,
            error,
        }) = self.handle_fast(charging_station_id, text).await
        {
            return Handled::Served {
                message_id: Cow::Borrowed(message_id),
                action,
                reply,
                error,
            };
        }
        self.handle_parsed(charging_station_id, text).await
    }

    /// What this side makes of a frame within the limits that the fast path did not take:
    /// parsed in full, then served, delivered or handed back.
    async fn handle_parsed<'t>(&self, charging_station_id: &str, text: &'t str) -> Handled<'t> {
        let version = self.version;
        match Frame::parse_for(version, text) {
            Err(e)
                if e.situation == Situation::UnknownMessageType
                    && !self.answers_unknown_message_types =>
            {
                Handled::UnknownMessageType {
                    message_id: e.message_id,
                }
            }
            Err(e) => Handled::Rejected {
                reply: e.is_answered().then(|| e.to_frame(version)),
                rejection: Rejection {
                    message_id: e.answer_id().to_owned(),
                    error: Box::new(e.to_call_error(version)),
                },
            },
            Ok(Frame::Send {
                message_id,
                action,
                payload,
            }) => match self.serve_send(charging_station_id, &action, payload).await {
                Ok(action) => Handled::Delivered { message_id, action },
                Err(error) => Handled::Rejected {
                    reply: None,
                    rejection: Rejection {
                        message_id,
                        error: Box::new(error),
                    },
                },
            },
            Ok(Frame::CallResultError { message_id, error }) => {
                Handled::ResultError { message_id, error }
            }
            Ok(Frame::Call {
                message_id,
                action,
                payload,
            }) => {
                let (feature, payload) =
                    match self.check_call(charging_station_id, &action, payload) {
                        Ok(checked) => checked,
                        Err(error) => {
                            return Handled::Rejected {
                                reply: Some(error.to_frame(&message_id)),
                                rejection: Rejection {
                                    message_id,
                                    error: Box::new(error),
                                },
                            }
                        }
                    };
                let Some(service) = self.service(feature.name) else {
                    let error = CallError::not_supported(&action);
                    return Handled::Rejected {
                        reply: Some(error.to_frame(&message_id)),
                        rejection: Rejection {
                            message_id,
                            error: Box::new(error),
                        },
                    };
                };
                let result = self
                    .serve_call(charging_station_id, feature, service, payload)
                    .await;
                let (reply, error) = match result {
                    Ok(result) => (write::call_result(&message_id, &result.to_string()), None),
                    Err(e) => (e.to_frame(&message_id), Some(e)),
                };
                Handled::Served {
                    message_id: Cow::Owned(message_id),
                    action: feature.name,
                    reply,
                    error,
                }
            }
            Ok(frame) => Handled::Answer(frame),
        }
    }

    /// The answer to a frame that breaks a limit, without parsing it.
    fn refuse<'t>(&self, text: &str, breach: LimitError) -> Handled<'t> {
        let mut situation = breach.situation();
        let mut description = breach.to_string();
        // Only JSON is answered with its id: text that is not is unreadable, limit or no limit.
        // (Checked without building anything, and only for a frame that breaks a limit.)
        if situation != Situation::UnreadableFrame && !crate::wire::is_json(text) {
            situation = Situation::UnreadableFrame;
            description = "frame is not valid JSON".to_owned();
        }
        let error = CallError::new(self.version.error_code(situation), description);
        let mut message_id = UNREADABLE_MESSAGE_ID;
        if situation != Situation::UnreadableFrame {
            match crate::wire::head(text) {
                Some((digit @ (3 | 4), id)) => {
                    return Handled::Breach {
                        message_id: id.to_owned(),
                        call_result: digit == 3,
                        error,
                    }
                }
                Some((digit, id))
                    if !self.defines_message_type(digit) && !self.answers_unknown_message_types =>
                {
                    return Handled::UnknownMessageType {
                        message_id: Some(id.to_owned()),
                    }
                }
                // OCPP 2.1: a SEND or a CALLRESULTERROR is never answered, not even one
                // refused unread.
                Some((digit @ (5 | 6), id)) if self.defines_message_type(digit) => {
                    return Handled::Rejected {
                        reply: None,
                        rejection: Rejection {
                            message_id: id.to_owned(),
                            error: Box::new(error),
                        },
                    }
                }
                Some((_, id)) => message_id = id,
                None => {}
            }
        }
        Handled::Rejected {
            reply: Some(error.to_frame(message_id)),
            rejection: Rejection {
                message_id: message_id.to_owned(),
                error: Box::new(error),
            },
        }
    }

    /// Whether the version's RPC framework has message type `digit`.
    fn defines_message_type(&self, digit: u8) -> bool {
        matches!(digit, 2..=4) || (self.version.has_call_result_error() && matches!(digit, 5 | 6))
    }

    /// The fast path of a CALL: the envelope read in place, the payload decoded straight from
    /// the text into the typed request, the response encoded straight into the CALLRESULT.
    /// `None` when anything is not as it should be; the slow path then answers.
    async fn handle_fast<'t>(
        &self,
        charging_station_id: &str,
        text: &'t str,
    ) -> Option<Served<'t>> {
        let (Envelope::Call { message_id, action }, start) = crate::wire::scan(text)? else {
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
        // The scanner read the id as JSON string text without escapes: written verbatim.
        let (reply, error) = match future.await {
            Ok(payload) => (write::call_result_verbatim(message_id, &payload), None),
            Err(e) => (e.to_frame(message_id), Some(e)),
        };
        Some(Served {
            message_id,
            action: feature.name,
            reply,
            error,
        })
    }

    /// Checks an incoming CALL: a known action, sent by the right side, its payload valid (or
    /// let through by the policy). Returns its metadata and the payload for its service. The
    /// verdicts are those of [`check`](super::check), with this dispatcher's actions and
    /// its peer as the sender.
    fn check_call(
        &self,
        charging_station_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<(&'static FeatureInfo, Payload), CallError> {
        let version = self.version;
        let feature = check::check_call_action(
            version,
            self.feature(action),
            action,
            Some(self.role.peer()),
        )?;
        let Err(InvalidPayload {
            error: e,
            violations,
        }) = check::check_request(version, feature, &payload)
        else {
            return Ok((feature, Payload::new(payload)));
        };
        let (relaxed, payload) =
            self.relax_request(charging_station_id, feature, payload, violations);
        match payload {
            Some(payload) => Ok((feature, payload)),
            // What the policy allowed is not why the request is refused.
            None if relaxed.leniency != Leniency::Strict => {
                let rest: Vec<Violation> = relaxed
                    .violations
                    .iter()
                    .filter(|v| !matches!(v.kind, ViolationKind::Additional { .. }))
                    .cloned()
                    .collect();
                Err(version.violations_error("request", &rest).unwrap_or(*e))
            }
            None => Err(*e),
        }
    }

    /// Serves a checked CALL: the service decodes the payload and calls the handler; the
    /// response is checked against its schema. Returns the CALLRESULT payload, or the
    /// CALLERROR (the handler's, or `InternalError` for an invalid response).
    async fn serve_call(
        &self,
        charging_station_id: &str,
        feature: &'static FeatureInfo,
        service: &dyn Service,
        payload: Payload,
    ) -> Result<Value, CallError> {
        let unknown = payload.unknown_members().cloned();
        let future = service.call(charging_station_id, feature.name, payload);
        let response = Scoped {
            inner: future,
            unknown,
        }
        .await?;
        let violations = validate(feature.response, &response);
        if violations.is_empty() {
            return Ok(response);
        }
        let leniency = self
            .policy
            .leniency(Direction::Outgoing, charging_station_id, feature.name);
        let delivered = leniency == Leniency::Report;
        let error = (!delivered).then(|| internal_response_error(&violations));
        if leniency != Leniency::Strict {
            let relaxed = Relaxed {
                leniency,
                violations,
                delivered,
            };
            self.policy.report_relaxed(
                charging_station_id,
                feature.name,
                Direction::Outgoing,
                &relaxed,
            );
        }
        match error {
            None => Ok(response),
            Some(e) => Err(CallError::new(
                self.version.error_code(Situation::Internal),
                e.description,
            )),
        }
    }

    /// Applies the policy to an incoming request with `violations`: takes unknown members out
    /// of the payload where a rule allows it, and gives the payload to deliver (with its
    /// decoding mode), or `None` when it is refused.
    fn relax_request(
        &self,
        charging_station_id: &str,
        feature: &FeatureInfo,
        mut payload: Value,
        violations: Vec<Violation>,
    ) -> (Relaxed, Option<Payload>) {
        let leniency = self
            .policy
            .leniency(Direction::Incoming, charging_station_id, feature.name);
        let mut delivered = None;
        match leniency {
            Leniency::Strict => {
                let relaxed = Relaxed {
                    leniency,
                    violations,
                    delivered: false,
                };
                return (relaxed, None);
            }
            Leniency::AllowUnknownMembers => {
                let only_unknown = violations
                    .iter()
                    .all(|v| matches!(v.kind, ViolationKind::Additional { .. }));
                if only_unknown {
                    let unknown = UnknownMembers::take(&mut payload, &violations);
                    delivered = Some(Payload::relaxed(
                        payload,
                        Mode::Strict,
                        Some(Arc::new(unknown)),
                    ));
                }
            }
            Leniency::Report => {
                let mut rest = payload.clone();
                let unknown = UnknownMembers::take(&mut rest, &violations);
                // Whether the type can hold what is left: decoded once, leniently, here.
                if (feature.reencode_request)(rest.clone(), Mode::Lenient).is_ok() {
                    let unknown = (!unknown.is_empty()).then(|| Arc::new(unknown));
                    delivered = Some(Payload::relaxed(rest, Mode::Lenient, unknown));
                }
            }
        }
        let relaxed = Relaxed {
            leniency,
            violations,
            delivered: delivered.is_some(),
        };
        self.policy.report_relaxed(
            charging_station_id,
            feature.name,
            Direction::Incoming,
            &relaxed,
        );
        (relaxed, delivered)
    }

    /// Delivers one incoming SEND (OCPP 2.1, message type 6) to its handler: checks it as a
    /// CALL is checked (strictly: the validation policy does not apply to SENDs), and returns
    /// what a CALL would have been answered with if it is not delivered. Nothing is ever sent
    /// back for a SEND.
    async fn serve_send(
        &self,
        charging_station_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<&'static str, CallError> {
        let version = self.version;
        let feature = check::check_send_action(
            version,
            self.feature(action),
            action,
            Some(self.role.peer()),
        )?;
        check::check_request(version, feature, &payload)?;
        let service = self
            .service(action)
            .ok_or_else(|| CallError::not_supported(action))?;
        service
            .call(charging_station_id, action, Payload::new(payload))
            .await?;
        Ok(feature.name)
    }

    /// Whether incoming answers are matched under a relaxed policy.
    pub(crate) fn relaxes_incoming(&self) -> bool {
        self.relaxes_incoming
    }
}

/// A handler's future, polled with [`crate::policy::unknown_members`] set to its request's.
struct Scoped<'a> {
    inner: BoxFuture<'a, Result<Value, CallError>>,
    unknown: Option<Arc<UnknownMembers>>,
}

impl Future for Scoped<'_> {
    type Output = Result<Value, CallError>;
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.get_mut();
        let _unknown = crate::policy::enter(this.unknown.clone());
        this.inner.as_mut().poll(cx)
    }
}
