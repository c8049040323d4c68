//! OCPP-J frames: `[2, id, action, payload]`, `[3, id, payload]`, `[4, id, code, description, details]`,
//! and OCPP 2.1's `[5, id, code, description, details]` and `[6, id, action, payload]`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::{CallError, ErrorCode};
use crate::feature::{Feature, Message};
use crate::version::{OcppVersion, Situation};

/// The longest message id OCPP-J allows, in characters.
pub const MAX_MESSAGE_ID_CHARS: usize = 36;

/// The message id used in a CALLERROR answering a frame whose own id cannot be read.
pub const UNREADABLE_MESSAGE_ID: &str = "-1";

/// One decoded OCPP-J frame. Payloads are kept as JSON values; they are validated against the
/// action's schema by the dispatcher or by [`crate::call::decode_response`].
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
        /// The error code as sent (not necessarily one this crate knows).
        error_code: String,
        /// The description.
        description: String,
        /// The details object.
        details: Map<String, Value>,
    },
    /// `[5, messageId, errorCode, errorDescription, errorDetails]`: CALLRESULTERROR, OCPP 2.1
    /// only ([`Frame::parse_for`]). Sent by the side that received a CALLRESULT it could not
    /// accept (an invalid payload, say), with that CALLRESULT's message id; it is never
    /// answered.
    CallResultError {
        /// The id of the CALLRESULT this reports on (the id of the CALL that CALLRESULT answered).
        message_id: String,
        /// The error code as sent (not necessarily one this crate knows).
        error_code: String,
        /// The description.
        description: String,
        /// The details object.
        details: Map<String, Value>,
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
                        error_code,
                        description,
                        details,
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
                        error_code,
                        description,
                        details,
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

    /// The frame as JSON text.
    pub fn to_text(&self) -> String {
        let value = match self {
            Frame::Call {
                message_id,
                action,
                payload,
            } => Value::Array(vec![
                2.into(),
                message_id.as_str().into(),
                action.as_str().into(),
                payload.clone(),
            ]),
            Frame::CallResult {
                message_id,
                payload,
            } => Value::Array(vec![3.into(), message_id.as_str().into(), payload.clone()]),
            Frame::CallError {
                message_id,
                error_code,
                description,
                details,
            } => Value::Array(vec![
                4.into(),
                message_id.as_str().into(),
                error_code.as_str().into(),
                description.as_str().into(),
                Value::Object(details.clone()),
            ]),
            Frame::CallResultError {
                message_id,
                error_code,
                description,
                details,
            } => Value::Array(vec![
                5.into(),
                message_id.as_str().into(),
                error_code.as_str().into(),
                description.as_str().into(),
                Value::Object(details.clone()),
            ]),
            Frame::Send {
                message_id,
                action,
                payload,
            } => Value::Array(vec![
                6.into(),
                message_id.as_str().into(),
                action.as_str().into(),
                payload.clone(),
            ]),
        };
        value.to_string()
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

/// A CALL frame decoded to its typed, validated request by [`Frame::decode_call`].
#[derive(Debug, Clone, PartialEq)]
pub struct TypedCall<'a, T> {
    /// The message id, borrowed from the frame's text where it has no escapes.
    pub message_id: Cow<'a, str>,
    /// The request.
    pub request: T,
}

/// Why a frame was not a valid CALL of the expected feature: the CALLERROR that answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The message id to answer with ([`UNREADABLE_MESSAGE_ID`] when it could not be read).
    pub message_id: String,
    /// The error to answer with.
    pub error: Box<CallError>,
}

impl Rejection {
    /// The CALLERROR frame answering the rejected frame.
    pub fn to_frame(&self) -> String {
        self.error.to_frame(&self.message_id)
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error.code, self.error.description)
    }
}

impl std::error::Error for Rejection {}

