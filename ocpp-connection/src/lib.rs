//! The OCPP-J connection layer over [`ocpp_messages`]: a session engine without I/O, the
//! WebSocket handshake of both sides, a tokio CSMS [`server`] and station [`client`], and the
//! OCPP security profiles 1 to 3 on rustls.
//!
//! - The rules live in the [`engine`]: frames and the current time go in, frames to send,
//!   the next deadline and events come out; it never reads a clock, so every rule is tested
//!   on a virtual clock. The tokio code only moves frames and sleeps ([`connection`]).
//! - [`server::Server`] admits stations by identity, version and credentials
//!   ([`handshake`], [`security`]) and keeps a [`server::Registry`] to call them by
//!   identity. [`client::Client`] connects a station and reconnects it, with the credentials
//!   its [`client::Credentials`] hold at each attempt: a renewed certificate is tried and
//!   kept once it connects, or dropped for the previous one.
//! - OCPP 1.6, 2.0.1 and 2.1, both roles: the version is the negotiated subprotocol's, and
//!   each connection's session runs over the [`ocpp_messages::rpc::Dispatcher`] of it.
//!
//! Not here (yet):
//! - **permessage-deflate** (RFC 7692), which OCPP 2.x Part 4 asks a CSMS to support.
//!   tungstenite 0.30 does not implement it and refuses frames with the RSV1 bit it needs, so
//!   it cannot be added on top; tokio-websockets 0.13 and fastwebsockets 0.10 do not have it
//!   either; yawc 0.5 does, but is young and would replace the whole WebSocket layer.
//!   Connections negotiate no extension, which RFC 7692 allows (both sides then send
//!   uncompressed frames).
//! - **The static-RSA TLS suites** `TLS_RSA_WITH_AES_128_GCM_SHA256` and
//!   `TLS_RSA_WITH_AES_256_GCM_SHA384`, which a 2.x CSMS must support (A00.FR.318): rustls
//!   will never offer them. For stations that can do nothing else, terminate TLS in front of
//!   the CSMS with a proxy that has them and serve `ws://` behind it: HTTP Basic (profile 2)
//!   passes through; the client-certificate check of profile 3 is then the proxy's.
//!   [`security`] offers the ECDHE suites of A00.FR.318 and TLS 1.3.
//!
//! | layer | modules | what it holds |
//! |---|---|---|
//! | 1 | `store` | a station's durable state: named values and undelivered messages, changed atomically |
//! | 2 | `engine` | the session rules without I/O: frames and the time in, frames, timers and events out |
//! | 3 | `security` | security profiles, HTTP Basic, passwords, TLS configurations, certificate identity |
//! | 4 | `handshake` | the WebSocket opening handshake of both sides: identity, subprotocol, authentication |
//! | 5 | `connection` | the tokio driver of one connection: frames, timers, handlers, typed calls through a [`connection::Handle`] |
//! | 6 | `server` | the CSMS server: admission, limits, duplicates, the station [`server::Registry`], graceful shutdown |
//! | 7 | `client` | the station client: connect, offer versions, reconnect with the Part 4 back-off, renewed credentials with a fallback |
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod connection;
pub mod engine;
pub mod handshake;
pub mod security;
pub mod server;
pub mod store;
