//! OCPP 2.1 through its dispatchers: every CALL action of both roles reaches its own method
//! from the right side only; the SEND NotifyPeriodicEventStream is delivered and never
//! answered (not even when invalid); an invalid CALLRESULT is answered with a CALLRESULTERROR
//! carrying its id; the peer's CALLRESULTERROR is reported, not answered.
#![allow(clippy::unwrap_used)]

#[path = "support/dispatch.rs"]
mod helpers;

#[path = "generated/v2_1_recorder.rs"]
#[rustfmt::skip]
mod recorder;

use std::sync::{Arc, Mutex};

use helpers::{minimal, run};
use ocpp_messages::rpc::{Dispatcher, Event, Outcome, Rejection, ResponseError, Session};
use ocpp_messages::v2_1::diagnostics::{self, NotifyPeriodicEventStreamRequest};
use ocpp_messages::v2_1::provisioning::{Reset, ResetFeature, ResetRequest};
use ocpp_messages::v2_1::PROFILES;
use ocpp_messages::validate::validate;
use ocpp_messages::{ErrorCode, OcppVersion, Role};
use recorder::Recorder;
use serde_json::{json, Value};

#[test]
fn every_action_reaches_its_method_and_only_from_the_right_side() {
    let features: Vec<_> = PROFILES.iter().flat_map(|p| p.features.iter()).collect();
    assert_eq!(PROFILES.len(), 19);
    assert_eq!(features.len(), 91);
    assert_eq!(features.iter().filter(|f| f.send).count(), 1);

    let recorder = Arc::new(Recorder::default());
    let csms = recorder::csms_dispatcher(&recorder);
    let station = recorder::charging_station_dispatcher(&recorder);
    let (mut calls, mut sends) = (0, 0);
    for f in &features {
        let payload = minimal(f.request);
        assert_eq!(validate(f.request, &payload), vec![], "{}", f.name);
        let message_type = if f.send { 6 } else { 2 };
        let frame = json!([message_type, "m1", f.name, payload]).to_string();
        for (dispatcher, sender) in [(&csms, Role::ChargingStation), (&station, Role::Csms)] {
            recorder.calls.lock().unwrap().clear();
            let reply = run(dispatcher.handle("CS-7", &frame));
            let recorded = recorder.calls.lock().unwrap().clone();
            let id = (sender == Role::ChargingStation).then(|| "CS-7".to_owned());
            match (f.send, f.initiator.may_be_sent_by(sender)) {
                // A SEND reaches its method, and nothing is sent back.
                (true, true) => {
                    assert_eq!(reply, None, "{}", f.name);
                    assert_eq!(recorded, vec![(f.name, id)], "{}", f.name);
                    sends += 1;
                }
                // A SEND from the wrong side is not delivered, and not answered either.
                (true, false) => {
                    assert_eq!(reply, None, "{}", f.name);
                    assert!(recorded.is_empty(), "{}", f.name);
                }
                (false, true) => {
                    let reply: Value = serde_json::from_str(&reply.unwrap()).unwrap();
                    assert_eq!(reply[2], "GenericError", "{}: {reply}", f.name);
                    assert_eq!(recorded, vec![(f.name, id)], "{}", f.name);
                    calls += 1;
                }
                (false, false) => {
                    let reply: Value = serde_json::from_str(&reply.unwrap()).unwrap();
                    assert_eq!(reply[2], "NotSupported", "{}: {reply}", f.name);
                    assert!(recorded.is_empty(), "{}", f.name);
                }
            }
        }
    }
    // 90 CALL actions (DataTransfer both ways) and one SEND from the station.
    assert_eq!((calls, sends), (91, 1));
}

#[derive(Default)]
struct Streams {
    received: Mutex<Vec<NotifyPeriodicEventStreamRequest>>,
}

impl diagnostics::CsmsHandler for Streams {
    async fn on_notify_periodic_event_stream(
        &self,
        _: &str,
        request: NotifyPeriodicEventStreamRequest,
    ) {
        self.received.lock().unwrap().push(request);
    }
}

