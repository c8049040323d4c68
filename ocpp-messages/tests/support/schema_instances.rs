//! JSON instances generated from a JSON schema document by walking the schema itself (not our
//! generated `Schema` trees, so that a bug in the code generator cannot hide in both sides).
//!
//! It understands the subset of draft-06 the OCPP schemas use (local `$ref`s to
//! `#/definitions/...`, `type`, `properties`, `required`, `additionalProperties`, `enum`,
//! `maxLength`/`minLength`, `format`, `items`, `minItems`/`maxItems`, `minimum`/`maximum`,
//! `multipleOf`; a schema with no `type` accepts any value; the annotations `default` and, with a
//! single `items` schema, `additionalItems` change nothing) and panics on any other keyword, so a
//! constraint is never silently left out of the generated instances.
//!
//! Three kinds of instances:
//! - [`SchemaDoc::each_valid_instance`]: deterministic valid instances (minimal, maximal, and one
//!   per alternative value of every member: every enum value, strings at exactly `maxLength`
//!   code points of multi-byte characters, many date-time forms, vendor members of every JSON
//!   type in `customData`, ...);
//! - [`SchemaDoc::mutations`]: mutations of a valid instance, each labelled with the verdict
//!   the schema implies when that verdict is clear (drop a required member, over-long strings,
//!   bad enum values, wrong types and `null` everywhere, extra members, bad date-times, ...);
//! - [`SchemaDoc::strategy`]: a proptest strategy for random valid instances.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Keywords the generator understands (annotations included).
const KNOWN_KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "$ref",
    "comment",
    "description",
    "title",
    "javaType",
    "tsEnumNames",
    "default",
    "additionalItems",
    "definitions",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "maxLength",
    "minLength",
    "format",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "multipleOf",
];

/// Valid RFC 3339 `date-time`s (section 5.6), in as many spellings as the grammar allows.
pub const VALID_DATE_TIMES: &[&str] = &[
    "2024-01-31T13:45:00Z",
    "2024-01-31T13:45:00z",
    "2024-01-31t13:45:00Z",
    "2024-01-31t13:45:00z",
    "2024-01-31T13:45:00+05:30",
    "2024-01-31T13:45:00-05:30",
    "2024-01-31T13:45:00+00:00",
    "2024-01-31T13:45:00-00:00",
    "2024-01-31T13:45:00+23:59",
    "2024-01-31T13:45:00-23:59",
    "2024-01-31T13:45:00.1Z",
    "2024-01-31T13:45:00.5+02:00",
    "2024-01-31T13:45:00.123Z",
    "2024-01-31T13:45:00.123456789Z",
    "2024-01-31T13:45:00.000000000-00:00",
    "2024-01-31T13:45:00.1234567890123Z",
    "2024-01-31T13:45:00.0000000000000000000000001z",
    "2016-12-31T23:59:60Z",
    "2016-12-31T23:59:60z",
    "2016-12-31T23:59:60.5Z",
    "2016-12-31T23:59:60.999999999Z",
    "2016-12-31T23:59:60-00:00",
    "2017-01-01T05:29:60+05:30",
    "2016-12-31T15:59:60-08:00",
    "2017-01-01T01:29:60+01:30",
    "2015-06-30T23:59:60Z",
    "2024-02-29T00:00:00Z",
    "2000-02-29T12:00:00Z",
    "0000-01-01T00:00:00Z",
    "0000-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59.999999999Z",
    "9999-12-31T23:59:59-23:59",
    "1970-01-01T00:00:00Z",
    "2024-12-31T23:59:59+14:00",
];

/// Strings that are not RFC 3339 `date-time`s.
pub const BAD_DATE_TIMES: &[&str] = &[
    "2024-01-01 12:00:00Z",
    "2024-01-01T12:00Z",
    "2024-01-01T12:00:00",
    "2024-01-01T12:00:00+0100",
    "2024-01-01T12:00:00+01",
    "2024-01-01T12:00:00+1:00",
    "2024-01-01T12:00:00+01:00:00",
    "2024-01-01T12:00:00+24:00",
    "2024-01-01T12:00:00+01:60",
    "2024-01-01T12:00:00\u{2212}01:00",
    "2024-01-01T12:00:00UTC",
    "2024-01-01T12:00:00GMT",
    "2024-01-01T12:00:00ZZ",
    "2024-13-01T12:00:00Z",
    "2024-00-01T12:00:00Z",
    "2024-01-00T12:00:00Z",
    "2024-01-32T12:00:00Z",
    "2024-02-30T12:00:00Z",
    "2023-02-29T12:00:00Z",
    "1900-02-29T12:00:00Z",
    "2024-04-31T12:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T12:60:00Z",
    "2024-01-01T12:00:61Z",
    "2024-01-01T12:00:60Z",
    "2016-12-31T23:59:60+01:00",
    "2016-12-31T23:58:60Z",
    "2024-01-01T12:00:00Z ",
    " 2024-01-01T12:00:00Z",
    "2024-01-01T12:00:00Z\n",
    "2024-01-01T12:00:00.Z",
    "2024-01-01T12:00:00,5Z",
    "2024-01-01T12:00:00.1e3Z",
    "2024-01-01TT12:00:00Z",
    "2024-01-01\t12:00:00Z",
    "2024-01-01x12:00:00Z",
    "2024-01-01_12:00:00Z",
    "24-01-01T12:00:00Z",
    "+2024-01-01T12:00:00Z",
    "02024-01-01T12:00:00Z",
    "2024-1-01T12:00:00Z",
    "2024-01-1T12:00:00Z",
    "2024-01-01T1:00:00Z",
    "2024/01/01T12:00:00Z",
    "20240101T120000Z",
    "2024-01-01",
    "12:00:00Z",
    "T12:00:00Z",
    "",
    "\u{ff12}\u{ff10}\u{ff12}\u{ff14}-01-01T12:00:00Z",
    "2024-01-01T12:00:00.\u{0661}Z",
    "2024-01-01T12:00:00\u{0}Z",
];