impl Frame {
    /// Decodes the CALL frame `text` of feature `F` into its typed request, validated against
    /// the request schema.
    ///
    /// A valid frame is decoded in one pass from the text, without a JSON tree; anything else
    /// is parsed in full and answered exactly as the [`crate::dispatch::Dispatcher`] would:
    /// the error code [`OcppVersion::error_code`] or [`OcppVersion::error_code_for`] gives,
    /// every violation listed in the details. A CALL of another action is `NotSupported`.
    ///
    /// ```
    /// use ocpp_messages::frame::Frame;
    /// use ocpp_messages::v2_0_1::security::SignCertificateFeature;
    /// use ocpp_messages::OcppVersion;
    ///
    /// let call = Frame::decode_call::<SignCertificateFeature>(
    ///     OcppVersion::V2_0_1,
    ///     r#"[2,"7","SignCertificate",{"csr":"PEM"}]"#,
    /// )
    /// .unwrap();
    /// assert_eq!((&*call.message_id, call.request.csr.as_str()), ("7", "PEM"));
    ///
    /// let rejected = Frame::decode_call::<SignCertificateFeature>(
    ///     OcppVersion::V2_0_1,
    ///     r#"[2,"8","SignCertificate",{"csr":null}]"#,
    /// )
    /// .unwrap_err();
    /// assert!(rejected.to_frame().starts_with(r#"[4,"8","TypeConstraintViolation","#));
    /// ```
    pub fn decode_call<F: Feature>(
        version: OcppVersion,
        text: &str,
    ) -> Result<TypedCall<'_, F::Request>, Rejection> {
        if let Some((Envelope::Call { message_id, action }, start)) = scan(text) {
            if action == F::NAME {
                if let Some(request) = crate::codec::CallText::new(text, start).decode() {
                    return Ok(TypedCall {
                        message_id: Cow::Borrowed(message_id),
                        request,
                    });
                }
            }
        }
        let frame = Frame::parse(text).map_err(|e| Rejection {
            error: Box::new(e.to_call_error(version)),
            message_id: e.answer_id().to_owned(),
        })?;
        let Frame::Call {
            message_id,
            action,
            payload,
        } = frame
        else {
            return Err(Rejection {
                message_id: frame.message_id().to_owned(),
                error: Box::new(CallError::new(
                    ErrorCode::NotSupported,
                    "the frame is not a CALL",
                )),
            });
        };
        if action != F::NAME {
            let description = format!("expected a CALL of {}", F::NAME);
            return Err(Rejection {
                message_id,
                error: Box::new(CallError::new(ErrorCode::NotSupported, description)),
            });
        }
        match F::Request::from_json(payload) {
            Ok(request) => Ok(TypedCall {
                message_id: Cow::Owned(message_id),
                request,
            }),
            Err(violations) => {
                let error = version
                    .violations_error("request", &violations)
                    .unwrap_or_else(|| CallError::new(ErrorCode::GenericError, "invalid request"));
                Err(Rejection {
                    message_id,
                    error: Box::new(error),
                })
            }
        }
    }
}

/// The envelope of a CALL or CALLRESULT, read in place by [`Envelope::peek`]: what comes
/// before the payload, borrowed from the frame's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope<'a> {
    /// `[2, "message_id", "action", ...`
    Call {
        /// The message id.
        message_id: &'a str,
        /// The action.
        action: &'a str,
    },
    /// `[3, "message_id", ...`
    CallResult {
        /// The message id.
        message_id: &'a str,
    },
}

impl<'a> Envelope<'a> {
    /// Reads the envelope of a CALL or CALLRESULT at the start of `text` without parsing the
    /// rest. `None` for anything else, including what may be valid but is unusual (escapes in
    /// the id or action, `2.0` as the type): parse such frames with [`Frame::parse`], which
    /// decides. A message id returned is 1 to 36 characters of JSON string text without
    /// escapes, so it can be written back verbatim. Whether the rest of the text is a
    /// well-formed frame is not checked here.
    pub fn peek(text: &'a str) -> Option<Self> {
        scan(text).map(|(envelope, _)| envelope)
    }
}

/// The length of the JSON string contents at the start of `bytes` (up to the closing quote),
/// if they hold no escape and no control character. Eight bytes at a time: for each word, the
/// lowest byte that is a quote, a backslash or below 0x20 is found with the usual "has a zero
/// byte" arithmetic, whose lowest flagged byte is always exact.
fn plain_string_len(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let stop = |c: u8| c == b'"' || c == b'\\' || c < 0x20;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        let found = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGHS);
        if found != 0 {
            i += (found.trailing_zeros() / 8) as usize;
            return (bytes[i] == b'"').then_some(i);
        }
        i += 8;
    }
    let len = bytes[i..].iter().position(|&c| stop(c))?;
    (bytes[i + len] == b'"').then_some(i + len)
}

/// [`Envelope::peek`], with the byte offset where the payload starts.
pub(crate) fn scan(text: &str) -> Option<(Envelope<'_>, usize)> {
    let bytes = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
            i += 1;
        }
        i
    };
    // The index after `byte` (after whitespace).
    let expect = |i: usize, byte: u8| -> Option<usize> {
        let i = skip_ws(i);
        (*bytes.get(i)? == byte).then_some(i + 1)
    };
    // A string without escapes or control characters, and the index after it.
    let string = |i: usize| -> Option<(&str, usize)> {
        let start = expect(i, b'"')?;
        let end = start + plain_string_len(bytes.get(start..)?)?;
        Some((text.get(start..end)?, end + 1))
    };
    let i = skip_ws(expect(0, b'[')?);
    let call = match bytes.get(i)? {
        b'2' => true,
        b'3' => false,
        _ => return None,
    };
    let (message_id, i) = string(expect(i + 1, b',')?)?;
    // At most as many characters as bytes: count only when that matters.
    if message_id.is_empty()
        || (message_id.len() > MAX_MESSAGE_ID_CHARS
            && message_id.chars().count() > MAX_MESSAGE_ID_CHARS)
    {
        return None;
    }
    let i = expect(i, b',')?;
    if !call {
        return Some((Envelope::CallResult { message_id }, i));
    }
    let (action, i) = string(i)?;
    let i = expect(i, b',')?;
    Some((Envelope::Call { message_id, action }, i))
}

