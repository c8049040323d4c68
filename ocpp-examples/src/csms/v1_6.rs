//! The Central System's OCPP 1.6 handlers (core profile and security extension): each message
//! translated to the shared calls of [`Csms`].

use std::sync::Arc;

use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v1_6::core::{
    self, AuthorizeRequest, AuthorizeResponse, BootNotificationRequest, BootNotificationResponse,
    DataTransferRequest, DataTransferResponse, DataTransferStatus, HeartbeatRequest,
    HeartbeatResponse, MeterValue, MeterValuesRequest, MeterValuesResponse, RegistrationStatus,
    StartTransactionRequest, StartTransactionResponse, StatusNotificationRequest,
    StatusNotificationResponse, StopTransactionRequest, StopTransactionResponse,
};
use ocpp_messages::v1_6::security::{
    self, CertificateSignedFeature, CertificateSignedRequest, GenericStatus,
    SecurityEventNotificationRequest, SecurityEventNotificationResponse, SignCertificateRequest,
    SignCertificateResponse,
};
use ocpp_messages::v1_6::types::{AuthorizationStatus, IdTagInfo, Measurand};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};

use super::Csms;
use crate::pki::LeafUsage;
use crate::sessions::{self, Authorization, DataTransferVerdict, Start};

/// The 1.6 dispatcher: the core profile and the security extension.
pub(super) fn dispatcher(csms: &Arc<Csms>) -> Dispatcher {
    Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM)
        .with(core::CentralSystemService(Arc::clone(csms)))
        .with(security::CentralSystemService(Arc::clone(csms)))
}

/// ChangeConfiguration `AuthorizationKey` (the 1.6 security extension's password change):
/// the station's answer.
pub(super) async fn set_password(
    peer: &crate::connection::Peer,
    password: &str,
) -> Result<String, crate::connection::CallFailed> {
    use ocpp_messages::v1_6::core::{ChangeConfigurationFeature, ChangeConfigurationRequest};
    let request = ChangeConfigurationRequest::new("AuthorizationKey", password);
    let response = peer.call::<ChangeConfigurationFeature>(&request).await?;
    Ok(response.status.to_string())
}

/// ExtendedTriggerMessage `SignChargePointCertificate`: the station's answer.
pub(super) async fn trigger_certificate(
    peer: &crate::connection::Peer,
) -> Result<String, crate::connection::CallFailed> {
    use ocpp_messages::v1_6::security::{
        ExtendedTriggerMessageFeature, ExtendedTriggerMessageRequest, MessageTriggerEnum,
    };
    let request =
        ExtendedTriggerMessageRequest::new(MessageTriggerEnum::SignChargePointCertificate);
    let response = peer.call::<ExtendedTriggerMessageFeature>(&request).await?;
    Ok(response.status.to_string())
}

fn id_tag_info(verdict: Authorization) -> IdTagInfo {
    IdTagInfo::new(match verdict {
        Authorization::Accepted => AuthorizationStatus::Accepted,
        Authorization::Blocked => AuthorizationStatus::Blocked,
        Authorization::ConcurrentTx => AuthorizationStatus::ConcurrentTx,
    })
}

/// The last energy register reading among `meter_values`, in Wh: samples of
/// `Energy.Active.Import.Register` (the default measurand) in Wh or kWh whose value is a number
/// (1.6 sends values as text).
pub fn energy_wh(meter_values: &[MeterValue]) -> Option<f64> {
    meter_values
        .iter()
        .flat_map(|m| &m.sampled_value)
        .filter(|s| {
            s.measurand
                .is_none_or(|m| m == Measurand::EnergyActiveImportRegister)
        })
        .filter_map(|s| {
            let value = s.value.trim().parse::<f64>().ok()?;
            let unit = s.unit.map(|u| u.to_string());
            sessions::energy_wh(value, unit.as_deref(), 0)
        })
        .next_back()
}

impl core::CentralSystemHandler for Csms {
    async fn on_boot_notification(
        &self,
        charge_point: &str,
        request: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        tracing::info!(
            "{charge_point}: booted, {} {}",
            request.charge_point_vendor,
            request.charge_point_model
        );
        Ok(BootNotificationResponse::new(
            RegistrationStatus::Accepted,
            DateTime::now(),
            self.heartbeat_interval_secs(),
        ))
    }

    async fn on_heartbeat(
        &self,
        _charge_point: &str,
        _request: HeartbeatRequest,
    ) -> Result<HeartbeatResponse, CallError> {
        Ok(HeartbeatResponse::new(DateTime::now()))
    }

    async fn on_status_notification(
        &self,
        charge_point: &str,
        request: StatusNotificationRequest,
    ) -> Result<StatusNotificationResponse, CallError> {
        tracing::info!(
            "{charge_point}: connector {} is {} ({})",
            request.connector_id,
            request.status,
            request.error_code
        );
        Ok(StatusNotificationResponse::new())
    }

