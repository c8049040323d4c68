//! Dispatch of the generated 2.0.1 Security block, for both roles.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ocpp_messages::frame::Frame;
use ocpp_messages::rpc::{call_frame, decode_response, ResponseError};
use ocpp_messages::rpc::{Dispatcher, Event, Ignored, Session};
use ocpp_messages::v2_0_1::security::{
    self, CertificateSignedFeature, CertificateSignedRequest, CertificateSignedResponse,
    CertificateSignedStatus, SecurityEventNotificationRequest, SecurityEventNotificationResponse,
    SignCertificateFeature, SignCertificateRequest, SignCertificateResponse,
};
use ocpp_messages::v2_0_1::types::GenericStatus;
use ocpp_messages::{CallError, ErrorCode, OcppVersion, Role};
use serde_json::{json, Value};

#[derive(Default)]
struct Csms {
    calls: AtomicUsize,
}

impl security::CsmsHandler for Csms {
    async fn on_security_event_notification(
        &self,
        charging_station_id: &str,
        request: SecurityEventNotificationRequest,
    ) -> Result<SecurityEventNotificationResponse, CallError> {
        assert_eq!(charging_station_id, "CS-1");
        assert_eq!(request.type_, "FirmwareUpdated");
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(SecurityEventNotificationResponse::new())
    }

    async fn on_sign_certificate(
        &self,
        charging_station_id: &str,
        request: SignCertificateRequest,
    ) -> Result<SignCertificateResponse, CallError> {
        assert_eq!(charging_station_id, "CS-1");
        self.calls.fetch_add(1, Ordering::SeqCst);
        match request.csr.as_str() {
            "fail" => Err(CallError::new(ErrorCode::SecurityError, "CSR refused")),
            _ => Ok(SignCertificateResponse::new(GenericStatus::Accepted)),
        }
    }
}

/// A station that answers CertificateSigned with a response the schema rejects.
struct BrokenStation;

impl security::ChargingStationHandler for BrokenStation {
    async fn on_certificate_signed(
        &self,
        _request: CertificateSignedRequest,
    ) -> Result<CertificateSignedResponse, CallError> {
        let mut response = CertificateSignedResponse::new(CertificateSignedStatus::Accepted);
        response.status_info = Some(ocpp_messages::v2_0_1::types::StatusInfo::new(
            "x".repeat(21),
        ));
        Ok(response)
    }
}

struct DefaultStation;
impl security::ChargingStationHandler for DefaultStation {}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn csms() -> (Arc<Csms>, Dispatcher) {
    let app = Arc::new(Csms::default());
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(security::CsmsService(Arc::clone(&app)));
    (app, dispatcher)
}

/// The reply frame, parsed.
fn reply(dispatcher: &Dispatcher, frame: &str) -> Value {
    let text = run(dispatcher.handle("CS-1", frame)).expect("a CALL is answered");
    serde_json::from_str(&text).unwrap()
}

fn assert_call_error(reply: &Value, id: &str, code: &str) {
    assert_eq!(reply[0], 4, "{reply}");
    assert_eq!(reply[1], id, "{reply}");
    assert_eq!(reply[2], code, "{reply}");
    assert!(reply[3].as_str().unwrap().chars().count() <= 255);
    assert!(reply[4].is_object(), "{reply}");
}

