//! `#[derive(Codec)]` on hand-written types: strict decoding, encoding, schema and typed checks.

use ocpp_messages::validate::{validate, HasSchema};
use ocpp_messages::{Codec, DateTime};
use serde_json::{json, Map, Value};

#[derive(Clone, Debug, PartialEq, Codec)]
struct Custom {
    #[ocpp(rename = "vendorId", max_length = 5)]
    vendor_id: String,
    #[ocpp(extra)]
    extra: Map<String, Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Codec)]
enum Measurand {
    #[ocpp(rename = "Energy.Active.Import.Register")]
    EnergyActiveImportRegister,
    Frequency,
}

#[derive(Clone, Debug, PartialEq, Codec)]
struct Sample {
    #[ocpp(rename = "customData")]
    custom_data: Option<Custom>,
    value: f64,
    #[ocpp(minimum = 0, maximum = 10)]
    count: i64,
    measurand: Option<Measurand>,
    #[ocpp(min_items = 1, max_items = 2, items(max_length = 3))]
    tags: Option<Vec<String>>,
    at: DateTime,
    #[ocpp(format = "uri")]
    url: Option<String>,
    data: Option<Value>,
    flag: Option<bool>,
}

/// Equal JSON values, numbers compared by value (`1` and `1.0` alike).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn fast(v: &Value) -> Option<Sample> {
    serde_json::from_str::<Sample>(&v.to_string()).ok()
}

#[test]
fn accepts_exactly_what_the_schema_accepts() {
    let base = json!({"value": 1.5, "count": 3, "at": "2024-01-01T00:00:00Z"});
    let cases = [
        (base.clone(), true),
        (
            json!({"value": 1, "count": 3.0, "at": "2024-01-01T00:00:00Z"}),
            true,
        ),
        (
            json!({"value": 1, "count": 3.5, "at": "2024-01-01T00:00:00Z"}),
            false,
        ),
        (
            json!({"value": 1, "count": 11, "at": "2024-01-01T00:00:00Z"}),
            false,
        ),
        (
            json!({"value": 1, "count": -1, "at": "2024-01-01T00:00:00Z"}),
            false,
        ),
        (json!({"value": 1, "at": "2024-01-01T00:00:00Z"}), false),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01 00:00:00Z"}),
            false,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "x": 1}),
            false,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "measurand": null}),
            false,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "measurand": {"Frequency": null}}),
            false,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "measurand": "Energy.Active.Import.Register"}),
            true,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "tags": []}),
            false,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "tags": ["a", "b", "c"]}),
            false,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "tags": ["abcd"]}),
            false,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "tags": ["abc", "é€"]}),
            true,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "url": "no uri"}),
            false,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "url": "https://x"}),
            true,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "data": null}),
            true,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "flag": 1}),
            false,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "customData": []}),
            false,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "customData": {"vendorId": "v", "n": 8832690520060903.0, "deep": [[{}]]}}),
            true,
        ),
        (
            json!({"value": 1, "count": 1, "at": "2024-01-01T00:00:00Z", "customData": {"vendorId": "toolong"}}),
            false,
        ),
        (json!([1, 2]), false),
    ];
    for (payload, valid) in cases {
        let violations = validate(Sample::SCHEMA, &payload);
        assert_eq!(
            violations.is_empty(),
            valid,
            "validator on {payload}: {violations:?}"
        );
        let decoded = fast(&payload);
        assert_eq!(decoded.is_some(), valid, "fast path on {payload}");
        if let Some(decoded) = decoded {
            assert!(decoded.is_valid());
            let back = serde_json::to_value(&decoded).unwrap();
            assert!(
                same_json(&back, &payload),
                "round trip: {back} != {payload}"
            );
        }
    }
}

#[test]
fn typed_checks_catch_what_types_do_not_express() {
    let ok: Sample =
        serde_json::from_value(json!({"value": 1.5, "count": 3, "at": "2024-01-01T00:00:00Z"}))
            .unwrap();
    assert!(ok.is_valid());
    let mut bad = ok.clone();
    bad.count = 12;
    assert!(!bad.is_valid());
    let mut bad = ok.clone();
    bad.value = f64::NAN;
    assert!(!bad.is_valid());
    let mut bad = ok.clone();
    bad.tags = Some(vec![]);
    assert!(!bad.is_valid());
    let mut bad = ok;
    let mut extra = Map::new();
    extra.insert("vendorId".into(), json!("shadow"));
    bad.custom_data = Some(Custom {
        vendor_id: "v".into(),
        extra,
    });
    assert!(!bad.is_valid());
}

#[test]
fn enums_spell_their_wire_names_once() {
    assert_eq!(
        Measurand::EnergyActiveImportRegister.to_string(),
        "Energy.Active.Import.Register"
    );
    assert_eq!(
        "Frequency".parse::<Measurand>().unwrap(),
        Measurand::Frequency
    );
    assert!("frequency".parse::<Measurand>().is_err());
    assert_eq!(Measurand::ALL.len(), 2);
}
