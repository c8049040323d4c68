//! The session rules of `Engine`, each on a virtual clock: nothing here sleeps or reads the
//! time; `t(s)` is `s` seconds after the start.
#![allow(clippy::unwrap_used, missing_docs)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ocpp_connection::engine::{CallRefused, Config, Engine, Event, Registration, Serve, Transmit};
use ocpp_messages::rpc::{self, Dispatcher, Session};
use ocpp_messages::v2_0_1::availability::{HeartbeatFeature, HeartbeatRequest};
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationFeature, BootNotificationRequest, BootNotificationResponse, BootReason,
    ChargingStation, RegistrationStatus,
};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};

fn start() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn t(secs: u64) -> Instant {
    start() + Duration::from_secs(secs)
}

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a handler waited"),
    }
}

fn station(config: Config) -> Engine {
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation);
    Engine::new(Session::new(dispatcher, "CS-1"), config, t(0))
}

fn boot_request() -> BootNotificationRequest {
    BootNotificationRequest::new(ChargingStation::new("M", "V"), BootReason::PowerUp)
}

/// The text frames the engine wants written, in order.
fn texts(engine: &mut Engine) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(transmit) = engine.poll_transmit() {
        match transmit {
            Transmit::Text(text) => out.push(text),
            other => panic!("not a text frame: {other:?}"),
        }
    }
    out
}

fn events(engine: &mut Engine) -> Vec<Event> {
    std::iter::from_fn(|| engine.poll_event()).collect()
}

fn id_of(frame: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(frame).unwrap();
    value[1].as_str().unwrap().to_owned()
}

fn action_of(frame: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(frame).unwrap();
    value[2].as_str().unwrap().to_owned()
}

fn boot_answer(id: &str, status: &str, interval: u64) -> String {
    format!(
        r#"[3,"{id}",{{"currentTime":"2025-01-01T00:00:00Z","interval":{interval},"status":"{status}"}}]"#
    )
}

/// A station whose BootNotification is accepted with this heartbeat interval.
fn accepted_station(config: Config, interval: u64) -> Engine {
    let mut engine = station(config);
    engine
        .call::<BootNotificationFeature>(&boot_request(), t(0))
        .unwrap();
    let boot = texts(&mut engine).remove(0);
    assert!(engine
        .receive(
            boot_answer(&id_of(&boot), "Accepted", interval).as_str(),
            t(0)
        )
        .is_none());
    assert_eq!(engine.registration(), Registration::Accepted);
    events(&mut engine);
    engine
}

#[test]
fn one_outstanding_call_the_rest_wait_in_order() {
    let mut engine = accepted_station(Config::default().with_heartbeat(false), 0);
    let ids: Vec<String> = (0..3)
        .map(|_| {
            engine
                .call::<HeartbeatFeature>(&HeartbeatRequest::new(), t(1))
                .unwrap()
        })
        .collect();
    // Only the first goes out.
    let sent = texts(&mut engine);
    assert_eq!(sent.len(), 1);
    assert_eq!(id_of(&sent[0]), ids[0]);
    assert_eq!(engine.queued_calls(), 2);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(engine.outstanding_call(), Some(id.as_str()));
        let answer = format!(r#"[3,"{id}",{{"currentTime":"2025-01-01T00:00:00Z"}}]"#);
        assert!(engine.receive(answer.as_str(), t(2)).is_none());
        match events(&mut engine).as_slice() {
            [Event::Session(rpc::Event::Answered(a))] => assert_eq!(&a.message_id, id),
            other => panic!("{other:?}"),
        }
        let sent = texts(&mut engine);
        match ids.get(i + 1) {
            Some(next) => assert_eq!(id_of(&sent[0]), *next),
            None => assert!(sent.is_empty()),
        }
    }
    assert_eq!(engine.outstanding_call(), None);
}

#[test]
fn the_queue_is_bounded() {
    let mut engine = accepted_station(
        Config::default()
            .with_heartbeat(false)
            .with_max_queued_calls(2),
        0,
    );
    for _ in 0..3 {
        engine
            .call::<HeartbeatFeature>(&HeartbeatRequest::new(), t(1))
            .unwrap();
    }
    assert_eq!(
        engine.call::<HeartbeatFeature>(&HeartbeatRequest::new(), t(1)),
        Err(CallRefused::QueueFull { limit: 2 })
    );
}

