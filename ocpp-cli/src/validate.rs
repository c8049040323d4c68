//! The verdict on each frame of one stream of OCPP-J frames.
//!
//! A [`Validator`] holds the state of one stream (one input file): the CALLs still awaiting an
//! answer, so that a CALLRESULT can be validated against the response schema of the action its
//! CALL named. Feed it the stream's non-blank lines in order with [`Validator::check_line`] (and
//! [`Validator::check_too_long`] for a line the reader refused to hold); each call returns the
//! [`Verdict`] on that line.
//!
//! Every verdict is the runtime's: the validator asks the pure functions of
//! [`ocpp_messages::rpc`] that the dispatcher of `ocpp-messages` asks before it serves a
//! message, and keeps no table of its own. It does not know who sent a frame, so the direction
//! of an action is not checked. What is checked, and with which error code a problem is
//! reported:
//!
//! | frame | check | errorCode when it fails | asked of |
//! |---|---|---|---|
//! | any line | UTF-8, at most [`crate::lines::MAX_LINE_BYTES`] | `RpcFrameworkError` (2.x) / `FormationViolation` (1.6) | [`check_utf8`], [`unreadable_frame`] |
//! | any line | JSON, OCPP-J frame shape | `RpcFrameworkError` (2.x) / `FormationViolation` (1.6) | [`check_frame_error`] |
//! | any line | a message type number the version defines (5 and 6 exist only in 2.1) | 2.0.1: `MessageTypeNotSupported`; 1.6 and 2.1 ignore the frame: none (`null`), reported as `ignored: unknown message type` | [`check_frame_error`] |
//! | CALL | the action is one of the version's | `NotImplemented` | [`check_call_action`] |
//! | CALL | the action is not a SEND-only action (2.1) | `NotSupported` | [`check_call_action`] |
//! | CALL | the payload satisfies the request schema | [`OcppVersion::error_code_for`] | [`check_request`] |
//! | CALLRESULT | an earlier CALL of the stream has the same message id and is unanswered | none (`null`): no CALLERROR answers a CALLRESULT | |
//! | CALLRESULT | that CALL was not rejected for its action | that CALL's code (`NotImplemented`, `NotSupported`) | |
//! | CALLRESULT | the payload satisfies the response schema | [`OcppVersion::error_code_for`] | [`check_response`] |
//! | CALLERROR | the error code is one the version accepts: its own, or `MessageTypeNotSupported` (accepted in every version) | as for a malformed frame: `RpcFrameworkError` (2.x) / `FormationViolation` (1.6) | [`check_error_code`] |
//! | SEND (2.1, type 6) | the action is one of the version's SEND actions | `NotImplemented` (unknown) / `NotSupported` (a CALL action) | [`check_send_action`] |
//! | SEND (2.1, type 6) | the payload satisfies the SEND action's schema; nothing awaits an answer | [`OcppVersion::error_code_for`] | [`check_request`] |
//! | CALLRESULTERROR (2.1, type 5) | the error code is one the version accepts | as for a CALLERROR | [`check_error_code`] |
//!
//! A frame the runtime would ignore (a message type number 1.6 or 2.1 does not define) is
//! still a finding: it is invalid, with no error code, since nothing would answer it.
//!
//! A payload's violations are listed with those of the class that decides the error code first
//! (in the order of [`ocpp_messages::validate::ViolationClass`]), each class in document order,
//! so the first error always explains the error code.
//!
//! A payload that satisfies its schema is also decoded into its typed Rust value and encoded back
//! (the `reencode_*` functions of [`FeatureInfo`], in [`Mode::Strict`]); in the rare case the
//! typed value cannot hold it (an integer beyond 64 bits) the frame is invalid with the
//! decoder's error code (`GenericError`), exactly as this crate's dispatcher would answer it.
//!
//! A CALLERROR need not answer an earlier CALL (one answering an unreadable frame has message
//! id `-1`), but when it does, that CALL is answered and its action is reported. A CALL whose
//! action or payload is rejected still awaits its answer, and a CALL reusing the message id of
//! an unanswered one replaces it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ocpp_messages::frame::{Envelope, Frame, FrameError};
use ocpp_messages::rpc::{
    check_call_action, check_error_code, check_frame_error, check_request, check_response,
    check_send_action, check_utf8, unreadable_frame, FrameVerdict, Ignored, InvalidPayload,
};
use ocpp_messages::{CallError, ErrorCode, FeatureInfo, Mode, OcppVersion};
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

    /// The frame is rejected with `error`, a problem with the frame rather than its payload.
    fn rejected(message_id: Option<String>, action: Option<String>, error: CallError) -> Self {
        Verdict::invalid(
            message_id,
            action,
            Some(error.code),
            Problem::frame(error.description),
        )
    }

    fn valid(message_id: String, action: Option<String>) -> Self {
        Verdict {
            message_id: Some(message_id),
            action,
            error_code: None,
            errors: Vec::new(),
            payload: None,
        }
    }
}

