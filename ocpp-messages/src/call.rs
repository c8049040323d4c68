//! Sending CALLs: building a CALL frame from a typed request and decoding the answer.
//!
//! ```
//! use ocpp_messages::call::{call_frame, decode_response};
//! use ocpp_messages::frame::Frame;
//! use ocpp_messages::v2_0_1::security::{SignCertificateFeature, SignCertificateRequest};
//! use ocpp_messages::v2_0_1::types::GenericStatus;
//! use ocpp_messages::OcppVersion;
//!
//! let request = SignCertificateRequest::new("-----BEGIN CERTIFICATE REQUEST-----...");
//! let frame = call_frame::<SignCertificateFeature>("42", &request).unwrap();
//! assert!(frame.starts_with(r#"[2,"42","SignCertificate",{"#));
//!
//! let answer = Frame::parse(r#"[3,"42",{"status":"Accepted"}]"#).unwrap();
//! let response = decode_response::<SignCertificateFeature>(OcppVersion::V2_0_1, answer).unwrap();
//! assert_eq!(response.status, GenericStatus::Accepted);
//! ```

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::codec::decode;
use crate::error::CallError;
use crate::feature::{Feature, FeatureInfo};
use crate::frame::{Frame, MAX_MESSAGE_ID_CHARS};
use crate::policy::{Leniency, UnknownMembers};
use crate::validate::{validate, HasSchema, Schema, Violation, ViolationKind, Violations};
use crate::version::OcppVersion;

/// Encodes `request` as the CALL frame `[2, message_id, F::NAME, payload]`, after checking it
/// against its schema (an invalid request is never sent: the error lists why).
pub fn call_frame<F: Feature>(
    message_id: &str,
    request: &F::Request,
) -> Result<String, Violations> {
    // Checked on the typed value and written straight into the frame; the report of an
    // invalid request comes from the validator.
    let payload = crate::codec::to_checked_text(request)?;
    let head = Value::Array(vec![2.into(), message_id.into(), F::NAME.into()]).to_string();
    let mut frame = String::with_capacity(head.len() + payload.len() + 1);
    frame.push_str(&head[..head.len() - 1]);
    frame.push(',');
    frame.push_str(&payload);
    frame.push(']');
    Ok(frame)
}

/// Why [`PendingCalls::call`] or [`PendingCalls::call_with_id`] made no CALL.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallRefused {
    /// A call with this message id is already waiting for its answer.
    #[error("message id {0:?} is already pending")]
    AlreadyPending(String),
    /// The message id is empty or longer than [`MAX_MESSAGE_ID_CHARS`] characters, so the
    /// peer could not read it.
    #[error("a message id has 1 to 36 characters")]
    InvalidMessageId,
    /// As many calls as [`PendingCalls::with_max_pending`] allows are waiting for their
    /// answers: answer, cancel or time some out first.
    #[error("{limit} calls are already waiting for their answers")]
    TooManyPending {
        /// The limit.
        limit: usize,
    },
    /// The request violates its schema, so it is not sent.
    #[error("the request violates its schema: {0}")]
    Invalid(Violations),
}

/// The default largest number of calls a [`PendingCalls`] lets wait for their answers (64).
///
/// OCPP-J itself lets a side send a CALL only when every earlier one has been answered or
/// has timed out (OCPP 2.0.1 Part 4 §4.1.1, OCPP-J 1.6 §4.1.1); `with_max_pending(1)` holds
/// a connection to that.
pub const DEFAULT_MAX_PENDING: usize = 64;

/// Why an answer to our CALL did not yield a response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResponseError {
    /// The peer rejected the call: it answered with a CALLERROR.
    #[error("the peer answered {error_code}: {description}")]
    Rejected {
        /// The error code as sent.
        error_code: String,
        /// The description as sent.
        description: String,
        /// The details as sent.
        details: Map<String, Value>,
    },
    /// The CALLRESULT's payload violates the response schema.
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

/// Decodes and validates the frame that answers a CALL of feature `F`.
///
/// Matching the answer to the call by message id is the caller's job (see
/// [`Frame::message_id`]).
pub fn decode_response<F: Feature>(
    version: OcppVersion,
    frame: Frame,
) -> Result<F::Response, ResponseError> {
    let payload = validated_answer(version, <F::Response as HasSchema>::SCHEMA, frame)?;
    decode(payload).map_err(ResponseError::Invalid)
}

/// The payload of a CALLRESULT, validated against `schema`, or why the answer has none.
fn validated_answer(
    version: OcppVersion,
    schema: &Schema,
    frame: Frame,
) -> Result<Value, ResponseError> {
    match frame {
        Frame::CallResult { payload, .. } => {
            let violations = validate(schema, &payload);
            match version.violations_error("response", &violations) {
                Some(e) => Err(ResponseError::Invalid(e)),
                None => Ok(payload),
            }
        }
        Frame::CallError {
            error_code,
            description,
            details,
            ..
        } => Err(ResponseError::Rejected {
            error_code,
            description,
            details,
        }),
        Frame::Call { .. } | Frame::Send { .. } | Frame::CallResultError { .. } => {
            Err(ResponseError::NotAnAnswer)
        }
    }
}