/// Absolute URIs (RFC 3986).
const VALID_URIS: &[&str] = &[
    "https://example.com/a?b=c#d",
    "urn:isbn:0451450523",
    "wss://csms.example.com:443/ocpp/CS1",
    "mailto:a@example.com",
];

/// Members a vendor may put in an open object (`customData`), one of every JSON type, with
/// names that need escaping in a JSON pointer, an empty name, and a name differing from a
/// declared one only in case.
pub fn vendor_members() -> Vec<(&'static str, Value)> {
    vec![
        ("vendorNull", Value::Null),
        ("vendorTrue", json!(true)),
        ("vendorFalse", json!(false)),
        ("vendorZero", json!(0)),
        ("vendorNegative", json!(-42)),
        ("vendorI64Min", json!(i64::MIN)),
        ("vendorU64Max", json!(u64::MAX)),
        ("vendorFloat", json!(1.5)),
        ("vendorIntegralFloat", json!(5.0)),
        ("vendorNegativeZero", json!(-0.0)),
        ("vendorHuge", json!(1e300)),
        ("vendorTiny", json!(5e-324)),
        ("vendorString", json!("caf\u{e9} \u{1f600}")),
        ("vendorEmptyString", json!("")),
        ("vendorDateLike", json!("not a date")),
        ("vendorEmptyArray", json!([])),
        (
            "vendorArray",
            json!([1, "two", null, [3.0, [4]], {"five": 5, "six": [6.5]}, true]),
        ),
        ("vendorEmptyObject", json!({})),
        (
            "vendorObject",
            json!({"nested": {"deeper": [true, false], "vendorId": 7, "customData": null}, "n": 1.25}),
        ),
        ("", json!("empty member name")),
        ("with/slash~tilde", json!({"~0": "~1"})),
        ("\u{1f600}", json!("emoji member name")),
        ("VendorId", json!("differs from vendorId in case only")),
    ]
}

/// A step in a path into an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object member.
    Key(String),
    /// An array item.
    Index(usize),
}

/// RFC 6901 JSON pointer for a path.
pub fn pointer(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        out.push('/');
        match seg {
            Seg::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Seg::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// The value at `path` (which must exist).
pub fn get<'v>(value: &'v Value, path: &[Seg]) -> &'v Value {
    path.iter().fold(value, |v, seg| match (seg, v) {
        (Seg::Key(k), Value::Object(m)) => &m[k],
        (Seg::Index(i), Value::Array(a)) => &a[*i],
        _ => panic!("no {seg:?} in {v}"),
    })
}

/// The value at `path` (which must exist), mutably.
pub fn get_mut<'v>(value: &'v mut Value, path: &[Seg]) -> &'v mut Value {
    path.iter().fold(value, |v, seg| match (seg, v) {
        (Seg::Key(k), Value::Object(m)) => m.get_mut(k).expect("path exists"),
        (Seg::Index(i), Value::Array(a)) => &mut a[*i],
        (seg, v) => panic!("no {seg:?} in {v}"),
    })
}

/// `value` with the value at `path` replaced by `new`.
pub fn replaced(value: &Value, path: &[Seg], new: Value) -> Value {
    let mut out = value.clone();
    *get_mut(&mut out, path) = new;
    out
}

/// `value` as JSON, cut to a readable length for descriptions.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 60 {
        text
    } else {
        let head: String = text.chars().take(40).collect();
        format!("{head}\u{2026}")
    }
}

/// `s` repeated (cycling through its characters) to exactly `n` code points.
pub fn cycle_to(s: &str, n: usize) -> String {
    s.chars().cycle().take(n).collect()
}

/// Which locations of an instance to mutate.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Every location.
    All,
    /// The location at this path and those below it.
    Within(Vec<Seg>),
    /// The location at this path only.
    At(Vec<Seg>),
}

impl Scope {
    fn selects(&self, path: &[Seg]) -> bool {
        match self {
            Scope::All => true,
            Scope::Within(p) => path.starts_with(p),
            Scope::At(p) => path == p.as_slice(),
        }
    }
}

/// A generated instance with a description and, when the schema makes it clear, the verdict
/// it must get (`Some(true)`: valid, `Some(false)`: invalid).
#[derive(Debug, Clone)]
pub struct Instance {
    /// What was generated, e.g. `maximal, /status = "accepted"`.
    pub what: String,
    /// The JSON value.
    pub value: Value,
    /// The verdict the schema implies, if clear.
    pub expected: Option<bool>,
}

