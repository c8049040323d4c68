//! The durable station in OCPP 1.6 (`--ocpp 1.6`): its transactions as StartTransaction,
//! MeterValues and StopTransaction, and the security extension's credential changes.
//!
//! - A transaction's MeterValues and StopTransaction carry the `transactionId` the CSMS gave
//!   in its answer to the StartTransaction. That answer is kept in the store with the
//!   delivery (the engine's [`kept_answers`](ocpp_connection::engine::Config::kept_answers)),
//!   so a station killed at any point knows the id after a restart. Until it has it (its
//!   StartTransaction waits in the store while the CSMS is unreachable) the station takes no
//!   further reading of that transaction. A StartTransaction whose id tag is not Accepted is
//!   stopped at once (`DeAuthorized`). 1.6 has no `offline` flag: the stored messages go out
//!   in order when the connection is back.
//! - ChangeConfiguration `AuthorizationKey`: the new password, checked against 1.6's rules,
//!   stored, used at once (a reconnection) and after a restart.
//! - ChangeConfiguration `SecurityProfile`: a higher profile at the same address (`ws://`
//!   for 1, `wss://` for 2 and 3) if the station has its credentials; the station reboots onto
//!   it, keeps it after a restart, and goes back to the previous one if it cannot connect.
//!   A lower profile is Rejected.
//! - ExtendedTriggerMessage `SignChargePointCertificate` (profile 3): SignCertificate with a
//!   new key's CSR; the CertificateSigned that follows is checked, stored and used as in
//!   2.0.1 (see the [parent module](super)).

use ocpp_connection::connection::{CallFailed, Handle};
use ocpp_connection::engine::answer_key;
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v1_6::core::{
    self, BootNotificationFeature, BootNotificationRequest, ChangeConfigurationRequest,
    ChangeConfigurationResponse, ConfigurationStatus, MeterValue, MeterValuesFeature,
    MeterValuesRequest, Reason, RegistrationStatus, SampledValue, StartTransactionFeature,
    StartTransactionRequest, StopTransactionFeature, StopTransactionRequest,
};
use ocpp_messages::v1_6::security::{
    self, CertificateSignedRequest, CertificateSignedResponse, CertificateSignedStatus,
    ExtendedTriggerMessageRequest, ExtendedTriggerMessageResponse, GenericStatus,
    MessageTriggerEnum, SignCertificateFeature, SignCertificateRequest, TriggerMessageStatusEnum,
};
use ocpp_messages::v1_6::types::{Measurand, ReadingContext};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};
use std::time::Duration;

use super::{meter_wh, next_step, DurableConfig, DurableError, Settings, PROGRESS_KEY};
use crate::station::StationConfig;

/// The action whose answers the engine keeps: the transaction id is in them.
pub(super) const START_TRANSACTION: &str = "StartTransaction";

/// The durable station's 1.6 dispatcher: the core profile's ChangeConfiguration and the
/// security extension's ExtendedTriggerMessage and CertificateSigned.
pub(super) fn dispatcher(settings: &Settings) -> Dispatcher {
    Dispatcher::new(OcppVersion::V1_6, Role::CHARGE_POINT)
        .with(core::ChargePointService(settings.clone()))
        .with(security::ChargePointService(settings.clone()))
}

impl core::ChargePointHandler for Settings {
    async fn on_change_configuration(
        &self,
        request: ChangeConfigurationRequest,
    ) -> Result<ChangeConfigurationResponse, CallError> {
        let status = match request.key.as_str() {
            "AuthorizationKey" => match self.set_password(&request.value).await {
                Ok(()) => {
                    tracing::info!("new AuthorizationKey stored: reconnecting with it");
                    self.reconnect_soon();
                    ConfigurationStatus::Accepted
                }
                Err(reason) => {
                    tracing::warn!("rejecting the new AuthorizationKey: {reason}");
                    ConfigurationStatus::Rejected
                }
            },
            "SecurityProfile" => match self.set_security_profile(&request.value).await {
                Ok(()) => ConfigurationStatus::Accepted,
                Err(reason) => {
                    tracing::warn!("rejecting SecurityProfile {}: {reason}", request.value);
                    ConfigurationStatus::Rejected
                }
            },
            _ => ConfigurationStatus::NotSupported,
        };
        Ok(ChangeConfigurationResponse::new(status))
    }
}

