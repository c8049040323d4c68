//! OCPP-J error codes, the CALLERROR this side answers with, and the error the peer answers with.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

/// An OCPP-J error code, as sent in a CALLERROR frame.
///
/// The set is the union of OCPP-J 1.6 Table 7 and OCPP 2.0.1/2.1 Part 4; two codes exist only in
/// 1.6 with their 1.6 spelling ([`ErrorCode::FormationViolation`] and
/// [`ErrorCode::OccurenceConstraintViolation`], kept on purpose per the 1.6 errata). Use
/// [`crate::OcppVersion::error_code`] to get the code a given version prescribes for a
/// situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 2.x: "Payload for Action is syntactically incorrect".
    FormatViolation,
    /// 1.6: "Payload for Action is syntactically incorrect or not conform the PDU structure for Action".
    FormationViolation,
    /// "Any other error not covered by the more specific error codes".
    GenericError,
    /// "An internal error occurred and the receiver was not able to process the requested Action successfully".
    InternalError,
    /// 2.x: "A message with an Message Type Number received that is not supported by this implementation".
    MessageTypeNotSupported,
    /// "Requested Action is not known by receiver".
    NotImplemented,
    /// "Requested Action is recognized but not supported by the receiver".
    NotSupported,
    /// 2.x: "Payload for Action is syntactically correct but at least one of the fields violates occurrence constraints".
    OccurrenceConstraintViolation,
    /// 1.6 spelling of the occurrence constraint violation.
    OccurenceConstraintViolation,
    /// "Payload is syntactically correct but at least one field contains an invalid value".
    PropertyConstraintViolation,
    /// 2.x: "Payload for Action is not conform the PDU structure"; 1.6: "Payload for Action is incomplete".
    ProtocolError,
    /// 2.x: "Content of the call is not a valid RPC Request, for example: MessageId could not be read".
    RpcFrameworkError,
    /// "During the processing of Action a security issue occurred preventing receiver from completing the Action successfully".
    SecurityError,
    /// "Payload for Action is syntactically correct but at least one of the fields violates data type constraints".
    TypeConstraintViolation,
}

impl ErrorCode {
    /// Every error code, in the order declared.
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::FormatViolation,
        ErrorCode::FormationViolation,
        ErrorCode::GenericError,
        ErrorCode::InternalError,
        ErrorCode::MessageTypeNotSupported,
        ErrorCode::NotImplemented,
        ErrorCode::NotSupported,
        ErrorCode::OccurrenceConstraintViolation,
        ErrorCode::OccurenceConstraintViolation,
        ErrorCode::PropertyConstraintViolation,
        ErrorCode::ProtocolError,
        ErrorCode::RpcFrameworkError,
        ErrorCode::SecurityError,
        ErrorCode::TypeConstraintViolation,
    ];

    /// The code as written on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::FormatViolation => "FormatViolation",
            ErrorCode::FormationViolation => "FormationViolation",
            ErrorCode::GenericError => "GenericError",
            ErrorCode::InternalError => "InternalError",
            ErrorCode::MessageTypeNotSupported => "MessageTypeNotSupported",
            ErrorCode::NotImplemented => "NotImplemented",
            ErrorCode::NotSupported => "NotSupported",
            ErrorCode::OccurrenceConstraintViolation => "OccurrenceConstraintViolation",
            ErrorCode::OccurenceConstraintViolation => "OccurenceConstraintViolation",
            ErrorCode::PropertyConstraintViolation => "PropertyConstraintViolation",
            ErrorCode::ProtocolError => "ProtocolError",
            ErrorCode::RpcFrameworkError => "RpcFrameworkError",
            ErrorCode::SecurityError => "SecurityError",
            ErrorCode::TypeConstraintViolation => "TypeConstraintViolation",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = ConversionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == s)
            .ok_or_else(|| ConversionError::from(format!("unknown OCPP-J error code {s:?}")))
    }
}

/// The longest CALLERROR description this crate sends, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 255;

/// The error this side answers a message with: what a handler returns when it cannot answer
/// with a response, and what the dispatcher answers for a message it rejects (sent as a
/// CALLERROR, or in OCPP 2.1 as a CALLRESULTERROR). The peer's errors are [`PeerError`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    /// The error code.
    pub code: ErrorCode,
    /// A human-readable description, at most [`MAX_DESCRIPTION_CHARS`] characters on the wire.
    pub description: String,
    /// Extra details; an empty object when there are none.
    pub details: Map<String, Value>,
}

impl CallError {
    /// A CALLERROR with the given code and description and no details.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        CallError {
            code,
            description: description.into(),
            details: Map::new(),
        }
    }

    /// Adds one member to the details object.
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// `NotSupported` for an action this receiver knows but does not handle.
    pub fn not_supported(action: &str) -> Self {
        CallError::new(
            ErrorCode::NotSupported,
            format!("{action} is not supported by this receiver"),
        )
    }

    /// `NotImplemented` for an action name this receiver does not know.
    pub fn not_implemented(action: &str) -> Self {
        let mut shown: String = action.chars().take(64).collect();
        if shown.len() < action.len() {
            shown.push('…');
        }
        CallError::new(
            ErrorCode::NotImplemented,
            format!("unknown action {shown:?}"),
        )
    }

    /// `InternalError` with the given description.
    pub fn internal(description: impl Into<String>) -> Self {
        CallError::new(ErrorCode::InternalError, description)
    }

    /// The description cut to at most [`MAX_DESCRIPTION_CHARS`] characters, as sent.
    pub fn wire_description(&self) -> &str {
        match self.description.char_indices().nth(MAX_DESCRIPTION_CHARS) {
            Some((end, _)) => &self.description[..end],
            None => &self.description,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for CallError {}

/// The error the peer sent: its CALLERROR answering one of our CALLs, or (OCPP 2.1) its
/// CALLRESULTERROR on one of our CALLRESULTs. The code is kept as sent, even when it is not
/// one this crate knows ([`PeerError::known_code`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PeerError {
    /// The error code as sent.
    pub code: String,
    /// The description as sent.
    pub description: String,
    /// The details as sent.
    pub details: Map<String, Value>,
}

impl PeerError {
    /// The error code, if it is one this crate knows.
    pub fn known_code(&self) -> Option<ErrorCode> {
        self.code.parse().ok()
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for PeerError {}

/// Error from a `FromStr` or `TryFrom` conversion of a generated type (an unknown enum value,
/// a malformed date-time).
#[derive(Clone, PartialEq, Eq)]
pub struct ConversionError(std::borrow::Cow<'static, str>);

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl std::error::Error for ConversionError {}

impl From<&'static str> for ConversionError {
    fn from(value: &'static str) -> Self {
        ConversionError(value.into())
    }
}

impl From<String> for ConversionError {
    fn from(value: String) -> Self {
        ConversionError(value.into())
    }
}