#[test]
fn a_call_times_out_then_the_next_goes_and_a_late_answer_is_ignored() {
    let mut engine = accepted_station(
        Config::default()
            .with_heartbeat(false)
            .with_call_timeout(Duration::from_secs(30)),
        0,
    );
    let first = engine
        .call::<HeartbeatFeature>(&HeartbeatRequest::new(), t(10))
        .unwrap();
    let second = engine
        .call_with_timeout::<HeartbeatFeature>(
            &HeartbeatRequest::new(),
            Duration::from_secs(5),
            t(10),
        )
        .unwrap();
    texts(&mut engine);
    assert_eq!(engine.poll_timeout(), Some(t(40)));
    engine.handle_timeout(t(39));
    assert!(events(&mut engine).is_empty());
    engine.handle_timeout(t(40));
    assert_eq!(
        events(&mut engine),
        [Event::TimedOut {
            message_id: first.clone(),
            action: "Heartbeat"
        }]
    );
    // The second goes out now, with its own timeout.
    assert_eq!(id_of(&texts(&mut engine)[0]), second);
    assert_eq!(engine.poll_timeout(), Some(t(45)));
    // The late answer to the first is unmatched.
    let late = format!(r#"[3,"{first}",{{"currentTime":"2025-01-01T00:00:00Z"}}]"#);
    assert!(engine.receive(late.as_str(), t(41)).is_none());
    assert!(matches!(
        events(&mut engine).as_slice(),
        [Event::Session(rpc::Event::Ignored(
            rpc::Ignored::Unmatched { .. }
        ))]
    ));
    assert_eq!(engine.outstanding_call(), Some(second.as_str()));
    engine.handle_timeout(t(45));
    assert!(
        matches!(events(&mut engine).as_slice(), [Event::TimedOut { message_id, .. }] if *message_id == second)
    );
}

#[test]
fn a_send_never_waits_for_an_answer() {
    use ocpp_messages::v2_1::availability::{HeartbeatFeature as Hb21, HeartbeatRequest as Hq21};
    use ocpp_messages::v2_1::diagnostics::{
        NotifyPeriodicEventStreamFeature, NotifyPeriodicEventStreamRequest, StreamDataElement,
    };
    let dispatcher = Dispatcher::new(OcppVersion::V2_1, Role::ChargingStation);
    let mut engine = Engine::new(
        Session::new(dispatcher, "CS-1"),
        Config::default().with_boot_gate(false),
        t(0),
    );
    let request = NotifyPeriodicEventStreamRequest::new(
        vec![StreamDataElement::new(0.0, "1")],
        1,
        0,
        "2025-01-01T00:00:00Z".parse::<DateTime>().unwrap(),
    );
    engine.call::<Hb21>(&Hq21::new(), t(0)).unwrap();
    engine
        .send::<NotifyPeriodicEventStreamFeature>(&request)
        .unwrap();
    engine
        .send::<NotifyPeriodicEventStreamFeature>(&request)
        .unwrap();
    let sent = texts(&mut engine);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent[1].starts_with("[6,") && sent[2].starts_with("[6,"));
    // Only the CALL is outstanding.
    assert_eq!(engine.outstanding_call(), Some(id_of(&sent[0]).as_str()));
}

#[test]
fn a_station_sends_only_boot_notification_until_accepted() {
    let mut engine = station(Config::default());
    let heartbeat = engine
        .call::<HeartbeatFeature>(&HeartbeatRequest::new(), t(0))
        .unwrap();
    assert!(texts(&mut engine).is_empty(), "a Heartbeat before boot");
    engine
        .call::<BootNotificationFeature>(&boot_request(), t(0))
        .unwrap();
    let boot = texts(&mut engine);
    assert_eq!(boot.len(), 1);
    assert_eq!(action_of(&boot[0]), "BootNotification");

    // Pending: still nothing else; the CSMS's interval is the wait before the next boot.
    assert!(engine
        .receive(boot_answer(&id_of(&boot[0]), "Pending", 5).as_str(), t(1))
        .is_none());
    assert_eq!(engine.registration(), Registration::Pending);
    assert!(events(&mut engine)
        .iter()
        .any(|e| matches!(e, Event::Registered { registration: Registration::Pending, interval } if interval.as_secs() == 5)));
    assert!(texts(&mut engine).is_empty());

    // Accepted: the queued Heartbeat goes out.
    engine
        .call::<BootNotificationFeature>(&boot_request(), t(6))
        .unwrap();
    let boot = texts(&mut engine);
    assert_eq!(action_of(&boot[0]), "BootNotification");
    assert!(engine
        .receive(boot_answer(&id_of(&boot[0]), "Accepted", 60).as_str(), t(7))
        .is_none());
    assert_eq!(engine.registration(), Registration::Accepted);
    assert_eq!(engine.heartbeat_interval(), Some(Duration::from_secs(60)));
    let sent = texts(&mut engine);
    assert_eq!(id_of(&sent[0]), heartbeat);
}

