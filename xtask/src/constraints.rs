//! The constraints of a member, read from the original schema.
//!
//! Every keyword is accounted for: a keyword that is neither a constraint known here nor an
//! annotation is an error, so a constraint can never be silently dropped when the Open Charge
//! Alliance publishes new schemas.

use serde_json::{Map, Number, Value};

use crate::Result;

/// Keywords that carry no constraint (documentation, or ignored by the draft in the way the
/// OCPP schemas use them). `default` is documentation here: a default is never invented on
/// decode nor written out.
pub const ANNOTATIONS: &[&str] = &[
    "description",
    "javaType",
    "title",
    "default",
    "$schema",
    "$id",
    "comment",
];

/// The constraints the schema puts on one member (or on the items of an array member).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Constraints {
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    /// `format: "uri"` (`date-time` is carried by the `DateTime` type instead).
    pub format_uri: bool,
    pub minimum: Option<Number>,
    pub maximum: Option<Number>,
    pub multiple_of: Option<Number>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    /// Constraints on the items of an array of inline (not `$ref`) strings or numbers.
    pub items: Option<Box<Constraints>>,
    /// An integer as draft-04 counts them: written without a fraction or exponent (`5.0` is
    /// not one). Set by the model for `integer` members of draft-04 files.
    pub integer_draft4: bool,
}

impl Constraints {
    pub fn is_empty(&self) -> bool {
        *self == Constraints::default()
    }
}

/// The keywords of `map` outside `allowed` and [`ANNOTATIONS`], as an error.
pub fn refuse_unknown(map: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<()> {
    match map
        .keys()
        .find(|k| !allowed.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()))
    {
        Some(k) => Err(format!("{at}: keyword {k:?} is not supported here")),
        None => Ok(()),
    }
}

/// The constraints of a property schema (`at` names it in errors).
pub fn of_property(schema: &Value, at: &str) -> Result<Constraints> {
    let Value::Object(map) = schema else {
        return Err(format!("{at}: schema is not an object"));
    };
    if map.contains_key("$ref") {
        // The referenced definition carries its own constraints.
        refuse_unknown(map, &["$ref"], at)?;
        return Ok(Constraints::default());
    }
    let Some(ty) = map.get("type") else {
        // No `type` and no constraint: any JSON value (DataTransfer's `data`).
        refuse_unknown(map, &[], at)?;
        return Ok(Constraints::default());
    };
    let ty = ty
        .as_str()
        .ok_or_else(|| format!("{at}: schema has no single `type`"))?;
    let allowed: &[&str] = match ty {
        // `additionalItems` only applies to tuple-form `items`, so with a single items schema
        // it constrains nothing.
        "array" => &["type", "items", "minItems", "maxItems", "additionalItems"],
        "string" => &["type", "maxLength", "minLength", "format"],
        "integer" | "number" => &["type", "minimum", "maximum", "multipleOf"],
        "boolean" => &["type"],
        "object" => {
            return Err(format!(
                "{at}: inline object schemas are not supported; use a definition"
            ))
        }
        other => return Err(format!("{at}: unsupported type {other:?}")),
    };
    refuse_unknown(map, allowed, &format!("{at} (type {ty})"))?;
    let count = |k: &str| -> Result<Option<u64>> {
        map.get(k)
            .map(|n| {
                n.as_u64()
                    .ok_or_else(|| format!("{at}: {k} is not a non-negative integer"))
            })
            .transpose()
    };
    let number = |k: &str| -> Result<Option<Number>> {
        map.get(k)
            .map(|n| match n {
                Value::Number(n) => Ok(n.clone()),
                _ => Err(format!("{at}: {k} is not a number")),
            })
            .transpose()
    };
    let format_uri = match map.get("format").map(Value::as_str) {
        None | Some(Some("date-time")) => false,
        Some(Some("uri")) => true,
        Some(other) => return Err(format!("{at}: unsupported format {other:?}")),
    };
    let items = match (ty, map.get("items")) {
        ("array", None) => return Err(format!("{at}: array without items")),
        ("array", Some(items)) if !items.is_object() => {
            return Err(format!("{at}: tuple-form items are not supported"))
        }
        ("array", Some(items)) => {
            if items.get("type").and_then(Value::as_str) == Some("array") {
                return Err(format!("{at}: arrays of arrays are not supported"));
            }
            let c = of_property(items, &format!("{at}/items"))?;
            (!c.is_empty()).then(|| Box::new(c))
        }
        _ => None,
    };
    Ok(Constraints {
        min_length: count("minLength")?,
        max_length: count("maxLength")?,
        format_uri,
        minimum: number("minimum")?,
        maximum: number("maximum")?,
        multiple_of: number("multipleOf")?,
        min_items: count("minItems")?,
        max_items: count("maxItems")?,
        items,
        integer_draft4: false,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::of_property;

    #[test]
    fn unknown_keywords_are_refused() {
        let err = of_property(&json!({"type": "string", "pattern": "a+"}), "X/p").unwrap_err();
        assert!(err.contains("\"pattern\""), "{err}");
        let err = of_property(&json!({"type": "integer", "maxLength": 3}), "X/p").unwrap_err();
        assert!(err.contains("\"maxLength\""), "{err}");
        let err = of_property(&json!({"$ref": "#/definitions/A", "minItems": 1}), "X/p");
        assert!(err.is_err());
    }

    #[test]
    fn constraints_of_arrays_and_their_items() {
        let c = of_property(
            &json!({"type": "array", "minItems": 1, "maxItems": 4, "additionalItems": false,
                    "items": {"type": "string", "maxLength": 512, "format": "uri"}}),
            "X/p",
        )
        .unwrap();
        assert_eq!((c.min_items, c.max_items), (Some(1), Some(4)));
        let items = c.items.unwrap();
        assert_eq!(items.max_length, Some(512));
        assert!(items.format_uri);
    }
}
