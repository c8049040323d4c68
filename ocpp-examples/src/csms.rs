//! The example CSMS: accepts charging stations over WebSocket, OCPP 1.6, 2.0.1 and 2.1 alike, and
//! answers them through the dispatcher of the version each negotiated, signing their
//! certificates with its own CA.
//!
//! What it does, in every version (the handlers of each are in [`v1_6`], [`v2_0_1`] and
//! [`v2_1`], the memory of sessions they share in [`crate::sessions`]; 2.1 answers the same
//! session messages as 2.0.1, with the same code):
//!
//! - accepts `ws://HOST:PORT/.../{chargingStationId}` (`wss://` in security profiles 2 and 3,
//!   with the credentials of [`crate::profiles`]) on `ocpp-connection`'s `Server`, speaking the first of the client's
//!   subprotocols it knows (`ocpp2.1`, `ocpp2.0.1`, `ocpp1.6`); a path without an identity gets HTTP 400,
//!   and a client that offers no subprotocol this CSMS speaks gets a handshake without
//!   `Sec-WebSocket-Protocol`, then an immediate close (2.0.1 Part 4 §3.2);
//! - BootNotification: Accepted, with the heartbeat interval; Heartbeat: the current time;
//!   StatusNotification: logged;
//! - Authorize: every id token is accepted unless blocked ([`Csms::with_blocked_id_tag`]) or
//!   busy with another transaction (`ConcurrentTx`);
//! - transactions (1.6 StartTransaction, MeterValues, StopTransaction; 2.0.1 and 2.1
//!   TransactionEvent Started, Updated, Ended, and MeterValues): recorded in [`Csms::sessions`], with the energy
//!   delivered logged at the end. 1.6 transaction ids are handed out by the CSMS;
//! - DataTransfer: vendor [`VENDOR_ID`](crate::sessions::VENDOR_ID), message
//!   [`ECHO_MESSAGE_ID`](crate::sessions::ECHO_MESSAGE_ID) is Accepted and its data echoed;
//!   other messages get `UnknownVendorId` or `UnknownMessageId`;
//! - SignCertificate: the CSR is checked (it must parse, its signature must verify, and its
//!   subject CN must be the identity of the station that sent it) and signed; the answer is
//!   Accepted, and a CertificateSigned with the chain (leaf, then CA)
//!   follows on the same connection. A CSR that fails the check is answered Rejected;
//! - SecurityEventNotification: logged;
//! - 2.1 periodic event streams: OpenPeriodicEventStream is Accepted, the values of each
//!   NotifyPeriodicEventStream SEND are recorded in [`Csms::sessions`] (and never answered, as
//!   no SEND is), ClosePeriodicEventStream closes the stream;
//! - 2.1 CALLRESULTs to the CSMS's own CALLs (CertificateSigned) that their schema rejects:
//!   answered with a CALLRESULTERROR with the CALLRESULT's message id;
//! - anything else, and every malformed frame, unknown action or invalid payload: the
//!   dispatcher's CALLERROR, in the codes of the connection's version; the connection stays
//!   open.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ocpp_connection::engine;
use ocpp_connection::server::{Registry, Server, ServerConfig, ServerEvent};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::{CallError, Feature, Message, OcppVersion, Role};

use crate::connection::{log_event, CallFailed, Peer, DEFAULT_CALL_TIMEOUT};
use crate::frame_log::{Direction, FrameLog};
use crate::lock;
use crate::pki::{CertificateAuthority, LeafUsage};
use crate::profiles::Passwords;
use crate::protocol::SUPPORTED_VERSIONS;
use crate::sessions::{Authorization, Sessions, Start, Transaction};

pub mod v1_6;
mod v2;
pub mod v2_0_1;
pub mod v2_1;

/// The heartbeat interval sent in BootNotification responses unless configured otherwise.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(300);

