//! Differential test of our validator against an independent one (the `jsonschema` crate, with
//! draft-06 and format assertion switched on explicitly), and round trips of every valid
//! instance through the generated Rust types.
//!
//! Instances come from the schema files themselves (see `support/schema_instances.rs`):
//! deterministic valid instances, proptest-driven random valid instances (fixed seed), and
//! mutations of each of them (the minimal, maximal and complete instances everywhere, the
//! single-member variants at and below the varied member, the random ones at a random place). For every instance, our verdict must equal the oracle's; where the schema makes the
//! verdict obvious, the oracle must give it too (which checks the generator and the oracle's
//! configuration); and every instance both accept must come back unchanged from a typed round
//! trip (numbers compared by value, everything else exactly).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::time::Instant;

use ocpp_messages::v2_0_1::security::{
    self, CertificateSignedRequest, CertificateSignedResponse, SecurityEventNotificationRequest,
    SecurityEventNotificationResponse, SignCertificateRequest, SignCertificateResponse,
};
use ocpp_messages::validate::{validate, HasSchema, Schema};
use ocpp_messages::{CallError, FeatureInfo, Mode};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use support::schema_instances::{Instance, SchemaDoc, Scope, Size};

/// The schemas under test, as `schemas/v2_0_1/<name>.json`.
const SCHEMA_NAMES: &[&str] = &[
    "CertificateSignedRequest",
    "CertificateSignedResponse",
    "SecurityEventNotificationRequest",
    "SecurityEventNotificationResponse",
    "SignCertificateRequest",
    "SignCertificateResponse",
];

/// Random valid instances per schema.
const RANDOM_CASES: usize = 256;

/// Each random valid instance is mutated at one random location, in up to this many of the
/// ways that location allows (the deterministic instances keep every mutation in their scope).
const MUTATIONS_PER_RANDOM_INSTANCE: usize = 24;

/// Fewer instances than this means the generator is broken and the test proves little.
const MIN_INSTANCES: usize = 20_000;

type RoundTrip = fn(Value) -> Result<Value, String>;

/// One message type: its schema file, the oracle built from it, and our side.
struct Target {
    name: &'static str,
    doc: SchemaDoc,
    oracle: jsonschema::Validator,
    /// `<T as HasSchema>::SCHEMA`.
    typed_schema: &'static Schema,
    /// The same schema as the feature table has it.
    feature_schema: &'static Schema,
    /// `FeatureInfo::reencode_request` or `reencode_response`.
    reencode: fn(Value, Mode) -> Result<Value, CallError>,
    /// `FeatureInfo::fast_reencode_request` or `fast_reencode_response`: the one-pass decoding
    /// from text, encoded back.
    fast: fn(&str) -> Option<Value>,
    /// `serde_json::from_value::<T>` then `to_value`.
    serde_round_trip: RoundTrip,
}

fn serde_round_trip<T: Serialize + DeserializeOwned>(value: Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value).map_err(|e| format!("from_value: {e}"))?;
    serde_json::to_value(&typed).map_err(|e| format!("to_value: {e}"))
}

fn typed(name: &str) -> (&'static Schema, RoundTrip) {
    macro_rules! typed {
        ($($t:ident),* $(,)?) => {
            match name {
                $(stringify!($t) => (<$t as HasSchema>::SCHEMA, serde_round_trip::<$t> as RoundTrip),)*
                other => panic!("no generated type for {other}"),
            }
        };
    }
    typed!(
        CertificateSignedRequest,
        CertificateSignedResponse,
        SecurityEventNotificationRequest,
        SecurityEventNotificationResponse,
        SignCertificateRequest,
        SignCertificateResponse,
    )
}

/// A feature's request and response: the schema file suffix, the schema, and the slow and
/// fast round trips.
type Side = (
    &'static str,
    &'static Schema,
    fn(Value, Mode) -> Result<Value, CallError>,
    fn(&str) -> Option<Value>,
);

