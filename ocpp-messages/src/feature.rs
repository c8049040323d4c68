//! Layer 6, feature metadata: which action a message pair belongs to, who may send it, and the
//! message types' schemas and codecs as values.

use serde_json::Value;

use crate::codec::{fast_reencode, reencode, to_checked_text, Codec, Mode};
use crate::spec::CallError;
use crate::validate::{HasSchema, Schema, Violation, ViolationKind, Violations};
use crate::wire::{call_payload, result_payload};

/// Who initiates an action: the side that sends its CALL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Initiator {
    /// Only the charging station sends this action (the CSMS answers it).
    ChargingStation,
    /// Only the CSMS sends this action (the charging station answers it).
    Csms,
    /// Either side may send this action (for example `DataTransfer`).
    Both,
}

impl Initiator {
    /// Whether a CALL of this action may be sent by `sender`.
    pub const fn may_be_sent_by(self, sender: Role) -> bool {
        matches!(
            (self, sender),
            (Initiator::Both, _)
                | (Initiator::ChargingStation, Role::ChargingStation)
                | (Initiator::Csms, Role::Csms)
        )
    }
}

/// One end of an OCPP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The charging station (the WebSocket client).
    ChargingStation,
    /// The Charging Station Management System (the WebSocket server).
    Csms,
}

impl Role {
    /// OCPP 1.6's name for the charging station: the Charge Point.
    pub const CHARGE_POINT: Role = Role::ChargingStation;

    /// OCPP 1.6's name for the CSMS: the Central System.
    pub const CENTRAL_SYSTEM: Role = Role::Csms;

    /// The other end of the connection.
    pub const fn peer(self) -> Role {
        match self {
            Role::ChargingStation => Role::Csms,
            Role::Csms => Role::ChargingStation,
        }
    }
}

/// A message payload type (a request or a response) generated from an OCPP schema.
///
/// Every payload type carries the schema it was generated from and a strict codec (see
/// [`Codec`]), so it is decoded and encoded exactly as the schema says. Decode payload text
/// with [`Message::from_json_str`]: one pass from text to the typed value on the happy path,
/// and the validator's full report when the payload is invalid.
///
/// ```
/// use ocpp_messages::Message;
/// use ocpp_messages::v2_0_1::security::SignCertificateRequest;
///
/// let ok = SignCertificateRequest::from_json_str(r#"{"csr":"PEM"}"#).unwrap();
/// assert_eq!(ok.to_json_string().unwrap(), r#"{"csr":"PEM"}"#);
/// let errors = SignCertificateRequest::from_json_str(r#"{"csr":null}"#).unwrap_err();
/// assert_eq!(errors[0].pointer, "/csr");
/// ```
pub trait Message: Codec + Send + 'static {
    /// Decodes payload text: straight to the typed value when it is valid, else every
    /// violation (the validator's report on the same text).
    fn from_json_str(text: &str) -> Result<Self, Violations> {
        if let Ok(value) = serde_json::from_str(text) {
            return Ok(value);
        }
        let value: Value = serde_json::from_str(text).map_err(|e| {
            Violations::one(Violation {
                pointer: String::new(),
                kind: ViolationKind::NotJson(e.to_string()),
            })
        })?;
        Self::from_json(value)
    }

    /// Validates `payload` against the schema and decodes it. Returns every violation when it
    /// is invalid.
    fn from_json(payload: Value) -> Result<Self, Violations> {
        Violations::check(crate::validate::validate(Self::SCHEMA, &payload))?;
        crate::codec::decode(payload, Mode::Strict)
            .map_err(|e| Violations::unrepresentable(e.description))
    }

    /// Encodes the payload as JSON text, after checking it against the schema on the typed
    /// value (a value built in Rust can break limits the types do not express, such as a
    /// string's `maxLength`).
    fn to_json_string(&self) -> Result<String, Violations> {
        to_checked_text(self)
    }

    /// Encodes the payload as a JSON value and validates the result against the schema.
    fn to_json(&self) -> Result<Value, Violations> {
        let value =
            serde_json::to_value(self).map_err(|e| Violations::unrepresentable(e.to_string()))?;
        Violations::check(crate::validate::validate(Self::SCHEMA, &value))?;
        Ok(value)
    }
}

