//! The fast path: from JSON text straight to a typed value, as strict as the schema, in one
//! pass; and from a typed value straight to JSON text, checked on the typed value.
//!
//! Types that `#[derive(Codec)]` decode with the seeds of this module: each checks its value's
//! constraints while it is read and fails at the first problem. A failure says only *that* the
//! text is not a valid payload; the exact report (every violation with its pointer and class)
//! comes from [`crate::validate`], run on the same text afterwards. The two agree: the
//! differential tests check that the fast path accepts a payload if and only if the validator
//! finds nothing, and decodes it to the same value.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{CallError, ErrorCode};

use crate::frame::Envelope;
use crate::validate::{HasSchema, NumberRange, StringSchema, Violations};

/// A schema type with a strict one-pass codec, derived with `#[derive(Codec)]`.
///
/// Its `serde::Deserialize` is as strict as its schema (decoding a payload with it succeeds
/// only for payloads the schema accepts, and a failure says only that it failed: see
/// [`crate::Message::from_json_str`] for the report), and [`Codec::is_valid`] checks a value
/// built in Rust against the constraints its type does not express (lengths, ranges, counts).
pub trait Codec: HasSchema + Serialize + for<'de> Deserialize<'de> {
    /// Whether this value, encoded, satisfies its schema.
    fn is_valid(&self) -> bool;
}

/// The error message of an unknown member of a closed object.
pub const UNKNOWN_MEMBER: &str = "member not defined by the schema";

/// An object member name, borrowed from the text when it has no escapes.
pub struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned string.
    pub fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

thread_local! {
    /// Whether the seeds accept values their type can hold although the schema does not (a
    /// string too long, a number out of range, an item count out of bounds): set only while
    /// [`decode`] decodes a request a relaxed policy delivers.
    static LENIENT: Cell<bool> = const { Cell::new(false) };
    /// Whether the next [`decode`] on this thread is lenient: set by the dispatcher just
    /// before it first polls a handler's future, whose first step decodes the request.
    static LENIENT_NEXT: Cell<bool> = const { Cell::new(false) };
}

/// Whether a constraint the type does not express may be broken (checked only on failure,
/// so the strict path pays nothing).
fn lenient() -> bool {
    LENIENT.with(Cell::get)
}

/// Makes the next [`decode`] on this thread lenient (or not).
pub(crate) fn set_lenient_next(on: bool) {
    LENIENT_NEXT.with(|next| next.set(on));
}

/// Runs `f` with the seeds lenient.
pub(crate) fn leniently<R>(f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            LENIENT.with(|l| l.set(false));
        }
    }
    LENIENT.with(|l| l.set(true));
    let _reset = Reset;
    f()
}

/// Decodes a string satisfying a [`StringSchema`].
#[derive(Clone, Copy)]
pub struct Str(pub StringSchema);

impl<'de> DeserializeSeed<'de> for Str {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_string(self)
    }
}

impl Visitor<'_> for Str {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if self.0.accepts(v) || lenient() {
            Ok(v.to_owned())
        } else {
            Err(E::custom("string out of bounds"))
        }
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        if self.0.accepts(&v) || lenient() {
            Ok(v)
        } else {
            Err(E::custom("string out of bounds"))
        }
    }
}

/// Decodes an integer (`5` or `5.0`, as draft-06 says) within a [`NumberRange`] into `i64`.
#[derive(Clone, Copy)]
pub struct Int(pub NumberRange);

impl<'de> DeserializeSeed<'de> for Int {
    type Value = i64;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<i64, D::Error> {
        deserializer.deserialize_i64(self)
    }
}

impl Visitor<'_> for Int {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        // The validator compares numbers as f64, and so does this.
        #[allow(clippy::cast_precision_loss)]
        if self.0.accepts(v as f64) || lenient() {
            Ok(v)
        } else {
            Err(E::custom("integer out of range"))
        }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        // Beyond i64: valid by the schema, but not representable; the slow path says so.
        let v = i64::try_from(v).map_err(|_| E::custom("integer beyond 64 bits"))?;
        self.visit_i64(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // In range, so the conversion is exact.
        #[allow(clippy::cast_possible_truncation)]
        if v.fract() != 0.0 {
            Err(E::custom("not an integer"))
        } else if v >= -(2f64.powi(63)) && v < 2f64.powi(63) {
            self.visit_i64(v as i64)
        } else {
            Err(E::custom("integer beyond 64 bits"))
        }
    }
}