/// The CALLs we have sent and not yet seen answered, matched to their answers by message id.
///
/// Transport-free: it builds frames and consumes frames; sending and receiving them is the
/// caller's business.
///
/// ```
/// use ocpp_messages::call::PendingCalls;
/// use ocpp_messages::frame::Frame;
/// use ocpp_messages::v2_0_1::security::{CertificateSignedFeature, CertificateSignedRequest, CertificateSignedStatus};
/// use ocpp_messages::OcppVersion;
///
/// let mut pending = PendingCalls::new(OcppVersion::V2_0_1);
/// let (id, frame) = pending.call::<CertificateSignedFeature>(&CertificateSignedRequest::new("PEM")).unwrap();
/// // ... send `frame`, receive the answer ...
/// let answer = Frame::parse(&format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#)).unwrap();
/// let answer = pending.answer(answer).unwrap();
/// let response = answer.into_response::<CertificateSignedFeature>().unwrap();
/// assert_eq!(response.status, CertificateSignedStatus::Accepted);
/// assert!(pending.is_empty());
/// ```
#[derive(Debug)]
pub struct PendingCalls {
    version: OcppVersion,
    pending: HashMap<String, &'static FeatureInfo>,
    next_id: u64,
    max_pending: usize,
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
    /// Whether a [`Leniency::Report`] rule delivers `result` although it breaks its schema.
    lenient: bool,
}

impl Answer {
    /// The typed response, for the feature the call was made with.
    pub fn into_response<F: Feature>(self) -> Result<F::Response, ResponseError> {
        if self.action != F::NAME {
            return Err(ResponseError::WrongFeature {
                expected: F::NAME,
                actual: self.action,
            });
        }
        let payload = self.result?;
        if self.lenient {
            crate::codec::leniently(|| decode(payload)).map_err(ResponseError::Invalid)
        } else {
            decode(payload).map_err(ResponseError::Invalid)
        }
    }

    /// The members of the CALLRESULT its schema does not define, when a relaxed policy of
    /// [`crate::dispatch::Dispatcher::receive`] let them through (they are not in
    /// [`Answer::result`]; [`UnknownMembers::restore`] puts them back).
    pub fn unknown_members(&self) -> Option<&UnknownMembers> {
        self.unknown.as_ref()
    }
}

/// What a relaxed rule did with an answer, for the policy's report.
#[derive(Debug)]
pub(crate) struct Relaxation {
    pub(crate) leniency: Leniency,
    pub(crate) violations: Vec<Violation>,
    pub(crate) delivered: bool,
}

/// A frame that answers no pending call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no pending call has message id {message_id:?}")]
pub struct Unmatched {
    /// The frame's message id.
    pub message_id: String,
}

