//! The example CSMS: accepts charging stations over WebSocket, OCPP 1.6, 2.0.1 and 2.1 alike, and
//! answers them through the dispatcher of the version each negotiated, signing their
//! certificates with its own CA.
//!
//! What it does, in every version (the handlers of each are in [`v1_6`], [`v2_0_1`] and
//! [`v2_1`], the memory of sessions they share in [`crate::sessions`]; 2.1 answers the same
//! session messages as 2.0.1, with the same code):
//!
//! - accepts `ws://HOST:PORT/.../{chargingStationId}`, speaking the first of the client's
//!   subprotocols it knows (`ocpp2.1`, `ocpp2.0.1`, `ocpp1.6`); a path without an identity gets HTTP 404,
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
//! - SignCertificate: the CSR is checked (it must parse and its signature must verify) and
//!   signed; the answer is Accepted, and a CertificateSigned with the chain (leaf, then CA)
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
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::{CallError, Feature, Message, OcppVersion};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::connection::{Connection, Peer, DEFAULT_CALL_TIMEOUT};
use crate::frame_log::FrameLog;
use crate::pki::{CertificateAuthority, LeafUsage};
use crate::protocol::{identity_from_path, negotiate, offer, websocket_config, SUPPORTED_VERSIONS};
use crate::sessions::{Authorization, Sessions, Start, Transaction};

pub mod v1_6;
mod v2;
pub mod v2_0_1;
pub mod v2_1;

/// The heartbeat interval sent in BootNotification responses unless configured otherwise.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(300);

/// How long a refused connection is given to answer our close.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The CSMS: its CA, its connected stations and its settings.
///
/// One value serves every connection: the handler traits take the charging station's identity,
/// and [`Csms::peer`] finds the connection to send CALLs to it.
pub struct Csms {
    ca: CertificateAuthority,
    log: FrameLog,
    heartbeat_interval: Duration,
    call_timeout: Duration,
    stations: Mutex<HashMap<String, Peer>>,
    sessions: Sessions,
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
            stations: Mutex::new(HashMap::new()),
            sessions: Sessions::new(),
        }
    }

    /// Blocks an id token: Authorize and transaction starts with it are answered `Blocked`.
    #[must_use]
    pub fn with_blocked_id_tag(self, id_tag: &str) -> Self {
        self.sessions.block(id_tag);
        self
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
        self.stations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(station)
            .cloned()
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

    /// Accepts connections on `listener` until an accept fails fatally, serving each in its own
    /// task.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> io::Result<()> {
        loop {
            match listener.accept().await {
                Ok((stream, addr)) => {
                    // Frames are small and answered at once: send them without delay.
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::warn!("{addr}: cannot set TCP_NODELAY: {e}");
                    }
                    tokio::spawn(Arc::clone(&self).serve_connection(stream, addr));
                }
                // Out of file descriptors and the like: wait and go on.
                Err(e) if is_transient(&e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Serves one TCP connection: the WebSocket handshake, then OCPP until it closes.
    #[allow(clippy::result_large_err)] // the callback's type is tungstenite's
    pub async fn serve_connection(self: Arc<Self>, stream: TcpStream, addr: SocketAddr) {
        let mut handshake = Handshake::default();
        let answer = |request: &Request, response| handshake.answer(request, response);
        let ws = match tokio_tungstenite::accept_hdr_async_with_config(
            stream,
            answer,
            Some(websocket_config()),
        )
        .await
        {
            Ok(ws) => ws,
            Err(e) => {
                tracing::warn!("{addr}: WebSocket handshake failed: {e}");
                return;
            }
        };
        let Handshake {
            station,
            version,
            offered,
        } = handshake;
        let station = station.unwrap_or_default();
        let Some(dispatcher) = version.and_then(|v| self.dispatcher(v)) else {
            refuse(ws, &station, addr, offered.as_deref()).await;
            return;
        };
        let connection = Connection::new(ws, &station, dispatcher, self.log.clone())
            .with_call_timeout(self.call_timeout);
        let peer = connection.peer();
        tracing::info!(
            "{station}: connected from {addr}, speaking {}",
            peer.version().subprotocol()
        );
        let replaced = self
            .stations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(station.clone(), peer.clone());
        if let Some(old) = replaced {
            old.close("replaced by a new connection");
        }
        let result = connection.run().await;
        {
            let mut stations = self.stations.lock().unwrap_or_else(|e| e.into_inner());
            if stations
                .get(&station)
                .is_some_and(|p| p.same_connection(&peer))
            {
                stations.remove(&station);
            }
        }
        match result {
            Ok(()) => tracing::info!("{station}: disconnected"),
            Err(e) => tracing::warn!("{station}: connection failed: {e}"),
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    !matches!(
        e.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::NotConnected
    )
}

/// What the handshake learnt.
#[derive(Default)]
struct Handshake {
    station: Option<String>,
    version: Option<OcppVersion>,
    offered: Option<String>,
}

impl Handshake {
    /// The server's side of the handshake: 404 without a station identity; the negotiated
    /// subprotocol, or none.
    #[allow(clippy::result_large_err)] // the callback's type is tungstenite's
    fn answer(
        &mut self,
        request: &Request,
        mut response: Response,
    ) -> Result<Response, ErrorResponse> {
        let station = identity_from_path(request.uri().path()).map_err(|e| {
            tracing::warn!("refusing {}: {e}", request.uri());
            let mut error = ErrorResponse::new(Some(e.to_string()));
            *error.status_mut() = StatusCode::NOT_FOUND;
            error
        })?;
        // The header may come as several lines; together they are one comma-separated list.
        let offered: Vec<&str> = request
            .headers()
            .get_all(SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let offered = (!offered.is_empty()).then(|| offered.join(","));
        self.version = negotiate(offered.as_deref(), SUPPORTED_VERSIONS);
        if let Some(version) = self.version {
            response.headers_mut().insert(
                SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::from_static(version.subprotocol()),
            );
        }
        self.station = Some(station);
        self.offered = offered;
        Ok(response)
    }
}

/// Closes a connection whose client offered no version we speak, right after the handshake.
async fn refuse<S>(
    mut ws: tokio_tungstenite::WebSocketStream<S>,
    station: &str,
    addr: SocketAddr,
    offered: Option<&str>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let ours = offer(SUPPORTED_VERSIONS);
    tracing::warn!(
        "{station}: refusing the connection from {addr}: it offers {}, this CSMS speaks {ours}",
        offered.map_or("no subprotocol".to_owned(), |o| format!("{o:?}"))
    );
    let reason = format!("no common OCPP version; this CSMS speaks {ours}");
    let close = CloseFrame {
        code: CloseCode::Protocol,
        reason: reason.into(),
    };
    if ws.close(Some(close)).await.is_ok() {
        // Wait briefly for the client's close, ignoring anything else it sends.
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    }
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
        F: Feature,
        F::Request: Sync,
    {
        let chain = match self.ca.sign_csr(csr, usage) {
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
