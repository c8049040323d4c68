//! Plain serde mirrors of three OCPP 2.0.1 requests, for the benchmarks' floor.
//!
//! These are deliberately NOT the generated types of `ocpp_messages`: those are about to
//! validate while they decode (strict `Deserialize`), and the floor must stay plain
//! `serde_json::from_str` with no validation at all. The shapes follow
//! `schemas/v2_0_1/{SecurityEventNotification,SignCertificate,TransactionEvent}Request.json`
//! with the same Rust types the generated code uses (`String` for strings and date-times,
//! `i64`, `f64`, `bool`, `Option` for optional members, `Vec` with `default` for optional
//! arrays, `customData` extras kept through `#[serde(flatten)]` into a `serde_json::Map`, enums
//! as plain serde enums). No `deny_unknown_fields`, no length, format or range checks.
#![allow(dead_code, clippy::upper_case_acronyms)]

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct CustomData {
    #[serde(rename = "vendorId")]
    pub vendor_id: String,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct SecurityEventNotificationRequest {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    #[serde(rename = "type")]
    pub type_: String,
    pub timestamp: String,
    #[serde(rename = "techInfo")]
    pub tech_info: Option<String>,
}

#[derive(Debug, Deserialize)]
pub enum CertificateSigningUse {
    ChargingStationCertificate,
    V2GCertificate,
}

#[derive(Debug, Deserialize)]
pub struct SignCertificateRequest {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    pub csr: String,
    #[serde(rename = "certificateType")]
    pub certificate_type: Option<CertificateSigningUse>,
}

#[derive(Debug, Deserialize)]
pub enum TransactionEvent {
    Ended,
    Started,
    Updated,
}

#[derive(Debug, Deserialize)]
pub enum ReadingContext {
    #[serde(rename = "Interruption.Begin")]
    InterruptionBegin,
    #[serde(rename = "Interruption.End")]
    InterruptionEnd,
    Other,
    #[serde(rename = "Sample.Clock")]
    SampleClock,
    #[serde(rename = "Sample.Periodic")]
    SamplePeriodic,
    #[serde(rename = "Transaction.Begin")]
    TransactionBegin,
    #[serde(rename = "Transaction.End")]
    TransactionEnd,
    Trigger,
}

#[derive(Debug, Deserialize)]
pub enum Measurand {
    #[serde(rename = "Current.Export")]
    CurrentExport,
    #[serde(rename = "Current.Import")]
    CurrentImport,
    #[serde(rename = "Current.Offered")]
    CurrentOffered,
    #[serde(rename = "Energy.Active.Export.Register")]
    EnergyActiveExportRegister,
    #[serde(rename = "Energy.Active.Import.Register")]
    EnergyActiveImportRegister,
    #[serde(rename = "Energy.Reactive.Export.Register")]
    EnergyReactiveExportRegister,
    #[serde(rename = "Energy.Reactive.Import.Register")]
    EnergyReactiveImportRegister,
    #[serde(rename = "Energy.Active.Export.Interval")]
    EnergyActiveExportInterval,
    #[serde(rename = "Energy.Active.Import.Interval")]
    EnergyActiveImportInterval,
    #[serde(rename = "Energy.Active.Net")]
    EnergyActiveNet,
    #[serde(rename = "Energy.Reactive.Export.Interval")]
    EnergyReactiveExportInterval,
    #[serde(rename = "Energy.Reactive.Import.Interval")]
    EnergyReactiveImportInterval,
    #[serde(rename = "Energy.Reactive.Net")]
    EnergyReactiveNet,
    #[serde(rename = "Energy.Apparent.Net")]
    EnergyApparentNet,
    #[serde(rename = "Energy.Apparent.Import")]
    EnergyApparentImport,
    #[serde(rename = "Energy.Apparent.Export")]
    EnergyApparentExport,
    Frequency,
    #[serde(rename = "Power.Active.Export")]
    PowerActiveExport,
    #[serde(rename = "Power.Active.Import")]
    PowerActiveImport,
    #[serde(rename = "Power.Factor")]
    PowerFactor,
    #[serde(rename = "Power.Offered")]
    PowerOffered,
    #[serde(rename = "Power.Reactive.Export")]
    PowerReactiveExport,
    #[serde(rename = "Power.Reactive.Import")]
    PowerReactiveImport,
    SoC,
    Voltage,
}

#[derive(Debug, Deserialize)]
pub enum Phase {
    L1,
    L2,
    L3,
    N,
    #[serde(rename = "L1-N")]
    L1N,
    #[serde(rename = "L2-N")]
    L2N,
    #[serde(rename = "L3-N")]
    L3N,
    #[serde(rename = "L1-L2")]
    L1L2,
    #[serde(rename = "L2-L3")]
    L2L3,
    #[serde(rename = "L3-L1")]
    L3L1,
}

#[derive(Debug, Deserialize)]
pub enum Location {
    Body,
    Cable,
    EV,
    Inlet,
    Outlet,
}

#[derive(Debug, Deserialize)]
pub struct SignedMeterValue {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    #[serde(rename = "signedMeterData")]
    pub signed_meter_data: String,
    #[serde(rename = "signingMethod")]
    pub signing_method: String,
    #[serde(rename = "encodingMethod")]
    pub encoding_method: String,
    #[serde(rename = "publicKey")]
    pub public_key: String,
}

#[derive(Debug, Deserialize)]
pub struct UnitOfMeasure {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    pub unit: Option<String>,
    pub multiplier: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct SampledValue {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    pub value: f64,
    pub context: Option<ReadingContext>,
    pub measurand: Option<Measurand>,
    pub phase: Option<Phase>,
    pub location: Option<Location>,
    #[serde(rename = "signedMeterValue")]
    pub signed_meter_value: Option<SignedMeterValue>,
    #[serde(rename = "unitOfMeasure")]
    pub unit_of_measure: Option<UnitOfMeasure>,
}

#[derive(Debug, Deserialize)]
pub struct MeterValue {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    #[serde(rename = "sampledValue")]
    pub sampled_value: Vec<SampledValue>,
    pub timestamp: String,
}

#[derive(Debug, Deserialize)]
pub enum TriggerReason {
    Authorized,
    CablePluggedIn,
    ChargingRateChanged,
    ChargingStateChanged,
    Deauthorized,
    EnergyLimitReached,
    EVCommunicationLost,
    EVConnectTimeout,
    MeterValueClock,
    MeterValuePeriodic,
    TimeLimitReached,
    Trigger,
    UnlockCommand,
    StopAuthorized,
    EVDeparted,
    EVDetected,
    RemoteStop,
    RemoteStart,
    AbnormalCondition,
    SignedDataReceived,
    ResetCommand,
}

#[derive(Debug, Deserialize)]
pub enum ChargingState {
    Charging,
    EVConnected,
    SuspendedEV,
    SuspendedEVSE,
    Idle,
}

#[derive(Debug, Deserialize)]
pub enum Reason {
    DeAuthorized,
    EmergencyStop,
    EnergyLimitReached,
    EVDisconnected,
    GroundFault,
    ImmediateReset,
    Local,
    LocalOutOfCredit,
    MasterPass,
    Other,
    OvercurrentFault,
    PowerLoss,
    PowerQuality,
    Reboot,
    Remote,
    SOCLimitReached,
    StoppedByEV,
    TimeLimitReached,
    Timeout,
}

#[derive(Debug, Deserialize)]
pub struct Transaction {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    #[serde(rename = "transactionId")]
    pub transaction_id: String,
    #[serde(rename = "chargingState")]
    pub charging_state: Option<ChargingState>,
    #[serde(rename = "timeSpentCharging")]
    pub time_spent_charging: Option<i64>,
    #[serde(rename = "stoppedReason")]
    pub stopped_reason: Option<Reason>,
    #[serde(rename = "remoteStartId")]
    pub remote_start_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct Evse {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    pub id: i64,
    #[serde(rename = "connectorId")]
    pub connector_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct AdditionalInfo {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    #[serde(rename = "additionalIdToken")]
    pub additional_id_token: String,
    #[serde(rename = "type")]
    pub type_: String,
}

#[derive(Debug, Deserialize)]
pub enum IdTokenEnum {
    Central,
    #[serde(rename = "eMAID")]
    EMAID,
    ISO14443,
    ISO15693,
    KeyCode,
    Local,
    MacAddress,
    NoAuthorization,
}

#[derive(Debug, Deserialize)]
pub struct IdToken {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    #[serde(rename = "additionalInfo", default)]
    pub additional_info: Vec<AdditionalInfo>,
    #[serde(rename = "idToken")]
    pub id_token: String,
    #[serde(rename = "type")]
    pub type_: IdTokenEnum,
}

#[derive(Debug, Deserialize)]
pub struct TransactionEventRequest {
    #[serde(rename = "customData")]
    pub custom_data: Option<CustomData>,
    #[serde(rename = "eventType")]
    pub event_type: TransactionEvent,
    #[serde(rename = "meterValue", default)]
    pub meter_value: Vec<MeterValue>,
    pub timestamp: String,
    #[serde(rename = "triggerReason")]
    pub trigger_reason: TriggerReason,
    #[serde(rename = "seqNo")]
    pub seq_no: i64,
    pub offline: Option<bool>,
    #[serde(rename = "numberOfPhasesUsed")]
    pub number_of_phases_used: Option<i64>,
    #[serde(rename = "cableMaxCurrent")]
    pub cable_max_current: Option<i64>,
    #[serde(rename = "reservationId")]
    pub reservation_id: Option<i64>,
    #[serde(rename = "transactionInfo")]
    pub transaction_info: Transaction,
    pub evse: Option<Evse>,
    #[serde(rename = "idToken")]
    pub id_token: Option<IdToken>,
}
