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
//! - [`protocol`]: the versions the examples speak and the station identity in the URL path.
//! - [`connection`]: a [`connection::Peer`] wraps `ocpp-connection`'s handle of one
//!   connection (the server's for a station, the client's for the CSMS) with the station's
//!   identity; the crate's engine does the rest (one CALL at a time, call timeouts, the boot
//!   gate, heartbeats, 2.1's SENDs and CALLRESULTERRORs).
//! - [`profiles`]: security profiles 0 to 3 on the crate's server and client.
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
//! Both run on `ocpp-connection`: the CSMS on its `Server` (admission by identity, version and
//! credentials, a registry of connected stations to send CALLs to), the station on its
//! `Client` (which reconnects by itself). Both take the security profiles' flags:
//!
//! ```text
//! # Profile 1: ws:// and HTTP Basic (a station without a password entry gets HTTP 401).
//! csms --listen 127.0.0.1:9000 --security-profile 1 --password CS001=0123456789abcdef
//! charging-station --url ws://127.0.0.1:9000/CS001 --security-profile 1 \
//!     --password 0123456789abcdef
//! # Profile 2: the same over wss:// (the CSMS's certificate for its host name).
//! csms --listen 127.0.0.1:9443 --security-profile 2 --password CS001=0123456789abcdef \
//!     --tls-cert csms.pem --tls-key csms-key.pem
//! charging-station --url wss://localhost:9443/CS001 --security-profile 2 \
//!     --password 0123456789abcdef --ca-cert ca.pem
//! # Profile 3: client certificates whose CN is the identity, issued by the CSMS's CA (the one
//! # that also signs the stations' CSRs, so the certificate a station gets through
//! # SignCertificate/CertificateSigned is accepted when it reconnects).
//! csms --listen 127.0.0.1:9443 --security-profile 3 --tls-cert csms.pem --tls-key csms-key.pem \
//!     --ca-cert ca.pem --ca-key ca-key.pem
//! charging-station --url wss://localhost:9443/CS001 --security-profile 3 --ca-cert ca.pem \
//!     --cert cs001.pem --key cs001-key.pem
//! ```
//!
//! Profile 0, the default, is `ws://` without authentication: for development only. The CSMS
//! signs a CSR only if its subject CN is the identity of the station that sent it.
//!
//! Adding an OCPP version: list it in [`protocol::SUPPORTED_VERSIONS`], add a `csms` module
//! with its handlers and a match arm in [`csms::Csms::dispatcher`], and a `station` module that
//! implements the script's steps in it, with a match arm in [`station::run`].

#![deny(missing_docs)]

pub mod connection;
pub mod csms;
pub mod frame_log;
pub mod pki;
pub mod profiles;
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

/// Locks `shared`, taking the value of a thread that panicked while holding it (the state
/// kept under these locks stays consistent between statements).
pub(crate) fn lock<T>(shared: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
