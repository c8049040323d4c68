//! OCPP 2.1, generated from `schemas/v2_1` by `cargo xtask codegen`.
//!
//! Same shape as [`v2_0_1`](crate::v2_0_1): one module per functional block of OCPP 2.1
//! Part 2, shared definitions in [`types`], `CsmsHandler`/`ChargingStationHandler` traits and
//! their services. 2.1 reuses 2.0.1's definition names, but 58 of the 140 names both versions
//! have differ in structure (`cargo xtask schema-diff 2.0.1 2.1` lists every difference), so
//! this is its own module, not 2.0.1 with additions.
//!
//! | block | OCPP 2.1 Part 2 | new in 2.1 |
//! |---|---|---|
//! | [`security`] | A Security | |
//! | [`provisioning`] | B Provisioning | |
//! | [`authorization`] | C Authorization | ad hoc payment: NotifySettlement, NotifyWebPaymentStarted, VatNumberValidation |
//! | [`localauth`] | D LocalAuthorizationListManagement | |
//! | [`transactions`] | E Transactions | |
//! | [`remotecontrol`] | F RemoteControl | |
//! | [`availability`] | G Availability | |
//! | [`reservation`] | H Reservation | |
//! | [`tariffcost`] | I TariffAndCost | SetDefaultTariff, GetTariffs, ClearTariffs, ChangeTransactionTariff |
//! | [`meter`] | J MeterValues | |
//! | [`smartcharging`] | K SmartCharging | PullDynamicScheduleUpdate, UpdateDynamicSchedule, NotifyPriorityCharging, UsePriorityCharging |
//! | [`firmware`] | L FirmwareManagement | |
//! | [`iso15118`] | M ISO 15118 CertificateManagement | GetCertificateChainStatus |
//! | [`diagnostics`] | N Diagnostics | periodic event streams: Open/Close/Get/AdjustPeriodicEventStream, and the SEND NotifyPeriodicEventStream |
//! | [`display`] | O DisplayMessage | |
//! | [`data`] | P DataTransfer | |
//! | [`bidirectional`] | Q BidirectionalPowerTransfer | new: AFRRSignal, NotifyAllowedEnergyTransfer |
//! | [`dercontrol`] | R DERControl | new: DER controls, alarms and reports |
//! | [`batteryswap`] | S BatterySwapping | new: BatterySwap, RequestBatterySwap |
//!
//! # The RPC framework of 2.1
//!
//! OCPP 2.1 Part 4 adds two message types, and the dispatcher of a 2.1 connection handles both:
//!
//! - **SEND** (type 6), `[6, id, action, payload]`: a message that is never answered.
//!   `NotifyPeriodicEventStream` is the one SEND action; its handler method returns nothing,
//!   and nothing is sent back, not even for an invalid one (a
//!   [`Session`](crate::rpc::Session) says what became of it in its
//!   [`Event`](crate::rpc::Event)); [`Session::send`](crate::rpc::Session::send) writes one.
//! - **CALLRESULTERROR** (type 5), `[5, id, code, description, details]`: the answer to a
//!   CALLRESULT whose payload is invalid, with that CALLRESULT's id.
//!   [`Session::receive`](crate::rpc::Session::receive) returns it as the reply to an invalid
//!   answer, and reports one received from the peer as
//!   [`Event::ResultError`](crate::rpc::Event::ResultError).
//! - A message type number 2.1 does not define is ignored (Part 4 §4.1.3 and §4.4).
//!
//! # Numbers
//!
//! Where 2.1 has a JSON `number` (163 members, 9 of them integers in 2.0.1), the Rust type is
//! `f64`, decoded correctly rounded: every value written with up to 15 significant digits, and
//! every integer up to 2^53, comes back with the same value and the same shortest text. An
//! `integer` member is `i64`. Bounds (`minimum`/`maximum`) are checked on the value.

// Generated code is formatted by prettyplease, not rustfmt; see `cargo xtask codegen`.
#[rustfmt::skip]
mod generated;

pub use generated::*;

pub mod vendor;