impl security::ChargePointHandler for Settings {
    async fn on_extended_trigger_message(
        &self,
        request: ExtendedTriggerMessageRequest,
    ) -> Result<ExtendedTriggerMessageResponse, CallError> {
        let status = match request.requested_message {
            MessageTriggerEnum::SignChargePointCertificate if self.security.profile == 3 => {
                tokio::spawn(self.clone().sign_certificate());
                TriggerMessageStatusEnum::Accepted
            }
            MessageTriggerEnum::SignChargePointCertificate => TriggerMessageStatusEnum::Rejected,
            _ => TriggerMessageStatusEnum::NotImplemented,
        };
        Ok(ExtendedTriggerMessageResponse::new(status))
    }

    async fn on_certificate_signed(
        &self,
        request: CertificateSignedRequest,
    ) -> Result<CertificateSignedResponse, CallError> {
        let status = match self.certificate_signed(request.certificate_chain).await {
            Ok(()) => CertificateSignedStatus::Accepted,
            Err(_) => CertificateSignedStatus::Rejected,
        };
        Ok(CertificateSignedResponse::new(status))
    }
}

/// SignCertificate with `csr`: whether it was Accepted, and the status.
pub(super) async fn sign_certificate(
    handle: &Handle,
    csr: String,
) -> Result<(bool, String), CallFailed> {
    let response = handle
        .call::<SignCertificateFeature>(SignCertificateRequest::new(csr))
        .await?;
    Ok((
        response.status == GenericStatus::Accepted,
        response.status.to_string(),
    ))
}

/// Boots until the Central System accepts (each attempt waits for a connection; a refusal
/// waits the interval it gave).
pub(super) async fn boot(handle: Handle, config: StationConfig) {
    loop {
        let request = BootNotificationRequest::new(&config.vendor, &config.model);
        match handle.call::<BootNotificationFeature>(request).await {
            Ok(response) if response.status == RegistrationStatus::Accepted => return,
            Ok(response) => {
                let wait = u64::try_from(response.interval).unwrap_or(1).max(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            Err(CallFailed::Closed) => return,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The transaction id of the kept StartTransaction answer, and whether its id tag was
/// Accepted.
fn started(answer: &str) -> Option<(i64, bool)> {
    let answer: serde_json::Value = serde_json::from_str(answer).ok()?;
    let id = answer["transactionId"].as_i64()?;
    Some((id, answer["idTagInfo"]["status"] == "Accepted"))
}

/// Stores the message of `step` of transaction `n` (0: StartTransaction; 1..=updates:
/// MeterValues; then StopTransaction) with the progress it makes; returns where the station
/// is next, or `None` while the transaction id is not known yet.
pub(super) async fn step(
    handle: &Handle,
    config: &StationConfig,
    durable: &DurableConfig,
    n: u32,
    step: u32,
) -> Result<Option<(u32, u32)>, DurableError> {
    let key = answer_key(START_TRANSACTION);
    let progress = |next: (u32, u32)| {
        (
            PROGRESS_KEY.to_owned(),
            Some(format!("{},{}", next.0, next.1)),
        )
    };
    let meter = |step: u32| meter_wh(step) as i64;
    if step == 0 {
        let next = next_step(n, step, durable.updates);
        let request = StartTransactionRequest::new(1, &config.id_tag, meter(0), DateTime::now());
        // The previous transaction's answer goes: the one kept next is this one's.
        let _stored = handle
            .call_stored::<StartTransactionFeature>(request, vec![(key, None), progress(next)])
            .await
            .map_err(DurableError::Event)?;
        tracing::info!("transaction {n}: StartTransaction stored");
        return Ok(Some(next));
    }
    let Some((id, accepted)) = handle.value(&key).await.as_deref().and_then(started) else {
        return Ok(None);
    };
    if !accepted || step > durable.updates {
        let next = (n + 1, 0);
        let reason = if accepted {
            Reason::EvDisconnected
        } else {
            Reason::DeAuthorized
        };
        let request =
            StopTransactionRequest::new(meter(step), DateTime::now(), id).with_reason(reason);
        let _stored = handle
            .call_stored::<StopTransactionFeature>(request, vec![progress(next)])
            .await
            .map_err(DurableError::Event)?;
        tracing::info!("transaction {n} ({id}): StopTransaction stored");
        return Ok(Some(next));
    }
    let next = next_step(n, step, durable.updates);
    let sample = SampledValue::new(meter(step).to_string())
        .with_measurand(Measurand::EnergyActiveImportRegister)
        .with_context(ReadingContext::SamplePeriodic);
    let request = MeterValuesRequest::new(1, vec![MeterValue::new(DateTime::now(), vec![sample])])
        .with_transaction_id(id);
    let _stored = handle
        .call_stored::<MeterValuesFeature>(request, vec![progress(next)])
        .await
        .map_err(DurableError::Event)?;
    tracing::info!("transaction {n} ({id}): MeterValues {step} stored");
    Ok(Some(next))
}
