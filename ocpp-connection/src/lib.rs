//! The OCPP-J connection layer over [`ocpp_messages`]: a session engine without I/O, the
//! WebSocket handshake of both sides, and the OCPP security profiles 1 to 3.
//!
//!
//! | layer | modules | what it holds |
//! |---|---|---|
//! | 1 | `engine` | the session rules without I/O: frames and the time in, frames, timers and events out |
//! | 2 | `security` | security profiles, HTTP Basic, passwords, TLS configurations, certificate identity |
//! | 3 | `handshake` | the WebSocket opening handshake of both sides: identity, subprotocol, authentication |
//! | 4 | `connection` | the tokio driver of one connection: frames, timers, handlers, typed calls through a [`connection::Handle`] |
//! | 5 | `server` | the CSMS server: admission, limits, duplicates, the station [`server::Registry`], graceful shutdown |
//! | 6 | `client` | the station client: connect, offer versions, reconnect with the Part 4 back-off |
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod connection;
pub mod engine;
pub mod handshake;
pub mod security;
pub mod server;
