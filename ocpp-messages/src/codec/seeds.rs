//! The seeds `#[derive(Codec)]` decodes with: each checks its value's constraints while it is
//! read, in the [`Mode`] it is given, and fails at the first problem.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::{Codec, Mode};
use crate::validate::{NumberRange, StringSchema};

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

/// Decodes a string satisfying a [`StringSchema`] (its lengths may be broken when the mode is
/// [`Mode::Lenient`]).
#[derive(Clone, Copy)]
pub struct Str(pub StringSchema, pub Mode);

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
        if self.0.accepts(v) || self.1.is_lenient() {
            Ok(v.to_owned())
        } else {
            Err(E::custom("string out of bounds"))
        }
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        if self.0.accepts(&v) || self.1.is_lenient() {
            Ok(v)
        } else {
            Err(E::custom("string out of bounds"))
        }
    }
}

/// Decodes an integer (`5` or `5.0`, as draft-06 says) within a [`NumberRange`] into `i64`
/// (the range may be broken when the mode is [`Mode::Lenient`]).
#[derive(Clone, Copy)]
pub struct Int(pub NumberRange, pub Mode);

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
        if self.0.accepts(v as f64) || self.1.is_lenient() {
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
/// `i64`, as [`Int`].
#[derive(Clone, Copy)]
pub struct IntDraft4(pub NumberRange, pub Mode);

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
        Int(self.0, self.1).visit_i64(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        Int(self.0, self.1).visit_u64(v)
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

/// Decodes a number within a [`NumberRange`] into `f64` (correctly rounded), as [`Int`].
#[derive(Clone, Copy)]
pub struct Num(pub NumberRange, pub Mode);

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
        if self.0.accepts(v) || self.1.is_lenient() {
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
    /// Whether the counts may be broken.
    pub mode: Mode,
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
            if self.max_items.is_some_and(|m| out.len() >= m) && !self.mode.is_lenient() {
                return Err(de::Error::custom("too many items"));
            }
            out.push(item);
        }
        if count_ok(out.len(), self.min_items, None) || self.mode.is_lenient() {
            Ok(out)
        } else {
            Err(de::Error::custom("too few items"))
        }
    }
}

/// Decodes a value of a `#[derive(Codec)]` type in a [`Mode`] (a nested object or enum).
pub struct Nested<T>(pub Mode, pub PhantomData<fn() -> T>);

impl<T> Nested<T> {
    /// The seed of a `T` decoded in `mode`.
    pub const fn new(mode: Mode) -> Self {
        Nested(mode, PhantomData)
    }
}

impl<T> Clone for Nested<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Nested<T> {}

impl<'de, T: Codec> DeserializeSeed<'de> for Nested<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::decode_in(deserializer, self.0)
    }
}
