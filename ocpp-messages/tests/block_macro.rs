//! Behaviour of `#[derive(Feature)]` and `functional_block!` on hand-written blocks.
//!
//! These blocks reuse action names of OCPP 2.0.1 on purpose (without `extends`, nothing
//! forbids it), so their services are called through `Service::call` directly; a downstream
//! block served by a `Dispatcher` is tested in `ocpp-examples/tests/downstream.rs`.

use std::any::TypeId;
use std::sync::{Arc, Mutex};

use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::validate::Schema;
use ocpp_messages::{CallError, Codec, ErrorCode, Feature, Initiator, Message, OcppVersion, Role};
use ocpp_messages::{Payload, Service};
use serde_json::{json, Value};

/// A payload with one required string, `text`.
#[derive(Debug, Clone, PartialEq, Codec)]
pub struct TextRequest {
    /// Any text.
    #[ocpp(max_length = 50)]
    pub text: String,
}

impl Message for TextRequest {}

/// The same shape as [`TextRequest`], as a response.
#[derive(Debug, Clone, PartialEq, Codec)]
pub struct TextResponse {
    /// Any text.
    #[ocpp(max_length = 50)]
    pub text: String,
}

impl Message for TextResponse {}

/// An empty object.
#[derive(Debug, Clone, PartialEq, Codec)]
pub struct EmptyResponse {}

impl Message for EmptyResponse {}

/// A block with every kind of initiator.
mod demo {
    use super::{EmptyResponse, TextRequest, TextResponse};

    ocpp_messages::functional_block! {
        name = "demo";

        /// A charging station says hello.
        ///
        /// It expects the greeting back.
        #[ocpp(action = "Hello", request = TextRequest, response = TextResponse, initiator = ChargingStation)]
        pub struct HelloFeature;

        #[ocpp(action = "NotifyEVChargingNeeds", request = TextRequest, response = EmptyResponse)]
        #[ocpp(initiator = ChargingStation)]
        pub struct NotifyEvChargingNeedsFeature;

        /// The CSMS resets a station.
        #[ocpp(action = "Reset", request = TextRequest, response = EmptyResponse, initiator = Csms)]
        pub struct ResetFeature;

        #[ocpp(action = "DataTransfer", request = TextRequest, response = TextResponse, initiator = Both)]
        pub struct DataTransferFeature;
    }
}

/// A block whose actions are all sent by the CSMS: its `CsmsHandler` has no methods.
mod csms_only {
    use super::{EmptyResponse, TextRequest};

    ocpp_messages::functional_block! {
        name = "csms_only";

        #[ocpp(action = "ClearCache", request = TextRequest, response = EmptyResponse, initiator = Csms)]
        pub struct ClearCacheFeature;
    }
}

/// A block with no features at all.
mod empty {
    ocpp_messages::functional_block! {
        name = "empty";
    }
}

/// `#[derive(Feature)]` on its own.
#[derive(ocpp_messages::Feature)]
#[ocpp(
    action = "SignCertificate",
    request = TextRequest,
    response = TextResponse,
    initiator = ChargingStation
)]
struct SignCertificateFeature;

fn same_type<T: 'static, U: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<U>()
}

fn assert_send<T: Send>(_: &T) {}

fn default<T: Default>() -> T {
    T::default()
}

/// The member names of an object schema.
fn members(schema: &Schema) -> Vec<&'static str> {
    match schema {
        Schema::Object(object) => object.properties.iter().map(|p| p.name).collect(),
        other => panic!("not an object schema: {other:?}"),
    }
}

fn text(text: &str) -> TextRequest {
    TextRequest { text: text.into() }
}

/// Implements nothing: every action is answered `NotSupported`.
struct Nothing;

impl demo::CsmsHandler for Nothing {}
impl demo::ChargingStationHandler for Nothing {}
impl csms_only::CsmsHandler for Nothing {}
impl csms_only::ChargingStationHandler for Nothing {}
impl empty::CsmsHandler for Nothing {}
impl empty::ChargingStationHandler for Nothing {}