/// The action of an unanswered CALL.
#[derive(Debug, Clone)]
enum Action {
    /// One the version defines, as a CALL.
    Known(&'static FeatureInfo),
    /// One the runtime rejects (unknown, or a SEND action): its name, cut to
    /// [`MAX_REMEMBERED_ACTION_CHARS`], and the CALL's error code and problem.
    Rejected {
        name: Box<str>,
        code: ErrorCode,
        problem: Box<str>,
    },
}

impl Action {
    fn name(&self) -> &str {
        match self {
            Action::Known(feature) => feature.name,
            Action::Rejected { name, .. } => name,
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
        match check_utf8(self.version, line) {
            Ok(text) => self.check_text(text),
            Err(error) => Verdict::rejected(None, None, error),
        }
    }

    /// The verdict on a line longer than `limit` bytes, which was not read.
    pub fn check_too_long(&mut self, limit: usize) -> Verdict {
        let error = unreadable_frame(
            self.version,
            format!("frame too long: more than {limit} bytes"),
        );
        Verdict::rejected(None, None, error)
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
            Ok(Frame::CallError { message_id, error }) => {
                self.check_call_error(message_id, &error.code)
            }
            Ok(Frame::Send {
                message_id,
                action,
                payload,
            }) => self.check_send(message_id, action, payload),
            // A CALLRESULTERROR answers a CALLRESULT: the CALL it was for is answered already.
            Ok(Frame::CallResultError { message_id, error }) => {
                self.check_error_code(message_id, None, &error.code)
            }
        }
    }

    /// The verdict on a valid CALL or CALLRESULT, read in one pass from the text; `None` when
    /// the frame is not plainly valid, for the full check to decide (and report).
    fn check_fast(&mut self, text: &str) -> Option<Verdict> {
        let version = self.version;
        match Envelope::peek(text)? {
            Envelope::Call { message_id, action } => {
                let feature =
                    check_call_action(version, version.feature(action), action, None).ok()?;
                if !(feature.call_is_valid)(text) {
                    return None;
                }
                self.pending
                    .insert(message_id.to_owned(), Action::Known(feature));
                Some(Verdict::valid(
                    message_id.to_owned(),
                    Some(action.to_owned()),
                ))
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
                Some(Verdict::valid(
                    message_id.to_owned(),
                    Some(feature.name.to_owned()),
                ))
            }
        }
    }

    /// A text that is not a frame of the version: rejected as the runtime rejects it, or, when
    /// the runtime ignores it, a finding without an error code.
    fn frame_error(&self, e: FrameError) -> Verdict {
        match check_frame_error(self.version, &e) {
            FrameVerdict::Rejected(error) => Verdict::rejected(e.message_id, None, error),
            FrameVerdict::Ignored(ignored) => {
                let what = match ignored {
                    Ignored::UnknownMessageType { .. } => "unknown message type",
                    _ => "frame",
                };
                let problem = Problem::frame(format!("ignored: {what}: {}", e.description));
                Verdict::invalid(e.message_id, None, None, problem)
            }
            // Any other verdict the runtime may come to: still a problem with the frame.
            _ => Verdict::invalid(e.message_id, None, None, Problem::frame(e.description)),
        }
    }

    /// A problem with a frame's action, as the runtime describes it, for this version.
    fn action_problem(&self, error: &CallError) -> String {
        format!("{} for OCPP {}", error.description, self.version)
    }

    fn check_call(&mut self, message_id: String, action: String, payload: Value) -> Verdict {
        let version = self.version;
        let feature = match check_call_action(version, version.feature(&action), &action, None) {
            Ok(feature) => feature,
            Err(error) => {
                let problem = self.action_problem(&error);
                // Its answer is reported with the same verdict.
                self.pending.insert(
                    message_id.clone(),
                    Action::Rejected {
                        name: remembered_name(&action),
                        code: error.code,
                        problem: problem.as_str().into(),
                    },
                );
                return Verdict::invalid(
                    Some(message_id),
                    Some(action),
                    Some(error.code),
                    Problem::frame(problem),
                );
            }
        };
        self.pending
            .insert(message_id.clone(), Action::Known(feature));
        let checked = check_request(version, feature, &payload);
        self.payload_verdict(
            message_id,
            action,
            payload,
            checked,
            feature.reencode_request,
        )
    }

    /// A SEND (OCPP 2.1, message type 6): its payload against the SEND action's schema; it is
    /// never answered, so nothing is remembered.
    fn check_send(&mut self, message_id: String, action: String, payload: Value) -> Verdict {
        let version = self.version;
        match check_send_action(version, version.feature(&action), &action, None) {
            Ok(feature) => {
                let checked = check_request(version, feature, &payload);
                self.payload_verdict(
                    message_id,
                    action,
                    payload,
                    checked,
                    feature.reencode_request,
                )
            }
            Err(error) => {
                let problem = Problem::frame(self.action_problem(&error));
                Verdict::invalid(Some(message_id), Some(action), Some(error.code), problem)
            }
        }
    }