/// Decodes an integer as draft-04 counts them (`5`, not `5.0`) within a [`NumberRange`] into
/// `i64`.
#[derive(Clone, Copy)]
pub struct IntDraft4(pub NumberRange);

impl<'de> DeserializeSeed<'de> for IntDraft4 {
    type Value = i64;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<i64, D::Error> {
        deserializer.deserialize_i64(self)
    }
}

impl Visitor<'_> for IntDraft4 {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer written without a fraction or exponent")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Int(self.0).visit_i64(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        Int(self.0).visit_u64(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // serde_json reads a number with a fraction or exponent, or one beyond 64 bits, as
        // `f64`; only the last can be a draft-04 integer, and `i64` cannot hold it.
        if v.abs() >= 2f64.powi(63) {
            Err(E::custom("integer beyond 64 bits"))
        } else {
            Err(E::custom("not an integer"))
        }
    }
}

/// Decodes a number within a [`NumberRange`] into `f64` (correctly rounded).
#[derive(Clone, Copy)]
pub struct Num(pub NumberRange);

impl<'de> DeserializeSeed<'de> for Num {
    type Value = f64;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<f64, D::Error> {
        deserializer.deserialize_f64(self)
    }
}

impl Visitor<'_> for Num {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        if self.0.accepts(v) || lenient() {
            Ok(v)
        } else {
            Err(E::custom("number out of range"))
        }
    }
    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }
    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }
}

/// Whether `n` is within `min..=max` (each bound optional).
pub fn count_ok(n: usize, min: Option<usize>, max: Option<usize>) -> bool {
    min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)
}

/// Decodes an array whose items each decode with `item`, with `minItems`/`maxItems`.
#[derive(Clone, Copy)]
pub struct Items<S> {
    /// At least this many items.
    pub min_items: Option<usize>,
    /// At most this many items.
    pub max_items: Option<usize>,
    /// The seed of each item.
    pub item: S,
}

impl<'de, S: DeserializeSeed<'de> + Copy> DeserializeSeed<'de> for Items<S> {
    type Value = Vec<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for Items<S> {
    type Value = Vec<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(item) = seq.next_element_seed(self.item)? {
            if self.max_items.is_some_and(|m| out.len() >= m) && !lenient() {
                return Err(de::Error::custom("too many items"));
            }
            out.push(item);
        }
        if count_ok(out.len(), self.min_items, None) || lenient() {
            Ok(out)
        } else {
            Err(de::Error::custom("too few items"))
        }
    }
}

/// Decodes the payload of a whole frame text: the element at index `SKIP` of the frame's
/// array, which must be its last; the elements before it are read and ignored (the caller has
/// already read them).
struct FramePayload<T, const SKIP: usize>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const SKIP: usize> Visitor<'de> for FramePayload<T, SKIP> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an OCPP-J frame")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        for _ in 0..SKIP {
            seq.next_element::<IgnoredAny>()?
                .ok_or_else(|| de::Error::custom("frame too short"))?;
        }
        let payload = seq
            .next_element::<T>()?
            .ok_or_else(|| de::Error::custom("frame too short"))?;
        match seq.next_element::<IgnoredAny>()? {
            None => Ok(payload),
            Some(_) => Err(de::Error::custom("frame too long")),
        }
    }
}

/// The text of a CALL or CALLRESULT frame whose envelope has been read: where its payload
/// starts. Made by the dispatcher for [`crate::dispatch::Service::call_text`].
#[derive(Debug, Clone, Copy)]
pub struct CallText<'a> {
    text: &'a str,
    payload_start: usize,
    /// Elements before the payload: 3 in a CALL, 2 in a CALLRESULT.
    skip: usize,
}

