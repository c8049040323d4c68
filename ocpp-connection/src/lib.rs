//! The OCPP-J connection layer over [`ocpp_messages`]: a session engine without I/O, a tokio
//! WebSocket server (the CSMS side) and client (the charging station side), and the OCPP
//! security profiles 1 to 3.
//!
//! | layer | modules | what it holds |
//! |---|---|---|
//! | 1 | [`engine`] | the session rules without I/O: frames and the time in, frames, timers and events out |
//! | 2 | [`security`] | security profiles, HTTP Basic, passwords, TLS configurations, certificate identity |
//! | 3 | [`handshake`] | the WebSocket opening handshake of both sides: identity, subprotocol, authentication |
//! | 4 | [`server`], [`client`] | the tokio drivers: a CSMS server with a station registry, a station client |
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod engine;
pub mod handshake;
pub mod security;
