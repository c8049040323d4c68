//! The cost of durability: one TransactionEvent written to the store, sent and delivered
//! (its CALLRESULT taken, its entry removed), per iteration, on a station engine:
//!
//! | bench | what runs |
//! |---|---|
//! | `call` | the floor: `Engine::call` (queued in memory only), the frame out, the answer in |
//! | `stored_memory` | `Engine::call_stored` on a `MemoryStore`: the same, plus a push and a remove |
//! | `stored_sqlite` | `Engine::call_stored` on a `SqliteStore` file (WAL, `synchronous = FULL`): two committed, fsync'd transactions per message |
//! | `stored_sqlite_in_memory` | the same on SQLite without a file: SQLite's own cost, no fsync |
//!
//! `cargo bench -p ocpp-connection --features sqlite --bench store`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use ocpp_connection::engine::{Config, Engine, Registration, Transmit};
use ocpp_connection::store::{MemoryStore, SqliteStore, Store};
use ocpp_messages::rpc::{Dispatcher, Session};
use ocpp_messages::v2_0_1::transactions::{
    Transaction, TransactionEvent, TransactionEventFeature, TransactionEventRequest, TriggerReason,
};
use ocpp_messages::{OcppVersion, Role};

fn station(store: Option<Box<dyn Store>>) -> Engine {
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation);
    let now = Instant::now();
    let mut engine = Engine::new(
        Session::new(dispatcher, "CS-1"),
        Config::default().with_heartbeat(false),
        now,
    );
    if let Some(store) = store {
        engine.attach_store(store, now).unwrap();
    }
    engine.set_registration(Registration::Accepted, now);
    engine
}

fn request(seq_no: i64) -> TransactionEventRequest {
    TransactionEventRequest::new(
        TransactionEvent::Updated,
        "2025-01-01T00:00:00Z".parse().unwrap(),
        TriggerReason::MeterValuePeriodic,
        seq_no,
        Transaction::new("f3b1c2d4-tx-1"),
    )
}

/// Sends what the engine queued and answers it.
fn deliver(engine: &mut Engine, now: Instant) {
    let Some(Transmit::Text(frame)) = engine.poll_transmit() else {
        panic!("nothing sent");
    };
    let id_end = frame[4..].find('"').unwrap() + 4;
    let answer = format!(r#"[3,"{}",{{}}]"#, &frame[4..id_end]);
    assert!(engine.receive(answer.as_str(), now).is_none());
    while engine.poll_event().is_some() {}
}

/// Makes a fresh store.
type MakeStore = Box<dyn Fn() -> Box<dyn Store>>;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("store");
    let now = Instant::now();
    let mut seq_no = 0;
    let mut floor = station(None);
    group.bench_function("call", |b| {
        b.iter(|| {
            seq_no += 1;
            floor
                .call::<TransactionEventFeature>(black_box(&request(seq_no)), now)
                .unwrap();
            deliver(&mut floor, now);
        })
    });
    let cases: Vec<(&str, MakeStore)> = vec![
        ("stored_memory", Box::new(|| Box::new(MemoryStore::new()))),
        (
            "stored_sqlite",
            Box::new(|| {
                let path =
                    std::env::temp_dir().join(format!("ocpp-bench-{}.db", std::process::id()));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                Box::new(SqliteStore::open(&path).unwrap())
            }),
        ),
        (
            "stored_sqlite_in_memory",
            Box::new(|| Box::new(SqliteStore::in_memory().unwrap())),
        ),
    ];
    for (name, make) in cases {
        let mut engine = station(Some(make()));
        group.bench_function(name, |b| {
            b.iter(|| {
                seq_no += 1;
                engine
                    .call_stored::<TransactionEventFeature>(black_box(&request(seq_no)), &[], now)
                    .unwrap();
                deliver(&mut engine, now);
            })
        });
        assert_eq!(engine.stored_calls(), 0);
    }
    group.finish();
    let path = std::env::temp_dir().join(format!("ocpp-bench-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
