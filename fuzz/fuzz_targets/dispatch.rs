//! `Dispatcher::handle` and `Dispatcher::receive`, in both roles, for every version with a
//! generated recorder (every block's service registered).
//!
//! Input: a byte choosing the role (bit 0) and the version (the rest), then the frame. Never a
//! panic and never a wait; every CALL (and every unreadable text) gets one reply, a CALLRESULT
//! or a CALLERROR whose code the version defines, carrying the frame's id (or `-1` when it
//! cannot be read); answers are never replied to, and are matched to pending calls by id. The
//! same holds with a policy relaxing everything (which delivers at least what the strict
//! dispatcher delivers) and with tight limits.
#![no_main]

use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use ocpp_fuzz::{dispatchers, ready, version, Dispatchers};
use ocpp_messages::rpc::Received;
use ocpp_messages::frame::{Frame, FrameError};
use ocpp_messages::{ErrorCode, OcppVersion};

fn all() -> &'static [Dispatchers] {
    static ALL: OnceLock<Vec<Dispatchers>> = OnceLock::new();
    ALL.get_or_init(|| OcppVersion::ALL.iter().map(|v| dispatchers(*v)).collect())
}

/// Checks one reply to `text` (parsed as `parsed`) under `version`.
fn check_reply(
    version: OcppVersion,
    text: &str,
    parsed: &Result<Frame, FrameError>,
    reply: &Option<String>,
    exact_id: bool,
) {
    match (parsed, reply) {
        (Ok(Frame::CallResult { .. } | Frame::CallError { .. }), None) => {}
        // 2.1: a SEND or CALLRESULTERROR is never answered, not even a malformed one.
        (Ok(Frame::Send { .. } | Frame::CallResultError { .. }), None) => {}
        (Err(e), None) if !e.is_answered() => {}
        (Ok(Frame::Send { .. } | Frame::CallResultError { .. }), Some(reply)) => {
            panic!("{text}: a frame of type 5 or 6 was answered: {reply}")
        }
        (_, Some(reply)) => {
            assert!(reply.len() < 16 << 10, "a reply of {} bytes", reply.len());
            match Frame::parse(reply) {
                Ok(Frame::CallResult { message_id, .. }) => {
                    let Ok(frame) = parsed else {
                        panic!("{text} -> {reply}")
                    };
                    assert_eq!(message_id, frame.message_id(), "{reply}");
                }
                Ok(Frame::CallError {
                    message_id,
                    error_code,
                    ..
                }) => {
                    // The frame's own id, or -1 (a limit may refuse a readable frame unread).
                    let own = match parsed {
                        Ok(frame) => frame.message_id(),
                        Err(e) => e.answer_id(),
                    };
                    assert!(
                        message_id == own || (!exact_id && message_id == "-1"),
                        "{text} -> {reply}"
                    );
                    let code = ErrorCode::from_str(&error_code).expect("a known error code");
                    assert!(version.defines_error_code(code), "{reply}");
                }
                other => panic!("{reply} is not an answer: {other:?}"),
            }
        }
        // A limit refuses an answer unread, even one that would not parse: never replied to.
        (Err(_), None) if !exact_id && starts_as_answer(text) => {}
        (Ok(Frame::Call { .. }) | Err(_), None) => panic!("no reply to {text}"),
    }
}

/// Whether `text` starts like a CALLRESULT or CALLERROR: `[3,` or `[4,`, with whitespace.
fn starts_as_answer(text: &str) -> bool {
    let rest = text.trim_start_matches([' ', '\t', '\n', '\r']);
    let Some(rest) = rest.strip_prefix('[') else {
        return false;
    };
    let rest = rest.trim_start_matches([' ', '\t', '\n', '\r']);
    (rest.starts_with('3') || rest.starts_with('4'))
        && rest[1..]
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with(',')
}

