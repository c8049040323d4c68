//! One connection: its dispatcher, its pending calls, and what became of each frame.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::check::check_utf8;
use super::dispatcher::{Dispatcher, Handled};
use super::outgoing::SendError;
use super::pending::{Answer, PendingCalls, ResponseError};
use super::verdict::Rejection;
use crate::feature::{Feature, Role};
use crate::policy::Direction;
use crate::spec::{CallError, OcppVersion, PeerError};
use crate::wire::frame::{Frame, UNREADABLE_MESSAGE_ID};

/// One incoming WebSocket frame: text, or bytes (a binary frame, or a transport that does not
/// check UTF-8; bytes that are not UTF-8 are an unreadable frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound<'a> {
    /// A text frame.
    Text(&'a str),
    /// A binary frame.
    Binary(&'a [u8]),
}

impl<'a> From<&'a str> for Inbound<'a> {
    fn from(text: &'a str) -> Self {
        Inbound::Text(text)
    }
}

impl<'a> From<&'a String> for Inbound<'a> {
    fn from(text: &'a String) -> Self {
        Inbound::Text(text)
    }
}

impl<'a> From<&'a [u8]> for Inbound<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Inbound::Binary(bytes)
    }
}

impl<'a> From<&'a Vec<u8>> for Inbound<'a> {
    fn from(bytes: &'a Vec<u8>) -> Self {
        Inbound::Binary(bytes)
    }
}

/// What a [`Session`] made of one incoming frame: the frame to send back, if any, and what
/// happened.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "the reply, if any, must be sent to the peer"]
pub struct Outcome {
    /// The frame to send back: a CALLRESULT or CALLERROR answering a CALL or an unreadable
    /// frame, or (OCPP 2.1) the CALLRESULTERROR answering an invalid CALLRESULT.
    pub reply: Option<String>,
    /// What happened.
    pub event: Event,
}

/// What happened to one incoming frame.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A CALL went to its handler; the reply is its CALLRESULT, or the CALLERROR `error` (the
    /// handler's, or `InternalError` for a response its schema rejects).
    Served {
        /// The CALL's message id.
        message_id: String,
        /// The CALL's action.
        action: &'static str,
        /// The error the handler answered with, if it did not answer with a response.
        error: Option<CallError>,
    },
    /// The answer to one of our CALLs (a CALLRESULT, validated against the call's response
    /// schema, or the peer's CALLERROR). Under OCPP 2.1 an invalid CALLRESULT is also
    /// answered with a CALLRESULTERROR (the reply).
    Answered(Answer),
    /// A SEND (OCPP 2.1) went to its handler. Nothing is sent back.
    Delivered {
        /// The SEND's message id.
        message_id: String,
        /// The SEND's action.
        action: &'static str,
    },
    /// A message this side does not accept: an unreadable or malformed frame, an unknown
    /// action, one sent by the wrong side, an invalid payload, a frame beyond the limits. The
    /// reply is the CALLERROR, except for a SEND (never answered: the rejection says why it
    /// was not delivered) and for a CALLRESULTERROR beyond the limits (never answered either:
    /// it was not read).
    Rejected(Rejection),
    /// The peer's CALLRESULTERROR (OCPP 2.1): it found the CALLRESULT we sent for its CALL
    /// `message_id` invalid. Nothing is sent back; worth a log line.
    ResultError {
        /// The message id of the peer's CALL and of our CALLRESULT.
        message_id: String,
        /// The error as the peer sent it.
        error: PeerError,
    },
    /// A frame this side does nothing with. Nothing is sent back.
    Ignored(Ignored),
}

/// A frame a [`Session`] does nothing with, as OCPP-J says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ignored {
    /// A CALLRESULT or CALLERROR for no pending call (never sent, answered already, cancelled
    /// or failed).
    Unmatched {
        /// The frame's message id.
        message_id: String,
    },
    /// A frame whose message type number the version does not define (OCPP-J 1.6 and OCPP 2.1
    /// ignore it; 2.0.1 does when its dispatcher is
    /// [`ignoring_unknown_message_types`](Dispatcher::ignoring_unknown_message_types)).
    UnknownMessageType {
        /// The frame's message id, when it could be read.
        message_id: Option<String>,
    },
}