fn sides(feature: &FeatureInfo) -> [Side; 2] {
    [
        (
            "Request",
            feature.request,
            feature.reencode_request,
            feature.fast_reencode_request,
        ),
        (
            "Response",
            feature.response,
            feature.reencode_response,
            feature.fast_reencode_response,
        ),
    ]
}

fn load_targets() -> Vec<Target> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/v2_0_1");
    let mut targets = Vec::new();
    for feature in security::PROFILE.features {
        for (suffix, feature_schema, reencode, fast) in sides(feature) {
            let name = SCHEMA_NAMES
                .iter()
                .copied()
                .find(|n| *n == format!("{}{suffix}", feature.name))
                .unwrap_or_else(|| {
                    panic!(
                        "{}{suffix} is not one of the schemas under test",
                        feature.name
                    )
                });
            let path = dir.join(format!("{name}.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let schema: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                schema["$schema"], "http://json-schema.org/draft-06/schema#",
                "{name} is not a draft-06 schema"
            );
            let oracle = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft6)
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|e| panic!("{name}: the oracle rejects the schema: {e}"));
            let (typed_schema, serde_round_trip) = typed(name);
            targets.push(Target {
                name,
                doc: SchemaDoc::new(schema),
                oracle,
                typed_schema,
                feature_schema,
                reencode,
                fast,
                serde_round_trip,
            });
        }
    }
    let mut names: Vec<&str> = targets.iter().map(|t| t.name).collect();
    names.sort_unstable();
    assert_eq!(
        names, SCHEMA_NAMES,
        "the feature table does not cover exactly the six schemas"
    );
    targets
}

/// Equality of JSON values with numbers compared by value (`5.0 == 5`) and everything else
/// exactly (strings byte for byte, objects by members, arrays in order).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let int = |n: &serde_json::Number| {
                n.as_i64()
                    .map(i128::from)
                    .or_else(|| n.as_u64().map(i128::from))
            };
            match (int(x), int(y)) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// A hash of a JSON value that tells apart everything [`Value`]'s equality does (and `5` from
/// `5.0`), to check each distinct instance once without serializing it.
fn json_hash(value: &Value, h: &mut impl Hasher) {
    match value {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => (2u8, u).hash(h),
            (_, Some(i), _) => (3u8, i).hash(h),
            (_, _, f) => (4u8, f.map(f64::to_bits)).hash(h),
        },
        Value::String(s) => (5u8, s).hash(h),
        Value::Array(items) => {
            (6u8, items.len()).hash(h);
            items.iter().for_each(|v| json_hash(v, h));
        }
        Value::Object(members) => {
            (7u8, members.len()).hash(h);
            for (k, v) in members {
                k.hash(h);
                json_hash(v, h);
            }
        }
    }
}

/// `value` with long strings abbreviated, for readable failure messages.
fn abbreviated(value: &Value) -> String {
    fn abbreviate(v: &Value) -> Value {
        match v {
            Value::String(s) if s.chars().count() > 40 => {
                let head: String = s.chars().take(12).collect();
                Value::String(format!(
                    "{head}\u{2026} ({} code points, {} bytes)",
                    s.chars().count(),
                    s.len()
                ))
            }
            Value::Array(items) => Value::Array(items.iter().map(abbreviate).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), abbreviate(v))).collect())
            }
            other => other.clone(),
        }
    }
    abbreviate(value).to_string()
}

fn verdict(valid: bool) -> &'static str {
    if valid {
        "accept"
    } else {
        "reject"
    }
}

#[derive(Default)]
struct Report {
    seen: HashSet<(usize, u64)>,
    checked: usize,
    accepted: usize,
    round_trips: usize,
    /// Our verdict differs from the oracle's: a bug on one side.
    disagreements: Vec<String>,
    /// The oracle's verdict differs from the one the schema obviously implies: a bug in the
    /// generator, the oracle or its configuration.
    oracle_surprises: Vec<String>,
    /// A valid instance that does not survive a typed round trip unchanged.
    round_trip_failures: Vec<String>,
    /// The one-pass decoding from text disagrees with the validator (accepts what it rejects,
    /// or the reverse) or decodes another value than the slow path.
    fast_path_failures: Vec<String>,
    /// Texts given to the fast path.
    fast_checked: usize,
}

