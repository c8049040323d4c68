//! The example charging station: connects, boots, has its certificate signed by the CSMS and
//! checks what it gets back.
//!
//! The script, per OCPP 2.0.1:
//!
//! 1. connect to the URL (its last path segment is the station's identity), offering the
//!    versions in [`SUPPORTED_VERSIONS`];
//! 2. BootNotification (it must be Accepted), then StatusNotification: EVSE 1 connector 1 is
//!    Available;
//! 3. generate a key pair and a CSR (`CN=` identity, `O=` organization) and send SignCertificate
//!    (it must be Accepted);
//! 4. answer the CSMS's CertificateSigned: Accepted when the chain is for our key and each
//!    certificate is signed by the next (see [`crate::pki::verify_chain`]), else Rejected;
//! 5. SecurityEventNotification: `ReconfigurationOfSecurityParameters` for a new certificate,
//!    `InvalidChargingStationCertificate` for a rejected one;
//! 6. a Heartbeat; then either stop ([`StationConfig::exit_after_certificate`]) or send
//!    heartbeats at the interval the CSMS gave until told to shut down.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ocpp_messages::dispatch::Dispatcher;
use ocpp_messages::v2_0_1::availability::{
    ConnectorStatus, HeartbeatFeature, HeartbeatRequest, StatusNotificationFeature,
    StatusNotificationRequest,
};
use ocpp_messages::v2_0_1::provisioning::{
    BootNotificationFeature, BootNotificationRequest, BootReason, ChargingStation,
    RegistrationStatus,
};
use ocpp_messages::v2_0_1::security::{
    self, CertificateSignedRequest, CertificateSignedResponse, CertificateSignedStatus,
    SecurityEventNotificationFeature, SecurityEventNotificationRequest, SignCertificateFeature,
    SignCertificateRequest,
};
use ocpp_messages::v2_0_1::types::{CertificateSigningUse, GenericStatus, StatusInfo};
use ocpp_messages::{CallError, DateTime, Feature, OcppVersion, Role};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::connection::{CallFailed, Connection, Peer, DEFAULT_CALL_TIMEOUT};
use crate::frame_log::FrameLog;
use crate::pki::{ChainError, ChainSummary, StationKey};
use crate::protocol::{identity_from_path, negotiate, offer, websocket_config, SUPPORTED_VERSIONS};

/// What the station is and does.
#[derive(Debug, Clone)]
pub struct StationConfig {
    /// The CSMS endpoint with the station's identity as last path segment,
    /// e.g. `ws://127.0.0.1:9000/CS001`.
    pub url: String,
    /// The `O=` of the CSR: the CPO's name (the `OrganizationName` configuration variable).
    pub organization: String,
    /// The vendor name sent at boot.
    pub vendor: String,
    /// The model sent at boot.
    pub model: String,
    /// Stop after the certificate exchange instead of sending heartbeats.
    pub exit_after_certificate: bool,
    /// How long each CALL waits for its answer.
    pub call_timeout: Duration,
    /// How long to wait for CertificateSigned after SignCertificate was accepted.
    pub certificate_timeout: Duration,
    /// Where frames are logged.
    pub log: FrameLog,
}

impl StationConfig {
    /// The defaults for a station connecting to `url`.
    pub fn new(url: impl Into<String>) -> Self {
        StationConfig {
            url: url.into(),
            organization: "Example CPO".to_owned(),
            vendor: "ocpp-rs".to_owned(),
            model: "example-station".to_owned(),
            exit_after_certificate: false,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            certificate_timeout: Duration::from_secs(60),
            log: FrameLog::tracing_only(),
        }
    }
}