/// A CSMS that answers `Hello` and `DataTransfer` and logs what it was asked.
#[derive(Default)]
struct App {
    log: Mutex<Vec<String>>,
}

impl App {
    fn log(&self, line: String) {
        self.log.lock().expect("log lock").push(line);
    }
}

impl demo::CsmsHandler for App {
    async fn on_hello(
        &self,
        charging_station_id: &str,
        request: TextRequest,
    ) -> Result<TextResponse, CallError> {
        self.log(format!("{charging_station_id}: Hello {}", request.text));
        tokio::task::yield_now().await;
        Ok(TextResponse {
            text: format!("hello {charging_station_id}, you said {}", request.text),
        })
    }

    async fn on_data_transfer(
        &self,
        charging_station_id: &str,
        request: TextRequest,
    ) -> Result<TextResponse, CallError> {
        self.log(format!(
            "{charging_station_id}: DataTransfer {}",
            request.text
        ));
        Err(CallError::new(ErrorCode::SecurityError, "no data for you"))
    }
}

impl csms_only::CsmsHandler for App {}

/// A charging station that answers `Reset` and `DataTransfer`.
struct Station;

impl demo::ChargingStationHandler for Station {
    async fn on_reset(&self, request: TextRequest) -> Result<EmptyResponse, CallError> {
        assert_eq!(request.text, "now");
        Ok(EmptyResponse {})
    }

    async fn on_data_transfer(&self, request: TextRequest) -> Result<TextResponse, CallError> {
        Ok(TextResponse {
            text: request.text.to_uppercase(),
        })
    }
}

#[test]
fn derive_sets_the_feature_metadata() {
    assert_eq!(SignCertificateFeature::NAME, "SignCertificate");
    assert_eq!(
        SignCertificateFeature::INITIATOR,
        Initiator::ChargingStation
    );
    assert!(same_type::<
        <SignCertificateFeature as Feature>::Request,
        TextRequest,
    >());
    assert!(same_type::<
        <SignCertificateFeature as Feature>::Response,
        TextResponse,
    >());
    let info = SignCertificateFeature::INFO;
    assert_eq!(info.name, "SignCertificate");
    assert_eq!(members(info.request), ["text"]);
    assert_eq!(members(info.response), ["text"]);
}

#[test]
fn block_features_have_their_metadata_and_derives() {
    assert_eq!(demo::HelloFeature::NAME, "Hello");
    assert_eq!(demo::HelloFeature::INITIATOR, Initiator::ChargingStation);
    assert_eq!(
        demo::NotifyEvChargingNeedsFeature::NAME,
        "NotifyEVChargingNeeds"
    );
    assert_eq!(demo::ResetFeature::INITIATOR, Initiator::Csms);
    assert_eq!(demo::DataTransferFeature::INITIATOR, Initiator::Both);
    assert!(same_type::<
        <demo::ResetFeature as Feature>::Request,
        TextRequest,
    >());
    assert!(same_type::<
        <demo::ResetFeature as Feature>::Response,
        EmptyResponse,
    >());

    let feature = demo::HelloFeature;
    let copy = feature;
    assert_eq!(feature, copy.clone());
    assert_eq!(default::<demo::HelloFeature>(), feature);
    assert_eq!(format!("{feature:?}"), "HelloFeature");
    let set: std::collections::HashSet<_> = [feature, copy].into_iter().collect();
    assert_eq!(set.len(), 1);
}

