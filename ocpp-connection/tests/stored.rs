//! Stored calls (a station's transaction messages) on a virtual clock: written to the store
//! before they are sent, delivered in order ahead of other calls, retried as configured,
//! kept across connection losses and restarts; and the stores themselves.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use ocpp_connection::engine::{CallRefused, Config, Discard, Engine, Event, Transmit, WhenFull};
use ocpp_connection::store::{Change, MemoryStore, Queued, Store};
use ocpp_messages::rpc::{Dispatcher, Session};
use ocpp_messages::v2_0_1::availability::{HeartbeatFeature, HeartbeatRequest};
use ocpp_messages::v2_0_1::provisioning::{
    BootNotificationFeature, BootNotificationRequest, BootReason, ChargingStation,
};
use ocpp_messages::v2_0_1::transactions::{
    Transaction, TransactionEvent, TransactionEventFeature, TransactionEventRequest, TriggerReason,
};
use ocpp_messages::{DateTime, OcppVersion, Role};

fn start() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn t(secs: u64) -> Instant {
    start() + Duration::from_secs(secs)
}

fn config() -> Config {
    Config::default()
        .with_retry(3, Duration::from_secs(10))
        .with_heartbeat(false)
}

/// A station engine over `store`, booted and Accepted at `now`.
fn station(store: &MemoryStore, config: Config, now: Instant) -> Engine {
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation);
    let mut engine = Engine::new(Session::new(dispatcher, "CS-1"), config, now);
    engine.attach_store(store.clone(), now).unwrap();
    let request = BootNotificationRequest::new(ChargingStation::new("M", "V"), BootReason::PowerUp);
    engine
        .call::<BootNotificationFeature>(&request, now)
        .unwrap();
    let boot = texts(&mut engine).pop().unwrap();
    answer_ok(
        &mut engine,
        &boot,
        r#"{"currentTime":"2025-01-01T00:00:00Z","interval":60,"status":"Accepted"}"#,
        now,
    );
    events(&mut engine);
    engine
}

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

fn field(frame: &str, at: usize) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(frame).unwrap();
    value[at].clone()
}

fn id_of(frame: &str) -> String {
    field(frame, 1).as_str().unwrap().to_owned()
}

