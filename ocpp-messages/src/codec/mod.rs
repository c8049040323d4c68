//! Layer 4, the codec: from JSON text straight to a typed value, as strict as the schema, in
//! one pass; and from a typed value straight to JSON text, checked on the typed value.
//!
//! Types that `#[derive(Codec)]` decode with the seeds of [`seeds`]: each checks its value's
//! constraints while it is read and fails at the first problem. A failure says only *that* the
//! text is not a valid payload; the exact report (every violation with its pointer and class)
//! comes from [`crate::validate`], run on the same text afterwards. The two agree: the
//! differential tests check that the fast path accepts a payload if and only if the validator
//! finds nothing, and decodes it to the same value.
//!
//! How strictly a value is decoded is a [`Mode`], passed down explicitly from the call that
//! decodes to every seed (as prost passes its decode context): `serde::Deserialize` decodes
//! [`Mode::Strict`], [`Codec::decode_in`] in the mode it is given. No ambient state decides a
//! decode.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::spec::{CallError, ErrorCode};
use crate::validate::{HasSchema, Violations};

pub mod seeds;

/// How strictly a payload is decoded: as its schema says, or as far as its Rust type can
/// hold it (what a [`Leniency::Report`](crate::policy::Leniency::Report) rule of a validation
/// policy delivers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Every constraint of the schema holds (the default).
    #[default]
    Strict,
    /// Constraints the Rust type does not express may be broken: a string longer or shorter
    /// than its bounds, a number out of its range, too many or too few items. A missing
    /// required member, a wrong JSON type, a value not in an enum or a date-time that is not
    /// one still fail.
    Lenient,
}

impl Mode {
    /// Whether this is [`Mode::Lenient`].
    pub const fn is_lenient(self) -> bool {
        matches!(self, Mode::Lenient)
    }
}

/// A schema type with a strict one-pass codec, derived with `#[derive(Codec)]`.
///
/// Its `serde::Deserialize` is as strict as its schema (decoding a payload with it succeeds
/// only for payloads the schema accepts, and a failure says only that it failed: see
/// [`crate::Message::from_json_str`] for the report); [`Codec::decode_in`] decodes in a given
/// [`Mode`]; and [`Codec::is_valid`] checks a value built in Rust against the constraints its
/// type does not express (lengths, ranges, counts).
pub trait Codec: HasSchema + Serialize + for<'de> Deserialize<'de> {
    /// Whether this value, encoded, satisfies its schema.
    fn is_valid(&self) -> bool;

    /// Decodes a value in `mode` (`Deserialize::deserialize` is `decode_in(d, Mode::Strict)`).
    fn decode_in<'de, D: Deserializer<'de>>(deserializer: D, mode: Mode) -> Result<Self, D::Error>;
}

/// Decodes a payload that has passed validation into its typed form, in `mode`.
///
/// The typed decoding is as strict as the schema (in [`Mode::Strict`]), so this fails only for
/// a valid value the Rust type cannot hold (an integer beyond the 64-bit range).
pub fn decode<T: Codec>(payload: Value, mode: Mode) -> Result<T, CallError> {
    T::decode_in(payload, mode).map_err(|e| {
        // Validation passed, so this is a value the Rust type cannot hold (an integer beyond
        // the 64-bit range); the payload is valid but this receiver cannot process it.
        CallError::new(
            ErrorCode::GenericError,
            format!("cannot represent payload: {e}"),
        )
    })
}

/// Encodes a typed payload as a JSON value.
pub fn encode<T: Serialize>(payload: &T) -> Result<Value, CallError> {
    serde_json::to_value(payload)
        .map_err(|e| CallError::internal(format!("cannot encode payload: {e}")))
}

/// Decodes a valid payload into `T` in `mode` and encodes it back: what a typed round trip
/// makes of it.
pub fn reencode<T: Codec>(payload: Value, mode: Mode) -> Result<Value, CallError> {
    encode(&decode::<T>(payload, mode)?)
}

/// Decodes the payload text of a request or response on the fast path and encodes it back
/// (`None` when the fast path rejects it): the differential tests compare it with the
/// validator's verdict and with [`reencode`].
pub fn fast_reencode<T: Codec>(payload: &str) -> Option<Value> {
    let typed: T = serde_json::from_str(payload).ok()?;
    serde_json::to_value(&typed).ok()
}

/// Checks a value built in Rust against its schema: at once on the typed value, and with the
/// validator's full report when that finds a problem.
pub fn validate_value<T: Codec>(value: &T) -> Result<(), Violations> {
    if value.is_valid() {
        return Ok(());
    }
    let json =
        serde_json::to_value(value).map_err(|e| Violations::unrepresentable(e.to_string()))?;
    Violations::check(crate::validate::validate(T::SCHEMA, &json))
}

/// The JSON text of `value`, or every violation of its schema: checked on the typed value,
/// with the validator's report only when that finds a problem.
pub fn to_checked_text<T: Codec>(value: &T) -> Result<String, Violations> {
    match to_text(value) {
        Some(text) => Ok(text),
        None => Err(validate_value(value)
            .err()
            .unwrap_or_else(|| Violations::unrepresentable("cannot be encoded"))),
    }
}

/// The JSON text of `value` if it satisfies its schema (checked on the typed value).
pub fn to_text<T: Codec>(value: &T) -> Option<String> {
    if value.is_valid() {
        serde_json::to_string(value).ok()
    } else {
        None
    }
}
