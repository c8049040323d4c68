//! The CALLs this side has sent and not yet seen answered, and the answers matched to them.

use std::collections::HashMap;

use serde_json::Value;

use super::outgoing::{call_frame, send_frame, SendError};
use crate::codec::{decode, Mode};
use crate::feature::{Feature, FeatureInfo};
use crate::policy::{Leniency, Relaxed, UnknownMembers};
use crate::spec::{CallError, OcppVersion, PeerError};
use crate::validate::{validate, Violation, ViolationKind, Violations};
use crate::wire::frame::{Frame, MAX_MESSAGE_ID_CHARS};

/// The default largest number of calls a [`Session`](super::Session) lets wait for their
/// answers (64).
///
/// OCPP-J itself lets a side send a CALL only when every earlier one has been answered or
/// has timed out (OCPP 2.0.1 Part 4 §4.1.1, OCPP-J 1.6 §4.1.1); `with_max_pending(1)` holds
/// a connection to that.
pub const DEFAULT_MAX_PENDING: usize = 64;

/// Why an answer to our CALL did not yield a response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The peer answered with a CALLERROR.
    #[error("the peer answered {0}")]
    Peer(PeerError),
    /// Our verdict: the CALLRESULT's payload violates the response schema, or the frame
    /// breaks one of this side's limits, or the call failed locally (timed out, connection
    /// lost: [`Session::fail`](super::Session::fail)).
    #[error("invalid response: {0}")]
    Invalid(CallError),
    /// The frame is a CALL (or, in 2.1, a SEND or CALLRESULTERROR), not an answer.
    #[error("expected a CALLRESULT or CALLERROR, got a CALL, SEND or CALLRESULTERROR")]
    NotAnAnswer,
    /// [`Answer::into_response`] was asked for another feature than the call's.
    #[error("the call was {actual}, not {expected}")]
    WrongFeature {
        /// The feature asked for.
        expected: &'static str,
        /// The action of the call.
        actual: &'static str,
    },
}

/// An answer matched to the CALL it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The message id of the call and its answer.
    pub message_id: String,
    /// The call's action.
    pub action: &'static str,
    /// The validated CALLRESULT payload, or why there is none.
    pub result: Result<Value, ResponseError>,
    /// Members a relaxed policy let through and took out of `result` (see
    /// [`Answer::unknown_members`]).
    unknown: Option<UnknownMembers>,
    /// How `result` decodes: [`Mode::Lenient`] when a [`Leniency::Report`] rule delivers it
    /// although it breaks its schema.
    mode: Mode,
}

impl Answer {
    fn new(message_id: String, action: &'static str, result: Result<Value, ResponseError>) -> Self {
        Answer {
            message_id,
            action,
            result,
            unknown: None,
            mode: Mode::Strict,
        }
    }

    /// The typed response, for the feature the call was made with.
    pub fn into_response<F: Feature>(self) -> Result<F::Response, ResponseError> {
        if self.action != F::NAME {
            return Err(ResponseError::WrongFeature {
                expected: F::NAME,
                actual: self.action,
            });
        }
        decode(self.result?, self.mode).map_err(ResponseError::Invalid)
    }

    /// The members of the CALLRESULT its schema does not define, when a relaxed policy let
    /// them through (they are not in [`Answer::result`]; [`UnknownMembers::restore`] puts
    /// them back).
    pub fn unknown_members(&self) -> Option<&UnknownMembers> {
        self.unknown.as_ref()
    }

    /// How [`Answer::into_response`] decodes the result: strictly, unless a
    /// [`Leniency::Report`] rule delivered it although it breaks its schema.
    pub fn mode(&self) -> Mode {
        self.mode
    }
}

/// The calls we have sent, by message id, with the metadata of each.
#[derive(Debug)]
pub(crate) struct PendingCalls {
    version: OcppVersion,
    pending: HashMap<String, &'static FeatureInfo>,
    next_id: u64,
    max_pending: usize,
}

