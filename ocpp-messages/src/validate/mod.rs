//! Validation of JSON payloads against the OCPP schemas, exactly as the schemas say.
//!
//! `cargo xtask codegen` translates every schema definition into a static [`Schema`] tree
//! (see [`HasSchema`]); [`validate`] walks a payload against it and reports every violation
//! with a JSON pointer. The keywords covered are the ones the OCPP schemas use: `type`,
//! `properties`, `required`, `additionalProperties`, `enum`, `maxLength`/`minLength` (counted in
//! Unicode code points), `format: date-time` (RFC 3339), `format: uri`, `items`,
//! `minItems`/`maxItems`, `minimum`/`maximum` and `multipleOf`. The generator refuses a schema
//! with any other keyword, so a constraint is never silently ignored.

use std::fmt;

use serde_json::{Map, Value};

use crate::datetime::is_rfc3339_date_time;
pub use crate::spec::ViolationClass;

mod report;
pub(crate) use report::violations_report;
pub use report::MAX_REPORTED_VIOLATIONS;

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
fn is_multiple_of(x: f64, step: f64) -> bool {
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

/// What went wrong at one place in a payload.
#[derive(Debug, Clone, PartialEq)]
pub enum ViolationKind {
    /// The payload itself is not a JSON object.
    PayloadNotObject,
    /// A value has the wrong JSON type (including `null` where the schema has no `null`).
    Type {
        /// The JSON type the schema asks for.
        expected: &'static str,
    },
    /// A required member is missing.
    Required {
        /// The missing member's name.
        member: &'static str,
    },
    /// A member the schema does not define (`additionalProperties: false`).
    Additional {
        /// The unexpected member's name.
        member: String,
    },
    /// A string longer than `maxLength` code points.
    MaxLength {
        /// The limit.
        limit: usize,
        /// The actual length in code points.
        actual: usize,
    },
    /// A string shorter than `minLength` code points.
    MinLength {
        /// The limit.
        limit: usize,
        /// The actual length in code points.
        actual: usize,
    },
    /// A string that is not one of the `enum` values.
    Enum,
    /// A string that does not have the required `format`.
    Format(Format),
    /// A number below `minimum`.
    Minimum(f64),
    /// A number above `maximum`.
    Maximum(f64),
    /// A number that is not a multiple of `multipleOf`.
    MultipleOf(f64),
    /// An array with fewer than `minItems` items.
    MinItems(usize),
    /// An array with more than `maxItems` items.
    MaxItems(usize),
    /// A valid value the Rust type cannot hold (an integer beyond 64 bits).
    Unrepresentable(String),
    /// The payload text is not JSON.
    NotJson(String),
}

impl ViolationKind {
    /// The class of this violation.
    pub fn class(&self) -> ViolationClass {
        match self {
            ViolationKind::PayloadNotObject | ViolationKind::NotJson(_) => ViolationClass::Format,
            ViolationKind::Additional { .. } => ViolationClass::Structure,
            ViolationKind::Type { .. } => ViolationClass::Type,
            ViolationKind::Required { .. } => ViolationClass::Missing,
            ViolationKind::MinItems(_) | ViolationKind::MaxItems(_) => ViolationClass::Occurrence,
            ViolationKind::MaxLength { .. }
            | ViolationKind::MinLength { .. }
            | ViolationKind::Enum
            | ViolationKind::Format(_)
            | ViolationKind::Minimum(_)
            | ViolationKind::Maximum(_)
            | ViolationKind::MultipleOf(_)
            | ViolationKind::Unrepresentable(_) => ViolationClass::Property,
        }
    }
}

/// One violation: where (a JSON pointer into the payload) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// JSON pointer (RFC 6901) to the offending value; `""` is the payload itself. For a
    /// missing member, the pointer names the member that should be there.
    pub pointer: String,
    /// What is wrong.
    pub kind: ViolationKind,
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViolationKind::PayloadNotObject => f.write_str("payload is not a JSON object"),
            ViolationKind::Type { expected } => write!(f, "expected {expected}"),
            ViolationKind::Required { member } => {
                write!(f, "required member {member:?} is missing")
            }
            ViolationKind::Additional { member } => {
                let shown: String = member.chars().take(64).collect();
                write!(f, "member {shown:?} is not defined by the schema")
            }
            ViolationKind::MaxLength { limit, actual } => {
                write!(
                    f,
                    "string of {actual} characters is longer than maxLength {limit}"
                )
            }
            ViolationKind::MinLength { limit, actual } => {
                write!(
                    f,
                    "string of {actual} characters is shorter than minLength {limit}"
                )
            }
            ViolationKind::Enum => f.write_str("value is not one of the enumerated values"),
            ViolationKind::Format(Format::DateTime) => {
                f.write_str("not an RFC 3339 date-time (e.g. 2024-01-31T13:45:00Z)")
            }
            ViolationKind::Format(Format::Uri) => f.write_str("not an absolute URI"),
            ViolationKind::Minimum(m) => write!(f, "value is less than minimum {m}"),
            ViolationKind::Maximum(m) => write!(f, "value is greater than maximum {m}"),
            ViolationKind::MultipleOf(m) => write!(f, "value is not a multiple of {m}"),
            ViolationKind::MinItems(n) => write!(f, "array has fewer than minItems {n} items"),
            ViolationKind::MaxItems(n) => write!(f, "array has more than maxItems {n} items"),
            ViolationKind::Unrepresentable(e) => write!(f, "cannot be represented: {e}"),
            ViolationKind::NotJson(e) => write!(f, "payload is not JSON: {e}"),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.kind)
    }
}