/// The CSMS: its CA, its connected stations and its settings.
///
/// One value serves every connection: the handler traits take the charging station's identity,
/// and [`Csms::peer`] finds the connection to send CALLs to it.
pub struct Csms {
    ca: CertificateAuthority,
    log: FrameLog,
    heartbeat_interval: Duration,
    call_timeout: Duration,
    registry: OnceLock<Registry>,
    sessions: Sessions,
    passwords: Passwords,
}

impl std::fmt::Debug for Csms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Csms")
            .field("ca", &self.ca)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .finish_non_exhaustive()
    }
}

impl Csms {
    /// A CSMS that signs CSRs with `ca` and logs frames to `log`.
    pub fn new(ca: CertificateAuthority, log: FrameLog) -> Self {
        Csms {
            ca,
            log,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            registry: OnceLock::new(),
            sessions: Sessions::new(),
            passwords: Passwords::default(),
        }
    }

    /// Blocks an id token: Authorize and transaction starts with it are answered `Blocked`.
    #[must_use]
    pub fn with_blocked_id_tag(self, id_tag: &str) -> Self {
        self.sessions.block(id_tag);
        self
    }

    /// Shares `passwords` with the server's authentication hook (give the same record to
    /// [`CsmsSecurity`](crate::profiles::CsmsSecurity)): [`Csms::set_basic_auth_password`]
    /// writes the password a station accepted there.
    #[must_use]
    pub fn with_passwords(mut self, passwords: Passwords) -> Self {
        self.passwords = passwords;
        self
    }

    /// The stations' HTTP Basic passwords as this CSMS last set them.
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// Changes the HTTP Basic password of `station` (security profiles 1 and 2; OCPP 2.0.1
    /// A01): SetVariables `SecurityCtrlr.BasicAuthPassword` in 2.0.1 and 2.1, ChangeConfiguration
    /// `AuthorizationKey` in 1.6. When the station answers `Accepted`, the record
    /// ([`Csms::passwords`]) holds the new password from then on, and the station's next
    /// connection must use it. Returns the station's answer (`Accepted`, `Rejected`, ...).
    ///
    /// A station that stored the new password but whose `Accepted` was lost on the way
    /// connects with a password this record does not hold yet: it gets HTTP 401 until an
    /// operator sets the record ([`Passwords::set`]).
    ///
    /// # Errors
    ///
    /// The station is not connected, or the call got no answer.
    pub async fn set_basic_auth_password(
        &self,
        station: &str,
        password: &str,
    ) -> Result<String, AdminError> {
        let peer = self
            .peer(station)
            .ok_or_else(|| AdminError::NotConnected(station.to_owned()))?;
        let answer = match peer.version() {
            OcppVersion::V1_6 => v1_6::set_password(&peer, password).await,
            OcppVersion::V2_0_1 => v2_0_1::set_password(&peer, password).await,
            _ => v2_1::set_password(&peer, password).await,
        }?;
        if answer == "Accepted" {
            self.passwords.set(station, password);
            tracing::info!("{station}: accepted a new password; the record holds it");
        } else {
            tracing::warn!("{station}: the new password was answered {answer}");
        }
        Ok(answer)
    }

    /// Asks `station` to renew its certificate (OCPP 2.0.1 A02): TriggerMessage
    /// `SignChargingStationCertificate` in 2.0.1 and 2.1, ExtendedTriggerMessage
    /// `SignChargePointCertificate` in 1.6. A station that accepts sends SignCertificate with
    /// a new CSR, which this CSMS signs as any other. Returns the station's answer.
    ///
    /// # Errors
    ///
    /// The station is not connected, or the call got no answer.
    pub async fn renew_certificate(&self, station: &str) -> Result<String, AdminError> {
        let peer = self
            .peer(station)
            .ok_or_else(|| AdminError::NotConnected(station.to_owned()))?;
        let answer = match peer.version() {
            OcppVersion::V1_6 => v1_6::trigger_certificate(&peer).await,
            OcppVersion::V2_0_1 => v2_0_1::trigger_certificate(&peer).await,
            _ => v2_1::trigger_certificate(&peer).await,
        }?;
        tracing::info!("{station}: certificate renewal answered {answer}");
        Ok(answer)
    }

