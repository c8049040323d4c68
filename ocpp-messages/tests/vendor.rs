//! Typed vendor messages over DataTransfer: routing by vendorId and messageId, the statuses the
//! specification gives for unknown vendors and messages, invalid data, and both roles.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use ocpp_messages::rpc::PendingCalls;
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::frame::Frame;
use ocpp_messages::v2_0_1::data::{self, DataTransferFeature, DataTransferStatus};
use ocpp_messages::v2_0_1::vendor::{self, DataTransferRouter, VendorError, VendorMessage};
use ocpp_messages::{CallError, Codec, ErrorCode, OcppVersion, Role};

struct Temperature;

/// A cabinet temperature.
#[derive(Clone, Debug, PartialEq, Codec)]
struct Reading {
    #[ocpp(minimum = -50, maximum = 150)]
    celsius: f64,
    #[ocpp(max_length = 8)]
    sensor: Option<String>,
}

/// Whether the fan runs.
#[derive(Clone, Debug, PartialEq, Codec)]
struct Ack {
    fan: bool,
}

impl VendorMessage for Temperature {
    const VENDOR_ID: &'static str = "com.example";
    const MESSAGE_ID: &'static str = "Temperature";
    type Request = Reading;
    type Response = Ack;
}

struct Fail;

impl VendorMessage for Fail {
    const VENDOR_ID: &'static str = "com.example";
    const MESSAGE_ID: &'static str = "Fail";
    type Request = Ack;
    type Response = Ack;
}

fn router(seen: &Arc<Mutex<Vec<Option<String>>>>) -> DataTransferRouter {
    let seen = Arc::clone(seen);
    DataTransferRouter::new()
        .on::<Temperature, _, _>(move |station, reading: Reading| {
            seen.lock().unwrap().push(station);
            async move {
                Ok(Ack {
                    fan: reading.celsius > 40.0,
                })
            }
        })
        .on::<Fail, _, _>(|_, _| async {
            Err(CallError::new(ErrorCode::GenericError, "broken fan"))
        })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn a_csms_routes_by_vendor_and_message() {
    let seen = Arc::default();
    let csms =
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with(data::CsmsService(router(&seen)));
    let cases = [
        (
            r#"{"vendorId":"com.example","messageId":"Temperature","data":{"celsius":45}}"#,
            r#"{"status":"Accepted","data":{"fan":true}}"#,
        ),
        (
            r#"{"vendorId":"com.example","messageId":"Temperature","data":{"celsius":-3.5,"sensor":"s1"}}"#,
            r#"{"status":"Accepted","data":{"fan":false}}"#,
        ),
        (
            r#"{"vendorId":"org.other","messageId":"Temperature"}"#,
            r#"{"status":"UnknownVendorId"}"#,
        ),
        (
            r#"{"vendorId":"com.example","messageId":"Humidity"}"#,
            r#"{"status":"UnknownMessageId"}"#,
        ),
        (
            r#"{"vendorId":"com.example"}"#,
            r#"{"status":"UnknownMessageId"}"#,
        ),
    ];
    for (payload, answer) in cases {
        let reply =
            block_on(csms.handle("CS-7", &format!(r#"[2,"1","DataTransfer",{payload}]"#))).unwrap();
        assert_eq!(reply, format!(r#"[3,"1",{answer}]"#), "{payload}");
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [Some("CS-7".to_owned()), Some("CS-7".to_owned())]
    );

    // Data its type rejects: Rejected, saying why; the handler never sees it.
    for data in [
        r#"{"celsius":200}"#,
        r#"{"celsius":"hot"}"#,
        r#"{"celsius":1,"x":1}"#,
        "null",
        r#"{"celsius":1,"sensor":"too long a name"}"#,
    ] {
        let frame = format!(
            r#"[2,"2","DataTransfer",{{"vendorId":"com.example","messageId":"Temperature","data":{data}}}]"#
        );
        let reply = block_on(csms.handle("CS-7", &frame)).unwrap();
        assert!(
            reply.starts_with(r#"[3,"2",{"status":"Rejected","statusInfo":{"reasonCode":"InvalidData","additionalInfo":"the data violates its schema: "#),
            "{data}: {reply}"
        );
    }
    assert_eq!(seen.lock().unwrap().len(), 2);

    // A handler error is the CALLERROR.
    let frame = r#"[2,"3","DataTransfer",{"vendorId":"com.example","messageId":"Fail","data":{"fan":true}}]"#;
    assert_eq!(
        block_on(csms.handle("CS-7", frame)).unwrap(),
        r#"[4,"3","GenericError","broken fan",{}]"#
    );
}

#[test]
fn a_charging_station_routes_too_and_calls_are_typed_both_ways() {
    let seen = Arc::default();
    let station = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
        .with(data::ChargingStationService(router(&seen)));

    // The CSMS sends a typed vendor message through PendingCalls ...
    let mut pending = PendingCalls::new(OcppVersion::V2_0_1);
    let request = vendor::request::<Temperature>(&Reading {
        celsius: 50.0,
        sensor: None,
    })
    .unwrap();
    let (_, frame) = pending.call::<DataTransferFeature>(&request).unwrap();
    // ... the station's router answers it ...
    let reply = block_on(station.handle("CSMS", &frame)).unwrap();
    assert_eq!(*seen.lock().unwrap(), [None]);
    // ... and the CSMS reads the typed answer.
    let answer = pending.answer(Frame::parse(&reply).unwrap()).unwrap();
    let response = answer.into_response::<DataTransferFeature>().unwrap();
    assert_eq!(
        vendor::response::<Temperature>(response).unwrap(),
        Ack { fan: true }
    );

    // A request that breaks its own type's constraints is never built.
    assert!(matches!(
        vendor::request::<Temperature>(&Reading {
            celsius: 500.0,
            sensor: None
        }),
        Err(VendorError::Invalid(_))
    ));
    // An answer other than Accepted has no typed data.
    let unknown =
        ocpp_messages::v2_0_1::data::DataTransferResponse::new(DataTransferStatus::UnknownVendorId);
    assert_eq!(
        vendor::response::<Temperature>(unknown),
        Err(VendorError::Status(DataTransferStatus::UnknownVendorId))
    );
}