impl Report {
    fn check(&mut self, targets: &[Target], t: usize, instance: &Instance, deterministic: bool) {
        let mut hasher = DefaultHasher::new();
        json_hash(&instance.value, &mut hasher);
        if !self.seen.insert((t, hasher.finish())) {
            return;
        }
        let target = &targets[t];
        let value = &instance.value;
        self.checked += 1;
        let violations = validate(target.typed_schema, value);
        let ours = violations.is_empty();
        let ours_via_feature = validate(target.feature_schema, value).is_empty();
        let oracle = target.oracle.is_valid(value);
        if ours != oracle || ours_via_feature != ours {
            let mut msg = format!(
                "{}: {}\n    instance: {}\n    ours:   {}",
                target.name,
                instance.what,
                abbreviated(value),
                verdict(ours)
            );
            for v in &violations {
                write!(msg, " [{v}]").unwrap();
            }
            if ours_via_feature != ours {
                write!(
                    msg,
                    " (but {} through the feature table)",
                    verdict(ours_via_feature)
                )
                .unwrap();
            }
            write!(msg, "\n    oracle: {}", verdict(oracle)).unwrap();
            for e in target.oracle.iter_errors(value) {
                write!(msg, " [{}: {e}]", e.instance_path()).unwrap();
            }
            self.disagreements.push(msg);
        }
        if let Some(expected) = instance.expected {
            if oracle != expected {
                self.oracle_surprises.push(format!(
                    "{}: {}\n    instance: {}\n    expected {}, oracle says {}",
                    target.name,
                    instance.what,
                    abbreviated(value),
                    verdict(expected),
                    verdict(oracle)
                ));
            }
        }
        // The fast path accepts exactly what the validator accepts (and the type can hold),
        // and decodes it to the same value as the slow path.
        let slow = ours
            .then(|| (target.reencode)(value.clone(), Mode::Strict).ok())
            .flatten();
        self.fast(target, instance, &value.to_string(), slow.as_ref(), true);
        if ours && oracle {
            self.accepted += 1;
            self.round_trip(target, instance, deterministic);
            if slow.is_some() {
                for (what, text, expected, exact) in text_mutations(value) {
                    let instance = Instance {
                        what: format!("{} | {what}", instance.what),
                        ..instance.clone()
                    };
                    self.fast(target, &instance, &text, Some(&expected), exact);
                }
            }
        }
    }

    /// Checks the fast path on `text` against the slow path's result `slow`. With `exact`
    /// false (a member given twice, the earlier value invalid) the fast path may defer to the
    /// slow path, but must not accept another value.
    fn fast(
        &mut self,
        target: &Target,
        instance: &Instance,
        text: &str,
        slow: Option<&Value>,
        exact: bool,
    ) {
        self.fast_checked += 1;
        let fast = (target.fast)(text);
        let problem = match (&fast, slow) {
            (Some(f), Some(s)) if same_json(f, s) => return,
            (None, None) => return,
            (None, Some(_)) if !exact => return,
            (Some(f), Some(_)) => format!("decodes to {}", abbreviated(f)),
            (Some(_), None) => "accepts what the validator rejects".to_owned(),
            (None, Some(_)) => "rejects what the validator accepts".to_owned(),
        };
        let shown: String = text.chars().take(300).collect();
        self.fast_path_failures.push(format!(
            "{}: {}\n    text: {shown}\n    fast path {problem}",
            target.name, instance.what
        ));
    }

