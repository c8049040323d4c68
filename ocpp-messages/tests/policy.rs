//! The validation policy: strict by default; relaxed only where a rule says so, for the
//! direction, stations and actions it names; unknown members kept through a round trip;
//! violations reported to the callback; outgoing responses strict unless a rule relaxes them.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::sync::{Arc, Mutex};

use ocpp_messages::policy::{unknown_members, Direction, Leniency, Policy, Rule};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus,
};
use ocpp_messages::v2_0_1::types::StatusInfo;
use ocpp_messages::validate::ViolationKind;
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};
use serde_json::{json, Value};

/// What reached the handler: the request, and the unknown members it could see.
type Seen = Vec<(BootNotificationRequest, Option<Value>)>;

#[derive(Default)]
struct Csms {
    seen: Mutex<Seen>,
}

impl provisioning::CsmsHandler for Csms {
    async fn on_boot_notification(
        &self,
        station: &str,
        request: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        let unknown = unknown_members().map(|u| u.to_json());
        self.seen.lock().unwrap().push((request, unknown));
        let response =
            BootNotificationResponse::new(DateTime::now(), 300, RegistrationStatus::Accepted);
        // One station's handler answers with a reason code longer than its maxLength of 20.
        Ok(if station.ends_with("-BAD-ANSWER") {
            response.with_status_info(StatusInfo::new("a reason code far longer than twenty"))
        } else {
            response
        })
    }
}

/// Every report the policy's callback received: (station, direction, delivered, kinds).
type Reports = Arc<Mutex<Vec<(String, Direction, bool, Vec<ViolationKind>)>>>;

fn csms(policy: Policy) -> (Dispatcher, Arc<Csms>, Reports) {
    let app = Arc::new(Csms::default());
    let reports: Reports = Arc::default();
    let sink = Arc::clone(&reports);
    let policy = policy.on_violation(move |report| {
        sink.lock().unwrap().push((
            report.charging_station_id.to_owned(),
            report.direction,
            report.delivered,
            report.violations.iter().map(|v| v.kind.clone()).collect(),
        ))
    });
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(provisioning::CsmsService(Arc::clone(&app)))
        .with_policy(policy);
    (dispatcher, app, reports)
}

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the dispatcher waited on a ready handler"),
    }
}

/// The reply's error code, or `None` for a CALLRESULT.
fn code(dispatcher: &Dispatcher, station: &str, payload: &Value) -> Option<String> {
    let frame = json!([2, "m", "BootNotification", payload]).to_string();
    let reply: Value =
        serde_json::from_str(&ready(dispatcher.handle(station, &frame)).unwrap()).unwrap();
    assert_eq!(reply[1], "m");
    match reply[0].as_u64() {
        Some(3) => None,
        _ => Some(reply[2].as_str().unwrap().to_owned()),
    }
}

/// A boot from ACME's old firmware: two members BootNotification does not define.
fn quirky_boot() -> Value {
    json!({
        "chargingStation": {"model": "W1", "vendorName": "ACME", "acmeBoard": "rev3"},
        "reason": "PowerUp",
        "acmeUptime": 17
    })
}

fn acme_unknown_members_allowed() -> Policy {
    Policy::strict().rule(
        Rule::incoming(Leniency::AllowUnknownMembers)
            .for_stations(|id| id.starts_with("ACME-"))
            .for_actions(&["BootNotification"]),
    )
}

#[test]
fn strict_by_default_for_everyone() {
    let (dispatcher, app, reports) = csms(Policy::strict());
    assert_eq!(
        code(&dispatcher, "ACME-1", &quirky_boot()).as_deref(),
        Some("ProtocolError")
    );
    assert!(app.seen.lock().unwrap().is_empty());
    // The callback hears only of what a relaxed rule applied to.
    assert!(reports.lock().unwrap().is_empty());
}

