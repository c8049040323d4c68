//! The seed corpora of the fuzz targets (`fuzz/seeds/`), made from what the tests use: a
//! minimal and a full instance of every request and response of every generated version, a
//! CALL of every action to the role that receives it, and the hostile frames of
//! `tests/hostile.rs` (the small ones: the fuzzer grows them).
//!
//! The test fails when the committed seeds differ from what this file makes;
//! `OCPP_BLESS_FUZZ_SEEDS=1 cargo test -p ocpp-messages --test fuzz_seeds` rewrites them.
//! Seed formats (see `fuzz/fuzz_targets/`): `frames/` holds frame text; `dispatch/` a byte
//! `version_index << 1 | role` (role 0: CSMS, 1: charging station) then frame text;
//! `payload/` (for the payload and differential targets) a version index byte, a feature index
//! byte (in the order of `OcppVersion::profiles`), a side byte (0: request, 1: response) then
//! payload text.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ocpp_messages::validate::{validate, Format, Schema};
use ocpp_messages::{Initiator, OcppVersion};
use serde_json::{json, Map, Value};

/// The smallest value `schema` accepts: required members only, minimum items.
fn minimal(schema: &Schema) -> Value {
    instance(schema, false)
}

/// A value with every member `schema` declares, one item per array where that is allowed, and
/// a vendor member in every open object (`customData`).
fn full(schema: &Schema) -> Value {
    instance(schema, true)
}

fn instance(schema: &Schema, full: bool) -> Value {
    match schema {
        Schema::Any => json!({"any": ["thing", 1.5, null]}),
        Schema::Boolean => json!(true),
        Schema::Integer(r) | Schema::IntegerDraft4(r) | Schema::Number(r) => {
            json!(r.minimum.unwrap_or(0.0).ceil() as i64)
        }
        Schema::String(s) => match s.format {
            Some(Format::DateTime) => json!("2024-01-31T13:45:00Z"),
            Some(Format::Uri) => json!("https://example.com/firmware.bin"),
            None => json!("x".repeat(s.min_length.unwrap_or(1))),
        },
        Schema::Enum(values) => json!(values[if full { values.len() - 1 } else { 0 }]),
        Schema::Array(a) => {
            let n = a.min_items.unwrap_or(0);
            let n = if full { n.max(1) } else { n };
            Value::Array(vec![instance(a.items, full); n])
        }
        Schema::Object(o) => {
            let mut members: Map<String, Value> = o
                .properties
                .iter()
                .filter(|p| full || p.required)
                .map(|p| (p.name.to_owned(), instance(p.schema, full)))
                .collect();
            if full && o.additional_properties {
                members.insert("vendorMember".to_owned(), json!({"nested": [1, "two"]}));
            }
            Value::Object(members)
        }
    }
}

