//! The station's steps in OCPP 1.6 (core profile and security extension): the Central System
//! gives each transaction its id.

use std::time::Duration;

use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v1_6::core::{
    AuthorizeFeature, AuthorizeRequest, BootNotificationFeature, BootNotificationRequest,
    ChargePointErrorCode, ChargePointStatus, DataTransferFeature, DataTransferRequest,
    DataTransferStatus, HeartbeatFeature, HeartbeatRequest, MeterValue, MeterValuesFeature,
    MeterValuesRequest, Reason, RegistrationStatus, SampledValue, StartTransactionFeature,
    StartTransactionRequest, StatusNotificationFeature, StatusNotificationRequest,
    StopTransactionFeature, StopTransactionRequest, UnitOfMeasure,
};
use ocpp_messages::v1_6::security::{
    self, CertificateSignedRequest, CertificateSignedResponse, CertificateSignedStatus,
    GenericStatus, SecurityEventNotificationFeature, SecurityEventNotificationRequest,
    SignCertificateFeature, SignCertificateRequest,
};
use ocpp_messages::v1_6::types::{AuthorizationStatus, Measurand, ReadingContext};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};

use super::{
    call, interval, refused, ConnectorState, Protocol, Station, StationConfig, StationError,
};
use crate::connection::Peer;
use crate::sessions::{ECHO_MESSAGE_ID, VENDOR_ID};

/// OCPP 1.6, for [`Protocol`].
pub(crate) struct V1_6;

/// A 1.6 transaction in progress: the id the Central System gave it.
pub(crate) struct OpenTransaction {
    id: i64,
    id_tag: String,
}

impl security::ChargePointHandler for Station {
    async fn on_certificate_signed(
        &self,
        request: CertificateSignedRequest,
    ) -> Result<CertificateSignedResponse, CallError> {
        // 1.6 has no statusInfo: the reason is in the log only.
        Ok(CertificateSignedResponse::new(
            match self.certificate_signed(&request.certificate_chain) {
                Ok(_) => CertificateSignedStatus::Accepted,
                Err(_) => CertificateSignedStatus::Rejected,
            },
        ))
    }
}

impl Protocol for V1_6 {
    type Transaction = OpenTransaction;

    fn dispatcher(station: Station) -> Dispatcher {
        Dispatcher::new(OcppVersion::V1_6, Role::CHARGE_POINT)
            .with(security::ChargePointService(station))
    }

    async fn boot(
        peer: &Peer,
        config: &StationConfig,
    ) -> Result<(Duration, DateTime), StationError> {
        let boot = BootNotificationRequest::new(&config.vendor, &config.model);
        let boot = call::<BootNotificationFeature>(peer, &boot).await?;
        if boot.status != RegistrationStatus::Accepted {
            return Err(refused::<BootNotificationFeature>(boot.status));
        }
        Ok((interval(boot.interval), boot.current_time))
    }

    async fn status(peer: &Peer, state: ConnectorState) -> Result<(), StationError> {
        let status = match state {
            ConnectorState::Available => ChargePointStatus::Available,
            ConnectorState::Charging => ChargePointStatus::Charging,
        };
        let request = StatusNotificationRequest::new(1, ChargePointErrorCode::NoError, status)
            .with_timestamp(DateTime::now());
        call::<StatusNotificationFeature>(peer, &request).await?;
        Ok(())
    }

    async fn heartbeat(peer: &Peer) -> Result<DateTime, StationError> {
        let response = call::<HeartbeatFeature>(peer, &HeartbeatRequest::new()).await?;
        Ok(response.current_time)
    }

    async fn sign_certificate(peer: &Peer, csr: String) -> Result<(), StationError> {
        let signed =
            call::<SignCertificateFeature>(peer, &SignCertificateRequest::new(csr)).await?;
        if signed.status != GenericStatus::Accepted {
            return Err(StationError::CsrRejected(None));
        }
        Ok(())
    }

    async fn security_event(
        peer: &Peer,
        kind: &str,
        tech_info: String,
    ) -> Result<(), StationError> {
        let event =
            SecurityEventNotificationRequest::new(kind, DateTime::now()).with_tech_info(tech_info);
        call::<SecurityEventNotificationFeature>(peer, &event).await?;
        Ok(())
    }

    async fn authorize(peer: &Peer, id_tag: &str) -> Result<(), StationError> {
        let response = call::<AuthorizeFeature>(peer, &AuthorizeRequest::new(id_tag)).await?;
        match response.id_tag_info.status {
            AuthorizationStatus::Accepted => Ok(()),
            status => Err(refused::<AuthorizeFeature>(status)),
        }
    }

    async fn start(
        peer: &Peer,
        id_tag: &str,
        meter_wh: i64,
    ) -> Result<OpenTransaction, StationError> {
        let request = StartTransactionRequest::new(1, id_tag, meter_wh, DateTime::now());
        let response = call::<StartTransactionFeature>(peer, &request).await?;
        let transaction = OpenTransaction {
            id: response.transaction_id,
            id_tag: id_tag.to_owned(),
        };
        match response.id_tag_info.status {
            AuthorizationStatus::Accepted => Ok(transaction),
            status => {
                // 1.6 §5.15: the transaction exists all the same; end it at once.
                Self::stop(peer, transaction, meter_wh).await?;
                Err(refused::<StartTransactionFeature>(status))
            }
        }
    }

    async fn meter(
        peer: &Peer,
        transaction: &mut OpenTransaction,
        meter_wh: i64,
    ) -> Result<(), StationError> {
        let sample = SampledValue::new(meter_wh.to_string())
            .with_context(ReadingContext::SamplePeriodic)
            .with_measurand(Measurand::EnergyActiveImportRegister)
            .with_unit(UnitOfMeasure::Wh);
        let request =
            MeterValuesRequest::new(1, vec![MeterValue::new(DateTime::now(), vec![sample])])
                .with_transaction_id(transaction.id);
        call::<MeterValuesFeature>(peer, &request).await?;
        Ok(())
    }

    async fn stop(
        peer: &Peer,
        transaction: OpenTransaction,
        meter_wh: i64,
    ) -> Result<(), StationError> {
        let request = StopTransactionRequest::new(meter_wh, DateTime::now(), transaction.id)
            .with_id_tag(transaction.id_tag)
            .with_reason(Reason::Local);
        call::<StopTransactionFeature>(peer, &request).await?;
        Ok(())
    }

    async fn echo(peer: &Peer, data: &str) -> Result<Option<String>, StationError> {
        let request = DataTransferRequest::new(VENDOR_ID)
            .with_message_id(ECHO_MESSAGE_ID)
            .with_data(data);
        let response = call::<DataTransferFeature>(peer, &request).await?;
        if response.status != DataTransferStatus::Accepted {
            return Err(refused::<DataTransferFeature>(response.status));
        }
        Ok(response.data)
    }
}