    /// Upgrades the security profile of `station` (OCPP 2.0.1 A05): SetNetworkProfile with
    /// `url` (the CSMS's base URL, without the identity) and `profile` in `slot`, then
    /// SetVariables `OCPPCommCtrlr.NetworkConfigurationPriority` with that slot first, then
    /// Reset `OnIdle`: the station reboots onto the new profile. A station refuses a profile
    /// lower than the one it has. In 1.6, ChangeConfiguration `SecurityProfile` (`slot` and
    /// `url` unused). Returns the station's answers.
    ///
    /// # Errors
    ///
    /// The station is not connected, speaks 2.1 (not offered by this example), or a call
    /// got no answer.
    pub async fn upgrade_security_profile(
        &self,
        station: &str,
        slot: i64,
        profile: i64,
        url: &str,
    ) -> Result<String, AdminError> {
        let peer = self
            .peer(station)
            .ok_or_else(|| AdminError::NotConnected(station.to_owned()))?;
        let answers = match peer.version() {
            OcppVersion::V1_6 => v1_6::upgrade_security_profile(&peer, profile).await?,
            OcppVersion::V2_0_1 => {
                v2_0_1::upgrade_security_profile(&peer, slot, profile, url).await?
            }
            other => return Err(AdminError::Unsupported(other)),
        };
        tracing::info!("{station}: security profile {profile}: {answers}");
        Ok(answers)
    }

