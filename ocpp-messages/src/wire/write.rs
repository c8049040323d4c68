//! The frame writer: every frame this crate writes goes through these functions, so the
//! OCPP-J layout is written once.
//!
//! Payloads are given as JSON text (the encoder's output, or a value's `to_string()`); message
//! ids, actions, codes and descriptions are written as JSON strings, escaped where they need it.

use serde_json::{Map, Value};

use crate::spec::CallError;

/// The message type number of a CALL.
pub const CALL: u8 = 2;
/// The message type number of a CALLRESULT.
pub const CALL_RESULT: u8 = 3;
/// The message type number of a CALLERROR.
pub const CALL_ERROR: u8 = 4;
/// The message type number of a CALLRESULTERROR (OCPP 2.1).
pub const CALL_RESULT_ERROR: u8 = 5;
/// The message type number of a SEND (OCPP 2.1).
pub const SEND: u8 = 6;

/// Appends `text` as a JSON string: verbatim between quotes when it needs no escape (message ids
/// read by the scanner never do), else escaped by serde_json.
fn push_string(out: &mut String, text: &str) {
    if text.bytes().all(|b| b != b'"' && b != b'\\' && b >= 0x20) {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&Value::from(text).to_string());
    }
}

/// `[type, "message_id", ` with room for `rest` more bytes.
fn head(message_type: u8, message_id: &str, rest: usize) -> String {
    let mut out = String::with_capacity(message_id.len() + rest + 8);
    out.push('[');
    out.push(char::from(b'0' + message_type));
    out.push(',');
    push_string(&mut out, message_id);
    out.push(',');
    out
}

fn request(message_type: u8, message_id: &str, action: &str, payload: &str) -> String {
    let mut out = head(message_type, message_id, action.len() + payload.len() + 4);
    push_string(&mut out, action);
    out.push(',');
    out.push_str(payload);
    out.push(']');
    out
}

/// The CALL `[2, message_id, action, payload]`, `payload` being JSON text.
pub fn call(message_id: &str, action: &str, payload: &str) -> String {
    request(CALL, message_id, action, payload)
}

/// The SEND `[6, message_id, action, payload]` (OCPP 2.1), `payload` being JSON text.
pub fn send(message_id: &str, action: &str, payload: &str) -> String {
    request(SEND, message_id, action, payload)
}

/// The CALLRESULT `[3, message_id, payload]`, `payload` being JSON text.
pub fn call_result(message_id: &str, payload: &str) -> String {
    let mut out = head(CALL_RESULT, message_id, payload.len() + 1);
    out.push_str(payload);
    out.push(']');
    out
}

/// [`call_result`] for a message id known to need no escape (one the scanner read in place:
/// JSON string text without a quote, a backslash or a control character), written verbatim.
pub fn call_result_verbatim(message_id: &str, payload: &str) -> String {
    debug_assert!(message_id
        .bytes()
        .all(|b| b != b'"' && b != b'\\' && b >= 0x20));
    let mut out = String::with_capacity(message_id.len() + payload.len() + 8);
    out.push_str("[3,\"");
    out.push_str(message_id);
    out.push_str("\",");
    out.push_str(payload);
    out.push(']');
    out
}

/// The CALLERROR (`message_type` 4) or CALLRESULTERROR (5) `[type, message_id, code,
/// description, details]`, with the code and description as given.
pub fn error_frame(
    message_type: u8,
    message_id: &str,
    code: &str,
    description: &str,
    details: &Map<String, Value>,
) -> String {
    let mut out = head(message_type, message_id, code.len() + description.len() + 8);
    push_string(&mut out, code);
    out.push(',');
    push_string(&mut out, description);
    out.push(',');
    if details.is_empty() {
        out.push_str("{}");
    } else {
        out.push_str(&Value::Object(details.clone()).to_string());
    }
    out.push(']');
    out
}

impl CallError {
    /// The CALLERROR frame `[4, message_id, code, description, details]` as JSON text, the
    /// description cut to [`crate::MAX_DESCRIPTION_CHARS`] characters.
    pub fn to_frame(&self, message_id: &str) -> String {
        self.frame_of_type(CALL_ERROR, message_id)
    }

    /// The OCPP 2.1 CALLRESULTERROR frame `[5, message_id, code, description, details]` as
    /// JSON text: the answer to a CALLRESULT that is invalid, with that CALLRESULT's id.
    pub fn to_result_error_frame(&self, message_id: &str) -> String {
        self.frame_of_type(CALL_RESULT_ERROR, message_id)
    }

    fn frame_of_type(&self, message_type: u8, message_id: &str) -> String {
        error_frame(
            message_type,
            message_id,
            self.code.as_str(),
            self.wire_description(),
            &self.details,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer writes what serde_json writes for the same array.
    #[test]
    fn frames_are_the_json_arrays_they_stand_for() {
        let details: Map<String, Value> = serde_json::from_str(r#"{"a":[1,"\n"]}"#).unwrap();
        let cases = [
            (
                call("1", "Heartbeat", "{}"),
                serde_json::json!([2, "1", "Heartbeat", {}]),
            ),
            (
                send("a\"b", "X\\", "[1]"),
                serde_json::json!([6, "a\"b", "X\\", [1]]),
            ),
            (
                call_result("é\u{1}", "{\"k\":null}"),
                serde_json::json!([3, "é\u{1}", {"k": null}]),
            ),
            (
                call_result_verbatim("a-1", "{}"),
                serde_json::json!([3, "a-1", {}]),
            ),
            (
                error_frame(CALL_ERROR, "7", "NotSupported", "tab\there", &details),
                serde_json::json!([4, "7", "NotSupported", "tab\there", {"a": [1, "\n"]}]),
            ),
            (
                error_frame(CALL_RESULT_ERROR, "7", "X", "", &Map::new()),
                serde_json::json!([5, "7", "X", "", {}]),
            ),
        ];
        for (written, expected) in cases {
            assert_eq!(written, expected.to_string());
        }
    }
}
