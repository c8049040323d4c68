//! A member name given twice in one object: the last one counts, the same on every path (the
//! one-pass decoder, the validator, `Message::from_json_str`, `Frame::decode_call` and the
//! dispatcher; `ocpp-cli/tests/cli.rs` checks `ocpp validate` on the same table). This is what
//! serde_json and most JSON parsers do, and RFC 8259 leaves it to the implementation; OCPP
//! says nothing about it.
#![allow(clippy::unwrap_used)]

use std::future::Future;

use ocpp_messages::frame::Frame;
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::security::{
    self, SignCertificateFeature, SignCertificateRequest, SignCertificateResponse,
};
use ocpp_messages::v2_0_1::types::GenericStatus;
use ocpp_messages::validate::validate;
use ocpp_messages::{CallError, Feature, Message, OcppVersion, Role};
use serde_json::{json, Value};

/// (payload text, the payload that counts or the error code).
fn cases() -> Vec<(&'static str, Result<Value, &'static str>)> {
    vec![
        (r#"{"csr":null,"csr":"x"}"#, Ok(json!({"csr": "x"}))),
        (r#"{"csr":"x","csr":null}"#, Err("TypeConstraintViolation")),
        (r#"{"csr":"a","csr":"b"}"#, Ok(json!({"csr": "b"}))),
        (
            r#"{"csr":"x","certificateType":"Bogus","certificateType":"V2GCertificate"}"#,
            Ok(json!({"csr": "x", "certificateType": "V2GCertificate"})),
        ),
        (
            r#"{"csr":"x","certificateType":"V2GCertificate","certificateType":"Bogus"}"#,
            Err("PropertyConstraintViolation"),
        ),
        (
            r#"{"customData":{"vendorId":"v","k":1,"k":[2]},"csr":"x"}"#,
            Ok(json!({"csr": "x", "customData": {"vendorId": "v", "k": [2]}})),
        ),
        (r#"{"csr":"x","x":1,"x":2}"#, Err("ProtocolError")),
    ]
}

struct Csms;

impl security::CsmsHandler for Csms {
    async fn on_sign_certificate(
        &self,
        _: &str,
        request: SignCertificateRequest,
    ) -> Result<SignCertificateResponse, CallError> {
        // Echo the request back, so the reply shows what the handler received.
        Ok(
            SignCertificateResponse::new(GenericStatus::Accepted).with_status_info(
                ocpp_messages::v2_0_1::types::StatusInfo::new("seen")
                    .with_additional_info(serde_json::to_string(&request).unwrap()),
            ),
        )
    }
}

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the dispatcher waited on a ready handler"),
    }
}

#[test]
fn the_last_of_two_equal_names_counts_on_every_path() {
    let dispatcher =
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with(security::CsmsService(Csms));
    let info = SignCertificateFeature::INFO;
    for (text, expected) in cases() {
        let frame = format!(r#"[2,"d","SignCertificate",{text}]"#);
        // The validator, on the tree serde_json builds.
        let tree: Value = serde_json::from_str(text).unwrap();
        let violations = validate(info.request, &tree);
        let error = OcppVersion::V2_0_1.violations_error("request", &violations);
        let code = error.map(|e| e.code.as_str());
        assert_eq!(code, expected.as_ref().err().copied(), "{text}");
        // Message::from_json_str: the one-pass decoder, the validator when it fails.
        let decoded = SignCertificateRequest::from_json_str(text);
        assert_eq!(
            decoded
                .as_ref()
                .ok()
                .map(|r| serde_json::to_value(r).unwrap()),
            expected.clone().ok(),
            "{text}"
        );
        // The one-pass decoder alone accepts what counts, or leaves the decision.
        if let Some(fast) = (info.fast_reencode_request)(text) {
            assert_eq!(Some(fast), expected.clone().ok(), "{text}");
        }
        // A whole frame.
        let call = Frame::decode_call::<SignCertificateFeature>(OcppVersion::V2_0_1, &frame);
        match (&call, &expected) {
            (Ok(call), Ok(value)) => {
                assert_eq!(
                    &serde_json::to_value(&call.request).unwrap(),
                    value,
                    "{text}"
                )
            }
            (Err(rejection), Err(code)) => assert_eq!(rejection.error.code.as_str(), *code),
            _ => panic!("{text}: {call:?}"),
        }
        // The dispatcher: what the handler received, or the CALLERROR.
        let reply: Value =
            serde_json::from_str(&ready(dispatcher.handle("CS-1", &frame)).unwrap()).unwrap();
        match &expected {
            Ok(value) => {
                let seen: Value = serde_json::from_str(
                    reply[2]["statusInfo"]["additionalInfo"].as_str().unwrap(),
                )
                .unwrap();
                assert_eq!(&seen, value, "{text}");
            }
            Err(code) => assert_eq!(reply[2], *code, "{text}"),
        }
    }
}