#[test]
fn unknown_members_from_one_model_reach_the_handler_and_survive_a_round_trip() {
    let (dispatcher, app, reports) = csms(acme_unknown_members_allowed());
    let payload = quirky_boot();
    assert_eq!(code(&dispatcher, "ACME-1", &payload), None);
    let (request, unknown) = app.seen.lock().unwrap().pop().unwrap();
    assert_eq!(request.charging_station.model, "W1");
    assert_eq!(
        unknown,
        Some(json!({"/chargingStation/acmeBoard": "rev3", "/acmeUptime": 17}))
    );
    // Everyone else stays strict, and so do ACME's other actions.
    assert_eq!(
        code(&dispatcher, "OTHER-1", &payload).as_deref(),
        Some("ProtocolError")
    );
    let frame = r#"[2,"h","Heartbeat",{"acmeUptime":17}]"#;
    assert!(ready(dispatcher.handle("ACME-1", frame))
        .unwrap()
        .contains("ProtocolError"));
    // Anything else wrong still refuses the CALL, and the callback is told.
    let mut missing = payload.clone();
    missing.as_object_mut().unwrap().remove("reason");
    assert_eq!(
        code(&dispatcher, "ACME-1", &missing).as_deref(),
        Some("OccurrenceConstraintViolation")
    );
    assert!(app.seen.lock().unwrap().is_empty());
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 2);
    assert!(reports[0].2 && !reports[1].2, "{reports:?}");
    // Valid requests from ACME carry no unknown members.
    drop(reports);
    let valid =
        json!({"chargingStation": {"model": "W1", "vendorName": "ACME"}, "reason": "PowerUp"});
    assert_eq!(code(&dispatcher, "ACME-1", &valid), None);
    assert_eq!(app.seen.lock().unwrap().pop().unwrap().1, None);
}

#[test]
fn unknown_members_are_restored_into_the_re_encoded_payload() {
    use ocpp_messages::policy::UnknownMembers;
    let (dispatcher, app, _) = csms(acme_unknown_members_allowed());
    let seen: Arc<Mutex<Option<Arc<UnknownMembers>>>> = Arc::default();
    // Read the members from inside a handler, and put them back into its request's encoding.
    struct Keep(Arc<Mutex<Option<Arc<UnknownMembers>>>>, Arc<Csms>);
    impl provisioning::CsmsHandler for Keep {
        async fn on_boot_notification(
            &self,
            station: &str,
            request: BootNotificationRequest,
        ) -> Result<BootNotificationResponse, CallError> {
            *self.0.lock().unwrap() = unknown_members();
            provisioning::CsmsHandler::on_boot_notification(&*self.1, station, request).await
        }
    }
    let dispatcher2 = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(provisioning::CsmsService(Keep(
            Arc::clone(&seen),
            Arc::clone(&app),
        )))
        .with_policy(acme_unknown_members_allowed());
    drop(dispatcher);
    let payload = quirky_boot();
    assert_eq!(code(&dispatcher2, "ACME-7", &payload), None);
    let (request, _) = app.seen.lock().unwrap().pop().unwrap();
    let unknown = seen.lock().unwrap().clone().unwrap();
    let mut encoded = serde_json::to_value(&request).unwrap();
    assert_ne!(encoded, payload);
    assert_eq!(unknown.restore(&mut encoded), 2);
    assert_eq!(encoded, payload);
    // Outside a handler there is nothing.
    assert!(unknown_members().is_none());
}

#[test]
fn reported_violations_are_delivered_when_the_type_can_hold_them() {
    let policy = Policy::strict().rule(Rule::incoming(Leniency::Report).for_station("ACME-2"));
    let (dispatcher, app, reports) = csms(policy);
    let long_model = json!({
        "chargingStation": {"model": "a model name longer than twenty", "vendorName": "ACME", "acmeBoard": 3},
        "reason": "PowerUp"
    });
    assert_eq!(code(&dispatcher, "ACME-2", &long_model), None);
    let (request, unknown) = app.seen.lock().unwrap().pop().unwrap();
    assert_eq!(
        request.charging_station.model,
        "a model name longer than twenty"
    );
    assert_eq!(unknown, Some(json!({"/chargingStation/acmeBoard": 3})));
    // Not representable: a reason the enum does not have.
    let bad_enum =
        json!({"chargingStation": {"model": "W1", "vendorName": "ACME"}, "reason": "Sunrise"});
    assert_eq!(
        code(&dispatcher, "ACME-2", &bad_enum).as_deref(),
        Some("PropertyConstraintViolation")
    );
    // Another station is held to the schema.
    assert_eq!(
        code(&dispatcher, "ACME-3", &long_model).as_deref(),
        Some("ProtocolError")
    );
    assert!(app.seen.lock().unwrap().is_empty());
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0].0, "ACME-2");
    assert_eq!(reports[0].1, Direction::Incoming);
    assert!(reports[0].2);
    assert!(matches!(
        reports[0].3[..],
        [
            ViolationKind::MaxLength { limit: 20, .. },
            ViolationKind::Additional { .. }
        ]
    ));
    assert!(!reports[1].2);
    assert_eq!(reports[1].3, vec![ViolationKind::Enum]);
}

