//! Helpers of the dispatch tests: the smallest valid payload of a schema, and running a future.

use ocpp_messages::validate::{Format, Schema};
use serde_json::{json, Map, Value};

/// The smallest value `schema` accepts: required members only, minimum items.
pub fn minimal(schema: &Schema) -> Value {
    match schema {
        Schema::Any => json!({"any": "thing"}),
        Schema::Boolean => json!(true),
        Schema::Integer(r) | Schema::IntegerDraft4(r) | Schema::Number(r) => {
            json!(r.minimum.unwrap_or(0.0).ceil() as i64)
        }
        Schema::String(s) => match s.format {
            Some(Format::DateTime) => json!("2024-01-31T13:45:00Z"),
            Some(Format::Uri) => json!("https://example.com/firmware.bin"),
            None => json!("x".repeat(s.min_length.unwrap_or(1))),
        },
        Schema::Enum(values) => json!(values[0]),
        Schema::Array(a) => Value::Array(vec![minimal(a.items); a.min_items.unwrap_or(0)]),
        Schema::Object(o) => Value::Object(
            o.properties
                .iter()
                .filter(|p| p.required)
                .map(|p| (p.name.to_owned(), minimal(p.schema)))
                .collect::<Map<_, _>>(),
        ),
    }
}

/// Runs `f` to completion on a current-thread runtime.
pub fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
        .block_on(f)
}
