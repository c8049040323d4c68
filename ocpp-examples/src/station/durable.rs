//! The station's transactions that survive outages and restarts (`--state-dir` with
//! `--transactions`), in OCPP 2.0.1 (below) or 1.6 (the first of `--ocpp` it speaks; what
//! differs in 1.6 is in [`v1_6`]).
//!
//! The station keeps its state in `DIR/station.db` ([`SqliteStore`]): the transaction
//! messages not yet delivered, and how far it got. It runs `transactions` charging sessions
//! one after the other, each a series of TransactionEvents (`Started`, `updates` times
//! `Updated` with a meter reading, `Ended`) one `event_interval` apart, whether or not the
//! CSMS is reachable:
//! - each event is written to the store, together with the progress it makes, before it is
//!   sent ([`Handle::call_stored`]): killed at any point, the station restarted with the same
//!   command line goes on where it stopped, and sends what it had not delivered first;
//! - events that happen while the connection is down carry `offline: true`; `seqNo` counts
//!   0, 1, 2... per transaction, without gaps;
//! - unanswered or refused events are retried `message_attempts` times, `retry_interval` times
//!   the attempts so far apart (2.0.1 `OCPPCommCtrlr.MessageAttempts` and
//!   `MessageAttemptInterval` of TransactionEvent), then discarded;
//! - the station boots at every start (a BootNotification until Accepted); it starts without
//!   the CSMS and connects when it can.
//!
//! - SetVariables `SecurityCtrlr.BasicAuthPassword` (OCPP 2.0.1 A01, security profiles 1
//!   and 2): a password that keeps the rules is stored first, then answered `Accepted`, and the
//!   station reconnects with it at once; a restart uses the stored password, not the one on
//!   the command line. Other variables are answered `UnknownComponent` / `UnknownVariable`.
//! - TriggerMessage `SignChargingStationCertificate` (A02/A03, security profile 3): answered
//!   `Accepted`, then a new key pair and its CSR (`CN=` identity) go out in SignCertificate.
//!   The CertificateSigned that follows is checked (the leaf is for that key, each
//!   certificate signed by the next, all valid now, and the chain ends at one of the
//!   station's trust anchors, `--ca-cert`), stored, answered `Accepted`, and the station
//!   reconnects with it at once. Once a connection with it is up it is the station's
//!   certificate, restarts included (the command line's `--cert`/`--key` are then the
//!   past); if the CSMS refuses it, the station goes back to the previous one and forgets
//!   the new. A chain that fails the check is answered `Rejected` and changes nothing. In
//!   profiles below 3 the trigger is `Rejected`, other triggers `NotImplemented`.
//!
//! When every transaction is run and delivered, [`run`] returns.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ocpp_connection::client::{Client, ClientConfig, ClientEvent, ConnectError, Credentials};
use ocpp_connection::connection::{CallFailed, Handle};
use ocpp_connection::engine::{self, Event};
use ocpp_connection::security::check_password;
use ocpp_connection::store::{SqliteStore, Store};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationFeature, BootNotificationRequest, BootReason, ChargingStation,
    NetworkConnectionProfile, OcppTransport, OcppVersion as NetworkOcppVersion, RegistrationStatus,
    Reset, ResetRequest, ResetResponse, ResetStatus, SetNetworkProfileRequest,
    SetNetworkProfileResponse, SetNetworkProfileStatus, SetVariableResult, SetVariableStatus,
    SetVariablesRequest, SetVariablesResponse,
};
use ocpp_messages::v2_0_1::remotecontrol::{
    self, MessageTrigger, TriggerMessageRequest, TriggerMessageResponse, TriggerMessageStatus,
};
use ocpp_messages::v2_0_1::security::{
    self, CertificateSignedRequest, CertificateSignedResponse, CertificateSignedStatus,
    SignCertificateFeature, SignCertificateRequest,
};
use ocpp_messages::v2_0_1::transactions::{
    Reason, Transaction, TransactionEvent, TransactionEventFeature, TransactionEventRequest,
    TriggerReason,
};
use ocpp_messages::v2_0_1::types::{
    CertificateSigningUse, Evse, GenericStatus, IdToken, IdTokenEnum, Measurand, MeterValue,
    ReadingContext, SampledValue, StatusInfo,
};
use ocpp_messages::{CallError, DateTime, ErrorCode, OcppVersion, Role};

use super::{split_url, StationConfig, StationError};

pub mod v1_6;
use crate::lock;
use crate::pki::{verify_chain_trusted, ChainSummary, StationKey};
use crate::profiles::ClientSecurity;

/// The stored value saying how far the station got: `transaction,step`.
const PROGRESS_KEY: &str = "example/progress";
/// The stored value holding the password the CSMS last set (A01).
pub const PASSWORD_KEY: &str = "example/basic-auth-password";

