//! The session engine's cost per CALL against the floor, `Dispatcher::handle` (the message
//! path alone), on the same Heartbeat CALL in the same run:
//!
//! | bench | what runs |
//! |---|---|
//! | `dispatcher_handle` | `Dispatcher::handle`: CALL text in, CALLRESULT text out |
//! | `engine_call` | `Engine::receive` -> `Serve::run` -> `Engine::served` -> `poll_transmit`, the heartbeat and ping timers included |
//!
//! `cargo bench -p ocpp-connection --bench engine`
#![allow(missing_docs, clippy::unwrap_used)]

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ocpp_connection::engine::{Config, Engine, Registration, Transmit};
use ocpp_messages::rpc::{Dispatcher, Session};
use ocpp_messages::v2_0_1::availability::{self, HeartbeatRequest, HeartbeatResponse};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};

struct Csms {
    now: DateTime,
}

impl availability::CsmsHandler for Csms {
    async fn on_heartbeat(
        &self,
        _charging_station_id: &str,
        _request: HeartbeatRequest,
    ) -> Result<HeartbeatResponse, CallError> {
        Ok(HeartbeatResponse::new(self.now.clone()))
    }
}

const CALL: &str = r#"[2,"19223201","Heartbeat",{}]"#;

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => unreachable!("the handler answers at once"),
    }
}

fn dispatcher() -> Arc<Dispatcher> {
    let now: DateTime = "2025-01-01T00:00:00Z".parse().unwrap();
    Arc::new(
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
            .with(availability::CsmsService(Csms { now })),
    )
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("heartbeat");
    let floor = dispatcher();
    group.bench_function("dispatcher_handle", |b| {
        b.iter(|| ready(floor.handle("CS-1", black_box(CALL))).unwrap())
    });
    let config = Config::default().with_ping_interval(Some(Duration::from_secs(60)));
    let start = Instant::now();
    let mut engine = Engine::new(Session::new(dispatcher(), "CS-1"), config, start);
    engine.set_registration(Registration::Accepted, start);
    group.bench_function("engine_call", |b| {
        b.iter(|| {
            let now = start + Duration::from_millis(1);
            let serve = engine.receive(black_box(CALL), now).unwrap();
            let served = ready(serve.run());
            engine.served(served, now);
            let Some(Transmit::Text(answer)) = engine.poll_transmit() else {
                unreachable!("the answer")
            };
            while engine.poll_event().is_some() {}
            black_box(engine.poll_timeout());
            answer
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
