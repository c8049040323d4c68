//! Hostile and odd input against the dispatcher, through the fast path and the slow one: every
//! frame gets the CALLERROR the specification prescribes (or none, for an answer or for a frame
//! the version ignores), never a panic, and what is valid but unusual is still served.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};

use ocpp_messages::limits::Limits;
use ocpp_messages::rpc::{Dispatcher, Event, Ignored, Outcome, Rejection, ResponseError};
use ocpp_messages::rpc::{SendError, Session};
use ocpp_messages::v2_0_1::meter::{self, MeterValuesRequest, MeterValuesResponse};
use ocpp_messages::v2_0_1::provisioning::{self, Reset, ResetFeature, ResetRequest};
use ocpp_messages::v2_0_1::security;
use ocpp_messages::{CallError, ErrorCode, OcppVersion, Role};

/// Records the requests that reach it.
#[derive(Default)]
struct Csms {
    seen: Mutex<Vec<String>>,
}

/// Each version's SecurityEventNotification (CSMS) and Reset (charging station) handlers
/// record the request and accept it: 2.0.1's and 2.1's take the same payloads.
macro_rules! recording_handlers {
    ($version:ident) => {
        impl ocpp_messages::$version::security::CsmsHandler for &'static Csms {
            async fn on_security_event_notification(
                &self,
                _: &str,
                request: ocpp_messages::$version::security::SecurityEventNotificationRequest,
            ) -> Result<
                ocpp_messages::$version::security::SecurityEventNotificationResponse,
                CallError,
            > {
                self.seen.lock().unwrap().push(format!("{request:?}"));
                Ok(ocpp_messages::$version::security::SecurityEventNotificationResponse::new())
            }
        }

        impl ocpp_messages::$version::provisioning::ChargingStationHandler for &'static Csms {
            async fn on_reset(
                &self,
                request: ocpp_messages::$version::provisioning::ResetRequest,
            ) -> Result<ocpp_messages::$version::provisioning::ResetResponse, CallError> {
                use ocpp_messages::$version::provisioning::{ResetResponse, ResetStatus};
                self.seen.lock().unwrap().push(format!("{request:?}"));
                Ok(ResetResponse::new(ResetStatus::Accepted))
            }
        }
    };
}

recording_handlers!(v2_0_1);
recording_handlers!(v2_1);

impl meter::CsmsHandler for &'static Csms {
    async fn on_meter_values(
        &self,
        _: &str,
        request: MeterValuesRequest,
    ) -> Result<MeterValuesResponse, CallError> {
        self.seen.lock().unwrap().push(format!("{request:?}"));
        Ok(MeterValuesResponse::new())
    }
}

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the dispatcher waited on a ready handler"),
    }
}

fn dispatcher() -> (Dispatcher, &'static Csms) {
    let csms: &'static Csms = Box::leak(Box::default());
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(security::CsmsService(csms))
        .with(meter::CsmsService(csms));
    (dispatcher, csms)
}

/// One side of a connection: its dispatcher, what reached its handlers, and an action the
/// peer sends it with a valid payload (with `{}` where a member may go).
#[derive(Clone)]
struct Side {
    dispatcher: Arc<Dispatcher>,
    seen: &'static Csms,
    action: &'static str,
    /// A valid payload, `{member}` marking where more members may be written.
    payload: &'static str,
}

impl Side {
    fn payload(&self, extra: &str) -> String {
        self.payload.replace("{member}", extra)
    }

    fn call(&self, id: &str, extra: &str) -> String {
        call(id, self.action, &self.payload(extra))
    }

    fn seen(&self) -> usize {
        self.seen.seen.lock().unwrap().len()
    }
}

/// The CSMS (serving what a station sends) and the charging station (serving what the CSMS
/// sends), each with `limits`: those of OCPP 2.0.1, then those of 2.1.
fn both_roles(limits: Limits) -> Vec<Side> {
    let mut sides = roles_2_0_1(limits).to_vec();
    let csms_seen: &'static Csms = Box::leak(Box::default());
    let station_seen: &'static Csms = Box::leak(Box::default());
    let csms = Dispatcher::new(OcppVersion::V2_1, Role::Csms)
        .with(ocpp_messages::v2_1::security::CsmsService(csms_seen));
    let station = Dispatcher::new(OcppVersion::V2_1, Role::ChargingStation).with(
        ocpp_messages::v2_1::provisioning::ChargingStationService(station_seen),
    );
    sides.extend(roles(limits, (csms, csms_seen), (station, station_seen)));
    sides
}

fn roles_2_0_1(limits: Limits) -> [Side; 2] {
    let (csms, seen) = dispatcher();
    let station_seen: &'static Csms = Box::leak(Box::default());
    let station = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
        .with(provisioning::ChargingStationService(station_seen));
    roles(limits, (csms, seen), (station, station_seen))
}

