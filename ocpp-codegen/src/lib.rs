//! Procedural macros of `ocpp-messages`; use them through its re-exports
//! `ocpp_messages::Feature` and `ocpp_messages::functional_block`.
//!
//! Both macros read the same attribute on a unit struct:
//!
//! ```text
//! #[ocpp(action = "SignCertificate", request = SignCertificateRequest,
//!        response = SignCertificateResponse, initiator = ChargingStation)]
//! ```
//!
//! - `action`: the action name as sent in a CALL frame, a non-empty string literal of ASCII
//!   letters and digits starting with a letter;
//! - `request`, `response`: the payload types (anything implementing `ocpp_messages::Message`);
//! - `initiator`: who sends the CALL, one of `ChargingStation`, `Csms` or `Both`.
//!
//! Each key is required and may appear once; the keys may be spread over several `#[ocpp]`
//! attributes. Every mistake is reported as a compile error on the offending tokens.
//!
//! The generated code names the runtime by absolute paths (`::ocpp_messages::...`), so it works
//! both in downstream crates and inside `ocpp-messages` itself (which declares
//! `extern crate self as ocpp_messages;`).

#![deny(missing_docs)]

mod ast;
mod attr;
mod block;
mod errors;
mod expand;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Implements `ocpp_messages::Feature` for a unit struct from its `#[ocpp(...)]` attribute.
///
/// ```text
/// #[derive(ocpp_messages::Feature)]
/// #[ocpp(action = "SignCertificate", request = SignCertificateRequest,
///        response = SignCertificateResponse, initiator = ChargingStation)]
/// pub struct SignCertificateFeature;
/// ```
///
/// expands to
///
/// ```text
/// impl ::ocpp_messages::Feature for SignCertificateFeature {
///     const NAME: &'static str = "SignCertificate";
///     type Request = SignCertificateRequest;
///     type Response = SignCertificateResponse;
///     const INITIATOR: ::ocpp_messages::Initiator = ::ocpp_messages::Initiator::ChargingStation;
/// }
/// ```
///
/// The input must be a unit struct without generics carrying every key of `#[ocpp(...)]` once.
#[proc_macro_derive(Feature, attributes(ocpp))]
pub fn derive_feature(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

/// Declares a functional block: its feature structs, `PROFILE_NAME`, `PROFILE`, the handler
/// traits `CsmsHandler` and `ChargingStationHandler` (with `Arc` forwarding impls) and the
/// dispatch services `CsmsService` and `ChargingStationService`.
///
/// Grammar (`name` is required, once; structs are kept in the order given):
///
/// ```text
/// functional_block! {
///     name = "security";                      // the block's module name, a string literal
///
///     /// Docs of the feature, also used on its handler methods.
///     #[ocpp(action = "SignCertificate", request = SignCertificateRequest,
///            response = SignCertificateResponse, initiator = ChargingStation)]
///     pub struct SignCertificateFeature;      // any visibility, any other outer attributes
///     // ... more unit structs
/// }
/// ```
///
/// Every struct is emitted with its attributes and
/// `#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, ::ocpp_messages::Feature)]`.
/// Each action sent by the charging station (`ChargingStation` or `Both`) gets a method
/// `on_<action in snake_case>(&self, charging_station_id: &str, request)` in `CsmsHandler`;
/// each action sent by the CSMS (`Csms` or `Both`) gets `on_<action>(&self, request)` in
/// `ChargingStationHandler`. Every method returns a `Send` future of
/// `Result<Response, CallError>` and defaults to answering `NotSupported`; implement it with
/// a plain `async fn`.
#[proc_macro]
pub fn functional_block(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as block::Input);
    block::expand(&input).into()
}
