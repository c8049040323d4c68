//! Decoding OCPP 2.0.1 CALL frames: ours against the serde floor, the strongest peer
//! (`ocpp-kit` 0.3.0, strict) and the generic approach (`serde_json::Value` + `jsonschema`), all
//! in the same run. See BENCHMARKS.md for the targets.
//!
//! ```text
//! cargo bench -p ocpp-messages --bench decode
//! cargo bench -p ocpp-messages --bench decode -- --warm-up-time 1 --measurement-time 1   # smoke run
//! ```
//!
//! Three frames (in `benches/frames/`), one criterion group each, with these functions:
//!
//! | function | what it measures |
//! |---|---|
//! | `floor` | `serde_json::from_str` of the payload text alone into plain serde mirror types (no validation) |
//! | `ours_typed` | frame text -> validated typed request ([`ours_typed`]) |
//! | `ours_dispatch` | `Dispatcher::handle`: frame text in -> CALLRESULT text out (fixed valid response) |
//! | `ours_session` | `Session::receive`: the same through a connection's session (reply and event) |
//! | `ours_invalid` | `Dispatcher::handle` on the same frame with one member of the wrong type -> CALLERROR |
//! | `ocpp_kit_strict` | `ocpp-kit`: frame text -> validated typed request with `DecodeOptions::strict()` ([`ocpp_kit_strict`]) |
//! | `ocpp_kit_pedantic` | the same with `DecodeOptions::pedantic()`, which also rejects undefined members as our validator does |
//! | `value_jsonschema` | `from_str::<Value>` of the frame, `jsonschema` `is_valid` on the payload (validator compiled once), `from_value` into the mirror type |
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "support/mirror.rs"]
mod mirror;

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use ocpp_kit::decode::DecodeOptions;
use ocpp_kit::v2_0_1 as kit;
use ocpp_messages::frame::Frame;
use ocpp_messages::rpc::{Dispatcher, Session};
use ocpp_messages::v2_0_1::security::{
    self, SecurityEventNotificationFeature, SecurityEventNotificationRequest,
    SecurityEventNotificationResponse, SignCertificateFeature, SignCertificateRequest,
    SignCertificateResponse,
};
use ocpp_messages::v2_0_1::transactions::{
    self, TransactionEventFeature, TransactionEventRequest, TransactionEventResponse,
};
use ocpp_messages::v2_0_1::types::GenericStatus;
use ocpp_messages::validate::HasSchema;
use ocpp_messages::{CallError, Feature, OcppVersion, Role};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Frame text -> validated typed request with our API. Switch the benchmark to a new decode API
/// by changing this function only.
fn ours_typed<F: Feature>(text: &str) -> F::Request {
    Frame::decode_call::<F>(OcppVersion::V2_0_1, text)
        .unwrap()
        .request
}

/// Frame text -> validated typed request with `ocpp-kit` 0.3.0: `rpc::Frame::parse` (the payload
/// stays a borrowed `RawValue`), the action looked up by name, then
/// `v2_0_1::CsRequest::decode`, which runs `decode::decode_payload` (serde into the typed
/// request, then its `Validate` impl) for that action's request type.
fn ocpp_kit_decode(text: &str, options: &DecodeOptions) -> Result<kit::CsRequest, String> {
    let frame = ocpp_kit::rpc::Frame::parse(text, ocpp_kit::Version::V2_0_1)
        .map_err(|e| format!("{e:?}"))?;
    let ocpp_kit::rpc::Frame::Call {
        action, payload, ..
    } = frame
    else {
        return Err("not a CALL frame".into());
    };
    let action = kit::Action::from_wire(&action).ok_or("unknown action")?;
    kit::CsRequest::decode(action, &payload, options).map_err(|e| e.to_string())
}

/// `ocpp-kit`'s strict decode (its default policy, `DecodeOptions::strict()`).
fn ocpp_kit_strict(text: &str, options: &DecodeOptions) -> kit::CsRequest {
    ocpp_kit_decode(text, options).unwrap()
}