    fn check_call_result(&mut self, message_id: String, payload: Value) -> Verdict {
        match self.pending.take(&message_id) {
            None => {
                let problem = Problem::frame(format!(
                    "no earlier unanswered CALL with message id {} in this input",
                    quoted(&message_id)
                ));
                Verdict::invalid(Some(message_id), None, None, problem)
            }
            Some(Action::Rejected {
                name,
                code,
                problem,
            }) => {
                let problem = Problem::frame(format!("answers a rejected CALL: {problem}"));
                Verdict::invalid(Some(message_id), Some(name.into()), Some(code), problem)
            }
            Some(Action::Known(feature)) => {
                let checked = check_response(self.version, feature, &payload);
                self.payload_verdict(
                    message_id,
                    feature.name.to_owned(),
                    payload,
                    checked,
                    feature.reencode_response,
                )
            }
        }
    }

    fn check_call_error(&mut self, message_id: String, error_code: &str) -> Verdict {
        let action = self.pending.take(&message_id).map(|a| a.name().to_owned());
        self.check_error_code(message_id, action, error_code)
    }

    /// A CALLERROR's or CALLRESULTERROR's code must be one the version accepts.
    fn check_error_code(
        &self,
        message_id: String,
        action: Option<String>,
        error_code: &str,
    ) -> Verdict {
        match check_error_code(self.version, error_code) {
            Ok(()) => Verdict::valid(message_id, action),
            Err(error) => Verdict::rejected(Some(message_id), action, error),
        }
    }

    /// The verdict on a payload the runtime checked (`checked`): its violations, the deciding
    /// ones first; or, when it is valid, its typed round trip.
    fn payload_verdict(
        &self,
        message_id: String,
        action: String,
        payload: Value,
        checked: Result<(), InvalidPayload>,
        reencode: fn(Value, Mode) -> Result<Value, CallError>,
    ) -> Verdict {
        if let Err(invalid) = checked {
            let mut violations = invalid.violations;
            // The violations that decide the error code first, each class in document order.
            violations.sort_by_key(|v| v.kind.class());
            return Verdict {
                message_id: Some(message_id),
                action: Some(action),
                error_code: Some(invalid.error.code),
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
        match reencode(payload, Mode::Strict) {
            Ok(typed) => Verdict {
                payload: Some(typed),
                ..Verdict::valid(message_id, Some(action))
            },
            Err(e) => Verdict::rejected(Some(message_id), Some(action), e),
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
    fn unknown_message_types_are_ignored_by_1_6_and_2_1_and_answered_by_2_0_1() {
        for version in [OcppVersion::V1_6, OcppVersion::V2_1] {
            let mut v = Validator::new(version);
            for text in [r#"[7,"1",{}]"#, r#"[0,"1","Heartbeat",{}]"#] {
                let verdict = v.check_text(text);
                assert!(!verdict.is_valid(), "{version} {text}");
                assert_eq!(verdict.message_id.as_deref(), Some("1"));
                assert_eq!(verdict.error_code, None, "{version} {text}");
                assert!(
                    verdict.errors[0]
                        .message
                        .starts_with("ignored: unknown message type: "),
                    "{verdict:?}"
                );
            }
        }
        // Types 5 and 6 are 2.1's: unknown, and so ignored, in 1.6.
        let verdict =
            Validator::new(OcppVersion::V1_6).check_text(r#"[5,"1","GenericError","",{}]"#);
        assert_eq!((verdict.is_valid(), verdict.error_code), (false, None));
        let verdict = v201().check_text(r#"[7,"1",{}]"#);
        assert_eq!(verdict.error_code, Some(ErrorCode::MessageTypeNotSupported));
        assert!(!verdict.errors[0].message.starts_with("ignored"));
    }

    #[test]
    fn message_type_not_supported_is_accepted_in_every_version() {
        for &version in OcppVersion::ALL {
            let mut v = Validator::new(version);
            v.check_text(r#"[2,"1","Heartbeat",{}]"#);
            let verdict = v.check_text(r#"[4,"1","MessageTypeNotSupported","",{}]"#);
            assert!(verdict.is_valid(), "{version}: {verdict:?}");
            assert_eq!(verdict.action.as_deref(), Some("Heartbeat"));
        }
        let verdict = Validator::new(OcppVersion::V2_1)
            .check_text(r#"[5,"2","MessageTypeNotSupported","",{}]"#);
        assert!(verdict.is_valid(), "{verdict:?}");
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
    fn a_call_of_a_send_action_is_rejected_and_so_is_its_result() {
        let mut v = Validator::new(OcppVersion::V2_1);
        let call = v.check_text(r#"[2,"1","NotifyPeriodicEventStream",{}]"#);
        assert_eq!(call.error_code, Some(ErrorCode::NotSupported));
        assert_eq!(
            call.errors[0].message,
            "NotifyPeriodicEventStream is a SEND (message type 6), never a CALL for OCPP 2.1"
        );
        let result = v.check_text(r#"[3,"1",{}]"#);
        assert_eq!(result.error_code, Some(ErrorCode::NotSupported));
        assert_eq!(result.action.as_deref(), Some("NotifyPeriodicEventStream"));
        assert!(result.errors[0]
            .message
            .starts_with("answers a rejected CALL: NotifyPeriodicEventStream is a SEND"));
        assert_eq!(v.pending_calls(), 0);
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
