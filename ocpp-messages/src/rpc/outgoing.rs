//! Frames this side sends of its own accord: CALLs and SENDs built from typed requests, and the
//! typed decoding of the answer to a CALL.

use serde_json::Value;

use super::pending::ResponseError;
use crate::codec::{decode, to_checked_text, Mode};
use crate::feature::Feature;
use crate::spec::OcppVersion;
use crate::validate::{validate, HasSchema, Violations};
use crate::wire::frame::{write, Frame};

/// Why this side did not send a CALL or SEND ([`Session::call`](super::Session::call),
/// [`Session::send`](super::Session::send)).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A call with this message id is already waiting for its answer.
    #[error("message id {0:?} is already pending")]
    AlreadyPending(String),
    /// The message id is empty or longer than
    /// [`MAX_MESSAGE_ID_CHARS`](crate::frame::MAX_MESSAGE_ID_CHARS) characters, so the peer
    /// could not read it.
    #[error("a message id has 1 to 36 characters")]
    InvalidMessageId,
    /// As many calls as [`Session::with_max_pending`](super::Session::with_max_pending) allows
    /// are waiting for their answers: let some be answered, cancelled or timed out first.
    #[error("{limit} calls are already waiting for their answers")]
    TooManyPending {
        /// The limit.
        limit: usize,
    },
    /// The action is a SEND and was made as a CALL, or the other way round, or it is a SEND
    /// and the version has none (SENDs are OCPP 2.1's).
    #[error("{action} is {what}")]
    WrongMessageType {
        /// The action.
        action: &'static str,
        /// What it is: "a SEND, not a CALL", "a CALL, not a SEND" or "a SEND of OCPP 2.1".
        what: &'static str,
    },
    /// The request violates its schema, so it is not sent.
    #[error("the request violates its schema: {0}")]
    Invalid(Violations),
    /// A frame given whole ([`Session::call_frame`](super::Session::call_frame)) is not a CALL
    /// of this session's version that this side may send.
    #[error("not a CALL this side may send: {0}")]
    NotACall(&'static str),
}

/// Encodes `request` as the CALL frame `[2, message_id, F::NAME, payload]`, after checking it
/// against its schema (an invalid request is never sent: the error lists why).
///
/// ```
/// use ocpp_messages::rpc::call_frame;
/// use ocpp_messages::v2_0_1::security::{SignCertificateFeature, SignCertificateRequest};
///
/// let request = SignCertificateRequest::new("-----BEGIN CERTIFICATE REQUEST-----...");
/// let frame = call_frame::<SignCertificateFeature>("42", &request).unwrap();
/// assert!(frame.starts_with(r#"[2,"42","SignCertificate",{"#));
/// ```
pub fn call_frame<F: Feature>(
    message_id: &str,
    request: &F::Request,
) -> Result<String, Violations> {
    // Checked on the typed value and written straight into the frame; the report of an
    // invalid request comes from the validator.
    let payload = to_checked_text(request)?;
    Ok(write::call(message_id, F::NAME, &payload))
}

/// Encodes `request` as the SEND frame `[6, message_id, F::NAME, payload]` (OCPP 2.1), after
/// checking it against its schema. Whether `F` is a SEND is for the caller to know
/// ([`Session::send`](super::Session::send) checks it).
pub fn send_frame<F: Feature>(
    message_id: &str,
    request: &F::Request,
) -> Result<String, Violations> {
    let payload = to_checked_text(request)?;
    Ok(write::send(message_id, F::NAME, &payload))
}

/// Decodes and validates the frame that answers a CALL of feature `F`, for a transport that
/// matches answers itself (a [`Session`](super::Session) does that for you).
///
/// ```
/// use ocpp_messages::frame::Frame;
/// use ocpp_messages::rpc::decode_response;
/// use ocpp_messages::v2_0_1::security::SignCertificateFeature;
/// use ocpp_messages::v2_0_1::types::GenericStatus;
/// use ocpp_messages::OcppVersion;
///
/// let answer = Frame::parse(r#"[3,"42",{"status":"Accepted"}]"#).unwrap();
/// let response = decode_response::<SignCertificateFeature>(OcppVersion::V2_0_1, answer).unwrap();
/// assert_eq!(response.status, GenericStatus::Accepted);
/// ```
pub fn decode_response<F: Feature>(
    version: OcppVersion,
    frame: Frame,
) -> Result<F::Response, ResponseError> {
    let payload = match frame {
        Frame::CallResult { payload, .. } => payload,
        Frame::CallError { error, .. } => return Err(ResponseError::Peer(error)),
        Frame::Call { .. } | Frame::Send { .. } | Frame::CallResultError { .. } => {
            return Err(ResponseError::NotAnAnswer)
        }
    };
    checked_payload(version, <F::Response as HasSchema>::SCHEMA, &payload)?;
    decode(payload, Mode::Strict).map_err(ResponseError::Invalid)
}

/// `payload`, if it satisfies `schema`; else the CALLERROR naming its violations.
fn checked_payload(
    version: OcppVersion,
    schema: &crate::validate::Schema,
    payload: &Value,
) -> Result<(), ResponseError> {
    let violations = validate(schema, payload);
    match version.violations_error("response", &violations) {
        Some(e) => Err(ResponseError::Invalid(e)),
        None => Ok(()),
    }
}
