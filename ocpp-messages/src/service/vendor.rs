//! Typed vendor messages over `DataTransfer`, written once for every OCPP version.
//!
//! OCPP leaves the `data` of a `DataTransfer` to the vendor. Declare each vendor message once as
//! a [`VendorMessage`] (its `vendorId`, its `messageId` and the Rust types of the request's and
//! the response's `data`, which derive [`Codec`] and so carry their own schema), register a
//! typed handler for it on a [`DataTransferRouter`], and serve the router as the handler of the
//! block that has `DataTransfer` (`data` in 2.0.1 and 2.1, `core` in 1.6). The router answers
//! as the specification says:
//!
//! | the DataTransfer | the answer |
//! |---|---|
//! | a `vendorId` no message is registered for | `UnknownVendorId` |
//! | a known vendor, a `messageId` (or none) not registered for it | `UnknownMessageId` |
//! | a registered message whose `data` its type rejects | `Rejected` (in 2.0.1 and 2.1 with `statusInfo` `InvalidData` naming the first violation; 1.6 has no `statusInfo`) |
//! | a registered message with valid `data` | `Accepted` with the handler's response as `data` (a handler error is the CALLERROR) |
//!
//! A [`VendorMessage`] belongs to no version: the same declaration serves a 1.6, a 2.0.1 and a
//! 2.1 connection. What differs between versions is only the shape of their `DataTransfer`
//! messages, which each version describes once by implementing [`DataTransferTypes`] for its
//! `DataTransferFeature`. In 2.0.1 and 2.1 `data` is any JSON value and carries the vendor
//! type's JSON as it is; in 1.6 `data` is a string, and carries the vendor type's JSON as text
//! (a string that is not JSON text is data the type rejects).
//!
//! Each version's `vendor` module (`v1_6::vendor`, `v2_0_1::vendor`, `v2_1::vendor`) names
//! this module's items for its own messages, with the handler implementations and a complete
//! example: `DataTransferRouter` is [`DataTransferRouter`] for that version, `VendorError` is
//! [`VendorError`] with that version's status, and `request`/`response` are [`request`] and
//! [`response`].

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::BoxFuture;
use crate::codec::{validate_value, Codec};
use crate::spec::CallError;
use crate::validate::{validate, Violations};

/// The longest reason [`DataTransferTypes::invalid_data`] is given, in characters: it fits the
/// `additionalInfo` of a `StatusInfo` (at most 512 characters in 2.0.1, 1024 in 2.1).
pub const MAX_REASON_CHARS: usize = 512;

/// One vendor-specific message carried by `DataTransfer`, in any version.
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

/// The statuses of a `DataTransfer` answer, which every version has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `Accepted`: the message was understood and handled.
    Accepted,
    /// `Rejected`: the message was refused (here: its `data` is not what its type accepts).
    Rejected,
    /// `UnknownMessageId`: the vendor is known, the `messageId` (or its absence) is not.
    UnknownMessageId,
    /// `UnknownVendorId`: no message of this `vendorId` is known.
    UnknownVendorId,
}

/// The `DataTransfer` of one OCPP version: its request and response types, how to read a
/// request and build a response, and how its `data` carries JSON.
///
/// Each version implements it for its `DataTransferFeature`; [`DataTransferRouter`],
/// [`request`] and [`response`] are written once over it.
pub trait DataTransferTypes: 'static {
    /// The `DataTransfer` CALL payload.
    type Request: Send + 'static;
    /// The `DataTransfer` CALLRESULT payload.
    type Response: Send + 'static;
    /// The version's `DataTransferStatus`.
    type Status: Copy + fmt::Debug + fmt::Display + PartialEq + Send + 'static;
    /// The type of the `data` member (a JSON value in 2.x, a string in 1.6).
    type Data: Send + 'static;

    /// The request's `vendorId`.
    fn vendor_id(request: &Self::Request) -> &str;
    /// The request's `messageId`, if it has one.
    fn message_id(request: &Self::Request) -> Option<&str>;
    /// The request's `data`, if it has one.
    fn into_data(request: Self::Request) -> Option<Self::Data>;
    /// A request of `vendor_id` and `message_id` carrying `data`.
    fn request(vendor_id: &str, message_id: &str, data: Self::Data) -> Self::Request;

    /// The version's spelling of `status`.
    fn status(status: Status) -> Self::Status;
    /// A response of `status`, carrying `data` if there is some.
    fn response(status: Status, data: Option<Self::Data>) -> Self::Response;
    /// The `Rejected` response to a request whose `data` its type rejects; `reason` says why
    /// in at most [`MAX_REASON_CHARS`] characters. By default `Rejected` without `data`; 2.x
    /// adds `statusInfo` with reasonCode `InvalidData` and `reason` as `additionalInfo`.
    fn invalid_data(reason: String) -> Self::Response {
        let _ = reason;
        Self::response(Status::Rejected, None)
    }
    /// The status and the `data` of a response.
    fn into_answer(response: Self::Response) -> (Self::Status, Option<Self::Data>);

    /// `value`'s JSON as `data`.
    fn encode<T: Serialize>(value: &T) -> Result<Self::Data, serde_json::Error>;
    /// The JSON that `data` carries, or why it carries none (1.6: the string is not JSON
    /// text).
    fn to_json(data: Self::Data) -> Result<Value, Violations>;
}