#[test]
fn profile_lists_the_features_in_order() {
    assert_eq!(demo::PROFILE_NAME, "demo");
    assert_eq!(demo::PROFILE.name, "demo");
    let names: Vec<_> = demo::PROFILE.features.iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        ["Hello", "NotifyEVChargingNeeds", "Reset", "DataTransfer"]
    );
    let initiators: Vec<_> = demo::PROFILE.features.iter().map(|f| f.initiator).collect();
    assert_eq!(
        initiators,
        [
            Initiator::ChargingStation,
            Initiator::ChargingStation,
            Initiator::Csms,
            Initiator::Both
        ]
    );
    let reset = demo::PROFILE
        .feature("Reset")
        .expect("Reset is in the profile");
    assert_eq!(members(reset.request), ["text"]);
    assert!(members(reset.response).is_empty());

    assert_eq!(csms_only::PROFILE.name, "csms_only");
    assert_eq!(csms_only::PROFILE.features.len(), 1);
    assert_eq!(empty::PROFILE_NAME, "empty");
    assert!(empty::PROFILE.features.is_empty());
}

#[test]
fn services_answer_the_actions_the_peer_sends() {
    let csms = demo::CsmsService(Nothing);
    assert_eq!(csms.role(), Role::Csms);
    assert_eq!(
        csms.actions(),
        ["Hello", "NotifyEVChargingNeeds", "DataTransfer"]
    );
    let station = demo::ChargingStationService(Nothing);
    assert_eq!(station.role(), Role::ChargingStation);
    assert_eq!(station.actions(), ["Reset", "DataTransfer"]);

    assert!(csms_only::CsmsService(Nothing).actions().is_empty());
    assert_eq!(
        csms_only::ChargingStationService(Nothing).actions(),
        ["ClearCache"]
    );
    assert!(empty::CsmsService(Nothing).actions().is_empty());
    assert!(empty::ChargingStationService(Nothing).actions().is_empty());
}

#[tokio::test]
async fn handler_defaults_answer_not_supported() {
    use demo::{ChargingStationHandler as _, CsmsHandler as _};

    let e = Nothing
        .on_hello("CS1", text("hi"))
        .await
        .expect_err("default");
    assert_eq!(e.code, ErrorCode::NotSupported);
    assert_eq!(e, CallError::not_supported("Hello"));
    let e = Nothing
        .on_notify_ev_charging_needs("CS1", text("hi"))
        .await
        .expect_err("default");
    assert_eq!(e, CallError::not_supported("NotifyEVChargingNeeds"));
    let e = Nothing.on_reset(text("now")).await.expect_err("default");
    assert_eq!(e, CallError::not_supported("Reset"));
    let e = demo::CsmsHandler::on_data_transfer(&Nothing, "CS1", text("x"))
        .await
        .expect_err("default");
    assert_eq!(e, CallError::not_supported("DataTransfer"));
    let e = demo::ChargingStationHandler::on_data_transfer(&Nothing, text("x"))
        .await
        .expect_err("default");
    assert_eq!(e, CallError::not_supported("DataTransfer"));
}