/// How much of an object to fill in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Required members only, smallest values.
    Minimal,
    /// Every declared member, larger values, and a few nested vendor members in open objects.
    Maximal,
    /// Like [`Size::Maximal`], with every one of [`vendor_members`] in open objects.
    Complete,
}

/// The vendor members put in open objects of the given size.
fn vendor_members_for(size: Size) -> Vec<(&'static str, Value)> {
    let all = vendor_members();
    match size {
        Size::Minimal => Vec::new(),
        Size::Maximal => all
            .into_iter()
            .filter(|(n, _)| matches!(*n, "vendorString" | "vendorArray" | "vendorObject"))
            .collect(),
        Size::Complete => all,
    }
}

/// A schema document (with its `definitions`).
#[derive(Debug)]
pub struct SchemaDoc {
    root: Value,
    /// Whether the document is draft-04, where an integer is a number written without a
    /// fraction or exponent (`5.0` is not one).
    draft4: bool,
}

fn check_keywords(schema: &Value, at: &str) {
    let Some(members) = schema.as_object() else {
        panic!("{at}: a schema must be an object, got {schema}");
    };
    for (key, sub) in members {
        assert!(
            KNOWN_KEYWORDS.contains(&key.as_str()),
            "{at}: keyword {key:?} is not understood by the instance generator"
        );
        match key.as_str() {
            "definitions" | "properties" => {
                for (name, s) in sub.as_object().expect("an object of schemas") {
                    check_keywords(s, &format!("{at}/{key}/{name}"));
                }
            }
            "items" => check_keywords(sub, &format!("{at}/items")),
            // With a single `items` schema (checked above), draft-06 ignores `additionalItems`.
            "additionalItems" => assert!(
                members.get("items").is_none_or(Value::is_object),
                "{at}: additionalItems with an array of items is not supported"
            ),
            "additionalProperties" => assert!(
                sub.is_boolean(),
                "{at}: only boolean additionalProperties are supported"
            ),
            "type" => assert!(sub.is_string(), "{at}: only a single type is supported"),
            "$ref" => assert!(
                sub.as_str()
                    .is_some_and(|r| r.starts_with("#/definitions/")),
                "{at}: only local $refs are supported"
            ),
            _ => {}
        }
    }
}

fn usize_of(s: &Value, key: &str) -> Option<usize> {
    s.get(key)
        .map(|v| usize::try_from(v.as_u64().expect("a non-negative integer")).expect("fits"))
}

fn ty(s: &Value) -> Option<&str> {
    s.get("type").and_then(Value::as_str)
}

fn enum_values(s: &Value) -> Option<&Vec<Value>> {
    s.get("enum").and_then(Value::as_array)
}

fn format_of(s: &Value) -> Option<&str> {
    s.get("format").and_then(Value::as_str)
}

fn is_open(s: &Value) -> bool {
    s.get("additionalProperties") != Some(&Value::Bool(false))
}

fn required(s: &Value) -> Vec<&str> {
    s.get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .map(|n| n.as_str().expect("a member name"))
                .collect()
        })
        .unwrap_or_default()
}