/// The stored certificate chain (PEM) the station connects with in profile 3, once a renewed
/// certificate connected (A02/A03): a restart uses it, not `--cert`/`--key`.
pub const CERTIFICATE_KEY: &str = "example/certificate";
/// The private key (PEM) of [`CERTIFICATE_KEY`].
pub const PRIVATE_KEY_KEY: &str = "example/private-key";
/// A renewed chain accepted but not connected with yet: the next connection tries it, and
/// a restart too; it becomes [`CERTIFICATE_KEY`] once it connects, and is dropped if the
/// CSMS refuses it.
pub const PENDING_CERTIFICATE_KEY: &str = "example/pending-certificate";
/// The private key (PEM) of [`PENDING_CERTIFICATE_KEY`].
pub const PENDING_PRIVATE_KEY_KEY: &str = "example/pending-private-key";

/// The prefix of the stored network connection profiles (A05): `example/network-slot/N` holds
/// `PROFILE URL` for configuration slot `N`.
const SLOT_PREFIX: &str = "example/network-slot/";
/// The stored `OCPPCommCtrlr.NetworkConfigurationPriority`: the slot the station connects
/// with after its next reboot. Without it, the command line's URL and profile.
pub const PRIORITY_KEY: &str = "example/network-priority";
/// How many failed attempts in a row a new network profile gets before the station goes back
/// to the previous one.
const PROFILE_ATTEMPTS: u32 = 3;

/// A network connection profile the CSMS set (A05): the security profile and the CSMS's URL
/// (without the identity).
#[derive(Debug, Clone, PartialEq, Eq)]
struct NetworkProfile {
    profile: u8,
    url: String,
}

impl NetworkProfile {
    fn parse(value: &str) -> Option<NetworkProfile> {
        let (profile, url) = value.split_once(' ')?;
        Some(NetworkProfile {
            profile: profile.parse().ok()?,
            url: url.to_owned(),
        })
    }

    fn stored(&self) -> String {
        format!("{} {}", self.profile, self.url)
    }
}

/// What a reboot (Reset) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reboot {
    /// Now.
    Immediate,
    /// Once no transaction is running.
    OnIdle,
}

/// The durable station's handlers of the CSMS's calls (SetVariables for the password and the
/// network priority, TriggerMessage and CertificateSigned for the certificate,
/// SetNetworkProfile and Reset for the security profile) and what they share.
#[derive(Clone)]
struct Settings {
    client: Arc<OnceLock<(Handle, Credentials)>>,
    /// The version the station speaks: 2.0.1 or 1.6.
    version: OcppVersion,
    identity: String,
    /// The CSMS's URL (without the identity) of this run.
    base: String,
    organization: String,
    /// The profile and credentials the station started with (stored ones applied).
    security: ClientSecurity,
    /// The key of the CSR sent, until its CertificateSigned comes.
    csr: Arc<Mutex<Option<StationKey>>>,
    /// A renewed chain and key handed to the client, not connected with yet.
    pending: Arc<Mutex<Option<(String, String)>>>,
    /// The network connection profiles set so far, by slot.
    slots: Arc<Mutex<std::collections::BTreeMap<i64, NetworkProfile>>>,
    /// A reboot the CSMS asked for (Reset).
    reboot: Arc<Mutex<Option<Reboot>>>,
    /// Whether a transaction is running.
    in_transaction: Arc<std::sync::atomic::AtomicBool>,
}

impl Settings {
    /// A02 after TriggerMessage: a new key, its CSR in SignCertificate.
    async fn sign_certificate(self) {
        let Some((handle, _)) = self.client.get() else {
            return;
        };
        let key = match StationKey::generate(&self.identity, &self.organization) {
            Ok(key) => key,
            Err(e) => {
                tracing::error!("{}: cannot generate a key: {e}", self.identity);
                return;
            }
        };
        let csr = key.csr_pem().to_owned();
        *lock(&self.csr) = Some(key);
        let answer = if self.version == OcppVersion::V1_6 {
            v1_6::sign_certificate(handle, csr).await
        } else {
            let request = SignCertificateRequest::new(csr)
                .with_certificate_type(CertificateSigningUse::ChargingStationCertificate);
            handle
                .call::<SignCertificateFeature>(request)
                .await
                .map(|response| {
                    (
                        response.status == GenericStatus::Accepted,
                        response.status.to_string(),
                    )
                })
        };
        match answer {
            Ok((true, _)) => {
                tracing::info!(
                    "{}: CSR accepted, waiting for the certificate",
                    self.identity
                );
            }
            Ok((false, status)) => {
                lock(&self.csr).take();
                tracing::warn!("{}: CSR answered {status}", self.identity);
            }
            Err(e) => {
                lock(&self.csr).take();
                tracing::warn!("{}: SignCertificate failed: {e}", self.identity);
            }
        }
    }