/// Why a `DataTransfer` answer does not carry a vendor message's typed response, or why a
/// typed request cannot be built; `S` is the version's `DataTransferStatus`.
#[derive(Debug, Clone, PartialEq)]
pub enum VendorError<S> {
    /// The peer answered with another status than `Accepted`.
    Status(S),
    /// The `data` is not what the message's type accepts (or, for a request being built, the
    /// typed value breaks its own constraints).
    Invalid(Violations),
}

impl<S: fmt::Display> fmt::Display for VendorError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VendorError::Status(status) => write!(f, "the peer answered {status}"),
            VendorError::Invalid(violations) => {
                write!(f, "the data violates its schema: {violations}")
            }
        }
    }
}

impl<S: fmt::Debug + fmt::Display> std::error::Error for VendorError<S> {}

/// The `DataTransfer` request of version `V` carrying `data` as message `M`.
pub fn request<V: DataTransferTypes, M: VendorMessage>(
    data: &M::Request,
) -> Result<V::Request, VendorError<V::Status>> {
    Ok(V::request(
        M::VENDOR_ID,
        M::MESSAGE_ID,
        encode::<V, _>(data)?,
    ))
}

/// The typed response `data` of version `V`'s answer to message `M`.
pub fn response<V: DataTransferTypes, M: VendorMessage>(
    answer: V::Response,
) -> Result<M::Response, VendorError<V::Status>> {
    match V::into_answer(answer) {
        (status, data) if status == V::status(Status::Accepted) => decode::<V, _>(data),
        (status, _) => Err(VendorError::Status(status)),
    }
}

fn unrepresentable<S>(e: &serde_json::Error) -> VendorError<S> {
    VendorError::Invalid(Violations::unrepresentable(e.to_string()))
}

fn encode<V: DataTransferTypes, T: Codec>(value: &T) -> Result<V::Data, VendorError<V::Status>> {
    validate_value(value).map_err(VendorError::Invalid)?;
    V::encode(value).map_err(|e| unrepresentable(&e))
}

/// Decodes `data` (absent: `null`) as `T`, as strictly as `T`'s schema.
fn decode<V: DataTransferTypes, T: Codec>(
    data: Option<V::Data>,
) -> Result<T, VendorError<V::Status>> {
    let json = match data {
        Some(data) => V::to_json(data).map_err(VendorError::Invalid)?,
        None => Value::Null,
    };
    Violations::check(validate(T::SCHEMA, &json)).map_err(VendorError::Invalid)?;
    serde_json::from_value(json).map_err(|e| unrepresentable(&e))
}

type Handler<V> = dyn Fn(
        Option<String>,
        Option<<V as DataTransferTypes>::Data>,
    ) -> BoxFuture<'static, Result<<V as DataTransferTypes>::Response, CallError>>
    + Send
    + Sync;

/// Routes the `DataTransfer` requests of version `V` to typed handlers by `vendorId` and
/// `messageId`, as the table in the [module docs](self) says. Each version's `vendor` module
/// names it `DataTransferRouter` for its own messages and implements its handler traits.
pub struct DataTransferRouter<V: DataTransferTypes> {
    vendors: BTreeMap<&'static str, BTreeMap<&'static str, Arc<Handler<V>>>>,
}

impl<V: DataTransferTypes> Clone for DataTransferRouter<V> {
    fn clone(&self) -> Self {
        Self {
            vendors: self.vendors.clone(),
        }
    }
}

impl<V: DataTransferTypes> Default for DataTransferRouter<V> {
    fn default() -> Self {
        Self {
            vendors: BTreeMap::new(),
        }
    }
}

impl<V: DataTransferTypes> fmt::Debug for DataTransferRouter<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

impl<V: DataTransferTypes> DataTransferRouter<V> {
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
        let erased = move |station: Option<String>,
                           data: Option<V::Data>|
              -> BoxFuture<'static, Result<V::Response, CallError>> {
            let request = match decode::<V, M::Request>(data) {
                Ok(request) => request,
                Err(e) => {
                    let reason = e.to_string().chars().take(MAX_REASON_CHARS).collect();
                    return Box::pin(std::future::ready(Ok(V::invalid_data(reason))));
                }
            };
            let future = handler(station, request);
            Box::pin(async move {
                let response = future.await?;
                let data = encode::<V, _>(&response).map_err(|e| {
                    CallError::internal(format!(
                        "the response to {}/{} {e}",
                        M::VENDOR_ID,
                        M::MESSAGE_ID
                    ))
                })?;
                Ok(V::response(Status::Accepted, Some(data)))
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
        request: V::Request,
    ) -> Result<V::Response, CallError> {
        let Some(messages) = self.vendors.get(V::vendor_id(&request)) else {
            return Ok(V::response(Status::UnknownVendorId, None));
        };
        let handler = V::message_id(&request).and_then(|id| messages.get(id));
        match handler {
            Some(handler) => handler(station.map(str::to_owned), V::into_data(request)).await,
            None => Ok(V::response(Status::UnknownMessageId, None)),
        }
    }
}