    /// Runs one operator command (the example CSMS reads them from standard input with
    /// `--admin-stdin`) and says how it went, in one line:
    ///
    /// - `set-password STATION PASSWORD`: [`Csms::set_basic_auth_password`];
    /// - `renew-certificate STATION`: [`Csms::renew_certificate`];
    /// - `upgrade-profile STATION SLOT PROFILE URL`: [`Csms::upgrade_security_profile`];
    /// - `transactions STATION`: the station's transactions and events counted.
    pub async fn command(&self, line: &str) -> String {
        let words: Vec<&str> = line.split_whitespace().collect();
        let outcome = match words.as_slice() {
            ["set-password", station, password] => self
                .set_basic_auth_password(station, password)
                .await
                .map(|answer| format!("{station} set-password: {answer}")),
            ["renew-certificate", station] => self
                .renew_certificate(station)
                .await
                .map(|answer| format!("{station} renew-certificate: {answer}")),
            ["upgrade-profile", station, slot, profile, url] => {
                match (slot.parse(), profile.parse()) {
                    (Ok(slot), Ok(profile)) => self
                        .upgrade_security_profile(station, slot, profile, url)
                        .await
                        .map(|answers| format!("{station} upgrade-profile: {answers}")),
                    _ => Err(AdminError::Usage(line.trim().to_owned())),
                }
            }
            ["transactions", station] => Ok(self
                .sessions
                .transactions(station)
                .iter()
                .map(|t| {
                    format!(
                        "{station} transaction {}: {} events, {} repeated, {} offline{}",
                        t.id,
                        t.events,
                        t.repeated,
                        t.offline_events,
                        if t.is_ongoing() {
                            ", ongoing"
                        } else {
                            ", ended"
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")),
            [] => return String::new(),
            _ => Err(AdminError::Usage(line.trim().to_owned())),
        };
        outcome.unwrap_or_else(|e| format!("error: {e}"))
    }

    /// The id tokens and transactions this CSMS knows.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Sets the heartbeat interval told to stations at boot (whole seconds).
    #[must_use]
    pub fn with_heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// Sets how long our CALLs wait for the station's answer.
    #[must_use]
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The CA that signs the stations' CSRs.
    pub fn ca(&self) -> &CertificateAuthority {
        &self.ca
    }

    /// The connection to `station`, if it is connected.
    pub fn peer(&self, station: &str) -> Option<Peer> {
        let handle = self.registry.get()?.get(station)?;
        Some(Peer::new(handle, station, Role::Csms))
    }

    /// The dispatcher for a connection speaking `version`: this CSMS's handlers for every block
    /// it implements in that version. `None` for a version this CSMS does not speak; every
    /// version in [`SUPPORTED_VERSIONS`] has one.
    pub fn dispatcher(self: &Arc<Self>, version: OcppVersion) -> Option<Dispatcher> {
        match version {
            OcppVersion::V1_6 => Some(v1_6::dispatcher(self)),
            OcppVersion::V2_0_1 => Some(v2_0_1::dispatcher(self)),
            OcppVersion::V2_1 => Some(v2_1::dispatcher(self)),
            // Versions a later `ocpp-messages` may add.
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The server configuration that serves every version in [`SUPPORTED_VERSIONS`] with this
    /// CSMS's handlers, logs every frame to the CSMS's frame log and every connection and
    /// engine event with `tracing`, and times our CALLs out after the call timeout. Security
    /// (authentication, TLS) is added by [`CsmsSecurity::apply`](crate::profiles::CsmsSecurity::apply).
    pub fn server_config(self: &Arc<Self>) -> ServerConfig {
        let mut config = ServerConfig::new().with_engine(
            engine::Config::default()
                .with_call_timeout(self.call_timeout)
                .with_heartbeat(false)
                // A station's retried transaction message (its answer was lost) is answered
                // as the first time, without running the handler again.
                .with_remembered_answers(4),
        );
        for &version in SUPPORTED_VERSIONS {
            if let Some(dispatcher) = self.dispatcher(version) {
                config = config.serve(dispatcher);
            }
        }
        let log = self.log.clone();
        let versions: Arc<Mutex<HashMap<String, OcppVersion>>> = Arc::default();
        config
            .on_frame(move |station, direction, text| {
                log.record(station, Direction::from(direction), text);
            })
            .on_event(move |station, event| match event {
                ServerEvent::Connected { version, remote } => {
                    lock(&versions).insert(station.to_owned(), *version);
                    tracing::info!(
                        "{station}: connected from {remote}, speaking {}",
                        version.subprotocol()
                    );
                }
                ServerEvent::Engine(event) => {
                    let version = lock(&versions).get(station).copied();
                    log_event(station, version, event);
                }
                ServerEvent::Disconnected(ended) => {
                    tracing::info!("{station}: disconnected ({ended:?})");
                }
                other => tracing::info!("{station}: {other:?}"),
            })
    }

    /// Starts serving on `address` with `config` (from [`Csms::server_config`], secured or
    /// not): stations connect to `ws[s]://ADDRESS/.../{chargingStationId}`. The CSMS sends
    /// its own CALLs through the returned server's registry.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound, or this CSMS serves already.
    pub async fn bind(
        self: &Arc<Self>,
        address: impl tokio::net::ToSocketAddrs,
        config: ServerConfig,
    ) -> io::Result<Server> {
        if self.registry.get().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "this CSMS serves already",
            ));
        }
        let server = Server::bind(address, config).await?;
        self.registry.set(server.registry().clone()).map_err(|_| {
            io::Error::new(io::ErrorKind::AlreadyExists, "this CSMS serves already")
        })?;
        Ok(server)
    }
}

/// Why an operator's call to a station failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The station has no connection to this CSMS.
    #[error("{0} is not connected")]
    NotConnected(String),
    /// The call got no answer.
    #[error(transparent)]
    Call(#[from] CallFailed),
    /// A command that is none of [`Csms::command`]'s.
    #[error(
        "unknown command {0:?} (set-password STATION PASSWORD, renew-certificate STATION, \
         upgrade-profile STATION SLOT PROFILE URL, transactions STATION)"
    )]
    Usage(String),
    /// This example does not offer the call in the station's version.
    #[error("not offered in OCPP {0} by this example")]
    Unsupported(OcppVersion),
}

/// Why a CSR is not signed: a `reasonCode` (at most 20 characters) and details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrRefusal {
    /// The 2.0.1 `statusInfo.reasonCode`.
    pub reason_code: &'static str,
    /// What went wrong, at most 512 characters.
    pub info: String,
}

impl CsrRefusal {
    fn new(reason_code: &'static str, info: &dyn std::fmt::Display) -> Self {
        let info = info.to_string().chars().take(512).collect();
        CsrRefusal { reason_code, info }
    }
}

/// What the handlers of every version share: each translates its messages to these calls.
impl Csms {
    /// The heartbeat interval for BootNotification responses, in whole seconds.
    fn heartbeat_interval_secs(&self) -> i64 {
        i64::try_from(self.heartbeat_interval.as_secs()).unwrap_or(i64::MAX)
    }

