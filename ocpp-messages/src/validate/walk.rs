//! The validator: a payload walked against its schema tree, every violation collected in
//! document order with its JSON pointer.

use serde_json::{Map, Value};

use super::schema::{is_multiple_of, NumberRange, ObjectSchema, Schema};
use super::violation::{Violation, ViolationKind};

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