#[tokio::test]
async fn services_answer_not_supported_for_defaults_and_other_actions() {
    let payload = json!({ "text": "hi" });
    let csms = demo::CsmsService(Nothing);
    for action in ["Hello", "DataTransfer", "Reset", "NoSuchAction"] {
        let e = csms
            .call("CS1", action, Payload::new(payload.clone()))
            .await
            .expect_err("not supported");
        assert_eq!(e, CallError::not_supported(action));
    }
    let station = demo::ChargingStationService(Nothing);
    for action in ["Reset", "Hello"] {
        let e = station
            .call("CS1", action, Payload::new(payload.clone()))
            .await
            .expect_err("not supported");
        assert_eq!(e, CallError::not_supported(action));
    }
    let e = csms_only::CsmsService(Nothing)
        .call("CS1", "ClearCache", Payload::new(payload.clone()))
        .await
        .expect_err("not supported");
    assert_eq!(e, CallError::not_supported("ClearCache"));
    let e = empty::ChargingStationService(Nothing)
        .call("CS1", "Anything", Payload::new(payload))
        .await
        .expect_err("not supported");
    assert_eq!(e, CallError::not_supported("Anything"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implemented_async_fn_is_called_through_the_service_on_another_thread() {
    use demo::CsmsHandler as _;

    let app = App::default();
    let future = app.on_hello("CS1", text("hi"));
    assert_send(&future);
    assert_eq!(future.await.expect("hello").text, "hello CS1, you said hi");

    let service = Arc::new(demo::CsmsService(App::default()));
    let call = service.call("CS1", "Hello", Payload::new(json!({ "text": "hi" })));
    assert_send(&call);
    drop(call);

    let handle = tokio::spawn({
        let service = Arc::clone(&service);
        async move {
            service
                .call("CS 7", "Hello", Payload::new(json!({ "text": "there" })))
                .await
        }
    });
    let result: Value = handle.await.expect("task").expect("CALLRESULT");
    assert_eq!(result, json!({ "text": "hello CS 7, you said there" }));

    // A handler's CallError is the service's answer.
    let e = service
        .call("CS1", "DataTransfer", Payload::new(json!({ "text": "x" })))
        .await
        .expect_err("handler error");
    assert_eq!(e.code, ErrorCode::SecurityError);

    // A payload the Rust type cannot hold (validation is the dispatcher's job) is a CallError,
    // not a panic.
    let e = service
        .call("CS1", "Hello", Payload::new(json!({ "text": 5 })))
        .await
        .expect_err("undecodable");
    assert_eq!(e.code, ErrorCode::GenericError);

    assert_eq!(
        *service.0.log.lock().expect("log lock"),
        ["CS 7: Hello there", "CS1: DataTransfer x"]
    );
}

#[tokio::test]
async fn charging_station_service_calls_handlers_without_the_station_id() {
    let service = demo::ChargingStationService(Station);
    let result = service
        .call("ignored", "Reset", Payload::new(json!({ "text": "now" })))
        .await
        .expect("CALLRESULT");
    assert_eq!(result, json!({}));
    let result = service
        .call(
            "ignored",
            "DataTransfer",
            Payload::new(json!({ "text": "abc" })),
        )
        .await
        .expect("CALLRESULT");
    assert_eq!(result, json!({ "text": "ABC" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arc_forwards_so_one_app_serves_several_blocks() {
    use demo::CsmsHandler as _;

    let app = Arc::new(App::default());
    let response = app.on_hello("CS1", text("via arc")).await.expect("hello");
    assert_eq!(response.text, "hello CS1, you said via arc");

    let demo_service = demo::CsmsService(Arc::clone(&app));
    let csms_only_service = csms_only::CsmsService(Arc::clone(&app));
    let result = tokio::spawn(async move {
        demo_service
            .call("CS2", "Hello", Payload::new(json!({ "text": "spawned" })))
            .await
    })
    .await
    .expect("task")
    .expect("CALLRESULT");
    assert_eq!(result, json!({ "text": "hello CS2, you said spawned" }));
    assert!(csms_only_service.actions().is_empty());

    // Both services fit one CSMS dispatcher.
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(demo::CsmsService(Arc::clone(&app)))
        .with(csms_only::CsmsService(Arc::clone(&app)));
    assert_eq!(dispatcher.role(), Role::Csms);

    assert_eq!(
        *app.log.lock().expect("log lock"),
        ["CS1: Hello via arc", "CS2: Hello spawned"]
    );
}

#[test]
#[should_panic(expected = "a ChargingStation service was added to a Csms dispatcher")]
fn a_service_of_the_other_role_is_refused_by_the_dispatcher() {
    let _ = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(demo::ChargingStationService(Nothing));
}

#[tokio::test]
async fn both_initiated_actions_are_in_both_handler_traits() {
    let csms = demo::CsmsHandler::on_data_transfer(&App::default(), "CS1", text("x")).await;
    assert_eq!(csms.expect_err("refused").code, ErrorCode::SecurityError);
    let station = demo::ChargingStationHandler::on_data_transfer(&Station, text("x")).await;
    assert_eq!(station.expect("answered").text, "X");
    assert!(demo::CsmsService(Nothing)
        .actions()
        .contains(&"DataTransfer"));
    assert!(demo::ChargingStationService(Nothing)
        .actions()
        .contains(&"DataTransfer"));
}