#[test]
fn a_rejected_station_waits_the_interval_before_booting_again() {
    let mut engine = station(Config::default());
    engine
        .call::<BootNotificationFeature>(&boot_request(), t(0))
        .unwrap();
    let boot = texts(&mut engine);
    assert!(engine
        .receive(
            boot_answer(&id_of(&boot[0]), "Rejected", 100).as_str(),
            t(0)
        )
        .is_none());
    assert_eq!(
        engine.registration(),
        Registration::Rejected { retry_at: t(100) }
    );
    engine
        .call::<BootNotificationFeature>(&boot_request(), t(10))
        .unwrap();
    assert!(texts(&mut engine).is_empty(), "a boot before the interval");
    assert_eq!(engine.poll_timeout(), Some(t(100)));
    engine.handle_timeout(t(99));
    assert!(texts(&mut engine).is_empty());
    engine.handle_timeout(t(100));
    assert_eq!(action_of(&texts(&mut engine)[0]), "BootNotification");
}

#[test]
fn a_triggered_message_passes_the_gate_while_pending() {
    // The station serves the CSMS's TriggerMessage while Pending, then may send what it asked.
    #[derive(Clone, Copy)]
    struct Station;
    impl ocpp_messages::v2_0_1::remotecontrol::ChargingStationHandler for Station {
        async fn on_trigger_message(
            &self,
            _: ocpp_messages::v2_0_1::remotecontrol::TriggerMessageRequest,
        ) -> Result<ocpp_messages::v2_0_1::remotecontrol::TriggerMessageResponse, CallError>
        {
            use ocpp_messages::v2_0_1::remotecontrol::{
                TriggerMessageResponse, TriggerMessageStatus,
            };
            Ok(TriggerMessageResponse::new(TriggerMessageStatus::Accepted))
        }
    }
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
        .with(ocpp_messages::v2_0_1::remotecontrol::ChargingStationService(Station));
    let mut engine = Engine::new(Session::new(dispatcher, "CS-1"), Config::default(), t(0));
    engine
        .call::<BootNotificationFeature>(&boot_request(), t(0))
        .unwrap();
    let boot = texts(&mut engine);
    assert!(engine
        .receive(boot_answer(&id_of(&boot[0]), "Pending", 30).as_str(), t(0))
        .is_none());
    let heartbeat = engine
        .call::<HeartbeatFeature>(&HeartbeatRequest::new(), t(1))
        .unwrap();
    assert!(texts(&mut engine).is_empty());
    let serve = engine
        .receive(
            r#"[2,"t1","TriggerMessage",{"requestedMessage":"Heartbeat"}]"#,
            t(2),
        )
        .expect("a CALL for the handler");
    assert_eq!(engine.peer_calls_in_flight(), 1);
    engine.served(ready(serve.run()), t(2));
    assert_eq!(engine.peer_calls_in_flight(), 0);
    let sent = texts(&mut engine);
    assert!(
        sent[0].starts_with(r#"[3,"t1",{"status":"Accepted""#),
        "{sent:?}"
    );
    assert_eq!(id_of(&sent[1]), heartbeat);
}

/// A CSMS whose BootNotification handler answers with `status`.
struct Csms {
    status: Mutex<RegistrationStatus>,
}

impl provisioning::CsmsHandler for &'static Csms {
    async fn on_boot_notification(
        &self,
        _: &str,
        _: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        let status = *self.status.lock().unwrap();
        Ok(BootNotificationResponse::new(
            "2025-01-01T00:00:00Z".parse().unwrap(),
            30,
            status,
        ))
    }
}

impl ocpp_messages::v2_0_1::availability::CsmsHandler for &'static Csms {
    async fn on_heartbeat(
        &self,
        _: &str,
        _: HeartbeatRequest,
    ) -> Result<ocpp_messages::v2_0_1::availability::HeartbeatResponse, CallError> {
        Ok(ocpp_messages::v2_0_1::availability::HeartbeatResponse::new(
            "2025-01-01T00:00:00Z".parse().unwrap(),
        ))
    }
}

