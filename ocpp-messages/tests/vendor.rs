//! Typed vendor messages over DataTransfer: routing by vendorId and messageId, the statuses the
//! specification gives for unknown vendors and messages, invalid data, and both roles, in
//! 2.0.1, 2.1 and 1.6 (where `data` carries the vendor's JSON as text), with the same vendor
//! messages and one router written over the version.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use ocpp_messages::rpc::{Dispatcher, Event, Session};
use ocpp_messages::v2_0_1::data::{self, DataTransferFeature, DataTransferStatus};
use ocpp_messages::v2_0_1::vendor::{self, DataTransferRouter, VendorError, VendorMessage};
use ocpp_messages::vendor::DataTransferTypes;
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

type Seen = Arc<Mutex<Vec<Option<String>>>>;

/// The router of every test, for any version: one registration serves them all.
fn router_for<V: DataTransferTypes>(seen: &Seen) -> ocpp_messages::vendor::DataTransferRouter<V> {
    let seen = Arc::clone(seen);
    ocpp_messages::vendor::DataTransferRouter::new()
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

fn router(seen: &Seen) -> DataTransferRouter {
    router_for(seen)
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

    // The CSMS sends a typed vendor message through a Session ...
    let pending = Session::new(Dispatcher::new(OcppVersion::V2_0_1, Role::Csms), "CS-1");
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
    let Event::Answered(answer) = block_on(pending.receive(&reply)).event else {
        panic!("{reply} answers the call")
    };
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

/// The answers of `dispatcher` (a CSMS or central system) to each `(payload, answer)`, as
/// CALLs from `CS-7`.
fn assert_answers(dispatcher: &Dispatcher, cases: &[(&str, &str)]) {
    for (i, (payload, answer)) in cases.iter().enumerate() {
        let frame = format!(r#"[2,"{i}","DataTransfer",{payload}]"#);
        let reply = block_on(dispatcher.handle("CS-7", &frame)).unwrap();
        assert_eq!(reply, format!(r#"[3,"{i}",{answer}]"#), "{payload}");
    }
}

/// The table of the module docs, for 2.0.1 and 2.1 alike (`data` is JSON).
fn assert_the_2_x_table(csms: &Dispatcher, seen: &Seen) {
    assert_answers(
        csms,
        &[
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
                r#"{"vendorId":"org.other"}"#,
                r#"{"status":"UnknownVendorId"}"#,
            ),
            (
                r#"{"vendorId":"com.example","messageId":"Humidity","data":{"celsius":1}}"#,
                r#"{"status":"UnknownMessageId"}"#,
            ),
            (
                r#"{"vendorId":"com.example"}"#,
                r#"{"status":"UnknownMessageId"}"#,
            ),
            // The vendorId and messageId are matched exactly.
            (
                r#"{"vendorId":"COM.EXAMPLE","messageId":"Temperature","data":{"celsius":1}}"#,
                r#"{"status":"UnknownVendorId"}"#,
            ),
            (
                r#"{"vendorId":"com.example","messageId":"temperature","data":{"celsius":1}}"#,
                r#"{"status":"UnknownMessageId"}"#,
            ),
        ],
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [Some("CS-7".to_owned()), Some("CS-7".to_owned())]
    );

    // Data its type rejects: Rejected, naming the first violation; the handler never sees it.
    for (data, first) in [
        (r#"{"celsius":200}"#, "/celsius: "),
        (r#"{"celsius":"hot"}"#, "/celsius: "),
        (r#"{"celsius":1,"x":1}"#, "/x: "),
        ("null", "/: "),
        (r#"{"sensor":"s1"}"#, "/celsius: "),
        (r#"{"celsius":1,"sensor":"too long a name"}"#, "/sensor: "),
    ] {
        let frame = format!(
            r#"[2,"2","DataTransfer",{{"vendorId":"com.example","messageId":"Temperature","data":{data}}}]"#
        );
        let reply = block_on(csms.handle("CS-7", &frame)).unwrap();
        let prefix = format!(
            r#"[3,"2",{{"status":"Rejected","statusInfo":{{"reasonCode":"InvalidData","additionalInfo":"the data violates its schema: {first}"#
        );
        assert!(reply.starts_with(&prefix), "{data}: {reply}");
    }
    // No data at all is `null` to the type: rejected too.
    let frame = r#"[2,"2","DataTransfer",{"vendorId":"com.example","messageId":"Temperature"}]"#;
    let reply = block_on(csms.handle("CS-7", frame)).unwrap();
    assert!(
        reply.starts_with(
            r#"[3,"2",{"status":"Rejected","statusInfo":{"reasonCode":"InvalidData","#
        ),
        "{reply}"
    );
    assert_eq!(seen.lock().unwrap().len(), 2);

    // A handler error is the CALLERROR.
    let frame = r#"[2,"3","DataTransfer",{"vendorId":"com.example","messageId":"Fail","data":{"fan":true}}]"#;
    assert_eq!(
        block_on(csms.handle("CS-7", frame)).unwrap(),
        r#"[4,"3","GenericError","broken fan",{}]"#
    );
}

#[test]
fn a_2_0_1_csms_answers_the_whole_table() {
    let seen = Arc::default();
    let csms =
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with(data::CsmsService(router(&seen)));
    assert_the_2_x_table(&csms, &seen);
}

mod v2_1 {
    use super::*;
    use ocpp_messages::v2_1::data::{self, DataTransferFeature, DataTransferStatus};
    use ocpp_messages::v2_1::vendor::{self, DataTransferRouter, VendorError};

    fn router(seen: &Seen) -> DataTransferRouter {
        router_for(seen)
    }

    #[test]
    fn a_csms_routes_by_vendor_and_message() {
        let seen = Arc::default();
        let csms =
            Dispatcher::new(OcppVersion::V2_1, Role::Csms).with(data::CsmsService(router(&seen)));
        assert_the_2_x_table(&csms, &seen);
    }

    #[test]
    fn a_charging_station_routes_too_and_calls_are_typed_both_ways() {
        let seen = Arc::default();
        let station = Dispatcher::new(OcppVersion::V2_1, Role::ChargingStation)
            .with(data::ChargingStationService(router(&seen)));

        // The CSMS sends a typed vendor message through a Session ...
        let pending = Session::new(Dispatcher::new(OcppVersion::V2_1, Role::Csms), "CS-1");
        let request = vendor::request::<Temperature>(&Reading {
            celsius: 50.0,
            sensor: Some("s2".to_owned()),
        })
        .unwrap();
        assert_eq!(
            request,
            data::DataTransferRequest::new("com.example")
                .with_message_id("Temperature")
                .with_data(serde_json::json!({"celsius": 50.0, "sensor": "s2"}))
        );
        let (_, frame) = pending.call::<DataTransferFeature>(&request).unwrap();
        // ... the station's router answers it ...
        let reply = block_on(station.handle("CSMS", &frame)).unwrap();
        assert!(
            reply.ends_with(r#",{"status":"Accepted","data":{"fan":true}}]"#),
            "{reply}"
        );
        assert_eq!(*seen.lock().unwrap(), [None]);
        // ... and the CSMS reads the typed answer.
        let Event::Answered(answer) = block_on(pending.receive(&reply)).event else {
            panic!("{reply} answers the call")
        };
        let response = answer.into_response::<DataTransferFeature>().unwrap();
        assert_eq!(
            vendor::response::<Temperature>(response).unwrap(),
            Ack { fan: true }
        );

        // A request that breaks its own type's constraints is never built.
        assert!(matches!(
            vendor::request::<Temperature>(&Reading {
                celsius: -51.0,
                sensor: None
            }),
            Err(VendorError::Invalid(_))
        ));
        // An answer other than Accepted has no typed data; Accepted data the type rejects is
        // invalid.
        for status in [
            DataTransferStatus::Rejected,
            DataTransferStatus::UnknownMessageId,
            DataTransferStatus::UnknownVendorId,
        ] {
            assert_eq!(
                vendor::response::<Temperature>(data::DataTransferResponse::new(status)),
                Err(VendorError::Status(status))
            );
        }
        for data in [None, Some(serde_json::json!({"fan": "yes"}))] {
            let answer = data::DataTransferResponse {
                data,
                ..data::DataTransferResponse::new(DataTransferStatus::Accepted)
            };
            let error = vendor::response::<Temperature>(answer).unwrap_err();
            assert!(matches!(error, VendorError::Invalid(_)), "{error}");
        }
    }
}

mod v1_6 {
    use super::*;
    use ocpp_messages::v1_6::core::{self, DataTransferFeature, DataTransferStatus};
    use ocpp_messages::v1_6::vendor::{self, DataTransferRouter, VendorError};

    fn router(seen: &Seen) -> DataTransferRouter {
        router_for(seen)
    }

    #[test]
    fn a_central_system_routes_by_vendor_and_message() {
        let seen = Arc::default();
        let central_system = Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM)
            .with(core::CentralSystemService(router(&seen)));
        assert_answers(
            &central_system,
            &[
                (
                    r#"{"vendorId":"com.example","messageId":"Temperature","data":"{\"celsius\":45}"}"#,
                    r#"{"status":"Accepted","data":"{\"fan\":true}"}"#,
                ),
                // JSON text is JSON text, whitespace and all.
                (
                    r#"{"vendorId":"com.example","messageId":"Temperature","data":" { \"sensor\" : \"s1\",\n \"celsius\": -3.5 } "}"#,
                    r#"{"status":"Accepted","data":"{\"fan\":false}"}"#,
                ),
                (
                    r#"{"vendorId":"org.other","messageId":"Temperature"}"#,
                    r#"{"status":"UnknownVendorId"}"#,
                ),
                (
                    r#"{"vendorId":"org.other"}"#,
                    r#"{"status":"UnknownVendorId"}"#,
                ),
                (
                    r#"{"vendorId":"com.example","messageId":"Humidity","data":"{\"celsius\":1}"}"#,
                    r#"{"status":"UnknownMessageId"}"#,
                ),
                (
                    r#"{"vendorId":"com.example"}"#,
                    r#"{"status":"UnknownMessageId"}"#,
                ),
                (
                    r#"{"vendorId":"COM.EXAMPLE","messageId":"Temperature","data":"{\"celsius\":1}"}"#,
                    r#"{"status":"UnknownVendorId"}"#,
                ),
                (
                    r#"{"vendorId":"com.example","messageId":"temperature","data":"{\"celsius\":1}"}"#,
                    r#"{"status":"UnknownMessageId"}"#,
                ),
            ],
        );
        assert_eq!(
            *seen.lock().unwrap(),
            [Some("CS-7".to_owned()), Some("CS-7".to_owned())]
        );

        // Data its type rejects, and text that is not JSON, or no data at all: Rejected (1.6
        // has no statusInfo to say why); the handler never sees it.
        let rejected = [
            r#","data":"{\"celsius\":200}""#,
            r#","data":"{\"celsius\":\"hot\"}""#,
            r#","data":"{\"celsius\":1,\"x\":1}""#,
            r#","data":"{\"celsius\":1,\"sensor\":\"too long a name\"}""#,
            r#","data":"null""#,
            r#","data":"\"{\\\"celsius\\\":1}\"""#,
            r#","data":"hot""#,
            r#","data":"{\"celsius\":1""#,
            r#","data":"{\"celsius\":1}}""#,
            r#","data":"""#,
            "",
        ];
        for data in rejected {
            let frame = format!(
                r#"[2,"2","DataTransfer",{{"vendorId":"com.example","messageId":"Temperature"{data}}}]"#
            );
            let reply = block_on(central_system.handle("CS-7", &frame)).unwrap();
            assert_eq!(reply, r#"[3,"2",{"status":"Rejected"}]"#, "{data}");
        }
        assert_eq!(seen.lock().unwrap().len(), 2);

        // `data` that is not a string breaks DataTransfer's own schema: a CALLERROR, in 1.6's
        // codes, before any router.
        let frame = r#"[2,"3","DataTransfer",{"vendorId":"com.example","messageId":"Temperature","data":{"celsius":1}}]"#;
        let reply = block_on(central_system.handle("CS-7", frame)).unwrap();
        assert!(
            reply.starts_with(r#"[4,"3","TypeConstraintViolation","#),
            "{reply}"
        );

        // A handler error is the CALLERROR.
        let frame = r#"[2,"4","DataTransfer",{"vendorId":"com.example","messageId":"Fail","data":"{\"fan\":true}"}]"#;
        assert_eq!(
            block_on(central_system.handle("CS-7", frame)).unwrap(),
            r#"[4,"4","GenericError","broken fan",{}]"#
        );
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_charge_point_routes_too_and_calls_are_typed_both_ways() {
        let seen = Arc::default();
        let charge_point = Dispatcher::new(OcppVersion::V1_6, Role::CHARGE_POINT)
            .with(core::ChargePointService(router(&seen)));

        // The central system sends a typed vendor message through a Session, its JSON as
        // text ...
        let pending = Session::new(Dispatcher::new(OcppVersion::V1_6, Role::Csms), "CS-1");
        let request = vendor::request::<Temperature>(&Reading {
            celsius: 50.5,
            sensor: Some("s\"2".to_owned()),
        })
        .unwrap();
        assert_eq!(
            request,
            core::DataTransferRequest::new("com.example")
                .with_message_id("Temperature")
                .with_data(r#"{"celsius":50.5,"sensor":"s\"2"}"#)
        );
        let (_, frame) = pending.call::<DataTransferFeature>(&request).unwrap();
        assert!(
            frame.ends_with(r#","data":"{\"celsius\":50.5,\"sensor\":\"s\\\"2\"}"}]"#),
            "{frame}"
        );
        // ... the charge point's router answers it ...
        let reply = block_on(charge_point.handle("CS", &frame)).unwrap();
        assert!(
            reply.ends_with(r#",{"status":"Accepted","data":"{\"fan\":true}"}]"#),
            "{reply}"
        );
        assert_eq!(*seen.lock().unwrap(), [None]);
        // ... and the central system reads the typed answer.
        let Event::Answered(answer) = block_on(pending.receive(&reply)).event else {
            panic!("{reply} answers the call")
        };
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
        // An answer other than Accepted has no typed data; Accepted data that is not JSON text,
        // or JSON the type rejects, is invalid.
        for status in [
            DataTransferStatus::Rejected,
            DataTransferStatus::UnknownMessageId,
            DataTransferStatus::UnknownVendorId,
        ] {
            let answer = core::DataTransferResponse::new(status).with_data(r#"{"fan":true}"#);
            assert_eq!(
                vendor::response::<Temperature>(answer),
                Err(VendorError::Status(status))
            );
        }
        for data in [None, Some("yes"), Some(r#"{"fan":"yes"}"#)] {
            let answer = core::DataTransferResponse {
                data: data.map(str::to_owned),
                ..core::DataTransferResponse::new(DataTransferStatus::Accepted)
            };
            let error = vendor::response::<Temperature>(answer).unwrap_err();
            assert!(matches!(error, VendorError::Invalid(_)), "{error}");
        }
        let answer = core::DataTransferResponse::new(DataTransferStatus::Accepted).with_data("yes");
        assert!(vendor::response::<Temperature>(answer)
            .unwrap_err()
            .to_string()
            .starts_with("the data violates its schema: /: payload is not JSON: "));
    }
}

/// One vendor message, one registration, three versions: the same typed value each way.
#[test]
fn one_vendor_message_serves_every_version() {
    let reading = Reading {
        celsius: 21.25,
        sensor: None,
    };
    let v2_0_1 = vendor::request::<Temperature>(&reading).unwrap();
    let v2_1 = ocpp_messages::v2_1::vendor::request::<Temperature>(&reading).unwrap();
    let v1_6 = ocpp_messages::v1_6::vendor::request::<Temperature>(&reading).unwrap();
    assert_eq!(v2_0_1.data, Some(serde_json::json!({"celsius": 21.25})));
    assert_eq!(v2_1.data, v2_0_1.data);
    assert_eq!(v1_6.data.as_deref(), Some(r#"{"celsius":21.25}"#));

    let debug = format!("{:?}", router(&Arc::default()));
    assert_eq!(
        debug,
        r#"DataTransferRouter { messages: [("com.example", "Fail"), ("com.example", "Temperature")] }"#
    );
    assert_eq!(
        format!(
            "{:?}",
            router_for::<ocpp_messages::v1_6::core::DataTransferFeature>(&Arc::default())
        ),
        debug
    );
}