/// The payload text of a CALL frame (the frames here are compact and their ids and actions hold
/// no `{`).
fn payload_text(frame: &str) -> &str {
    let start = frame.find('{').unwrap();
    &frame[start..frame.len() - 1]
}

/// A frame, its invalid variant and the schema of its payload.
struct Case {
    name: &'static str,
    action: &'static str,
    valid: &'static str,
    invalid: &'static str,
}

const SMALL: Case = Case {
    name: "small_SecurityEventNotification",
    action: "SecurityEventNotification",
    valid: include_str!("frames/small.json"),
    invalid: include_str!("frames/small-invalid.json"),
};
const MEDIUM: Case = Case {
    name: "medium_SignCertificate",
    action: "SignCertificate",
    valid: include_str!("frames/medium.json"),
    invalid: include_str!("frames/medium-invalid.json"),
};
const LARGE: Case = Case {
    name: "large_TransactionEvent",
    action: "TransactionEvent",
    valid: include_str!("frames/large.json"),
    invalid: include_str!("frames/large-invalid.json"),
};

/// Answers each of the three requests with a fixed valid response.
struct Csms;

impl security::CsmsHandler for Csms {
    async fn on_security_event_notification(
        &self,
        _charging_station_id: &str,
        _request: SecurityEventNotificationRequest,
    ) -> Result<SecurityEventNotificationResponse, CallError> {
        Ok(SecurityEventNotificationResponse::new())
    }

    async fn on_sign_certificate(
        &self,
        _charging_station_id: &str,
        _request: SignCertificateRequest,
    ) -> Result<SignCertificateResponse, CallError> {
        Ok(SignCertificateResponse::new(GenericStatus::Accepted))
    }
}

impl transactions::CsmsHandler for Csms {
    async fn on_transaction_event(
        &self,
        _charging_station_id: &str,
        _request: TransactionEventRequest,
    ) -> Result<TransactionEventResponse, CallError> {
        Ok(TransactionEventResponse::new())
    }
}

struct Harness {
    dispatcher: Arc<Dispatcher>,
    session: Session,
    strict: DecodeOptions,
    pedantic: DecodeOptions,
}

impl Harness {
    /// `Dispatcher::handle`, polled once: the handlers answer at once, so the future is
    /// ready on its first poll and no runtime's scheduling is measured (the handlers have
    /// nothing to wait for; an application's runtime is its own choice).
    fn handle(&self, text: &str) -> String {
        let mut future = std::pin::pin!(self.dispatcher.handle("CS-1", text));
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(reply) => reply.unwrap(),
            std::task::Poll::Pending => panic!("the dispatcher waited on a ready handler"),
        }
    }

    /// `Session::receive`, polled once as [`Harness::handle`]: the connection-level path, with
    /// its `Outcome` (the reply and the event).
    fn receive(&self, text: &str) -> String {
        let mut future = std::pin::pin!(self.session.receive(text));
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(outcome) => outcome.reply.unwrap(),
            std::task::Poll::Pending => panic!("the session waited on a ready handler"),
        }
    }
}