fn stream(id: &str, payload: &str) -> String {
    format!(r#"[6,"{id}","NotifyPeriodicEventStream",{payload}]"#)
}

const STREAM: &str =
    r#"{"id":3,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[{"t":1.5,"v":"230.1"}]}"#;

/// A SEND is delivered when valid and never answered; what became of it is reported.
#[test]
fn sends_are_delivered_and_never_answered() {
    let streams = Arc::new(Streams::default());
    let csms = Arc::new(
        Dispatcher::new(OcppVersion::V2_1, Role::Csms)
            .with(diagnostics::CsmsService(Arc::clone(&streams))),
    );
    let session = Session::new(Arc::clone(&csms), "CS-1");

    assert_eq!(run(csms.handle("CS-1", &stream("s1", STREAM))), None);
    let received = streams.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!((received[0].id, received[0].data[0].t), (3, 1.5));
    assert_eq!(received[0].data[0].v, "230.1");

    // Nothing is ever sent back for a SEND.
    let outcome = |text: &str| match run(session.receive(text)) {
        Outcome { reply: None, event } => event,
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(
        outcome(&stream("s2", STREAM)),
        Event::Delivered {
            message_id: "s2".to_owned(),
            action: "NotifyPeriodicEventStream"
        }
    );
    // Invalid payloads, unknown actions and malformed SENDs: reported, never answered.
    let cases = [
        (
            stream(
                "s3",
                r#"{"id":3,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[]}"#,
            ),
            "s3",
            ErrorCode::OccurrenceConstraintViolation,
        ),
        (
            stream(
                "s4",
                r#"{"id":-1,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[{"t":0,"v":"x"}]}"#,
            ),
            "s4",
            ErrorCode::PropertyConstraintViolation,
        ),
        (
            r#"[6,"s5","Teleport",{}]"#.to_owned(),
            "s5",
            ErrorCode::NotImplemented,
        ),
        (
            r#"[6,"s6","Heartbeat",{}]"#.to_owned(),
            "s6",
            ErrorCode::NotSupported,
        ),
        (
            r#"[6,"s7","NotifyPeriodicEventStream"]"#.to_owned(),
            "s7",
            ErrorCode::RpcFrameworkError,
        ),
    ];
    for (text, id, code) in cases {
        assert_eq!(run(csms.handle("CS-1", &text)), None, "{text}");
        match outcome(&text) {
            Event::Rejected(Rejection { message_id, error }) => {
                assert_eq!(message_id, id, "{text}");
                assert_eq!(error.code, code, "{text}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    assert_eq!(streams.received.lock().unwrap().len(), 2);

    // The SEND action as a CALL is refused; a SEND under 2.0.1 is an unknown message type.
    let reply = run(csms.handle("CS-1", &stream("c1", STREAM).replacen("[6", "[2", 1))).unwrap();
    assert!(reply.starts_with(r#"[4,"c1","NotSupported","#), "{reply}");
    let v201 = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms);
    let reply = run(v201.handle("CS-1", &stream("s8", STREAM))).unwrap();
    assert!(
        reply.starts_with(r#"[4,"s8","MessageTypeNotSupported","#),
        "{reply}"
    );
}

/// An invalid CALLRESULT to our call is answered with a CALLRESULTERROR carrying its id; the
/// peer's CALLRESULTERROR is reported and not answered.
#[test]
fn invalid_call_results_get_a_call_result_error() {
    let csms = Arc::new(Dispatcher::new(OcppVersion::V2_1, Role::Csms));
    let session = Session::new(Arc::clone(&csms), "CS-1");
    let call = || {
        let (id, _) = session
            .call::<ResetFeature>(&ResetRequest::new(Reset::Immediate))
            .unwrap();
        id
    };

    let id = call();
    let text = format!(r#"[3,"{id}",{{"status":"Maybe"}}]"#);
    match run(session.receive(&text)) {
        Outcome {
            reply: Some(reply),
            event: Event::Answered(answer),
        } => {
            assert_eq!(answer.action, "Reset");
            assert!(matches!(answer.result, Err(ResponseError::Invalid(_))));
            let reply: Value = serde_json::from_str(&reply).unwrap();
            assert_eq!(reply[0], 5);
            assert_eq!(reply[1], id.as_str());
            assert_eq!(reply[2], "PropertyConstraintViolation");
            assert_eq!(reply[4]["errors"][0]["path"], "/status");
        }
        other => panic!("{other:?}"),
    }

    let id = call();
    let text = format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#);
    match run(session.receive(&text)) {
        Outcome {
            reply: None,
            event: Event::Answered(answer),
        } => {
            assert_eq!(
                answer
                    .into_response::<ResetFeature>()
                    .unwrap()
                    .status
                    .as_str(),
                "Accepted"
            );
        }
        other => panic!("{other:?}"),
    }

    let text = r#"[5,"x9","FormatViolation","your CALLRESULT was not an object",{"at":"/"}]"#;
    assert_eq!(run(csms.handle("CS-1", text)), None);
    match run(session.receive(text)) {
        Outcome {
            reply: None,
            event: Event::ResultError { message_id, error },
        } => {
            assert_eq!(message_id, "x9");
            assert_eq!(error.code, "FormatViolation");
            assert_eq!(error.known_code(), Some(ErrorCode::FormatViolation));
            assert_eq!(error.description, "your CALLRESULT was not an object");
            assert_eq!(error.details["at"], "/");
        }
        other => panic!("{other:?}"),
    }

    // Under 2.0.1 an invalid CALLRESULT is only an error result: no type 5 exists there.
    let session = Session::new(Dispatcher::new(OcppVersion::V2_0_1, Role::Csms), "CS-1");
    let (id, _) = session
        .call::<ocpp_messages::v2_0_1::provisioning::ResetFeature>(
            &ocpp_messages::v2_0_1::provisioning::ResetRequest::new(
                ocpp_messages::v2_0_1::provisioning::Reset::Immediate,
            ),
        )
        .unwrap();
    let text = format!(r#"[3,"{id}",{{"status":"Maybe"}}]"#);
    assert!(matches!(
        run(session.receive(&text)),
        Outcome {
            reply: None,
            event: Event::Answered(answer),
        } if matches!(answer.result, Err(ResponseError::Invalid(_)))
    ));
}
