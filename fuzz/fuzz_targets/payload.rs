//! Payload decoding for every action of every generated version, request and response.
//!
//! Input: a version byte, a feature index byte, a side byte (even: request, odd: response), then
//! the payload text. Never a panic; a payload is valid or every violation is reported with the
//! code the version defines; a valid payload decodes, and its re-encoding is valid, decodes on
//! the fast path to itself, and is accepted inside a CALL or CALLRESULT frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocpp_fuzz::{depth, payload_input, same_json, PayloadInput};
use ocpp_messages::validate::validate;
use ocpp_messages::Mode;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some(PayloadInput {
        version,
        feature,
        request,
        text,
        schema,
        reencode,
        fast,
    }) = payload_input(data)
    else {
        return;
    };
    let _ = fast(text);
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let violations = validate(schema, &value);
    if !violations.is_empty() {
        let error = version
            .violations_error("payload", &violations)
            .expect("violations give a CALLERROR");
        assert!(version.defines_error_code(error.code), "{}", error.code);
        return;
    }
    let Ok(encoded) = reencode(value, Mode::Strict) else {
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
