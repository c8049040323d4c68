//! Hostile and odd input against the dispatcher, through the fast path and the slow one: every
//! frame gets the CALLERROR the specification prescribes (or none, for an answer), never a
//! panic, and what is valid but unusual is still served.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::Mutex;

use std::time::{Duration, Instant};

use ocpp_messages::rpc::{CallRefused, PendingCalls, ResponseError};
use ocpp_messages::rpc::{Dispatcher, Incoming, Received};
use ocpp_messages::limits::Limits;
use ocpp_messages::v2_0_1::meter::{self, MeterValuesRequest, MeterValuesResponse};
use ocpp_messages::v2_0_1::provisioning::{self, Reset, ResetFeature, ResetRequest};
use ocpp_messages::v2_0_1::security;
use ocpp_messages::{CallError, OcppVersion, Role};

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
    dispatcher: std::sync::Arc<Dispatcher>,
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
            dispatcher: std::sync::Arc::new(csms.with_limits(limits)),
            seen,
            action: "SecurityEventNotification",
            payload: r#"{"type":"T","timestamp":"2024-01-01T00:00:00Z"{member}}"#,
        },
        Side {
            dispatcher: std::sync::Arc::new(station.with_limits(limits)),
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

/// Makes a Reset call of `version` pending in `pending`; returns its message id.
fn reset_call(pending: &Mutex<PendingCalls>, version: OcppVersion) -> String {
    let mut pending = pending.lock().unwrap();
    let (id, _) = match version {
        OcppVersion::V2_1 => {
            use ocpp_messages::v2_1::provisioning::{Reset, ResetFeature, ResetRequest};
            pending.call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle))
        }
        _ => pending.call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle)),
    }
    .unwrap();
    id
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
    for text in [
        r#"[3,"never-sent",{}]"#,
        r#"[4,"never-sent","GenericError","",{}]"#,
    ] {
        assert!(matches!(
            ready(d.handle_frame("CS-1", text)),
            Incoming::Response(_)
        ));
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
        // Bytes that are not UTF-8, through the byte entry points.
        for bytes in [
            &b"\xff"[..],
            b"[2,\"a\",\"Reset\",{\"type\":\"\xc3\x28\"}]",
            b"[2,\"\xed\xa0\x80\",\"Reset\",{}]",
        ] {
            let reply = ready(side.dispatcher.handle_bytes("CS-1", bytes)).unwrap();
            assert!(
                reply.starts_with(r#"[4,"-1","RpcFrameworkError","#),
                "{reply}"
            );
            let pending = Mutex::new(PendingCalls::new(side.dispatcher.version()));
            let received = ready(side.dispatcher.receive_bytes("CS-1", bytes, &pending));
            assert_eq!(received, Received::Reply(reply));
        }
        let valid_bytes = ready(side.dispatcher.handle_bytes("CS-1", valid.as_bytes()));
        assert_eq!(valid_bytes, ready(side.dispatcher.handle("CS-1", &valid)));
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
                format!(r#"[7,"a","{}",{payload}]"#, side.action),
                "MessageTypeNotSupported",
            ),
            (
                format!(r#"[-2,"a","{}",{payload}]"#, side.action),
                "MessageTypeNotSupported",
            ),
            (
                format!(r#"[2.5,"a","{}",{payload}]"#, side.action),
                "MessageTypeNotSupported",
            ),
            (
                format!(r#"[18446744073709551618,"a","{}",{payload}]"#, side.action),
                "MessageTypeNotSupported",
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
        let pending = Mutex::new(PendingCalls::new(side.dispatcher.version()));
        let id = reset_call(&pending, side.dispatcher.version());
        let receive = |text: &str| ready(side.dispatcher.receive("CS-1", text, &pending));
        for text in [
            r#"[3,"never-sent",{"status":"Accepted"}]"#.to_owned(),
            r#"[4,"never-sent","GenericError","",{}]"#.to_owned(),
            format!(r#"[3,"{id}x",{{"status":"Accepted"}}]"#),
        ] {
            assert_eq!(
                receive(&text),
                Received::Unmatched(ocpp_messages::rpc::Unmatched {
                    message_id: serde_json::from_str::<serde_json::Value>(&text).unwrap()[1]
                        .as_str()
                        .unwrap()
                        .to_owned()
                }),
                "{text}"
            );
            assert_eq!(pending.lock().unwrap().len(), 1, "{text}");
        }
        // The first answer is matched; the same answer again, or a CALLERROR for the same id,
        // is unmatched, and nothing is ever sent back for an answer.
        let answer = format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#);
        let Received::Answer(first) = receive(&answer) else {
            panic!("the first answer is matched")
        };
        assert_eq!(first.result.unwrap()["status"], "Accepted");
        for again in [
            answer.clone(),
            format!(r#"[4,"{id}","GenericError","",{{}}]"#),
        ] {
            assert!(matches!(receive(&again), Received::Unmatched(u) if u.message_id == id));
            assert_eq!(ready(side.dispatcher.handle("CS-1", &again)), None);
        }
        assert!(pending.lock().unwrap().is_empty());
        // An invalid answer is matched and reported, not replied to.
        let id = reset_call(&pending, side.dispatcher.version());
        // 2.1 answers it with a CALLRESULTERROR carrying its id; 2.0.1 sends nothing.
        let invalid = match receive(&format!(r#"[3,"{id}",{{"status":"Maybe"}}]"#)) {
            Received::Answer(answer) if side.dispatcher.version() == OcppVersion::V2_0_1 => answer,
            Received::RejectedAnswer { answer, reply }
                if side.dispatcher.version() == OcppVersion::V2_1 =>
            {
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

        // An answer that breaks a limit is not replied to; the call it answers fails.
        let pending = Mutex::new(PendingCalls::new(side.dispatcher.version()));
        let id = reset_call(&pending, side.dispatcher.version());
        let answer = format!(
            r#"[3,"{id}",{{"status":"Accepted","customData":{{"vendorId":"v","x":"{long}"}}}}]"#
        );
        assert!(matches!(
            ready(side.dispatcher.handle_frame("CS-1", &answer)),
            Incoming::Refused { message_id, error } if message_id == id && error.code.as_str() == "PropertyConstraintViolation"
        ));
        assert_eq!(ready(side.dispatcher.handle("CS-1", &answer)), None);
        let refused = match ready(side.dispatcher.receive("CS-1", &answer, &pending)) {
            Received::Answer(answer) => answer,
            // 2.1: the refused CALLRESULT is answered with a CALLRESULTERROR.
            Received::RejectedAnswer { answer, .. }
                if side.dispatcher.version() == OcppVersion::V2_1 =>
            {
                answer
            }
            other => panic!("the refused answer ends the call: {other:?}"),
        };
        assert!(matches!(refused.result, Err(ResponseError::Invalid(_))));
        assert!(pending.lock().unwrap().is_empty());
        let error = format!(r#"[4,"{id}","GenericError","",{{"x":[{many}]}}]"#);
        assert!(matches!(
            ready(side.dispatcher.receive("CS-1", &error, &pending)),
            Received::Unmatched(_)
        ));
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
    let mut pending = PendingCalls::new(OcppVersion::V2_0_1);
    assert_eq!(
        pending.max_pending(),
        ocpp_messages::rpc::DEFAULT_MAX_PENDING
    );
    let request = ResetRequest::new(Reset::OnIdle);
    for _ in 0..ocpp_messages::rpc::DEFAULT_MAX_PENDING {
        pending.call::<ResetFeature>(&request).unwrap();
    }
    let limit = ocpp_messages::rpc::DEFAULT_MAX_PENDING;
    assert_eq!(
        pending.call::<ResetFeature>(&request),
        Err(CallRefused::TooManyPending { limit })
    );
    assert_eq!(
        pending.call_with_id::<ResetFeature>("fresh", &request),
        Err(CallRefused::TooManyPending { limit })
    );
    assert_eq!(pending.len(), limit);
    assert!(pending.cancel("1"));
    assert!(pending
        .call_with_id::<ResetFeature>("fresh", &request)
        .is_ok());

    let mut one = PendingCalls::new(OcppVersion::V2_0_1).with_max_pending(0);
    assert_eq!(one.max_pending(), 1);
    assert!(one.call::<ResetFeature>(&request).is_ok());
    assert_eq!(
        one.call::<ResetFeature>(&request),
        Err(CallRefused::TooManyPending { limit: 1 })
    );
    // Ids the peer could not read are refused too.
    for id in [String::new(), "x".repeat(37)] {
        assert_eq!(
            PendingCalls::new(OcppVersion::V2_0_1).call_with_id::<ResetFeature>(&id, &request),
            Err(CallRefused::InvalidMessageId)
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
    let d = Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM)
        .with(ocpp_messages::v1_6::core::CentralSystemService(seen));
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
            r#"[7,"a","BootNotification",{}]"#.to_owned(),
            "GenericError",
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
    // Repeated member names: the last one counts, as on every path.
    assert_eq!(
        timed_answer(&d, &boot(r#","chargePointVendor":"W""#)),
        ("a".to_owned(), None)
    );
    assert!(seen.seen.lock().unwrap()[0].contains(r#"charge_point_vendor: "W""#));
    // Answers to calls never sent, or sent twice, get no reply.
    let pending = Mutex::new(PendingCalls::new(OcppVersion::V1_6));
    for text in [r#"[3,"never",{}]"#, r#"[4,"never","GenericError","",{}]"#] {
        assert_eq!(ready(d.handle("CP-1", text)), None);
        assert!(matches!(
            ready(d.receive("CP-1", text, &pending)),
            Received::Unmatched(_)
        ));
    }
    assert_eq!(seen.seen.lock().unwrap().len(), 1);
}
