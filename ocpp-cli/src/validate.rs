//! The verdict on each frame of one stream of OCPP-J frames.
//!
//! A [`Validator`] holds the state of one stream (one input file): the CALLs still awaiting an
//! answer, so that a CALLRESULT can be validated against the response schema of the action its
//! CALL named. Feed it the stream's non-blank lines in order with [`Validator::check_line`] (and
//! [`Validator::check_too_long`] for a line the reader refused to hold); each call returns the
//! [`Verdict`] on that line.
//!
//! What is checked, and with which error code a problem is reported:
//!
//! | frame | check | errorCode when it fails |
//! |---|---|---|
//! | any line | UTF-8, JSON, OCPP-J frame shape, at most [`crate::lines::MAX_LINE_BYTES`] | `version.error_code(situation)`: `RpcFrameworkError` (2.x) / `FormationViolation` (1.6); `MessageTypeNotSupported` / `GenericError` for an unknown message type number |
//! | CALL | the action is one of the version's | `NotImplemented` |
//! | CALL | the payload satisfies the request schema | [`OcppVersion::error_code_for`] |
//! | CALLRESULT | an earlier CALL of the stream has the same message id and is unanswered | none (`null`): no CALLERROR answers a CALLRESULT |
//! | CALLRESULT | that CALL's action is one of the version's | `NotImplemented` |
//! | CALLRESULT | the payload satisfies the response schema | [`OcppVersion::error_code_for`] |
//! | CALLERROR | the error code is one the version defines | as for a malformed frame: `RpcFrameworkError` (2.x) / `FormationViolation` (1.6) |
//! | CALL | the action is not a SEND-only action (2.1) | `NotSupported` |
//! | SEND (2.1, type 6) | the action is one of the version's SEND actions | `NotImplemented` (unknown) / `NotSupported` (a CALL action) |
//! | SEND (2.1, type 6) | the payload satisfies the SEND action's schema; nothing awaits an answer | [`OcppVersion::error_code_for`] |
//! | CALLRESULTERROR (2.1, type 5) | the error code is one the version defines | as for a CALLERROR |
//!
//! Message types 5 and 6 exist only in OCPP 2.1; under 1.6 and 2.0.1 they are unknown message
//! types.
//!
//! A payload's violations are listed with those of the class that decides the error code first
//! (in the order of [`ocpp_messages::validate::ViolationClass`]), each class in document order,
//! so the first error always explains the error code.
//!
//! A payload that satisfies its schema is also decoded into its typed Rust value and encoded back
//! (the `reencode_*` functions of [`FeatureInfo`]); in the rare case the typed value cannot hold
//! it (an integer beyond 64 bits) the frame is invalid with the decoder's error code
//! (`GenericError`), exactly as this crate's dispatcher would answer it.
//!
//! A CALLERROR need not answer an earlier CALL (one answering an unreadable frame has message
//! id `-1`), but when it does, that CALL is answered and its action is reported. A CALL whose
//! payload is invalid still awaits its answer, and a CALL reusing the message id of an
//! unanswered one replaces it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ocpp_messages::frame::{Envelope, Frame, FrameError};
use ocpp_messages::validate::validate;
use ocpp_messages::{CallError, ErrorCode, FeatureInfo, OcppVersion, Situation};
use serde_json::Value;

/// How many unanswered CALLs a [`Validator`] remembers by default; beyond that the oldest is
/// forgotten (and a CALLRESULT answering it is reported as unmatched).
pub const DEFAULT_MAX_PENDING: usize = 100_000;

/// The longest action name kept for an unanswered CALL whose action is unknown, in characters;
/// a longer one is cut and ends with `…` when its CALLRESULT reports it.
pub const MAX_REMEMBERED_ACTION_CHARS: usize = 128;