fn answer_ok(engine: &mut Engine, call: &str, payload: &str, now: Instant) {
    let frame = format!(r#"[3,"{}",{payload}]"#, id_of(call));
    assert!(engine.receive(frame.as_str(), now).is_none());
}

fn answer_error(engine: &mut Engine, call: &str, now: Instant) {
    let frame = format!(
        r#"[4,"{}","InternalError","database down",{{}}]"#,
        id_of(call)
    );
    assert!(engine.receive(frame.as_str(), now).is_none());
}

fn event(kind: TransactionEvent, trigger: TriggerReason, seq_no: i64) -> TransactionEventRequest {
    let timestamp: DateTime = "2025-01-01T00:00:00Z".parse().unwrap();
    TransactionEventRequest::new(kind, timestamp, trigger, seq_no, Transaction::new("tx-1"))
}

fn store_call(engine: &mut Engine, request: &TransactionEventRequest, now: Instant) -> String {
    engine
        .call_stored::<TransactionEventFeature>(request, &[], now)
        .unwrap()
}

fn seq_no(frame: &str) -> i64 {
    field(frame, 3)["seqNo"].as_i64().unwrap()
}

#[test]
fn stored_calls_go_out_in_order_ahead_of_the_queue_and_leave_the_store_when_answered() {
    let store = MemoryStore::new();
    let mut engine = station(&store, config(), t(0));
    // Offline: three transaction events and a Heartbeat wait.
    engine.disconnected(t(1));
    let a = store_call(
        &mut engine,
        &event(TransactionEvent::Started, TriggerReason::Authorized, 0),
        t(1),
    );
    engine
        .call::<HeartbeatFeature>(&HeartbeatRequest::new(), t(1))
        .unwrap();
    let b = store_call(
        &mut engine,
        &event(
            TransactionEvent::Updated,
            TriggerReason::MeterValuePeriodic,
            1,
        ),
        t(2),
    );
    let c = store_call(
        &mut engine,
        &event(TransactionEvent::Ended, TriggerReason::EvDeparted, 2),
        t(3),
    );
    assert!(texts(&mut engine).is_empty(), "nothing goes out offline");
    assert_eq!(
        store.snapshot().queue.len(),
        3,
        "written before call_stored returned"
    );
    assert_ne!(a, b);

    engine.connected(t(10));
    for (expected_id, expected_seq_no) in [(&a, 0), (&b, 1), (&c, 2)] {
        let sent = texts(&mut engine);
        assert_eq!(sent.len(), 1, "one outstanding call");
        assert_eq!(&id_of(&sent[0]), expected_id);
        assert_eq!(seq_no(&sent[0]), expected_seq_no);
        answer_ok(&mut engine, &sent[0], "{}", t(10));
        match events(&mut engine).as_slice() {
            [Event::Delivered { answer, .. }] => assert_eq!(&answer.message_id, expected_id),
            other => panic!("{other:?}"),
        }
    }
    // Then the Heartbeat, queued between them.
    let sent = texts(&mut engine);
    assert_eq!(field(&sent[0], 2), "Heartbeat");
    assert!(store.snapshot().queue.is_empty());
    assert_eq!(store.snapshot().next_seq, 4);
}

#[test]
fn failed_attempts_are_retried_after_the_interval_times_the_attempts_then_discarded() {
    let store = MemoryStore::new();
    let mut engine = station(&store, config(), t(0));
    let id = store_call(
        &mut engine,
        &event(TransactionEvent::Started, TriggerReason::Authorized, 0),
        t(0),
    );
    // Attempt 1: a CALLERROR.
    let sent = texts(&mut engine);
    answer_error(&mut engine, &sent[0], t(1));
    match events(&mut engine).as_slice() {
        [Event::Retrying {
            attempts: 1,
            at,
            message_id,
            ..
        }] => {
            assert_eq!(*at, t(11));
            assert_eq!(message_id, &id);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.snapshot().queue[0].attempts, 1);
    assert_eq!(engine.poll_timeout(), Some(t(11)));
    engine.handle_timeout(t(10));
    assert!(texts(&mut engine).is_empty(), "not before the interval");
    // Attempt 2, the same frame again: no answer within the call timeout (30 s).
    engine.handle_timeout(t(11));
    let again = texts(&mut engine);
    assert_eq!(again, sent, "the same frame, the same message id");
    engine.handle_timeout(t(41));
    match events(&mut engine).as_slice() {
        [Event::Retrying {
            attempts: 2, at, ..
        }] => assert_eq!(*at, t(61)),
        other => panic!("{other:?}"),
    }
    // Attempt 3, the last: a CALLERROR; the call is given up and leaves the store.
    engine.handle_timeout(t(61));
    let third = texts(&mut engine);
    assert_eq!(third, sent);
    answer_error(&mut engine, &third[0], t(62));
    match events(&mut engine).as_slice() {
        [Event::Discarded {
            reason:
                Discard::Attempts {
                    attempts: 3,
                    last_error,
                },
            ..
        }] => {
            assert!(last_error.contains("InternalError"), "{last_error}");
        }
        other => panic!("{other:?}"),
    }
    assert!(store.snapshot().queue.is_empty());
}

#[test]
fn a_connection_loss_is_no_attempt_and_a_restart_sends_the_same_frames_again() {
    let store = MemoryStore::new();
    let mut engine = station(&store, config(), t(0));
    let first = event(TransactionEvent::Started, TriggerReason::Authorized, 0);
    let second = event(TransactionEvent::Ended, TriggerReason::EvDeparted, 1);
    store_call(&mut engine, &first, t(0));
    store_call(&mut engine, &second, t(0));
    let sent = texts(&mut engine);
    // The connection drops with the first outstanding: no ConnectionLost, no attempt.
    engine.disconnected(t(1));
    assert!(events(&mut engine).is_empty());
    engine.connected(t(2));
    assert_eq!(texts(&mut engine), sent, "sent again first, unchanged");
    assert_eq!(store.snapshot().queue[0].attempts, 0);

    // The station restarts (kill -9: the engine is gone), a new one attaches the store.
    drop(engine);
    let mut restarted = station(&store, config(), t(100));
    let resent = texts(&mut restarted);
    assert_eq!(resent, sent, "the first stored call, with its message id");
    answer_ok(&mut restarted, &resent[0], "{}", t(100));
    let next = texts(&mut restarted);
    assert_eq!(seq_no(&next[0]), 1);
    answer_ok(&mut restarted, &next[0], "{}", t(100));
    // New stored calls continue the store's numbering: no message id repeats.
    let later = store_call(
        &mut restarted,
        &event(TransactionEvent::Started, TriggerReason::Authorized, 0),
        t(101),
    );
    assert!(later.ends_with("-3"), "{later}");
    assert_eq!(
        later.split('-').next(),
        id_of(&sent[0]).split('-').next(),
        "the store's epoch"
    );
}

#[test]
fn a_full_store_refuses_or_drops_the_oldest_meter_value_never_a_start_or_an_end() {
    let store = MemoryStore::new();
    let mut engine = station(
        &store,
        config().with_max_stored_calls(2, WhenFull::Refuse),
        t(0),
    );
    engine.disconnected(t(0));
    store_call(
        &mut engine,
        &event(TransactionEvent::Started, TriggerReason::Authorized, 0),
        t(0),
    );
    store_call(
        &mut engine,
        &event(
            TransactionEvent::Updated,
            TriggerReason::MeterValuePeriodic,
            1,
        ),
        t(0),
    );
    let refused = engine.call_stored::<TransactionEventFeature>(
        &event(TransactionEvent::Ended, TriggerReason::EvDeparted, 2),
        &[],
        t(0),
    );
    assert_eq!(refused, Err(CallRefused::StoreFull { limit: 2 }));
    assert_eq!(store.snapshot().queue.len(), 2);

    let store = MemoryStore::new();
    let full = config().with_max_stored_calls(2, WhenFull::DropMeterValues);
    let mut engine = station(&store, full, t(0));
    engine.disconnected(t(0));
    store_call(
        &mut engine,
        &event(TransactionEvent::Started, TriggerReason::Authorized, 0),
        t(0),
    );
    let meter = store_call(
        &mut engine,
        &event(
            TransactionEvent::Updated,
            TriggerReason::MeterValuePeriodic,
            1,
        ),
        t(0),
    );
    store_call(
        &mut engine,
        &event(TransactionEvent::Ended, TriggerReason::EvDeparted, 2),
        t(0),
    );
    match events(&mut engine).as_slice() {
        [Event::Discarded {
            message_id,
            reason: Discard::Full,
            ..
        }] => assert_eq!(message_id, &meter),
        other => panic!("{other:?}"),
    }
    let kept: Vec<i64> = store
        .snapshot()
        .queue
        .iter()
        .map(|q| seq_no(&q.frame))
        .collect();
    assert_eq!(kept, [0, 2]);
    // Nothing droppable left: refused.
    let refused = engine.call_stored::<TransactionEventFeature>(
        &event(TransactionEvent::Started, TriggerReason::Authorized, 0),
        &[],
        t(0),
    );
    assert_eq!(refused, Err(CallRefused::StoreFull { limit: 2 }));
}

#[test]
fn values_change_atomically_with_the_stored_call_and_unreadable_entries_are_discarded() {
    let mut store = MemoryStore::new();
    // What another version (or a damaged disk) left: not a CALL a 2.0.1 station sends.
    let foreign = Queued::new(
        1,
        "StartTransaction",
        r#"[2,"x-1","StartTransaction",{"connectorId":1}]"#,
    );
    store.apply(&[Change::Push(&foreign)]).unwrap();
    let mut engine = station(&store, config(), t(0));
    assert!(store.snapshot().queue.is_empty(), "discarded at attach");

    engine.disconnected(t(0));
    engine
        .call_stored::<TransactionEventFeature>(
            &event(TransactionEvent::Started, TriggerReason::Authorized, 0),
            &[("tx", Some("tx-1 seqNo 1"))],
            t(0),
        )
        .unwrap();
    let snapshot = store.snapshot();
    assert_eq!(snapshot.values["tx"], "tx-1 seqNo 1");
    assert_eq!(snapshot.queue.len(), 1);
    assert_eq!(engine.value("tx"), Some("tx-1 seqNo 1"));
    engine.set_values(&[("tx", None)]).unwrap();
    assert!(!store.snapshot().values.contains_key("tx"));

    // A seq handed out before is refused, and then nothing of the change is made.
    let stale = Queued::new(1, "Heartbeat", r#"[2,"y","Heartbeat",{}]"#);
    let mut raw = store.clone();
    assert!(raw
        .apply(&[
            Change::Put {
                key: "k",
                value: "v"
            },
            Change::Push(&stale)
        ])
        .is_err());
    assert!(!store.snapshot().values.contains_key("k"));

    // Without a store: refused.
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation);
    let mut bare = Engine::new(Session::new(dispatcher, "CS-2"), config(), t(0));
    assert_eq!(
        bare.call_stored::<TransactionEventFeature>(
            &event(TransactionEvent::Started, TriggerReason::Authorized, 0),
            &[],
            t(0)
        ),
        Err(CallRefused::NoStore)
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn the_sqlite_store_keeps_everything_across_a_reopen_and_changes_atomically() {
    use ocpp_connection::store::SqliteStore;
    let dir = std::env::temp_dir().join(format!("ocpp-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.db");
    let _ = std::fs::remove_file(&path);
    let one = Queued::new(1, "Heartbeat", r#"[2,"e-1","Heartbeat",{}]"#).with_droppable(true);
    let two = Queued::new(2, "Heartbeat", r#"[2,"e-2","Heartbeat",{}]"#);
    {
        let mut store = SqliteStore::open(&path).unwrap();
        store
            .apply(&[
                Change::Push(&one),
                Change::Push(&two),
                Change::Put {
                    key: "password",
                    value: "0123456789abcdef",
                },
                Change::Attempted {
                    seq: 1,
                    attempts: 2,
                },
            ])
            .unwrap();
        store.apply(&[Change::Remove { seq: 2 }]).unwrap();
        // A failing change leaves nothing behind.
        assert!(store
            .apply(&[
                Change::Put {
                    key: "password",
                    value: "other"
                },
                Change::Push(&one)
            ])
            .is_err());
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let loaded = store.load().unwrap();
    let mut expected = one.clone();
    expected.attempts = 2;
    assert_eq!(loaded.queue, vec![expected]);
    assert_eq!(loaded.values["password"], "0123456789abcdef");
    assert_eq!(loaded.next_seq, 3, "seq 2 is never handed out again");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_kept_answer_is_stored_with_the_delivery_and_survives_a_restart() {
    use ocpp_connection::engine::answer_key;
    let store = MemoryStore::new();
    let kept = config().with_kept_answers(&["TransactionEvent"]);
    let mut engine = station(&store, kept.clone(), t(0));
    let started = event(TransactionEvent::Started, TriggerReason::Authorized, 0);
    store_call(&mut engine, &started, t(0));
    let call = texts(&mut engine).pop().unwrap();
    // Refused: nothing kept.
    answer_error(&mut engine, &call, t(1));
    assert_eq!(engine.value(&answer_key("TransactionEvent")), None);
    engine.handle_timeout(t(12));
    let retry = texts(&mut engine).pop().unwrap();
    answer_ok(&mut engine, &retry, r#"{"totalCost":1.5}"#, t(13));
    let key = answer_key("TransactionEvent");
    assert_eq!(engine.value(&key), Some(r#"{"totalCost":1.5}"#));
    assert_eq!(engine.stored_calls(), 0);
    // In the store, with the removal: a restarted engine sees it and sends nothing again.
    let mut restarted = station(&store, kept, t(20));
    assert_eq!(restarted.value(&key), Some(r#"{"totalCost":1.5}"#));
    assert_eq!(restarted.stored_calls(), 0);
    assert!(texts(&mut restarted).is_empty());
    // An action not named is not kept.
    let mut plain = station(&MemoryStore::new(), config(), t(0));
    store_call(&mut plain, &started, t(0));
    let call = texts(&mut plain).pop().unwrap();
    answer_ok(&mut plain, &call, r#"{"totalCost":1.5}"#, t(1));
    assert_eq!(plain.value(&key), None);
}

/// A CSMS counting the TransactionEvents its handler saw; it fails the first `fail` of them.
struct Counting {
    seen: std::sync::atomic::AtomicUsize,
    fail: usize,
}

impl ocpp_messages::v2_0_1::transactions::CsmsHandler for &'static Counting {
    async fn on_transaction_event(
        &self,
        _: &str,
        _: TransactionEventRequest,
    ) -> Result<
        ocpp_messages::v2_0_1::transactions::TransactionEventResponse,
        ocpp_messages::CallError,
    > {
        let seen = self.seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if seen < self.fail {
            return Err(ocpp_messages::CallError::new(
                ocpp_messages::ErrorCode::InternalError,
                "database down",
            ));
        }
        Ok(ocpp_messages::v2_0_1::transactions::TransactionEventResponse::new())
    }
}

fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a handler waited"),
    }
}

fn serve(engine: &mut Engine, text: &str) -> Vec<String> {
    if let Some(serve) = engine.receive(text, t(0)) {
        engine.served(ready(ocpp_connection::engine::Serve::run(serve)), t(0));
    }
    texts(engine)
}

#[test]
fn a_csms_answers_a_retry_the_same_way_without_running_its_handler_again() {
    let counting: &'static Counting = Box::leak(Box::new(Counting {
        seen: 0.into(),
        fail: 1,
    }));
    let dispatcher = std::sync::Arc::new(
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
            .with(ocpp_messages::v2_0_1::transactions::CsmsService(counting)),
    );
    let csms_engine = |answers| {
        Engine::new(
            Session::new(std::sync::Arc::clone(&dispatcher), "CS-1"),
            Config::default().with_remembered_answers(answers),
            t(0),
        )
    };
    let mut csms = csms_engine(4);
    let timestamp = "2025-01-01T00:00:00Z";
    let frame = |id: &str, seq_no: i64| {
        format!(
            r#"[2,"{id}","TransactionEvent",{{"eventType":"Started","timestamp":"{timestamp}","triggerReason":"Authorized","seqNo":{seq_no},"transactionInfo":{{"transactionId":"tx-1"}}}}]"#
        )
    };
    let seen = || counting.seen.load(std::sync::atomic::Ordering::SeqCst);
    // A CALLERROR is not remembered: the retry reaches the handler again.
    let first = serve(&mut csms, &frame("e-1", 0));
    assert!(first[0].starts_with("[4,"), "{first:?}");
    let answered = serve(&mut csms, &frame("e-1", 0));
    assert!(answered[0].starts_with(r#"[3,"e-1""#));
    assert_eq!(seen(), 2);
    // The retry after a lost answer: the same answer, no handler.
    events(&mut csms);
    assert_eq!(serve(&mut csms, &frame("e-1", 0)), answered);
    assert_eq!(seen(), 2);
    assert!(
        matches!(events(&mut csms).as_slice(), [Event::Replayed { message_id, .. }] if message_id == "e-1")
    );
    // The same id with other text is another message: handled.
    serve(&mut csms, &frame("e-1", 1));
    assert_eq!(seen(), 3);
    // Carried to the station's next connection (as a server does).
    let carried = csms.take_remembered_answers();
    let mut next = csms_engine(4);
    next.set_remembered_answers(carried);
    assert_eq!(serve(&mut next, &frame("e-1", 0)), answered);
    assert_eq!(seen(), 3);
    // Remembering nothing: every retry is handled.
    let mut forgetful = csms_engine(0);
    serve(&mut forgetful, &frame("e-1", 0));
    serve(&mut forgetful, &frame("e-1", 0));
    assert_eq!(seen(), 5);
}
