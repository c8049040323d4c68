//! The example charging station: connects, boots, has its certificate signed by the CSMS,
//! checks what it gets back, and charges once, in OCPP 1.6, 2.0.1 or 2.1.
//!
//! The script is the same in every version ([`v1_6`], [`v2_0_1`] and [`v2_1`] say what each
//! step is on the wire; 2.0.1 and 2.1 share their code):
//!
//! 1. connect to the URL (its last path segment is the station's identity), offering the
//!    versions of [`StationConfig::versions`];
//! 2. BootNotification (it must be Accepted), then StatusNotification: connector 1 is
//!    Available;
//! 3. generate a key pair and a CSR (`CN=` identity, `O=` organization) and send SignCertificate
//!    (it must be Accepted);
//! 4. answer the CSMS's CertificateSigned: Accepted when the chain is for our key and each
//!    certificate is signed by the next (see [`crate::pki::verify_chain`]), else Rejected;
//! 5. SecurityEventNotification: `ReconfigurationOfSecurityParameters` for a new certificate,
//!    `InvalidChargingStationCertificate` for a rejected one;
//! 6. a Heartbeat; stop here with [`Stage::Certificate`];
//! 7. a charging session: Authorize the id tag (it must be Accepted), connector Occupied (1.6:
//!    Charging), start a transaction (1.6 StartTransaction; 2.0.1 TransactionEvent Started),
//!    one meter reading (1.6 MeterValues; 2.0.1 TransactionEvent Updated), stop it (1.6
//!    StopTransaction; 2.0.1 TransactionEvent Ended), connector Available;
//! 8. a DataTransfer of the example's echo message (it must come back Accepted, with the same
//!    data);
//! 9. in 2.1 only, the session's energy readings as a periodic event stream:
//!    OpenPeriodicEventStream (it must be Accepted), one NotifyPeriodicEventStream SEND with the
//!    readings (never answered), ClosePeriodicEventStream; stop here with [`Stage::Session`];
//! 10. heartbeats at the interval the CSMS gave until told to shut down.

pub mod durable;
pub mod v1_6;
mod v2;
pub mod v2_0_1;
pub mod v2_1;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ocpp_connection::client::{Client, ClientConfig, ClientEvent, ConnectError};
use ocpp_connection::engine;
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::Role;
use ocpp_messages::{DateTime, Feature, OcppVersion};
use tokio::sync::mpsc;

use crate::connection::{log_event, CallFailed, Peer, DEFAULT_CALL_TIMEOUT};
use crate::frame_log::FrameLog;
use crate::pki::{ChainError, ChainSummary, StationKey};
use crate::profiles::{ClientSecurity, ProfileError};
use crate::protocol::{identity_from_path, offer, DEFAULT_OFFER};

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
    /// The versions to offer, in order of preference (by default
    /// [`DEFAULT_OFFER`]).
    pub versions: Vec<OcppVersion>,
    /// The id tag of the charging session (at most 20 characters: 1.6's limit).
    pub id_tag: String,
    /// Where to stop instead of sending heartbeats; `None`: never.
    pub exit_after: Option<Stage>,
    /// How long each CALL waits for its answer.
    pub call_timeout: Duration,
    /// How long to wait for CertificateSigned after SignCertificate was accepted.
    pub certificate_timeout: Duration,
    /// Where frames are logged.
    pub log: FrameLog,
    /// The security profile and its credentials (profile 0, none, by default).
    pub security: ClientSecurity,
}

impl StationConfig {
    /// The defaults for a station connecting to `url`.
    pub fn new(url: impl Into<String>) -> Self {
        StationConfig {
            url: url.into(),
            organization: "Example CPO".to_owned(),
            vendor: "ocpp-rs".to_owned(),
            model: "example-station".to_owned(),
            versions: DEFAULT_OFFER.to_vec(),
            id_tag: "EXAMPLE-TAG-1".to_owned(),
            exit_after: None,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            certificate_timeout: Duration::from_secs(60),
            log: FrameLog::tracing_only(),
            security: ClientSecurity::default(),
        }
    }
}

/// Where the script may stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// After the certificate exchange and a heartbeat (step 6).
    Certificate,
    /// After the charging session, the DataTransfer and, in 2.1, the event stream (step 9).
    Session,
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
    /// The connection could not be opened (refused with an HTTP status, TLS failed, ...).
    #[error("cannot connect: {0}")]
    Connect(ConnectError),
    /// The security profile's settings do not make a configuration (a missing password or
    /// certificate, a PEM file that does not parse).
    #[error(transparent)]
    Security(#[from] ProfileError),
    /// The CSMS accepted the WebSocket but none of our OCPP versions.
    #[error("the CSMS speaks none of the versions we offered ({0})")]
    NoCommonVersion(String),
    /// A CALL got no response.
    #[error("{action} failed: {source}")]
    Call {
        /// The action.
        action: &'static str,
        /// Why.
        source: Box<CallFailed>,
    },
    /// The CSMS answered with a status other than the one the script needs (BootNotification
    /// not Accepted, an id tag not Accepted, a DataTransfer not echoed...).
    #[error("{action} was answered {answer}")]
    Refused {
        /// The action.
        action: &'static str,
        /// What came back.
        answer: String,
    },
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
}