#[test]
fn outgoing_responses_stay_strict_unless_a_rule_relaxes_them() {
    let boot =
        json!({"chargingStation": {"model": "W1", "vendorName": "ACME"}, "reason": "PowerUp"});
    // Relaxing incoming payloads leaves outgoing ones strict.
    let (dispatcher, _, reports) = csms(Policy::strict().rule(Rule::incoming(Leniency::Report)));
    assert_eq!(
        code(&dispatcher, "X-BAD-ANSWER", &boot).as_deref(),
        Some("InternalError")
    );
    assert!(reports.lock().unwrap().is_empty());

    let policy =
        Policy::strict().rule(Rule::outgoing(Leniency::Report).for_station("LAB-BAD-ANSWER"));
    let (dispatcher, _, reports) = csms(policy);
    assert_eq!(
        code(&dispatcher, "X-BAD-ANSWER", &boot).as_deref(),
        Some("InternalError")
    );
    let frame = json!([2, "m", "BootNotification", boot]).to_string();
    let reply = ready(dispatcher.handle("LAB-BAD-ANSWER", &frame)).unwrap();
    assert!(
        reply.contains(r#""reasonCode":"a reason code far longer than twenty""#),
        "{reply}"
    );
    let reports = reports.lock().unwrap();
    // Only what the relaxed rule applied to is reported.
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!((reports[0].1, reports[0].2), (Direction::Outgoing, true));
    assert!(matches!(
        reports[0].3[..],
        [ViolationKind::MaxLength { limit: 20, .. }]
    ));
}

#[test]
fn the_first_matching_rule_decides() {
    let policy = Policy::strict()
        .rule(Rule::incoming(Leniency::Strict).for_station("CS-STRICT"))
        .rule(Rule::incoming(Leniency::Report).for_actions(&["BootNotification"]))
        .rule(Rule::incoming(Leniency::AllowUnknownMembers));
    let incoming = |station, action| policy.leniency(Direction::Incoming, station, action);
    assert_eq!(incoming("CS-STRICT", "BootNotification"), Leniency::Strict);
    assert_eq!(incoming("CS-1", "BootNotification"), Leniency::Report);
    assert_eq!(incoming("CS-1", "Heartbeat"), Leniency::AllowUnknownMembers);
    assert_eq!(
        policy.leniency(Direction::Outgoing, "CS-1", "Heartbeat"),
        Leniency::Strict
    );
}

#[test]
fn answers_to_our_calls_are_relaxed_by_the_same_rules() {
    use ocpp_messages::rpc::{Event, ResponseError, Session};
    use ocpp_messages::v2_0_1::provisioning::{Reset, ResetFeature, ResetRequest, ResetStatus};
    use std::sync::Arc;

    let policy = Policy::strict()
        .rule(Rule::incoming(Leniency::AllowUnknownMembers).for_station("ACME-1"))
        .rule(Rule::incoming(Leniency::Report).for_station("ACME-2"));
    let (dispatcher, _, reports) = csms(policy);
    let dispatcher = Arc::new(dispatcher);
    let answer = |station: &str, result: &str| {
        let session = Session::new(Arc::clone(&dispatcher), station);
        let (id, _) = session
            .call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle))
            .unwrap();
        let frame = format!(r#"[3,"{id}",{result}]"#);
        let outcome = ready(session.receive(&frame));
        assert_eq!(outcome.reply, None);
        let Event::Answered(answer) = outcome.event else {
            panic!("{frame}: the answer is matched")
        };
        assert_eq!(session.pending_calls(), 0);
        answer
    };
    let unknown = r#"{"status":"Accepted","acmeDelay":5}"#;
    let long =
        r#"{"status":"Scheduled","statusInfo":{"reasonCode":"a reason code longer than twenty"}}"#;

    // Unknown members from ACME-1: delivered, kept beside the response.
    let a = answer("ACME-1", unknown);
    let kept = a.unknown_members().unwrap().to_json();
    assert_eq!(kept, json!({"/acmeDelay": 5}));
    assert_eq!(
        a.into_response::<ResetFeature>().unwrap().status,
        ResetStatus::Accepted
    );
    // ... but not a string too long.
    assert!(matches!(
        answer("ACME-1", long).into_response::<ResetFeature>(),
        Err(ResponseError::Invalid(e)) if e.code.as_str() == "PropertyConstraintViolation"
    ));
    // ACME-2 reports, and the typed response holds the long string.
    let response = answer("ACME-2", long)
        .into_response::<ResetFeature>()
        .unwrap();
    assert_eq!(
        response.status_info.unwrap().reason_code,
        "a reason code longer than twenty"
    );
    // Everyone else: strict.
    for result in [unknown, long] {
        let a = answer("OTHER", result);
        assert!(a.unknown_members().is_none());
        assert!(matches!(
            a.into_response::<ResetFeature>(),
            Err(ResponseError::Invalid(_))
        ));
    }
    let reports = reports.lock().unwrap();
    let outcomes: Vec<(&str, bool)> = reports.iter().map(|r| (r.0.as_str(), r.2)).collect();
    assert_eq!(
        outcomes,
        [("ACME-1", true), ("ACME-1", false), ("ACME-2", true)]
    );
}

