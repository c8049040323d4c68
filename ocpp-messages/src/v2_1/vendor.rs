//! Typed vendor messages over OCPP 2.1's `DataTransfer`: [`crate::vendor`] for the messages
//! of the [`data`] block.
//!
//! OCPP leaves the `data` of a `DataTransfer` to the vendor. Declare each vendor message once as
//! a [`VendorMessage`] (its `vendorId`, its `messageId` and the Rust types of the request's and
//! the response's `data`, which derive [`Codec`](crate::Codec) and so carry their own schema),
//! register a typed handler for it on a [`DataTransferRouter`], and serve the router as the
//! `data` block's handler. The router answers as the specification says:
//!
//! | the DataTransfer | the answer |
//! |---|---|
//! | a `vendorId` no message is registered for | `UnknownVendorId` |
//! | a known vendor, a `messageId` (or none) not registered for it | `UnknownMessageId` |
//! | a registered message whose `data` its type rejects | `Rejected`, with `statusInfo` `InvalidData` naming the first violation |
//! | a registered message with valid `data` | `Accepted` with the handler's response as `data` (a handler error is the CALLERROR) |
//!
//! `data` carries the vendor type's JSON as it is.
//!
//! ```
//! use ocpp_messages::v2_1::data::{self, DataTransferFeature, DataTransferStatus};
//! use ocpp_messages::v2_1::vendor::{self, DataTransferRouter, VendorMessage};
//! use ocpp_messages::rpc::Dispatcher;
//! use ocpp_messages::{Codec, OcppVersion, Role};
//!
//! /// `com.example` / `Temperature`: a station reports its cabinet temperature.
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
//!     .on::<Temperature, _, _>(|_station, reading: Reading| async move {
//!         Ok(Ack { fan: reading.celsius > 40.0 })
//!     });
//! let csms = Dispatcher::new(OcppVersion::V2_1, Role::Csms).with(data::CsmsService(router));
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let frame = r#"[2,"1","DataTransfer",{"vendorId":"com.example","messageId":"Temperature","data":{"celsius":45.5}}]"#;
//! assert_eq!(
//!     csms.handle("CS-1", frame).await.unwrap(),
//!     r#"[3,"1",{"status":"Accepted","data":{"fan":true}}]"#
//! );
//! // Data its type rejects never reaches the handler; `statusInfo` says why.
//! let frame = r#"[2,"2","DataTransfer",{"vendorId":"com.example","messageId":"Temperature","data":{"celsius":900}}]"#;
//! let reply = csms.handle("CS-1", frame).await.unwrap();
//! assert!(reply.starts_with(r#"[3,"2",{"status":"Rejected","statusInfo":{"reasonCode":"InvalidData","#));
//! # });
//!
//! // The other way: a typed request to send with `Session::call::<DataTransferFeature>`,
//! // and the typed data of its answer.
//! let request = vendor::request::<Temperature>(&Reading { celsius: 21.0 }).unwrap();
//! assert_eq!(request.vendor_id, "com.example");
//! let answer = data::DataTransferResponse::new(DataTransferStatus::Accepted)
//!     .with_data(serde_json::json!({"fan": false}));
//! assert_eq!(vendor::response::<Temperature>(answer).unwrap(), Ack { fan: false });
//! ```

use serde::Serialize;
use serde_json::Value;

use super::data::{
    self, DataTransferFeature, DataTransferRequest, DataTransferResponse, DataTransferStatus,
};
use super::types::StatusInfo;
use crate::validate::Violations;
use crate::vendor::{DataTransferTypes, Status};
use crate::CallError;

pub use crate::vendor::VendorMessage;

/// Why a 2.1 `DataTransfer` answer does not carry a vendor message's typed response:
/// [`crate::vendor::VendorError`] with 2.1's [`DataTransferStatus`].
pub type VendorError = crate::vendor::VendorError<DataTransferStatus>;

/// Routes 2.1 `DataTransfer` requests to typed handlers by `vendorId` and `messageId`; serve
/// it with `data::CsmsService(router)` or `data::ChargingStationService(router)`.
pub type DataTransferRouter = crate::vendor::DataTransferRouter<DataTransferFeature>;

/// The `DataTransfer` request carrying `data` as message `M`.
pub fn request<M: VendorMessage>(data: &M::Request) -> Result<DataTransferRequest, VendorError> {
    crate::vendor::request::<DataTransferFeature, M>(data)
}

/// The typed response `data` of an answer to message `M`.
pub fn response<M: VendorMessage>(
    answer: DataTransferResponse,
) -> Result<M::Response, VendorError> {
    crate::vendor::response::<DataTransferFeature, M>(answer)
}

/// 2.1's `DataTransfer`: `data` is any JSON value, and a rejection says why in `statusInfo`.
impl DataTransferTypes for DataTransferFeature {
    type Request = DataTransferRequest;
    type Response = DataTransferResponse;
    type Status = DataTransferStatus;
    type Data = Value;

    fn vendor_id(request: &DataTransferRequest) -> &str {
        &request.vendor_id
    }

    fn message_id(request: &DataTransferRequest) -> Option<&str> {
        request.message_id.as_deref()
    }

    fn into_data(request: DataTransferRequest) -> Option<Value> {
        request.data
    }

    fn request(vendor_id: &str, message_id: &str, data: Value) -> DataTransferRequest {
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

    fn response(status: Status, data: Option<Value>) -> DataTransferResponse {
        DataTransferResponse {
            data,
            ..DataTransferResponse::new(Self::status(status))
        }
    }

    fn invalid_data(reason: String) -> DataTransferResponse {
        DataTransferResponse::new(DataTransferStatus::Rejected)
            .with_status_info(StatusInfo::new("InvalidData").with_additional_info(reason))
    }

    fn into_answer(response: DataTransferResponse) -> (DataTransferStatus, Option<Value>) {
        (response.status, response.data)
    }

    fn encode<T: Serialize>(value: &T) -> Result<Value, serde_json::Error> {
        serde_json::to_value(value)
    }

    fn to_json(data: Value) -> Result<Value, Violations> {
        Ok(data)
    }
}

impl data::CsmsHandler for DataTransferRouter {
    async fn on_data_transfer(
        &self,
        charging_station_id: &str,
        request: DataTransferRequest,
    ) -> Result<DataTransferResponse, CallError> {
        self.route(Some(charging_station_id), request).await
    }
}

impl data::ChargingStationHandler for DataTransferRouter {
    async fn on_data_transfer(
        &self,
        request: DataTransferRequest,
    ) -> Result<DataTransferResponse, CallError> {
        self.route(None, request).await
    }
}
