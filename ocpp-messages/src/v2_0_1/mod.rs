//! OCPP 2.0.1, generated from `schemas/v2_0_1` by `cargo xtask codegen`.
//!
//! Each functional block is a module; shared definitions are in [`types`].

// Generated code is formatted by prettyplease, not rustfmt; see `cargo xtask codegen`.
#[rustfmt::skip]
mod generated;

pub use generated::*;