fn csms(status: RegistrationStatus) -> (Engine, &'static Csms) {
    let csms: &'static Csms = Box::leak(Box::new(Csms {
        status: Mutex::new(status),
    }));
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(provisioning::CsmsService(csms))
        .with(ocpp_messages::v2_0_1::availability::CsmsService(csms));
    let engine = Engine::new(Session::new(dispatcher, "CS-1"), Config::default(), t(0));
    (engine, csms)
}

fn serve(engine: &mut Engine, text: &str, now: Instant) -> Vec<String> {
    if let Some(serve) = engine.receive(text, now) {
        engine.served(ready(Serve::run(serve)), now);
    }
    texts(engine)
}

const BOOT: &str = r#"[2,"b1","BootNotification",{"chargingStation":{"model":"M","vendorName":"V"},"reason":"PowerUp"}]"#;
const HEARTBEAT: &str = r#"[2,"h1","Heartbeat",{}]"#;

#[test]
fn a_csms_answers_security_error_before_the_boot_is_accepted() {
    let (mut engine, csms) = csms(RegistrationStatus::Pending);
    // Before any boot on this connection (a mere reconnection): served.
    assert!(serve(&mut engine, HEARTBEAT, t(0))[0].starts_with(r#"[3,"h1""#));
    assert!(serve(&mut engine, BOOT, t(1))[0].contains(r#""status":"Pending""#));
    assert_eq!(engine.registration(), Registration::Pending);
    let reply = serve(&mut engine, HEARTBEAT, t(2));
    assert!(
        reply[0].starts_with(r#"[4,"h1","SecurityError""#),
        "{reply:?}"
    );
    assert!(events(&mut engine)
        .iter()
        .any(|e| matches!(e, Event::Refused(r) if r.message_id == "h1")));
    // A TriggerMessage for a Heartbeat lets one through.
    use ocpp_messages::v2_0_1::remotecontrol::{
        MessageTrigger, TriggerMessageFeature, TriggerMessageRequest,
    };
    engine
        .call::<TriggerMessageFeature>(&TriggerMessageRequest::new(MessageTrigger::Heartbeat), t(3))
        .unwrap();
    texts(&mut engine);
    assert!(serve(&mut engine, HEARTBEAT, t(4))[0].starts_with(r#"[3,"h1""#));
    // Accepted: everything is served.
    *csms.status.lock().unwrap() = RegistrationStatus::Accepted;
    assert!(serve(&mut engine, BOOT, t(5))[0].contains(r#""status":"Accepted""#));
    assert!(serve(&mut engine, HEARTBEAT, t(6))[0].starts_with(r#"[3,"h1""#));
}

#[test]
fn a_peer_breaking_the_one_call_rule_is_served_up_to_the_limit() {
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms);
    let mut engine_limit = Engine::new(
        Session::new(dispatcher, "CS-1"),
        Config::default().with_max_peer_calls(2),
        t(0),
    );
    let a = engine_limit.receive(r#"[2,"a","Heartbeat",{}]"#, t(0));
    let b = engine_limit.receive(r#"[2,"b","Heartbeat",{}]"#, t(0));
    assert!(a.is_some() && b.is_some());
    assert_eq!(engine_limit.peer_calls_in_flight(), 2);
    assert!(engine_limit
        .receive(r#"[2,"c","Heartbeat",{}]"#, t(0))
        .is_none());
    let refused = texts(&mut engine_limit);
    assert!(
        refused[0].starts_with(r#"[4,"c","GenericError""#),
        "{refused:?}"
    );
    engine_limit.served(ready(a.unwrap().run()), t(1));
    assert_eq!(engine_limit.peer_calls_in_flight(), 1);
    assert!(engine_limit
        .receive(r#"[2,"d","Heartbeat",{}]"#, t(1))
        .is_some());
    drop(b);
}

#[test]
fn heartbeats_at_the_interval_and_other_calls_stand_in() {
    let mut engine = accepted_station(Config::default(), 60);
    assert_eq!(engine.poll_timeout(), Some(t(60)));
    engine.handle_timeout(t(60));
    let sent = texts(&mut engine);
    assert_eq!(action_of(&sent[0]), "Heartbeat");
    let answer = format!(
        r#"[3,"{}",{{"currentTime":"2025-01-01T00:00:00Z"}}]"#,
        id_of(&sent[0])
    );
    assert!(engine.receive(answer.as_str(), t(61)).is_none());
    // The engine's own Heartbeat answer is not reported.
    assert!(events(&mut engine).is_empty());
    // A call of the application at 100 s stands in: the next Heartbeat is due at 160 s.
    let id = engine
        .call::<HeartbeatFeature>(&HeartbeatRequest::new(), t(100))
        .unwrap();
    texts(&mut engine);
    let answer = format!(r#"[3,"{id}",{{"currentTime":"2025-01-01T00:00:00Z"}}]"#);
    assert!(engine.receive(answer.as_str(), t(101)).is_none());
    assert_eq!(engine.poll_timeout(), Some(t(160)));
    engine.handle_timeout(t(159));
    assert!(texts(&mut engine).is_empty());
    engine.handle_timeout(t(160));
    assert_eq!(action_of(&texts(&mut engine)[0]), "Heartbeat");
}

#[test]
fn a_missing_pong_closes_the_connection() {
    let config = Config::default()
        .with_heartbeat(false)
        .with_ping_interval(Some(Duration::from_secs(20)))
        .with_pong_timeout(Duration::from_secs(5));
    let mut engine = accepted_station(config, 0);
    assert_eq!(engine.poll_timeout(), Some(t(20)));
    engine.handle_timeout(t(20));
    assert_eq!(engine.poll_transmit(), Some(Transmit::Ping(Vec::new())));
    assert_eq!(engine.poll_timeout(), Some(t(25)));
    engine.pong(t(22));
    assert_eq!(engine.poll_timeout(), Some(t(42)));
    engine.handle_timeout(t(42));
    assert_eq!(engine.poll_transmit(), Some(Transmit::Ping(Vec::new())));
    engine.handle_timeout(t(47));
    assert_eq!(
        engine.poll_transmit(),
        Some(Transmit::Close {
            code: 1011,
            reason: "no pong"
        })
    );
    assert_eq!(events(&mut engine), [Event::Unresponsive]);
}

#[test]
fn a_reconnected_station_does_not_boot_again_and_keeps_its_queue() {
    let mut engine = accepted_station(Config::default().with_heartbeat(false), 0);
    let first = engine
        .call::<HeartbeatFeature>(&HeartbeatRequest::new(), t(1))
        .unwrap();
    let second = engine
        .call::<HeartbeatFeature>(&HeartbeatRequest::new(), t(1))
        .unwrap();
    texts(&mut engine);
    engine.disconnected(t(2));
    assert_eq!(
        events(&mut engine),
        [Event::ConnectionLost {
            message_id: first,
            action: "Heartbeat"
        }]
    );
    assert_eq!(engine.poll_timeout(), None);
    engine.connected(t(10));
    assert_eq!(engine.registration(), Registration::Accepted);
    let sent = texts(&mut engine);
    assert_eq!(sent.len(), 1);
    assert_eq!(id_of(&sent[0]), second, "the queued call goes out, no boot");
}

#[test]
fn version_1_6_and_2_1_stations_keep_the_same_rules() {
    for version in [OcppVersion::V1_6, OcppVersion::V2_1] {
        let dispatcher = Dispatcher::new(version, Role::ChargingStation);
        let mut engine = Engine::new(Session::new(dispatcher, "CS-1"), Config::default(), t(0));
        let boot = match version {
            OcppVersion::V1_6 => {
                use ocpp_messages::v1_6::core::{
                    BootNotificationFeature as F, BootNotificationRequest as R,
                };
                engine.call::<F>(&R::new("M", "V"), t(0))
            }
            _ => {
                use ocpp_messages::v2_1::provisioning::{
                    BootNotificationFeature as F, BootNotificationRequest as R, BootReason as B,
                    ChargingStation as C,
                };
                engine.call::<F>(&R::new(C::new("M", "V"), B::PowerUp), t(0))
            }
        }
        .unwrap();
        assert_eq!(id_of(&texts(&mut engine)[0]), boot);
        assert!(engine
            .receive(boot_answer(&boot, "Accepted", 30).as_str(), t(1))
            .is_none());
        assert_eq!(engine.registration(), Registration::Accepted, "{version}");
        engine.handle_timeout(t(31));
        assert_eq!(action_of(&texts(&mut engine)[0]), "Heartbeat", "{version}");
    }
}

#[test]
fn concurrent_handlers_are_served_on_any_task() {
    // A Serve needs no lock on the engine: run it while the engine takes other frames.
    let (mut engine, _) = csms(RegistrationStatus::Accepted);
    let serve = engine.receive(HEARTBEAT, t(0)).unwrap();
    let shared = Arc::new(Mutex::new(engine));
    let served = std::thread::spawn(move || ready(serve.run()))
        .join()
        .unwrap();
    let mut engine = shared.lock().unwrap();
    engine.served(served, t(0));
    assert!(texts(&mut engine)[0].starts_with(r#"[3,"h1""#));
}