/// One thing wrong with a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer (RFC 6901) into the payload for a schema violation (`""` is the payload
    /// itself); `None` for a problem with the frame rather than its payload.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn frame(message: impl Into<String>) -> Self {
        Problem {
            path: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) if path.is_empty() => write!(f, "/: {}", self.message),
            Some(path) => write!(f, "{path}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The verdict on one frame (one non-blank input line).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The frame's message id; `None` when it could not be read.
    pub message_id: Option<String>,
    /// The action: a CALL's own, or that of the CALL a CALLRESULT or CALLERROR answers.
    pub action: Option<String>,
    /// The OCPP-J error code a receiver would answer an invalid frame with; `None` for a valid
    /// frame and for an invalid one no CALLERROR answers (an unmatched CALLRESULT).
    pub error_code: Option<ErrorCode>,
    /// Everything wrong with the frame, in order; empty when it is valid.
    pub errors: Vec<Problem>,
    /// For a valid CALL or CALLRESULT: its payload decoded into the typed Rust value and encoded
    /// back to JSON.
    pub payload: Option<Value>,
}

impl Verdict {
    /// Whether the frame is valid.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    fn invalid(
        message_id: Option<String>,
        action: Option<String>,
        error_code: Option<ErrorCode>,
        problem: Problem,
    ) -> Self {
        Verdict {
            message_id,
            action,
            error_code,
            errors: vec![problem],
            payload: None,
        }
    }
}

/// The action of an unanswered CALL.
#[derive(Debug, Clone)]
enum Action {
    /// One the version defines.
    Known(&'static FeatureInfo),
    /// One it does not (its name, cut to [`MAX_REMEMBERED_ACTION_CHARS`]).
    Unknown(Box<str>),
}

impl Action {
    fn name(&self) -> &str {
        match self {
            Action::Known(feature) => feature.name,
            Action::Unknown(name) => name,
        }
    }
}

/// The unanswered CALLs of a stream, by message id, forgetting the oldest beyond a bound.
#[derive(Debug)]
struct Pending {
    by_id: HashMap<String, (u64, Action)>,
    by_age: BTreeMap<u64, String>,
    next: u64,
    max: usize,
}

impl Pending {
    fn new(max: usize) -> Self {
        Pending {
            by_id: HashMap::new(),
            by_age: BTreeMap::new(),
            next: 0,
            max,
        }
    }

    fn insert(&mut self, message_id: String, action: Action) {
        let seq = self.next;
        self.next += 1;
        if let Some((old, _)) = self.by_id.insert(message_id.clone(), (seq, action)) {
            self.by_age.remove(&old);
        }
        self.by_age.insert(seq, message_id);
        while self.by_id.len() > self.max {
            match self.by_age.pop_first() {
                Some((_, oldest)) => {
                    self.by_id.remove(&oldest);
                }
                None => break,
            }
        }
    }

    fn get(&self, message_id: &str) -> Option<&Action> {
        self.by_id.get(message_id).map(|(_, action)| action)
    }

