//! Typed vendor messages over OCPP 1.6's `DataTransfer`: [`crate::vendor`] for the
//! `DataTransfer` of the [`core`] profile.
//!
//! OCPP leaves the `data` of a `DataTransfer` to the vendor. Declare each vendor message once as
//! a [`VendorMessage`] (its `vendorId`, its `messageId` and the Rust types of the request's and
//! the response's `data`, which derive [`Codec`](crate::Codec) and so carry their own schema),
//! register a typed handler for it on a [`DataTransferRouter`], and serve the router as the
//! `core` profile's handler (`core::CentralSystemService(router)` or
//! `core::ChargePointService(router)`; its other actions are then answered `NotSupported`), or
//! call [`route`](crate::vendor::DataTransferRouter::route) from the `on_data_transfer` of your
//! own `core` handler. The router answers as the specification says:
//!
//! | the DataTransfer | the answer |
//! |---|---|
//! | a `vendorId` no message is registered for | `UnknownVendorId` |
//! | a known vendor, a `messageId` (or none) not registered for it | `UnknownMessageId` |
//! | a registered message whose `data` its type rejects | `Rejected` (1.6 has no `statusInfo` to say why) |
//! | a registered message with valid `data` | `Accepted` with the handler's response as `data` (a handler error is the CALLERROR) |
//!
//! In 1.6 `data` is a string without a schema, so it carries the vendor type's JSON as text:
//! the typed value is encoded to JSON text, and a received string is parsed as JSON text and
//! then checked against the type's schema as strictly as a 2.x `data`. A string that is not
//! JSON text is data the type rejects.
//!
//! ```
//! use ocpp_messages::v1_6::core::{self, DataTransferFeature, DataTransferStatus};
//! use ocpp_messages::v1_6::vendor::{self, DataTransferRouter, VendorMessage};
//! use ocpp_messages::rpc::Dispatcher;
//! use ocpp_messages::{Codec, OcppVersion, Role};
//!
//! /// `com.example` / `Temperature`: a charge point reports its cabinet temperature.
//! struct Temperature;
//!
//! #[derive(Clone, Debug, PartialEq, Codec)]
//! pub struct Reading {
//!     #[ocpp(minimum = -50, maximum = 150)]
//!     pub celsius: f64,
//! }
//!
//! #[derive(Clone, Debug, PartialEq, Codec)]
//! pub struct Ack {
//!     pub fan: bool,
//! }
//!
//! impl VendorMessage for Temperature {
//!     const VENDOR_ID: &'static str = "com.example";
//!     const MESSAGE_ID: &'static str = "Temperature";
//!     type Request = Reading;
//!     type Response = Ack;
//! }
//!
//! let router = DataTransferRouter::new()
//!     .on::<Temperature, _, _>(|_charge_point, reading: Reading| async move {
//!         Ok(Ack { fan: reading.celsius > 40.0 })
//!     });
//! let central_system = Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM)
//!     .with(core::CentralSystemService(router));
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // The JSON of the vendor's types travels as text in the `data` string.
//! let frame = r#"[2,"1","DataTransfer",{"vendorId":"com.example","messageId":"Temperature","data":"{\"celsius\":45.5}"}]"#;
//! assert_eq!(
//!     central_system.handle("CP-1", frame).await.unwrap(),
//!     r#"[3,"1",{"status":"Accepted","data":"{\"fan\":true}"}]"#
//! );
//! // Text that is not JSON, or JSON the type rejects, is `Rejected`.
//! let frame = r#"[2,"2","DataTransfer",{"vendorId":"com.example","messageId":"Temperature","data":"hot"}]"#;
//! assert_eq!(central_system.handle("CP-1", frame).await.unwrap(), r#"[3,"2",{"status":"Rejected"}]"#);
//! # });
//!
//! // The other way: a typed request to send with `Session::call::<DataTransferFeature>`,
//! // and the typed data of its answer.
//! let request = vendor::request::<Temperature>(&Reading { celsius: 21.5 }).unwrap();
//! assert_eq!(request.data.as_deref(), Some(r#"{"celsius":21.5}"#));
//! let answer = core::DataTransferResponse::new(DataTransferStatus::Accepted)
//!     .with_data(r#"{"fan":false}"#);
//! assert_eq!(vendor::response::<Temperature>(answer).unwrap(), Ack { fan: false });
//! ```