fn properties(s: &Value) -> Vec<(&str, &Value)> {
    s.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

/// Whether the JSON type of `value` is the one `type` names (no verdict on anything else).
pub fn type_matches(s: &Value, value: &Value) -> bool {
    match ty(s) {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("null") => value.is_null(),
        Some("number") => value.is_number(),
        Some("integer") => value.as_number().is_some_and(|n| {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }),
        Some(other) => panic!("unknown type {other}"),
    }
}

fn number_ok(s: &Value, x: f64) -> bool {
    let min = s.get("minimum").and_then(Value::as_f64);
    let max = s.get("maximum").and_then(Value::as_f64);
    let step = s.get("multipleOf").and_then(Value::as_f64);
    min.is_none_or(|m| x >= m)
        && max.is_none_or(|m| x <= m)
        && step.is_none_or(|d| decimal_multiple(x, d))
}

/// Whether `x` is a multiple of `step` as decimals: both written in their shortest form
/// (`Display`), scaled to integers by the longer fraction.
fn decimal_multiple(x: f64, step: f64) -> bool {
    let parts = |v: f64| -> Option<(i128, usize)> {
        let text = format!("{}", v.abs());
        if text.len() > 30 {
            return None;
        }
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        Some((format!("{int}{frac}").parse().ok()?, frac.len()))
    };
    match (parts(x), parts(step)) {
        (Some((a, fa)), Some((b, fb))) => {
            let scale = fa.max(fb);
            let a = a * 10i128.pow(u32::try_from(scale - fa).unwrap());
            let b = b * 10i128.pow(u32::try_from(scale - fb).unwrap());
            b != 0 && a % b == 0
        }
        _ => {
            let q = x / step;
            q.is_finite() && q == q.round()
        }
    }
}

fn number_candidates(s: &Value, integer: bool, draft4: bool) -> Vec<(String, Value)> {
    let mut c = vec![
        json!(0),
        json!(1),
        json!(-1),
        json!(5),
        json!(5.0),
        json!(-5.0),
        json!(100.0),
        json!(-0.0),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
    ];
    if !integer {
        c.extend([
            json!(1.5),
            json!(-2.25),
            json!(1e300),
            json!(5e-324),
            json!(0.1),
            // Multiples of 0.1 in decimal but not in binary floating point, and non-multiples.
            json!(0.3),
            json!(2.7),
            json!(0.05),
            json!(1.55),
        ]);
    }
    c.into_iter()
        // Draft-04: a number read as a double was written with a fraction or exponent.
        .filter(|v| !(integer && draft4 && v.is_f64()))
        .filter(|v| number_ok(s, v.as_f64().expect("a number")))
        .map(|v| (format!("number {v}"), v))
        .collect()
}

impl SchemaDoc {
    /// A schema document; panics if it uses a keyword the generator does not understand.
    pub fn new(root: Value) -> Self {
        check_keywords(&root, "#");
        let draft4 = root.get("$schema").and_then(Value::as_str)
            == Some("http://json-schema.org/draft-04/schema#");
        SchemaDoc { root, draft4 }
    }

    /// The root schema.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// `s` with `$ref`s followed.
    pub fn resolve<'a>(&'a self, mut s: &'a Value) -> &'a Value {
        while let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let ptr = r.strip_prefix('#').expect("a local reference");
            s = self
                .root
                .pointer(ptr)
                .unwrap_or_else(|| panic!("unresolved reference {r}"));
        }
        s
    }

    /// The smallest or largest valid instance of `s`.
    pub fn build(&self, s: &Value, size: Size) -> Value {
        let s = self.resolve(s);
        if let Some(values) = enum_values(s) {
            return match size {
                Size::Minimal => values.first(),
                Size::Maximal | Size::Complete => values.last(),
            }
            .expect("a non-empty enum")
            .clone();
        }
        match ty(s) {
            Some("object") => {
                let req = required(s);
                let props = properties(s);
                let mut m = Map::new();
                for (name, p) in &props {
                    if size != Size::Minimal || req.contains(name) {
                        m.insert((*name).to_owned(), self.build(p, size));
                    }
                }
                if is_open(s) {
                    for (name, v) in vendor_members_for(size) {
                        if !props.iter().any(|(n, _)| *n == name) {
                            m.insert(name.to_owned(), v);
                        }
                    }
                }
                Value::Object(m)
            }
            Some("array") => {
                let min = usize_of(s, "minItems").unwrap_or(0);
                let n = match size {
                    Size::Minimal => min,
                    Size::Maximal | Size::Complete => {
                        usize_of(s, "maxItems").unwrap_or(3).min(min.max(3))
                    }
                };
                let item = s.get("items").expect("array items");
                Value::Array((0..n).map(|_| self.build(item, size)).collect())
            }
            Some("string") => Value::String(match (format_of(s), size) {
                (Some("date-time"), Size::Minimal) => "2024-01-31T13:45:00Z".to_owned(),
                (Some("date-time"), _) => "2024-01-31T13:45:00.123+05:30".to_owned(),
                (Some("uri"), Size::Minimal) => "urn:x".to_owned(),
                (Some("uri"), _) => VALID_URIS[0].to_owned(),
                (Some(f), _) => panic!("format {f} is not understood by the instance generator"),
                (None, Size::Minimal) => cycle_to("a", usize_of(s, "minLength").unwrap_or(0)),
                (None, _) => {
                    let min = usize_of(s, "minLength").unwrap_or(0);
                    let n = usize_of(s, "maxLength").unwrap_or(24).min(24.max(min));
                    cycle_to("Vendor caf\u{e9} \u{1f600} \u{2713} \u{ab}x\u{bb}", n)
                }
            }),
            Some(t @ ("integer" | "number")) => {
                let c = number_candidates(s, t == "integer", self.draft4);
                let (_, v) = match size {
                    Size::Minimal => c.first(),
                    _ => c.iter().find(|(_, v)| v.is_f64()).or(c.last()),
                }
                .expect("some number in range");
                v.clone()
            }
            Some("boolean") => Value::Bool(size != Size::Minimal),
            // No `type`: any JSON value.
            None => match size {
                Size::Minimal => Value::Null,
                _ => json!({"any": [1, "x", null, 2.5, {"nested": true}]}),
            },
            other => panic!("type {other:?} is not understood by the instance generator"),
        }
    }

    /// Valid alternatives for a value of schema `s` (every enum value, boundary strings, every
    /// date-time form, ...), each with a description.
    pub fn valid_alternatives(&self, s: &Value) -> Vec<(String, Value)> {
        let s = self.resolve(s);
        if let Some(values) = enum_values(s) {
            return values
                .iter()
                .map(|v| (format!("enum value {v}"), v.clone()))
                .collect();
        }
        match ty(s) {
            Some("object") => {
                let mut out = vec![
                    ("minimal object".to_owned(), self.build(s, Size::Minimal)),
                    ("maximal object".to_owned(), self.build(s, Size::Maximal)),
                    ("complete object".to_owned(), self.build(s, Size::Complete)),
                ];
                if is_open(s) {
                    let declared = properties(s);
                    for (name, v) in vendor_members() {
                        if declared.iter().any(|(n, _)| *n == name) {
                            continue;
                        }
                        let mut o = self.build(s, Size::Minimal);
                        o.as_object_mut()
                            .expect("an object")
                            .insert(name.to_owned(), v);
                        out.push((format!("minimal object + vendor member {name:?}"), o));
                    }
                }
                out
            }
            Some("array") => vec![
                ("fewest items".to_owned(), self.build(s, Size::Minimal)),
                ("more items".to_owned(), self.build(s, Size::Maximal)),
            ],
            Some("string") => match format_of(s) {
                Some("date-time") => VALID_DATE_TIMES
                    .iter()
                    .map(|d| (format!("date-time {d:?}"), json!(d)))
                    .collect(),
                Some("uri") => VALID_URIS
                    .iter()
                    .map(|u| (format!("uri {u:?}"), json!(u)))
                    .collect(),
                Some(f) => panic!("format {f} is not understood by the instance generator"),
                None => string_alternatives(
                    usize_of(s, "minLength").unwrap_or(0),
                    usize_of(s, "maxLength"),
                ),
            },
            Some(t @ ("integer" | "number")) => number_candidates(s, t == "integer", self.draft4),
            Some("boolean") => vec![
                ("true".to_owned(), json!(true)),
                ("false".to_owned(), json!(false)),
            ],
            None => vendor_members()
                .into_iter()
                .map(|(name, v)| (format!("any value ({name})"), v))
                .collect(),
            other => panic!("type {other:?} is not understood by the instance generator"),
        }
    }

    /// Every place in `instance` that a declared member (or array item, or the root)
    /// occupies, with its resolved schema, root first.
    pub fn locations<'s>(&'s self, instance: &Value) -> Vec<(Vec<Seg>, &'s Value)> {
        let mut out = Vec::new();
        self.walk(&self.root, instance, &mut Vec::new(), &mut out);
        out
    }

    fn walk<'s>(
        &'s self,
        s: &'s Value,
        value: &Value,
        path: &mut Vec<Seg>,
        out: &mut Vec<(Vec<Seg>, &'s Value)>,
    ) {
        let s = self.resolve(s);
        out.push((path.clone(), s));
        match value {
            Value::Object(members) => {
                let props = properties(s);
                for (name, member) in members {
                    if let Some((_, p)) = props.iter().find(|(n, _)| n == name) {
                        path.push(Seg::Key(name.clone()));
                        self.walk(p, member, path, out);
                        path.pop();
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Seg::Index(i));
                        self.walk(item_schema, item, path, out);
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }

    /// Deterministic valid instances of the root schema, each with the scope of the mutations
    /// worth making of it: the minimal, maximal and complete instances and the minimal one plus
    /// each optional member (to be mutated everywhere), and the minimal and maximal instances
    /// with one member replaced by each of its valid alternatives (to be mutated at and below
    /// that member).
    /// They are handed to `visit` one at a time (they can be many and large).
    pub fn each_valid_instance(&self, visit: &mut dyn FnMut(Instance, Scope)) {
        let valid = |what: String, value: Value| Instance {
            what,
            value,
            expected: Some(true),
        };
        let minimal = self.build(&self.root, Size::Minimal);
        let maximal = self.build(&self.root, Size::Maximal);
        let complete = self.build(&self.root, Size::Complete);
        visit(valid("minimal".to_owned(), minimal.clone()), Scope::All);
        visit(valid("maximal".to_owned(), maximal.clone()), Scope::All);
        visit(
            valid(
                "complete (maximal, every kind of vendor member)".to_owned(),
                complete,
            ),
            Scope::All,
        );
        let root = self.resolve(&self.root);
        let req = required(root);
        for (name, p) in properties(root) {
            if req.contains(&name) {
                continue;
            }
            for (size_name, size) in [("minimal", Size::Minimal), ("maximal", Size::Maximal)] {
                let mut v = minimal.clone();
                v.as_object_mut()
                    .expect("an object")
                    .insert(name.to_owned(), self.build(p, size));
                visit(
                    valid(format!("minimal + {size_name} {name:?}"), v),
                    Scope::All,
                );
            }
        }
        for (base_name, base) in [("minimal", &minimal), ("maximal", &maximal)] {
            for (path, s) in self.locations(base) {
                if path.is_empty() {
                    continue;
                }
                for (alt_name, alt) in self.valid_alternatives(s) {
                    visit(
                        valid(
                            format!("{base_name}, {} = {alt_name}", pointer(&path)),
                            replaced(base, &path, alt),
                        ),
                        Scope::Within(path.clone()),
                    );
                }
            }
        }
    }

    /// Mutations of the valid instance `valid` at the locations `scope` selects, each labelled
    /// with the verdict the schema implies when it is clear.
    pub fn mutations(&self, valid: &Value, scope: &Scope) -> Vec<Instance> {
        let mut out = Vec::new();
        self.each_mutation(valid, scope, &mut |m| out.push(m));
        out
    }

    /// [`SchemaDoc::mutations`], handed to `visit` one at a time.
    pub fn each_mutation(&self, valid: &Value, scope: &Scope, visit: &mut dyn FnMut(Instance)) {
        let mut push = |what: String, value: Value, expected: Option<bool>| {
            visit(Instance {
                what,
                value,
                expected,
            })
        };
        let root = self.resolve(&self.root);
        if scope.selects(&[]) {
            for (desc, replacement) in [
                ("[]", json!([])),
                ("[\"x\"]", json!(["x"])),
                ("[<the instance>]", json!([valid])),
                ("\"x\"", json!("x")),
                ("\"\"", json!("")),
                ("<the instance as a JSON string>", json!(valid.to_string())),
                ("0", json!(0)),
                ("5.5", json!(5.5)),
                ("true", json!(true)),
                ("null", Value::Null),
            ] {
                let expected = (!type_matches(root, &replacement)).then_some(false);
                push(format!("root replaced by {desc}"), replacement, expected);
            }
        }
        for (path, s) in self.locations(valid) {
            if !scope.selects(&path) {
                continue;
            }
            let at = pointer(&path);
            let current = get(valid, &path);
            if !path.is_empty() {
                for wrong in [
                    Value::Null,
                    json!(0),
                    json!(-1),
                    json!(5.0),
                    json!(5.5),
                    json!(true),
                    json!(false),
                    json!("x"),
                    json!(""),
                    json!([]),
                    json!(["x"]),
                    json!([current]),
                    json!({}),
                    json!({"vendorId": "x"}),
                ] {
                    if &wrong == current {
                        continue;
                    }
                    let expected = (!type_matches(s, &wrong)).then_some(false);
                    push(
                        format!("{at} = {}", short(&wrong)),
                        replaced(valid, &path, wrong),
                        expected,
                    );
                }
                // A string (an enum value, say) written as an object keyed by it, as serde's
                // externally tagged enums would accept.
                if let Value::String(text) = current {
                    let mut tagged = serde_json::Map::new();
                    tagged.insert(text.clone(), Value::Null);
                    push(
                        format!("{at} = {{{text:?}: null}}"),
                        replaced(valid, &path, Value::Object(tagged)),
                        Some(false),
                    );
                }
            }
            if let Value::Object(members) = current {
                let props = properties(s);
                let req = required(s);
                let open = is_open(s);
                for name in members.keys() {
                    let declared = props.iter().any(|(n, _)| n == name);
                    let mut m = members.clone();
                    m.remove(name);
                    let expected = if req.contains(&name.as_str()) {
                        Some(false)
                    } else if declared || open {
                        Some(true)
                    } else {
                        None
                    };
                    push(
                        format!("{at}: member {name:?} dropped"),
                        replaced(valid, &path, Value::Object(m)),
                        expected,
                    );
                }
                let mut extras: Vec<(String, Value)> = vec![
                    ("extraMember".to_owned(), json!(1)),
                    ("extraMember".to_owned(), json!("x")),
                    ("extraMember".to_owned(), Value::Null),
                    ("extraMember".to_owned(), json!({})),
                    ("extraMember".to_owned(), json!([1, {"a": null}])),
                    (String::new(), json!("x")),
                    ("\u{1f600}".to_owned(), json!(true)),
                    ("a/b~c".to_owned(), json!(1.5)),
                ];
                for (name, _) in &props {
                    let mut chars = name.chars();
                    let first = chars.next().expect("a non-empty name");
                    let swapped: String = if first.is_uppercase() {
                        first.to_lowercase().chain(chars).collect()
                    } else {
                        first.to_uppercase().chain(chars).collect()
                    };
                    extras.push((swapped, members.get(*name).cloned().unwrap_or(json!("x"))));
                    extras.push((format!("{name} "), json!("x")));
                }
                for (name, v) in extras {
                    if members.contains_key(&name) || props.iter().any(|(n, _)| *n == name) {
                        continue;
                    }
                    let mut m = members.clone();
                    m.insert(name.clone(), v.clone());
                    push(
                        format!("{at}: extra member {name:?} = {}", short(&v)),
                        replaced(valid, &path, Value::Object(m)),
                        Some(open),
                    );
                }
                let as_array = Value::Array(members.values().cloned().collect());
                if !path.is_empty() {
                    let expected = (!type_matches(s, &as_array)).then_some(false);
                    push(
                        format!("{at}: object replaced by an array of its values"),
                        replaced(valid, &path, as_array),
                        expected,
                    );
                }
            }
            if let (Some(values), Value::String(current)) = (enum_values(s), current) {
                let mut bad = vec![
                    current.to_lowercase(),
                    current.to_uppercase(),
                    String::new(),
                    format!("{current} "),
                    format!(" {current}"),
                    format!("{current}\n"),
                    format!("{current}\u{0}"),
                    format!("{current}\u{200b}"),
                    current.chars().take(current.chars().count() - 1).collect(),
                    format!("{current}{current}"),
                    "Unknown".to_owned(),
                ];
                let mut chars = current.chars();
                let first = chars.next().expect("a non-empty enum value");
                bad.push(first.to_lowercase().chain(chars).collect());
                for b in values.iter().filter_map(Value::as_str) {
                    bad.push(b.to_lowercase());
                }
                for b in bad {
                    let expected = values.iter().any(|v| v == &json!(b));
                    push(
                        format!("{at} = {b:?} (not an enum value)"),
                        replaced(valid, &path, json!(b)),
                        Some(expected),
                    );
                }
            }
            if enum_values(s).is_none() && ty(s) == Some("string") {
                if let Some(max) = usize_of(s, "maxLength") {
                    for pattern in [
                        "a",
                        "\u{e9}",
                        "\u{1f600}",
                        "a\u{e9}\u{1f600}\u{4e2d}",
                        "e\u{301}",
                    ] {
                        let long = cycle_to(pattern, max + 1);
                        push(
                            format!(
                                "{at} = {} code points of {pattern:?} (maxLength + 1)",
                                max + 1
                            ),
                            replaced(valid, &path, json!(long)),
                            Some(false),
                        );
                    }
                    push(
                        format!(
                            "{at} = {} code points of \"\u{e9}\" (2 x maxLength)",
                            2 * max + 2
                        ),
                        replaced(valid, &path, json!(cycle_to("\u{e9}", 2 * max + 2))),
                        Some(false),
                    );
                    // More bytes than maxLength, but no more code points: valid.
                    let exactly_max_bytes =
                        format!("{}{}", "\u{e9}".repeat(max / 2), "a".repeat(max % 2));
                    let more_bytes = "\u{e9}".repeat((max + 1).div_ceil(2));
                    for (desc, text) in [
                        ("maxLength bytes, fewer code points", exactly_max_bytes),
                        ("maxLength + 1 or 2 bytes, fewer code points", more_bytes),
                        (
                            "4 x maxLength bytes, maxLength code points",
                            cycle_to("\u{1f600}", max),
                        ),
                        (
                            "maxLength code points of e + combining accent",
                            cycle_to("e\u{301}", max),
                        ),
                    ] {
                        if text.chars().count() <= max {
                            push(
                                format!("{at} = {desc} ({} bytes)", text.len()),
                                replaced(valid, &path, json!(text)),
                                Some(true),
                            );
                        }
                    }
                }
                if format_of(s) == Some("date-time") {
                    for bad in BAD_DATE_TIMES {
                        push(
                            format!("{at} = {bad:?} (not a date-time)"),
                            replaced(valid, &path, json!(bad)),
                            Some(false),
                        );
                    }
                }
            }
            if ty(s) == Some("integer") {
                let draft4_only = [json!(5.0), json!(-0.0)];
                let draft4 = self
                    .draft4
                    .then_some(draft4_only.iter())
                    .into_iter()
                    .flatten();
                for v in [json!(5.5), json!(0.1), json!(1e-300)].iter().chain(draft4) {
                    let v = v.clone();
                    push(
                        format!("{at} = {v} (not an integer)"),
                        replaced(valid, &path, v),
                        Some(false),
                    );
                }
            }
        }
    }

    /// A proptest strategy for random valid instances of `s`.
    pub fn strategy(&self, s: &Value) -> BoxedStrategy<Value> {
        let s = self.resolve(s);
        if let Some(values) = enum_values(s) {
            return proptest::sample::select(values.clone()).boxed();
        }
        match ty(s) {
            Some("object") => {
                let req = required(s);
                let props = properties(s);
                let declared: Vec<String> = props.iter().map(|(n, _)| (*n).to_owned()).collect();
                let mut parts: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
                for (name, p) in props {
                    let name = name.to_owned();
                    let member = self.strategy(p);
                    parts.push(if req.contains(&name.as_str()) {
                        member.prop_map(move |v| Some((name.clone(), v))).boxed()
                    } else {
                        proptest::option::of(member)
                            .prop_map(move |v| v.map(|v| (name.clone(), v)))
                            .boxed()
                    });
                }
                let extras = if is_open(s) {
                    proptest::collection::vec((member_name(), any_json()), 0..4).boxed()
                } else {
                    Just(Vec::new()).boxed()
                };
                (parts, extras)
                    .prop_map(move |(parts, extras)| {
                        let mut m = Map::new();
                        for (k, v) in extras {
                            if !declared.contains(&k) {
                                m.insert(k, v);
                            }
                        }
                        m.extend(parts.into_iter().flatten());
                        Value::Object(m)
                    })
                    .boxed()
            }
            Some("array") => {
                let min = usize_of(s, "minItems").unwrap_or(0);
                let max = usize_of(s, "maxItems").unwrap_or(min + 4).min(min + 4);
                let item = self.strategy(s.get("items").expect("array items"));
                proptest::collection::vec(item, min..=max)
                    .prop_map(Value::Array)
                    .boxed()
            }
            Some("string") => match format_of(s) {
                Some("date-time") => date_time().prop_map(Value::String).boxed(),
                Some("uri") => proptest::sample::select(VALID_URIS)
                    .prop_map(|u| json!(u))
                    .boxed(),
                Some(f) => panic!("format {f} is not understood by the instance generator"),
                None => text(
                    usize_of(s, "minLength").unwrap_or(0),
                    usize_of(s, "maxLength"),
                )
                .prop_map(Value::String)
                .boxed(),
            },
            Some(t @ ("integer" | "number")) => {
                let c: Vec<Value> = number_candidates(s, t == "integer", self.draft4)
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect();
                proptest::sample::select(c).boxed()
            }
            Some("boolean") => any::<bool>().prop_map(Value::Bool).boxed(),
            None => any_json(),
            other => panic!("type {other:?} is not understood by the instance generator"),
        }
    }
}

fn string_alternatives(min: usize, max: Option<usize>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if min == 0 {
        out.push(("empty string".to_owned(), json!("")));
    }
    let patterns = [
        ("ASCII", "a"),
        ("\u{e9}", "\u{e9}"),
        ("\u{1f600}", "\u{1f600}"),
        ("mixed", "a\u{e9}\u{1f600}\u{4e2d}"),
        ("e + combining accent", "e\u{301}"),
        ("controls and escapes", "\u{0}\n\t\"\\\u{7f}/"),
        ("BOM and noncharacters", "\u{feff}\u{ffff}\u{10ffff}"),
    ];
    for (name, pattern) in patterns {
        let short = cycle_to(
            pattern,
            pattern
                .chars()
                .count()
                .max(min)
                .min(max.unwrap_or(usize::MAX)),
        );
        out.push((format!("short {name} string"), json!(short)));
        let n = max.unwrap_or(20_000);
        out.push((
            format!("{n} code points of {name} (maxLength)"),
            json!(cycle_to(pattern, n)),
        ));
    }
    out
}

/// Characters worth having in strings: multi-byte, combining, controls, escapes, extremes.
const INTERESTING_CHARS: &[char] = &[
    'a',
    'Z',
    '0',
    ' ',
    '-',
    '\u{e9}',
    '\u{df}',
    '\u{4e2d}',
    '\u{1f600}',
    '\u{301}',
    '"',
    '\\',
    '/',
    '\n',
    '\t',
    '\u{0}',
    '\u{7f}',
    '\u{feff}',
    '\u{ffff}',
    '\u{10ffff}',
    '\u{200b}',
];

fn interesting_char() -> BoxedStrategy<char> {
    prop_oneof![4 => proptest::sample::select(INTERESTING_CHARS), 1 => any::<char>()].boxed()
}

/// A string of `min..=max` code points, often exactly `max` (64 if unbounded).
fn text(min: usize, max: Option<usize>) -> BoxedStrategy<String> {
    let cap = max.unwrap_or(64);
    let short = proptest::collection::vec(interesting_char(), min..=cap.min(min + 32))
        .prop_map(|cs| cs.into_iter().collect::<String>());
    // Long strings cycle through a short random seed, which keeps generation cheap.
    let cycled = |len: BoxedStrategy<usize>| {
        (len, proptest::collection::vec(interesting_char(), 1..8))
            .prop_map(|(n, seed)| seed.iter().cycle().take(n).collect::<String>())
    };
    prop_oneof![
        3 => short,
        1 => cycled((min..=cap).boxed()),
        1 => cycled(Just(cap).boxed()),
        1 => cycled((cap.saturating_sub(3).max(min)..=cap).boxed()),
    ]
    .boxed()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Random RFC 3339 date-times: any calendar date in 0000..=9999, `T`/`t`, optional fraction
/// of 1 to 12 digits, `Z`/`z`/`±hh:mm` offsets, and leap seconds at 23:59:60 UTC.
pub fn date_time() -> BoxedStrategy<String> {
    let date = (0u32..=9999, 1u32..=12, 1u32..=31)
        .prop_map(|(y, m, d)| (y, m, d.min(days_in_month(y, m))));
    let time = (0u32..24, 0u32..60, 0u32..60);
    let fraction = proptest::option::of(proptest::collection::vec(0u8..10, 1..=12));
    let offset = prop_oneof![
        1 => Just(None::<(bool, u32, u32)>),
        3 => (any::<bool>(), 0u32..24, 0u32..60).prop_map(Some),
    ];
    let leap = proptest::bool::weighted(0.1);
    (
        date,
        prop_oneof![Just('T'), Just('t')],
        time,
        fraction,
        offset,
        prop_oneof![Just('Z'), Just('z')],
        leap,
    )
        .prop_map(
            |((y, mo, d), sep, (h, mi, s), fraction, offset, zulu, leap)| {
                let offset_minutes = offset.map_or(0i64, |(neg, oh, om)| {
                    let m = i64::from(oh * 60 + om);
                    if neg {
                        -m
                    } else {
                        m
                    }
                });
                let (h, mi, s) = if leap {
                    // Local time that is 23:59 UTC.
                    let local = (23 * 60 + 59 + offset_minutes).rem_euclid(1440);
                    let local = u32::try_from(local).expect("in 0..1440");
                    (local / 60, local % 60, 60)
                } else {
                    (h, mi, s)
                };
                let mut out = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}");
                if let Some(digits) = fraction {
                    out.push('.');
                    out.extend(digits.iter().map(|d| char::from(b'0' + d)));
                }
                match offset {
                    None => out.push(zulu),
                    Some((neg, oh, om)) => {
                        out.push_str(&format!("{}{oh:02}:{om:02}", if neg { '-' } else { '+' }))
                    }
                }
                out
            },
        )
        .boxed()
}

fn member_name() -> BoxedStrategy<String> {
    proptest::collection::vec(interesting_char(), 0..8)
        .prop_map(|cs| cs.into_iter().collect())
        .boxed()
}

/// Any JSON value (finite numbers only, as JSON has no others), nested a few levels.
pub fn any_json() -> BoxedStrategy<Value> {
    let finite = prop_oneof![
        proptest::num::f64::NORMAL,
        proptest::num::f64::SUBNORMAL,
        proptest::num::f64::ZERO,
        (-1000i32..1000).prop_map(f64::from),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        finite.prop_map(|f| json!(f)),
        proptest::collection::vec(interesting_char(), 0..12)
            .prop_map(|cs| Value::String(cs.into_iter().collect())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((member_name(), inner), 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
    .boxed()
}