impl PendingCalls {
    /// No pending calls; message ids count up from 1.
    pub(crate) fn new(version: OcppVersion) -> Self {
        PendingCalls {
            version,
            pending: HashMap::new(),
            next_id: 1,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }

    pub(crate) fn set_max_pending(&mut self, max_pending: usize) {
        self.max_pending = max_pending.max(1);
    }

    pub(crate) fn max_pending(&self) -> usize {
        self.max_pending
    }

    fn check_room(&self) -> Result<(), SendError> {
        if self.pending.len() >= self.max_pending {
            Err(SendError::TooManyPending {
                limit: self.max_pending,
            })
        } else {
            Ok(())
        }
    }

    /// A message id no pending call has.
    pub(crate) fn fresh_id(&mut self) -> String {
        loop {
            let id = self.next_id.to_string();
            self.next_id += 1;
            if !self.pending.contains_key(&id) {
                break id;
            }
        }
    }

    /// Builds the CALL frame for `request` with `message_id` (a fresh one when `None`) and
    /// records it as pending. Returns the id and the frame.
    pub(crate) fn call<F: Feature>(
        &mut self,
        message_id: Option<&str>,
        request: &F::Request,
    ) -> Result<(String, String), SendError> {
        if F::SEND {
            return Err(SendError::WrongMessageType {
                action: F::NAME,
                what: "a SEND, not a CALL",
            });
        }
        let id = match message_id {
            Some(id) => {
                check_id(id)?;
                if self.pending.contains_key(id) {
                    return Err(SendError::AlreadyPending(id.to_owned()));
                }
                id.to_owned()
            }
            None => self.fresh_id(),
        };
        self.check_room()?;
        let frame = call_frame::<F>(&id, request).map_err(SendError::Invalid)?;
        self.pending.insert(id.clone(), &F::INFO);
        Ok((id, frame))
    }

    /// Records the CALL `frame` (built earlier by this side, kept in a store) as pending under
    /// its own message id, once it reads as a valid CALL of this version that `sender` may
    /// send. Returns its message id and action.
    pub(crate) fn call_frame(
        &mut self,
        frame: &str,
        sender: crate::feature::Role,
    ) -> Result<(String, &'static str), SendError> {
        let parsed = Frame::parse_for(self.version, frame)
            .map_err(|_| SendError::NotACall("the text is not an OCPP-J frame of this version"))?;
        let Frame::Call {
            message_id,
            action,
            payload,
        } = parsed
        else {
            return Err(SendError::NotACall("the frame is not a CALL"));
        };
        let feature = self
            .version
            .feature(&action)
            .ok_or(SendError::NotACall("the action is not one of this version"))?;
        if feature.send {
            return Err(SendError::WrongMessageType {
                action: feature.name,
                what: "a SEND, not a CALL",
            });
        }
        if !feature.initiator.may_be_sent_by(sender) {
            return Err(SendError::NotACall("the other side sends this action"));
        }
        check_id(&message_id)?;
        if self.pending.contains_key(&message_id) {
            return Err(SendError::AlreadyPending(message_id));
        }
        self.check_room()?;
        Violations::check(validate(feature.request, &payload)).map_err(SendError::Invalid)?;
        self.pending.insert(message_id.clone(), feature);
        Ok((message_id, feature.name))
    }

    /// Builds the SEND frame for `request`: nothing is recorded, a SEND is never answered.
    pub(crate) fn send<F: Feature>(
        &mut self,
        message_id: Option<&str>,
        request: &F::Request,
    ) -> Result<(String, String), SendError> {
        if !F::SEND {
            return Err(SendError::WrongMessageType {
                action: F::NAME,
                what: "a CALL, not a SEND",
            });
        }
        if !self.version.has_call_result_error() {
            return Err(SendError::WrongMessageType {
                action: F::NAME,
                what: "a SEND of OCPP 2.1",
            });
        }
        let id = match message_id {
            Some(id) => {
                check_id(id)?;
                id.to_owned()
            }
            None => self.fresh_id(),
        };
        let frame = send_frame::<F>(&id, request).map_err(SendError::Invalid)?;
        Ok((id, frame))
    }

    /// Matches a CALLRESULT or CALLERROR to its pending call, removes the call, and validates
    /// a CALLRESULT against the call's response schema; `leniency` gives, for the call's
    /// action, how a CALLRESULT that breaks its schema is treated (see [`crate::policy`]).
    /// Also returns what a relaxed rule did, when one applied. `None`: no call is pending
    /// with the frame's id.
    pub(crate) fn answer(
        &mut self,
        frame: Frame,
        leniency: impl FnOnce(&'static str) -> Leniency,
    ) -> Option<(Answer, Option<Relaxed>)> {
        let (message_id, payload) = match frame {
            Frame::CallResult {
                message_id,
                payload,
            } => (message_id, payload),
            Frame::CallError { message_id, error } => {
                let feature = self.pending.remove(&message_id)?;
                let answer = Answer::new(message_id, feature.name, Err(ResponseError::Peer(error)));
                return Some((answer, None));
            }
            Frame::Call { .. } | Frame::Send { .. } | Frame::CallResultError { .. } => return None,
        };
        let feature = self.pending.remove(&message_id)?;
        let violations = validate(feature.response, &payload);
        if violations.is_empty() {
            return Some((Answer::new(message_id, feature.name, Ok(payload)), None));
        }
        let leniency = leniency(feature.name);
        let invalid = |violations: &[Violation]| {
            self.version
                .violations_error("response", violations)
                .unwrap_or_else(|| CallError::internal("invalid response"))
        };
        if leniency == Leniency::Strict {
            let error = invalid(&violations);
            let answer = Answer::new(message_id, feature.name, Err(ResponseError::Invalid(error)));
            return Some((answer, None));
        }
        let others: Vec<Violation> = violations
            .iter()
            .filter(|v| !matches!(v.kind, ViolationKind::Additional { .. }))
            .cloned()
            .collect();
        let mut rest = payload.clone();
        let unknown = UnknownMembers::take(&mut rest, &violations);
        let delivered = match leniency {
            Leniency::AllowUnknownMembers => others.is_empty(),
            _ => (feature.reencode_response)(rest.clone(), Mode::Lenient).is_ok(),
        };
        let mut answer = Answer::new(message_id, feature.name, Ok(Value::Null));
        if delivered {
            answer.result = Ok(rest);
            answer.unknown = (!unknown.is_empty()).then_some(unknown);
            if leniency == Leniency::Report {
                answer.mode = Mode::Lenient;
            }
        } else {
            let error = if others.is_empty() {
                invalid(&violations)
            } else {
                invalid(&others)
            };
            answer.result = Err(ResponseError::Invalid(error));
        }
        let relaxed = Relaxed {
            leniency,
            violations,
            delivered,
        };
        Some((answer, Some(relaxed)))
    }

    /// Ends a pending call with an error of this side's own instead of the peer's answer.
    pub(crate) fn fail(&mut self, message_id: &str, error: CallError) -> Option<Answer> {
        let feature = self.pending.remove(message_id)?;
        Some(Answer::new(
            message_id.to_owned(),
            feature.name,
            Err(ResponseError::Invalid(error)),
        ))
    }

    /// Ends every pending call with `error`.
    pub(crate) fn fail_all(&mut self, error: &CallError) -> Vec<Answer> {
        self.pending
            .drain()
            .map(|(message_id, feature)| {
                Answer::new(
                    message_id,
                    feature.name,
                    Err(ResponseError::Invalid(error.clone())),
                )
            })
            .collect()
    }

    /// Forgets a pending call. Returns whether it was pending.
    pub(crate) fn cancel(&mut self, message_id: &str) -> bool {
        self.pending.remove(message_id).is_some()
    }

    /// The number of pending calls.
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }
}

/// A message id the peer can read: 1 to 36 characters.
fn check_id(message_id: &str) -> Result<(), SendError> {
    if message_id.is_empty() || message_id.chars().count() > MAX_MESSAGE_ID_CHARS {
        Err(SendError::InvalidMessageId)
    } else {
        Ok(())
    }
}