/// Sends a CALL, naming the action in the error.
async fn call<F>(peer: &Peer, request: &F::Request) -> Result<F::Response, StationError>
where
    F: Feature + 'static,
    F::Request: Clone + Send + 'static,
{
    peer.call::<F>(request)
        .await
        .map_err(|source| StationError::Call {
            action: F::NAME,
            source: Box::new(source),
        })
}

/// The station's handlers for the CALLs the CSMS sends, whatever the version: each version's
/// handler trait is implemented on it in [`v1_6`] and [`v2_0_1`].
#[derive(Clone)]
pub(crate) struct Station {
    identity: String,
    key: Arc<StationKey>,
    outcomes: mpsc::UnboundedSender<Result<ChainSummary, ChainError>>,
}

impl Station {
    /// CertificateSigned: whether `chain` certifies our key, logged and handed to the script.
    fn certificate_signed(&self, chain: &str) -> Result<ChainSummary, ChainError> {
        let outcome = self.key.verify_chain(chain);
        match &outcome {
            Ok(summary) => tracing::info!("{}: certificate accepted: {summary}", self.identity),
            Err(e) => tracing::warn!("{}: certificate rejected: {e}", self.identity),
        }
        // The script may have stopped waiting; the answer stands regardless.
        let _ = self.outcomes.send(outcome.clone());
        outcome
    }
}

/// A connector state, in the words of both versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectorState {
    /// Free: 1.6 and 2.0.1 `Available`.
    Available,
    /// Charging: 1.6 `Charging`, 2.0.1 `Occupied`.
    Charging,
}

/// The energy register at the start of the session, in Wh.
const METER_START_WH: i64 = 10_000;
/// The energy delivered by the time of the meter reading, in Wh.
const METER_STEP_WH: i64 = 1_000;
/// The energy the session delivers, in Wh.
pub const SESSION_ENERGY_WH: i64 = 2_500;
/// The id of the periodic event stream the 2.1 station opens.
pub const EVENT_STREAM_ID: i64 = 1;

/// An energy register reading of the session, for the event stream of step 9.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reading {
    /// Seconds after the session started.
    pub(crate) offset_s: f64,
    /// The register, in Wh.
    pub(crate) meter_wh: i64,
}

/// One OCPP version's messages for the script's steps; the script itself is
/// [`script`], the same for every version.
pub(crate) trait Protocol {
    /// A transaction in progress, as the version identifies it.
    type Transaction;

    /// The dispatcher that serves the CSMS's CALLs with `station`.
    fn dispatcher(station: Station) -> Dispatcher;

    /// BootNotification; the heartbeat interval and the CSMS time.
    async fn boot(
        peer: &Peer,
        config: &StationConfig,
    ) -> Result<(Duration, DateTime), StationError>;

    /// StatusNotification of connector 1.
    async fn status(peer: &Peer, state: ConnectorState) -> Result<(), StationError>;

    /// Heartbeat; the CSMS time.
    async fn heartbeat(peer: &Peer) -> Result<DateTime, StationError>;

    /// SignCertificate; `Err` unless Accepted.
    async fn sign_certificate(peer: &Peer, csr: String) -> Result<(), StationError>;

    /// SecurityEventNotification.
    async fn security_event(peer: &Peer, kind: &str, tech_info: String)
        -> Result<(), StationError>;

    /// Authorize; `Err` unless Accepted.
    async fn authorize(peer: &Peer, id_tag: &str) -> Result<(), StationError>;

    /// Starts a transaction on connector 1 at `meter_wh`; `Err` unless the id tag is Accepted.
    async fn start(
        peer: &Peer,
        id_tag: &str,
        meter_wh: i64,
    ) -> Result<Self::Transaction, StationError>;

    /// Sends a meter reading of the transaction.
    async fn meter(
        peer: &Peer,
        transaction: &mut Self::Transaction,
        meter_wh: i64,
    ) -> Result<(), StationError>;

    /// Stops the transaction at `meter_wh`.
    async fn stop(
        peer: &Peer,
        transaction: Self::Transaction,
        meter_wh: i64,
    ) -> Result<(), StationError>;