/// Every violation of a payload or of a value built in Rust against its schema (never
/// empty): the error of [`crate::Message::from_json_str`], of each generated type's
/// `validate()` and of `rpc::call_frame` (inside `rpc::SendError`). It derefs to the slice of
/// [`Violation`]s, in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// `Err` with the violations, if there are any.
    pub fn check(violations: Vec<Violation>) -> Result<(), Violations> {
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Violations(violations))
        }
    }

    /// One violation.
    pub(crate) fn one(violation: Violation) -> Self {
        Violations(vec![violation])
    }

    /// A value the schema may accept but that cannot be decoded or encoded (`reason` says
    /// why), as one violation at the root.
    pub(crate) fn unrepresentable(reason: impl Into<String>) -> Self {
        Violations::one(Violation {
            pointer: String::new(),
            kind: ViolationKind::Unrepresentable(reason.into()),
        })
    }

    /// The violations as a vector.
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }
}

impl std::ops::Deref for Violations {
    type Target = [Violation];
    fn deref(&self) -> &[Violation] {
        &self.0
    }
}

impl IntoIterator for Violations {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => f.write_str("no violation"),
            [only] => write!(f, "{only}"),
            [first, rest @ ..] => write!(f, "{first} (and {} more)", rest.len()),
        }
    }
}

impl std::error::Error for Violations {}

/// Validates `payload` (a whole CALL or CALLRESULT payload) against `schema` and returns every
/// violation, in document order. An empty vector means the payload is valid.
pub fn validate(schema: &Schema, payload: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    if !payload.is_object() && matches!(schema, Schema::Object(_)) {
        out.push(Violation {
            pointer: String::new(),
            kind: ViolationKind::PayloadNotObject,
        });
        return out;
    }
    let mut pointer = String::new();
    check(schema, payload, &mut pointer, &mut out);
    out
}

/// Whether `payload` satisfies `schema` (the same verdict as [`validate`], without collecting).
pub fn is_valid(schema: &Schema, payload: &Value) -> bool {
    validate(schema, payload).is_empty()
}