/// The `jsonschema` validator for the request schema of `action`, as in the differential test
/// (draft-06, format assertion on).
fn jsonschema_validator(action: &str) -> jsonschema::Validator {
    let path = format!(
        "{}/../schemas/v2_0_1/{action}Request.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft6)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// The generic approach: a `Value` tree, schema validation, then `from_value`.
fn value_jsonschema<M: DeserializeOwned>(validator: &jsonschema::Validator, text: &str) -> M {
    let Value::Array(items) = serde_json::from_str::<Value>(text).unwrap() else {
        panic!("not a frame")
    };
    let payload = items.into_iter().nth(3).unwrap();
    assert!(validator.is_valid(&payload));
    serde_json::from_value(payload).unwrap()
}

/// Checks once, before measuring, that every implementation agrees on the frames.
fn check_case<F: Feature, M: DeserializeOwned>(h: &Harness, case: &Case) {
    let payload = payload_text(case.valid);
    let Ok(Frame::Call {
        payload: parsed,
        action,
        ..
    }) = Frame::parse(case.valid)
    else {
        panic!("{}: not a CALL", case.name)
    };
    assert_eq!(action, case.action);
    assert_eq!(serde_json::from_str::<Value>(payload).unwrap(), parsed);
    let violations = ocpp_messages::validate::validate(<F::Request as HasSchema>::SCHEMA, &parsed);
    assert!(violations.is_empty(), "{}: {violations:?}", case.name);
    let _: F::Request = ours_typed::<F>(case.valid);
    let _: M = serde_json::from_str(payload).unwrap();
    let reply = h.handle(case.valid);
    assert!(reply.starts_with("[3,"), "{}: {reply}", case.name);
    assert_eq!(
        h.receive(case.valid),
        reply,
        "{}: the session answers as the dispatcher",
        case.name
    );
    let reply = h.handle(case.invalid);
    assert!(reply.starts_with("[4,"), "{}: {reply}", case.name);
    if let Err(e) = ocpp_kit_decode(case.valid, &h.strict) {
        panic!("{}: ocpp-kit (strict) rejects the frame: {e}", case.name);
    }
    if let Err(e) = ocpp_kit_decode(case.valid, &h.pedantic) {
        panic!("{}: ocpp-kit (pedantic) rejects the frame: {e}", case.name);
    }
    assert!(
        ocpp_kit_decode(case.invalid, &h.strict).is_err(),
        "{}: ocpp-kit accepts the invalid variant",
        case.name
    );
    let _: M = value_jsonschema(&jsonschema_validator(case.action), case.valid);
}

fn bench_case<F: Feature, M: DeserializeOwned>(c: &mut Criterion, h: &Harness, case: &Case) {
    check_case::<F, M>(h, case);
    let validator = jsonschema_validator(case.action);
    let payload = payload_text(case.valid);
    let mut group = c.benchmark_group(case.name);
    group.bench_function("floor", |b| {
        b.iter(|| serde_json::from_str::<M>(black_box(payload)).unwrap())
    });
    group.bench_function("ours_typed", |b| {
        b.iter(|| ours_typed::<F>(black_box(case.valid)))
    });
    group.bench_function("ours_dispatch", |b| {
        b.iter(|| h.handle(black_box(case.valid)))
    });
    group.bench_function("ours_session", |b| {
        b.iter(|| h.receive(black_box(case.valid)))
    });
    group.bench_function("ours_invalid", |b| {
        b.iter(|| h.handle(black_box(case.invalid)))
    });
    group.bench_function("ocpp_kit_strict", |b| {
        b.iter(|| ocpp_kit_strict(black_box(case.valid), &h.strict))
    });
    group.bench_function("ocpp_kit_pedantic", |b| {
        b.iter(|| ocpp_kit_strict(black_box(case.valid), &h.pedantic))
    });
    group.bench_function("value_jsonschema", |b| {
        b.iter(|| value_jsonschema::<M>(&validator, black_box(case.valid)))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let dispatcher = Arc::new(
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
            .with(security::CsmsService(Csms))
            .with(transactions::CsmsService(Csms)),
    );
    let h = Harness {
        session: Session::new(Arc::clone(&dispatcher), "CS-1"),
        dispatcher,
        strict: DecodeOptions::strict(),
        pedantic: DecodeOptions::pedantic(),
    };
    bench_case::<SecurityEventNotificationFeature, mirror::SecurityEventNotificationRequest>(
        c, &h, &SMALL,
    );
    bench_case::<SignCertificateFeature, mirror::SignCertificateRequest>(c, &h, &MEDIUM);
    bench_case::<TransactionEventFeature, mirror::TransactionEventRequest>(c, &h, &LARGE);
}

criterion_group!(decode, benches);
criterion_main!(decode);