/// Whether `reply` says the handler was reached (the recorder answers `GenericError` with the
/// action's name).
fn reached_handler(reply: &Option<String>) -> bool {
    match reply.as_deref().map(Frame::parse) {
        Some(Ok(Frame::CallError {
            error_code,
            description,
            ..
        })) => error_code == "GenericError" && !description.contains(' '),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let [selector, rest @ ..] = data else {
        return;
    };
    let version = version(selector >> 1);
    let Some(set) = all().get(usize::from(selector >> 1) % OcppVersion::ALL.len()) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let dispatcher = if selector & 1 == 0 {
        &set.csms
    } else {
        &set.station
    };
    let parsed = Frame::parse_for(version, text);
    let reply = ready(dispatcher.handle("CS-1", text));
    set.clear();
    check_reply(version, text, &parsed, &reply, true);
    let role = usize::from(selector & 1);
    for (name, dispatcher) in [("relaxed", &set.relaxed[role]), ("tight", &set.tight[role])] {
        let other = ready(dispatcher.handle("CS-A", text));
        set.clear();
        check_reply(version, text, &parsed, &other, name == "relaxed");
        if name == "relaxed" && reached_handler(&reply) {
            assert!(
                reached_handler(&other),
                "{text}: strict {reply:?}, relaxed {other:?}"
            );
        }
    }

    // The same frame through the receive loop, with calls "1" and "2" pending.
    let pending = Mutex::new(set.pending());
    let received = ready(dispatcher.receive("CS-1", text, &pending));
    set.clear();
    match (&parsed, received) {
        (Ok(Frame::CallResult { message_id, .. } | Frame::CallError { message_id, .. }), r) => {
            let known = message_id == "1" || message_id == "2";
            match r {
                Received::Answer(answer) => {
                    assert!(known && answer.message_id == *message_id);
                    assert_eq!(pending.lock().unwrap().len(), 1);
                }
                // 2.1: an invalid CALLRESULT to a pending call gets a CALLRESULTERROR.
                Received::RejectedAnswer { answer, reply } => {
                    assert!(known && answer.message_id == *message_id && answer.result.is_err());
                    assert!(version.has_call_result_error());
                    match Frame::parse_for(version, &reply) {
                        Ok(Frame::CallResultError { message_id: id, .. }) => {
                            assert_eq!(&id, message_id)
                        }
                        other => panic!("{reply} is not a CALLRESULTERROR: {other:?}"),
                    }
                }
                Received::NoReply(what) => panic!("{text}: an answer reported as {what:?}"),
                Received::Unmatched(u) => {
                    assert!(!known && u.message_id == *message_id);
                    assert_eq!(pending.lock().unwrap().len(), 2);
                }
                Received::Reply(reply) => panic!("{text}: an answer was replied to: {reply}"),
            }
        }
        (_, Received::Reply(_)) => assert_eq!(pending.lock().unwrap().len(), 2),
        (Ok(Frame::Send { .. } | Frame::CallResultError { .. }), Received::NoReply(_)) => {
            assert_eq!(pending.lock().unwrap().len(), 2)
        }
        (Err(e), Received::NoReply(_)) if !e.is_answered() => {}
        (_, other) => panic!("{text}: {other:?}"),
    }

    // And through the relaxed dispatcher's receive loop: answers still go to their calls.
    let pending = Mutex::new(set.pending());
    let received = ready(set.relaxed[role].receive("CS-A", text, &pending));
    set.clear();
    let left = pending.lock().unwrap().len();
    match (&parsed, received) {
        (Ok(Frame::CallResult { message_id, .. } | Frame::CallError { message_id, .. }), r) => {
            let known = message_id == "1" || message_id == "2";
            match r {
                Received::Answer(answer) => {
                    assert!(known && answer.message_id == *message_id && left == 1);
                    // Whatever was delivered decodes, relaxed or not.
                    if answer.result.is_ok() {
                        assert!(set.decodes(answer), "{text}");
                    }
                }
                Received::Unmatched(_) => assert!(!known && left == 2),
                Received::RejectedAnswer { answer, .. } => {
                    assert!(known && answer.message_id == *message_id && left == 1);
                }
                Received::NoReply(what) => panic!("{text}: an answer reported as {what:?}"),
                Received::Reply(reply) => panic!("{text}: an answer was replied to: {reply}"),
            }
        }
        (_, Received::Reply(_)) => assert_eq!(left, 2),
        (Ok(Frame::Send { .. } | Frame::CallResultError { .. }), Received::NoReply(_)) => {
            assert_eq!(left, 2)
        }
        (Err(e), Received::NoReply(_)) if !e.is_answered() => {}
        (_, other) => panic!("{text}: {other:?}"),
    }
});
