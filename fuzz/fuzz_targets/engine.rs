//! The session engine of `ocpp-connection` (`Engine`) under a script of hostile steps, in both
//! roles and every version, with the generated recorders as handlers.
//!
//! Input: a byte choosing the role (bit 0) and the version (the rest), as for `dispatch`; then
//! steps, one per line: `t<ms>` moves the clock, `c` makes one of our CALLs (a Heartbeat,
//! from the station), `p` is a pong, `d` drops and restores the connection, `x` closes the
//! engine for good; any other line is a frame from the peer (as text, or as bytes when it is
//! not UTF-8). The `dispatch` seeds (one frame each) are scripts of one step.
//!
//! Never a panic. After each step: every frame the engine writes is a JSON array whose first
//! element is a message type; the peer's CALLs in flight stay within `max_peer_calls`; a
//! well-formed CALLERROR from the peer, or SEND (OCPP 2.1), gets no CALLRESULT or CALLERROR
//! back;
//! the engine's deadline is never in the past of the clock after `handle_timeout`.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ocpp_connection::engine::{Config, Engine, Transmit};
use ocpp_fuzz::{dispatchers, ready, version, Dispatchers};
use ocpp_messages::frame::Frame;
use ocpp_messages::rpc::Session;
use ocpp_messages::{OcppVersion, Role};

fn all() -> &'static [Dispatchers] {
    static ALL: OnceLock<Vec<Dispatchers>> = OnceLock::new();
    ALL.get_or_init(|| OcppVersion::ALL.iter().map(|v| dispatchers(*v)).collect())
}

const MAX_PEER_CALLS: usize = 2;

/// One of our CALLs: a Heartbeat (only a station sends it; a CSMS's engine refuses it).
fn heartbeat(engine: &mut Engine, now: Instant) {
    let _ = match engine.version() {
        OcppVersion::V1_6 => engine.call::<ocpp_messages::v1_6::core::HeartbeatFeature>(
            &ocpp_messages::v1_6::core::HeartbeatRequest::new(),
            now,
        ),
        OcppVersion::V2_0_1 => engine
            .call::<ocpp_messages::v2_0_1::availability::HeartbeatFeature>(
                &ocpp_messages::v2_0_1::availability::HeartbeatRequest::new(),
                now,
            ),
        _ => engine.call::<ocpp_messages::v2_1::availability::HeartbeatFeature>(
            &ocpp_messages::v2_1::availability::HeartbeatRequest::new(),
            now,
        ),
    };
}

/// The message type a frame's text starts with, if it is a JSON array that starts with one.
fn message_type(text: &str) -> Option<u64> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(items)) => items.first().and_then(serde_json::Value::as_u64),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, script)) = data.split_first() else {
        return;
    };
    let version = version(selector >> 1);
    let Some(set) = all().iter().find(|d| d.csms.version() == version) else {
        return;
    };
    let role = if selector & 1 == 0 {
        Role::Csms
    } else {
        Role::ChargingStation
    };
    let dispatcher = if role == Role::Csms {
        &set.csms
    } else {
        &set.station
    };
    let start = Instant::now();
    let mut now = start;
    let config = Config::default()
        .with_max_peer_calls(MAX_PEER_CALLS)
        .with_max_queued_calls(4)
        .with_call_timeout(Duration::from_millis(500))
        .with_ping_interval(Some(Duration::from_millis(300)))
        .with_pong_timeout(Duration::from_millis(100));
    let mut engine = Engine::new(
        Session::new(std::sync::Arc::clone(dispatcher), "CS-1"),
        config,
        now,
    );
    for step in script.split(|b| *b == b'\n').take(64) {
        let mut quiet = false;
        match step {
            [b't', digits @ ..] => {
                let ms = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse::<u64>().ok())
                    .unwrap_or(1)
                    .min(3_600_000);
                now += Duration::from_millis(ms);
                engine.handle_timeout(now);
                if let Some(at) = engine.poll_timeout() {
                    assert!(
                        at > now,
                        "a deadline at or before the clock after handle_timeout"
                    );
                }
            }
            b"c" => heartbeat(&mut engine, now),
            b"p" => engine.pong(now),
            b"d" => {
                engine.disconnected(now);
                engine.connected(now);
            }
            b"x" => engine.close(now),
            frame => {
                let serve = match std::str::from_utf8(frame) {
                    Ok(text) => {
                        quiet = matches!(
                            Frame::parse_for(version, text),
                            Ok(Frame::CallError { .. } | Frame::Send { .. })
                        );
                        engine.receive(text, now)
                    }
                    Err(_) => engine.receive(frame, now),
                };
                assert!(engine.peer_calls_in_flight() <= MAX_PEER_CALLS);
                if let Some(serve) = serve {
                    let served = ready(serve.run());
                    engine.served(served, now);
                }
            }
        }
        while let Some(transmit) = engine.poll_transmit() {
            if let Transmit::Text(text) = transmit {
                let kind = message_type(&text);
                assert!(kind.is_some(), "the engine wrote {text}");
                if quiet {
                    assert!(
                        !matches!(kind, Some(3 | 4)),
                        "a CALLERROR or a 2.1 SEND was answered: {text}"
                    );
                }
            }
        }
        while engine.poll_event().is_some() {}
        assert!(engine.peer_calls_in_flight() <= MAX_PEER_CALLS);
    }
    set.clear();
});
