//! `Dispatcher::handle` and `Dispatcher::receive`, in both roles, for every version with a
//! generated recorder (every block's service registered).
//!
//! Input: a byte choosing the role (bit 0) and the version (the rest), then the frame. Never a
//! panic and never a wait; every CALL (and every unreadable text) gets one reply, a CALLRESULT
//! or a CALLERROR whose code the version defines, carrying the frame's id (or `-1` when it
//! cannot be read); answers are never replied to, and are matched to pending calls by id.
#![no_main]

use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use ocpp_fuzz::{dispatchers, ready, version, Dispatchers};
use ocpp_messages::dispatch::Received;
use ocpp_messages::frame::Frame;
use ocpp_messages::{ErrorCode, OcppVersion};

fn all() -> &'static [Option<Dispatchers>] {
    static ALL: OnceLock<Vec<Option<Dispatchers>>> = OnceLock::new();
    ALL.get_or_init(|| OcppVersion::ALL.iter().map(|v| dispatchers(*v)).collect())
}

fuzz_target!(|data: &[u8]| {
    let [selector, rest @ ..] = data else {
        return;
    };
    let version = version(selector >> 1);
    let Some(Some(set)) = all().get(usize::from(selector >> 1) % OcppVersion::ALL.len()) else {
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
    let parsed = Frame::parse(text);
    let reply = ready(dispatcher.handle("CS-1", text));
    set.clear();
    match (&parsed, &reply) {
        (Ok(Frame::CallResult { .. } | Frame::CallError { .. }), None) => {}
        (_, Some(reply)) => {
            assert!(reply.len() < 16 << 10, "a reply of {} bytes", reply.len());
            let expected_id = match &parsed {
                Ok(frame) => frame.message_id(),
                Err(e) => e.answer_id(),
            };
            match Frame::parse(reply) {
                Ok(Frame::CallResult { message_id, .. }) => {
                    assert!(parsed.is_ok(), "{reply}");
                    assert_eq!(message_id, expected_id, "{reply}");
                }
                Ok(Frame::CallError {
                    message_id,
                    error_code,
                    ..
                }) => {
                    assert_eq!(message_id, expected_id, "{text} -> {reply}");
                    let code = ErrorCode::from_str(&error_code).expect("a known error code");
                    assert!(version.defines_error_code(code), "{reply}");
                }
                other => panic!("{reply} is not an answer: {other:?}"),
            }
        }
        (_, None) => panic!("no reply to {text}"),
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
                Received::Unmatched(u) => {
                    assert!(!known && u.message_id == *message_id);
                    assert_eq!(pending.lock().unwrap().len(), 2);
                }
                Received::Reply(reply) => panic!("{text}: an answer was replied to: {reply}"),
            }
        }
        (_, Received::Reply(_)) => assert_eq!(pending.lock().unwrap().len(), 2),
        (_, other) => panic!("{text}: {other:?}"),
    }
});
