//! OCPP 2.0.1, generated from `schemas/v2_0_1` by `cargo xtask codegen`.
//!
//! Each functional block is a module; shared definitions are in [`types`].
//!
//! # Names
//!
//! The Rust names follow from the schema names by rules you can guess:
//!
//! - A definition `FooType` is `Foo`, and an enum `FooEnumType` is `Foo` too: the
//!   Started/Updated/Ended enum `TransactionEventEnumType` is
//!   [`TransactionEvent`](transactions::TransactionEvent), next to
//!   [`TransactionEventRequest`](transactions::TransactionEventRequest) and
//!   [`TransactionEventFeature`](transactions::TransactionEventFeature); `ResetEnumType` is
//!   [`Reset`](provisioning::Reset) next to [`ResetFeature`](provisioning::ResetFeature).
//! - Where two definitions would get the same name, one of them is named explicitly in the
//!   `[renames]` table of `schemas/v2_0_1.toml`: `IdTokenEnumType` is
//!   [`IdTokenEnum`](types::IdTokenEnum), because `IdTokenType` is
//!   [`IdToken`](types::IdToken). A name depends only on its own definition, so a new schema
//!   never renames an existing type.
//! - Where the Rust name differs from the spec name, the spec name is a `doc(alias)`: searching
//!   the docs for `IdTokenEnumType` finds `IdTokenEnum`.
//! - Every block re-exports the shared types its messages use, so
//!   `v2_0_1::transactions::*` has everything a `TransactionEventRequest` needs.
//! - Members are snake case (`customData` -> `custom_data`, `type` -> `type_`). Each struct
//!   has `new` taking its required members in schema order and a `with_<member>` builder for
//!   every optional member.
//! - Enum variants are Pascal case (`Current.Export` -> `CurrentExport`), and keep the exact
//!   wire spelling on the wire and in `Display`/`FromStr`.

// Generated code is formatted by prettyplease, not rustfmt; see `cargo xtask codegen`.
#[rustfmt::skip]
mod generated;

pub use generated::*;

pub mod vendor;
