//! Hostile and odd input against the dispatcher, through the fast path and the slow one: every
//! frame gets the CALLERROR the specification prescribes (or none, for an answer), never a
//! panic, and what is valid but unusual is still served.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::Mutex;

use ocpp_messages::dispatch::{Dispatcher, Incoming};
use ocpp_messages::v2_0_1::meter::{self, MeterValuesRequest, MeterValuesResponse};
use ocpp_messages::v2_0_1::security::{
    self, SecurityEventNotificationRequest, SecurityEventNotificationResponse,
};
use ocpp_messages::{CallError, OcppVersion, Role};

/// Records the requests that reach it.
#[derive(Default)]
struct Csms {
    seen: Mutex<Vec<String>>,
}

impl security::CsmsHandler for &'static Csms {
    async fn on_security_event_notification(
        &self,
        _: &str,
        request: SecurityEventNotificationRequest,
    ) -> Result<SecurityEventNotificationResponse, CallError> {
        self.seen.lock().unwrap().push(format!("{request:?}"));
        Ok(SecurityEventNotificationResponse::new())
    }
}

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
