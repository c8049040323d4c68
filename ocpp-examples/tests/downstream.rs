//! A crate outside `ocpp-messages` extends OCPP 2.0.1: its own action (declared with the same
//! proc-macros as the generated blocks) and a typed DataTransfer message, served by one
//! `Dispatcher` next to generated blocks and called through a station's `Session`.
#![allow(clippy::unwrap_used)]

use ocpp_messages::rpc::{Answer, Dispatcher, Event, SendError, Session};
use ocpp_messages::v2_0_1::availability::{self, HeartbeatRequest, HeartbeatResponse};
use ocpp_messages::v2_0_1::data::{self, DataTransferFeature};
use ocpp_messages::v2_0_1::vendor::{self, DataTransferRouter, VendorMessage};
use ocpp_messages::{CallError, Codec, DateTime, Message, OcppVersion, Role};

/// The payload of `Hello`: a station introduces itself by name.
#[derive(Clone, Debug, PartialEq, Codec)]
pub struct HelloRequest {
    /// At most 20 characters.
    #[ocpp(max_length = 20)]
    pub name: String,
    /// How many times it said hello before, if it counts.
    #[ocpp(minimum = 0)]
    pub count: Option<i64>,
}

impl Message for HelloRequest {}

/// The answer to `Hello`.
#[derive(Clone, Debug, PartialEq, Codec)]
pub struct HelloResponse {
    /// What the CSMS says back.
    pub greeting: String,
}

impl Message for HelloResponse {}

/// A vendor block with one action of its own.
mod greetings {
    use super::{HelloRequest, HelloResponse};

    ocpp_messages::functional_block! {
        name = "greetings";
        extends = v2_0_1;

        /// A station says hello.
        #[ocpp(action = "Hello", request = HelloRequest, response = HelloResponse, initiator = ChargingStation)]
        pub struct HelloFeature;
    }
}

/// `com.example` / `Temperature` over DataTransfer.
struct Temperature;

/// A cabinet temperature.
#[derive(Clone, Debug, PartialEq, Codec)]
pub struct Reading {
    /// Degrees Celsius.
    #[ocpp(minimum = -50, maximum = 150)]
    pub celsius: f64,
}

/// Whether the fan should run.
#[derive(Clone, Debug, PartialEq, Codec)]
pub struct Fan {
    /// On or off.
    pub on: bool,
}

impl VendorMessage for Temperature {
    const VENDOR_ID: &'static str = "com.example";
    const MESSAGE_ID: &'static str = "Temperature";
    type Request = Reading;
    type Response = Fan;
}

struct Csms;

impl greetings::CsmsHandler for Csms {
    async fn on_hello(
        &self,
        charging_station_id: &str,
        request: HelloRequest,
    ) -> Result<HelloResponse, CallError> {
        Ok(HelloResponse {
            greeting: format!("hello {} ({charging_station_id})", request.name),
        })
    }
}

impl availability::CsmsHandler for Csms {
    async fn on_heartbeat(
        &self,
        _: &str,
        _: HeartbeatRequest,
    ) -> Result<HeartbeatResponse, CallError> {
        Ok(HeartbeatResponse::new(
            "2024-01-01T00:00:00Z".parse::<DateTime>().unwrap(),
        ))
    }
}

fn csms() -> Dispatcher {
    let router =
        DataTransferRouter::new().on::<Temperature, _, _>(|_, reading: Reading| async move {
            Ok(Fan {
                on: reading.celsius > 30.0,
            })
        });
    Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(greetings::CsmsService(Csms))
        .with(availability::CsmsService(Csms))
        .with(data::CsmsService(router))
}

/// The station's side: no handlers of its own, only calls.
fn station() -> Session {
    Session::new(
        Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation),
        "CS-9",
    )
}

/// The CSMS serves the station's CALL `frame`; the station's session matches the reply.
async fn exchange(csms: &Dispatcher, station: &Session, frame: &str) -> Answer {
    let reply = csms.handle("CS-9", frame).await.unwrap();
    let outcome = station.receive(&reply).await;
    assert_eq!(outcome.reply, None);
    match outcome.event {
        Event::Answered(answer) => answer,
        other => panic!("expected the answer, got {other:?}"),
    }
}

#[tokio::test]
async fn downstream_actions_and_vendor_messages_are_served_and_called_like_generated_ones() {
    let csms = csms();
    let station = station();

    // The downstream action, typed both ways.
    let (_, frame) = station
        .call::<greetings::HelloFeature>(&HelloRequest {
            name: "station nine".into(),
            count: Some(2),
        })
        .unwrap();
    assert!(
        frame.ends_with(r#","Hello",{"name":"station nine","count":2}]"#),
        "{frame}"
    );
    let answer = exchange(&csms, &station, &frame).await;
    let response = answer.into_response::<greetings::HelloFeature>().unwrap();
    assert_eq!(response.greeting, "hello station nine (CS-9)");

    // A generated action served by the same dispatcher.
    let (_, frame) = station
        .call::<availability::HeartbeatFeature>(&HeartbeatRequest::new())
        .unwrap();
    let answer = exchange(&csms, &station, &frame).await;
    assert!(answer
        .into_response::<availability::HeartbeatFeature>()
        .is_ok());

    // The typed vendor message through DataTransfer.
    let request = vendor::request::<Temperature>(&Reading { celsius: 35.5 }).unwrap();
    let (_, frame) = station.call::<DataTransferFeature>(&request).unwrap();
    let answer = exchange(&csms, &station, &frame).await;
    let response = answer.into_response::<DataTransferFeature>().unwrap();
    assert_eq!(
        vendor::response::<Temperature>(response).unwrap(),
        Fan { on: true }
    );
    assert_eq!(station.pending_calls(), 0);
}

#[tokio::test]
async fn downstream_payloads_are_validated_like_generated_ones() {
    let csms = csms();
    for (frame, code) in [
        (
            r#"[2,"1","Hello",{"name":"a name far longer than twenty"}]"#,
            "PropertyConstraintViolation",
        ),
        (
            r#"[2,"2","Hello",{"name":"n","count":-1}]"#,
            "PropertyConstraintViolation",
        ),
        (
            r#"[2,"3","Hello",{"name":null}]"#,
            "TypeConstraintViolation",
        ),
        (r#"[2,"4","Hello",{}]"#, "OccurrenceConstraintViolation"),
        (r#"[2,"5","Hello",{"name":"n","x":1}]"#, "ProtocolError"),
        (r#"[2,"6","Goodbye",{}]"#, "NotImplemented"),
    ] {
        let reply = csms.handle("CS-9", frame).await.unwrap();
        let value: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(value[2], code, "{frame}: {reply}");
    }
    // Never built when it breaks its own constraints.
    let station = station();
    let too_long = HelloRequest {
        name: "x".repeat(21),
        count: None,
    };
    assert!(matches!(
        station.call::<greetings::HelloFeature>(&too_long),
        Err(SendError::Invalid(_))
    ));
    assert_eq!(station.pending_calls(), 0);
}