impl PendingCalls {
    /// No pending calls; message ids count up from 1; at most [`DEFAULT_MAX_PENDING`] calls
    /// wait for their answers at once.
    pub fn new(version: OcppVersion) -> Self {
        PendingCalls {
            version,
            pending: HashMap::new(),
            next_id: 1,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }

    /// Sets how many calls may wait for their answers at once (at least 1); a call beyond it
    /// is refused with [`CallRefused::TooManyPending`], so a peer that never answers cannot
    /// make this map grow without bound.
    ///
    /// ```
    /// use ocpp_messages::call::{CallRefused, PendingCalls};
    /// use ocpp_messages::v2_0_1::provisioning::{Reset, ResetFeature, ResetRequest};
    /// use ocpp_messages::OcppVersion;
    ///
    /// let mut pending = PendingCalls::new(OcppVersion::V2_0_1).with_max_pending(1);
    /// let request = ResetRequest::new(Reset::OnIdle);
    /// let (id, _frame) = pending.call::<ResetFeature>(&request).unwrap();
    /// assert_eq!(
    ///     pending.call::<ResetFeature>(&request),
    ///     Err(CallRefused::TooManyPending { limit: 1 })
    /// );
    /// pending.cancel(&id);
    /// assert!(pending.call::<ResetFeature>(&request).is_ok());
    /// ```
    #[must_use]
    pub fn with_max_pending(mut self, max_pending: usize) -> Self {
        self.max_pending = max_pending.max(1);
        self
    }

    /// How many calls may wait for their answers at once.
    pub fn max_pending(&self) -> usize {
        self.max_pending
    }

    fn check_room(&self) -> Result<(), CallRefused> {
        if self.pending.len() >= self.max_pending {
            Err(CallRefused::TooManyPending {
                limit: self.max_pending,
            })
        } else {
            Ok(())
        }
    }

    /// Builds the CALL frame for `request` with a fresh message id and records it as pending.
    /// Returns the id and the frame.
    pub fn call<F: Feature>(
        &mut self,
        request: &F::Request,
    ) -> Result<(String, String), CallRefused> {
        self.check_room()?;
        let id = loop {
            let id = self.next_id.to_string();
            self.next_id += 1;
            if !self.pending.contains_key(&id) {
                break id;
            }
        };
        // The id is not pending: only the request can be wrong.
        let frame = call_frame::<F>(&id, request).map_err(CallRefused::Invalid)?;
        self.pending.insert(id.clone(), &F::INFO);
        Ok((id, frame))
    }

    /// Builds the CALL frame for `request` with the given message id and records it as
    /// pending. Fails if a call with that id is already pending, if the id is not 1 to 36
    /// characters, or if [`PendingCalls::max_pending`] calls are pending.
    pub fn call_with_id<F: Feature>(
        &mut self,
        message_id: &str,
        request: &F::Request,
    ) -> Result<String, CallRefused> {
        if self.pending.contains_key(message_id) {
            return Err(CallRefused::AlreadyPending(message_id.to_owned()));
        }
        if message_id.is_empty() || message_id.chars().count() > MAX_MESSAGE_ID_CHARS {
            return Err(CallRefused::InvalidMessageId);
        }
        self.check_room()?;
        let frame = call_frame::<F>(message_id, request).map_err(CallRefused::Invalid)?;
        self.pending.insert(message_id.to_owned(), &F::INFO);
        Ok(frame)
    }

    /// Matches a CALLRESULT or CALLERROR to its pending call, removes the call, and validates
    /// the response against the call's response schema.
    pub fn answer(&mut self, frame: Frame) -> Result<Answer, Unmatched> {
        let message_id = frame.message_id().to_owned();
        if !frame.answers_a_call() {
            return Err(Unmatched { message_id });
        }
        let Some(feature) = self.pending.remove(&message_id) else {
            return Err(Unmatched { message_id });
        };
        let result = validated_answer(self.version, feature.response, frame);
        Ok(Answer {
            message_id,
            action: feature.name,
            result,
            unknown: None,
            lenient: false,
        })
    }

    /// [`PendingCalls::answer`] under a validation policy: `leniency` gives, for the call's
    /// action, how a CALLRESULT that breaks its schema is treated (see [`crate::policy`]).
    /// Also returns the leniency and the violations when a relaxed rule applied.
    pub(crate) fn answer_relaxed(
        &mut self,
        frame: Frame,
        leniency: impl FnOnce(&'static str) -> Leniency,
    ) -> Result<(Answer, Option<Relaxation>), Unmatched> {
        let (message_id, mut payload) = match frame {
            Frame::CallResult {
                message_id,
                payload,
            } => (message_id, payload),
            other => return self.answer(other).map(|answer| (answer, None)),
        };
        let Some(feature) = self.pending.get(&message_id).copied() else {
            return Err(Unmatched { message_id });
        };
        let violations = validate(feature.response, &payload);
        let leniency = if violations.is_empty() {
            Leniency::Strict
        } else {
            leniency(feature.name)
        };
        if leniency == Leniency::Strict {
            let frame = Frame::CallResult {
                message_id,
                payload,
            };
            return self.answer(frame).map(|answer| (answer, None));
        }
        self.pending.remove(&message_id);
        let others: Vec<Violation> = violations
            .iter()
            .filter(|v| !matches!(v.kind, ViolationKind::Additional { .. }))
            .cloned()
            .collect();
        let mut answer = Answer {
            message_id,
            action: feature.name,
            result: Ok(Value::Null),
            unknown: None,
            lenient: false,
        };
        let mut rest = payload.clone();
        let unknown = UnknownMembers::take(&mut rest, &violations);
        let delivered = match leniency {
            Leniency::AllowUnknownMembers => others.is_empty(),
            _ => crate::codec::leniently(|| (feature.reencode_response)(rest.clone())).is_ok(),
        };
        if delivered {
            payload = rest;
            answer.result = Ok(payload);
            answer.unknown = (!unknown.is_empty()).then_some(unknown);
            answer.lenient = leniency == Leniency::Report;
        } else {
            let error = self
                .version
                .violations_error("response", &others)
                .or_else(|| self.version.violations_error("response", &violations))
                .unwrap_or_else(|| CallError::internal("invalid response"));
            answer.result = Err(ResponseError::Invalid(error));
        }
        Ok((
            answer,
            Some(Relaxation {
                leniency,
                violations,
                delivered,
            }),
        ))
    }

    /// Ends a pending call with an error of this side's own instead of the peer's answer: the
    /// dispatcher does this when the answer breaks one of its limits ([`crate::limits`]), and
    /// a transport may when the connection drops. The answer carries
    /// [`ResponseError::Invalid`] with `error`.
    pub fn fail(&mut self, message_id: &str, error: CallError) -> Result<Answer, Unmatched> {
        let Some(feature) = self.pending.remove(message_id) else {
            return Err(Unmatched {
                message_id: message_id.to_owned(),
            });
        };
        Ok(Answer {
            message_id: message_id.to_owned(),
            action: feature.name,
            result: Err(ResponseError::Invalid(error)),
            unknown: None,
            lenient: false,
        })
    }

    /// Forgets a pending call (after a timeout, say). Returns whether it was pending.
    pub fn cancel(&mut self, message_id: &str) -> bool {
        self.pending.remove(message_id).is_some()
    }

    /// The number of pending calls.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no call is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
