//! Payload decoding for every action of every generated version, request and response.
//!
//! Input: a version byte, a feature index byte, a side byte (even: request, odd: response), then
//! the payload text. Never a panic; a payload is valid or every violation is reported with the
//! code the version defines; a valid payload decodes, and its re-encoding is valid, decodes on
//! the fast path to itself, and is accepted inside a CALL or CALLRESULT frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocpp_fuzz::{depth, features, same_json, version};
use ocpp_messages::dispatch::violations_error;
use ocpp_messages::validate::validate;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let [v, f, side, rest @ ..] = data else {
        return;
    };
    let version = version(*v);
    let features = features(version);
    let Some(feature) = features.get(usize::from(*f)) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
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
    let _ = fast(text);
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let violations = validate(schema, &value);
    if !violations.is_empty() {
        let error =
            violations_error(version, "payload", &violations).expect("violations give a CALLERROR");
        assert!(version.defines_error_code(error.code), "{}", error.code);
        return;
    }
    let Ok(encoded) = reencode(value) else {
        // Valid but not representable (an integer beyond 64 bits).
        return;
    };
    assert!(
        validate(schema, &encoded).is_empty(),
        "re-encoding is invalid: {encoded}"
    );
    let encoded_text = encoded.to_string();
    let again = fast(&encoded_text).expect("the fast path accepts a re-encoded payload");
    assert!(
        same_json(&again, &encoded),
        "{encoded_text} came back as {again}"
    );
    // A frame adds one level to the payload's, and a frame holds at most 128.
    if depth(&encoded) >= 128 {
        return;
    }
    if request {
        let frame = format!(r#"[2,"1","{}",{encoded_text}]"#, feature.name);
        assert!((feature.call_is_valid)(&frame), "{frame}");
    } else {
        let frame = format!(r#"[3,"1",{encoded_text}]"#);
        assert!((feature.result_is_valid)(&frame), "{frame}");
    }
});
