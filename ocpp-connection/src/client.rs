//! The charging station's side: it connects to the CSMS (`ws://`, or `wss://` for security
//! profiles 2 and 3), offers its versions in order, runs one [`Engine`] for as long as the
//! client lives, and reconnects with the back-off of Part 4 §5.4 when the connection drops.
//! The engine outlives each connection: calls made while disconnected wait in its queue and
//! go out after the reconnection, and a station that was accepted does not boot again.
//!
//! The credentials of the next connection live in the client's [`Credentials`]
//! ([`Client::credentials`]): a new password applies as it is; a renewed TLS configuration
//! (the station's new certificate after CertificateSigned, OCPP 2.0.1 A02/A03) is tried on the
//! next connection and kept once it connects, and the previous one comes back if the CSMS does
//! not take it ([`Credentials::renew_tls`]).
//!
//! ```no_run
//! # async fn f() -> Result<(), ocpp_connection::client::ConnectError> {
//! use ocpp_connection::client::{Client, ClientConfig};
//! use ocpp_messages::rpc::Dispatcher;
//! use ocpp_messages::v2_0_1::provisioning::{
//!     BootNotificationFeature, BootNotificationRequest, BootReason, ChargingStation,
//! };
//! use ocpp_messages::{OcppVersion, Role};
//!
//! let config = ClientConfig::new("ws://127.0.0.1:9000/ocpp", "CS-1")
//!     .offer(Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)) // with its services
//!     .with_password("a-password-of-16+");
//! let client = Client::connect(config).await?;
//! let request = BootNotificationRequest::new(ChargingStation::new("M", "V"), BootReason::PowerUp);
//! let booted = client.handle().call::<BootNotificationFeature>(request).await;
//! client.close().await;
//! # Ok(()) }
//! ```

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ocpp_messages::rpc::{Dispatcher, Session};
use ocpp_messages::{OcppVersion, Role};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::WebSocketStream;

use crate::connection::{self, Command, Direction, Dispatchers, Ended, Handle, Observe, Waiters};
use crate::engine::{self, Backoff, Engine, Event};
use crate::handshake::{self, RequestError};
use crate::server::DEFAULT_READ_BUFFER;
use crate::store::Store;

