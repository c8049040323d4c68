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
//! let frame = call_frame::<SignCertificateFeature>(OcppVersion::V2_0_1, "42", &request).unwrap();
//! assert!(frame.starts_with(r#"[2,"42","SignCertificate",{"#));
//!
//! let answer = Frame::parse(r#"[3,"42",{"status":"Accepted"}]"#).unwrap();
//! let response = decode_response::<SignCertificateFeature>(OcppVersion::V2_0_1, answer).unwrap();
//! assert_eq!(response.status, GenericStatus::Accepted);
//! ```

use serde_json::{Map, Value};

use crate::dispatch::{decode, encode, violations_error};
use crate::error::CallError;
use crate::feature::Feature;
use crate::frame::Frame;
use crate::validate::{validate, HasSchema};
use crate::version::OcppVersion;

/// Encodes `request` as the CALL frame `[2, message_id, F::NAME, payload]`, after checking it
/// against its schema (an invalid request is never sent).
pub fn call_frame<F: Feature>(
    version: OcppVersion,
    message_id: &str,
    request: &F::Request,
) -> Result<String, CallError> {
    let payload = encode(request)?;
    let violations = validate(<F::Request as HasSchema>::SCHEMA, &payload);
    if let Some(e) = violations_error(version, "request", &violations) {
        return Err(e);
    }
    Ok(Value::Array(vec![2.into(), message_id.into(), F::NAME.into(), payload]).to_string())
}

/// Why an answer to our CALL did not yield a response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResponseError {
    /// The peer answered with a CALLERROR.
    #[error("the peer answered {error_code}: {description}")]
    CallError {
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
    /// The frame is a CALL, not an answer.
    #[error("expected a CALLRESULT or CALLERROR, got a CALL")]
    NotAnAnswer,
}

/// Decodes and validates the frame that answers a CALL of feature `F`.
///
/// Matching the answer to the call by message id is the caller's job (see
/// [`Frame::message_id`]).
pub fn decode_response<F: Feature>(
    version: OcppVersion,
    frame: Frame,
) -> Result<F::Response, ResponseError> {
    match frame {
        Frame::CallResult { payload, .. } => {
            let violations = validate(<F::Response as HasSchema>::SCHEMA, &payload);
            if let Some(e) = violations_error(version, "response", &violations) {
                return Err(ResponseError::Invalid(e));
            }
            decode(payload).map_err(ResponseError::Invalid)
        }
        Frame::CallError {
            error_code,
            description,
            details,
            ..
        } => Err(ResponseError::CallError {
            error_code,
            description,
            details,
        }),
        Frame::Call { .. } => Err(ResponseError::NotAnAnswer),
    }
}