    /// CertificateSigned, in either version: the chain checked, then used (logged, and the
    /// station reconnects with it), or refused (logged). `Err` is the reason to answer
    /// Rejected.
    async fn certificate_signed(&self, chain: String) -> Result<(), String> {
        match self.take_chain(chain).await {
            Ok(summary) => {
                tracing::info!(
                    "{}: certificate accepted: {summary}; reconnecting with it",
                    self.identity
                );
                self.reconnect_soon();
                Ok(())
            }
            Err(reason) => {
                tracing::warn!("{}: certificate rejected: {reason}", self.identity);
                Err(reason)
            }
        }
    }

    /// The chain of a CertificateSigned checked against the CSR's key and the trust anchors,
    /// stored, handed to the client as a renewal.
    async fn take_chain(&self, chain: String) -> Result<ChainSummary, String> {
        let Some((handle, credentials)) = self.client.get() else {
            return Err("not started yet".to_owned());
        };
        let key = lock(&self.csr)
            .take()
            .ok_or("no CSR of ours waits for a certificate")?;
        let anchors = self
            .security
            .ca
            .as_deref()
            .map(String::from_utf8_lossy)
            .ok_or("no trust anchors (--ca-cert) to check the chain against")?;
        let summary = verify_chain_trusted(
            &chain,
            &key.public_key_der(),
            &anchors,
            std::time::SystemTime::now(),
        )
        .map_err(|e| e.to_string())?;
        let key_pem = key.private_key_pem();
        // Stored first: from here on a restart tries the new certificate too.
        handle
            .set_values(vec![
                (PENDING_CERTIFICATE_KEY.to_owned(), Some(chain.clone())),
                (PENDING_PRIVATE_KEY_KEY.to_owned(), Some(key_pem.clone())),
            ])
            .await
            .map_err(|e| format!("cannot store the certificate: {e}"))?;
        self.security
            .renew(credentials, chain.as_bytes(), key_pem.as_bytes())
            .map_err(|e| e.to_string())?;
        *lock(&self.pending) = Some((chain, key_pem));
        Ok(summary)
    }

    /// The renewal connected: it is the station's certificate from now on, restarts included.
    fn renewed(&self) {
        let (Some((chain, key)), Some((handle, _))) =
            (lock(&self.pending).take(), self.client.get())
        else {
            return;
        };
        tracing::info!("{}: connected with the renewed certificate", self.identity);
        let handle = handle.clone();
        let identity = self.identity.clone();
        tokio::spawn(async move {
            let changes = vec![
                (CERTIFICATE_KEY.to_owned(), Some(chain)),
                (PRIVATE_KEY_KEY.to_owned(), Some(key)),
                (PENDING_CERTIFICATE_KEY.to_owned(), None),
                (PENDING_PRIVATE_KEY_KEY.to_owned(), None),
            ];
            if let Err(e) = handle.set_values(changes).await {
                tracing::error!("{identity}: cannot store the renewed certificate: {e}");
            }
        });
    }

    /// The CSMS did not take the renewal: the previous certificate stays, the new one is gone.
    fn fell_back(&self, error: &ConnectError) {
        let Some((handle, _)) = self.client.get() else {
            return;
        };
        lock(&self.pending).take();
        tracing::warn!(
            "{}: the renewed certificate did not connect ({error}): back to the previous one",
            self.identity
        );
        let handle = handle.clone();
        tokio::spawn(async move {
            let _ = handle
                .set_values(vec![
                    (PENDING_CERTIFICATE_KEY.to_owned(), None),
                    (PENDING_PRIVATE_KEY_KEY.to_owned(), None),
                ])
                .await;
        });
    }
}

impl Settings {
    /// SetNetworkProfile (A05): why `profile` cannot be taken, if it cannot.
    fn refuse_network_profile(&self, profile: &NetworkConnectionProfile) -> Option<String> {
        if profile.ocpp_version != NetworkOcppVersion::Ocpp20
            || profile.ocpp_transport != OcppTransport::Json
        {
            return Some("this station speaks OCPP 2.0.1 over JSON only".to_owned());
        }
        self.refuse_profile(profile.security_profile, &profile.ocpp_csms_url)
    }

    /// Why security profile `number` at `url` cannot be taken, if it cannot: not a profile,
    /// a downgrade, a URL of the wrong scheme, or credentials the station lacks.
    fn refuse_profile(&self, number: i64, url: &str) -> Option<String> {
        let Some(number) = u8::try_from(number).ok().filter(|n| (1..=3).contains(n)) else {
            return Some(format!("no security profile {number}"));
        };
        if number < self.security.profile {
            return Some(format!(
                "security profile {number} is a downgrade from {}",
                self.security.profile
            ));
        }
        let scheme = if number == 1 { "ws://" } else { "wss://" };
        if !url.starts_with(scheme) {
            return Some(format!("security profile {number} needs a {scheme} URL"));
        }
        let missing = match number {
            1 | 2 if self.security.password.is_none() => Some("a password"),
            2 | 3 if self.security.ca.is_none() => Some("trust anchors (--ca-cert)"),
            3 if self.security.certificate.is_none() => Some("a certificate"),
            _ => None,
        };
        missing
            .map(|what| format!("security profile {number} needs {what}, which this station lacks"))
    }