fn push_pointer(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Whether `n` is an integer in draft-06's sense: a number with a zero fractional part.
pub(crate) fn is_integral(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// Whether `n` is an integer in draft-04's sense: written without a fraction or exponent.
/// serde_json reads such a number as an `i64` or `u64` when it fits; one that does not fit is
/// read as a double of magnitude 2^63 or more, and every such double is whole (a fraction or
/// exponent cannot be told apart there, and counts as written like an integer).
pub(crate) fn is_written_as_integer(n: &serde_json::Number) -> bool {
    n.is_i64()
        || n.is_u64()
        || n.as_f64()
            .is_some_and(|f| f.abs() >= 9_223_372_036_854_775_808.0)
}

fn check(schema: &Schema, value: &Value, pointer: &mut String, out: &mut Vec<Violation>) {
    let mut fail = |pointer: &str, kind| {
        out.push(Violation {
            pointer: pointer.to_owned(),
            kind,
        })
    };
    match schema {
        Schema::Any => {}
        Schema::Boolean => {
            if !value.is_boolean() {
                fail(
                    pointer,
                    ViolationKind::Type {
                        expected: "boolean",
                    },
                );
            }
        }
        Schema::Integer(range) => match value {
            Value::Number(n) if is_integral(n) => check_range(range, n, pointer, out),
            _ => fail(
                pointer,
                ViolationKind::Type {
                    expected: "integer",
                },
            ),
        },
        Schema::IntegerDraft4(range) => match value {
            Value::Number(n) if is_written_as_integer(n) => check_range(range, n, pointer, out),
            _ => fail(
                pointer,
                ViolationKind::Type {
                    expected: "integer",
                },
            ),
        },
        Schema::Number(range) => match value {
            Value::Number(n) => check_range(range, n, pointer, out),
            _ => fail(pointer, ViolationKind::Type { expected: "number" }),
        },
        Schema::String(s) => match value {
            Value::String(text) => {
                if s.max_length.is_some() || s.min_length.is_some() {
                    let len = text.chars().count();
                    if let Some(limit) = s.max_length.filter(|&l| len > l) {
                        fail(pointer, ViolationKind::MaxLength { limit, actual: len });
                    }
                    if let Some(limit) = s.min_length.filter(|&l| len < l) {
                        fail(pointer, ViolationKind::MinLength { limit, actual: len });
                    }
                }
                if let Some(format) = s.format.filter(|f| !f.accepts(text)) {
                    fail(pointer, ViolationKind::Format(format));
                }
            }
            _ => fail(pointer, ViolationKind::Type { expected: "string" }),
        },
        Schema::Enum(values) => match value {
            Value::String(text) => {
                if !values.contains(&text.as_str()) {
                    fail(pointer, ViolationKind::Enum);
                }
            }
            // An enum of strings rejects every other JSON type by value, not by type; the
            // OCPP enums are all declared `"type": "string"` as well, so this is a type error.
            _ => fail(pointer, ViolationKind::Type { expected: "string" }),
        },
        Schema::Array(a) => match value {
            Value::Array(items) => {
                if let Some(n) = a.min_items.filter(|&n| items.len() < n) {
                    fail(pointer, ViolationKind::MinItems(n));
                }
                if let Some(n) = a.max_items.filter(|&n| items.len() > n) {
                    fail(pointer, ViolationKind::MaxItems(n));
                }
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    push_pointer(pointer, &i.to_string());
                    check(a.items, item, pointer, out);
                    pointer.truncate(len);
                }
            }
            _ => fail(pointer, ViolationKind::Type { expected: "array" }),
        },
        Schema::Object(o) => match value {
            Value::Object(members) => check_object(o, members, pointer, out),
            _ => fail(pointer, ViolationKind::Type { expected: "object" }),
        },
    }
}

fn check_object(
    o: &ObjectSchema,
    members: &Map<String, Value>,
    pointer: &mut String,
    out: &mut Vec<Violation>,
) {
    for prop in o.properties {
        if prop.required && !members.contains_key(prop.name) {
            let len = pointer.len();
            push_pointer(pointer, prop.name);
            out.push(Violation {
                pointer: pointer.clone(),
                kind: ViolationKind::Required { member: prop.name },
            });
            pointer.truncate(len);
        }
    }
    for (name, member) in members {
        let len = pointer.len();
        push_pointer(pointer, name);
        match o.properties.iter().find(|p| p.name == name) {
            Some(prop) => check(prop.schema, member, pointer, out),
            None if o.additional_properties => {}
            None => out.push(Violation {
                pointer: pointer.clone(),
                kind: ViolationKind::Additional {
                    member: name.clone(),
                },
            }),
        }
        pointer.truncate(len);
    }
}

fn check_range(
    range: &NumberRange,
    n: &serde_json::Number,
    pointer: &str,
    out: &mut Vec<Violation>,
) {
    let Some(x) = n.as_f64() else { return };
    let mut fail = |kind| {
        out.push(Violation {
            pointer: pointer.to_owned(),
            kind,
        })
    };
    if let Some(min) = range.minimum.filter(|&m| x < m) {
        fail(ViolationKind::Minimum(min));
    }
    if let Some(max) = range.maximum.filter(|&m| x > m) {
        fail(ViolationKind::Maximum(max));
    }
    if let Some(step) = range.multiple_of.filter(|&step| !is_multiple_of(x, step)) {
        fail(ViolationKind::MultipleOf(step));
    }
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