fn roles(
    limits: Limits,
    (csms, seen): (Dispatcher, &'static Csms),
    (station, station_seen): (Dispatcher, &'static Csms),
) -> [Side; 2] {
    [
        Side {
            dispatcher: Arc::new(csms.with_limits(limits)),
            seen,
            action: "SecurityEventNotification",
            payload: r#"{"type":"T","timestamp":"2024-01-01T00:00:00Z"{member}}"#,
        },
        Side {
            dispatcher: Arc::new(station.with_limits(limits)),
            seen: station_seen,
            action: "Reset",
            payload: r#"{"type":"Immediate"{member}}"#,
        },
    ]
}

/// The reply's message id and error code (`None` for a CALLRESULT).
fn answer(dispatcher: &Dispatcher, text: &str) -> (String, Option<String>) {
    let reply = ready(dispatcher.handle("CS-1", text)).expect("a CALL gets a reply");
    let value: serde_json::Value = serde_json::from_str(&reply).unwrap();
    let id = value[1].as_str().unwrap().to_owned();
    match value[0].as_u64() {
        Some(3) => (id, None),
        Some(4) => (id, Some(value[2].as_str().unwrap().to_owned())),
        _ => panic!("not an answer: {reply}"),
    }
}

/// Makes a Reset call of the session's version pending; returns its message id.
fn reset_call(session: &Session) -> String {
    let (id, _) = match session.version() {
        OcppVersion::V1_6 => {
            use ocpp_messages::v1_6::core::{Reset, ResetFeature, ResetRequest};
            session.call::<ResetFeature>(&ResetRequest::new(Reset::Soft))
        }
        OcppVersion::V2_1 => {
            use ocpp_messages::v2_1::provisioning::{Reset, ResetFeature, ResetRequest};
            session.call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle))
        }
        _ => session.call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle)),
    }
    .unwrap();
    id
}

/// A session over `dispatcher` for the connection of "CS-1".
fn session(dispatcher: &Arc<Dispatcher>) -> Session {
    Session::new(Arc::clone(dispatcher), "CS-1")
}

const EVENT: &str = r#"{"type":"T","timestamp":"2024-01-01T00:00:00Z"}"#;