    async fn on_authorize(
        &self,
        charge_point: &str,
        request: AuthorizeRequest,
    ) -> Result<AuthorizeResponse, CallError> {
        let verdict = self.authorize(charge_point, &request.id_tag);
        Ok(AuthorizeResponse::new(id_tag_info(verdict)))
    }

    async fn on_start_transaction(
        &self,
        charge_point: &str,
        request: StartTransactionRequest,
    ) -> Result<StartTransactionResponse, CallError> {
        let start = Start {
            id: None,
            connector: Some(request.connector_id),
            id_tag: Some(&request.id_tag),
            // meterStart is an integer in Wh.
            meter_wh: Some(request.meter_start as f64),
            timestamp: request.timestamp.clone(),
        };
        let (id, verdict) = self.transaction_started(charge_point, start);
        // The sessions hand out 1.6 ids as integers.
        let id = id
            .parse()
            .map_err(|_| CallError::internal("transaction id is not an integer"))?;
        let verdict = verdict.unwrap_or(Authorization::Accepted);
        Ok(StartTransactionResponse::new(id_tag_info(verdict), id))
    }

    async fn on_meter_values(
        &self,
        charge_point: &str,
        request: MeterValuesRequest,
    ) -> Result<MeterValuesResponse, CallError> {
        let id = request.transaction_id.map(|id| id.to_string());
        let meter_wh = energy_wh(&request.meter_value);
        self.metered(charge_point, id.as_deref(), request.connector_id, meter_wh);
        Ok(MeterValuesResponse::new())
    }

    async fn on_stop_transaction(
        &self,
        charge_point: &str,
        request: StopTransactionRequest,
    ) -> Result<StopTransactionResponse, CallError> {
        let id = request.transaction_id.to_string();
        let verdict = request
            .id_tag
            .as_deref()
            .map(|tag| self.sessions.authorize_in(charge_point, &id, tag));
        let reason = request.reason.map(|r| r.to_string());
        self.transaction_ended(
            charge_point,
            &id,
            Some(request.meter_stop as f64),
            reason,
            request.timestamp.clone(),
        );
        let mut response = StopTransactionResponse::new();
        response.id_tag_info = verdict.map(id_tag_info);
        Ok(response)
    }

    async fn on_data_transfer(
        &self,
        charge_point: &str,
        request: DataTransferRequest,
    ) -> Result<DataTransferResponse, CallError> {
        let message_id = request.message_id.as_deref();
        Ok(
            match self.data_transfer(charge_point, &request.vendor_id, message_id) {
                DataTransferVerdict::Echo => {
                    let mut response = DataTransferResponse::new(DataTransferStatus::Accepted);
                    response.data = request.data;
                    response
                }
                DataTransferVerdict::UnknownVendorId => {
                    DataTransferResponse::new(DataTransferStatus::UnknownVendorId)
                }
                DataTransferVerdict::UnknownMessageId => {
                    DataTransferResponse::new(DataTransferStatus::UnknownMessageId)
                }
            },
        )
    }
}

impl security::CentralSystemHandler for Csms {
    async fn on_sign_certificate(
        &self,
        charge_point: &str,
        request: SignCertificateRequest,
    ) -> Result<SignCertificateResponse, CallError> {
        // 1.6's SignCertificate has no certificate type: it is the charge point's own.
        let signed = self.sign_and_send::<CertificateSignedFeature>(
            charge_point,
            &request.csr,
            LeafUsage::ChargingStation,
            CertificateSignedRequest::new,
            |response| response.status.to_string(),
        )?;
        // 1.6 has no statusInfo: the reason is in the log only.
        Ok(SignCertificateResponse::new(match signed {
            Ok(()) => GenericStatus::Accepted,
            Err(_) => GenericStatus::Rejected,
        }))
    }

    async fn on_security_event_notification(
        &self,
        charge_point: &str,
        request: SecurityEventNotificationRequest,
    ) -> Result<SecurityEventNotificationResponse, CallError> {
        self.security_event(
            charge_point,
            &request.type_,
            &request.timestamp,
            request.tech_info.as_deref(),
        );
        Ok(SecurityEventNotificationResponse::new())
    }
}

/// ChangeConfiguration `SecurityProfile` (the 1.6 security extension's upgrade): the station's
/// answer.
pub(super) async fn upgrade_security_profile(
    peer: &crate::connection::Peer,
    profile: i64,
) -> Result<String, crate::connection::CallFailed> {
    use ocpp_messages::v1_6::core::{ChangeConfigurationFeature, ChangeConfigurationRequest};
    let request = ChangeConfigurationRequest::new("SecurityProfile", profile.to_string());
    let response = peer.call::<ChangeConfigurationFeature>(&request).await?;
    Ok(format!(
        "ChangeConfiguration SecurityProfile {}",
        response.status
    ))
}
