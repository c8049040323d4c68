//! A CSMS and a charging station that speak OCPP 1.6, 2.0.1 and 2.1 over WebSocket, built on
//! `ocpp-messages`: the code behind `examples/csms.rs` and `examples/charging-station.rs`.
//!
//! ```text
//! cargo run -p ocpp-examples --example csms -- --listen 127.0.0.1:9000
//! cargo run -p ocpp-examples --example charging-station -- --url ws://127.0.0.1:9000/CS001
//! cargo run -p ocpp-examples --example charging-station -- --url ws://127.0.0.1:9000/CP001 --ocpp 1.6
//! cargo run -p ocpp-examples --example charging-station -- --url ws://127.0.0.1:9000/CS021 --ocpp 2.1
//! ```
//!
//! - [`protocol`]: the OCPP-J handshake: subprotocol negotiation, the station identity in the
//!   URL path.
//! - [`connection`]: one connection's loop around its `ocpp_messages::rpc::Session`: every
//!   incoming frame through the session (which serves CALLs with the dispatcher and matches
//!   answers), our own CALLs through it, one at a time, with a timeout; 2.1's SENDs both ways
//!   and its CALLRESULTERROR for an invalid answer.
//! - [`frame_log`]: every frame in and out, as a `tracing` line and, optionally, raw frames
//!   one per line for `ocpp validate`.
//! - [`pki`]: the CSMS's certificate authority, the station's key, CSR and chain check.
//! - [`sessions`]: the CSMS's memory of id tokens and transactions, the same for every version.
//! - [`csms`] and [`station`]: the two applications. The CSMS implements the handler traits of
//!   every version on one type, translating each message into shared calls; the station runs
//!   one script through a per-version trait. The version-specific code of each is in its
//!   `v1_6`, `v2_0_1` and `v2_1` modules; 2.0.1 and 2.1 have the same session messages with
//!   distinct types, so that code is written once, in a macro each module expands against its
//!   version's types, and 2.1 adds its periodic event streams.
//!
//! Transport is plain `ws://` (OCPP Security Profile 1 without Basic authentication): enough
//! to exercise the messages; TLS is a matter of wrapping the TCP stream.
//!
//! Adding an OCPP version: list it in [`protocol::SUPPORTED_VERSIONS`], add a `csms` module
//! with its handlers and a match arm in [`csms::Csms::dispatcher`], and a `station` module that
//! implements the script's steps in it, with a match arm in [`station::run`].

#![deny(missing_docs)]

pub mod connection;
pub mod csms;
pub mod frame_log;
pub mod pki;
pub mod protocol;
pub mod sessions;
pub mod station;

use std::io::IsTerminal;

/// Sends `tracing` events to standard error, one line each, at INFO and above unless the
/// `RUST_LOG` environment variable says otherwise.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
