//! OCPP 2.0.1, generated from `schemas/v2_0_1` by `cargo xtask codegen`.
//!
//! Each functional block is a module; shared definitions are in [`types`].

mod generated;

pub use generated::*;