/// A hand-written `Service` gets the policy's decoding mode with the payload, so it decodes as
/// leniently as a generated one, whenever it decodes: here after an `.await`, which a
/// thread-local set for the first poll would not have survived.
#[test]
fn a_hand_written_service_decodes_in_the_mode_the_policy_chose() {
    use ocpp_messages::rpc::{Event, Session};
    use ocpp_messages::v2_0_1::provisioning::BootNotificationRequest;
    use ocpp_messages::{BoxFuture, CallError, Mode, Payload, Role as R, Service};

    struct LateDecoder;
    impl Service for LateDecoder {
        fn role(&self) -> R {
            R::Csms
        }
        fn actions(&self) -> &'static [&'static str] {
            &["BootNotification"]
        }
        fn call<'a>(
            &'a self,
            _station: &'a str,
            _action: &str,
            payload: Payload,
        ) -> BoxFuture<'a, Result<Value, CallError>> {
            Box::pin(async move {
                let mode = payload.mode();
                // Yield once, so the decode happens on a later poll.
                let mut yielded = false;
                std::future::poll_fn(|cx| {
                    if yielded {
                        std::task::Poll::Ready(())
                    } else {
                        yielded = true;
                        cx.waker().wake_by_ref();
                        std::task::Poll::Pending
                    }
                })
                .await;
                let request: BootNotificationRequest = payload.decode()?;
                Ok(json!({
                    "currentTime": "2025-01-01T00:00:00Z",
                    "interval": i64::from(mode == Mode::Lenient),
                    "status": if request.charging_station.model.len() > 20 { "Pending" } else { "Accepted" },
                }))
            })
        }
    }

    let boot = |model: &str| {
        format!(
            r#"[2,"1","BootNotification",{{"chargingStation":{{"model":"{model}","vendorName":"V"}},"reason":"PowerUp"}}]"#
        )
    };
    let long = "M".repeat(25);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (policy, model, expected) in [
        // Strict: the long model never reaches the service.
        (
            Policy::strict(),
            long.as_str(),
            r#"[4,"1","PropertyConstraintViolation","#,
        ),
        // Report: delivered, and decoded leniently after the await.
        (
            Policy::strict().rule(Rule::incoming(Leniency::Report)),
            long.as_str(),
            r#"[3,"1",{"currentTime":"2025-01-01T00:00:00Z","interval":1,"status":"Pending"}]"#,
        ),
        // A valid payload is decoded strictly under any policy.
        (
            Policy::strict().rule(Rule::incoming(Leniency::Report)),
            "M1",
            r#"[3,"1",{"currentTime":"2025-01-01T00:00:00Z","interval":0,"status":"Accepted"}]"#,
        ),
    ] {
        let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, R::Csms)
            .with_policy(policy)
            .with(LateDecoder);
        let session = Session::new(dispatcher, "CS-1");
        let outcome = rt.block_on(session.receive(&boot(model)));
        let reply = outcome.reply.unwrap();
        assert!(reply.starts_with(expected), "{model}: {reply}");
        match (outcome.event, reply.starts_with("[3")) {
            (Event::Served { error: None, .. }, true) | (Event::Rejected(_), false) => {}
            (other, _) => panic!("{model}: {other:?}"),
        }
    }
}