use serde::Serialize;
use serde_json::Value;

use super::core::{
    self, DataTransferFeature, DataTransferRequest, DataTransferResponse, DataTransferStatus,
};
use crate::validate::{Violation, ViolationKind, Violations};
use crate::vendor::{DataTransferTypes, Status};
use crate::CallError;

pub use crate::vendor::VendorMessage;

/// Why a 1.6 `DataTransfer` answer does not carry a vendor message's typed response:
/// [`crate::vendor::VendorError`] with 1.6's [`DataTransferStatus`].
pub type VendorError = crate::vendor::VendorError<DataTransferStatus>;

/// Routes 1.6 `DataTransfer` requests to typed handlers by `vendorId` and `messageId`; serve
/// it with `core::CentralSystemService(router)` or `core::ChargePointService(router)`.
pub type DataTransferRouter = crate::vendor::DataTransferRouter<DataTransferFeature>;

/// The `DataTransfer` request carrying `data` as message `M`, its JSON as text.
pub fn request<M: VendorMessage>(data: &M::Request) -> Result<DataTransferRequest, VendorError> {
    crate::vendor::request::<DataTransferFeature, M>(data)
}

/// The typed response `data` of an answer to message `M`.
pub fn response<M: VendorMessage>(
    answer: DataTransferResponse,
) -> Result<M::Response, VendorError> {
    crate::vendor::response::<DataTransferFeature, M>(answer)
}

/// 1.6's `DataTransfer`: `data` is a string carrying JSON text, and a rejection does not say
/// why.
impl DataTransferTypes for DataTransferFeature {
    type Request = DataTransferRequest;
    type Response = DataTransferResponse;
    type Status = DataTransferStatus;
    type Data = String;

    fn vendor_id(request: &DataTransferRequest) -> &str {
        &request.vendor_id
    }

    fn message_id(request: &DataTransferRequest) -> Option<&str> {
        request.message_id.as_deref()
    }

    fn into_data(request: DataTransferRequest) -> Option<String> {
        request.data
    }

    fn request(vendor_id: &str, message_id: &str, data: String) -> DataTransferRequest {
        DataTransferRequest::new(vendor_id)
            .with_message_id(message_id)
            .with_data(data)
    }

    fn status(status: Status) -> DataTransferStatus {
        match status {
            Status::Accepted => DataTransferStatus::Accepted,
            Status::Rejected => DataTransferStatus::Rejected,
            Status::UnknownMessageId => DataTransferStatus::UnknownMessageId,
            Status::UnknownVendorId => DataTransferStatus::UnknownVendorId,
        }
    }

    fn response(status: Status, data: Option<String>) -> DataTransferResponse {
        DataTransferResponse {
            status: Self::status(status),
            data,
        }
    }

    fn into_answer(response: DataTransferResponse) -> (DataTransferStatus, Option<String>) {
        (response.status, response.data)
    }

    fn encode<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }

    fn to_json(data: String) -> Result<Value, Violations> {
        serde_json::from_str(&data).map_err(|e| {
            Violations::one(Violation {
                pointer: String::new(),
                kind: ViolationKind::NotJson(e.to_string()),
            })
        })
    }
}

impl core::CentralSystemHandler for DataTransferRouter {
    async fn on_data_transfer(
        &self,
        charging_station_id: &str,
        request: DataTransferRequest,
    ) -> Result<DataTransferResponse, CallError> {
        self.route(Some(charging_station_id), request).await
    }
}

impl core::ChargePointHandler for DataTransferRouter {
    async fn on_data_transfer(
        &self,
        request: DataTransferRequest,
    ) -> Result<DataTransferResponse, CallError> {
        self.route(None, request).await
    }
}