impl<'a> CallText<'a> {
    /// The CALL frame `text`, its payload starting at byte `payload_start`.
    pub(crate) fn new(text: &'a str, payload_start: usize) -> Self {
        CallText {
            text,
            payload_start,
            skip: 3,
        }
    }

    /// The CALLRESULT frame `text`, its payload starting at byte `payload_start`.
    pub(crate) fn result(text: &'a str, payload_start: usize) -> Self {
        CallText {
            text,
            payload_start,
            skip: 2,
        }
    }

    /// The typed payload, if the frame is well-formed JSON whose last element is the payload
    /// and the payload satisfies `T`'s schema. `None` says only that the fast path does not
    /// apply; the slow path finds out why.
    pub fn decode<T: Codec>(self) -> Option<T> {
        let rest = self.text.get(self.payload_start..)?;
        // Fewer than 254 bytes cannot open 127 arrays or objects, so the JSON parser's nesting
        // limit (128, counting the frame's own array) cannot be reached: read the payload
        // alone. Otherwise read the whole frame, so that the limit counts exactly as in
        // `Frame::parse`.
        if rest.len() >= 254 {
            let mut de = serde_json::Deserializer::from_str(self.text);
            let payload = match self.skip {
                3 => de::Deserializer::deserialize_seq(&mut de, FramePayload::<T, 3>(PhantomData)),
                _ => de::Deserializer::deserialize_seq(&mut de, FramePayload::<T, 2>(PhantomData)),
            };
            return payload.ok().filter(|_| de.end().is_ok());
        }
        // The payload is what lies between here and the frame's closing bracket; anything
        // else in between (another element, say) fails as trailing characters.
        let body = rest
            .trim_end_matches([' ', '\t', '\n', '\r'])
            .strip_suffix(']')?;
        serde_json::from_str(body).ok()
    }
}

/// The typed payload of the CALL frame `text` (`[2, id, action, payload]`), as
/// [`CallText::decode`].
pub fn call_payload<T: Codec>(text: &str) -> Option<T> {
    match crate::frame::scan(text)? {
        (Envelope::Call { .. }, start) => CallText::new(text, start).decode(),
        _ => None,
    }
}

/// The typed payload of the CALLRESULT frame `text` (`[3, id, payload]`), as
/// [`CallText::decode`].
pub fn result_payload<T: Codec>(text: &str) -> Option<T> {
    match crate::frame::scan(text)? {
        (Envelope::CallResult { .. }, start) => CallText::result(text, start).decode(),
        _ => None,
    }
}

/// Decodes a payload that has passed validation into its typed form.
///
/// The typed decoding is as strict as the schema, so this fails only for a valid value the Rust
/// type cannot hold (an integer beyond the 64-bit range).
#[doc(hidden)]
///
/// Lenient (see [`crate::policy::Leniency::Report`]) when the dispatcher has asked for it.
pub fn decode<T: DeserializeOwned>(payload: Value) -> Result<T, CallError> {
    let decoded = if LENIENT_NEXT.with(|next| next.replace(false)) {
        leniently(|| serde_json::from_value(payload))
    } else {
        serde_json::from_value(payload)
    };
    decoded.map_err(|e| {
        // Validation passed, so this is a value the Rust type cannot hold (an integer beyond
        // the 64-bit range); the payload is valid but this receiver cannot process it.
        CallError::new(
            ErrorCode::GenericError,
            format!("cannot represent payload: {e}"),
        )
    })
}

/// Encodes a typed payload as a JSON value.
#[doc(hidden)]
pub fn encode<T: Serialize>(payload: &T) -> Result<Value, CallError> {
    serde_json::to_value(payload)
        .map_err(|e| CallError::internal(format!("cannot encode payload: {e}")))
}

/// Decodes a valid payload into `T` and encodes it back: what a typed round trip makes of it.
#[doc(hidden)]
pub fn reencode<T: Serialize + DeserializeOwned>(payload: Value) -> Result<Value, CallError> {
    encode(&decode::<T>(payload)?)
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
