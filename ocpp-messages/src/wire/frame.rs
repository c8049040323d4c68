//! OCPP-J frames: `[2, id, action, payload]`, `[3, id, payload]`, `[4, id, code, description, details]`,
//! and OCPP 2.1's `[5, id, code, description, details]` and `[6, id, action, payload]`.

use serde_json::Value;

use crate::spec::{CallError, OcppVersion, PeerError, Situation};

pub use super::scan::{Envelope, MAX_MESSAGE_ID_CHARS};
/// The frame writer, through which every frame this crate writes goes.
pub use super::write;

/// The message id used in a CALLERROR answering a frame whose own id cannot be read.
pub const UNREADABLE_MESSAGE_ID: &str = "-1";

/// One decoded OCPP-J frame. Payloads are kept as JSON values; they are validated against the
/// action's schema by the dispatcher or by `rpc::decode_response`.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `[2, messageId, action, payload]`.
    Call {
        /// The message id.
        message_id: String,
        /// The action name.
        action: String,
        /// The request payload.
        payload: Value,
    },
    /// `[3, messageId, payload]`.
    CallResult {
        /// The id of the CALL this answers.
        message_id: String,
        /// The response payload.
        payload: Value,
    },
    /// `[4, messageId, errorCode, errorDescription, errorDetails]`.
    CallError {
        /// The id of the CALL this answers.
        message_id: String,
        /// The error: code (as sent, not necessarily one this crate knows), description and
        /// details.
        error: PeerError,
    },
    /// `[5, messageId, errorCode, errorDescription, errorDetails]`: CALLRESULTERROR, OCPP 2.1
    /// only ([`Frame::parse_for`]). Sent by the side that received a CALLRESULT it could not
    /// accept (an invalid payload, say), with that CALLRESULT's message id; it is never
    /// answered.
    CallResultError {
        /// The id of the CALLRESULT this reports on (the id of the CALL that CALLRESULT answered).
        message_id: String,
        /// The error: code (as sent), description and details.
        error: PeerError,
    },
    /// `[6, messageId, action, payload]`: SEND, OCPP 2.1 only ([`Frame::parse_for`]). An
    /// unconfirmed message: the receiver validates and handles the payload but never answers,
    /// neither with a CALLRESULT nor with a CALLERROR.
    Send {
        /// The message id.
        message_id: String,
        /// The action name (in 2.1: `NotifyPeriodicEventStream`).
        action: String,
        /// The payload.
        payload: Value,
    },
}

/// Why a text is not a frame, with what to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameError {
    /// The frame's own message id, when it could be read (`None`: the CALLERROR answering it
    /// carries [`UNREADABLE_MESSAGE_ID`]).
    pub message_id: Option<String>,
    /// What kind of problem it is.
    pub situation: Situation,
    /// What is wrong, without echoing the offending text.
    pub description: String,
    /// See [`FrameError::is_answered`].
    answered: bool,
}

impl FrameError {
    fn new(message_id: Option<&str>, situation: Situation, description: impl Into<String>) -> Self {
        FrameError {
            message_id: message_id.map(str::to_owned),
            situation,
            description: description.into(),
            answered: true,
        }
    }

    /// A malformed SEND or CALLRESULTERROR (OCPP 2.1): neither is ever answered, so neither
    /// is a malformed one.
    fn unanswered(
        message_id: Option<&str>,
        situation: Situation,
        description: impl Into<String>,
    ) -> Self {
        FrameError {
            answered: false,
            ..FrameError::new(message_id, situation, description)
        }
    }

    /// Whether the frame gets a CALLERROR: every unreadable or malformed frame does, except a
    /// malformed SEND or CALLRESULTERROR of OCPP 2.1 (message types 6 and 5 are never
    /// answered).
    pub fn is_answered(&self) -> bool {
        self.answered
    }

    /// The message id of the CALLERROR answering this frame: its own, or
    /// [`UNREADABLE_MESSAGE_ID`] when it could not be read.
    pub fn answer_id(&self) -> &str {
        self.message_id.as_deref().unwrap_or(UNREADABLE_MESSAGE_ID)
    }

    /// The CALLERROR for this problem under `version`.
    pub fn to_call_error(&self, version: OcppVersion) -> CallError {
        CallError::new(version.error_code(self.situation), self.description.clone())
    }