/// Why the station stopped with a failure.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    /// The URL is not a WebSocket URL ending in a station identity.
    #[error("bad URL {url:?}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The WebSocket connection could not be opened.
    #[error("cannot connect: {0}")]
    Connect(WsError),
    /// The CSMS accepted the WebSocket but none of our OCPP versions.
    #[error("the CSMS speaks none of the versions we offered ({0})")]
    NoCommonVersion(String),
    /// A CALL got no response.
    #[error("{action} failed: {source}")]
    Call {
        /// The action.
        action: &'static str,
        /// Why.
        source: CallFailed,
    },
    /// The CSMS did not accept our boot.
    #[error("BootNotification was answered {0}")]
    BootNotAccepted(RegistrationStatus),
    /// The CSMS rejected our CSR.
    #[error("SignCertificate was rejected: {}", .0.as_deref().unwrap_or("no reason given"))]
    CsrRejected(Option<String>),
    /// No CertificateSigned came.
    #[error("no CertificateSigned within {0:?}")]
    NoCertificate(Duration),
    /// The chain that came does not certify our key.
    #[error("the certificate chain was rejected: {0}")]
    ChainRejected(ChainError),
    /// The key pair or CSR could not be generated.
    #[error("cannot generate the key or CSR: {0}")]
    Key(rcgen::Error),
    /// The connection failed.
    #[error("connection failed: {0}")]
    Connection(WsError),
    /// The CSMS closed the connection before the script was done.
    #[error("the CSMS closed the connection")]
    Closed,
}

/// Sends a CALL, naming the action in the error.
async fn call<F: Feature>(peer: &Peer, request: &F::Request) -> Result<F::Response, StationError> {
    peer.call::<F>(request)
        .await
        .map_err(|source| StationError::Call {
            action: F::NAME,
            source,
        })
}

/// The station's handlers for the CALLs the CSMS sends.
struct Station {
    identity: String,
    key: Arc<StationKey>,
    outcomes: mpsc::UnboundedSender<Result<ChainSummary, ChainError>>,
}

impl security::ChargingStationHandler for Station {
    async fn on_certificate_signed(
        &self,
        request: CertificateSignedRequest,
    ) -> Result<CertificateSignedResponse, CallError> {
        let outcome = self.key.verify_chain(&request.certificate_chain);
        let response = match &outcome {
            Ok(summary) => {
                tracing::info!("{}: certificate accepted: {summary}", self.identity);
                CertificateSignedResponse::new(CertificateSignedStatus::Accepted)
            }
            Err(e) => {
                tracing::warn!("{}: certificate rejected: {e}", self.identity);
                CertificateSignedResponse::new(CertificateSignedStatus::Rejected).with_status_info(
                    StatusInfo::new("InvalidCertificate").with_additional_info(e.to_string()),
                )
            }
        };
        // The script may have stopped waiting; the answer stands regardless.
        let _ = self.outcomes.send(outcome);
        Ok(response)
    }
}

/// The dispatcher for a connection speaking `version`; every version in
/// [`SUPPORTED_VERSIONS`] has one.
fn dispatcher(version: OcppVersion, station: Station) -> Option<Dispatcher> {
    match version {
        OcppVersion::V2_0_1 => Some(
            Dispatcher::new(version, Role::ChargingStation)
                .with(security::ChargingStationService(station)),
        ),
        _ => None,
    }
}

/// Runs the station's script (see the [module docs](self)) until it is done, it fails, or
/// `shutdown` completes; then closes the connection.
pub async fn run(
    config: StationConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StationError> {
    let bad_url = |reason: String| StationError::Url {
        url: config.url.clone(),
        reason,
    };
    let mut request = config
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| bad_url(e.to_string()))?;
    let identity = identity_from_path(request.uri().path()).map_err(|e| bad_url(e.to_string()))?;
    let offered = offer(SUPPORTED_VERSIONS);
    request.headers_mut().insert(
        SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_str(&offered).map_err(|e| bad_url(e.to_string()))?,
    );

    // A real station keeps its key in secure storage; this one makes a new one every run.
    let key =
        Arc::new(StationKey::generate(&identity, &config.organization).map_err(StationError::Key)?);

    // Frames are small and answered at once: no Nagle delay (the last argument).
    let (ws, response) =
        tokio_tungstenite::connect_async_with_config(request, Some(websocket_config()), true)
            .await
            .map_err(|e| match e {
                WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(
                    SubProtocolError::NoSubProtocol,
                )) => StationError::NoCommonVersion(offered.clone()),
                other => StationError::Connect(other),
            })?;
    let selected = response
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok());
    // tungstenite has checked that the CSMS selected one of the versions we offered.
    let version = negotiate(selected, SUPPORTED_VERSIONS)
        .ok_or_else(|| StationError::NoCommonVersion(offered.clone()))?;
    tracing::info!(
        "{identity}: connected to {}, speaking {}",
        config.url,
        version.subprotocol()
    );

    let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
    let handlers = Station {
        identity: identity.clone(),
        key: Arc::clone(&key),
        outcomes: outcomes_tx,
    };
    let dispatcher =
        dispatcher(version, handlers).ok_or_else(|| StationError::NoCommonVersion(offered))?;
    let connection = Connection::new(ws, &identity, dispatcher, config.log.clone())
        .with_call_timeout(config.call_timeout);
    let peer = connection.peer();
    let mut served = tokio::spawn(connection.run());

    let result = tokio::select! {
        result = script(&peer, &key, outcomes, &config) => result,
        () = shutdown => {
            tracing::info!("{identity}: shutting down");
            Ok(())
        }
        // The connection ended under the script's feet.
        ended = &mut served => return match ended {
            Ok(Err(e)) => Err(StationError::Connection(e)),
            _ => Err(StationError::Closed),
        },
    };
    peer.close("done");
    match tokio::time::timeout(Duration::from_secs(5), served).await {
        Ok(Ok(Err(e))) => tracing::warn!("{identity}: closing failed: {e}"),
        Ok(_) => {}
        Err(_) => tracing::warn!("{identity}: the CSMS did not answer our close"),
    }
    result
}

