//! What the fuzz targets share: the versions under test, their feature tables, a dispatcher per
//! version and role with every block's service registered, and the checks the targets make.
//!
//! # Adding a version
//!
//! [`features`] follows `OcppVersion::profiles`, so the payload and differential targets cover a
//! newly generated version as soon as the library lists its profiles. The dispatch target needs
//! the version's generated recorder (`ocpp-messages/tests/generated/<module>_recorder.rs`): add a
//! `#[path]` module for it below and an arm in [`dispatchers`].

use std::future::Future;
use std::sync::Arc;

use ocpp_messages::limits::Limits;
use ocpp_messages::policy::{Leniency, Policy, Rule};
use ocpp_messages::rpc::{Answer, Dispatcher, Session};
use ocpp_messages::{FeatureInfo, Mode, OcppVersion};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

#[path = "../../ocpp-messages/tests/generated/v1_6_recorder.rs"]
#[rustfmt::skip]
#[allow(clippy::all, missing_docs)]
mod v1_6_recorder;

#[path = "../../ocpp-messages/tests/generated/v2_0_1_recorder.rs"]
#[rustfmt::skip]
#[allow(clippy::all, missing_docs)]
mod v2_0_1_recorder;

#[path = "../../ocpp-messages/tests/generated/v2_1_recorder.rs"]
#[rustfmt::skip]
#[allow(clippy::all, missing_docs)]
mod v2_1_recorder;

/// The version an input selects with one byte: `OcppVersion::ALL[byte % 3]`.
pub fn version(byte: u8) -> OcppVersion {
    OcppVersion::ALL[usize::from(byte) % OcppVersion::ALL.len()]
}

/// The byte that selects `version` (the inverse of [`version`]).
pub fn version_byte(version: OcppVersion) -> u8 {
    OcppVersion::ALL
        .iter()
        .position(|v| *v == version)
        .unwrap_or(0) as u8
}

/// Every feature the library has generated for `version`, in block order (each block's
/// features sorted by action name). Empty for a version not generated yet.
pub fn features(version: OcppVersion) -> Vec<&'static FeatureInfo> {
    version
        .profiles()
        .iter()
        .flat_map(|p| p.features.iter())
        .collect()
}

/// One payload input of the payload and differential targets: the first three bytes pick the
/// version, the feature and the side (request or response), the rest is the payload text.
pub struct PayloadInput<'a> {
    /// The version picked.
    pub version: OcppVersion,
    /// The feature picked.
    pub feature: &'static FeatureInfo,
    /// Whether the request side was picked (else the response).
    pub request: bool,
    /// The payload text.
    pub text: &'a str,
    /// That side's schema.
    pub schema: &'static ocpp_messages::validate::Schema,
    /// That side's slow round trip (validated `Value` in, re-encoded `Value` out), decoding
    /// in the mode given ([`Mode::Strict`] for a payload its schema accepts).
    pub reencode: fn(Value, Mode) -> Result<Value, ocpp_messages::CallError>,
    /// That side's one-pass round trip from text (`None` when the fast path refuses it).
    pub fast: fn(&str) -> Option<Value>,
}

/// Reads `data` as a [`PayloadInput`]; `None` when it is too short, picks no feature, or the
/// text is not UTF-8.
pub fn payload_input(data: &[u8]) -> Option<PayloadInput<'_>> {
    let [v, f, side, rest @ ..] = data else {
        return None;
    };
    let version = version(*v);
    let feature = *features(version).get(usize::from(*f))?;
    let text = std::str::from_utf8(rest).ok()?;
    let request = side % 2 == 0;
    let (schema, reencode, fast) = if request {
        (
            feature.request,
            feature.reencode_request,
            feature.fast_reencode_request,
        )
    } else {
        (
            feature.response,
            feature.reencode_response,
            feature.fast_reencode_response,
        )
    };
    Some(PayloadInput {
        version,
        feature,
        request,
        text,
        schema,
        reencode,
        fast,
    })
}

/// The dispatchers of one version: both roles, every block's service registered (each handler
/// records the call and answers `GenericError`). Each is in an `Arc`, for the [`Session`]s
/// made over it ([`Dispatchers::session`]).
pub struct Dispatchers {
    /// The CSMS's dispatcher (serves what stations send).
    pub csms: Arc<Dispatcher>,
    /// The charging station's dispatcher (serves what the CSMS sends).
    pub station: Arc<Dispatcher>,
    /// Both roles again, with a policy that relaxes everything ([`relaxed`]).
    pub relaxed: [Arc<Dispatcher>; 2],
    /// Both roles again, strict, with tight limits ([`tight`]).
    pub tight: [Arc<Dispatcher>; 2],
    clear: Box<dyn Fn() + Send + Sync>,
    pending: fn(&Session),
    decode: fn(Answer) -> bool,
}

impl Dispatchers {
    /// Forgets the calls the handlers recorded, so that memory stays flat over a long run.
    pub fn clear(&self) {
        (self.clear)()
    }

    /// Whether an answer to one of the calls [`Dispatchers::session`] makes decodes to its
    /// typed response.
    pub fn decodes(&self, answer: Answer) -> bool {
        (self.decode)(answer)
    }