    /// A DataTransfer of [`ECHO_MESSAGE_ID`](crate::sessions::ECHO_MESSAGE_ID) with `data`; the data that came back, `Err` unless
    /// Accepted.
    async fn echo(peer: &Peer, data: &str) -> Result<Option<String>, StationError>;

    /// Sends the session's `readings`, taken from `basetime` on, as a periodic event stream,
    /// where the version has them (2.1); the default, for the versions without, does nothing.
    async fn event_stream(
        peer: &Peer,
        basetime: DateTime,
        readings: &[Reading],
    ) -> Result<(), StationError> {
        let _ = (peer, basetime, readings);
        Ok(())
    }
}

/// The CSMS endpoint and the station's identity of a station URL: everything before the last
/// path segment, and that segment percent-decoded (`ws://h:9000/ocpp/CS%201` is
/// `ws://h:9000/ocpp` and `CS 1`).
pub fn split_url(url: &str) -> Result<(String, String), StationError> {
    let bad_url = |reason: String| StationError::Url {
        url: url.to_owned(),
        reason,
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad_url("not a ws:// or wss:// URL".to_owned()));
    };
    if scheme != "ws" && scheme != "wss" {
        return Err(bad_url(format!("the scheme is {scheme}, not ws or wss")));
    }
    let path_start = rest.find('/').ok_or_else(|| {
        bad_url("the URL path does not end with a charging station identity".to_owned())
    })?;
    let path = &rest[path_start..];
    let identity = identity_from_path(path).map_err(|e| bad_url(e.to_string()))?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let base_path = path.rsplit_once('/').map_or("", |(base, _)| base);
    Ok((
        format!("{scheme}://{}{base_path}", &rest[..path_start]),
        identity,
    ))
}