/// Metadata of one OCPP action: its name, its message types and who initiates it.
///
/// Implemented by the unit structs the generator declares for each action (for example
/// `ocpp_messages::v2_0_1::security::SignCertificateFeature`), through
/// `#[derive(Feature)]`.
pub trait Feature {
    /// The action name as it appears in a CALL frame, e.g. `"SignCertificate"`.
    const NAME: &'static str;
    /// The CALL payload type.
    type Request: Message;
    /// The CALLRESULT payload type.
    type Response: Message;
    /// Who sends the CALL.
    const INITIATOR: Initiator;
    /// Whether the action is a SEND (OCPP 2.1, message type 6): sent as `[6, id, action,
    /// payload]` and never answered; its `Response` is [`NoResponse`].
    const SEND: bool = false;
    /// The same metadata as a value, for tables and registries.
    const INFO: FeatureInfo = FeatureInfo {
        name: Self::NAME,
        initiator: Self::INITIATOR,
        send: Self::SEND,
        request: <Self::Request as HasSchema>::SCHEMA,
        response: <Self::Response as HasSchema>::SCHEMA,
        reencode_request: reencode::<Self::Request>,
        reencode_response: reencode::<Self::Response>,
        fast_reencode_request: fast_reencode::<Self::Request>,
        fast_reencode_response: fast_reencode::<Self::Response>,
        call_is_valid: call_is_valid::<Self::Request>,
        result_is_valid: result_is_valid::<Self::Response>,
    };
}

/// The metadata of a [`Feature`] as a value (made only by [`Feature::INFO`]).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct FeatureInfo {
    /// The action name, e.g. `"SignCertificate"`.
    pub name: &'static str,
    /// Who sends the CALL.
    pub initiator: Initiator,
    /// Whether the action is a SEND (OCPP 2.1, message type 6), never answered.
    pub send: bool,
    /// The schema the CALL payload must satisfy.
    pub request: &'static Schema,
    /// The schema the CALLRESULT payload must satisfy.
    pub response: &'static Schema,
    /// Decodes a valid request payload into its Rust type in a [`Mode`] and encodes it back.
    pub reencode_request: fn(Value, Mode) -> Result<Value, CallError>,
    /// Decodes a valid response payload into its Rust type in a [`Mode`] and encodes it back.
    pub reencode_response: fn(Value, Mode) -> Result<Value, CallError>,
    /// Decodes request payload text on the fast path and encodes it back (`None` when the fast
    /// path rejects it), for differential tests.
    #[doc(hidden)]
    pub fast_reencode_request: fn(&str) -> Option<Value>,
    /// As `fast_reencode_request`, for the response.
    #[doc(hidden)]
    pub fast_reencode_response: fn(&str) -> Option<Value>,
    /// Whether a CALL frame's text is well-formed and its payload a valid request, in one pass
    /// over the text (`false` says only that the slow path must decide).
    pub call_is_valid: fn(&str) -> bool,
    /// Whether a CALLRESULT frame's text is well-formed and its payload a valid response, as
    /// `call_is_valid`.
    pub result_is_valid: fn(&str) -> bool,
}

fn call_is_valid<T: Codec>(frame: &str) -> bool {
    call_payload::<T>(frame).is_some()
}

fn result_is_valid<T: Codec>(frame: &str) -> bool {
    result_payload::<T>(frame).is_some()
}

/// The "response" of a SEND action (OCPP 2.1, message type 6): there is none, a SEND is never
/// answered. It exists so that a SEND's [`Feature`] has a `Response` type; nothing ever
/// encodes or decodes one on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, crate::Codec)]
pub struct NoResponse {}

impl Message for NoResponse {}

/// A functional block ("profile"): its name and the metadata of its features.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// The block's module name, e.g. `"security"`.
    pub name: &'static str,
    /// The block's features, sorted by action name.
    pub features: &'static [FeatureInfo],
}

impl Profile {
    /// The feature with the given action name, if this block defines it.
    pub fn feature(&self, action: &str) -> Option<&'static FeatureInfo> {
        self.features.iter().find(|f| f.name == action)
    }
}
