//! The fast decoding path against the validator, for every action of every generated version.
//!
//! Input: as the payload target (version byte, feature index byte, side byte, payload text).
//! The one-pass decoding from text and the slow path (parse into a JSON tree, validate, decode
//! the tree) must agree: what the fast path accepts the validator accepts, decoded to the same
//! value; what the validator accepts (and the type can hold) the fast path accepts too, unless
//! a member name is given twice, where it may leave the decision to the validator. The same
//! holds for whole CALL and CALLRESULT frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocpp_fuzz::{has_duplicate_member, payload_input, same_json, PayloadInput};
use ocpp_messages::frame::Frame;
use ocpp_messages::validate::{validate, Schema};
use ocpp_messages::{CallError, Mode};
use serde_json::Value;

/// The slow path's verdict on a payload: its re-encoded value when valid and representable.
fn slow(
    schema: &Schema,
    reencode: fn(Value, Mode) -> Result<Value, CallError>,
    value: Value,
) -> Option<Value> {
    if validate(schema, &value).is_empty() {
        reencode(value, Mode::Strict).ok()
    } else {
        None
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(PayloadInput {
        feature,
        request,
        text,
        schema,
        reencode,
        fast,
        ..
    }) = payload_input(data)
    else {
        return;
    };

    // The payload alone.
    let fast_value = fast(text);
    let slow_value = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|value| slow(schema, reencode, value));
    match (&fast_value, &slow_value) {
        (Some(f), Some(s)) => assert!(same_json(f, s), "{text}: fast {f}, slow {s}"),
        (Some(f), None) => panic!("{text}: the fast path accepts ({f}), the validator does not"),
        (None, Some(s)) => assert_eq!(
            has_duplicate_member(text),
            Some(true),
            "{text}: the validator accepts ({s}), the fast path does not"
        ),
        (None, None) => {}
    }

    // The payload in a frame, as the dispatcher and a `Session` see it.
    let frame = if request {
        format!(r#"[2,"1","{}",{text}]"#, feature.name)
    } else {
        format!(r#"[3,"1",{text}]"#)
    };
    let fast_ok = if request {
        (feature.call_is_valid)(&frame)
    } else {
        (feature.result_is_valid)(&frame)
    };
    let slow_ok = match Frame::parse(&frame) {
        Ok(Frame::Call { payload, .. } | Frame::CallResult { payload, .. }) => {
            slow(schema, reencode, payload).is_some()
        }
        _ => false,
    };
    if fast_ok != slow_ok {
        assert!(
            !fast_ok && has_duplicate_member(&frame) == Some(true),
            "{frame}: fast path {fast_ok}, validator {slow_ok}"
        );
    }
});