/// Frames from `tests/hostile.rs` and the README, small enough to commit.
fn hostile_frames() -> Vec<String> {
    let event = r#"{"type":"T","timestamp":"2024-01-01T00:00:00Z"}"#;
    let meter = r#"[{"timestamp":"2024-01-01T00:00:00Z","sampledValue":[{"value":-0}]}]"#;
    let mut frames: Vec<String> = [
        "",
        " ",
        "{}",
        "42",
        "null",
        "[]",
        "[2]",
        r#"[2,"a"]"#,
        r#"[2,"a","SecurityEventNotification"]"#,
        r#"[2,"a",5,{}]"#,
        r#"[7,"a",{}]"#,
        r#"[2.0,"a","Heartbeat",{}]"#,
        r#"[2,"","Heartbeat",{}]"#,
        r#"[2,"a","NoSuchAction",{}]"#,
        r#"[2,"a","Reset",{"type":"Immediate"}]"#,
        r#"[2,"a","SecurityEventNotification",[]]"#,
        "[2,\"a\",\"SecurityEventNotification\",{\"type\":\"\\ud800\",\"timestamp\":\"2024-01-01T00:00:00Z\"}]",
        r#"[2,"a","MeterValues",{"evseId":1e400,"meterValue":[]}]"#,
        r#"[2,"a","MeterValues",{"evseId":18446744073709551616,"meterValue":[]}]"#,
        "\u{feff}[2,\"a\",\"Heartbeat\",{}]",
        r#"[2,"\u0061","Security\u0045ventNotification",{"\u0074ype":"T","timestamp":"2024-01-01T00:00:00Z"}]"#,
        r#"[2,"a","SecurityEventNotification",{"type":null,"type":"T","timestamp":"2024-01-01T00:00:00Z"}]"#,
        r#"[2,"a","SecurityEventNotification",{"type":"T","timestamp":"2024-01-01T00:00:00Z","x":1}]"#,
        r#"[2,"a","DataTransfer",{"vendorId":"v","data":{"a":[1,{"b":null}]},"customData":{"vendorId":"v","k":1}}]"#,
        r#"[3,"1",{}]"#,
        r#"[3,"1",{"currentTime":"2024-01-01T00:00:00Z"}]"#,
        r#"[3,"2",{"status":"Accepted"}]"#,
        r#"[3,"2",{"status":"Accepted"},{}]"#,
        r#"[4,"1","GenericError","",{}]"#,
        r#"[4,"2","NotSupported","nope",{"errors":[]}]"#,
        r#"[4,"2","NotSupported"]"#,
    ]
    .map(str::to_owned)
    .into();
    frames.push(format!(
        " [ 2 , \"a\" , \"SecurityEventNotification\" , {event} ] \n"
    ));
    frames.push(format!(
        r#"[2,"a","MeterValues",{{"evseId":5.0,"meterValue":{meter}}}]"#
    ));
    frames.push(format!(r#"[2,"{}","Heartbeat",{{}}]"#, "x".repeat(37)));
    frames.push(format!("{}{}", "[".repeat(130), "]".repeat(130)));
    frames.push(format!(
        r#"[2,"a","DataTransfer",{{"vendorId":"v","data":{}1{}}}]"#,
        "[".repeat(126),
        "]".repeat(126)
    ));
    frames
}

/// Every seed file, by path relative to `fuzz/seeds/`.
fn seeds() -> BTreeMap<PathBuf, Vec<u8>> {
    let mut seeds = BTreeMap::new();
    let mut add = |dir: &str, name: String, bytes: Vec<u8>| {
        let previous = seeds.insert(Path::new(dir).join(format!("seed-{name}")), bytes);
        assert!(previous.is_none(), "two seeds named {name}");
    };
    for (i, frame) in hostile_frames().iter().enumerate() {
        add(
            "frames",
            format!("hostile-{i:02}"),
            frame.clone().into_bytes(),
        );
        for role in [0u8, 1] {
            let mut bytes = vec![1 << 1 | role];
            bytes.extend_from_slice(frame.as_bytes());
            add("dispatch", format!("hostile-{i:02}-{role}"), bytes);
        }
    }
    for (v, version) in OcppVersion::ALL.iter().enumerate() {
        let features = version.profiles().iter().flat_map(|p| p.features.iter());
        for (f, feature) in features.enumerate() {
            let v = u8::try_from(v).unwrap();
            let f = u8::try_from(f).expect("at most 256 features per version");
            for (side, schema) in [(0u8, feature.request), (1, feature.response)] {
                for (size, value) in [("min", minimal(schema)), ("full", full(schema))] {
                    assert_eq!(validate(schema, &value), vec![], "{}", feature.name);
                    let side_name = ["request", "response"][usize::from(side)];
                    let name = format!("{}-{}-{side_name}-{size}", version.as_str(), feature.name);
                    let mut bytes = vec![v, f, side];
                    bytes.extend_from_slice(value.to_string().as_bytes());
                    add("payload", name.clone(), bytes);
                    if side == 0 {
                        let frame = json!([2, "1", feature.name, value]).to_string();
                        add("frames", name.clone(), frame.clone().into_bytes());
                        // To the role that receives it.
                        let roles: &[u8] = match feature.initiator {
                            Initiator::ChargingStation => &[0],
                            Initiator::Csms => &[1],
                            Initiator::Both => &[0, 1],
                        };
                        for role in roles {
                            let mut bytes = vec![v << 1 | role];
                            bytes.extend_from_slice(frame.as_bytes());
                            add("dispatch", format!("{name}-{role}"), bytes);
                        }
                    }
                }
            }
        }
    }
    seeds
}

#[test]
fn fuzz_seeds_are_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let seeds = seeds();
    assert!(seeds.len() > 500, "{} seeds", seeds.len());
    let bless = std::env::var_os("OCPP_BLESS_FUZZ_SEEDS").is_some();
    let mut stale = Vec::new();
    for (path, bytes) in &seeds {
        let file = root.join(path);
        if std::fs::read(&file).ok().as_deref() != Some(bytes.as_slice()) {
            if bless {
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, bytes).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    for dir in ["frames", "dispatch", "payload"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            stale.push(format!("{dir}/ (missing)"));
            continue;
        };
        for entry in entries {
            let path = Path::new(dir).join(entry.unwrap().file_name());
            if !seeds.contains_key(&path) {
                if bless {
                    std::fs::remove_file(root.join(&path)).unwrap();
                } else {
                    stale.push(format!("{} (orphaned)", path.display()));
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale fuzz seeds: {}; run `OCPP_BLESS_FUZZ_SEEDS=1 cargo test -p ocpp-messages --test fuzz_seeds` and commit the result",
        stale.join(", ")
    );
}
