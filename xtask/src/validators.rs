//! JSON schemas translated into static `ocpp_messages::validate::Schema` trees.
//!
//! Every keyword is accounted for: a keyword this translation does not know is an error, so a
//! constraint can never be silently dropped when the Open Charge Alliance publishes new schemas.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::{Map, Value};

use crate::schema_set::ref_name;
use crate::Result;

/// Keywords that carry no constraint (documentation, or ignored by the draft in the way the
/// OCPP schemas use them).
const ANNOTATIONS: &[&str] = &[
    "description",
    "javaType",
    "title",
    "default",
    "$schema",
    "$id",
    "comment",
];

/// The `&'static Schema` expression for `schema`. `rust_names` maps definition names to the Rust
/// type that implements `HasSchema` for them.
pub fn schema_expr(
    schema: &Value,
    rust_names: &BTreeMap<String, String>,
    at: &str,
) -> Result<TokenStream> {
    let Value::Object(map) = schema else {
        return Err(format!("{at}: schema is not an object"));
    };
    let v = quote!(::ocpp_messages::validate);
    if let Some(reference) = map.get("$ref") {
        let reference = reference
            .as_str()
            .ok_or_else(|| format!("{at}: $ref is not a string"))?;
        if let Some(other) = map
            .keys()
            .find(|k| *k != "$ref" && !ANNOTATIONS.contains(&k.as_str()))
        {
            return Err(format!(
                "{at}: keyword {other} beside $ref is not supported"
            ));
        }
        let name = ref_name(reference)?;
        let rust = rust_names
            .get(name)
            .ok_or_else(|| format!("{at}: no Rust type for definition {name}"))?;
        let ident = format_ident!("{rust}");
        return Ok(quote!(<#ident as #v::HasSchema>::SCHEMA));
    }
    if !map.contains_key("type") {
        // No `type` and no constraint: any JSON value (DataTransfer's `data`).
        if let Some(k) = map.keys().find(|k| !ANNOTATIONS.contains(&k.as_str())) {
            return Err(format!(
                "{at}: keyword {k:?} without a `type` is not supported"
            ));
        }
        return Ok(quote!(&#v::Schema::Any));
    }
    let ty = map
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}: schema has no single `type`"))?;
    let allowed: &[&str] = match ty {
        "object" => &["type", "properties", "required", "additionalProperties"],
        "array" => &["type", "items", "minItems", "maxItems", "additionalItems"],
        "string" => &[
            "type",
            "maxLength",
            "minLength",
            "format",
            "enum",
            "additionalProperties",
        ],
        "integer" | "number" => &["type", "minimum", "maximum", "multipleOf"],
        "boolean" => &["type"],
        other => return Err(format!("{at}: unsupported type {other:?}")),
    };
    if let Some(k) = map
        .keys()
        .find(|k| !allowed.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()))
    {
        return Err(format!(
            "{at}: keyword {k:?} is not supported for type {ty}"
        ));
    }
    let usize_kw = |k: &str| -> Result<TokenStream> {
        match map.get(k) {
            None => Ok(quote!(None)),
            Some(n) => {
                let n = n
                    .as_u64()
                    .ok_or_else(|| format!("{at}: {k} is not a non-negative integer"))?;
                let n = usize::try_from(n).map_err(|e| format!("{at}: {k}: {e}"))?;
                Ok(quote!(Some(#n)))
            }
        }
    };
    let f64_kw = |k: &str| -> Result<TokenStream> {
        match map.get(k) {
            None => Ok(quote!(None)),
            Some(n) => {
                let n = n
                    .as_f64()
                    .ok_or_else(|| format!("{at}: {k} is not a number"))?;
                let lit = proc_macro2::Literal::f64_suffixed(n);
                Ok(quote!(Some(#lit)))
            }
        }
    };
    let expr = match ty {
        "boolean" => quote!(#v::Schema::Boolean),
        "integer" | "number" => {
            let (minimum, maximum, multiple_of) = (
                f64_kw("minimum")?,
                f64_kw("maximum")?,
                f64_kw("multipleOf")?,
            );
            let variant = if ty == "integer" {
                quote!(Integer)
            } else {
                quote!(Number)
            };
            quote!(#v::Schema::#variant(#v::NumberRange {
                minimum: #minimum, maximum: #maximum, multiple_of: #multiple_of,
            }))
        }
        "string" => {
            if let Some(values) = map.get("enum") {
                if map.contains_key("maxLength") || map.contains_key("format") {
                    return Err(format!("{at}: enum with other string constraints"));
                }
                let values = values
                    .as_array()
                    .and_then(|vals| vals.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| format!("{at}: enum values are not all strings"))?;
                quote!(#v::Schema::Enum(&[#(#values),*]))
            } else {
                let format = match map.get("format").map(|f| f.as_str()) {
                    None => quote!(None),
                    Some(Some("date-time")) => quote!(Some(#v::Format::DateTime)),
                    Some(Some("uri")) => quote!(Some(#v::Format::Uri)),
                    Some(other) => return Err(format!("{at}: unsupported format {other:?}")),
                };
                let (max_length, min_length) = (usize_kw("maxLength")?, usize_kw("minLength")?);
                quote!(#v::Schema::String(#v::StringSchema {
                    max_length: #max_length, min_length: #min_length, format: #format,
                }))
            }
        }
        "array" => {
            let items = map
                .get("items")
                .ok_or_else(|| format!("{at}: array without items"))?;
            if !items.is_object() {
                return Err(format!("{at}: tuple-form items are not supported"));
            }
            // `additionalItems` only applies to tuple-form `items`, so with a single items
            // schema it constrains nothing.
            let items = schema_expr(items, rust_names, &format!("{at}/items"))?;
            let (min_items, max_items) = (usize_kw("minItems")?, usize_kw("maxItems")?);
            quote!(#v::Schema::Array(#v::ArraySchema {
                items: #items, min_items: #min_items, max_items: #max_items,
            }))
        }
        "object" => {
            let empty = Map::new();
            let props = match map.get("properties") {
                None => &empty,
                Some(Value::Object(p)) => p,
                Some(_) => return Err(format!("{at}: properties is not an object")),
            };
            let required: Vec<&str> = match map.get("required") {
                None => Vec::new(),
                Some(r) => r
                    .as_array()
                    .and_then(|r| r.iter().map(Value::as_str).collect())
                    .ok_or_else(|| format!("{at}: required is not a list of strings"))?,
            };
            if let Some(missing) = required.iter().find(|r| !props.contains_key(**r)) {
                return Err(format!("{at}: required member {missing} is not a property"));
            }
            let additional = match map.get("additionalProperties") {
                None | Some(Value::Bool(true)) => true,
                Some(Value::Bool(false)) => false,
                Some(Value::Object(o)) if o.is_empty() => true,
                Some(other) => {
                    return Err(format!(
                        "{at}: additionalProperties {other} is not supported"
                    ))
                }
            };
            let props = props
                .iter()
                .map(|(name, schema)| {
                    let is_required = required.contains(&name.as_str());
                    let schema = schema_expr(schema, rust_names, &format!("{at}/properties/{name}"))?;
                    Ok(quote!(#v::Property { name: #name, required: #is_required, schema: #schema }))
                })
                .collect::<Result<Vec<_>>>()?;
            quote!(#v::Schema::Object(#v::ObjectSchema {
                properties: &[#(#props),*],
                additional_properties: #additional,
            }))
        }
        _ => unreachable!("type checked above"),
    };
    Ok(quote!(&#expr))
}