    /// A new session over `dispatcher` (one of this set's) for the connection of
    /// `charging_station_id`, with two calls pending: ids `"1"` and `"2"`.
    pub fn session(&self, dispatcher: &Arc<Dispatcher>, charging_station_id: &str) -> Session {
        let session = Session::new(Arc::clone(dispatcher), charging_station_id);
        (self.pending)(&session);
        assert_eq!(session.pending_calls(), 2);
        session
    }
}

/// The dispatchers of one version from its recorder module and the two calls
/// [`Dispatchers::session`] makes (a Heartbeat with id `"1"`, a Reset with id `"2"`).
macro_rules! dispatchers {
    ($recorder:ident, $heartbeat:path, $heartbeat_request:expr, $reset:path, $reset_request:expr) => {{
        let recorder = Arc::new($recorder::Recorder::default());
        let records = Arc::clone(&recorder);
        let csms = || $recorder::csms_dispatcher(&recorder);
        let station = || $recorder::charging_station_dispatcher(&recorder);
        Dispatchers {
            csms: Arc::new(csms()),
            station: Arc::new(station()),
            relaxed: [
                Arc::new(csms().with_policy(relaxed())),
                Arc::new(station().with_policy(relaxed())),
            ],
            tight: [
                Arc::new(csms().with_limits(tight())),
                Arc::new(station().with_limits(tight())),
            ],
            clear: Box::new(move || {
                records
                    .calls
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clear()
            }),
            decode: |answer| match answer.action {
                "Heartbeat" => answer.into_response::<$heartbeat>().is_ok(),
                _ => answer.into_response::<$reset>().is_ok(),
            },
            pending: |session| {
                let ok = session
                    .call_with_id::<$heartbeat>("1", &$heartbeat_request)
                    .is_ok()
                    && session.call_with_id::<$reset>("2", &$reset_request).is_ok();
                assert!(ok, "two valid calls with fresh ids are made");
            },
        }
    }};
}

/// The dispatchers of `version`.
pub fn dispatchers(version: OcppVersion) -> Dispatchers {
    match version {
        OcppVersion::V1_6 => {
            use ocpp_messages::v1_6::core;
            dispatchers!(
                v1_6_recorder,
                core::HeartbeatFeature,
                core::HeartbeatRequest::new(),
                core::ResetFeature,
                core::ResetRequest::new(core::Reset::Soft)
            )
        }
        OcppVersion::V2_0_1 => {
            use ocpp_messages::v2_0_1::{availability, provisioning};
            dispatchers!(
                v2_0_1_recorder,
                availability::HeartbeatFeature,
                availability::HeartbeatRequest::new(),
                provisioning::ResetFeature,
                provisioning::ResetRequest::new(provisioning::Reset::OnIdle)
            )
        }
        OcppVersion::V2_1 => {
            use ocpp_messages::v2_1::{availability, provisioning};
            dispatchers!(
                v2_1_recorder,
                availability::HeartbeatFeature,
                availability::HeartbeatRequest::new(),
                provisioning::ResetFeature,
                provisioning::ResetRequest::new(provisioning::Reset::OnIdle)
            )
        }
    }
}

/// A policy that relaxes every payload in both directions, reporting every violation.
pub fn relaxed() -> Policy {
    Policy::strict()
        .rule(Rule::incoming(Leniency::AllowUnknownMembers).for_stations(|id| id.ends_with('A')))
        .rule(Rule::incoming(Leniency::Report))
        .rule(Rule::outgoing(Leniency::Report))
        .on_violation(|report| {
            assert!(!report.violations.is_empty(), "{report}");
        })
}

/// Limits far below the defaults, so that fuzzed frames reach them.
pub fn tight() -> Limits {
    Limits::default()
        .with_max_depth(8)
        .with_max_string_chars(64)
        .with_max_array_items(16)
        .with_max_values(64)
        .with_max_frame_len(4096)
}

/// Polls a future that never waits (the dispatcher with handlers that answer at once) to its
/// output, without a runtime.
///
/// # Panics
///
/// If the future is pending: the dispatcher waited although every handler was ready.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the dispatcher waited on a ready handler"),
    }
}

/// Equality of JSON values with numbers compared by value (`5.0 == 5`) and everything else
/// exactly, as the differential test compares them.
pub fn same_json(a: &Value, b: &Value) -> bool {
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
                    .zip(y)
                    .all(|((k, v), (l, w))| k == l && same_json(v, w))
        }
        _ => a == b,
    }
}

/// Whether the JSON text gives some member name twice in one object (`None`: not JSON).
pub fn has_duplicate_member(text: &str) -> Option<bool> {
    struct Walk;
    impl<'de> Visitor<'de> for Walk {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut dup = false;
            while let Some(d) = seq.next_element::<Dup>()? {
                dup |= d.0;
            }
            Ok(dup)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut seen = std::collections::HashSet::new();
            let mut dup = false;
            while let Some(key) = map.next_key::<String>()? {
                dup |= !seen.insert(key);
                dup |= map.next_value::<Dup>()?.0;
            }
            Ok(dup)
        }
    }
    struct Dup(bool);
    impl<'de> serde::Deserialize<'de> for Dup {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Walk).map(Dup)
        }
    }
    serde_json::from_str::<Dup>(text).ok().map(|d| d.0)
}

/// The nesting depth of arrays and objects in `value` (a scalar is 0, `[]` is 1).
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