fn call(id: &str, action: &str, payload: &str) -> String {
    format!(r#"[2,"{id}","{action}",{payload}]"#)
}

#[test]
fn unreadable_frames_get_rpc_framework_error_with_id_minus_one() {
    let (d, csms) = dispatcher();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_payload = call(
        "a",
        "SecurityEventNotification",
        &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let long_id = call(&"x".repeat(10_000), "SecurityEventNotification", EVENT);
    let big = call(
        "a",
        "SecurityEventNotification",
        &format!(r#"{{"type":"{}"}}"#, "x".repeat(10 << 20)),
    );
    for text in [
        "",
        " ",
        "{}",
        "42",
        "null",
        "[2,\"a\",\"SecurityEventNotification\",{\"type\":\"\\ud800\",\"timestamp\":\"2024-01-01T00:00:00Z\"}]",
        "[2,\"a\",\"MeterValues\",{\"evseId\":1e400,\"meterValue\":[]}]",
        "\u{feff}[2,\"a\",\"SecurityEventNotification\",{\"type\":\"T\",\"timestamp\":\"2024-01-01T00:00:00Z\"}]",
        &deep,
        &deep_payload,
        &long_id,
        &big,
        "[2,\"a\",\"SecurityEventNotification\",{\"type\":\"T\"",
    ] {
        let shown: String = text.chars().take(60).collect();
        assert_eq!(
            answer(&d, text),
            ("-1".to_owned(), Some("RpcFrameworkError".to_owned())),
            "{shown}"
        );
    }
    assert!(csms.seen.lock().unwrap().is_empty());
}

#[test]
fn malformed_frames_keep_their_id() {
    let (d, _) = dispatcher();
    for (text, code) in [
        (
            r#"[2,"a","SecurityEventNotification"]"#,
            "RpcFrameworkError",
        ),
        (
            &*format!(r#"[2,"a","SecurityEventNotification",{EVENT},{{}}]"#),
            "RpcFrameworkError",
        ),
        (r#"[2,"a",5,{}]"#, "RpcFrameworkError"),
        (r#"[7,"a",{}]"#, "MessageTypeNotSupported"),
        (r#"[2,"a","NoSuchAction",{}]"#, "NotImplemented"),
        (r#"[2,"a","Reset",{"type":"Immediate"}]"#, "NotSupported"),
        (
            &*call("a", "SecurityEventNotification", "[]"),
            "FormatViolation",
        ),
        (
            &*call(
                "a",
                "SecurityEventNotification",
                r#"{"type":null,"timestamp":"2024-01-01T00:00:00Z"}"#,
            ),
            "TypeConstraintViolation",
        ),
        (
            &*call(
                "a",
                "SecurityEventNotification",
                r#"{"type":{"T":null},"timestamp":"2024-01-01T00:00:00Z"}"#,
            ),
            "TypeConstraintViolation",
        ),
        (
            &*call(
                "a",
                "SecurityEventNotification",
                r#"{"type":"T","timestamp":"2024-01-01T00:00:00Z","x":1}"#,
            ),
            "ProtocolError",
        ),
        (
            &*call("a", "MeterValues", r#"{"evseId":-0.5,"meterValue":[]}"#),
            "TypeConstraintViolation",
        ),
    ] {
        assert_eq!(
            answer(&d, text),
            ("a".to_owned(), Some(code.to_owned())),
            "{text}"
        );
    }
}

#[test]
fn unusual_but_valid_frames_are_served() {
    let (d, csms) = dispatcher();
    let sampled = r#"[{"timestamp":"2024-01-01T00:00:00Z","sampledValue":[{"value":-0}]}]"#;
    for text in [
        // Whitespace everywhere, escapes in the id, the action and the member names.
        format!(" [ 2 , \"a\" , \"SecurityEventNotification\" , {EVENT} ] \n"),
        format!(r#"[2,"\u0061","Security\u0045ventNotification",{EVENT}]"#),
        call(
            "a",
            "SecurityEventNotification",
            r#"{"\u0074ype":"T","timestamp":"2024-01-01T00:00:00Z"}"#,
        ),
        // A member given twice: the last one counts, the first may even be invalid.
        call(
            "a",
            "SecurityEventNotification",
            r#"{"type":null,"type":"T","timestamp":"2024-01-01T00:00:00Z"}"#,
        ),
        // -0 and 5.0 for integers.
        call(
            "a",
            "MeterValues",
            &format!(r#"{{"evseId":-0,"meterValue":{sampled}}}"#),
        ),
        call(
            "a",
            "MeterValues",
            &format!(r#"{{"evseId":5.0,"meterValue":{sampled}}}"#),
        ),
    ] {
        assert_eq!(answer(&d, &text), ("a".to_owned(), None), "{text}");
    }
    assert_eq!(csms.seen.lock().unwrap().len(), 6);
}

#[test]
fn integers_beyond_64_bits_are_refused_not_changed() {
    let (d, csms) = dispatcher();
    let text = call(
        "a",
        "MeterValues",
        r#"{"evseId":18446744073709551616,"meterValue":[{"timestamp":"2024-01-01T00:00:00Z","sampledValue":[{"value":1}]}]}"#,
    );
    assert_eq!(
        answer(&d, &text),
        ("a".to_owned(), Some("GenericError".to_owned()))
    );
    assert!(csms.seen.lock().unwrap().is_empty());
}

#[test]
fn answers_to_calls_never_sent_are_handed_back_not_answered() {
    let (d, _) = dispatcher();
    let session = Session::new(d, "CS-1");
    for text in [
        r#"[3,"never-sent",{}]"#,
        r#"[4,"never-sent","GenericError","",{}]"#,
    ] {
        assert_eq!(
            ready(session.receive(text)),
            Outcome {
                reply: None,
                event: Event::Ignored(Ignored::Unmatched {
                    message_id: "never-sent".to_owned()
                })
            },
            "{text}"
        );
    }
}

#[test]
fn the_description_names_the_violation_that_chose_the_code() {
    let (d, _) = dispatcher();
    // A bad date-time (PropertyConstraintViolation) before a wrong type (TypeConstraintViolation):
    // the code is the more fundamental one, and the description explains it.
    let text = call(
        "a",
        "SecurityEventNotification",
        r#"{"timestamp":"noon","type":5}"#,
    );
    let reply = ready(d.handle("CS-1", &text)).unwrap();
    let value: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(value[2], "TypeConstraintViolation");
    let description = value[3].as_str().unwrap();
    assert!(
        description.contains("/type: expected string"),
        "{description}"
    );
    assert!(description.ends_with("(and 1 more)"), "{description}");
    // Every violation is still listed in the details, in document order.
    let paths: Vec<&str> = value[4]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/timestamp", "/type"]);
}

/// A hostile frame is answered well within this, even in a debug build on a busy machine.
const BOUNDED: Duration = Duration::from_secs(20);

fn timed_answer(dispatcher: &Dispatcher, text: &str) -> (String, Option<String>) {
    let start = Instant::now();
    let answer = answer(dispatcher, text);
    assert!(start.elapsed() < BOUNDED, "{:?}", start.elapsed());
    answer
}

#[test]
fn both_roles_answer_unreadable_frames_with_rpc_framework_error_and_id_minus_one() {
    for side in both_roles(Limits::default()) {
        let valid = side.call("a", "");
        let frames = [
            String::new(),
            "\u{feff}".to_owned() + &valid,
            "[".repeat(100_000) + &"]".repeat(100_000),
            side.call(
                "a",
                &format!(
                    r#","customData":{{"vendorId":"v","x":{}1{}}}"#,
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                ),
            ),
            side.call(&"x".repeat(10_000), ""),
            side.call(
                "a",
                &format!(
                    r#","customData":{{"vendorId":"v","x":"{}"}}"#,
                    "x".repeat(10 << 20)
                ),
            ),
            side.call("a", r#","customData":{"vendorId":"v","x":"\ud800"}"#),
            side.call("a", r#","customData":{"vendorId":"v","x":"\udc00\ud800"}"#),
            side.call("a", r#","customData":{"vendorId":"v","x":1e400}"#),
            side.call("a", r#","customData":{"vendorId":"v","x":-1e400}"#),
            r#"{"0":2,"1":"a"}"#.to_owned(),
            r#""[2,\"a\",\"Heartbeat\",{}]""#.to_owned(),
            valid[..valid.len() - 1].to_owned(),
            valid.clone() + "]",
        ];
        for text in &frames {
            let shown: String = text.chars().take(60).collect();
            assert_eq!(
                timed_answer(&side.dispatcher, text),
                ("-1".to_owned(), Some("RpcFrameworkError".to_owned())),
                "{} {shown}",
                side.action
            );
        }
        // Bytes that are not UTF-8, through the byte entry point (as a slice and as a Vec).
        for bytes in [
            &b"\xff"[..],
            b"[2,\"a\",\"Reset\",{\"type\":\"\xc3\x28\"}]",
            b"[2,\"\xed\xa0\x80\",\"Reset\",{}]",
        ] {
            let outcome = ready(session(&side.dispatcher).receive(bytes));
            let reply = outcome.reply.clone().unwrap();
            assert!(
                reply.starts_with(r#"[4,"-1","RpcFrameworkError","#),
                "{reply}"
            );
            match &outcome.event {
                Event::Rejected(rejection) => {
                    assert_eq!(rejection.message_id, "-1");
                    assert_eq!(rejection.error.code, ErrorCode::RpcFrameworkError);
                    assert_eq!(rejection.to_frame(), reply);
                }
                other => panic!("{reply}: {other:?}"),
            }
            let received = ready(session(&side.dispatcher).receive(&bytes.to_vec()));
            assert_eq!(received, outcome);
        }
        let valid_bytes = ready(session(&side.dispatcher).receive(valid.as_bytes()));
        assert_eq!(
            valid_bytes.event,
            Event::Served {
                message_id: "a".to_owned(),
                action: side.action,
                error: None
            }
        );
        assert_eq!(
            valid_bytes.reply,
            ready(side.dispatcher.handle("CS-1", &valid))
        );
        assert_eq!(
            side.seen(),
            2,
            "{}: only the valid frames reached the handler",
            side.action
        );
    }
}

#[test]
fn both_roles_keep_the_id_of_frames_they_can_read() {
    for side in both_roles(Limits::default()) {
        let payload = side.payload("");
        for (text, code) in [
            (r#"[2,"a"]"#.to_owned(), "RpcFrameworkError"),
            (format!(r#"[2,"a","{}"]"#, side.action), "RpcFrameworkError"),
            (
                format!(r#"[2,"a","{}",{payload},{{}}]"#, side.action),
                "RpcFrameworkError",
            ),
            (
                format!(r#"[2,"a",["{}"],{payload}]"#, side.action),
                "RpcFrameworkError",
            ),
            (r#"[3,"a"]"#.to_owned(), "RpcFrameworkError"),
            (r#"[3,"a",{},{}]"#.to_owned(), "RpcFrameworkError"),
            (
                r#"[4,"a","GenericError",""]"#.to_owned(),
                "RpcFrameworkError",
            ),
            (
                r#"[4,"a","GenericError","",[]]"#.to_owned(),
                "RpcFrameworkError",
            ),
            (
                format!(r#"[2,"a","{}",null]"#, side.action),
                "FormatViolation",
            ),
            (
                format!(r#"[2,"a","{}",[{payload}]]"#, side.action),
                "FormatViolation",
            ),
            (side.call("a", r#","x":1"#), "ProtocolError"),
            (
                side.call(
                    "a",
                    r#","customData":{"vendorId":5,"x":18446744073709551616}"#,
                ),
                "TypeConstraintViolation",
            ),
            (call("a", &"N".repeat(10_000), "{}"), "NotImplemented"),
        ] {
            let shown: String = text.chars().take(80).collect();
            assert_eq!(
                timed_answer(&side.dispatcher, &text),
                ("a".to_owned(), Some(code.to_owned())),
                "{} {shown}",
                side.action
            );
        }
        // Unknown message type numbers: 2.0.1 answers them `MessageTypeNotSupported` with the
        // frame's id; 2.1 ignores them.
        for text in [
            format!(r#"[7,"a","{}",{payload}]"#, side.action),
            format!(r#"[-2,"a","{}",{payload}]"#, side.action),
            format!(r#"[2.5,"a","{}",{payload}]"#, side.action),
            format!(r#"[18446744073709551618,"a","{}",{payload}]"#, side.action),
        ] {
            match side.dispatcher.version() {
                OcppVersion::V2_1 => {
                    assert_eq!(ready(side.dispatcher.handle("CS-1", &text)), None, "{text}");
                    assert_eq!(
                        ready(session(&side.dispatcher).receive(&text)),
                        Outcome {
                            reply: None,
                            event: Event::Ignored(Ignored::UnknownMessageType {
                                message_id: Some("a".to_owned())
                            })
                        },
                        "{text}"
                    );
                }
                _ => assert_eq!(
                    timed_answer(&side.dispatcher, &text),
                    ("a".to_owned(), Some("MessageTypeNotSupported".to_owned())),
                    "{} {text}",
                    side.action
                ),
            }
        }
        // Types 5 and 6: 2.1's CALLRESULTERROR and SEND are never answered, not even when
        // malformed; 2.0.1 does not have them.
        for text in [
            format!(r#"[5,"a","{}",{payload}]"#, side.action),
            format!(r#"[6,"a","{}"]"#, side.action),
        ] {
            let reply = ready(side.dispatcher.handle("CS-1", &text));
            match side.dispatcher.version() {
                OcppVersion::V2_1 => assert_eq!(reply, None, "{text}"),
                _ => assert!(
                    reply
                        .as_deref()
                        .is_some_and(|r| r.starts_with(r#"[4,"a","MessageTypeNotSupported","#)),
                    "{text}: {reply:?}"
                ),
            }
        }
        assert_eq!(side.seen(), 0);
    }
}

#[test]
fn both_roles_serve_odd_but_valid_numbers_duplicates_and_whitespace() {
    for side in both_roles(Limits::default()) {
        for text in [
            side.call(
                "a",
                r#","customData":{"vendorId":"v","n":-0,"big":18446744073709551616,"tiny":1e-400}"#,
            ),
            // The last of two equal names counts; the first may be invalid.
            side.call("a", "")
                .replacen(r#"{"type":"#, r#"{"type":null,"type":"#, 1),
            format!(
                "\t[ 2 ,\n\"a\" ,\r\"{}\" , {} ]  ",
                side.action,
                side.payload("")
            ),
        ] {
            assert_eq!(
                timed_answer(&side.dispatcher, &text),
                ("a".to_owned(), None),
                "{text}"
            );
        }
        assert_eq!(side.seen(), 3, "{}", side.action);
    }
}

#[test]
fn answers_for_ids_never_sent_or_sent_twice_are_unmatched_in_both_roles() {
    for side in both_roles(Limits::default()) {
        let session = session(&side.dispatcher);
        let id = reset_call(&session);
        let receive = |text: &str| ready(session.receive(text));
        for text in [
            r#"[3,"never-sent",{"status":"Accepted"}]"#.to_owned(),
            r#"[4,"never-sent","GenericError","",{}]"#.to_owned(),
            format!(r#"[3,"{id}x",{{"status":"Accepted"}}]"#),
        ] {
            assert_eq!(
                receive(&text),
                Outcome {
                    reply: None,
                    event: Event::Ignored(Ignored::Unmatched {
                        message_id: serde_json::from_str::<serde_json::Value>(&text).unwrap()[1]
                            .as_str()
                            .unwrap()
                            .to_owned()
                    })
                },
                "{text}"
            );
            assert_eq!(session.pending_calls(), 1, "{text}");
        }
        // The first answer is matched; the same answer again, or a CALLERROR for the same id,
        // is unmatched, and nothing is ever sent back for an answer.
        let answer = format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#);
        let Outcome {
            reply: None,
            event: Event::Answered(first),
        } = receive(&answer)
        else {
            panic!("the first answer is matched")
        };
        assert_eq!(first.result.unwrap()["status"], "Accepted");
        for again in [
            answer.clone(),
            format!(r#"[4,"{id}","GenericError","",{{}}]"#),
        ] {
            assert!(matches!(
                receive(&again),
                Outcome {
                    reply: None,
                    event: Event::Ignored(Ignored::Unmatched { message_id }),
                } if message_id == id
            ));
            assert_eq!(ready(side.dispatcher.handle("CS-1", &again)), None);
        }
        assert_eq!(session.pending_calls(), 0);
        // An invalid answer is matched and reported, not replied to.
        let id = reset_call(&session);
        // 2.1 answers it with a CALLRESULTERROR carrying its id; 2.0.1 sends nothing.
        let invalid = match receive(&format!(r#"[3,"{id}",{{"status":"Maybe"}}]"#)) {
            Outcome {
                reply: None,
                event: Event::Answered(answer),
            } if side.dispatcher.version() == OcppVersion::V2_0_1 => answer,
            Outcome {
                reply: Some(reply),
                event: Event::Answered(answer),
            } if side.dispatcher.version() == OcppVersion::V2_1 => {
                assert!(
                    reply.starts_with(&format!(r#"[5,"{id}","PropertyConstraintViolation","#)),
                    "{reply}"
                );
                answer
            }
            other => panic!("an invalid answer is matched: {other:?}"),
        };
        assert!(
            matches!(invalid.result, Err(ResponseError::Invalid(e)) if e.code.as_str() == "PropertyConstraintViolation")
        );
        assert_eq!(side.seen(), 0);
    }
}

#[test]
fn limits_refuse_strings_arrays_and_depth_the_schema_leaves_open() {
    let limits = Limits::default()
        .with_max_string_chars(1000)
        .with_max_array_items(100)
        .with_max_depth(8);
    for side in both_roles(limits) {
        let long = "é".repeat(1001);
        let many = vec!["1"; 101].join(",");
        for (extra, id, code) in [
            (
                format!(r#","customData":{{"vendorId":"v","x":"{long}"}}"#),
                "a",
                "PropertyConstraintViolation",
            ),
            (
                format!(r#","customData":{{"vendorId":"v","{long}":1}}"#),
                "a",
                "PropertyConstraintViolation",
            ),
            (
                format!(r#","customData":{{"vendorId":"v","x":[{many}]}}"#),
                "a",
                "OccurrenceConstraintViolation",
            ),
            (
                format!(
                    r#","customData":{{"vendorId":"v","x":{}1{}}}"#,
                    "[".repeat(6),
                    "]".repeat(6)
                ),
                "-1",
                "RpcFrameworkError",
            ),
        ] {
            let text = side.call("a", &extra);
            assert_eq!(
                timed_answer(&side.dispatcher, &text),
                (id.to_owned(), Some(code.to_owned())),
                "{}",
                &text[..80]
            );
        }
        // At the limits exactly, the frame is served.
        let at_limits = format!(
            r#","customData":{{"vendorId":"v","s":"{}","a":[{}],"d":{}1{}}}"#,
            "é".repeat(1000),
            vec!["1"; 100].join(","),
            "[".repeat(5),
            "]".repeat(5)
        );
        assert_eq!(
            timed_answer(&side.dispatcher, &side.call("a", &at_limits)),
            ("a".to_owned(), None)
        );
        assert_eq!(side.seen(), 1);

        // An answer that breaks a limit is not replied to (2.1: but for the CALLRESULTERROR on
        // a CALLRESULT); the call it answers fails.
        let session = session(&side.dispatcher);
        let id = reset_call(&session);
        let answer = format!(
            r#"[3,"{id}",{{"status":"Accepted","customData":{{"vendorId":"v","x":"{long}"}}}}]"#
        );
        assert_eq!(ready(side.dispatcher.handle("CS-1", &answer)), None);
        let refused = match ready(session.receive(&answer)) {
            Outcome {
                reply: None,
                event: Event::Answered(answer),
            } => answer,
            // 2.1: the refused CALLRESULT is answered with a CALLRESULTERROR.
            Outcome {
                reply: Some(reply),
                event: Event::Answered(answer),
            } if side.dispatcher.version() == OcppVersion::V2_1 => {
                assert!(
                    reply.starts_with(&format!(r#"[5,"{id}","PropertyConstraintViolation","#)),
                    "{reply}"
                );
                answer
            }
            other => panic!("the refused answer ends the call: {other:?}"),
        };
        assert_eq!(refused.message_id, id);
        assert!(
            matches!(&refused.result, Err(ResponseError::Invalid(error)) if error.code.as_str() == "PropertyConstraintViolation"),
            "{refused:?}"
        );
        assert_eq!(session.pending_calls(), 0);
        let error = format!(r#"[4,"{id}","GenericError","",{{"x":[{many}]}}]"#);
        assert_eq!(
            ready(session.receive(&error)),
            Outcome {
                reply: None,
                event: Event::Ignored(Ignored::Unmatched { message_id: id })
            }
        );
        // A CALLERROR that breaks a limit ends its call too, and is never answered, not even
        // under 2.1: a CALLRESULTERROR answers a CALLRESULT only.
        let id = reset_call(&session);
        let error = format!(r#"[4,"{id}","GenericError","",{{"x":[{many}]}}]"#);
        let outcome = ready(session.receive(&error));
        assert_eq!(outcome.reply, None, "{outcome:?}");
        assert!(
            matches!(&outcome.event, Event::Answered(a)
                if a.message_id == id && matches!(a.result, Err(ResponseError::Invalid(_)))),
            "{outcome:?}"
        );
        assert_eq!(session.pending_calls(), 0);

        // 2.1: a SEND or a CALLRESULTERROR that breaks a limit is refused unread and never
        // answered (found by the dispatch fuzz target); before 2.1 they are unknown types.
        if side.dispatcher.version() == OcppVersion::V2_1 {
            for text in [
                format!(r#"[6,"s","{}",{{"x":"{long}"}}]"#, side.action),
                format!(r#"[5,"r","GenericError","{long}",{{}}]"#),
            ] {
                assert_eq!(ready(side.dispatcher.handle("CS-1", &text)), None);
                let outcome = ready(session.receive(&text));
                assert_eq!(outcome.reply, None, "{outcome:?}");
                assert!(
                    matches!(&outcome.event, Event::Rejected(r)
                        if (r.message_id == "s" || r.message_id == "r")
                            && r.error.code.as_str() == "PropertyConstraintViolation"),
                    "{outcome:?}"
                );
            }
        }
    }
}

#[test]
fn the_default_limits_refuse_a_huge_vendor_string_but_serve_every_schema_bound() {
    for side in both_roles(Limits::default()) {
        let huge = side.call(
            "a",
            &format!(
                r#","customData":{{"vendorId":"v","x":"{}"}}"#,
                "x".repeat((1 << 20) + 1)
            ),
        );
        assert_eq!(
            timed_answer(&side.dispatcher, &huge),
            (
                "a".to_owned(),
                Some("PropertyConstraintViolation".to_owned())
            )
        );
        let items = side.call(
            "a",
            &format!(
                r#","customData":{{"vendorId":"v","x":[{}]}}"#,
                vec!["0"; 100_001].join(",")
            ),
        );
        assert_eq!(
            timed_answer(&side.dispatcher, &items),
            (
                "a".to_owned(),
                Some("OccurrenceConstraintViolation".to_owned())
            )
        );
        // The longest maxLength of the 2.0.1 schemas is 32,768; the largest maxItems 1,024.
        let bounded = side.call(
            "a",
            &format!(
                r#","customData":{{"vendorId":"v","x":"{}","y":[{}]}}"#,
                "x".repeat(32_768),
                vec!["0"; 1024].join(",")
            ),
        );
        assert_eq!(
            timed_answer(&side.dispatcher, &bounded),
            ("a".to_owned(), None)
        );
    }
}

#[test]
fn calls_beyond_the_pending_limit_are_refused() {
    let new = || Session::new(Dispatcher::new(OcppVersion::V2_0_1, Role::Csms), "CS-1");
    let session = new();
    assert_eq!(
        session.max_pending(),
        ocpp_messages::rpc::DEFAULT_MAX_PENDING
    );
    let request = ResetRequest::new(Reset::OnIdle);
    for _ in 0..ocpp_messages::rpc::DEFAULT_MAX_PENDING {
        session.call::<ResetFeature>(&request).unwrap();
    }
    let limit = ocpp_messages::rpc::DEFAULT_MAX_PENDING;
    assert_eq!(
        session.call::<ResetFeature>(&request),
        Err(SendError::TooManyPending { limit })
    );
    assert_eq!(
        session.call_with_id::<ResetFeature>("fresh", &request),
        Err(SendError::TooManyPending { limit })
    );
    assert_eq!(session.pending_calls(), limit);
    assert!(session.cancel("1"));
    assert!(session
        .call_with_id::<ResetFeature>("fresh", &request)
        .is_ok());

    let one = new().with_max_pending(0);
    assert_eq!(one.max_pending(), 1);
    assert!(one.call::<ResetFeature>(&request).is_ok());
    assert_eq!(
        one.call::<ResetFeature>(&request),
        Err(SendError::TooManyPending { limit: 1 })
    );
    // Ids the peer could not read are refused too.
    for id in [String::new(), "x".repeat(37)] {
        assert_eq!(
            new().call_with_id::<ResetFeature>(&id, &request),
            Err(SendError::InvalidMessageId)
        );
    }
}

/// Found by the `dispatch` fuzz target: a frame that is not JSON (raw newlines in a string) and
/// has a string beyond the limit was answered `PropertyConstraintViolation` with the id read
/// in place; it is unreadable, limit or no limit: `RpcFrameworkError` with id `-1`.
#[test]
fn text_that_is_not_json_is_unreadable_even_beyond_a_limit() {
    let limits = Limits::default()
        .with_max_depth(8)
        .with_max_string_chars(64)
        .with_max_array_items(16);
    for side in both_roles(limits) {
        let newlines = "\n".repeat(48);
        for text in [
            format!(r#"[2,"a","SecurityEve{newlines}ntNotificat{newlines}ntNotification"x":1}}]"#),
            format!(r#"[2,"a","{}",{{"x":"{}"}}"#, side.action, "x".repeat(100)),
            format!(r#"[2,"a","{}",[{}]"#, side.action, vec!["1"; 20].join(",")),
            format!(r#"[3,"a",{{"x":"{}"}}"#, "x".repeat(100)),
            // Found by the same target: JSON in syntax, but not what the parser reads.
            format!(
                r#"[2,"a","{}",{{"type":"\ud800","x":"{}"}}]"#,
                side.action,
                "x".repeat(100)
            ),
            format!(
                r#"[2,"a","{}",{{"type":1e400,"x":"{}"}}]"#,
                side.action,
                "x".repeat(100)
            ),
            format!(
                r#"[2,"a","{}",{{"x":[{}],"y":1e400}}]"#,
                side.action,
                vec!["1"; 20].join(",")
            ),
        ] {
            assert_eq!(
                timed_answer(&side.dispatcher, &text),
                ("-1".to_owned(), Some("RpcFrameworkError".to_owned())),
                "{text}"
            );
        }
        assert_eq!(side.seen(), 0);
    }
}

mod v1_6 {
    use ocpp_messages::v1_6::core::{
        self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus,
    };
    use ocpp_messages::{CallError, DateTime};

    use super::Csms;

    impl core::CentralSystemHandler for &'static Csms {
        async fn on_boot_notification(
            &self,
            _: &str,
            request: BootNotificationRequest,
        ) -> Result<BootNotificationResponse, CallError> {
            self.seen.lock().unwrap().push(format!("{request:?}"));
            Ok(BootNotificationResponse::new(
                RegistrationStatus::Accepted,
                DateTime::now(),
                300,
            ))
        }
    }
}

/// The same hostile frames against an OCPP 1.6 central system, answered with 1.6's codes: no
/// RpcFrameworkError in 1.6, so an unreadable frame is a FormationViolation (id `-1`).
#[test]
fn ocpp_1_6_answers_hostile_frames_in_its_own_codes() {
    let seen: &'static Csms = Box::leak(Box::default());
    let d = Arc::new(
        Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM)
            .with(ocpp_messages::v1_6::core::CentralSystemService(seen)),
    );
    let boot = |extra: &str| {
        call(
            "a",
            "BootNotification",
            &format!(r#"{{"chargePointVendor":"V","chargePointModel":"M"{extra}}}"#),
        )
    };
    let unreadable = ("-1".to_owned(), Some("FormationViolation".to_owned()));
    for text in [
        String::new(),
        "\u{feff}".to_owned() + &boot(""),
        "[".repeat(100_000) + &"]".repeat(100_000),
        call(
            "a",
            "DataTransfer",
            &format!(r#"{{"vendorId":"v","data":"{}"}}"#, "x".repeat(10 << 20)),
        ),
        call("a", "DataTransfer", r#"{"vendorId":"v","data":"\ud800"}"#),
        call("a", "DataTransfer", r#"{"vendorId":"v","data":1e400}"#),
        call(&"x".repeat(10_000), "Heartbeat", "{}"),
        r#"{"0":2,"1":"a"}"#.to_owned(),
    ] {
        let shown: String = text.chars().take(60).collect();
        assert_eq!(timed_answer(&d, &text), unreadable, "{shown}");
    }
    for (text, code) in [
        (
            r#"[2,"a","BootNotification"]"#.to_owned(),
            "FormationViolation",
        ),
        (
            boot(r#","chargePointSerialNumber":18446744073709551616"#),
            "TypeConstraintViolation",
        ),
        (
            call(
                "a",
                "StatusNotification",
                r#"{"connectorId":18446744073709551616,"errorCode":"NoError","status":"Available"}"#,
            ),
            "GenericError",
        ),
        (
            call(
                "a",
                "StatusNotification",
                r#"{"connectorId":1.0,"errorCode":"NoError","status":"Available"}"#,
            ),
            "TypeConstraintViolation",
        ),
        (boot(r#","x":1"#), "FormationViolation"),
    ] {
        assert_eq!(
            timed_answer(&d, &text),
            ("a".to_owned(), Some(code.to_owned())),
            "{text}"
        );
    }
    // An unknown message type number is ignored (OCPP-J 1.6 §4.1.3): no reply, not even
    // `GenericError`.
    let unknown = r#"[7,"a","BootNotification",{}]"#;
    assert_eq!(ready(d.handle("CP-1", unknown)), None);
    assert_eq!(
        ready(Session::new(Arc::clone(&d), "CP-1").receive(unknown)),
        Outcome {
            reply: None,
            event: Event::Ignored(Ignored::UnknownMessageType {
                message_id: Some("a".to_owned())
            })
        }
    );
    // Repeated member names: the last one counts, as on every path.
    assert_eq!(
        timed_answer(&d, &boot(r#","chargePointVendor":"W""#)),
        ("a".to_owned(), None)
    );
    assert!(seen.seen.lock().unwrap()[0].contains(r#"charge_point_vendor: "W""#));
    // Answers to calls never sent, or sent twice, get no reply.
    let session = Session::new(Arc::clone(&d), "CP-1");
    for text in [r#"[3,"never",{}]"#, r#"[4,"never","GenericError","",{}]"#] {
        assert_eq!(ready(d.handle("CP-1", text)), None);
        assert!(matches!(
            ready(session.receive(text)),
            Outcome {
                reply: None,
                event: Event::Ignored(Ignored::Unmatched { .. })
            }
        ));
    }
    assert_eq!(seen.seen.lock().unwrap().len(), 1);
}

/// Frames of a message type number the version does not define: OCPP-J 1.6 and OCPP 2.1 ignore
/// them (no reply); 2.0.1 answers `MessageTypeNotSupported` with the frame's id by default,
/// and ignores them too when its dispatcher is `ignoring_unknown_message_types`. None reaches
/// a handler or settles a pending call, and a peer's `MessageTypeNotSupported` CALLERROR
/// answering one of our calls is accepted in every version.
#[test]
fn unknown_message_types_are_ignored_except_by_default_in_2_0_1() {
    let v1_6_seen: &'static Csms = Box::leak(Box::default());
    let v1_6 = Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM)
        .with(ocpp_messages::v1_6::core::CentralSystemService(v1_6_seen));
    let mut sides = vec![(
        Side {
            dispatcher: Arc::new(v1_6),
            seen: v1_6_seen,
            action: "BootNotification",
            payload: r#"{"chargePointVendor":"V","chargePointModel":"M"{member}}"#,
        },
        false,
    )];
    for side in both_roles(Limits::default()) {
        let answers = side.dispatcher.version() == OcppVersion::V2_0_1;
        sides.push((side, answers));
    }
    let (csms, seen) = dispatcher();
    let station_seen: &'static Csms = Box::leak(Box::default());
    let station = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
        .with(provisioning::ChargingStationService(station_seen));
    let ignoring = roles(
        Limits::default(),
        (csms.ignoring_unknown_message_types(), seen),
        (station.ignoring_unknown_message_types(), station_seen),
    );
    sides.extend(ignoring.into_iter().map(|side| (side, false)));
    assert_eq!(sides.len(), 7);

    for (side, answers) in &sides {
        let version = side.dispatcher.version();
        let name = format!("{version} {:?} {}", side.dispatcher.role(), side.action);
        assert_eq!(
            side.dispatcher.answers_unknown_message_types(),
            *answers,
            "{name}"
        );
        assert!(version.accepts_error_code(ErrorCode::MessageTypeNotSupported));
        let session = session(&side.dispatcher);
        let payload = side.payload("");
        let action = side.action;
        let mut frames = vec![
            format!(r#"[7,"u","{action}",{payload}]"#),
            format!(r#"[0,"u","{action}",{payload}]"#),
            format!(r#"[1,"u","{action}",{payload}]"#),
            format!(r#"[-2,"u","{action}",{payload}]"#),
            format!(r#"[2.5,"u","{action}",{payload}]"#),
            format!(r#"["2","u","{action}",{payload}]"#),
            format!(r#"[18446744073709551618,"u","{action}",{payload}]"#),
            r#"[7,"u",{"status":"Accepted"}]"#.to_owned(),
        ];
        if version != OcppVersion::V2_1 {
            // 2.1's CALLRESULTERROR and SEND are unknown message types before 2.1.
            frames.push(r#"[5,"u","GenericError","",{}]"#.to_owned());
            frames.push(format!(r#"[6,"u","{action}",{payload}]"#));
        }
        for text in &frames {
            let outcome = ready(session.receive(text));
            assert_eq!(
                outcome.reply,
                ready(side.dispatcher.handle("CS-1", text)),
                "{name}: {text}"
            );
            if *answers {
                let reply = outcome.reply.as_deref().unwrap_or_default();
                assert!(
                    reply.starts_with(r#"[4,"u","MessageTypeNotSupported","#),
                    "{name}: {text}: {reply}"
                );
                match &outcome.event {
                    Event::Rejected(Rejection { message_id, error }) => {
                        assert_eq!(message_id, "u", "{name}: {text}");
                        assert_eq!(error.code, ErrorCode::MessageTypeNotSupported);
                        assert_eq!(error.to_frame("u"), reply, "{name}: {text}");
                    }
                    other => panic!("{name}: {text}: {other:?}"),
                }
            } else {
                assert_eq!(
                    outcome,
                    Outcome {
                        reply: None,
                        event: Event::Ignored(Ignored::UnknownMessageType {
                            message_id: Some("u".to_owned())
                        })
                    },
                    "{name}: {text}"
                );
            }
        }
        // Beyond a limit, an unknown message type is still ignored where it is ignored;
        // where it is answered, the reply keeps the frame's id.
        let huge = format!(
            r#"[7,"u","{action}",{{"x":"{}"}}]"#,
            "x".repeat((1 << 20) + 1)
        );
        let outcome = ready(session.receive(&huge));
        assert_eq!(outcome.reply, ready(side.dispatcher.handle("CS-1", &huge)));
        if *answers {
            let reply = outcome.reply.unwrap_or_default();
            assert!(reply.starts_with(r#"[4,"u","#), "{name}: {reply}");
        } else {
            assert_eq!(
                outcome,
                Outcome {
                    reply: None,
                    event: Event::Ignored(Ignored::UnknownMessageType {
                        message_id: Some("u".to_owned())
                    })
                },
                "{name}"
            );
        }
        assert_eq!(side.seen(), 0, "{name}");
        assert_eq!(session.pending_calls(), 0, "{name}");

        if side.dispatcher.role() != Role::Csms {
            continue;
        }
        // A frame of an unknown type with the id of a pending call does not settle it.
        let id = reset_call(&session);
        let text = format!(r#"[7,"{id}",{{"status":"Accepted"}}]"#);
        let outcome = ready(session.receive(&text));
        assert_eq!(outcome.reply.is_some(), *answers, "{name}: {outcome:?}");
        assert_eq!(session.pending_calls(), 1, "{name}");
        // The peer's MessageTypeNotSupported CALLERROR answering our call is accepted.
        let text = format!(
            r#"[4,"{id}","MessageTypeNotSupported","message type 2 is not supported",{{"type":2}}]"#
        );
        assert_eq!(ready(side.dispatcher.handle("CS-1", &text)), None);
        let outcome = ready(session.receive(&text));
        assert_eq!(outcome.reply, None, "{name}");
        let Event::Answered(answer) = outcome.event else {
            panic!("{name}: {:?}", outcome.event);
        };
        assert_eq!((answer.message_id.as_str(), answer.action), (&*id, "Reset"));
        match answer.result {
            Err(ResponseError::Peer(e)) => {
                assert_eq!(e.code, "MessageTypeNotSupported", "{name}");
                assert_eq!(e.known_code(), Some(ErrorCode::MessageTypeNotSupported));
                assert_eq!(e.description, "message type 2 is not supported");
                assert_eq!(e.details["type"], 2);
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(session.pending_calls(), 0, "{name}");
    }
}
