//! Numbers survive a round trip: floats are parsed correctly rounded and written back as the
//! same double, integers stay exact, and vendor members of `customData` keep their value.
//! The three cases are the ones the earlier decoder lost (issue "One pass ...").
#![allow(clippy::unwrap_used)]

use ocpp_messages::frame::Frame;
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::transactions::{
    self, TransactionEventFeature, TransactionEventRequest, TransactionEventResponse,
};
use ocpp_messages::{CallError, Message, OcppVersion, Role};
use serde_json::Value;

const REQUEST: &str = r#"[2,"n-1","TransactionEvent",{"eventType":"Updated","timestamp":"2024-05-17T09:21:44Z","triggerReason":"MeterValuePeriodic","seqNo":7,"transactionInfo":{"transactionId":"T-1"},"meterValue":[{"timestamp":"2024-05-17T09:21:44Z","sampledValue":[{"value":-999999.9999999999},{"value":5},{"value":1e-7},{"value":12345678901234567890}]}],"customData":{"vendorId":"V","n":8832690520060903.0,"big":18446744073709551615,"neg":-9223372036854775808,"tiny":5e-324}}]"#;

/// Every number in `value`, in document order, as its text.
fn numbers(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| numbers(v, out)),
        Value::Object(members) => members.values().for_each(|v| numbers(v, out)),
        _ => {}
    }
}

fn as_f64s(texts: &[String]) -> Vec<f64> {
    texts.iter().map(|t| t.parse::<f64>().unwrap()).collect()
}

#[test]
fn request_numbers_keep_their_value_through_the_typed_round_trip() {
    let call = Frame::decode_call::<TransactionEventFeature>(OcppVersion::V2_0_1, REQUEST).unwrap();
    let text = call.request.to_json_string().unwrap();
    let payload_in: Value =
        serde_json::from_str(&REQUEST[REQUEST.find('{').unwrap()..REQUEST.len() - 1]).unwrap();
    let payload_out: Value = serde_json::from_str(&text).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    numbers(&payload_in, &mut a);
    numbers(&payload_out, &mut b);
    a.sort();
    b.sort();
    // Each number means the same double (`f64::from_str` is correctly rounded) ...
    let (mut fa, mut fb) = (as_f64s(&a), as_f64s(&b));
    fa.sort_by(f64::total_cmp);
    fb.sort_by(f64::total_cmp);
    assert_eq!(fa, fb, "{text}");
    // ... and the ones the old decoder changed come back digit for digit.
    for digits in [
        "-999999.9999999999",
        "8832690520060903",
        "18446744073709551615",
    ] {
        assert!(text.contains(digits), "{digits} not in {text}");
    }
    assert!(text.contains("-9223372036854775808"), "{text}");
}

struct Cost;

impl transactions::CsmsHandler for Cost {
    async fn on_transaction_event(
        &self,
        _: &str,
        request: TransactionEventRequest,
    ) -> Result<TransactionEventResponse, CallError> {
        let value = request.meter_value.unwrap()[0].sampled_value[0].value;
        assert_eq!(value, -999_999.999_999_999_9);
        Ok(TransactionEventResponse::new().with_total_cost(-117_921.293_327_569_03))
    }
}

#[test]
fn response_numbers_are_written_as_the_same_double() {
    let dispatcher =
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with(transactions::CsmsService(Cost));
    let reply = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(dispatcher.handle("CS-1", REQUEST))
        .unwrap();
    assert_eq!(reply, r#"[3,"n-1",{"totalCost":-117921.29332756903}]"#);
}