/// The station's dispatcher for `version`, serving the CSMS's CALLs with `station`.
fn dispatcher(version: OcppVersion, station: Station) -> Option<Dispatcher> {
    match version {
        OcppVersion::V1_6 => Some(v1_6::V1_6::dispatcher(station)),
        OcppVersion::V2_0_1 => Some(v2_0_1::V2_0_1::dispatcher(station)),
        OcppVersion::V2_1 => Some(v2_1::V2_1::dispatcher(station)),
        // Versions a later `ocpp-messages` may add.
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Runs the station's script (see the [module docs](self)) until it is done, it fails, or
/// `shutdown` completes; then closes the connection.
pub async fn run(
    config: StationConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StationError> {
    let (base, identity) = split_url(&config.url)?;
    let offered = offer(&config.versions);

    // A real station keeps its key in secure storage; this one makes a new one every run.
    let key =
        Arc::new(StationKey::generate(&identity, &config.organization).map_err(StationError::Key)?);
    let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
    let handlers = Station {
        identity: identity.clone(),
        key: Arc::clone(&key),
        outcomes: outcomes_tx,
    };

    let log = config.log.clone();
    let logged = identity.clone();
    let versions = config.versions.clone();
    let mut client = ClientConfig::new(base, identity.clone())
        .with_engine(
            engine::Config::default()
                .with_call_timeout(config.call_timeout)
                .with_heartbeat(true),
        )
        .on_frame(move |direction, text| log.record(&logged, direction.into(), text));
    let logged = identity.clone();
    // The version of the first connection; reconnections keep it.
    let speaking = std::sync::OnceLock::new();
    client = client.on_event(move |event| match event {
        ClientEvent::Engine(event) => log_event(&logged, speaking.get().copied(), event),
        ClientEvent::Connected { version } => {
            let _ = speaking.set(*version);
            tracing::info!("{logged}: connected, speaking {}", version.subprotocol());
        }
        ClientEvent::Disconnected(ended) => tracing::info!("{logged}: disconnected ({ended:?})"),
        ClientEvent::ReconnectFailed {
            error,
            failed,
            after,
        } => tracing::warn!(
            "{logged}: reconnection {failed} failed ({error}), next attempt in {after:?}"
        ),
        other => tracing::info!("{logged}: {other:?}"),
    });
    for &version in &versions {
        let dispatcher = dispatcher(version, handlers.clone())
            .ok_or_else(|| StationError::NoCommonVersion(offered.clone()))?;
        client = client.offer(dispatcher);
    }
    let client = config.security.clone().apply(client)?;
    let client = Client::connect(client).await.map_err(|e| match e {
        ConnectError::NoCommonVersion => StationError::NoCommonVersion(offered.clone()),
        other => StationError::Connect(other),
    })?;
    let peer = Peer::new(client.handle().clone(), &identity, Role::ChargingStation);
    tracing::info!(
        "{identity}: connected to {}, speaking {}",
        config.url,
        peer.version().subprotocol()
    );
    let ran = async {
        match peer.version() {
            OcppVersion::V1_6 => script::<v1_6::V1_6>(&peer, &key, outcomes, &config).await,
            OcppVersion::V2_0_1 => script::<v2_0_1::V2_0_1>(&peer, &key, outcomes, &config).await,
            OcppVersion::V2_1 => script::<v2_1::V2_1>(&peer, &key, outcomes, &config).await,
            // A version a later `ocpp-messages` may add that this station does not speak: only
            // offered if the configuration lists it.
            #[allow(unreachable_patterns)]
            _ => Err(StationError::NoCommonVersion(offered.clone())),
        }
    };
    let result = tokio::select! {
        result = ran => result,
        () = shutdown => {
            tracing::info!("{identity}: shutting down");
            Ok(())
        }
    };
    if tokio::time::timeout(Duration::from_secs(5), client.close())
        .await
        .is_err()
    {
        tracing::warn!("{identity}: the connection did not close in time");
    }
    result
}

/// Steps 2 to 9 of the script, in version `P`.
async fn script<P: Protocol>(
    peer: &Peer,
    key: &StationKey,
    mut outcomes: mpsc::UnboundedReceiver<Result<ChainSummary, ChainError>>,
    config: &StationConfig,
) -> Result<(), StationError> {
    let station = peer.station();
    let (interval, time) = P::boot(peer, config).await?;
    tracing::info!("{station}: boot accepted, CSMS time {time}, heartbeat every {interval:?}");
    P::status(peer, ConnectorState::Available).await?;

    P::sign_certificate(peer, key.csr_pem().to_owned()).await?;
    tracing::info!("{station}: CSR accepted by the CSMS");
    let outcome = tokio::time::timeout(config.certificate_timeout, outcomes.recv())
        .await
        .ok()
        .flatten()
        .ok_or(StationError::NoCertificate(config.certificate_timeout))?;
    let (kind, info) = match &outcome {
        Ok(summary) => (
            "ReconfigurationOfSecurityParameters",
            format!("new certificate: {summary}"),
        ),
        Err(e) => ("InvalidChargingStationCertificate", e.to_string()),
    };
    P::security_event(peer, kind, shorten(&info, 255)).await?;
    outcome.map_err(StationError::ChainRejected)?;

    let time = P::heartbeat(peer).await?;
    tracing::info!("{station}: heartbeat, CSMS time {time}");
    if config.exit_after == Some(Stage::Certificate) {
        return Ok(());
    }

    let tag = &config.id_tag;
    P::authorize(peer, tag).await?;
    tracing::info!("{station}: id tag {tag:?} accepted");
    P::status(peer, ConnectorState::Charging).await?;
    let (basetime, started) = (DateTime::now(), Instant::now());
    let reading = |meter_wh| Reading {
        offset_s: started.elapsed().as_secs_f64(),
        meter_wh,
    };
    let mut readings = Vec::with_capacity(3);
    readings.push(reading(METER_START_WH));
    let mut transaction = P::start(peer, tag, METER_START_WH).await?;
    readings.push(reading(METER_START_WH + METER_STEP_WH));
    P::meter(peer, &mut transaction, METER_START_WH + METER_STEP_WH).await?;
    readings.push(reading(METER_START_WH + SESSION_ENERGY_WH));
    P::stop(peer, transaction, METER_START_WH + SESSION_ENERGY_WH).await?;
    tracing::info!("{station}: charged {SESSION_ENERGY_WH} Wh");
    P::status(peer, ConnectorState::Available).await?;

    let note = format!("{station} charged {SESSION_ENERGY_WH} Wh");
    let echoed = P::echo(peer, &note).await?;
    if echoed.as_deref() != Some(note.as_str()) {
        return Err(StationError::Refused {
            action: "DataTransfer",
            answer: format!("Accepted with data {echoed:?}, not the data sent"),
        });
    }
    tracing::info!("{station}: DataTransfer echoed");
    P::event_stream(peer, basetime, &readings).await?;
    if config.exit_after == Some(Stage::Session) {
        return Ok(());
    }
    // Step 10: the engine sends the Heartbeats, at the interval the CSMS gave at boot (any
    // other CALL stands in for one), and the client reconnects if the connection drops.
    tracing::info!("{station}: done; heartbeats every {interval:?} until interrupted");
    std::future::pending().await
}

/// At most `max` characters of `text`.
fn shorten(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The heartbeat interval from a BootNotification's `interval`: at least a second.
fn interval(seconds: i64) -> Duration {
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0).max(1))
}

/// A refusal of `F` with the answer's status.
fn refused<F: Feature>(answer: impl std::fmt::Display) -> StationError {
    StationError::Refused {
        action: F::NAME,
        answer: answer.to_string(),
    }
}