/// One OCPP-J connection, without I/O: the dispatcher that serves the peer's CALLs, the calls
/// this side has made and awaits answers to, and the charging station at the other end (or,
/// on a station, its own identity).
///
/// Every incoming frame goes through [`Session::receive`], which returns what to send back
/// and what happened, in one [`Outcome`]; every outgoing CALL and SEND is made with
/// [`Session::call`] and [`Session::send`]. The pending calls are the session's own: its
/// methods take `&self`, lock them only to record or match a call (never while a handler
/// runs), and are safe to use from several tasks. Nothing here needs a runtime: a test drives
/// a session with any executor, or by polling.
///
/// ```
/// use ocpp_messages::rpc::{Dispatcher, Event, Session};
/// use ocpp_messages::v2_0_1::provisioning::{Reset, ResetFeature, ResetRequest};
/// use ocpp_messages::{OcppVersion, Role};
///
/// let session = Session::new(Dispatcher::new(OcppVersion::V2_0_1, Role::Csms), "CS-1");
/// // Any task may call the station: send the frame, and `receive` matches the answer.
/// let (id, _frame) = session.call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle)).unwrap();
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let from_station = [
///     r#"[2,"s1","Heartbeat",{}]"#.to_owned(),       // a CALL (NotSupported: no handler here)
///     format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#), // the answer to our Reset
/// ];
/// for text in &from_station {
///     let outcome = session.receive(text).await;
///     if let Some(reply) = outcome.reply {
///         assert!(reply.contains("NotSupported")); // send it back
///     }
///     match outcome.event {
///         Event::Answered(answer) => {
///             let response = answer.into_response::<ResetFeature>().unwrap();
///             assert_eq!(response.status.as_str(), "Accepted");
///         }
///         other => println!("{other:?}"),
///     }
/// }
/// # });
/// assert_eq!(session.pending_calls(), 0);
/// ```
#[derive(Debug)]
pub struct Session {
    dispatcher: Arc<Dispatcher>,
    charging_station_id: String,
    pending: Mutex<PendingCalls>,
}

impl Session {
    /// A session over `dispatcher` (shared by every connection of its version and role) for
    /// the connection of `charging_station_id`: the station's identity, which handlers and
    /// the validation policy are given. No calls are pending; message ids count up from 1;
    /// at most [`DEFAULT_MAX_PENDING`](super::DEFAULT_MAX_PENDING) calls wait for answers.
    pub fn new(
        dispatcher: impl Into<Arc<Dispatcher>>,
        charging_station_id: impl Into<String>,
    ) -> Self {
        let dispatcher = dispatcher.into();
        let pending = PendingCalls::new(dispatcher.version());
        Session {
            dispatcher,
            charging_station_id: charging_station_id.into(),
            pending: Mutex::new(pending),
        }
    }

    /// Sets how many calls may wait for their answers at once (at least 1); a call beyond it
    /// is refused with [`SendError::TooManyPending`], so a peer that never answers cannot make
    /// the session grow without bound. OCPP-J lets a side send a CALL only when the earlier
    /// one is answered or timed out: `with_max_pending(1)` holds the session to that.
    ///
    /// ```
    /// use ocpp_messages::rpc::{Dispatcher, SendError, Session};
    /// use ocpp_messages::v2_0_1::provisioning::{Reset, ResetFeature, ResetRequest};
    /// use ocpp_messages::{OcppVersion, Role};
    ///
    /// let session = Session::new(Dispatcher::new(OcppVersion::V2_0_1, Role::Csms), "CS-1")
    ///     .with_max_pending(1);
    /// let request = ResetRequest::new(Reset::OnIdle);
    /// let (id, _frame) = session.call::<ResetFeature>(&request).unwrap();
    /// assert_eq!(
    ///     session.call::<ResetFeature>(&request),
    ///     Err(SendError::TooManyPending { limit: 1 })
    /// );
    /// session.cancel(&id);
    /// assert!(session.call::<ResetFeature>(&request).is_ok());
    /// ```
    #[must_use]
    pub fn with_max_pending(self, max_pending: usize) -> Self {
        self.pending().set_max_pending(max_pending);
        self
    }

    /// How many calls may wait for their answers at once.
    pub fn max_pending(&self) -> usize {
        self.pending().max_pending()
    }

    /// The dispatcher serving the peer's CALLs.
    pub fn dispatcher(&self) -> &Arc<Dispatcher> {
        &self.dispatcher
    }

    /// The version this session speaks.
    pub fn version(&self) -> OcppVersion {
        self.dispatcher.version()
    }

    /// The role this side plays.
    pub fn role(&self) -> Role {
        self.dispatcher.role()
    }

    /// The charging station's identity.
    pub fn charging_station_id(&self) -> &str {
        &self.charging_station_id
    }

    /// A poisoned lock still holds a consistent map of pending calls.
    fn pending(&self) -> MutexGuard<'_, PendingCalls> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one incoming frame, text or bytes: serves a CALL or SEND with the handlers,
    /// matches a CALLRESULT or CALLERROR to the call it answers, and says what to send back
    /// and what happened.
    pub async fn receive(&self, frame: impl Into<Inbound<'_>>) -> Outcome {
        let text = match frame.into() {
            Inbound::Text(text) => text,
            Inbound::Binary(bytes) => match check_utf8(self.version(), bytes) {
                Ok(text) => text,
                Err(error) => {
                    let rejection = Rejection {
                        message_id: UNREADABLE_MESSAGE_ID.to_owned(),
                        error: Box::new(error),
                    };
                    return Outcome {
                        reply: Some(rejection.to_frame()),
                        event: Event::Rejected(rejection),
                    };
                }
            },
        };
        let station = self.charging_station_id.as_str();
        match self.dispatcher.handle_text(station, text).await {
            Handled::Served {
                message_id,
                action,
                reply,
                error,
            } => Outcome {
                reply: Some(reply),
                event: Event::Served {
                    message_id: message_id.into_owned(),
                    action,
                    error,
                },
            },
            Handled::Rejected { reply, rejection } => Outcome {
                reply,
                event: Event::Rejected(rejection),
            },
            Handled::Delivered { message_id, action } => Outcome {
                reply: None,
                event: Event::Delivered { message_id, action },
            },
            Handled::ResultError { message_id, error } => Outcome {
                reply: None,
                event: Event::ResultError { message_id, error },
            },
            Handled::UnknownMessageType { message_id } => Outcome {
                reply: None,
                event: Event::Ignored(Ignored::UnknownMessageType { message_id }),
            },
            Handled::Answer(frame) => {
                let message_id = frame.message_id().to_owned();
                let call_result = matches!(frame, Frame::CallResult { .. });
                let dispatcher = &self.dispatcher;
                let matched = if dispatcher.relaxes_incoming() {
                    let policy = dispatcher.policy();
                    let leniency =
                        |action: &str| policy.leniency(Direction::Incoming, station, action);
                    let matched = self.pending().answer(frame, leniency);
                    matched.map(|(answer, relaxed)| {
                        if let Some(relaxed) = relaxed {
                            policy.report_relaxed(
                                station,
                                answer.action,
                                Direction::Incoming,
                                &relaxed,
                            );
                        }
                        answer
                    })
                } else {
                    self.pending()
                        .answer(frame, |_| crate::policy::Leniency::Strict)
                        .map(|(answer, _)| answer)
                };
                self.answered(matched, message_id, call_result)
            }
            Handled::Breach {
                message_id,
                call_result,
                error,
            } => {
                let matched = self.pending().fail(&message_id, error);
                self.answered(matched, message_id, call_result)
            }
        }
    }

    /// The outcome of an answer (or of a frame that matched no call).
    /// `call_result`: whether the frame was a CALLRESULT (only a CALLRESULT this side does not
    /// accept is answered with a CALLRESULTERROR; a CALLERROR never is).
    fn answered(&self, matched: Option<Answer>, message_id: String, call_result: bool) -> Outcome {
        let Some(answer) = matched else {
            return Outcome {
                reply: None,
                event: Event::Ignored(Ignored::Unmatched { message_id }),
            };
        };
        // OCPP 2.1: an invalid CALLRESULT is answered with a CALLRESULTERROR.
        let reply = match &answer.result {
            Err(ResponseError::Invalid(error))
                if call_result && self.version().has_call_result_error() =>
            {
                Some(error.to_result_error_frame(&answer.message_id))
            }
            _ => None,
        };
        Outcome {
            reply,
            event: Event::Answered(answer),
        }
    }

    /// Builds the CALL frame for `request` with a fresh message id and records it as pending:
    /// send the frame, and [`Session::receive`] matches its answer. Returns the id and the
    /// frame. An invalid request is never sent ([`SendError::Invalid`] lists why).
    pub fn call<F: Feature>(&self, request: &F::Request) -> Result<(String, String), SendError> {
        self.pending().call::<F>(None, request)
    }

    /// [`Session::call`] with the given message id (1 to 36 characters, not pending already).
    pub fn call_with_id<F: Feature>(
        &self,
        message_id: &str,
        request: &F::Request,
    ) -> Result<String, SendError> {
        self.pending()
            .call::<F>(Some(message_id), request)
            .map(|(_, frame)| frame)
    }

    /// Records a CALL frame given whole as pending under its own message id, so that
    /// [`Session::receive`] matches its answer: a frame this side built earlier (with
    /// [`Session::call`] or [`call_frame`](super::call_frame)) and kept, in a store across a
    /// restart say, to be sent again. The frame is checked as the peer would: a CALL of this
    /// version, of an action this side sends, with a valid payload. Returns the message id
    /// and the action.
    ///
    /// ```
    /// use ocpp_messages::rpc::{Dispatcher, SendError, Session};
    /// use ocpp_messages::{OcppVersion, Role};
    ///
    /// let station = Session::new(Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation), "CS-1");
    /// let frame = r#"[2,"tx-7","Heartbeat",{}]"#;
    /// assert_eq!(station.call_frame(frame), Ok(("tx-7".to_owned(), "Heartbeat")));
    /// assert_eq!(station.call_frame(frame), Err(SendError::AlreadyPending("tx-7".to_owned())));
    /// assert!(station.call_frame(r#"[2,"8","Reset",{"type":"OnIdle"}]"#).is_err()); // the CSMS's
    /// assert!(station.call_frame(r#"[2,"9","Heartbeat",{"x":1}]"#).is_err()); // invalid
    /// ```
    pub fn call_frame(&self, frame: &str) -> Result<(String, &'static str), SendError> {
        self.pending().call_frame(frame, self.role())
    }

    /// Builds the SEND frame (OCPP 2.1, message type 6) for `request` with a fresh message id:
    /// a SEND is never answered, so nothing is recorded. Returns the id and the frame.
    ///
    /// ```
    /// use ocpp_messages::rpc::{Dispatcher, Session};
    /// use ocpp_messages::v2_1::diagnostics::{
    ///     NotifyPeriodicEventStreamFeature, NotifyPeriodicEventStreamRequest, StreamDataElement,
    /// };
    /// use ocpp_messages::{DateTime, OcppVersion, Role};
    ///
    /// let station = Session::new(Dispatcher::new(OcppVersion::V2_1, Role::ChargingStation), "CS-1");
    /// let basetime: DateTime = "2025-01-01T00:00:00Z".parse().unwrap();
    /// let data = vec![StreamDataElement::new(0.0, "230.1")];
    /// let request = NotifyPeriodicEventStreamRequest::new(data, 1, 0, basetime);
    /// let (_id, frame) = station.send::<NotifyPeriodicEventStreamFeature>(&request).unwrap();
    /// assert!(frame.starts_with(r#"[6,"1","NotifyPeriodicEventStream",{"#));
    /// let frame = station.send_with_id::<NotifyPeriodicEventStreamFeature>("stream-7", &request).unwrap();
    /// assert!(frame.starts_with(r#"[6,"stream-7","NotifyPeriodicEventStream",{"#));
    /// assert!(station.send_with_id::<NotifyPeriodicEventStreamFeature>("", &request).is_err());
    /// ```
    pub fn send<F: Feature>(&self, request: &F::Request) -> Result<(String, String), SendError> {
        self.pending().send::<F>(None, request)
    }

    /// [`Session::send`] with the given message id (1 to 36 characters; a SEND is never
    /// answered, so it is not checked against the pending calls).
    pub fn send_with_id<F: Feature>(
        &self,
        message_id: &str,
        request: &F::Request,
    ) -> Result<String, SendError> {
        self.pending()
            .send::<F>(Some(message_id), request)
            .map(|(_, frame)| frame)
    }

    /// Ends every pending call with `error` (the connection dropped, say), in no particular
    /// order: what each caller is to be told. The session has no pending call afterwards.
    pub fn fail_all(&self, error: &CallError) -> Vec<Answer> {
        self.pending().fail_all(error)
    }

    /// Ends a pending call with an error of this side's own instead of the peer's answer
    /// (after a timeout, or when the connection drops): the answer carries
    /// [`ResponseError::Invalid`] with `error`. `None` when no call has that id.
    pub fn fail(&self, message_id: &str, error: CallError) -> Option<Answer> {
        self.pending().fail(message_id, error)
    }

    /// Forgets a pending call (after a timeout, say): a late answer is then ignored as
    /// unmatched. Returns whether it was pending.
    pub fn cancel(&self, message_id: &str) -> bool {
        self.pending().cancel(message_id)
    }

    /// The number of calls waiting for their answers.
    pub fn pending_calls(&self) -> usize {
        self.pending().len()
    }
}