    /// Signs `csr` and, once the SignCertificate response has gone out, sends the chain to
    /// `station` in a CALL of `F` built by `request`; `status` names the answer for the log.
    ///
    /// `Ok(Err(_))` is a CSR to answer Rejected; `Err` a CALLERROR (the station is gone).
    fn sign_and_send<F>(
        &self,
        station: &str,
        csr: &str,
        usage: LeafUsage,
        request: impl FnOnce(String) -> F::Request,
        status: fn(&F::Response) -> String,
    ) -> Result<Result<(), CsrRefusal>, CallError>
    where
        F: Feature + 'static,
        F::Request: Clone + Send + Sync + 'static,
    {
        let chain = match self.ca.sign_csr_for(csr, usage, station) {
            Ok(chain) => chain,
            Err(e) => {
                tracing::warn!("{station}: rejecting the CSR: {e}");
                return Ok(Err(CsrRefusal::new("InvalidCSR", &e)));
            }
        };
        let signed = request(chain);
        // Refuse now what could not be sent later (a chain beyond the schema's maxLength).
        if let Err(e) = signed.to_json_string() {
            tracing::warn!("{station}: cannot send the signed chain: {e}");
            return Ok(Err(CsrRefusal::new("ChainTooLong", &e)));
        }
        let Some(peer) = self.peer(station) else {
            return Err(CallError::internal("the station is no longer connected"));
        };
        tracing::info!("{station}: CSR accepted, sending the signed certificate");
        // The CALLRESULT goes first; the CALL waits for its turn in a task of its own.
        tokio::spawn(async move {
            match peer.call::<F>(&signed).await {
                Ok(response) => tracing::info!(
                    "{}: {} answered {}",
                    peer.station(),
                    F::NAME,
                    status(&response)
                ),
                Err(e) => tracing::warn!("{}: {} failed: {e}", peer.station(), F::NAME),
            }
        });
        Ok(Ok(()))
    }

    /// A security event: logged.
    fn security_event(
        &self,
        station: &str,
        kind: &str,
        timestamp: &ocpp_messages::DateTime,
        tech_info: Option<&str>,
    ) {
        tracing::info!(
            "{station}: security event {kind} at {timestamp}{}",
            tech_info
                .map(|info| format!(": {info}"))
                .unwrap_or_default()
        );
    }

    /// Authorize: the verdict on `id_tag`, logged.
    fn authorize(&self, station: &str, id_tag: &str) -> Authorization {
        let verdict = self.sessions.authorize(id_tag);
        tracing::info!("{station}: id token {id_tag:?} is {verdict:?}");
        verdict
    }

    /// DataTransfer: the verdict on the vendor and message ids, logged.
    fn data_transfer(
        &self,
        station: &str,
        vendor_id: &str,
        message_id: Option<&str>,
    ) -> crate::sessions::DataTransferVerdict {
        let verdict = crate::sessions::data_transfer(vendor_id, message_id);
        tracing::info!(
            "{station}: DataTransfer {vendor_id} {}: {verdict}",
            message_id.unwrap_or("(no messageId)")
        );
        verdict
    }