    fn take(&mut self, message_id: &str) -> Option<Action> {
        let (seq, action) = self.by_id.remove(message_id)?;
        self.by_age.remove(&seq);
        Some(action)
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// Validates the frames of one stream, remembering its unanswered CALLs.
#[derive(Debug)]
pub struct Validator {
    version: OcppVersion,
    pending: Pending,
    reencode: bool,
}

impl Validator {
    /// A validator for `version` that remembers up to [`DEFAULT_MAX_PENDING`] unanswered CALLs.
    pub fn new(version: OcppVersion) -> Self {
        Validator::with_max_pending(version, DEFAULT_MAX_PENDING)
    }

    /// A validator for `version` that remembers up to `max_pending` unanswered CALLs.
    pub fn with_max_pending(version: OcppVersion, max_pending: usize) -> Self {
        Validator {
            version,
            pending: Pending::new(max_pending),
            reencode: true,
        }
    }

    /// Whether verdicts on valid CALLs and CALLRESULTs carry the typed round trip of the
    /// payload ([`Verdict::payload`]); on by default. Off, valid frames are checked in one
    /// pass from text to the typed value, without building a JSON tree.
    #[must_use]
    pub fn reencoding(mut self, on: bool) -> Self {
        self.reencode = on;
        self
    }

    /// The version frames are validated against.
    pub fn version(&self) -> OcppVersion {
        self.version
    }

    /// How many CALLs are remembered as awaiting an answer.
    pub fn pending_calls(&self) -> usize {
        self.pending.len()
    }

    /// The verdict on one line of input (without its line ending), which may not be UTF-8.
    pub fn check_line(&mut self, line: &[u8]) -> Verdict {
        match std::str::from_utf8(line) {
            Ok(text) => self.check_text(text),
            Err(e) => Verdict::invalid(
                None,
                None,
                Some(self.version.error_code(Situation::UnreadableFrame)),
                Problem::frame(format!(
                    "frame is not valid UTF-8 (invalid byte at offset {})",
                    e.valid_up_to()
                )),
            ),
        }
    }

    /// The verdict on a line longer than `limit` bytes, which was not read.
    pub fn check_too_long(&mut self, limit: usize) -> Verdict {
        Verdict::invalid(
            None,
            None,
            Some(self.version.error_code(Situation::UnreadableFrame)),
            Problem::frame(format!("frame too long: more than {limit} bytes")),
        )
    }

    /// The verdict on one frame's text.
    pub fn check_text(&mut self, text: &str) -> Verdict {
        if !self.reencode {
            if let Some(verdict) = self.check_fast(text) {
                return verdict;
            }
        }
        match Frame::parse_for(self.version, text) {
            Err(e) => self.frame_error(e),
            Ok(Frame::Call {
                message_id,
                action,
                payload,
            }) => self.check_call(message_id, action, payload),
            Ok(Frame::CallResult {
                message_id,
                payload,
            }) => self.check_call_result(message_id, payload),
            Ok(Frame::CallError {
                message_id,
                error_code,
                ..
            }) => self.check_call_error(message_id, &error_code),
            Ok(Frame::Send {
                message_id,
                action,
                payload,
            }) => self.check_send(message_id, action, payload),
            // A CALLRESULTERROR answers a CALLRESULT: the CALL it was for is answered already.
            Ok(Frame::CallResultError {
                message_id,
                error_code,
                ..
            }) => self.check_error_code(message_id, None, &error_code),
        }
    }

    /// The verdict on a valid CALL or CALLRESULT, read in one pass from the text; `None` when
    /// the frame is not plainly valid, for the full check to decide (and report).
    fn check_fast(&mut self, text: &str) -> Option<Verdict> {
        let valid = |message_id: &str, action: &str| Verdict {
            message_id: Some(message_id.to_owned()),
            action: Some(action.to_owned()),
            error_code: None,
            errors: Vec::new(),
            payload: None,
        };
        match Envelope::peek(text)? {
            Envelope::Call { message_id, action } => {
                let feature = self.version.feature(action)?;
                if feature.send || !(feature.call_is_valid)(text) {
                    return None;
                }
                self.pending
                    .insert(message_id.to_owned(), Action::Known(feature));
                Some(valid(message_id, action))
            }
            Envelope::CallResult { message_id } => {
                let feature = match self.pending.get(message_id) {
                    Some(Action::Known(feature)) => *feature,
                    _ => return None,
                };
                if !(feature.result_is_valid)(text) {
                    return None;
                }
                self.pending.take(message_id);
                Some(valid(message_id, feature.name))
            }
        }
    }

    fn frame_error(&self, e: FrameError) -> Verdict {
        let message_id = e.message_id;
        Verdict::invalid(
            message_id,
            None,
            Some(self.version.error_code(e.situation)),
            Problem::frame(e.description),
        )
    }

    fn check_call(&mut self, message_id: String, action: String, payload: Value) -> Verdict {
        let version = self.version;
        let Some(feature) = version.feature(&action) else {
            self.pending.insert(
                message_id.clone(),
                Action::Unknown(remembered_name(&action)),
            );
            let problem = Problem::frame(format!(
                "unknown action {} for OCPP {version}",
                quoted(&action)
            ));
            return Verdict::invalid(
                Some(message_id),
                Some(action),
                Some(version.error_code(Situation::UnknownAction)),
                problem,
            );
        };
        if feature.send {
            let problem = Problem::frame(format!(
                "{} is a SEND (message type 6) in OCPP {version}, never a CALL",
                quoted(&action)
            ));
            return Verdict::invalid(
                Some(message_id),
                Some(action),
                Some(version.error_code(Situation::UnsupportedAction)),
                problem,
            );
        }
        self.pending
            .insert(message_id.clone(), Action::Known(feature));
        self.payload_verdict(
            message_id,
            action,
            payload,
            feature.request,
            feature.reencode_request,
        )
    }

    /// A SEND (OCPP 2.1, message type 6): its payload against the SEND action's schema; it is
    /// never answered, so nothing is remembered.
    fn check_send(&mut self, message_id: String, action: String, payload: Value) -> Verdict {
        let version = self.version;
        let (situation, what) = match version.feature(&action) {
            Some(feature) if feature.send => {
                return self.payload_verdict(
                    message_id,
                    action,
                    payload,
                    feature.request,
                    feature.reencode_request,
                )
            }
            Some(_) => (Situation::UnsupportedAction, "is a CALL, not a SEND,"),
            None => (Situation::UnknownAction, "is not an action of"),
        };
        let problem = Problem::frame(format!("{} {what} OCPP {version}", quoted(&action)));
        Verdict::invalid(
            Some(message_id),
            Some(action),
            Some(version.error_code(situation)),
            problem,
        )
    }

    fn check_call_result(&mut self, message_id: String, payload: Value) -> Verdict {
        let version = self.version;
        match self.pending.take(&message_id) {
            None => {
                let problem = Problem::frame(format!(
                    "no earlier unanswered CALL with message id {} in this input",
                    quoted(&message_id)
                ));
                Verdict::invalid(Some(message_id), None, None, problem)
            }
            Some(Action::Unknown(action)) => {
                let problem = Problem::frame(format!(
                    "answers a CALL of unknown action {} for OCPP {version}",
                    quoted(&action)
                ));
                Verdict::invalid(
                    Some(message_id),
                    Some(action.into()),
                    Some(version.error_code(Situation::UnknownAction)),
                    problem,
                )
            }
            Some(Action::Known(feature)) => self.payload_verdict(
                message_id,
                feature.name.to_owned(),
                payload,
                feature.response,
                feature.reencode_response,
            ),
        }
    }

    fn check_call_error(&mut self, message_id: String, error_code: &str) -> Verdict {
        let action = self.pending.take(&message_id).map(|a| a.name().to_owned());
        self.check_error_code(message_id, action, error_code)
    }

    /// A CALLERROR's or CALLRESULTERROR's code must be one the version defines.
    fn check_error_code(
        &self,
        message_id: String,
        action: Option<String>,
        error_code: &str,
    ) -> Verdict {
        let version = self.version;
        match error_code.parse::<ErrorCode>() {
            Ok(code) if version.defines_error_code(code) => Verdict {
                message_id: Some(message_id),
                action,
                error_code: None,
                errors: Vec::new(),
                payload: None,
            },
            _ => {
                let problem = Problem::frame(format!(
                    "error code {} is not an OCPP-J error code of OCPP {version}",
                    quoted(error_code)
                ));
                Verdict::invalid(
                    Some(message_id),
                    action,
                    Some(version.error_code(Situation::MalformedFrame)),
                    problem,
                )
            }
        }
    }

    fn payload_verdict(
        &self,
        message_id: String,
        action: String,
        payload: Value,
        schema: &'static ocpp_messages::validate::Schema,
        reencode: fn(Value) -> Result<Value, CallError>,
    ) -> Verdict {
        let mut violations = validate(schema, &payload);
        if let Some(code) = self.version.error_code_for(&violations) {
            // The violations that decide the error code first, each class in document order.
            violations.sort_by_key(|v| v.kind.class());
            return Verdict {
                message_id: Some(message_id),
                action: Some(action),
                error_code: Some(code),
                errors: violations
                    .into_iter()
                    .map(|v| Problem {
                        message: v.kind.to_string(),
                        path: Some(v.pointer),
                    })
                    .collect(),
                payload: None,
            };
        }
        match reencode(payload) {
            Ok(typed) => Verdict {
                message_id: Some(message_id),
                action: Some(action),
                error_code: None,
                errors: Vec::new(),
                payload: Some(typed),
            },
            Err(e) => Verdict::invalid(
                Some(message_id),
                Some(action),
                Some(e.code),
                Problem::frame(e.description),
            ),
        }
    }
}

/// `text` cut to [`MAX_REMEMBERED_ACTION_CHARS`] characters, ending with `…` when cut.
fn remembered_name(text: &str) -> Box<str> {
    match text.char_indices().nth(MAX_REMEMBERED_ACTION_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
    }
}

/// `text` quoted and escaped for a message, cut to 64 characters.
fn quoted(text: &str) -> String {
    let shown: String = text.chars().take(64).collect();
    if shown.len() < text.len() {
        format!("{shown:?}…")
    } else {
        format!("{shown:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v201() -> Validator {
        Validator::new(OcppVersion::V2_0_1)
    }

    #[test]
    fn a_valid_call_and_its_result() {
        let mut v = v201();
        let call = v.check_text(r#"[2,"1","SignCertificate",{"csr":"abc"}]"#);
        assert!(call.is_valid(), "{call:?}");
        assert_eq!(call.action.as_deref(), Some("SignCertificate"));
        assert_eq!(call.payload, Some(serde_json::json!({"csr": "abc"})));
        assert_eq!(v.pending_calls(), 1);
        let result = v.check_text(r#"[3,"1",{"status":"Accepted"}]"#);
        assert!(result.is_valid(), "{result:?}");
        assert_eq!(result.action.as_deref(), Some("SignCertificate"));
        assert_eq!(v.pending_calls(), 0);
        // Answered once: a second answer is unmatched.
        let again = v.check_text(r#"[3,"1",{"status":"Accepted"}]"#);
        assert!(!again.is_valid());
        assert_eq!(again.error_code, None);
    }

    #[test]
    fn the_result_is_checked_against_the_response_schema() {
        let mut v = v201();
        v.check_text(r#"[2,"1","SignCertificate",{"csr":"abc"}]"#);
        let result = v.check_text(r#"[3,"1",{"status":"Maybe"}]"#);
        assert_eq!(
            result.error_code,
            Some(ErrorCode::PropertyConstraintViolation)
        );
        assert_eq!(result.errors[0].path.as_deref(), Some("/status"));
    }

    #[test]
    fn unreadable_ids_are_none_and_readable_minus_one_is_kept() {
        let mut v = v201();
        let bad = v.check_text("nope");
        assert_eq!(bad.message_id, None);
        assert_eq!(bad.error_code, Some(ErrorCode::RpcFrameworkError));
        let typed = v.check_text(r#"[9,"-1",{}]"#);
        assert_eq!(typed.message_id.as_deref(), Some("-1"));
        assert_eq!(typed.error_code, Some(ErrorCode::MessageTypeNotSupported));
    }

    #[test]
    fn non_utf8_is_a_verdict() {
        let verdict = v201().check_line(b"[2,\"1\",\"\xff\",{}]");
        assert_eq!(verdict.error_code, Some(ErrorCode::RpcFrameworkError));
        assert!(verdict.errors[0].message.contains("UTF-8"));
        let v16 = Validator::new(OcppVersion::V1_6).check_line(b"\xc3");
        assert_eq!(v16.error_code, Some(ErrorCode::FormationViolation));
    }

    #[test]
    fn call_errors_need_a_code_of_their_version() {
        let mut v = v201();
        v.check_text(r#"[2,"7","CertificateSigned",{"certificateChain":"x"}]"#);
        let ok = v.check_text(r#"[4,"7","SecurityError","no",{}]"#);
        assert!(ok.is_valid());
        assert_eq!(ok.action.as_deref(), Some("CertificateSigned"));
        assert_eq!(v.pending_calls(), 0);
        let unmatched = v.check_text(r#"[4,"-1","RpcFrameworkError","",{}]"#);
        assert!(unmatched.is_valid());
        let old = v.check_text(r#"[4,"8","FormationViolation","",{}]"#);
        assert_eq!(old.error_code, Some(ErrorCode::RpcFrameworkError));
        let mut v16 = Validator::new(OcppVersion::V1_6);
        assert!(v16
            .check_text(r#"[4,"8","FormationViolation","",{}]"#)
            .is_valid());
        assert!(!v16
            .check_text(r#"[4,"8","RpcFrameworkError","",{}]"#)
            .is_valid());
    }

    #[test]
    fn unknown_actions_are_remembered_for_their_results() {
        let mut v = v201();
        let call = v.check_text(r#"[2,"1","TeleportVehicle",{}]"#);
        assert_eq!(call.error_code, Some(ErrorCode::NotImplemented));
        let result = v.check_text(r#"[3,"1",{}]"#);
        assert_eq!(result.error_code, Some(ErrorCode::NotImplemented));
        assert_eq!(result.action.as_deref(), Some("TeleportVehicle"));
        let long = "A".repeat(1000);
        v.check_text(&format!(r#"[2,"2","{long}",{{}}]"#));
        let result = v.check_text(r#"[3,"2",{}]"#);
        let action = result.action.unwrap_or_default();
        assert_eq!(action.chars().count(), MAX_REMEMBERED_ACTION_CHARS + 1);
        assert!(action.ends_with('…'));
    }

    #[test]
    fn pending_calls_are_bounded_oldest_first() {
        let mut v = Validator::with_max_pending(OcppVersion::V2_0_1, 3);
        for id in 0..5 {
            v.check_text(&format!(r#"[2,"{id}","SignCertificate",{{"csr":"x"}}]"#));
        }
        assert_eq!(v.pending_calls(), 3);
        assert!(!v.check_text(r#"[3,"0",{"status":"Accepted"}]"#).is_valid());
        assert!(!v.check_text(r#"[3,"1",{"status":"Accepted"}]"#).is_valid());
        for id in 2..5 {
            let r = v.check_text(&format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#));
            assert!(r.is_valid(), "{id}: {r:?}");
        }
        assert_eq!(v.pending_calls(), 0);
    }

    #[test]
    fn a_reused_id_replaces_the_pending_call() {
        let mut v = Validator::with_max_pending(OcppVersion::V2_0_1, 2);
        v.check_text(r#"[2,"a","SignCertificate",{"csr":"x"}]"#);
        v.check_text(r#"[2,"b","SignCertificate",{"csr":"x"}]"#);
        v.check_text(r#"[2,"a","SecurityEventNotification",{"type":"t","timestamp":"2024-01-01T00:00:00Z"}]"#);
        assert_eq!(v.pending_calls(), 2);
        let r = v.check_text(r#"[3,"a",{}]"#);
        assert!(r.is_valid(), "{r:?}");
        assert_eq!(r.action.as_deref(), Some("SecurityEventNotification"));
        assert!(v.check_text(r#"[3,"b",{"status":"Rejected"}]"#).is_valid());
    }
}