    /// The typed round trip of a valid instance: through `FeatureInfo::reencode_*` (what the
    /// dispatcher does) always, and straight through serde for the deterministic instances.
    fn round_trip(&mut self, target: &Target, instance: &Instance, also_serde: bool) {
        let mut results = vec![(
            "FeatureInfo reencode",
            (target.reencode)(instance.value.clone(), Mode::Strict).map_err(|e| format!("{e:?}")),
        )];
        if also_serde {
            results.push((
                "serde_json from_value/to_value",
                (target.serde_round_trip)(instance.value.clone()),
            ));
        }
        for (how, result) in results {
            self.round_trips += 1;
            let problem = match result {
                Ok(out) if same_json(&out, &instance.value) => continue,
                Ok(out) => format!("gives back {}", abbreviated(&out)),
                Err(e) => format!("fails: {e}"),
            };
            self.round_trip_failures.push(format!(
                "{}: {}\n    instance: {}\n    {how} round trip {problem}",
                target.name,
                instance.what,
                abbreviated(&instance.value)
            ));
        }
    }
}

/// Text-level variants of a valid instance that a JSON value cannot express, each with whether
/// the fast path must accept it (`true`) or may defer to the slow path (`false`); all of them
/// mean the same value as the instance (a repeated member's last value wins, as in
/// `serde_json`):
/// - every member name written with `\\u` escapes;
/// - the first member repeated with its own value before the object;
/// - the first member repeated with `null`, then with its value (the earlier value is invalid
///   where `null` is);
/// - `customData` at the root holding a vendor member nested 100 arrays deep.
fn text_mutations(value: &Value) -> Vec<(String, String, Value, bool)> {
    let mut out = vec![(
        "member names escaped".to_owned(),
        escaped_names(value),
        value.clone(),
        true,
    )];
    if let Some((name, first)) = value.as_object().and_then(|m| m.iter().next()) {
        let rest = value.to_string();
        let rest = rest.strip_prefix('{').unwrap_or(&rest);
        let name_json = Value::from(name.as_str());
        out.push((
            format!("{name:?} given twice"),
            format!("{{{name_json}:{first},{rest}"),
            value.clone(),
            true,
        ));
        out.push((
            format!("{name:?} given first as null"),
            format!("{{{name_json}:null,{rest}"),
            value.clone(),
            false,
        ));
    }
    if let Some(Value::Object(custom)) = value.get("customData") {
        let mut deep = Value::from("bottom");
        for _ in 0..100 {
            deep = Value::Array(vec![deep]);
        }
        let mut custom = custom.clone();
        custom.insert("deep".into(), deep);
        let mut with_deep = value.clone();
        with_deep["customData"] = Value::Object(custom);
        let text = with_deep.to_string();
        out.push((
            "customData 100 levels deep".to_owned(),
            text,
            with_deep,
            true,
        ));
    }
    out
}

