//! `Dispatcher::handle` and `Session::receive`, in both roles, for every version with a
//! generated recorder (every block's service registered).
//!
//! Input: a byte choosing the role (bit 0) and the version (the rest), then the frame. Never a
//! panic and never a wait; every CALL (and every unreadable text) gets one reply, a CALLRESULT
//! or a CALLERROR whose code the version defines, carrying the frame's id (or `-1` when it
//! cannot be read); answers are never replied to (but for the CALLRESULTERROR OCPP 2.1 sends
//! for an invalid CALLRESULT), and are matched to pending calls by id. A frame of a message
//! type number the version does not define is answered (`MessageTypeNotSupported`) only under
//! OCPP 2.0.1, and ignored under 1.6 and 2.1. The same holds with a policy relaxing everything
//! (which delivers at least what the strict dispatcher delivers) and with tight limits.
#![no_main]

use std::str::FromStr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ocpp_fuzz::{dispatchers, ready, version, Dispatchers};
use ocpp_messages::frame::{Frame, FrameError};
use ocpp_messages::rpc::{Event, Ignored, Outcome, Session};
use ocpp_messages::{ErrorCode, OcppVersion, Situation};

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
    if let Err(e) = parsed {
        if e.situation == Situation::UnknownMessageType {
            check_unknown_type(version, text, e, reply, exact_id);
            if reply.is_none() {
                return;
            }
        }
    }
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
                Ok(Frame::CallError { message_id, error }) => {
                    // The frame's own id, or -1 (a limit may refuse a readable frame unread).
                    let own = match parsed {
                        Ok(frame) => frame.message_id(),
                        Err(e) => e.answer_id(),
                    };
                    assert!(
                        message_id == own || (!exact_id && message_id == "-1"),
                        "{text} -> {reply}"
                    );
                    let code = ErrorCode::from_str(&error.code).expect("a known error code");
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

/// Checks the reply to `text`, whose message type number `version` does not define: OCPP
/// 2.0.1 answers `MessageTypeNotSupported`, 1.6 and 2.1 ignore it. With tight limits
/// (`!exact_id`) a frame may be refused unread before its type is known: under 2.0.1 with
/// the code of the limit, under 1.6 and 2.1 with id `-1` (its type number was not read).
fn check_unknown_type(
    version: OcppVersion,
    text: &str,
    parsed: &FrameError,
    reply: &Option<String>,
    exact_id: bool,
) {
    let answers = version == OcppVersion::V2_0_1;
    let Some(reply) = reply else {
        assert!(
            !answers,
            "{text}: an unknown message type is not answered under {version}"
        );
        return;
    };
    let Ok(Frame::CallError { message_id, error }) = Frame::parse(reply) else {
        panic!("{text} -> {reply}: not a CALLERROR")
    };
    let not_supported = error.code == "MessageTypeNotSupported";
    if answers {
        assert!(
            not_supported || !exact_id,
            "{text} -> {reply}: not MessageTypeNotSupported"
        );
    } else {
        assert!(
            !exact_id && !not_supported && message_id == "-1",
            "{text}: an unknown message type is answered under {version}: {reply} ({:?})",
            parsed.message_id
        );
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
        Some(Ok(Frame::CallError { error, .. })) => {
            error.code == "GenericError" && !error.description.contains(' ')
        }
        _ => false,
    }
}

/// Checks what `session` (with calls "1" and "2" pending before) made of `text` (parsed as
/// `parsed`): answers go to their calls, every other frame leaves the pending calls alone.
fn check_session(
    set: &Dispatchers,
    text: &str,
    parsed: &Result<Frame, FrameError>,
    session: &Session,
    outcome: Outcome,
) {
    let version = session.version();
    let left = session.pending_calls();
    let Outcome { reply, event } = outcome;
    if !matches!(
        parsed,
        Ok(Frame::CallResult { .. } | Frame::CallError { .. })
    ) {
        // What a session sends back is what the dispatcher would.
        check_reply(version, text, parsed, &reply, true);
    }
    match (parsed, event) {
        (Ok(Frame::CallResult { message_id, .. } | Frame::CallError { message_id, .. }), event) => {
            let known = message_id == "1" || message_id == "2";
            match event {
                Event::Answered(answer) => {
                    assert!(
                        known && answer.message_id == *message_id && left == 1,
                        "{text}: {answer:?} with {left} calls left"
                    );
                    match reply {
                        // Whatever was delivered decodes, relaxed or not.
                        None => {
                            if answer.result.is_ok() {
                                assert!(set.decodes(answer), "{text}");
                            }
                        }
                        // 2.1: an invalid CALLRESULT to a pending call gets a CALLRESULTERROR.
                        Some(reply) => {
                            assert!(
                                matches!(parsed, Ok(Frame::CallResult { .. }))
                                    && answer.result.is_err()
                                    && version.has_call_result_error(),
                                "{text}: {answer:?} answered with {reply}"
                            );
                            match Frame::parse_for(version, &reply) {
                                Ok(Frame::CallResultError { message_id: id, .. }) => {
                                    assert_eq!(&id, message_id)
                                }
                                other => panic!("{reply} is not a CALLRESULTERROR: {other:?}"),
                            }
                        }
                    }
                }
                Event::Ignored(Ignored::Unmatched { message_id: id }) => {
                    assert!(
                        !known && id == *message_id && left == 2,
                        "{text}: unmatched {id} with {left} calls left"
                    );
                    assert_eq!(reply, None, "{text}: an unmatched answer was replied to");
                }
                other => panic!("{text}: an answer reported as {other:?}, reply {reply:?}"),
            }
        }
        // 2.0.1 answers an unknown message type; 1.6 and 2.1 ignore it.
        (Err(e), event) if e.situation == Situation::UnknownMessageType => {
            assert_eq!(left, 2, "{text}");
            match event {
                Event::Rejected(rejection) if version == OcppVersion::V2_0_1 => {
                    assert_eq!(rejection.message_id, e.answer_id(), "{text}");
                    assert_eq!(
                        rejection.error.code,
                        ErrorCode::MessageTypeNotSupported,
                        "{text}"
                    );
                    assert!(reply.is_some(), "{text}");
                }
                Event::Ignored(Ignored::UnknownMessageType { message_id })
                    if version != OcppVersion::V2_0_1 =>
                {
                    assert_eq!(message_id, e.message_id, "{text}");
                    assert_eq!(reply, None, "{text}: an unknown message type was answered");
                }
                other => panic!("{text}: an unknown message type under {version}: {other:?}"),
            }
        }
        (_, Event::Served { .. } | Event::Rejected(_)) if reply.is_some() => {
            assert_eq!(left, 2, "{text}")
        }
        // 2.1: a SEND is delivered or not, never answered; a CALLRESULTERROR is reported.
        (Ok(Frame::Send { message_id, .. }), Event::Delivered { message_id: id, .. })
            if reply.is_none() =>
        {
            assert!(id == *message_id && left == 2, "{text}")
        }
        (Ok(Frame::Send { message_id, .. }), Event::Rejected(rejection)) if reply.is_none() => {
            assert!(rejection.message_id == *message_id && left == 2, "{text}")
        }
        (
            Ok(Frame::CallResultError { message_id, .. }),
            Event::ResultError { message_id: id, .. },
        ) if reply.is_none() => {
            assert!(id == *message_id && left == 2, "{text}")
        }
        // A CALLRESULTERROR beyond the limits is refused unread, and not answered either.
        (Ok(Frame::CallResultError { message_id, .. }), Event::Rejected(rejection))
            if reply.is_none() =>
        {
            assert!(rejection.message_id == *message_id && left == 2, "{text}")
        }
        (Err(e), Event::Rejected(_)) if reply.is_none() && !e.is_answered() => {
            assert_eq!(left, 2, "{text}")
        }
        (_, other) => panic!("{text}: {other:?}, reply {reply:?}"),
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

    // The same frame through a session, with calls "1" and "2" pending; and through a session
    // over the relaxed dispatcher: answers still go to their calls.
    for (dispatcher, station) in [(dispatcher, "CS-1"), (&set.relaxed[role], "CS-A")] {
        let session = set.session(dispatcher, station);
        let outcome = ready(session.receive(text));
        set.clear();
        check_session(set, text, &parsed, &session, outcome);
    }
});
