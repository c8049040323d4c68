//! What the station's OCPP 2.0.1 and 2.1 steps share: the same messages of the script,
//! written once in [`v2_steps!`] and expanded in [`super::v2_0_1`] and [`super::v2_1`] against
//! each version's own generated types.

/// Implements [`Protocol`](super::Protocol) for the unit struct `$Version` (declared by the
/// caller, also the name of the `OcppVersion` variant) with the messages of the OCPP 2.x
/// version `$v` (a module of `ocpp_messages`): a transaction is a series of TransactionEvents
/// with the station's own transaction id and a sequence number. `$extra` goes into the `impl`:
/// the steps only that version has. The caller also defines `fn id_token(&str) -> IdToken`, the
/// one thing the versions spell differently here (2.0.1's token type is an enum, 2.1's a
/// string).
macro_rules! v2_steps {
    ($v:ident, $Version:ident, { $($extra:tt)* }) => {
        use std::time::Duration;

        use ocpp_messages::rpc::Dispatcher;
        use ocpp_messages::$v::authorization::{AuthorizeFeature, AuthorizeRequest};
        use ocpp_messages::$v::availability::{
            ConnectorStatus, HeartbeatFeature, HeartbeatRequest, StatusNotificationFeature,
            StatusNotificationRequest,
        };
        use ocpp_messages::$v::data::{DataTransferFeature, DataTransferRequest, DataTransferStatus};
        use ocpp_messages::$v::provisioning::{
            BootNotificationFeature, BootNotificationRequest, BootReason, ChargingStation,
            RegistrationStatus,
        };
        use ocpp_messages::$v::security::{
            self, CertificateSignedRequest, CertificateSignedResponse, CertificateSignedStatus,
            SecurityEventNotificationFeature, SecurityEventNotificationRequest,
            SignCertificateFeature, SignCertificateRequest,
        };
        use ocpp_messages::$v::transactions::{
            Reason, Transaction, TransactionEvent, TransactionEventFeature,
            TransactionEventRequest, TriggerReason,
        };
        use ocpp_messages::$v::types::{
            AuthorizationStatus, CertificateSigningUse, Evse, GenericStatus, IdTokenInfo,
            Measurand, MeterValue, ReadingContext, SampledValue, StatusInfo,
        };
        use ocpp_messages::{CallError, DateTime, OcppVersion, Role};

        use super::{
            call, interval, refused, ConnectorState, Protocol, Station, StationConfig,
            StationError,
        };
        use crate::connection::Peer;
        use crate::sessions::{ECHO_MESSAGE_ID, VENDOR_ID};

        /// A 2.x transaction in progress: its id and the next event's sequence number.
        pub(crate) struct OpenTransaction {
            id: String,
            id_tag: String,
            seq_no: i64,
        }

        impl security::ChargingStationHandler for Station {
            async fn on_certificate_signed(
                &self,
                request: CertificateSignedRequest,
            ) -> Result<CertificateSignedResponse, CallError> {
                Ok(match self.certificate_signed(&request.certificate_chain) {
                    Ok(_) => CertificateSignedResponse::new(CertificateSignedStatus::Accepted),
                    Err(e) => CertificateSignedResponse::new(CertificateSignedStatus::Rejected)
                        .with_status_info(
                            StatusInfo::new("InvalidCertificate")
                                .with_additional_info(e.to_string()),
                        ),
                })
            }
        }

        /// The energy register at `meter_wh`, read now in `context`.
        fn reading(meter_wh: i64, context: ReadingContext) -> Vec<MeterValue> {
            let sample = SampledValue::new(meter_wh as f64)
                .with_measurand(Measurand::EnergyActiveImportRegister)
                .with_context(context);
            vec![MeterValue::new(vec![sample], DateTime::now())]
        }

        /// Checks the idTokenInfo of a TransactionEvent's answer: it must be there and Accepted.
        fn check_accepted(info: Option<IdTokenInfo>) -> Result<(), Box<StationError>> {
            match info.map(|i| i.status) {
                Some(AuthorizationStatus::Accepted) => Ok(()),
                Some(status) => Err(Box::new(refused::<TransactionEventFeature>(status))),
                None => Err(Box::new(refused::<TransactionEventFeature>(
                    "without idTokenInfo",
                ))),
            }
        }

        impl $Version {
            async fn event(
                peer: &Peer,
                transaction: &mut OpenTransaction,
                event: TransactionEvent,
                trigger: TriggerReason,
                info: Transaction,
                meter_value: Vec<MeterValue>,
            ) -> Result<Option<IdTokenInfo>, StationError> {
                let now = DateTime::now();
                let request =
                    TransactionEventRequest::new(event, now, trigger, transaction.seq_no, info)
                        .with_meter_value(meter_value)
                        .with_evse(Evse::new(1).with_connector_id(1))
                        .with_id_token(id_token(&transaction.id_tag));
                transaction.seq_no += 1;
                Ok(call::<TransactionEventFeature>(peer, &request)
                    .await?
                    .id_token_info)
            }
        }

        impl Protocol for $Version {
            type Transaction = OpenTransaction;

            fn dispatcher(station: Station) -> Dispatcher {
                Dispatcher::new(OcppVersion::$Version, Role::ChargingStation)
                    .with(security::ChargingStationService(station))
            }

            async fn boot(
                peer: &Peer,
                config: &StationConfig,
            ) -> Result<(Duration, DateTime), StationError> {
                let boot = BootNotificationRequest::new(
                    ChargingStation::new(&config.model, &config.vendor),
                    BootReason::PowerUp,
                );
                let boot = call::<BootNotificationFeature>(peer, &boot).await?;
                if boot.status != RegistrationStatus::Accepted {
                    return Err(refused::<BootNotificationFeature>(boot.status));
                }
                Ok((interval(boot.interval), boot.current_time))
            }

            async fn status(peer: &Peer, state: ConnectorState) -> Result<(), StationError> {
                let status = match state {
                    ConnectorState::Available => ConnectorStatus::Available,
                    ConnectorState::Charging => ConnectorStatus::Occupied,
                };
                let request = StatusNotificationRequest::new(DateTime::now(), status, 1, 1);
                call::<StatusNotificationFeature>(peer, &request).await?;
                Ok(())
            }

            async fn heartbeat(peer: &Peer) -> Result<DateTime, StationError> {
                let response = call::<HeartbeatFeature>(peer, &HeartbeatRequest::new()).await?;
                Ok(response.current_time)
            }

            async fn sign_certificate(peer: &Peer, csr: String) -> Result<(), StationError> {
                let csr = SignCertificateRequest::new(csr)
                    .with_certificate_type(CertificateSigningUse::ChargingStationCertificate);
                let signed = call::<SignCertificateFeature>(peer, &csr).await?;
                if signed.status != GenericStatus::Accepted {
                    let reason = signed.status_info.map(|info| match info.additional_info {
                        Some(more) => format!("{}: {more}", info.reason_code),
                        None => info.reason_code,
                    });
                    return Err(StationError::CsrRejected(reason));
                }
                Ok(())
            }

            async fn security_event(
                peer: &Peer,
                kind: &str,
                tech_info: String,
            ) -> Result<(), StationError> {
                let event =
                    SecurityEventNotificationRequest::new(kind, DateTime::now())
                        .with_tech_info(tech_info);
                call::<SecurityEventNotificationFeature>(peer, &event).await?;
                Ok(())
            }

            async fn authorize(peer: &Peer, id_tag: &str) -> Result<(), StationError> {
                let response =
                    call::<AuthorizeFeature>(peer, &AuthorizeRequest::new(id_token(id_tag))).await?;
                match response.id_token_info.status {
                    AuthorizationStatus::Accepted => Ok(()),
                    status => Err(refused::<AuthorizeFeature>(status)),
                }
            }

            async fn start(
                peer: &Peer,
                id_tag: &str,
                meter_wh: i64,
            ) -> Result<OpenTransaction, StationError> {
                let mut transaction = OpenTransaction {
                    id: uuid::Uuid::new_v4().to_string(),
                    id_tag: id_tag.to_owned(),
                    seq_no: 0,
                };
                let info = Transaction::new(&transaction.id);
                let meter = reading(meter_wh, ReadingContext::TransactionBegin);
                let answer = Self::event(
                    peer,
                    &mut transaction,
                    TransactionEvent::Started,
                    TriggerReason::Authorized,
                    info,
                    meter,
                )
                .await?;
                check_accepted(answer).map_err(|e| *e)?;
                Ok(transaction)
            }

            async fn meter(
                peer: &Peer,
                transaction: &mut OpenTransaction,
                meter_wh: i64,
            ) -> Result<(), StationError> {
                let info = Transaction::new(&transaction.id);
                let meter = reading(meter_wh, ReadingContext::SamplePeriodic);
                let answer = Self::event(
                    peer,
                    transaction,
                    TransactionEvent::Updated,
                    TriggerReason::MeterValuePeriodic,
                    info,
                    meter,
                )
                .await?;
                check_accepted(answer).map_err(|e| *e)
            }

            async fn stop(
                peer: &Peer,
                mut transaction: OpenTransaction,
                meter_wh: i64,
            ) -> Result<(), StationError> {
                let info = Transaction::new(&transaction.id).with_stopped_reason(Reason::Local);
                let meter = reading(meter_wh, ReadingContext::TransactionEnd);
                Self::event(
                    peer,
                    &mut transaction,
                    TransactionEvent::Ended,
                    TriggerReason::StopAuthorized,
                    info,
                    meter,
                )
                .await?;
                Ok(())
            }

            async fn echo(peer: &Peer, data: &str) -> Result<Option<String>, StationError> {
                let request = DataTransferRequest::new(VENDOR_ID)
                    .with_message_id(ECHO_MESSAGE_ID)
                    .with_data(serde_json::Value::String(data.to_owned()));
                let response = call::<DataTransferFeature>(peer, &request).await?;
                if response.status != DataTransferStatus::Accepted {
                    return Err(refused::<DataTransferFeature>(response.status));
                }
                Ok(match response.data {
                    Some(serde_json::Value::String(data)) => Some(data),
                    Some(other) => Some(other.to_string()),
                    None => None,
                })
            }

            $($extra)*
        }
    };
}

pub(super) use v2_steps;
