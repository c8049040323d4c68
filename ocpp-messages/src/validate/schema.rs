//! The schema tree: what `cargo xtask codegen` turns each schema definition into, and the
//! checks on one value (lengths, ranges, `multipleOf` in decimal, formats).

use crate::datetime::is_rfc3339_date_time;

/// A generated type that knows the schema it was generated from.
pub trait HasSchema {
    /// The schema every JSON value of this type satisfies.
    const SCHEMA: &'static Schema;
}

/// A JSON schema, as the subset of JSON Schema draft-04/06 the OCPP schemas use.
#[derive(Debug)]
pub enum Schema {
    /// Any JSON value (the members `customData` may carry beyond `vendorId`).
    Any,
    /// `true` or `false`.
    Boolean,
    /// A number with no fractional part (`5` and `5.0` alike, as draft-06 says).
    Integer(NumberRange),
    /// An integer as draft-04 defines it: a number written without a fraction or exponent
    /// (`5` is one, `5.0` and `5e0` are not). The OCPP 1.6 core schemas are draft-04.
    IntegerDraft4(NumberRange),
    /// Any JSON number.
    Number(NumberRange),
    /// A string.
    String(StringSchema),
    /// A string that must be one of the listed values.
    Enum(&'static [&'static str]),
    /// An array.
    Array(ArraySchema),
    /// An object.
    Object(ObjectSchema),
}

/// Bounds of a number (`minimum`, `maximum`, `multipleOf`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NumberRange {
    /// The smallest allowed value.
    pub minimum: Option<f64>,
    /// The largest allowed value.
    pub maximum: Option<f64>,
    /// The value must be an integer multiple of this, decided in decimal: the value and the
    /// step are taken as the shortest decimals that read back as the same doubles, so `0.3` is
    /// a multiple of `0.1`, and `0.05` and `1.55` are not.
    pub multiple_of: Option<f64>,
}

/// Constraints on a string.
#[derive(Debug, Default, Clone, Copy)]
pub struct StringSchema {
    /// At most this many Unicode code points.
    pub max_length: Option<usize>,
    /// At least this many Unicode code points.
    pub min_length: Option<usize>,
    /// A `format` the string must have.
    pub format: Option<Format>,
}

impl NumberRange {
    /// Whether `x` is within the bounds and a multiple of `multiple_of` (in decimal; see
    /// [`NumberRange::multiple_of`]).
    pub fn accepts(&self, x: f64) -> bool {
        self.minimum.is_none_or(|m| x >= m)
            && self.maximum.is_none_or(|m| x <= m)
            && self.multiple_of.is_none_or(|step| is_multiple_of(x, step))
    }
}

/// Whether `x` is an integer multiple of `step`, in decimal: both are read as the shortest
/// decimal `m * 10^e` that parses back to the same double (what a sender wrote, for any number
/// written with at most 17 significant digits), and `m_x * 10^(e_x - e)` must be divisible by
/// `m_step * 10^(e_step - e)` for the smaller exponent `e`. Where that does not fit in 128 bits,
/// the quotient is checked in binary instead.
pub(super) fn is_multiple_of(x: f64, step: f64) -> bool {
    if !x.is_finite() || !step.is_finite() || step == 0.0 {
        return false;
    }
    if x == 0.0 {
        return true;
    }
    if let (Some((mx, ex)), Some((ms, es))) = (shortest_decimal(x), shortest_decimal(step)) {
        let e = ex.min(es);
        let scale = |m: i128, by: i32| -> Option<i128> {
            m.checked_mul(10i128.checked_pow(u32::try_from(by - e).ok()?)?)
        };
        if let (Some(a), Some(b)) = (scale(mx, ex), scale(ms, es)) {
            return b != 0 && a % b == 0;
        }
    }
    let q = x / step;
    q.is_finite() && q == q.trunc()
}

/// The shortest decimal `(m, e)` with `m * 10^e == x` that reads back as `x` (Rust's `{:e}`
/// formatting is the shortest round-trip form).
fn shortest_decimal(x: f64) -> Option<(i128, i32)> {
    use std::io::Write;
    let mut buf = [0u8; 40];
    let len = {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        write!(cursor, "{x:e}").ok()?;
        usize::try_from(cursor.position()).ok()?
    };
    let text = std::str::from_utf8(&buf[..len]).ok()?;
    let (mantissa, exponent) = text.split_once('e')?;
    let mut exponent: i32 = exponent.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    exponent -= i32::try_from(frac.len()).ok()?;
    let digits: i128 = format_args!("{int}{frac}").to_string().parse().ok()?;
    Some((digits, exponent))
}

impl StringSchema {
    /// Whether `text` satisfies the length limits and the format.
    pub fn accepts(&self, text: &str) -> bool {
        // A string has at most as many code points as bytes: count only when that matters.
        let len_ok = match (self.min_length, self.max_length) {
            (None, None) => true,
            (None, Some(max)) if text.len() <= max => true,
            (min, max) => {
                let n = text.chars().count();
                min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)
            }
        };
        len_ok && self.format.is_none_or(|f| f.accepts(text))
    }
}

impl Format {
    /// Whether `text` has this format.
    pub fn accepts(self, text: &str) -> bool {
        match self {
            Format::DateTime => is_rfc3339_date_time(text),
            Format::Uri => is_absolute_uri(text),
        }
    }
}

/// The `format`s of the OCPP schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 3339 `date-time`.
    DateTime,
    /// An absolute URI (RFC 3986): a scheme, a colon, and no whitespace.
    Uri,
}

/// Constraints on an array.
#[derive(Debug)]
pub struct ArraySchema {
    /// Every item satisfies this schema.
    pub items: &'static Schema,
    /// At least this many items.
    pub min_items: Option<usize>,
    /// At most this many items.
    pub max_items: Option<usize>,
}

/// Constraints on an object.
#[derive(Debug)]
pub struct ObjectSchema {
    /// The declared members, in schema order.
    pub properties: &'static [Property],
    /// Whether members other than the declared ones are allowed.
    pub additional_properties: bool,
}

/// One declared member of an object.
#[derive(Debug)]
pub struct Property {
    /// The member name.
    pub name: &'static str,
    /// Whether the member must be present.
    pub required: bool,
    /// The member's schema.
    pub schema: &'static Schema,
}

/// An absolute URI per RFC 3986: `scheme ":" hier-part`, with no whitespace or control
/// characters.
fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
}