    /// A new HTTP Basic password (2.0.1 SetVariables `SecurityCtrlr.BasicAuthPassword`, 1.6
    /// ChangeConfiguration `AuthorizationKey`): checked, stored, then used for the next
    /// connections, so that a restart keeps what was answered Accepted and nothing is stored
    /// that the next connection could not use. `Err` is why it is refused.
    async fn set_password(&self, password: &str) -> Result<(), String> {
        let Some((handle, credentials)) = self.client.get() else {
            return Err("not started yet".to_owned());
        };
        check_password(self.version, password).map_err(|e| e.to_string())?;
        handle
            .set_values(vec![(PASSWORD_KEY.to_owned(), Some(password.to_owned()))])
            .await
            .map_err(|e| format!("cannot store it: {e}"))?;
        credentials
            .set_password(password)
            .map_err(|e| e.to_string())
    }

    /// Reconnects with the credentials of now, once the answer in progress is out.
    fn reconnect_soon(&self) {
        if let Some((handle, _)) = self.client.get() {
            let handle = handle.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                handle.reconnect().await;
            });
        }
    }

    /// 1.6 ChangeConfiguration `SecurityProfile`: a higher profile at the same address
    /// (`ws://` for 1, `wss://` for 2 and 3) is stored as the next network profile and the
    /// station reboots onto it; the same profile changes nothing; a lower one, or one the
    /// station lacks the credentials for, is refused. `Err` is why.
    async fn set_security_profile(&self, value: &str) -> Result<(), String> {
        let Some((handle, _)) = self.client.get() else {
            return Err("not started yet".to_owned());
        };
        let number: i64 = value
            .trim()
            .parse()
            .map_err(|_| format!("{value:?} is no number"))?;
        if number == i64::from(self.security.profile) {
            return Ok(());
        }
        let rest = self
            .base
            .split_once("://")
            .map_or(self.base.as_str(), |(_, rest)| rest);
        let url = format!("{}://{rest}", if number == 1 { "ws" } else { "wss" });
        if let Some(reason) = self.refuse_profile(number, &url) {
            return Err(reason);
        }
        let profile = NetworkProfile {
            profile: u8::try_from(number).unwrap_or(3),
            url,
        };
        handle
            .set_values(vec![
                (format!("{SLOT_PREFIX}0"), Some(profile.stored())),
                (PRIORITY_KEY.to_owned(), Some("0".to_owned())),
            ])
            .await
            .map_err(|e| format!("cannot store it: {e}"))?;
        tracing::info!(
            "{}: security profile {number} at {}: rebooting onto it",
            self.identity,
            profile.url
        );
        lock(&self.slots).insert(0, profile);
        *lock(&self.reboot) = Some(Reboot::Immediate);
        Ok(())
    }

    /// SetVariables `OCPPCommCtrlr.NetworkConfigurationPriority`: the first slot of the list
    /// becomes the one of the next reboot, if it is set.
    async fn set_priority(&self, handle: &Handle, value: &str) -> SetVariableStatus {
        let first = value
            .split(',')
            .next()
            .map(str::trim)
            .and_then(|n| n.parse::<i64>().ok());
        let Some(slot) = first.filter(|slot| lock(&self.slots).contains_key(slot)) else {
            tracing::warn!("{}: no network profile in slot {value:?}", self.identity);
            return SetVariableStatus::Rejected;
        };
        match handle
            .set_values(vec![(PRIORITY_KEY.to_owned(), Some(slot.to_string()))])
            .await
        {
            // Takes effect at the next reboot.
            Ok(()) => SetVariableStatus::RebootRequired,
            Err(e) => {
                tracing::error!("{}: cannot store the priority: {e}", self.identity);
                SetVariableStatus::Rejected
            }
        }
    }

    /// The reboot asked for, if it is due: Immediate at once, OnIdle between transactions.
    fn reboot_due(&self) -> bool {
        let idle = !self
            .in_transaction
            .load(std::sync::atomic::Ordering::SeqCst);
        match *lock(&self.reboot) {
            Some(Reboot::Immediate) => true,
            Some(Reboot::OnIdle) => idle,
            None => false,
        }
    }
}

impl remotecontrol::ChargingStationHandler for Settings {
    async fn on_trigger_message(
        &self,
        request: TriggerMessageRequest,
    ) -> Result<TriggerMessageResponse, CallError> {
        let status = match request.requested_message {
            // The certificate is what the station connects with in profile 3 only.
            MessageTrigger::SignChargingStationCertificate if self.security.profile == 3 => {
                tokio::spawn(self.clone().sign_certificate());
                TriggerMessageStatus::Accepted
            }
            MessageTrigger::SignChargingStationCertificate => TriggerMessageStatus::Rejected,
            _ => TriggerMessageStatus::NotImplemented,
        };
        Ok(TriggerMessageResponse::new(status))
    }
}