/// The message type number (one digit) and the message id at the start of a frame's `text`,
/// read in place as [`Envelope::peek`] reads them, for any message type: what a frame that is
/// refused unread (see [`crate::limits`]) is answered with.
pub(crate) fn head(text: &str) -> Option<(u8, &str)> {
    let bytes = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
            i += 1;
        }
        i
    };
    let expect =
        |i: usize, byte: u8| (bytes.get(skip_ws(i)) == Some(&byte)).then(|| skip_ws(i) + 1);
    let i = skip_ws(expect(0, b'[')?);
    let digit = *bytes.get(i).filter(|b| b.is_ascii_digit())? - b'0';
    let start = expect(expect(i + 1, b',')?, b'"')?;
    let end = start + plain_string_len(bytes.get(start..)?)?;
    let id = text.get(start..end)?;
    (!id.is_empty() && id.chars().count() <= MAX_MESSAGE_ID_CHARS).then_some((digit, id))
}

/// Whether `text` is JSON that [`Frame::parse`] can read (strings decoded, so a lone
/// surrogate escape is refused; numbers within a double; nesting within the parser's limit),
/// checked without keeping anything.
pub(crate) fn is_json(text: &str) -> bool {
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

    struct Discard;
    impl<'de> Deserialize<'de> for Discard {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Discard)
        }
    }
    impl<'de> Visitor<'de> for Discard {
        type Value = Discard;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_str<E>(self, _: &str) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_unit<E>(self) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Discard, A::Error> {
            while seq.next_element::<Discard>()?.is_some() {}
            Ok(Discard)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Discard, A::Error> {
            while map.next_key::<Discard>()?.is_some() {
                map.next_value::<Discard>()?;
            }
            Ok(Discard)
        }
    }
    serde_json::from_str::<Discard>(text).is_ok()
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
    fn peek_reads_plain_envelopes_only() {
        assert_eq!(
            Envelope::peek(r#" [ 2 , "a-1" , "Heartbeat" , {}]"#),
            Some(Envelope::Call {
                message_id: "a-1",
                action: "Heartbeat"
            })
        );
        assert_eq!(
            Envelope::peek(r#"[3,"a",{}]"#),
            Some(Envelope::CallResult { message_id: "a" })
        );
        for text in [
            r#"[2.0,"a","Heartbeat",{}]"#,
            r#"[20,"a","Heartbeat",{}]"#,
            r#"[4,"a","NotSupported","",{}]"#,
            r#"[2,"a\u0062","Heartbeat",{}]"#,
            r#"[2,"","Heartbeat",{}]"#,
            r#"[2,"a",5,{}]"#,
            "[2,\"a\tb\",\"Heartbeat\",{}]",
        ] {
            assert_eq!(Envelope::peek(text), None, "{text}");
        }
        let long = format!(r#"[2,"{}","Heartbeat",{{}}]"#, "é".repeat(37));
        assert_eq!(Envelope::peek(&long), None);
    }

    #[test]
    fn plain_strings_end_at_the_first_quote_unless_escaped_or_controlled() {
        for (text, expected) in [
            ("\"", Some(0)),
            ("abc\"", Some(3)),
            ("abcdefgh\"", Some(8)),
            ("abcdefghijklmnopq\"rest", Some(17)),
            ("abcdefg\\\"", None),
            ("abc\tdefgh\"", None),
            ("abcdefghij", None),
            ("é€😀\"", Some(9)),
            ("\u{7f}\u{80}\u{ff}abcdef\"", Some(11)),
        ] {
            assert_eq!(plain_string_len(text.as_bytes()), expected, "{text:?}");
        }
        // Every position of the stop byte in a word, after every prefix length.
        for n in 0..20 {
            for stop in [b'"', b'\\', b'\n', 0] {
                let mut bytes = vec![b'x'; n];
                bytes.push(stop);
                bytes.extend_from_slice(b"yy\"");
                let expected = (stop == b'"').then_some(n);
                assert_eq!(plain_string_len(&bytes), expected, "{n} {stop}");
            }
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