    /// The CALLERROR frame answering this problem under `version`.
    pub fn to_frame(&self, version: OcppVersion) -> String {
        self.to_call_error(version).to_frame(self.answer_id())
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl std::error::Error for FrameError {}

impl Frame {
    /// Parses one OCPP-J text frame of message type 2, 3 or 4, the types of OCPP 1.6 and
    /// 2.0.1; any other type number is [`Situation::UnknownMessageType`]. For a version whose
    /// RPC framework has more types (2.1), use [`Frame::parse_for`].
    ///
    /// JSON nesting deeper than 128 levels is rejected by the JSON parser, so no input can
    /// exhaust the stack.
    pub fn parse(text: &str) -> Result<Frame, FrameError> {
        Frame::from_value(parse_json(text)?)
    }

    /// Parses one OCPP-J text frame as `version` defines them: types 2, 3 and 4 for OCPP 1.6
    /// and 2.0.1, plus 5 ([`Frame::CallResultError`]) and 6 ([`Frame::Send`]) for 2.1. A type
    /// number the version does not define is [`Situation::UnknownMessageType`].
    ///
    /// ```
    /// use ocpp_messages::frame::Frame;
    /// use ocpp_messages::{OcppVersion, Situation};
    ///
    /// let send = r#"[6,"s1","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[{"t":0,"v":"1"}]}]"#;
    /// assert!(matches!(Frame::parse_for(OcppVersion::V2_1, send), Ok(Frame::Send { .. })));
    /// let err = Frame::parse_for(OcppVersion::V2_0_1, send).unwrap_err();
    /// assert_eq!(err.situation, Situation::UnknownMessageType);
    /// ```
    pub fn parse_for(version: OcppVersion, text: &str) -> Result<Frame, FrameError> {
        Frame::from_value_for(version, parse_json(text)?)
    }

    /// Interprets an already parsed JSON value as a frame of message type 2, 3 or 4 (see
    /// [`Frame::parse`]).
    pub fn from_value(value: Value) -> Result<Frame, FrameError> {
        Frame::from_value_with(value, false)
    }

    /// Interprets an already parsed JSON value as a frame as `version` defines them (see
    /// [`Frame::parse_for`]).
    pub fn from_value_for(version: OcppVersion, value: Value) -> Result<Frame, FrameError> {
        Frame::from_value_with(value, version.has_call_result_error())
    }

    fn from_value_with(value: Value, types_5_and_6: bool) -> Result<Frame, FrameError> {
        let Value::Array(items) = value else {
            return Err(FrameError::new(
                None,
                Situation::UnreadableFrame,
                "frame is not a JSON array",
            ));
        };
        let message_id = match items.get(1) {
            Some(Value::String(id))
                if !id.is_empty() && id.chars().count() <= MAX_MESSAGE_ID_CHARS =>
            {
                id.clone()
            }
            Some(Value::String(_)) => {
                return Err(FrameError::new(
                    None,
                    Situation::UnreadableFrame,
                    format!("message id must be 1 to {MAX_MESSAGE_ID_CHARS} characters"),
                ))
            }
            _ => {
                return Err(FrameError::new(
                    None,
                    Situation::UnreadableFrame,
                    "message id (second element) is missing or not a string",
                ))
            }
        };
        let id = Some(message_id.as_str());
        let type_id = match items.first() {
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        };
        let mut items = items.into_iter();
        match type_id {
            Some(2) => {
                if items.len() != 4 {
                    return Err(FrameError::new(
                        id,
                        Situation::MalformedFrame,
                        "a CALL has exactly 4 elements",
                    ));
                }
                let mut rest = items.skip(2);
                let (Some(Value::String(action)), Some(payload)) = (rest.next(), rest.next())
                else {
                    return Err(FrameError::new(
                        id,
                        Situation::MalformedFrame,
                        "the action (third element) of a CALL must be a string",
                    ));
                };
                Ok(Frame::Call {
                    message_id,
                    action,
                    payload,
                })
            }
            Some(3) => {
                if items.len() != 3 {
                    return Err(FrameError::new(
                        id,
                        Situation::MalformedFrame,
                        "a CALLRESULT has exactly 3 elements",
                    ));
                }
                let payload = items.nth(2).unwrap_or(Value::Null);
                Ok(Frame::CallResult {
                    message_id,
                    payload,
                })
            }
            Some(4) => {
                if items.len() != 5 {
                    return Err(FrameError::new(
                        id,
                        Situation::MalformedFrame,
                        "a CALLERROR has exactly 5 elements",
                    ));
                }
                let mut rest = items.skip(2);
                match (rest.next(), rest.next(), rest.next()) {
                    (
                        Some(Value::String(error_code)),
                        Some(Value::String(description)),
                        Some(Value::Object(details)),
                    ) => Ok(Frame::CallError {
                        message_id,
                        error: PeerError {
                            code: error_code,
                            description,
                            details,
                        },
                    }),
                    _ => Err(FrameError::new(
                        id,
                        Situation::MalformedFrame,
                        "a CALLERROR is [4, id, code: string, description: string, details: object]",
                    )),
                }
            }
            Some(5) if types_5_and_6 => {
                if items.len() != 5 {
                    return Err(FrameError::unanswered(
                        id,
                        Situation::MalformedFrame,
                        "a CALLRESULTERROR has exactly 5 elements",
                    ));
                }
                let mut rest = items.skip(2);
                match (rest.next(), rest.next(), rest.next()) {
                    (
                        Some(Value::String(error_code)),
                        Some(Value::String(description)),
                        Some(Value::Object(details)),
                    ) => Ok(Frame::CallResultError {
                        message_id,
                        error: PeerError {
                            code: error_code,
                            description,
                            details,
                        },
                    }),
                    _ => Err(FrameError::unanswered(
                        id,
                        Situation::MalformedFrame,
                        "a CALLRESULTERROR is [5, id, code: string, description: string, details: object]",
                    )),
                }
            }
            Some(6) if types_5_and_6 => {
                if items.len() != 4 {
                    return Err(FrameError::unanswered(
                        id,
                        Situation::MalformedFrame,
                        "a SEND has exactly 4 elements",
                    ));
                }
                let mut rest = items.skip(2);
                let (Some(Value::String(action)), Some(payload)) = (rest.next(), rest.next())
                else {
                    return Err(FrameError::unanswered(
                        id,
                        Situation::MalformedFrame,
                        "the action (third element) of a SEND must be a string",
                    ));
                };
                Ok(Frame::Send {
                    message_id,
                    action,
                    payload,
                })
            }
            _ if types_5_and_6 => Err(FrameError::new(
                id,
                Situation::UnknownMessageType,
                "message type number (first element) is not 2, 3, 4, 5 or 6",
            )),
            _ => Err(FrameError::new(
                id,
                Situation::UnknownMessageType,
                "message type number (first element) is not 2, 3 or 4",
            )),
        }
    }

    /// Whether the frame answers a CALL: a CALLRESULT or a CALLERROR. (A CALLRESULTERROR
    /// reports on a CALLRESULT, not on a CALL.)
    pub fn answers_a_call(&self) -> bool {
        matches!(self, Frame::CallResult { .. } | Frame::CallError { .. })
    }

    /// The frame's message id.
    pub fn message_id(&self) -> &str {
        match self {
            Frame::Call { message_id, .. }
            | Frame::CallResult { message_id, .. }
            | Frame::CallError { message_id, .. }
            | Frame::CallResultError { message_id, .. }
            | Frame::Send { message_id, .. } => message_id,
        }
    }

    /// The frame as JSON text, written by the frame writer ([`write`](super::write)).
    pub fn to_text(&self) -> String {
        match self {
            Frame::Call {
                message_id,
                action,
                payload,
            } => write::call(message_id, action, &payload.to_string()),
            Frame::CallResult {
                message_id,
                payload,
            } => write::call_result(message_id, &payload.to_string()),
            Frame::CallError { message_id, error } => write::error_frame(
                write::CALL_ERROR,
                message_id,
                &error.code,
                &error.description,
                &error.details,
            ),
            Frame::CallResultError { message_id, error } => write::error_frame(
                write::CALL_RESULT_ERROR,
                message_id,
                &error.code,
                &error.description,
                &error.details,
            ),
            Frame::Send {
                message_id,
                action,
                payload,
            } => write::send(message_id, action, &payload.to_string()),
        }
    }
}

fn parse_json(text: &str) -> Result<Value, FrameError> {
    serde_json::from_str(text).map_err(|e| {
        FrameError::new(
            None,
            Situation::UnreadableFrame,
            format!("frame is not valid JSON ({})", e.classify_str()),
        )
    })
}

trait ClassifyStr {
    fn classify_str(&self) -> &'static str;
}

impl ClassifyStr for serde_json::Error {
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "data error",
            serde_json::error::Category::Eof => "unexpected end of input",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_frames_answer_with_minus_one() {
        for text in [
            "not json",
            "{}",
            "[2]",
            "[2, 17, \"Heartbeat\", {}]",
            "[2, \"\", \"Heartbeat\", {}]",
            &format!("[2, \"{}\", \"Heartbeat\", {{}}]", "x".repeat(37)),
            &format!("{}{}", "[".repeat(200), "]".repeat(200)),
        ] {
            let err = Frame::parse(text).unwrap_err();
            assert_eq!(err.message_id, None, "{text}");
            assert_eq!(err.answer_id(), "-1", "{text}");
            assert_eq!(err.situation, Situation::UnreadableFrame, "{text}");
            assert!(!err.description.contains("Heartbeat"));
        }
    }

    #[test]
    fn frames_round_trip() {
        for text in [
            r#"[2,"a","Heartbeat",{}]"#,
            r#"[3,"a",{"currentTime":"2024-01-01T00:00:00Z"}]"#,
            r#"[4,"a","NotSupported","nope",{}]"#,
        ] {
            assert_eq!(Frame::parse(text).unwrap().to_text(), text);
        }
    }

    #[test]
    fn malformed_frames_keep_their_id() {
        let err = Frame::parse(r#"[9,"abc",{}]"#).unwrap_err();
        assert_eq!(
            (err.message_id.as_deref(), err.situation),
            (Some("abc"), Situation::UnknownMessageType)
        );
        let err = Frame::parse(r#"[2,"abc",5,{}]"#).unwrap_err();
        assert_eq!(
            (err.message_id.as_deref(), err.situation),
            (Some("abc"), Situation::MalformedFrame)
        );
    }
}