impl security::ChargingStationHandler for Settings {
    async fn on_certificate_signed(
        &self,
        request: CertificateSignedRequest,
    ) -> Result<CertificateSignedResponse, CallError> {
        if request
            .certificate_type
            .is_some_and(|t| t != CertificateSigningUse::ChargingStationCertificate)
        {
            return Ok(
                CertificateSignedResponse::new(CertificateSignedStatus::Rejected)
                    .with_status_info(StatusInfo::new("NotSupported")),
            );
        }
        match self.certificate_signed(request.certificate_chain).await {
            Ok(()) => Ok(CertificateSignedResponse::new(
                CertificateSignedStatus::Accepted,
            )),
            Err(reason) => Ok(
                CertificateSignedResponse::new(CertificateSignedStatus::Rejected).with_status_info(
                    StatusInfo::new("InvalidCertificate").with_additional_info(reason),
                ),
            ),
        }
    }
}

impl provisioning::ChargingStationHandler for Settings {
    async fn on_set_network_profile(
        &self,
        request: SetNetworkProfileRequest,
    ) -> Result<SetNetworkProfileResponse, CallError> {
        let Some((handle, _)) = self.client.get() else {
            return Err(CallError::new(ErrorCode::InternalError, "not started yet"));
        };
        let connection = &request.connection_data;
        if let Some(reason) = self.refuse_network_profile(connection) {
            tracing::warn!("{}: refusing the network profile: {reason}", self.identity);
            return Ok(
                SetNetworkProfileResponse::new(SetNetworkProfileStatus::Rejected).with_status_info(
                    StatusInfo::new("InvalidProfile").with_additional_info(reason),
                ),
            );
        }
        let profile = NetworkProfile {
            profile: u8::try_from(connection.security_profile).unwrap_or(3),
            url: connection.ocpp_csms_url.trim_end_matches('/').to_owned(),
        };
        let key = format!("{SLOT_PREFIX}{}", request.configuration_slot);
        if let Err(e) = handle.set_values(vec![(key, Some(profile.stored()))]).await {
            tracing::error!("{}: cannot store the network profile: {e}", self.identity);
            return Ok(SetNetworkProfileResponse::new(
                SetNetworkProfileStatus::Failed,
            ));
        }
        tracing::info!(
            "{}: network profile {} in slot {}: security profile {}",
            self.identity,
            profile.url,
            request.configuration_slot,
            profile.profile
        );
        lock(&self.slots).insert(request.configuration_slot, profile);
        Ok(SetNetworkProfileResponse::new(
            SetNetworkProfileStatus::Accepted,
        ))
    }

    async fn on_reset(&self, request: ResetRequest) -> Result<ResetResponse, CallError> {
        let (reboot, status) = match request.type_ {
            _ if request.evse_id.is_some() => {
                return Ok(ResetResponse::new(ResetStatus::Rejected));
            }
            Reset::Immediate => (Reboot::Immediate, ResetStatus::Accepted),
            Reset::OnIdle
                if self
                    .in_transaction
                    .load(std::sync::atomic::Ordering::SeqCst) =>
            {
                (Reboot::OnIdle, ResetStatus::Scheduled)
            }
            Reset::OnIdle => (Reboot::OnIdle, ResetStatus::Accepted),
        };
        tracing::info!("{}: reset {reboot:?}: {status}", self.identity);
        *lock(&self.reboot) = Some(reboot);
        Ok(ResetResponse::new(status))
    }

    async fn on_set_variables(
        &self,
        request: SetVariablesRequest,
    ) -> Result<SetVariablesResponse, CallError> {
        let Some((handle, _)) = self.client.get() else {
            return Err(CallError::new(ErrorCode::InternalError, "not started yet"));
        };
        let mut results = Vec::with_capacity(request.set_variable_data.len());
        let mut changed = false;
        for data in request.set_variable_data {
            let status = match (data.component.name.as_str(), data.variable.name.as_str()) {
                ("SecurityCtrlr", "BasicAuthPassword") => {
                    match self.set_password(&data.attribute_value).await {
                        Ok(()) => {
                            changed = true;
                            SetVariableStatus::Accepted
                        }
                        Err(reason) => {
                            tracing::warn!("rejecting the new BasicAuthPassword: {reason}");
                            SetVariableStatus::Rejected
                        }
                    }
                }
                ("OCPPCommCtrlr", "NetworkConfigurationPriority") => {
                    self.set_priority(handle, &data.attribute_value).await
                }
                ("SecurityCtrlr" | "OCPPCommCtrlr", _) => SetVariableStatus::UnknownVariable,
                _ => SetVariableStatus::UnknownComponent,
            };
            results.push(SetVariableResult::new(
                status,
                data.component,
                data.variable,
            ));
        }
        if changed {
            tracing::info!("new BasicAuthPassword stored: reconnecting with it");
            self.reconnect_soon();
        }
        Ok(SetVariablesResponse::new(results))
    }
}

