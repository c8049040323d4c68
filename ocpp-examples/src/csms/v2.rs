//! What the CSMS's OCPP 2.0.1 and 2.1 handlers share: the same messages of a charging session,
//! written once in [`v2_handlers!`] and expanded in [`super::v2_0_1`] and [`super::v2_1`].
//!
//! Both versions have these actions with the same members the handlers read and write; their
//! types are distinct (each version is its own generated module, and 58 of the definitions
//! both have differ somewhere), so the code is shared as text, not through generics: the macro
//! names every type through the version's module, and the compiler checks each expansion
//! against that version's types.

/// Implements the session's handler traits of the OCPP 2.x version `$v` (a module of
/// `ocpp_messages`: `v2_0_1` or `v2_1`) on [`Csms`](super::Csms), each message translated to the
/// shared calls of `Csms`: provisioning (BootNotification), availability (Heartbeat,
/// StatusNotification), authorization, transactions (TransactionEvent), meter values, data
/// transfer and security (SignCertificate, then CertificateSigned; SecurityEventNotification).
/// Also defines, in the calling module, `session_services`, which adds those blocks' services
/// to a dispatcher, and the public `energy_wh`.
macro_rules! v2_handlers {
    ($v:ident) => {
        use std::sync::Arc;

        use ocpp_messages::rpc::Dispatcher;
        use ocpp_messages::$v::authorization::{self, AuthorizeRequest, AuthorizeResponse};
        use ocpp_messages::$v::availability::{
            self, HeartbeatRequest, HeartbeatResponse, StatusNotificationRequest,
            StatusNotificationResponse,
        };
        use ocpp_messages::$v::data::{
            self, DataTransferRequest, DataTransferResponse, DataTransferStatus,
        };
        use ocpp_messages::$v::meter::{self, MeterValuesRequest, MeterValuesResponse};
        use ocpp_messages::$v::provisioning::{
            self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus,
        };
        use ocpp_messages::$v::security::{
            self, CertificateSignedFeature, CertificateSignedRequest,
            SecurityEventNotificationRequest, SecurityEventNotificationResponse,
            SignCertificateRequest, SignCertificateResponse,
        };
        use ocpp_messages::$v::transactions::{
            self, TransactionEvent, TransactionEventRequest, TransactionEventResponse,
        };
        use ocpp_messages::$v::types::{
            AuthorizationStatus, CertificateSigningUse, GenericStatus, IdTokenInfo, Measurand,
            MeterValue, StatusInfo,
        };
        use ocpp_messages::{CallError, DateTime};

        use super::Csms;
        use crate::pki::LeafUsage;
        use crate::sessions::{self, Authorization, DataTransferVerdict, Start};

        /// `dispatcher` with the services of the session's blocks: provisioning, availability,
        /// authorization, transactions, meter values, data transfer and security.
        fn session_services(dispatcher: Dispatcher, csms: &Arc<Csms>) -> Dispatcher {
            dispatcher
                .with(provisioning::CsmsService(Arc::clone(csms)))
                .with(availability::CsmsService(Arc::clone(csms)))
                .with(authorization::CsmsService(Arc::clone(csms)))
                .with(transactions::CsmsService(Arc::clone(csms)))
                .with(meter::CsmsService(Arc::clone(csms)))
                .with(data::CsmsService(Arc::clone(csms)))
                .with(security::CsmsService(Arc::clone(csms)))
        }

        /// SetVariables `SecurityCtrlr.BasicAuthPassword` (A01): the station's answer.
        pub(super) async fn set_password(
            peer: &crate::connection::Peer,
            password: &str,
        ) -> Result<String, crate::connection::CallFailed> {
            use ocpp_messages::$v::provisioning::{
                SetVariableData, SetVariablesFeature, SetVariablesRequest,
            };
            use ocpp_messages::$v::types::{Component, Variable};
            let request = SetVariablesRequest::new(vec![SetVariableData::new(
                password,
                Component::new("SecurityCtrlr"),
                Variable::new("BasicAuthPassword"),
            )]);
            let response = peer.call::<SetVariablesFeature>(&request).await?;
            Ok(response
                .set_variable_result
                .first()
                .map_or("no result".to_owned(), |r| r.attribute_status.to_string()))
        }

        /// TriggerMessage `SignChargingStationCertificate` (A02): the station's answer.
        pub(super) async fn trigger_certificate(
            peer: &crate::connection::Peer,
        ) -> Result<String, crate::connection::CallFailed> {
            use ocpp_messages::$v::remotecontrol::{
                MessageTrigger, TriggerMessageFeature, TriggerMessageRequest,
            };
            let request =
                TriggerMessageRequest::new(MessageTrigger::SignChargingStationCertificate);
            let response = peer.call::<TriggerMessageFeature>(&request).await?;
            Ok(response.status.to_string())
        }

        fn status(verdict: Authorization) -> AuthorizationStatus {
            match verdict {
                Authorization::Accepted => AuthorizationStatus::Accepted,
                Authorization::Blocked => AuthorizationStatus::Blocked,
                Authorization::ConcurrentTx => AuthorizationStatus::ConcurrentTx,
            }
        }

        /// The last energy register reading among `meter_values`, in Wh: samples of
        /// `Energy.Active.Import.Register` (the default measurand) in Wh or kWh.
        pub fn energy_wh(meter_values: &[MeterValue]) -> Option<f64> {
            meter_values
                .iter()
                .flat_map(|m| &m.sampled_value)
                .filter(|s| {
                    s.measurand
                        .is_none_or(|m| m == Measurand::EnergyActiveImportRegister)
                })
                .filter_map(|s| {
                    let unit = s.unit_of_measure.as_ref();
                    sessions::energy_wh(
                        s.value,
                        unit.and_then(|u| u.unit.as_deref()),
                        unit.and_then(|u| u.multiplier).unwrap_or(0),
                    )
                })
                .next_back()
        }

        impl provisioning::CsmsHandler for Csms {
            async fn on_boot_notification(
                &self,
                charging_station_id: &str,
                request: BootNotificationRequest,
            ) -> Result<BootNotificationResponse, CallError> {
                let station = &request.charging_station;
                tracing::info!(
                    "{charging_station_id}: booted ({}), {} {}",
                    request.reason,
                    station.vendor_name,
                    station.model
                );
                Ok(BootNotificationResponse::new(
                    DateTime::now(),
                    self.heartbeat_interval_secs(),
                    RegistrationStatus::Accepted,
                ))
            }
        }

        impl availability::CsmsHandler for Csms {
            async fn on_heartbeat(
                &self,
                _charging_station_id: &str,
                _request: HeartbeatRequest,
            ) -> Result<HeartbeatResponse, CallError> {
                Ok(HeartbeatResponse::new(DateTime::now()))
            }

            async fn on_status_notification(
                &self,
                charging_station_id: &str,
                request: StatusNotificationRequest,
            ) -> Result<StatusNotificationResponse, CallError> {
                tracing::info!(
                    "{charging_station_id}: EVSE {} connector {} is {}",
                    request.evse_id,
                    request.connector_id,
                    request.connector_status
                );
                Ok(StatusNotificationResponse::new())
            }
        }

        impl authorization::CsmsHandler for Csms {
            async fn on_authorize(
                &self,
                charging_station_id: &str,
                request: AuthorizeRequest,
            ) -> Result<AuthorizeResponse, CallError> {
                let verdict = self.authorize(charging_station_id, &request.id_token.id_token);
                Ok(AuthorizeResponse::new(IdTokenInfo::new(status(verdict))))
            }
        }

        impl transactions::CsmsHandler for Csms {
            async fn on_transaction_event(
                &self,
                charging_station_id: &str,
                request: TransactionEventRequest,
            ) -> Result<TransactionEventResponse, CallError> {
                let station = charging_station_id;
                let id = request.transaction_info.transaction_id.as_str();
                let id_tag = request.id_token.as_ref().map(|t| t.id_token.as_str());
                let meter_wh = request.meter_value.as_deref().and_then(energy_wh);
                let connector = request.evse.as_ref().map(|e| e.id);
                let offline = request.offline.unwrap_or(false);
                if !self
                    .sessions
                    .count_event(station, id, request.seq_no, offline)
                {
                    // A retry after a lost answer: the same answer, nothing counted twice.
                    tracing::info!(
                        "{station}: transaction {id} event {} again: answered, not counted",
                        request.seq_no
                    );
                    let mut response = TransactionEventResponse::new();
                    response.id_token_info = id_tag.map(|tag| {
                        IdTokenInfo::new(status(self.sessions.authorize_in(station, id, tag)))
                    });
                    return Ok(response);
                }
                let verdict = match request.event_type {
                    TransactionEvent::Started => {
                        let start = Start {
                            id: Some(id),
                            connector,
                            id_tag,
                            meter_wh,
                            timestamp: request.timestamp.clone(),
                        };
                        self.transaction_started(station, start).1
                    }
                    TransactionEvent::Updated => {
                        self.metered(station, Some(id), connector.unwrap_or(0), meter_wh);
                        id_tag.map(|tag| self.sessions.authorize_in(station, id, tag))
                    }
                    TransactionEvent::Ended => {
                        let verdict =
                            id_tag.map(|tag| self.sessions.authorize_in(station, id, tag));
                        let reason = request
                            .transaction_info
                            .stopped_reason
                            .map(|r| r.to_string());
                        self.transaction_ended(
                            station,
                            id,
                            meter_wh,
                            reason,
                            request.timestamp.clone(),
                        );
                        verdict
                    }
                };
                let mut response = TransactionEventResponse::new();
                // The specification asks for idTokenInfo whenever the request has an idToken.
                response.id_token_info = verdict.map(|v| IdTokenInfo::new(status(v)));
                Ok(response)
            }
        }

        impl meter::CsmsHandler for Csms {
            async fn on_meter_values(
                &self,
                charging_station_id: &str,
                request: MeterValuesRequest,
            ) -> Result<MeterValuesResponse, CallError> {
                let meter_wh = energy_wh(&request.meter_value);
                // EVSE 0 is the station's main meter: no transaction runs there.
                if request.evse_id == 0 {
                    tracing::info!(
                        "{charging_station_id}: main meter{}",
                        meter_wh.map(|m| format!(" at {m} Wh")).unwrap_or_default()
                    );
                } else {
                    self.metered(charging_station_id, None, request.evse_id, meter_wh);
                }
                Ok(MeterValuesResponse::new())
            }
        }

        impl data::CsmsHandler for Csms {
            async fn on_data_transfer(
                &self,
                charging_station_id: &str,
                request: DataTransferRequest,
            ) -> Result<DataTransferResponse, CallError> {
                let message_id = request.message_id.as_deref();
                Ok(
                    match self.data_transfer(charging_station_id, &request.vendor_id, message_id) {
                        DataTransferVerdict::Echo => {
                            let mut response =
                                DataTransferResponse::new(DataTransferStatus::Accepted);
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

        impl security::CsmsHandler for Csms {
            async fn on_sign_certificate(
                &self,
                charging_station_id: &str,
                request: SignCertificateRequest,
            ) -> Result<SignCertificateResponse, CallError> {
                let usage = match request.certificate_type {
                    Some(CertificateSigningUse::V2gCertificate) => LeafUsage::V2g,
                    _ => LeafUsage::ChargingStation,
                };
                let certificate_type = request.certificate_type;
                let signed = self.sign_and_send::<CertificateSignedFeature>(
                    charging_station_id,
                    &request.csr,
                    usage,
                    |chain| {
                        let mut signed = CertificateSignedRequest::new(chain);
                        signed.certificate_type = certificate_type;
                        signed
                    },
                    |response| response.status.to_string(),
                )?;
                Ok(match signed {
                    Ok(()) => SignCertificateResponse::new(GenericStatus::Accepted),
                    Err(refusal) => SignCertificateResponse::new(GenericStatus::Rejected)
                        .with_status_info(
                            StatusInfo::new(refusal.reason_code).with_additional_info(refusal.info),
                        ),
                })
            }

            async fn on_security_event_notification(
                &self,
                charging_station_id: &str,
                request: SecurityEventNotificationRequest,
            ) -> Result<SecurityEventNotificationResponse, CallError> {
                self.security_event(
                    charging_station_id,
                    &request.type_,
                    &request.timestamp,
                    request.tech_info.as_deref(),
                );
                Ok(SecurityEventNotificationResponse::new())
            }
        }
    };
}

pub(super) use v2_handlers;