    /// A transaction started: recorded and logged.
    fn transaction_started(
        &self,
        station: &str,
        start: Start<'_>,
    ) -> (String, Option<Authorization>) {
        let (tag, meter) = (start.id_tag.map(str::to_owned), start.meter_wh);
        let (id, verdict) = self.sessions.start(station, start);
        tracing::info!(
            "{station}: transaction {id} started{}{}{}",
            tag.map(|t| format!(" by {t:?}")).unwrap_or_default(),
            verdict.map(|v| format!(" ({v:?})")).unwrap_or_default(),
            meter
                .map(|m| format!(", meter at {m} Wh"))
                .unwrap_or_default(),
        );
        (id, verdict)
    }

    /// An energy reading, of a transaction or of whatever runs on `connector`: recorded.
    fn metered(&self, station: &str, id: Option<&str>, connector: i64, meter_wh: Option<f64>) {
        match self.sessions.meter(station, id, connector, meter_wh) {
            Some(id) => match meter_wh {
                Some(wh) => tracing::info!("{station}: transaction {id}: meter at {wh} Wh"),
                None => tracing::info!("{station}: transaction {id}: meter values without energy"),
            },
            None => tracing::info!(
                "{station}: meter values of connector {connector}, no transaction{}",
                meter_wh.map(|m| format!(", at {m} Wh")).unwrap_or_default()
            ),
        }
    }

    /// A periodic event stream opened (2.1): recorded and logged.
    fn stream_opened(&self, station: &str, id: i64, variable_monitoring_id: i64) {
        let replaced = self
            .sessions
            .open_stream(station, id, variable_monitoring_id);
        tracing::info!(
            "{station}: event stream {id} opened for monitor {variable_monitoring_id}{}",
            if replaced {
                ", replacing an open one"
            } else {
                ""
            }
        );
    }

    /// The values of a NotifyPeriodicEventStream SEND (2.1): recorded and logged; values for a
    /// stream that is not open are logged and dropped (a SEND cannot be refused).
    fn stream_values(
        &self,
        station: &str,
        id: i64,
        basetime: &ocpp_messages::DateTime,
        values: Vec<(f64, String)>,
        pending: i64,
    ) {
        let count = values.len();
        match self
            .sessions
            .stream_values(station, id, basetime, values, pending)
        {
            Some(total) => tracing::info!(
                "{station}: event stream {id}: {count} value(s) from {basetime}, {total} in all, \
                 {pending} pending"
            ),
            None => tracing::warn!(
                "{station}: dropping {count} value(s) of event stream {id}, which is not open"
            ),
        }
    }

    /// A periodic event stream closed (2.1): recorded and logged; `false` if it was not open.
    fn stream_closed(&self, station: &str, id: i64) -> bool {
        match self.sessions.close_stream(station, id) {
            Some(stream) => {
                tracing::info!(
                    "{station}: event stream {id} closed after {} value(s)",
                    stream.values.len()
                );
                true
            }
            None => {
                tracing::warn!("{station}: closing event stream {id}, which is not open");
                false
            }
        }
    }

    /// A transaction ended: recorded, and logged with the energy it delivered.
    fn transaction_ended(
        &self,
        station: &str,
        id: &str,
        meter_wh: Option<f64>,
        reason: Option<String>,
        timestamp: ocpp_messages::DateTime,
    ) -> Option<Transaction> {
        let ended = self.sessions.stop(station, id, meter_wh, reason, timestamp);
        match &ended {
            Some(t) => tracing::info!(
                "{station}: transaction {id} ended ({}), {}",
                t.stop_reason.as_deref().unwrap_or("no reason given"),
                t.energy_wh()
                    .map_or("energy unknown".to_owned(), |wh| format!(
                        "{wh} Wh delivered"
                    ))
            ),
            None => tracing::warn!("{station}: the unknown transaction {id} ended"),
        }
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_version_has_a_dispatcher() {
        let csms = Arc::new(Csms::new(
            CertificateAuthority::generate("test").unwrap(),
            FrameLog::tracing_only(),
        ));
        for &version in SUPPORTED_VERSIONS {
            assert!(csms.dispatcher(version).is_some(), "{version}");
        }
    }
}