/// What the durable station does (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct DurableConfig {
    /// Where the station keeps its state.
    pub state_dir: PathBuf,
    /// How many transactions to run.
    pub transactions: u32,
    /// How many `Updated` events each has between `Started` and `Ended`.
    pub updates: u32,
    /// The time between two events.
    pub event_interval: Duration,
    /// How many attempts a TransactionEvent gets.
    pub message_attempts: u32,
    /// The wait after a failed attempt (times the attempts so far).
    pub retry_interval: Duration,
}

/// Why the durable station stopped.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    /// The station's configuration.
    #[error(transparent)]
    Station(#[from] StationError),
    /// The state directory or its database.
    #[error("the state in {dir}: {error}")]
    State {
        /// The directory.
        dir: String,
        /// What failed.
        error: String,
    },
    /// A TransactionEvent could not be stored.
    #[error("a TransactionEvent: {0}")]
    Event(CallFailed),
    /// None of the versions asked for is one the durable station speaks (2.0.1, 1.6).
    #[error("a station with --state-dir speaks OCPP 2.0.1 or 1.6 (--ocpp)")]
    Version,
    /// TransactionEvents were given up after their last attempt.
    #[error("{0} TransactionEvents were given up after their last attempt")]
    GivenUp(usize),
}

/// How far the station got: the transaction it is in and the next event of it.
fn progress(value: Option<&str>) -> (u32, u32) {
    value
        .and_then(|v| v.split_once(','))
        .and_then(|(t, s)| Some((t.parse().ok()?, s.parse().ok()?)))
        .unwrap_or((0, 0))
}

/// The transaction id of the station's `n`th transaction (unique per station).
pub fn transaction_id(identity: &str, n: u32) -> String {
    format!("{identity}-tx{n}")
}

/// The step after `step` of transaction `n`: the next event, or the next transaction's first.
fn next_step(n: u32, step: u32, updates: u32) -> (u32, u32) {
    if step > updates {
        (n + 1, 0)
    } else {
        (n, step + 1)
    }
}

/// The version a durable station speaks: the first of `versions` it has (2.0.1 or 1.6).
fn durable_version(versions: &[OcppVersion]) -> Result<OcppVersion, DurableError> {
    versions
        .iter()
        .copied()
        .find(|v| matches!(v, OcppVersion::V1_6 | OcppVersion::V2_0_1))
        .ok_or(DurableError::Version)
}

/// The energy register at `step` of a transaction, in Wh.
fn meter_wh(step: u32) -> f64 {
    10_000.0 + 500.0 * f64::from(step)
}

/// The `step`th event of transaction `n` (0: Started; `updates + 1`: Ended).
fn event_request(
    identity: &str,
    n: u32,
    step: u32,
    updates: u32,
    offline: bool,
) -> TransactionEventRequest {
    let (kind, trigger) = match step {
        0 => (TransactionEvent::Started, TriggerReason::Authorized),
        s if s > updates => (TransactionEvent::Ended, TriggerReason::EvDeparted),
        _ => (TransactionEvent::Updated, TriggerReason::MeterValuePeriodic),
    };
    let mut info = Transaction::new(transaction_id(identity, n));
    if kind == TransactionEvent::Ended {
        info = info.with_stopped_reason(Reason::EvDisconnected);
    }
    let context = match kind {
        TransactionEvent::Started => ReadingContext::TransactionBegin,
        TransactionEvent::Ended => ReadingContext::TransactionEnd,
        _ => ReadingContext::SamplePeriodic,
    };
    let sample = SampledValue::new(meter_wh(step))
        .with_measurand(Measurand::EnergyActiveImportRegister)
        .with_context(context);
    let mut request =
        TransactionEventRequest::new(kind, DateTime::now(), trigger, i64::from(step), info)
            .with_evse(Evse::new(1).with_connector_id(1))
            .with_meter_value(vec![MeterValue::new(vec![sample], DateTime::now())]);
    if kind == TransactionEvent::Started {
        request = request.with_id_token(IdToken::new("EXAMPLE-TAG-1", IdTokenEnum::Iso14443));
    }
    if offline {
        request.offline = Some(true);
    }
    request
}