/// Why the client could not connect.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL, identity or versions do not make a handshake request.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The password breaks the rules of an offered version (2.x: 16 to 40 characters; see
    /// [`crate::security::check_password`]).
    #[error("the password: {0}")]
    Password(crate::security::SecurityError),
    /// No version to offer was given ([`ClientConfig::offer`]).
    #[error("no OCPP version offered: add a dispatcher with ClientConfig::offer")]
    NothingOffered,
    /// `wss://` without a TLS configuration ([`ClientConfig::with_tls`]), or the other way
    /// round.
    #[error("{0}")]
    Scheme(&'static str),
    /// TCP could not connect, or TLS failed (a certificate the station does not trust, say).
    #[error("cannot reach the CSMS: {0}")]
    Io(#[from] io::Error),
    /// The CSMS refused the handshake with this HTTP status (401: credentials, 404: unknown
    /// identity).
    #[error("the CSMS refused the connection: HTTP {status}")]
    Refused {
        /// The HTTP status.
        status: u16,
    },
    /// The CSMS speaks none of the offered versions.
    #[error("the CSMS speaks none of the offered versions")]
    NoCommonVersion,
    /// Another WebSocket error.
    #[error("WebSocket handshake failed: {0}")]
    WebSocket(tungstenite::Error),
    /// The connection was not up within the connect timeout.
    #[error("not connected within the connect timeout")]
    TimedOut,
    /// The store ([`ClientConfig::with_store`]) could not be read, or was taken already by
    /// another client started with this configuration.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What happened to the client's connection, for [`ClientConfig::on_event`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientEvent<'a> {
    /// Connected (again), speaking `version`.
    Connected {
        /// The version.
        version: OcppVersion,
    },
    /// An event of the engine.
    Engine(&'a Event),
    /// The connection ended; unless it was closed on purpose, a reconnection follows.
    Disconnected(&'a Ended),
    /// A reconnection attempt failed; the next one follows after `after`.
    ReconnectFailed {
        /// Why.
        error: &'a ConnectError,
        /// How many attempts failed in a row.
        failed: u32,
        /// The wait before the next attempt.
        after: Duration,
    },
    /// The first connection with the TLS configuration of [`Credentials::renew_tls`] is up:
    /// it is the current one from now on, and the previous one is forgotten. Follows the
    /// [`ClientEvent::Connected`] of that connection.
    CredentialsRenewed,
    /// An attempt with the TLS configuration of [`Credentials::renew_tls`] failed (see
    /// [`Credentials::renew_tls`] for which failures count): the renewal is dropped and the
    /// next attempts, the first of them at once, use the previous configuration again. A
    /// [`ClientEvent::ReconnectFailed`] with the same error follows.
    CredentialsFellBack {
        /// Why the attempt with the new configuration failed.
        error: &'a ConnectError,
    },
}

type OnEvent = Arc<dyn Fn(&ClientEvent<'_>) + Send + Sync>;
/// The store of a configuration, taken by the first client started with it.
type SharedStore = Arc<std::sync::Mutex<Option<Box<dyn Store>>>>;

/// The station's credentials as they are now: its HTTP Basic password and its TLS client
/// configuration (the trusted CAs, and for profile 3 its certificate). Shared by the
/// [`Client`] and whoever changes them (a SetVariables `SecurityCtrlr.BasicAuthPassword`
/// handler, a 1.6 ChangeConfiguration `AuthorizationKey` handler, a CertificateSigned handler
/// for the renewed station certificate). The next connection uses them; call
/// [`Handle::reconnect`] to make that now.
///
/// A new password ([`Credentials::set_password`]) applies to every following attempt as it
/// is. A new TLS configuration ([`Credentials::renew_tls`]) is tried first and kept only once
/// a connection with it is up; if the CSMS does not take it, the client goes back to the
/// previous one (OCPP 2.0.1 Part 2, use cases A02 and A03).
#[derive(Clone)]
pub struct Credentials {
    version: OcppVersion,
    password: Arc<std::sync::Mutex<Option<String>>>,
    tls: Arc<std::sync::Mutex<TlsCredentials>>,
}

/// The TLS configurations of a [`Credentials`].
#[derive(Default)]
struct TlsCredentials {
    /// The configuration connections use (the one of [`ClientConfig::with_tls`] until a
    /// renewal connects).
    current: Option<Arc<rustls::ClientConfig>>,
    /// A renewal not tried with success yet, and its number.
    pending: Option<(u64, Arc<rustls::ClientConfig>)>,
    /// The number of the last renewal: an attempt's outcome applies to the renewal it tried,
    /// not to one given while it ran.
    renewals: u64,
}

/// The TLS configuration of one attempt, and the renewal it tries, if it tries one.
struct TlsAttempt {
    config: Option<Arc<rustls::ClientConfig>>,
    renewal: Option<u64>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("version", &self.version)
            .field("password", &self.password().map(|_| "<redacted>"))
            .field("tls", &self.tls().is_some())
            .field("tls_pending", &self.tls_pending())
            .finish()
    }
}

impl Credentials {
    fn new(
        version: OcppVersion,
        password: Option<String>,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Self {
        Credentials {
            version,
            password: Arc::new(std::sync::Mutex::new(password)),
            tls: Arc::new(std::sync::Mutex::new(TlsCredentials {
                current: tls,
                ..TlsCredentials::default()
            })),
        }
    }

    /// The password now.
    pub fn password(&self) -> Option<String> {
        self.password
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sets the password for the next connections, once it keeps the version's rules.
    ///
    /// Unlike a TLS renewal ([`Credentials::renew_tls`]) the new password has no fallback:
    /// every following attempt uses it, whether the CSMS accepts it or not (the CSMS stores
    /// the password it set, so the old one would not work either).
    ///
    /// # Errors
    ///
    /// A password the version does not allow ([`crate::security::check_password`]); the
    /// password is then unchanged.
    pub fn set_password(&self, password: &str) -> Result<(), crate::security::SecurityError> {
        crate::security::check_password(self.version, password)?;
        *self
            .password
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(password.to_owned());
        Ok(())
    }

    fn tls_state(&self) -> std::sync::MutexGuard<'_, TlsCredentials> {
        self.tls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The TLS configuration connections use now: the one of [`ClientConfig::with_tls`], or
    /// the last renewal that connected. A pending renewal is not it until it connects
    /// ([`Credentials::tls_pending`]). `None` for a client without TLS (`ws://`).
    pub fn tls(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.tls_state().current.clone()
    }

    /// Whether a renewal ([`Credentials::renew_tls`]) waits for its first successful
    /// connection: the next attempt tries it.
    pub fn tls_pending(&self) -> bool {
        self.tls_state().pending.is_some()
    }

    /// Makes the next connection attempts use `tls` (a configuration with the station's
    /// renewed certificate, after a CertificateSigned it accepted), keeping the current one
    /// as the fallback. It takes effect on the next attempt: call [`Handle::reconnect`] to
    /// make that now.
    ///
    /// - The first connection with `tls` that is up makes it the current configuration and
    ///   forgets the previous one ([`ClientEvent::CredentialsRenewed`]).
    /// - An attempt with `tls` that fails for any reason but one of reaching the CSMS (below)
    ///   drops the renewal: the next attempt, at once, and all after it use the previous
    ///   configuration again ([`ClientEvent::CredentialsFellBack`]). These are: a TLS
    ///   handshake that fails ([`ConnectError::Io`]: a certificate the CSMS refuses, which
    ///   with TLS 1.3 may show only when the WebSocket handshake reads the CSMS's alert, or
    ///   one the station refuses), an HTTP refusal ([`ConnectError::Refused`], say 401 for a
    ///   certificate of another identity), any other failure of the WebSocket handshake
    ///   ([`ConnectError::Io`], [`ConnectError::WebSocket`],
    ///   [`ConnectError::NoCommonVersion`]), the connect timeout once the TCP connection is up
    ///   ([`ConnectError::TimedOut`]), and the errors no configuration would mend
    ///   ([`ConnectError::Scheme`] for a `ws://` URL, [`ConnectError::Request`]).
    /// - An attempt that did not reach the CSMS, because the TCP connection could not be
    ///   made (name resolution or connect failed: [`ConnectError::Io`]; or the connect
    ///   timeout passed first: [`ConnectError::TimedOut`]), did not try `tls`: the renewal
    ///   stays pending for the next attempt, after the usual back-off.
    ///
    /// A renewal given while another is pending replaces it (the current configuration stays
    /// the fallback); an attempt running with the replaced one decides nothing about the new
    /// one. The password ([`Credentials::set_password`]) is independent of the renewal.
    ///
    /// Build `tls` afresh ([`crate::security::client_tls_config`] with the new certificate
    /// and key), not as a clone of the current configuration: a clone shares its TLS session
    /// cache, and a resumed TLS 1.3 session authenticates the station with the certificate of
    /// the session it resumes, the previous one, without presenting the new one.
    pub fn renew_tls(&self, tls: Arc<rustls::ClientConfig>) {
        let mut state = self.tls_state();
        state.renewals = state.renewals.wrapping_add(1);
        let renewal = state.renewals;
        state.pending = Some((renewal, tls));
    }

    /// The configuration of the next attempt: a pending renewal, else the current one.
    fn tls_attempt(&self) -> TlsAttempt {
        let state = self.tls_state();
        match &state.pending {
            Some((renewal, config)) => TlsAttempt {
                config: Some(Arc::clone(config)),
                renewal: Some(*renewal),
            },
            None => TlsAttempt {
                config: state.current.clone(),
                renewal: None,
            },
        }
    }

    /// A connection with renewal `renewal` is up: it becomes the current configuration.
    /// `false` if that renewal is no longer pending (replaced meanwhile).
    fn tls_connected(&self, renewal: u64) -> bool {
        let mut state = self.tls_state();
        match state.pending.take() {
            Some((pending, config)) if pending == renewal => {
                state.current = Some(config);
                true
            }
            other => {
                state.pending = other;
                false
            }
        }
    }

    /// An attempt with renewal `renewal` failed: it is dropped. `false` if that renewal is no
    /// longer pending (replaced meanwhile).
    fn tls_failed(&self, renewal: u64) -> bool {
        let mut state = self.tls_state();
        match state.pending.take() {
            Some((pending, _)) if pending == renewal => true,
            other => {
                state.pending = other;
                false
            }
        }
    }
}

/// The stored value holding the version of the station's last connection: a restarted
/// station speaks it again (its stored calls are frames of that version).
pub const VERSION_KEY: &str = "ocpp-connection/version";
type OnFrame = Arc<dyn Fn(Direction, &str) + Send + Sync>;

/// The client's observer of each connection: engine events and frames to its hooks.
struct ClientObserver {
    on_event: Option<OnEvent>,
    on_frame: Option<OnFrame>,
}

impl Observe for ClientObserver {
    fn event(&mut self, event: &Event) {
        if let Some(on_event) = &self.on_event {
            on_event(&ClientEvent::Engine(event));
        }
    }

    fn frame(&mut self, direction: Direction, text: &str) {
        if let Some(on_frame) = &self.on_frame {
            on_frame(direction, text);
        }
    }
}

/// Default of [`ClientConfig::with_connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How a [`Client`] connects: the CSMS URL, the station's identity and credentials, the
/// versions it offers (one dispatcher each, in order of preference), the engine's rules and
/// the reconnection back-off.
#[derive(Clone)]
pub struct ClientConfig {
    url: String,
    identity: String,
    dispatchers: Dispatchers,
    password: Option<String>,
    tls: Option<Arc<rustls::ClientConfig>>,
    engine: engine::Config,
    backoff: Backoff,
    connect_timeout: Duration,
    read_buffer: usize,
    on_event: Option<OnEvent>,
    on_frame: Option<OnFrame>,
    store: Option<SharedStore>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("url", &self.url)
            .field("identity", &self.identity)
            .field("versions", &self.versions())
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls.is_some())
            .field("engine", &self.engine)
            .field("backoff", &self.backoff)
            .field("connect_timeout", &self.connect_timeout)
            .field("store", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Connects to `url` (the CSMS endpoint, without the identity: it is appended,
    /// percent-encoded) as `identity`; nothing offered yet ([`ClientConfig::offer`]), no
    /// password, no TLS, the engine's defaults and [`Backoff::default`].
    pub fn new(url: impl Into<String>, identity: impl Into<String>) -> Self {
        ClientConfig {
            url: url.into(),
            identity: identity.into(),
            dispatchers: Dispatchers::default(),
            password: None,
            tls: None,
            engine: engine::Config::default(),
            backoff: Backoff::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_buffer: DEFAULT_READ_BUFFER,
            on_event: None,
            on_frame: None,
            store: None,
        }
    }

    /// Offers the version of `dispatcher`, after the ones offered before; a connection of
    /// that version gets a session over it.
    ///
    /// # Panics
    ///
    /// If the dispatcher is not of the charging station role, or its version is offered
    /// already: mistakes in the program.
    #[must_use]
    pub fn offer(mut self, dispatcher: impl Into<Arc<Dispatcher>>) -> Self {
        self.dispatchers
            .add(dispatcher.into(), Role::ChargingStation);
        self
    }

    /// The versions offered, in order.
    pub fn versions(&self) -> Vec<OcppVersion> {
        self.dispatchers.versions()
    }

    /// HTTP Basic with `password` (security profiles 1 and 2).
    #[must_use]
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// TLS for `wss://` URLs (profiles 2 and 3; see [`crate::security::client_tls_config`]):
    /// the configuration of the first connection. A running client takes a renewed one
    /// through [`Credentials::renew_tls`].
    #[must_use]
    pub fn with_tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The engine's rules (call timeout, queue, `WebSocketPingInterval`, heartbeat, boot gate).
    #[must_use]
    pub fn with_engine(mut self, config: engine::Config) -> Self {
        self.engine = config;
        self
    }

    /// The waits between reconnection attempts (`RetryBackOff*`).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// How long one attempt (TCP, TLS and the WebSocket handshake) may take.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Calls `on_event` for each connection, engine event, disconnection and failed attempt.
    /// It runs in the client's task: keep it short.
    #[must_use]
    pub fn on_event(mut self, on_event: impl Fn(&ClientEvent<'_>) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(on_event));
        self
    }

    /// Calls `on_frame` with the direction and text of every frame (a frame log). It runs in
    /// the client's task: keep it short.
    #[must_use]
    pub fn on_frame(mut self, on_frame: impl Fn(Direction, &str) + Send + Sync + 'static) -> Self {
        self.on_frame = Some(Arc::new(on_frame));
        self
    }

    /// Keeps the station's durable state in `store`: its stored calls
    /// ([`Handle::call_stored`]) and values ([`Handle::set_values`]), and the version of its
    /// last connection ([`VERSION_KEY`]). The first client started with this configuration
    /// (or a clone of it) takes the store.
    #[must_use]
    pub fn with_store(mut self, store: impl Store) -> Self {
        let store: Box<dyn Store> = Box::new(store);
        self.store = Some(Arc::new(std::sync::Mutex::new(Some(store))));
        self
    }

    fn take_store(&self) -> Result<Option<Box<dyn Store>>, ConnectError> {
        let Some(shared) = &self.store else {
            return Ok(None);
        };
        let taken = shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match taken {
            Some(store) => Ok(Some(store)),
            None => Err(ConnectError::Store(crate::store::StoreError::new(
                "the store was taken by another client started with this configuration",
            ))),
        }
    }

    fn emit(&self, event: &ClientEvent<'_>) {
        if let Some(on_event) = &self.on_event {
            on_event(event);
        }
    }
}

/// One open WebSocket, plain or over TLS (one lives at a time: no need to box the larger).
#[allow(clippy::large_enum_variant)]
enum Dialed {
    Plain(WebSocketStream<TcpStream>),
    Tls(WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// A failed connection attempt.
struct DialFailed {
    error: ConnectError,
    /// The TCP connection could not be made (resolution, connect, or the timeout meanwhile):
    /// the attempt never reached TLS.
    unreachable: bool,
}

/// One connection attempt offering `versions`, with `password` and `tls`.
async fn dial(
    config: &ClientConfig,
    versions: &[OcppVersion],
    password: Option<&str>,
    tls_config: Option<&Arc<rustls::ClientConfig>>,
) -> Result<(Dialed, OcppVersion), DialFailed> {
    // Set while the TCP connection is being made: a failure then is one of reaching the CSMS.
    let mut connecting = false;
    let attempt = async {
        let request =
            handshake::station_request(&config.url, &config.identity, versions, password)?;
        let uri: &Uri = request.uri();
        let tls = uri.scheme_str() == Some("wss");
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let websocket = config.dispatchers.websocket(config.read_buffer);
        connecting = true;
        let tcp = TcpStream::connect((host.as_str(), port)).await?;
        connecting = false;
        let _ = tcp.set_nodelay(true);
        let (dialed, response) = match (tls, tls_config) {
            (false, None) => {
                let (ws, response) =
                    tokio_tungstenite::client_async_with_config(request, tcp, Some(websocket))
                        .await
                        .map_err(handshake_error)?;
                (Dialed::Plain(ws), response)
            }
            (true, Some(tls)) => {
                let name = ServerName::try_from(host)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                let stream = TlsConnector::from(Arc::clone(tls))
                    .connect(name, tcp)
                    .await?;
                let (ws, response) =
                    tokio_tungstenite::client_async_with_config(request, stream, Some(websocket))
                        .await
                        .map_err(handshake_error)?;
                (Dialed::Tls(ws), response)
            }
            (false, Some(_)) => {
                return Err(ConnectError::Scheme(
                    "a TLS configuration is given but the URL is ws://: use wss://",
                ))
            }
            (true, None) => {
                return Err(ConnectError::Scheme(
                    "a wss:// URL needs a TLS configuration (ClientConfig::with_tls)",
                ))
            }
        };
        let version = handshake::accepted_version(&response, versions)
            .ok_or(ConnectError::NoCommonVersion)?;
        Ok((dialed, version))
    };
    let outcome = match tokio::time::timeout(config.connect_timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => Err(ConnectError::TimedOut),
    };
    outcome.map_err(|error| DialFailed {
        error,
        unreachable: connecting,
    })
}

fn handshake_error(error: tungstenite::Error) -> ConnectError {
    match error {
        tungstenite::Error::Http(response) => ConnectError::Refused {
            status: response.status().as_u16(),
        },
        // The CSMS answered without a subprotocol: none of ours.
        tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_),
        ) => ConnectError::NoCommonVersion,
        tungstenite::Error::Io(error) => ConnectError::Io(error),
        other => ConnectError::WebSocket(other),
    }
}

/// A charging station's connection to its CSMS, reconnecting by itself (see the
/// [module docs](self)).
#[derive(Debug)]
pub struct Client {
    handle: Handle,
    credentials: Credentials,
    task: tokio::task::JoinHandle<Engine>,
}

impl Client {
    /// Connects once (no retry: a station that starts while its CSMS is away retries with
    /// its own policy) and, from then on, keeps the connection up in a task of the current
    /// tokio runtime, reconnecting after each drop until [`Client::close`].
    ///
    /// # Errors
    ///
    /// A password that breaks an offered version's rules, or why the first attempt failed.
    pub async fn connect(config: ClientConfig) -> Result<Client, ConnectError> {
        config.check()?;
        let (dialed, version) = dial(
            &config,
            &config.versions(),
            config.password.as_deref(),
            config.tls.as_ref(),
        )
        .await
        .map_err(|failed| failed.error)?;
        let mut engine = config.engine_for(version)?;
        if let Some(store) = config.take_store()? {
            engine.attach_store(store, Instant::now())?;
            remember_version(&mut engine);
        }
        Ok(Client::spawn(config, Some(dialed), engine))
    }

    /// Starts the station without waiting for the CSMS: the client connects in its task, and
    /// reconnects after each drop, with the back-off from the first attempt on, until
    /// [`Client::close`]. What the handle is given meanwhile waits: calls in the engine's
    /// queue, stored calls in the store. A station with a store that connected before speaks
    /// the version of that connection again ([`VERSION_KEY`]); otherwise the first version
    /// offered, the only one offered from then on (the session is of one version).
    ///
    /// # Errors
    ///
    /// Nothing offered, a password that breaks an offered version's rules, or a store that
    /// cannot be read.
    pub async fn start(config: ClientConfig) -> Result<Client, ConnectError> {
        config.check()?;
        let store = config.take_store()?;
        let mut loaded = None;
        let store = match store {
            Some(mut store) => {
                loaded = store.load()?.values.get(VERSION_KEY).cloned();
                Some(store)
            }
            None => None,
        };
        let offered = config.versions();
        let version = loaded
            .and_then(|v| OcppVersion::from_subprotocol(&v))
            .filter(|v| offered.contains(v))
            .or_else(|| offered.first().copied())
            .ok_or(ConnectError::NothingOffered)?;
        let now = Instant::now();
        let mut engine = config.engine_for(version)?;
        engine.disconnected(now);
        if let Some(store) = store {
            engine.attach_store(store, now)?;
        }
        Ok(Client::spawn(config, None, engine))
    }

    fn spawn(config: ClientConfig, dialed: Option<Dialed>, engine: Engine) -> Client {
        let version = engine.version();
        let credentials = Credentials::new(version, config.password.clone(), config.tls.clone());
        let (commands_tx, commands) = mpsc::channel(16);
        let handle = Handle::new(commands_tx, version);
        if dialed.is_some() {
            config.emit(&ClientEvent::Connected { version });
        }
        let span = tracing::info_span!("station", identity = %config.identity, version = %version);
        let task = tokio::spawn(tracing::Instrument::instrument(
            run(config, dialed, engine, commands, credentials.clone()),
            span,
        ));
        Client {
            handle,
            credentials,
            task,
        }
    }

    /// The station's password and TLS configuration, to change for the next connections.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The handle to make calls with: it stays valid across reconnections.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Closes the connection for good (no reconnection) and returns the engine, with what
    /// it knows (the registration, say).
    pub async fn close(self) -> Option<Engine> {
        self.handle.close().await;
        drop(self.handle);
        self.task.await.ok()
    }
}

impl ClientConfig {
    /// Something offered, and a password every offered version allows.
    fn check(&self) -> Result<(), ConnectError> {
        if self.dispatchers.is_empty() {
            return Err(ConnectError::NothingOffered);
        }
        if let Some(password) = &self.password {
            for version in self.versions() {
                crate::security::check_password(version, password)
                    .map_err(ConnectError::Password)?;
            }
        }
        Ok(())
    }

    /// A new engine speaking `version`.
    fn engine_for(&self, version: OcppVersion) -> Result<Engine, ConnectError> {
        let Some(dispatcher) = self.dispatchers.get(version) else {
            return Err(ConnectError::NoCommonVersion);
        };
        let session = Session::new(Arc::clone(dispatcher), self.identity.clone());
        Ok(Engine::new(session, self.engine.clone(), Instant::now()))
    }
}

/// Stores the engine's version as the one to speak after a restart ([`VERSION_KEY`]).
fn remember_version(engine: &mut Engine) {
    let version = engine.version().subprotocol();
    if engine.has_store() && engine.value(VERSION_KEY) != Some(version) {
        if let Err(error) = engine.set_values(&[(VERSION_KEY, Some(version))]) {
            tracing::warn!(%error, "cannot store the version");
        }
    }
}

/// A number in `[0, 1)` for the random part of the back-off (no cryptographic quality
/// needed: it spreads stations' reconnections).
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

async fn run(
    config: ClientConfig,
    first: Option<Dialed>,
    mut engine: Engine,
    mut commands: mpsc::Receiver<Command>,
    credentials: Credentials,
) -> Engine {
    let version = engine.version();
    let mut waiters = Waiters::new();
    let mut on_engine_event = ClientObserver {
        on_event: config.on_event.clone(),
        on_frame: config.on_frame.clone(),
    };
    let mut dialed = first;
    // Started offline ([`Client::start`]): the first attempt at once.
    let mut started_offline = dialed.is_none();
    'connections: loop {
        let Some(current) = dialed.take() else {
            if !started_offline {
                break;
            }
            started_offline = false;
            match reconnect(
                &config,
                &credentials,
                version,
                &mut engine,
                &mut commands,
                &mut waiters,
                &mut on_engine_event,
                Duration::ZERO,
            )
            .await
            {
                Some(next) => {
                    dialed = Some(next);
                    continue;
                }
                None => break 'connections,
            }
        };
        let ended = match current {
            Dialed::Plain(mut ws) => {
                connection::drive(
                    &mut ws,
                    &mut engine,
                    &mut commands,
                    &mut waiters,
                    &mut on_engine_event,
                )
                .await
            }
            Dialed::Tls(mut ws) => {
                connection::drive(
                    &mut ws,
                    &mut engine,
                    &mut commands,
                    &mut waiters,
                    &mut on_engine_event,
                )
                .await
            }
        };
        tracing::info!(?ended, "disconnected");
        config.emit(&ClientEvent::Disconnected(&ended));
        if matches!(ended, Ended::Closed) {
            break;
        }
        // Reconnect: the same version only, so the session (and the registration) carry on.
        // A reconnection asked for (new credentials): at once; after a drop: the back-off.
        let first_wait = if matches!(ended, Ended::Reconnecting) {
            Duration::ZERO
        } else {
            config.backoff.delay(0, random_unit())
        };
        match reconnect(
            &config,
            &credentials,
            version,
            &mut engine,
            &mut commands,
            &mut waiters,
            &mut on_engine_event,
            first_wait,
        )
        .await
        {
            Some(next) => dialed = Some(next),
            None => break 'connections,
        }
    }
    engine.close(Instant::now());
    connection::deliver(&mut engine, &mut waiters, &mut on_engine_event);
    engine
}

/// Attempts connections (the first after `wait`, the next ones after the back-off) until one
/// is up; `None` when the client is to close meanwhile.
#[allow(clippy::too_many_arguments)]
async fn reconnect(
    config: &ClientConfig,
    credentials: &Credentials,
    version: OcppVersion,
    engine: &mut Engine,
    commands: &mut mpsc::Receiver<Command>,
    waiters: &mut Waiters,
    observer: &mut dyn Observe,
    mut wait: Duration,
) -> Option<Dialed> {
    let mut failed = 0u32;
    loop {
        if !wait_taking_calls(wait, engine, commands, waiters, observer).await {
            return None;
        }
        let password = credentials.password();
        let tls = credentials.tls_attempt();
        match dial(config, &[version], password.as_deref(), tls.config.as_ref()).await {
            Ok((next, _)) => {
                engine.connected(Instant::now());
                remember_version(engine);
                tracing::info!("connected");
                config.emit(&ClientEvent::Connected { version });
                if let Some(renewal) = tls.renewal {
                    if credentials.tls_connected(renewal) {
                        tracing::info!("connected with the renewed TLS configuration: kept");
                        config.emit(&ClientEvent::CredentialsRenewed);
                    }
                }
                return Some(next);
            }
            Err(DialFailed { error, unreachable }) => {
                failed = failed.saturating_add(1);
                let fell_back = match tls.renewal {
                    Some(renewal) if !unreachable => credentials.tls_failed(renewal),
                    _ => false,
                };
                if fell_back {
                    // The previous configuration worked before: try it again at once.
                    wait = Duration::ZERO;
                    tracing::warn!(%error, "the renewed TLS configuration failed: back to the previous one");
                    config.emit(&ClientEvent::CredentialsFellBack { error: &error });
                } else {
                    wait = config.backoff.delay(failed, random_unit());
                }
                tracing::info!(%error, failed, ?wait, "connection attempt failed");
                config.emit(&ClientEvent::ReconnectFailed {
                    error: &error,
                    failed,
                    after: wait,
                });
            }
        }
    }
}

/// Sleeps `wait` while taking the handles' calls into the engine's queue. `false` when the
/// client is to close (a close command, or every handle dropped).
async fn wait_taking_calls(
    wait: Duration,
    engine: &mut Engine,
    commands: &mut mpsc::Receiver<Command>,
    waiters: &mut Waiters,
    on_event: &mut dyn Observe,
) -> bool {
    let sleep = tokio::time::sleep(wait);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return true,
            command = commands.recv() => match command {
                Some(Command::Call(call)) => {
                    connection::take_call(engine, waiters, *call);
                    connection::deliver(engine, waiters, on_event);
                }
                Some(Command::With(with)) => {
                    with(engine, Instant::now());
                    connection::deliver(engine, waiters, on_event);
                }
                // Not connected: the next attempt comes anyway.
                Some(Command::Reconnect) => {}
                Some(Command::Close { .. }) | None => return false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration that trusts nothing: only its identity matters here.
    #[allow(deprecated)]
    fn some_tls() -> Arc<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        Arc::new(config)
    }

    fn is(tls: Option<&Arc<rustls::ClientConfig>>, expected: &Arc<rustls::ClientConfig>) -> bool {
        tls.is_some_and(|tls| Arc::ptr_eq(tls, expected))
    }

    #[test]
    fn a_renewal_is_pending_until_it_connects() {
        let first = some_tls();
        let credentials = Credentials::new(OcppVersion::V2_0_1, None, Some(Arc::clone(&first)));
        assert!(!credentials.tls_pending());
        let attempt = credentials.tls_attempt();
        assert!(attempt.renewal.is_none() && is(attempt.config.as_ref(), &first));

        let renewed = some_tls();
        credentials.renew_tls(Arc::clone(&renewed));
        // Visible through a clone (the one the client task holds).
        let shared = credentials.clone();
        assert!(shared.tls_pending());
        assert!(is(shared.tls().as_ref(), &first));
        let attempt = shared.tls_attempt();
        assert!(is(attempt.config.as_ref(), &renewed));
        assert!(shared.tls_connected(attempt.renewal.expect("a renewal is tried")));
        assert!(!credentials.tls_pending());
        assert!(is(credentials.tls().as_ref(), &renewed));
        assert!(credentials.tls_attempt().renewal.is_none());
    }

    #[test]
    fn a_failed_renewal_falls_back_and_a_stale_outcome_decides_nothing() {
        let first = some_tls();
        let credentials = Credentials::new(OcppVersion::V2_0_1, None, Some(Arc::clone(&first)));
        credentials.renew_tls(some_tls());
        let tried = credentials
            .tls_attempt()
            .renewal
            .expect("a renewal is tried");
        assert!(credentials.tls_failed(tried));
        assert!(!credentials.tls_pending());
        assert!(is(credentials.tls_attempt().config.as_ref(), &first));

        // A renewal given while an attempt with an older one ran: that attempt's outcome
        // leaves the newer one pending.
        credentials.renew_tls(some_tls());
        let older = credentials
            .tls_attempt()
            .renewal
            .expect("a renewal is tried");
        let newer = some_tls();
        credentials.renew_tls(Arc::clone(&newer));
        assert!(!credentials.tls_failed(older));
        assert!(!credentials.tls_connected(older));
        assert!(credentials.tls_pending());
        assert!(is(credentials.tls().as_ref(), &first));
        assert!(is(credentials.tls_attempt().config.as_ref(), &newer));
    }

    #[test]
    fn debug_shows_the_tls_state_and_hides_the_password() {
        let credentials = Credentials::new(
            OcppVersion::V2_0_1,
            Some("0123456789abcdef".to_owned()),
            None,
        );
        credentials.renew_tls(some_tls());
        let debug = format!("{credentials:?}");
        assert!(!debug.contains("0123456789abcdef"), "{debug}");
        assert!(
            debug.contains("tls: false") && debug.contains("tls_pending: true"),
            "{debug}"
        );
    }
}
