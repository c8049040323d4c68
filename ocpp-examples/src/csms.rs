//! The example CSMS: accepts charging stations over WebSocket and answers them through the
//! dispatcher, signing their certificates with its own CA.
//!
//! What it does, per OCPP 2.0.1:
//!
//! - accepts `ws://HOST:PORT/.../{chargingStationId}`; a path without an identity gets HTTP 404,
//!   and a client that offers no subprotocol this CSMS speaks gets a handshake without
//!   `Sec-WebSocket-Protocol`, then an immediate close (Part 4 §3.2);
//! - BootNotification: Accepted, with the heartbeat interval; Heartbeat: the current time;
//!   StatusNotification: logged;
//! - SignCertificate: the CSR is checked (it must parse and its signature must verify) and
//!   signed; the answer is Accepted, and a CertificateSigned with the chain (leaf, then CA)
//!   follows on the same connection. A CSR that fails the check is answered Rejected;
//! - SecurityEventNotification: logged;
//! - anything else, and every malformed frame, unknown action or invalid payload: the
//!   dispatcher's CALLERROR; the connection stays open.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use ocpp_messages::dispatch::Dispatcher;
use ocpp_messages::v2_0_1::availability::{
    self, HeartbeatRequest, HeartbeatResponse, StatusNotificationRequest,
    StatusNotificationResponse,
};
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus,
};
use ocpp_messages::v2_0_1::security::{
    self, CertificateSignedFeature, CertificateSignedRequest, SecurityEventNotificationRequest,
    SecurityEventNotificationResponse, SignCertificateRequest, SignCertificateResponse,
};
use ocpp_messages::v2_0_1::types::{CertificateSigningUse, GenericStatus, StatusInfo};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};
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
        }
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
    /// it implements. `None` for a version this CSMS does not speak; every version in
    /// [`SUPPORTED_VERSIONS`] has one.
    pub fn dispatcher(self: &Arc<Self>, version: OcppVersion) -> Option<Dispatcher> {
        match version {
            OcppVersion::V2_0_1 => Some(
                Dispatcher::new(version, Role::Csms)
                    .with(provisioning::CsmsService(Arc::clone(self)))
                    .with(availability::CsmsService(Arc::clone(self)))
                    .with(security::CsmsService(Arc::clone(self))),
            ),
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
        let interval = i64::try_from(self.heartbeat_interval.as_secs()).unwrap_or(i64::MAX);
        Ok(BootNotificationResponse::new(
            DateTime::now(),
            interval,
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
        let chain = match self.ca.sign_csr(&request.csr, usage) {
            Ok(chain) => chain,
            Err(e) => {
                tracing::warn!("{charging_station_id}: rejecting the CSR: {e}");
                return Ok(rejected("InvalidCSR", &e.to_string()));
            }
        };
        let mut signed = CertificateSignedRequest::new(chain);
        signed.certificate_type = request.certificate_type;
        // Refuse now what could not be sent later (a chain beyond the schema's maxLength).
        if let Err(e) = signed.validate() {
            tracing::warn!("{charging_station_id}: cannot send the signed chain: {e}");
            return Ok(rejected("ChainTooLong", &e.to_string()));
        }
        let Some(peer) = self.peer(charging_station_id) else {
            return Err(CallError::internal("the station is no longer connected"));
        };
        tracing::info!("{charging_station_id}: CSR accepted, sending the signed certificate");
        // The CALLRESULT goes first; the CALL waits for its turn in a task of its own.
        tokio::spawn(async move {
            match peer.call::<CertificateSignedFeature>(&signed).await {
                Ok(response) => tracing::info!(
                    "{}: CertificateSigned answered {}",
                    peer.station(),
                    response.status
                ),
                Err(e) => tracing::warn!("{}: CertificateSigned failed: {e}", peer.station()),
            }
        });
        Ok(SignCertificateResponse::new(GenericStatus::Accepted))
    }

    async fn on_security_event_notification(
        &self,
        charging_station_id: &str,
        request: SecurityEventNotificationRequest,
    ) -> Result<SecurityEventNotificationResponse, CallError> {
        tracing::info!(
            "{charging_station_id}: security event {} at {}{}",
            request.type_,
            request.timestamp,
            request
                .tech_info
                .as_deref()
                .map(|info| format!(": {info}"))
                .unwrap_or_default()
        );
        Ok(SecurityEventNotificationResponse::new())
    }
}

/// A Rejected answer with a reason (at most 20 characters) and details (cut to 512).
fn rejected(reason_code: &str, info: &str) -> SignCertificateResponse {
    let info: String = info.chars().take(512).collect();
    SignCertificateResponse::new(GenericStatus::Rejected)
        .with_status_info(StatusInfo::new(reason_code).with_additional_info(info))
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