/// Boots until the CSMS accepts (each attempt waits for a connection; a refusal waits the
/// interval the CSMS gave).
async fn boot(handle: Handle, config: StationConfig) {
    loop {
        let request = BootNotificationRequest::new(
            ChargingStation::new(config.model.clone(), config.vendor.clone()),
            BootReason::PowerUp,
        );
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

/// Runs the durable station (see the [module docs](self)) until every transaction is run
/// and delivered.
///
/// # Errors
///
/// A bad URL or security profile, a state directory that cannot be used, a TransactionEvent
/// that could not be stored or was given up.
pub async fn run(config: StationConfig, durable: DurableConfig) -> Result<(), DurableError> {
    loop {
        match run_once(&config, &durable).await? {
            Ran::Done => return Ok(()),
            Ran::Reboot => tracing::info!("rebooting"),
        }
    }
}

/// How one run of the station ended.
enum Ran {
    /// Every transaction run and delivered.
    Done,
    /// A reboot: the CSMS's Reset, or a new network profile that did not connect.
    Reboot,
}

async fn run_once(config: &StationConfig, durable: &DurableConfig) -> Result<Ran, DurableError> {
    let (mut base, identity) = split_url(&config.url)?;
    let state = |error: String| DurableError::State {
        dir: durable.state_dir.display().to_string(),
        error,
    };
    std::fs::create_dir_all(&durable.state_dir).map_err(|e| state(e.to_string()))?;
    let mut store = SqliteStore::open(durable.state_dir.join("station.db"))
        .map_err(|e| state(e.to_string()))?;
    let loaded = store.load().map_err(|e| state(e.to_string()))?;
    let (mut n, mut step) = progress(loaded.values.get(PROGRESS_KEY).map(String::as_str));
    tracing::info!(
        "{identity}: state in {}: transaction {n}, step {step}, {} events to deliver",
        durable.state_dir.display(),
        loaded.queue.len()
    );

    let log = config.log.clone();
    let logged = identity.clone();
    let named = identity.clone();
    let given_up = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&given_up);
    // What the CSMS last set (A01, A02/A03) outlives the command line's.
    let mut security = config.security.clone();
    if let Some(password) = loaded.values.get(PASSWORD_KEY) {
        if security.password.as_deref() != Some(password.as_str()) {
            tracing::info!("{identity}: using the BasicAuthPassword the CSMS last set");
        }
        security.password = Some(password.clone());
    }
    if let (Some(chain), Some(key)) = (
        loaded.values.get(CERTIFICATE_KEY),
        loaded.values.get(PRIVATE_KEY_KEY),
    ) {
        tracing::info!("{identity}: using the certificate the CSMS last signed");
        security.certificate = Some((chain.clone().into_bytes(), key.clone().into_bytes()));
    }
    // A05: the network profile of the priority slot, if the CSMS set one.
    let slots: std::collections::BTreeMap<i64, NetworkProfile> = loaded
        .values
        .iter()
        .filter_map(|(key, value)| {
            let slot = key.strip_prefix(SLOT_PREFIX)?.parse().ok()?;
            Some((slot, NetworkProfile::parse(value)?))
        })
        .collect();
    let on_slot = loaded
        .values
        .get(PRIORITY_KEY)
        .and_then(|slot| slot.parse::<i64>().ok())
        .and_then(|slot| slots.get(&slot).map(|profile| (slot, profile.clone())));
    if let Some((slot, profile)) = &on_slot {
        tracing::info!(
            "{identity}: connecting with network profile {slot}: {} in security profile {}",
            profile.url,
            profile.profile
        );
        base.clone_from(&profile.url);
        security.profile = profile.profile;
    }
    let pending = match (
        loaded.values.get(PENDING_CERTIFICATE_KEY),
        loaded.values.get(PENDING_PRIVATE_KEY_KEY),
    ) {
        (Some(chain), Some(key)) => Some((chain.clone(), key.clone())),
        _ => None,
    };
    let version = durable_version(&config.versions)?;
    let settings = Settings {
        client: Arc::default(),
        version,
        identity: identity.clone(),
        base: base.clone(),
        organization: config.organization.clone(),
        security: security.clone(),
        csr: Arc::default(),
        pending: Arc::default(),
        slots: Arc::new(Mutex::new(slots)),
        reboot: Arc::default(),
        in_transaction: Arc::new(std::sync::atomic::AtomicBool::new(step > 0)),
    };
    let events = settings.clone();
    let connected = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failures = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let (seen_up, seen_failing) = (Arc::clone(&connected), Arc::clone(&failures));
    let client = ClientConfig::new(base, identity.clone())
        .offer(match version {
            OcppVersion::V1_6 => v1_6::dispatcher(&settings),
            _ => Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
                .with(provisioning::ChargingStationService(settings.clone()))
                .with(remotecontrol::ChargingStationService(settings.clone()))
                .with(security::ChargingStationService(settings.clone())),
        })
        .with_engine(
            engine::Config::default()
                .with_call_timeout(config.call_timeout)
                .with_retry(durable.message_attempts, durable.retry_interval)
                // 1.6: the transaction id the CSMS gives, which later messages carry.
                .with_kept_answers(&[v1_6::START_TRANSACTION]),
        )
        .with_backoff(engine::Backoff {
            wait_minimum: Duration::from_millis(200),
            random_range: Duration::from_millis(200),
            repeat_times: 2,
        })
        .with_store(store)
        .on_frame(move |direction, text| log.record(&logged, direction.into(), text))
        .on_event(move |event| match event {
            ClientEvent::Engine(Event::Retrying {
                action,
                attempts,
                reason,
                ..
            }) => tracing::warn!("{named}: {action} attempt {attempts} failed ({reason})"),
            ClientEvent::Engine(Event::Discarded { action, reason, .. }) => {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tracing::error!("{named}: {action} given up: {reason:?}")
            }
            ClientEvent::Connected { .. } => {
                seen_up.store(true, std::sync::atomic::Ordering::SeqCst);
                tracing::info!("{named}: connected");
            }
            ClientEvent::ReconnectFailed { error, .. } => {
                seen_failing.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tracing::warn!("{named}: cannot connect: {error}");
            }
            ClientEvent::CredentialsRenewed => events.renewed(),
            ClientEvent::CredentialsFellBack { error } => events.fell_back(error),
            ClientEvent::Disconnected(ended) => {
                tracing::info!("{named}: disconnected ({ended:?})")
            }
            _ => {}
        });
    let client = security.clone().apply(client).map_err(StationError::from)?;
    let client = Client::start(client)
        .await
        .map_err(|e| DurableError::Station(StationError::Connect(e)))?;
    let handle = client.handle().clone();
    let _ = settings
        .client
        .set((handle.clone(), client.credentials().clone()));
    if let Some((chain, key)) = pending {
        // Killed after accepting a certificate, before connecting with it: try it now. (A
        // first connection that started before this goes on with the previous certificate;
        // the renewal then waits for the next one.)
        match security.renew(client.credentials(), chain.as_bytes(), key.as_bytes()) {
            Ok(()) => {
                tracing::info!("{identity}: trying the certificate accepted before the restart");
                *lock(&settings.pending) = Some((chain, key));
            }
            Err(e) => tracing::warn!("{identity}: the stored renewed certificate: {e}"),
        }
    }

    match version {
        OcppVersion::V1_6 => tokio::spawn(v1_6::boot(handle.clone(), config.clone())),
        _ => tokio::spawn(boot(handle.clone(), config.clone())),
    };

    // Whether to reboot now: the CSMS's Reset, or a new network profile that does not
    // connect (then the previous one comes back: the priority is forgotten).
    let reboot = || async {
        if let Some((slot, _)) = &on_slot {
            let failed = failures.load(std::sync::atomic::Ordering::SeqCst);
            if !connected.load(std::sync::atomic::Ordering::SeqCst) && failed >= PROFILE_ATTEMPTS {
                tracing::warn!(
                    "{identity}: network profile {slot} failed {failed} times: back to the previous one"
                );
                let _ = handle
                    .set_values(vec![(PRIORITY_KEY.to_owned(), None)])
                    .await;
                return true;
            }
        }
        settings.reboot_due()
    };
    while n < durable.transactions {
        settings
            .in_transaction
            .store(step > 0, std::sync::atomic::Ordering::SeqCst);
        if reboot().await {
            close(client, &identity).await;
            return Ok(Ran::Reboot);
        }
        if version == OcppVersion::V1_6 {
            match v1_6::step(&handle, config, durable, n, step).await? {
                Some(next) => (n, step) = next,
                // Waiting for the transaction id: nothing taken or stored.
                None => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
            tokio::time::sleep(durable.event_interval).await;
            continue;
        }
        let offline = !handle.is_connected().await;
        let request = event_request(&identity, n, step, durable.updates, offline);
        let (next_n, next_step) = next_step(n, step, durable.updates);
        let progress = format!("{next_n},{next_step}");
        // Stored: it goes out whenever it can, whether or not this process is still there.
        let _stored = handle
            .call_stored::<TransactionEventFeature>(
                request,
                vec![(PROGRESS_KEY.to_owned(), Some(progress))],
            )
            .await
            .map_err(DurableError::Event)?;
        tracing::info!(
            "{identity}: transaction {n} event {step} stored{}",
            if offline { " (offline)" } else { "" }
        );
        (n, step) = (next_n, next_step);
        tokio::time::sleep(durable.event_interval).await;
    }
    settings
        .in_transaction
        .store(false, std::sync::atomic::Ordering::SeqCst);
    loop {
        let left = handle.stored_calls().await;
        if left == 0 {
            break;
        }
        if reboot().await {
            close(client, &identity).await;
            return Ok(Ran::Reboot);
        }
        tracing::info!("{identity}: {left} events to deliver");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tracing::info!(
        "{identity}: {} transactions run and delivered",
        durable.transactions
    );
    close(client, &identity).await;
    match given_up.load(std::sync::atomic::Ordering::SeqCst) {
        0 => Ok(Ran::Done),
        lost => Err(DurableError::GivenUp(lost)),
    }
}

/// Closes the connection for good (its store with it), waiting at most 5 s.
async fn close(client: Client, identity: &str) {
    if tokio::time::timeout(Duration::from_secs(5), client.close())
        .await
        .is_err()
    {
        tracing::warn!("{identity}: the connection did not close in time");
    }
}