/// Steps 2 to 6 of the script.
async fn script(
    peer: &Peer,
    key: &StationKey,
    mut outcomes: mpsc::UnboundedReceiver<Result<ChainSummary, ChainError>>,
    config: &StationConfig,
) -> Result<(), StationError> {
    let station = peer.station();
    let boot = BootNotificationRequest::new(
        ChargingStation::new(&config.model, &config.vendor),
        BootReason::PowerUp,
    );
    let boot = call::<BootNotificationFeature>(peer, &boot).await?;
    if boot.status != RegistrationStatus::Accepted {
        return Err(StationError::BootNotAccepted(boot.status));
    }
    let interval = Duration::from_secs(u64::try_from(boot.interval).unwrap_or(0).max(1));
    tracing::info!(
        "{station}: boot accepted, CSMS time {}, heartbeat every {interval:?}",
        boot.current_time
    );

    let status = StatusNotificationRequest::new(DateTime::now(), ConnectorStatus::Available, 1, 1);
    call::<StatusNotificationFeature>(peer, &status).await?;

    let csr = SignCertificateRequest::new(key.csr_pem())
        .with_certificate_type(CertificateSigningUse::ChargingStationCertificate);
    let signed = call::<SignCertificateFeature>(peer, &csr).await?;
    if signed.status != GenericStatus::Accepted {
        let reason = signed.status_info.map(|info| match info.additional_info {
            Some(more) => format!("{}: {more}", info.reason_code),
            None => info.reason_code,
        });
        return Err(StationError::CsrRejected(reason));
    }
    tracing::info!("{station}: CSR accepted by the CSMS");

    let outcome = tokio::time::timeout(config.certificate_timeout, outcomes.recv())
        .await
        .ok()
        .flatten()
        .ok_or(StationError::NoCertificate(config.certificate_timeout))?;
    let event = match &outcome {
        Ok(summary) => SecurityEventNotificationRequest::new(
            "ReconfigurationOfSecurityParameters",
            DateTime::now(),
        )
        .with_tech_info(shorten(&format!("new certificate: {summary}"), 255)),
        Err(e) => SecurityEventNotificationRequest::new(
            "InvalidChargingStationCertificate",
            DateTime::now(),
        )
        .with_tech_info(shorten(&e.to_string(), 255)),
    };
    call::<SecurityEventNotificationFeature>(peer, &event).await?;
    outcome.map_err(StationError::ChainRejected)?;

    let heartbeat = call::<HeartbeatFeature>(peer, &HeartbeatRequest::new()).await?;
    tracing::info!("{station}: heartbeat, CSMS time {}", heartbeat.current_time);
    if config.exit_after_certificate {
        return Ok(());
    }
    loop {
        tokio::time::sleep(interval).await;
        call::<HeartbeatFeature>(peer, &HeartbeatRequest::new()).await?;
    }
}

/// At most `max` characters of `text`.
fn shorten(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