#[test]
fn csms_methods_are_called() {
    let (app, d) = csms();
    let r = reply(
        &d,
        r#"[2,"1","SignCertificate",{"csr":"-----BEGIN CSR-----"}]"#,
    );
    assert_eq!(r, json!([3, "1", {"status": "Accepted"}]));
    let r = reply(
        &d,
        r#"[2,"2","SecurityEventNotification",{"type":"FirmwareUpdated","timestamp":"2024-01-01T12:00:00+01:00"}]"#,
    );
    assert_eq!(r, json!([3, "2", {}]));
    assert_eq!(app.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn handler_errors_become_call_errors() {
    let (_, d) = csms();
    let r = reply(&d, r#"[2,"1","SignCertificate",{"csr":"fail"}]"#);
    assert_call_error(&r, "1", "SecurityError");
    assert_eq!(r[3], "CSR refused");
    assert_eq!(r[4], json!({}));
}

#[test]
fn station_method_is_called_and_default_answers_not_supported() {
    let d = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
        .with(security::ChargingStationService(DefaultStation));
    let r = reply(
        &d,
        r#"[2,"7","CertificateSigned",{"certificateChain":"PEM"}]"#,
    );
    assert_call_error(&r, "7", "NotSupported");

    // A CSMS dispatcher with no service for the block answers NotSupported too.
    let empty = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms);
    let r = reply(&empty, r#"[2,"8","SignCertificate",{"csr":"x"}]"#);
    assert_call_error(&r, "8", "NotSupported");
}

#[test]
fn invalid_handler_response_is_internal_error() {
    let d = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
        .with(security::ChargingStationService(BrokenStation));
    let r = reply(
        &d,
        r#"[2,"9","CertificateSigned",{"certificateChain":"PEM"}]"#,
    );
    assert_call_error(&r, "9", "InternalError");
}

#[test]
fn unknown_and_wrong_direction_actions() {
    let (app, d) = csms();
    assert_call_error(
        &reply(&d, r#"[2,"1","Teleport",{}]"#),
        "1",
        "NotImplemented",
    );
    // CertificateSigned is sent by the CSMS, never to it.
    let r = reply(
        &d,
        r#"[2,"2","CertificateSigned",{"certificateChain":"PEM"}]"#,
    );
    assert_call_error(&r, "2", "NotSupported");
    // And the station does not accept what stations send.
    let station = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
        .with(security::ChargingStationService(DefaultStation));
    let r = reply(&station, r#"[2,"3","SignCertificate",{"csr":"x"}]"#);
    assert_call_error(&r, "3", "NotSupported");
    assert_eq!(app.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn invalid_payloads_are_rejected_before_the_handler() {
    let (app, d) = csms();
    let cases = [
        (r#"{"csr":5}"#, "TypeConstraintViolation", "/csr"),
        (r#"{"csr":null}"#, "TypeConstraintViolation", "/csr"),
        (r#"{}"#, "OccurrenceConstraintViolation", "/csr"),
        (r#"{"csr":"x","extra":1}"#, "ProtocolError", "/extra"),
        (
            r#"{"csr":"x","certificateType":"Nope"}"#,
            "PropertyConstraintViolation",
            "/certificateType",
        ),
        (r#"[]"#, "FormatViolation", ""),
    ];
    for (payload, code, path) in cases {
        let r = reply(&d, &format!(r#"[2,"1","SignCertificate",{payload}]"#));
        assert_call_error(&r, "1", code);
        assert_eq!(r[4]["errors"][0]["path"], path, "{payload}: {r}");
    }
    let long = "é".repeat(5501);
    let r = reply(
        &d,
        &format!(r#"[2,"1","SignCertificate",{{"csr":"{long}"}}]"#),
    );
    assert_call_error(&r, "1", "PropertyConstraintViolation");
    assert_eq!(app.calls.load(Ordering::SeqCst), 0);
    let fits = "é".repeat(5500);
    let r = reply(
        &d,
        &format!(r#"[2,"1","SignCertificate",{{"csr":"{fits}"}}]"#),
    );
    assert_eq!(r[0], 3);
}

#[test]
fn every_violation_is_reported() {
    let (_, d) = csms();
    let r = reply(
        &d,
        r#"[2,"1","SecurityEventNotification",{"type":7,"timestamp":"2024-01-01 12:00:00Z","x":null}]"#,
    );
    // The most fundamental class decides the code: an undefined member (ProtocolError).
    assert_call_error(&r, "1", "ProtocolError");
    let paths: Vec<&str> = r[4]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/type", "/timestamp", "/x"]);
}

#[test]
fn malformed_frames() {
    let (_, d) = csms();
    for bad in ["", "nonsense", "{}", "[2]", r#"[2,7,"SignCertificate",{}]"#] {
        let r = reply(&d, bad);
        assert_call_error(&r, "-1", "RpcFrameworkError");
        assert!(!r[3].as_str().unwrap().contains("nonsense"));
    }
    assert_call_error(&reply(&d, r#"[2,"5",7,{}]"#), "5", "RpcFrameworkError");
    assert_call_error(&reply(&d, r#"[7,"5",{}]"#), "5", "MessageTypeNotSupported");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_call_error(&reply(&d, &deep), "-1", "RpcFrameworkError");
    let deep_payload = format!(
        r#"[2,"6","SignCertificate",{{"csr":"x","customData":{{"vendorId":"v","x":{}{}}}}}]"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert_call_error(&reply(&d, &deep_payload), "-1", "RpcFrameworkError");

    let small = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with_max_frame_len(64);
    let huge = format!(
        r#"[2,"7","SignCertificate",{{"csr":"{}"}}]"#,
        "x".repeat(100)
    );
    let r = reply(&small, &huge);
    assert_call_error(&r, "-1", "RpcFrameworkError");
    assert!(r[3].as_str().unwrap().contains("longer than the limit"));
}

#[test]
fn responses_are_handed_back() {
    let (_, d) = csms();
    let frame = r#"[3,"42",{"status":"Accepted"}]"#;
    // Through a session, an answer to nothing pending is ignored, not answered.
    let session = Session::new(d, "CS-1");
    let outcome = run(session.receive(frame));
    assert_eq!(outcome.reply, None);
    assert_eq!(
        outcome.event,
        Event::Ignored(Ignored::Unmatched {
            message_id: "42".to_owned()
        })
    );
    assert_eq!(run(session.dispatcher().handle("CS-1", frame)), None);
}

#[test]
fn outgoing_calls_and_their_answers() {
    let v = OcppVersion::V2_0_1;
    let request = CertificateSignedRequest::new("PEM");
    let frame = call_frame::<CertificateSignedFeature>("c1", &request).unwrap();
    assert_eq!(
        frame,
        r#"[2,"c1","CertificateSigned",{"certificateChain":"PEM"}]"#
    );

    let too_long = SignCertificateRequest::new("x".repeat(5501));
    let err = call_frame::<SignCertificateFeature>("c2", &too_long).unwrap_err();
    assert_eq!(err[0].pointer, "/csr");
    assert_eq!(
        v.error_code_for(&err),
        Some(ErrorCode::PropertyConstraintViolation)
    );
    // The same check without building a frame.
    assert_eq!(too_long.validate(), Err(err));

    let ok = Frame::parse(r#"[3,"c1",{"status":"Rejected"}]"#).unwrap();
    let response = decode_response::<CertificateSignedFeature>(v, ok).unwrap();
    assert_eq!(response.status, CertificateSignedStatus::Rejected);

    let invalid = Frame::parse(r#"[3,"c1",{"status":"Maybe"}]"#).unwrap();
    assert!(matches!(
        decode_response::<CertificateSignedFeature>(v, invalid),
        Err(ResponseError::Invalid(e)) if e.code == ErrorCode::PropertyConstraintViolation
    ));

    let refused = Frame::parse(r#"[4,"c1","NotSupported","no",{}]"#).unwrap();
    assert!(matches!(
        decode_response::<CertificateSignedFeature>(v, refused),
        Err(ResponseError::Peer(e)) if e.code == "NotSupported"
    ));
}

#[test]
fn handler_futures_run_on_a_multi_threaded_runtime() {
    let (app, d) = csms();
    let d = Arc::new(d);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let replies = rt.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let d = Arc::clone(&d);
                tokio::spawn(async move {
                    d.handle(
                        "CS-1",
                        &format!(r#"[2,"{i}","SignCertificate",{{"csr":"x"}}]"#),
                    )
                    .await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap().unwrap());
        }
        out
    });
    assert_eq!(replies.len(), 8);
    assert!(replies.iter().all(|r| r.contains("Accepted")));
    assert_eq!(app.calls.load(Ordering::SeqCst), 8);
}

#[test]
fn receive_serves_calls_and_matches_answers_to_pending_calls() {
    let csms = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(security::CsmsService(Arc::new(Csms::default())));
    let session = Session::new(csms, "CS-1");
    let request = CertificateSignedRequest::new("PEM");
    let (first, _) = session.call::<CertificateSignedFeature>(&request).unwrap();
    let (second, _) = session.call::<CertificateSignedFeature>(&request).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let receive = |text: &str| rt.block_on(session.receive(text));

    // A CALL is served.
    let outcome = receive(r#"[2,"c1","SignCertificate",{"csr":"x"}]"#);
    assert_eq!(
        outcome.reply.as_deref(),
        Some(r#"[3,"c1",{"status":"Accepted"}]"#)
    );
    assert_eq!(
        outcome.event,
        Event::Served {
            message_id: "c1".to_owned(),
            action: "SignCertificate",
            error: None
        }
    );
    // A CALLRESULT answers the first call, typed and validated.
    let outcome = receive(&format!(r#"[3,"{first}",{{"status":"Rejected"}}]"#));
    assert_eq!(outcome.reply, None);
    let Event::Answered(answer) = outcome.event else {
        panic!("not an answer")
    };
    let response = answer.into_response::<CertificateSignedFeature>().unwrap();
    assert_eq!(response.status, CertificateSignedStatus::Rejected);
    // A CALLERROR answers the second.
    let Event::Answered(answer) =
        receive(&format!(r#"[4,"{second}","NotSupported","no",{{}}]"#)).event
    else {
        panic!("not an answer")
    };
    assert!(matches!(
        answer.into_response::<CertificateSignedFeature>(),
        Err(ResponseError::Peer(e)) if e.code == "NotSupported" && e.description == "no"
    ));
    // An answer to nothing pending is handed back, not answered.
    let outcome = receive(&format!(r#"[3,"{first}",{{"status":"Accepted"}}]"#));
    assert_eq!(outcome.reply, None);
    assert!(matches!(
        outcome.event,
        Event::Ignored(Ignored::Unmatched { message_id }) if message_id == first
    ));
    assert_eq!(session.pending_calls(), 0);
}

#[test]
fn a_dropped_connection_fails_every_pending_call_and_sends_carry_their_ids() {
    let session = Session::new(Dispatcher::new(OcppVersion::V2_0_1, Role::Csms), "CS-1");
    let request = CertificateSignedRequest::new("PEM");
    let (first, _) = session.call::<CertificateSignedFeature>(&request).unwrap();
    let (second, _) = session.call::<CertificateSignedFeature>(&request).unwrap();
    let lost = CallError::internal("connection lost");
    let mut failed = session.fail_all(&lost);
    failed.sort_by(|a, b| a.message_id.cmp(&b.message_id));
    let ids: Vec<&str> = failed.iter().map(|a| a.message_id.as_str()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert!(failed
        .iter()
        .all(|a| a.result == Err(ResponseError::Invalid(lost.clone()))));
    assert_eq!(session.pending_calls(), 0);
    assert!(session.fail_all(&lost).is_empty());
    // A late answer is then unmatched.
    let outcome = run(session.receive(&format!(r#"[3,"{first}",{{"status":"Accepted"}}]"#)));
    assert!(matches!(
        outcome.event,
        Event::Ignored(Ignored::Unmatched { .. })
    ));
}
