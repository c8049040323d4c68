//! Procedural macros of `ocpp-messages`; use them through its re-exports
//! `ocpp_messages::Codec`, `ocpp_messages::Feature` and `ocpp_messages::functional_block`.
//!
//! `#[derive(Codec)]` reads `#[ocpp(...)]` constraints on the fields of a schema type (see
//! [`macro@Codec`]). `#[derive(Feature)]` and `functional_block!` read the same attribute on a
//! unit struct:
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
mod codec;
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

/// Derives the codec of a schema type: strict one-pass decoding, encoding, its schema tree and
/// typed checks, from the type's fields and their `#[ocpp(...)]` constraints.
///
/// On a struct with named fields (a JSON object), each field is a member; its JSON kind comes
/// from its type: `String`, `DateTime` (a `date-time` string), `i64` (integer), `f64`
/// (number), `bool`, `Value` (any JSON), `Vec<T>` (array), any other type (a type that derives
/// `Codec` itself). `Option<T>` makes the member optional; every other member is required.
/// Field keys, each at most once:
///
/// - `rename = "jsonName"`: the member name when it differs from the field's;
/// - `max_length = N`, `min_length = N` (strings, in Unicode code points), `format = "uri"`;
/// - `minimum = X`, `maximum = X`, `multiple_of = X` (integers and numbers);
/// - `min_items = N`, `max_items = N` (arrays), `items(...)`: the constraints of every item;
/// - `extra`: on a `Map<String, Value>` field, the members beyond the declared ones. With it
///   the object is open (it keeps unknown members through a round trip); without it, closed.
///
/// ```text
/// #[derive(Clone, Debug, PartialEq, ocpp_messages::Codec)]
/// pub struct CustomData {
///     #[ocpp(rename = "vendorId", max_length = 255)]
///     pub vendor_id: String,
///     #[ocpp(extra)]
///     pub extra: serde_json::Map<String, serde_json::Value>,
/// }
/// ```
///
/// On an enum of unit variants (a JSON string with a fixed set of values), each variant is a
/// value, spelled like the variant unless `#[ocpp(rename = "Energy.Active.Import.Register")]`
/// says otherwise; the derive adds `ALL`, `as_str`, `from_wire`, `Display` and `FromStr`.
///
/// Both get `serde::Deserialize` (as strict as the schema: `null` for an optional member, a
/// wrong JSON type, an unknown member of a closed object, a length, range, item count or
/// date-time out of bounds each fail), `serde::Serialize`, `ocpp_messages::validate::HasSchema`
/// and `ocpp_messages::Codec`.
#[proc_macro_derive(Codec, attributes(ocpp))]
pub fn derive_codec(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    codec::derive(&input).into()
}

/// Declares a functional block: its feature structs, `PROFILE_NAME`, `PROFILE`, the handler
/// traits `CsmsHandler` and `ChargingStationHandler` (with `Arc` forwarding impls) and the
/// dispatch services `CsmsService` and `ChargingStationService`.
///
/// Grammar (`name` is required, once; `extends` is optional, once; structs are kept in the
/// order given):
///
/// ```text
/// functional_block! {
///     name = "security";                      // the block's module name, a string literal
///     extends = v2_0_1;                       // outside ocpp-messages: the version extended
///
///     /// Docs of the feature, also used on its handler methods.
///     #[ocpp(action = "SignCertificate", request = SignCertificateRequest,
///            response = SignCertificateResponse, initiator = ChargingStation)]
///     pub struct SignCertificateFeature;      // any visibility, any other outer attributes
///     // ... more unit structs
/// }
/// ```
///
/// A block declared outside `ocpp-messages` names the version it extends; each of its
/// actions is then checked at compile time against that version's actions (a clash is an
/// error on the action's name), and a `Dispatcher` of that version routes its CALLs to the
/// block's service like the generated ones.
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