/// `value` as JSON text with every member name written as `\\u` escapes.
fn escaped_names(value: &Value) -> String {
    match value {
        Value::Object(members) => {
            let inner: Vec<String> = members
                .iter()
                .map(|(k, v)| {
                    let name: String = k.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
                    format!("\"{name}\":{}", escaped_names(v))
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(escaped_names).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

/// A small deterministic generator, to pick which mutations of a random instance to keep.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

fn check_target(targets: &[Target], t: usize) -> Report {
    let mut report = Report::default();
    let doc = &targets[t].doc;

    // Deterministic valid instances, and their mutations.
    doc.each_valid_instance(&mut |valid, scope| {
        report.check(targets, t, &valid, true);
        doc.each_mutation(&valid.value, &scope, &mut |mutation| {
            let what = format!("{} | {}", valid.what, mutation.what);
            report.check(targets, t, &Instance { what, ..mutation }, false);
        });
    });

    // Random valid instances (fixed seed), each mutated at one random location.
    let strategy = doc.strategy(doc.root());
    let mut runner = TestRunner::deterministic();
    let mut pick = SplitMix(0x0cbb_2024 + u64::try_from(t).unwrap());
    for case in 0..RANDOM_CASES {
        let value = strategy.new_tree(&mut runner).unwrap().current();
        let valid = Instance {
            what: format!("random #{case}"),
            value,
            expected: Some(true),
        };
        report.check(targets, t, &valid, false);
        let mut locations = doc.locations(&valid.value);
        let (path, _) = locations.swap_remove(pick.below(locations.len()));
        let mut mutations = doc.mutations(&valid.value, &Scope::At(path));
        for _ in 0..MUTATIONS_PER_RANDOM_INSTANCE.min(mutations.len()) {
            let mutation = mutations.swap_remove(pick.below(mutations.len()));
            let what = format!("{} | {}", valid.what, mutation.what);
            report.check(targets, t, &Instance { what, ..mutation }, false);
        }
    }
    report
}

#[test]
fn our_validator_agrees_with_jsonschema_and_valid_instances_round_trip() {
    let targets = load_targets();
    let started = Instant::now();
    // One thread per schema; each keeps its own report.
    let reports: Vec<Report> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..targets.len())
            .map(|t| {
                let targets = &targets;
                scope.spawn(move || check_target(targets, t))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut report = Report::default();
    for (target, r) in targets.iter().zip(reports) {
        println!(
            "{}: {} distinct instances, {} valid",
            target.name, r.checked, r.accepted
        );
        report.checked += r.checked;
        report.accepted += r.accepted;
        report.round_trips += r.round_trips;
        report.disagreements.extend(r.disagreements);
        report.oracle_surprises.extend(r.oracle_surprises);
        report.round_trip_failures.extend(r.round_trip_failures);
        report.fast_path_failures.extend(r.fast_path_failures);
        report.fast_checked += r.fast_checked;
    }
    println!("checked in {:?}", started.elapsed());
    println!(
        "total: {} distinct instances checked, {} valid, {} invalid; {} round trips; {} texts \
         through the fast path",
        report.checked,
        report.accepted,
        report.checked - report.accepted,
        report.round_trips,
        report.fast_checked
    );

    let mut failures = String::new();
    for (title, list) in [
        (
            "our verdict differs from the oracle's",
            &report.disagreements,
        ),
        (
            "the oracle's verdict differs from the one the schema implies",
            &report.oracle_surprises,
        ),
        (
            "round trip does not give back the input",
            &report.round_trip_failures,
        ),
        (
            "the fast path disagrees with the validator",
            &report.fast_path_failures,
        ),
    ] {
        if !list.is_empty() {
            writeln!(failures, "\n{} case(s): {title}:", list.len()).unwrap();
            for item in list {
                writeln!(failures, "  - {item}").unwrap();
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
    assert!(
        report.checked >= MIN_INSTANCES,
        "only {} instances checked",
        report.checked
    );
    assert!(
        report.accepted >= MIN_INSTANCES / 10
            && report.checked - report.accepted >= MIN_INSTANCES / 2,
        "too few valid ({}) or invalid ({}) instances",
        report.accepted,
        report.checked - report.accepted
    );
}

/// Known library bug (found by running this harness over every 2.0.1 schema): an optional
/// member with no `type` (`data` of `DataTransferRequest`/`DataTransferResponse`) accepts
/// `null`, which both validators allow, but the generated `Option<serde_json::Value>` field
/// reads `null` as `None` and then skips it, so the round trip drops the member. This test
/// fails until the library keeps `"data": null`.
#[test]
fn data_transfer_data_null_round_trips() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/v2_0_1");
    let feature = ocpp_messages::v2_0_1::PROFILES
        .iter()
        .find_map(|p| p.feature("DataTransfer"))
        .expect("DataTransfer is generated");
    let mut failures = Vec::new();
    for (name, schema, reencode, payload) in [
        (
            "DataTransferRequest",
            feature.request,
            feature.reencode_request,
            serde_json::json!({"vendorId": "V", "data": null}),
        ),
        (
            "DataTransferResponse",
            feature.response,
            feature.reencode_response,
            serde_json::json!({"status": "Accepted", "data": null}),
        ),
    ] {
        let path = dir.join(format!("{name}.json"));
        let schema_json: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let oracle = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft6)
            .should_validate_formats(true)
            .build(&schema_json)
            .unwrap();
        assert!(
            oracle.is_valid(&payload),
            "{name}: the oracle rejects {payload}"
        );
        assert!(
            validate(schema, &payload).is_empty(),
            "{name}: we reject {payload}"
        );
        match reencode(payload.clone(), Mode::Strict) {
            Ok(out) if same_json(&out, &payload) => {}
            Ok(out) => failures.push(format!("{name}: {payload} comes back as {out}")),
            Err(e) => failures.push(format!("{name}: {payload} fails to round trip: {e:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Random valid instances per schema in the whole-version run.
const ALL_RANDOM_CASES: usize = 8;

fn unused_serde_round_trip(_: Value) -> Result<Value, String> {
    unreachable!("the whole-version run checks round trips through the feature table only")
}

/// Every OCPP 2.0.1 schema (128 files, 64 actions): the minimal, maximal and complete valid
/// instances and random valid ones, each mutated (the minimal one everywhere, the others at one
/// random place); our verdict must equal the oracle's, and every valid instance
/// must survive the typed round trip of the feature table.
#[test]
fn every_2_0_1_schema_agrees_with_jsonschema() {
    every_schema_agrees(
        "v2_0_1",
        ocpp_messages::v2_0_1::PROFILES,
        |action, suffix| format!("{action}{suffix}"),
    );
}

/// Every OCPP 2.1 schema (181 files: 90 CALL actions and the SEND NotifyPeriodicEventStream).
#[test]
fn every_2_1_schema_agrees_with_jsonschema() {
    every_schema_agrees("v2_1", ocpp_messages::v2_1::PROFILES, |action, suffix| {
        match (action, suffix) {
            // The one SEND action has a single schema file.
            ("NotifyPeriodicEventStream", _) => action.to_owned(),
            _ => format!("{action}{suffix}"),
        }
    });
}

/// Every OCPP 1.6 schema (78 files, 39 actions: the 28 core actions in draft-04, the security
/// extension's 11 in draft-06), each against the oracle set to the file's own draft.
#[test]
fn every_1_6_schema_agrees_with_jsonschema() {
    every_schema_agrees(
        "v1_6",
        ocpp_messages::v1_6::PROFILES,
        |action, suffix| match suffix {
            "Request" => action.to_owned(),
            _ => format!("{action}{suffix}"),
        },
    );
}

/// The draft a schema file declares, for the oracle.
fn draft_of(schema: &Value) -> jsonschema::Draft {
    match schema["$schema"].as_str() {
        Some("http://json-schema.org/draft-04/schema#") => jsonschema::Draft::Draft4,
        Some("http://json-schema.org/draft-06/schema#") => jsonschema::Draft::Draft6,
        other => panic!("unexpected $schema {other:?}"),
    }
}

fn every_schema_agrees(
    module: &str,
    profiles: &[&ocpp_messages::Profile],
    file: fn(&str, &str) -> String,
) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .join(module);
    let files = std::fs::read_dir(&dir).unwrap().count();
    let mut targets = Vec::new();
    for feature in profiles.iter().flat_map(|p| p.features.iter()) {
        // A SEND has a request only.
        let sides = &sides(feature)[..if feature.send { 1 } else { 2 }];
        for &(suffix, schema, reencode, fast) in sides {
            let name: &'static str = file(feature.name, suffix).leak();
            let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
            let json: Value = serde_json::from_str(&text).unwrap();
            let oracle = jsonschema::options()
                .with_draft(draft_of(&json))
                .should_validate_formats(true)
                .build(&json)
                .unwrap();
            targets.push(Target {
                name,
                doc: SchemaDoc::new(json),
                oracle,
                typed_schema: schema,
                feature_schema: schema,
                reencode,
                fast,
                serde_round_trip: unused_serde_round_trip,
            });
        }
    }
    assert_eq!(
        targets.len(),
        files,
        "every schema file of {module} is a target"
    );

    let check = |t: usize| -> Report {
        let mut report = Report::default();
        let doc = &targets[t].doc;
        let started = Instant::now();
        let mut pick = SplitMix(0x2001_0000 + u64::try_from(t).unwrap() + files as u64);
        let mut valid: Vec<(Instance, bool)> = [Size::Minimal, Size::Maximal, Size::Complete]
            .into_iter()
            .map(|size| {
                let instance = Instance {
                    what: format!("{size:?}"),
                    value: doc.build(doc.root(), size),
                    expected: Some(true),
                };
                (instance, matches!(size, Size::Minimal))
            })
            .collect();
        let strategy = doc.strategy(doc.root());
        let mut runner = TestRunner::deterministic();
        for case in 0..ALL_RANDOM_CASES {
            let value = strategy.new_tree(&mut runner).unwrap().current();
            let instance = Instance {
                what: format!("random #{case}"),
                value,
                expected: Some(true),
            };
            valid.push((instance, false));
        }
        for (instance, everywhere) in valid {
            report.check(&targets, t, &instance, false);
            let scope = if everywhere {
                Scope::All
            } else {
                let mut locations = doc.locations(&instance.value);
                let (path, _) = locations.swap_remove(pick.below(locations.len()));
                Scope::At(path)
            };
            let mut mutations = doc.mutations(&instance.value, &scope);
            let keep = if everywhere {
                mutations.len()
            } else {
                MUTATIONS_PER_RANDOM_INSTANCE
            };
            for _ in 0..keep.min(mutations.len()) {
                let mutation = mutations.swap_remove(pick.below(mutations.len()));
                let what = format!("{} | {}", instance.what, mutation.what);
                report.check(&targets, t, &Instance { what, ..mutation }, false);
            }
        }
        let elapsed = started.elapsed();
        if elapsed.as_secs() >= 5 {
            eprintln!("{}: slow, {elapsed:?}", targets[t].name);
        }
        report
    };
    let started = Instant::now();
    let reports: Vec<Report> = std::thread::scope(|scope| {
        let chunks: Vec<Vec<usize>> = (0..2)
            .map(|k| (k..targets.len()).step_by(2).collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let check = &check;
                scope.spawn(move || chunk.into_iter().map(check).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let (mut checked, mut accepted, mut round_trips, mut unrepresentable) = (0, 0, 0, 0);
    let mut fast_checked = 0;
    let mut failures = Vec::new();
    for r in reports {
        checked += r.checked;
        fast_checked += r.fast_checked;
        failures.extend(r.fast_path_failures);
        accepted += r.accepted;
        round_trips += r.round_trips;
        failures.extend(r.disagreements);
        failures.extend(r.oracle_surprises);
        // Integers beyond the 64-bit range are valid by the schemas (which set no maximum) but
        // no Rust integer field holds them: the library refuses them with GenericError rather
        // than changing them. That is the one known, documented limit; anything else fails.
        let (beyond_i64, other): (Vec<String>, Vec<String>) =
            r.round_trip_failures.into_iter().partition(|f| {
                f.contains("GenericError")
                    && f.contains("cannot represent payload: integer beyond 64 bits")
            });
        unrepresentable += beyond_i64.len();
        failures.extend(other);
    }
    println!(
        "all of {module}: {checked} instances ({accepted} valid), {round_trips} round trips \
         ({unrepresentable} refused: integers beyond 64 bits), {fast_checked} texts through \
         the fast path, in {:?}",
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= files * 50, "only {checked} instances");
    assert!(accepted >= files * 10, "only {accepted} valid instances");
}
