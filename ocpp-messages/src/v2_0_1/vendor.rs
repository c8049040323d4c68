//! Typed vendor messages over `DataTransfer`.
//!
//! OCPP leaves the `data` of a `DataTransfer` to the vendor. Declare each vendor message once as
//! a [`VendorMessage`] (its `vendorId`, its `messageId` and the Rust types of the request's and
//! the response's `data`, which derive [`Codec`] and so carry their own schema),
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
//! ```
//! use ocpp_messages::v2_0_1::data::{self, DataTransferFeature, DataTransferStatus};
//! use ocpp_messages::v2_0_1::vendor::{self, DataTransferRouter, VendorMessage};
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
//! let csms = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with(data::CsmsService(router));
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let frame = r#"[2,"1","DataTransfer",{"vendorId":"com.example","messageId":"Temperature","data":{"celsius":45.5}}]"#;
//! assert_eq!(
//!     csms.handle("CS-1", frame).await.unwrap(),
//!     r#"[3,"1",{"status":"Accepted","data":{"fan":true}}]"#
//! );
//! let frame = r#"[2,"2","DataTransfer",{"vendorId":"org.other"}]"#;
//! assert_eq!(csms.handle("CS-1", frame).await.unwrap(), r#"[3,"2",{"status":"UnknownVendorId"}]"#);
//! # });
//!
//! // The other way: a typed request to send with `PendingCalls::call::<DataTransferFeature>`,
//! // and the typed data of its answer.
//! let request = vendor::request::<Temperature>(&Reading { celsius: 21.0 }).unwrap();
//! assert_eq!(request.vendor_id, "com.example");
//! let answer = data::DataTransferResponse::new(DataTransferStatus::Accepted)
//!     .with_data(serde_json::json!({"fan": false}));
//! assert_eq!(vendor::response::<Temperature>(answer).unwrap(), Ack { fan: false });
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use serde_json::Value;

use super::data::{self, DataTransferRequest, DataTransferResponse, DataTransferStatus};
use super::types::StatusInfo;
use crate::codec::Codec;
use crate::service::BoxFuture;
use crate::spec::CallError;
use crate::validate::{validate, Violations};

/// One vendor-specific message carried by `DataTransfer`.
pub trait VendorMessage: 'static {
    /// The `vendorId` (at most 255 characters).
    const VENDOR_ID: &'static str;
    /// The `messageId` (at most 50 characters).
    const MESSAGE_ID: &'static str;
    /// The `data` of the request.
    type Request: Codec + Send + 'static;
    /// The `data` of the response.
    type Response: Codec + Send + 'static;
}

/// Why a `DataTransfer` answer does not carry a vendor message's typed response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VendorError {
    /// The peer answered with another status than `Accepted`.
    #[error("the peer answered {0}")]
    Status(DataTransferStatus),
    /// The `data` is not what the message's type accepts (or, for a request being built, the
    /// typed value breaks its own constraints).
    #[error("the data violates its schema: {0}")]
    Invalid(Violations),
}

/// The `DataTransfer` request carrying `data` as message `M`.
pub fn request<M: VendorMessage>(data: &M::Request) -> Result<DataTransferRequest, VendorError> {
    Ok(DataTransferRequest::new(M::VENDOR_ID)
        .with_message_id(M::MESSAGE_ID)
        .with_data(encode(data)?))
}

/// The typed response `data` of an answer to message `M`.
pub fn response<M: VendorMessage>(
    answer: DataTransferResponse,
) -> Result<M::Response, VendorError> {
    match answer.status {
        DataTransferStatus::Accepted => decode(answer.data.unwrap_or(Value::Null)),
        status => Err(VendorError::Status(status)),
    }
}

fn unrepresentable(e: &serde_json::Error) -> VendorError {
    VendorError::Invalid(Violations::unrepresentable(e.to_string()))
}

fn encode<T: Codec>(value: &T) -> Result<Value, VendorError> {
    crate::codec::validate_value(value).map_err(VendorError::Invalid)?;
    serde_json::to_value(value).map_err(|e| unrepresentable(&e))
}

fn decode<T: Codec>(data: Value) -> Result<T, VendorError> {
    Violations::check(validate(T::SCHEMA, &data)).map_err(VendorError::Invalid)?;
    serde_json::from_value(data).map_err(|e| unrepresentable(&e))
}

type Handler = dyn Fn(Option<String>, Value) -> BoxFuture<'static, Result<DataTransferResponse, CallError>>
    + Send
    + Sync;

/// Routes `DataTransfer` requests to typed handlers by `vendorId` and `messageId`; serve it
/// with `data::CsmsService(router)` or `data::ChargingStationService(router)`.
#[derive(Clone, Default)]
pub struct DataTransferRouter {
    vendors: BTreeMap<&'static str, BTreeMap<&'static str, Arc<Handler>>>,
}

impl std::fmt::Debug for DataTransferRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let messages: Vec<(&str, &str)> = self
            .vendors
            .iter()
            .flat_map(|(v, ms)| ms.keys().map(move |m| (*v, *m)))
            .collect();
        f.debug_struct("DataTransferRouter")
            .field("messages", &messages)
            .finish()
    }
}

impl DataTransferRouter {
    /// A router that knows no vendor: every `DataTransfer` is answered `UnknownVendorId`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the handler of message `M`; a later registration of the same message
    /// replaces it. The handler gets the id of the charging station that sent the message
    /// (`None` on the charging station's side, where the CSMS sent it) and the typed `data`.
    #[must_use]
    pub fn on<M, F, Fut>(mut self, handler: F) -> Self
    where
        M: VendorMessage,
        F: Fn(Option<String>, M::Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<M::Response, CallError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let erased = move |station: Option<String>,
                           data: Value|
              -> BoxFuture<'static, Result<DataTransferResponse, CallError>> {
            let request = match decode::<M::Request>(data) {
                Ok(request) => request,
                Err(e) => {
                    let reason: String = e.to_string().chars().take(512).collect();
                    let answer = DataTransferResponse::new(DataTransferStatus::Rejected)
                        .with_status_info(
                            StatusInfo::new("InvalidData").with_additional_info(reason),
                        );
                    return Box::pin(async move { Ok(answer) });
                }
            };
            let future = handler(station, request);
            Box::pin(async move {
                let response = future.await?;
                let data = encode(&response).map_err(|e| {
                    CallError::internal(format!(
                        "the response to {}/{} {e}",
                        M::VENDOR_ID,
                        M::MESSAGE_ID
                    ))
                })?;
                Ok(DataTransferResponse::new(DataTransferStatus::Accepted).with_data(data))
            })
        };
        self.vendors
            .entry(M::VENDOR_ID)
            .or_default()
            .insert(M::MESSAGE_ID, Arc::new(erased));
        self
    }

    /// The answer to `request` from `station` (`None`: from the CSMS), as the table in the
    /// [module docs](self) says.
    pub async fn route(
        &self,
        station: Option<&str>,
        request: DataTransferRequest,
    ) -> Result<DataTransferResponse, CallError> {
        let Some(messages) = self.vendors.get(request.vendor_id.as_str()) else {
            return Ok(DataTransferResponse::new(
                DataTransferStatus::UnknownVendorId,
            ));
        };
        let handler = request
            .message_id
            .as_deref()
            .and_then(|id| messages.get(id));
        match handler {
            Some(handler) => {
                let station = station.map(str::to_owned);
                handler(station, request.data.unwrap_or(Value::Null)).await
            }
            None => Ok(DataTransferResponse::new(
                DataTransferStatus::UnknownMessageId,
            )),
        }
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
