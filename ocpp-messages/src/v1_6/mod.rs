//! OCPP 1.6 (OCPP-J 1.6 with the security extension), generated from `schemas/v1_6` by
//! `cargo xtask codegen`.
//!
//! Each feature profile of OCPP 1.6 section 3 is a module ([`core`], [`firmware`],
//! [`localauth`], [`reservation`], [`smartcharging`], [`remotetrigger`]), and the 11 messages of
//! the security extension ("Improved security for OCPP 1.6-J") are [`security`]; types used by
//! several of them are in [`types`]. 1.6 calls the two ends "Charge Point" and "Central
//! System", and so do the handler traits: a central system implements each block's
//! `CentralSystemHandler` and serves it with `CentralSystemService`; a charge point implements
//! `ChargePointHandler` and serves it with `ChargePointService`. A 1.6 dispatcher is
//! `Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM)` (or `Role::CHARGE_POINT`), and
//! refuses the services of other versions.
//!
//! ```
//! use ocpp_messages::rpc::Dispatcher;
//! use ocpp_messages::v1_6::core::{
//!     self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus,
//! };
//! use ocpp_messages::{CallError, DateTime, OcppVersion, Role};
//!
//! struct CentralSystem;
//!
//! impl core::CentralSystemHandler for CentralSystem {
//!     async fn on_boot_notification(
//!         &self,
//!         charge_point: &str,
//!         request: BootNotificationRequest,
//!     ) -> Result<BootNotificationResponse, CallError> {
//!         println!("{charge_point} is a {}", request.charge_point_model);
//!         Ok(BootNotificationResponse::new(RegistrationStatus::Accepted, DateTime::now(), 300))
//!     }
//! }
//!
//! let dispatcher = Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM)
//!     .with(core::CentralSystemService(CentralSystem));
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let frame = r#"[2,"1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M1"}]"#;
//! let reply = dispatcher.handle("CP-1", frame).await.unwrap();
//! assert!(reply.starts_with(r#"[3,"1",{"status":"Accepted","currentTime":"#));
//!
//! // 1.6's error codes, in 1.6's spelling: a missing member is a ProtocolError.
//! let reply = dispatcher.handle("CP-1", r#"[2,"2","BootNotification",{}]"#).await;
//! assert!(reply.unwrap().starts_with(r#"[4,"2","ProtocolError","#));
//! # });
//! ```
//!
//! # Names
//!
//! The core schemas of 1.6 write their enums and nested objects inline, without names. Each is
//! named after its type in OCPP 1.6 section 7 through the `[inline]` table of
//! `schemas/v1_6.toml`, with the rule of 2.0.1 (without `Type`): `ChargePointStatus`,
//! `ChargePointErrorCode`, `Measurand`, [`IdTagInfo`](types::IdTagInfo),
//! `ChargingProfileKindType` as `ChargingProfileKind`. Where the same type appears in several
//! schemas, it is one Rust type, and the generator checks that the schemas agree. They disagree
//! once: StopTransaction's `transactionData` lacks the `Hertz` unit that MeterValues has, so its
//! types are [`TransactionData`](core::TransactionData),
//! [`TransactionSampledValue`](core::TransactionSampledValue) and
//! [`TransactionUnitOfMeasure`](core::TransactionUnitOfMeasure).
//!
//! The security extension names its own types (`CertificateHashDataType` is
//! [`CertificateHashData`](types::CertificateHashData)); three that would take a core type's
//! name keep their `Enum`: [`FirmwareStatusEnum`](security::FirmwareStatusEnum),
//! [`MessageTriggerEnum`](security::MessageTriggerEnum) and
//! [`TriggerMessageStatusEnum`](security::TriggerMessageStatusEnum).
//!
//! # Drafts
//!
//! The 28 core actions' schemas are JSON Schema draft-04, the security extension's draft-06,
//! and each message follows its own: in a core message `5.0` is not an integer (draft-04: a
//! number written without a fraction or exponent), in a security extension message it is.
//! `multipleOf: 0.1` (charging rate limits) is decided in decimal: `0.3` is a multiple, `0.05`
//! and `1.55` are not.

// Generated code is formatted by prettyplease, not rustfmt; see `cargo xtask codegen`.
#[rustfmt::skip]
mod generated;

pub use generated::*;

pub mod vendor;
