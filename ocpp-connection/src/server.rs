//! The CSMS server: it accepts charging stations over WebSocket (plain, or TLS for security
//! profiles 2 and 3), admits them by identity, version and credentials, runs one [`Engine`]
//! per connection, and keeps a [`Registry`] through which CSMS code sends typed CALLs to a
//! station by identity.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use std::time::Duration;
//! use ocpp_connection::handshake::StationSecurity;
//! use ocpp_connection::server::{Server, ServerConfig};
//! use ocpp_messages::rpc::Dispatcher;
//! use ocpp_messages::v2_0_1::provisioning::{Reset, ResetFeature, ResetRequest};
//! use ocpp_messages::{OcppVersion, Role};
//!
//! let config = ServerConfig::new()
//!     .serve(Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)) // with its services
//!     .with_authentication(|identity: &str| {
//!         (identity == "CS-1").then(|| StationSecurity::basic("a-password-of-16+"))
//!     });
//! let server = Server::bind("127.0.0.1:9000", config).await?;
//! let answer = server
//!     .registry()
//!     .call::<ResetFeature>("CS-1", ResetRequest::new(Reset::OnIdle))
//!     .await;
//! server.shutdown(Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! What it does for each connection:
//! - **Limits.** At most [`ServerConfig::with_max_connections`] connections (further ones are
//!   closed on accept), at most [`ServerConfig::with_max_handshakes`] handshakes (TLS and
//!   WebSocket) at once, each within [`ServerConfig::with_handshake_timeout`]; WebSocket
//!   messages beyond the dispatcher's [`Limits`](ocpp_messages::limits::Limits) frame
//!   length (twice it, so that the dispatcher still answers a slightly long frame) close the
//!   connection.
//! - **Admission** by [`handshake::admit`]: identity from the path, version from the offered
//!   subprotocols (none in common: handshake without the header, then close 1002), the
//!   credentials the station's security profile needs.
//! - **Duplicates.** A second connection of a connected identity replaces the first by
//!   default ([`Duplicates::Replace`]: the old one is closed); [`Duplicates::Refuse`] answers
//!   it 409.
//! - **Registration across connections.** A station whose BootNotification was accepted
//!   stays accepted when it reconnects (it need not boot again).
//! - **Shutdown** ([`Server::shutdown`]): stop accepting, answer what handlers owe, close
//!   every connection with 1001 (going away).
//! - A `tracing` span `station` with the identity and version around each connection.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ocpp_messages::rpc::{Dispatcher, Session};
use ocpp_messages::{Feature, OcppVersion, Role};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{watch, Semaphore};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{header, HeaderValue};
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;

use crate::connection::{self, CallFailed, Direction, Dispatchers, Ended, Handle, Observe};
use crate::engine::{self, Engine, Event, Registration, RememberedAnswers};
use crate::handshake::{self, Admission, Authenticate, Refusal};
use crate::security;

/// What the server does with a second connection of an identity that is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Duplicates {
    /// The new connection replaces the old one, which is closed (a station that lost its
    /// connection without noticing reconnects at once).
    #[default]
    Replace,
    /// The new connection is refused with HTTP 409.
    Refuse,
}

/// What happened to a station's connection, for [`ServerConfig::on_event`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerEvent<'a> {
    /// The station is connected and speaks `version`.
    Connected {
        /// The negotiated version.
        version: OcppVersion,
        /// The peer's address.
        remote: SocketAddr,
    },
    /// An event of the station's engine (a call answered, timed out, the station registered).
    Engine(&'a Event),
    /// The connection ended.
    Disconnected(&'a Ended),
}

type OnEvent = Arc<dyn Fn(&str, &ServerEvent<'_>) + Send + Sync>;
type OnFrame = Arc<dyn Fn(&str, Direction, &str) + Send + Sync>;

/// A station connection's observer: its events and frames to the server's hooks, with the
/// identity.
struct StationObserver {
    identity: String,
    on_event: Option<OnEvent>,
    on_frame: Option<OnFrame>,
}

impl Observe for StationObserver {
    fn event(&mut self, event: &Event) {
        if let Some(on_event) = &self.on_event {
            on_event(&self.identity, &ServerEvent::Engine(event));
        }
    }

    fn frame(&mut self, direction: Direction, text: &str) {
        if let Some(on_frame) = &self.on_frame {
            on_frame(&self.identity, direction, text);
        }
    }
}

/// Default of [`ServerConfig::with_max_connections`] (one process here may hold 20,000 open
/// files).
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;
/// Default of [`ServerConfig::with_max_handshakes`].
pub const DEFAULT_MAX_HANDSHAKES: usize = 512;
/// Default of [`ServerConfig::with_handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default WebSocket read buffer per connection, in bytes. tungstenite's own is 128 KiB and
/// counts fully in every idle connection's memory; most OCPP frames (Heartbeat,
/// StatusNotification, MeterValues) are far below 1 KiB, a longer one only takes more reads,
/// and the buffer grows for it. Server memory per idle station (BENCHMARKS.md): 512 B 6.5 KB,
/// 1 KiB 6.6 KB, 128 KiB about 130 KB more.
pub const DEFAULT_READ_BUFFER: usize = 1024;

/// How a [`Server`] is set up: the versions it serves (one dispatcher each), the engine's
/// rules, authentication, TLS, limits.
#[derive(Clone)]
pub struct ServerConfig {
    dispatchers: Dispatchers,
    engine: engine::Config,
    authenticate: Option<Arc<dyn Authenticate>>,
    tls: Option<Arc<rustls::ServerConfig>>,
    duplicates: Duplicates,
    max_connections: usize,
    max_handshakes: usize,
    handshake_timeout: Duration,
    read_buffer: usize,
    on_event: Option<OnEvent>,
    on_frame: Option<OnFrame>,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("versions", &self.versions())
            .field("engine", &self.engine)
            .field("authenticate", &self.authenticate.is_some())
            .field("tls", &self.tls.is_some())
            .field("duplicates", &self.duplicates)
            .field("max_connections", &self.max_connections)
            .field("max_handshakes", &self.max_handshakes)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("read_buffer", &self.read_buffer)
            .finish_non_exhaustive()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig::new()
    }
}

impl ServerConfig {
    /// No version served yet ([`ServerConfig::serve`]), the engine's defaults, no
    /// authentication (every identity is let in: for development), no TLS, duplicates
    /// replace, the default limits.
    pub fn new() -> Self {
        ServerConfig {
            dispatchers: Dispatchers::default(),
            engine: engine::Config::default().with_remembered_answers(4),
            authenticate: None,
            tls: None,
            duplicates: Duplicates::Replace,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            read_buffer: DEFAULT_READ_BUFFER,
            on_event: None,
            on_frame: None,
        }
    }

    /// Serves the version of `dispatcher` with it (every connection of that version gets a
    /// session over it). When a station offers several served versions, its order decides.
    ///
    /// # Panics
    ///
    /// If the dispatcher is not of the CSMS role, or its version is served already: both are
    /// mistakes in the program, not conditions to handle.
    #[must_use]
    pub fn serve(mut self, dispatcher: impl Into<Arc<Dispatcher>>) -> Self {
        self.dispatchers.add(dispatcher.into(), Role::Csms);
        self
    }

    /// The versions served, in the order they were added.
    pub fn versions(&self) -> Vec<OcppVersion> {
        self.dispatchers.versions()
    }

    /// The rules of every connection's engine (call timeout, queue, server ping, boot gate,
    /// remembered answers: 4 by default, so a station's retried transaction message is not
    /// handled twice).
    #[must_use]
    pub fn with_engine(mut self, config: engine::Config) -> Self {
        self.engine = config;
        self
    }

    /// Checks every station's credentials with `authenticate` (see [`handshake::admit`]).
    #[must_use]
    pub fn with_authentication(mut self, authenticate: impl Authenticate + 'static) -> Self {
        self.authenticate = Some(Arc::new(authenticate));
        self
    }

    /// Serves `wss://` with this TLS configuration (security profiles 2 and 3; see
    /// [`security::server_tls_config`]).
    #[must_use]
    pub fn with_tls(mut self, tls: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// What to do with a second connection of a connected identity.
    #[must_use]
    pub fn with_duplicates(mut self, duplicates: Duplicates) -> Self {
        self.duplicates = duplicates;
        self
    }

    /// At most `limit` connections at once, handshakes included; further ones are closed as
    /// soon as they are accepted.
    #[must_use]
    pub fn with_max_connections(mut self, limit: usize) -> Self {
        self.max_connections = limit.max(1);
        self
    }

    /// At most `limit` handshakes (TLS and WebSocket) at once; further connections are closed
    /// as soon as they are accepted.
    #[must_use]
    pub fn with_max_handshakes(mut self, limit: usize) -> Self {
        self.max_handshakes = limit.max(1);
        self
    }

    /// How long a connection may take from accept to the end of its WebSocket handshake.
    #[must_use]
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The WebSocket read buffer of each connection, in bytes.
    #[must_use]
    pub fn with_read_buffer(mut self, bytes: usize) -> Self {
        self.read_buffer = bytes.max(256);
        self
    }

    /// Calls `on_event` with the identity for each connection, engine event and disconnection.
    /// It runs in the connection's task: keep it short.
    #[must_use]
    pub fn on_event(
        mut self,
        on_event: impl Fn(&str, &ServerEvent<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.on_event = Some(Arc::new(on_event));
        self
    }

    /// Calls `on_frame` with the identity, the direction and the text of every frame of
    /// every station (a frame log). It runs in the connection's task: keep it short.
    #[must_use]
    pub fn on_frame(
        mut self,
        on_frame: impl Fn(&str, Direction, &str) + Send + Sync + 'static,
    ) -> Self {
        self.on_frame = Some(Arc::new(on_frame));
        self
    }

    fn dispatcher(&self, version: OcppVersion) -> Option<&Arc<Dispatcher>> {
        self.dispatchers.get(version)
    }
}

/// Why a call through the [`Registry`] got no typed response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No station of this identity is connected here.
    #[error("station {0:?} is not connected")]
    NotConnected(String),
    /// The call failed on the station's connection.
    #[error(transparent)]
    Call(#[from] CallFailed),
}

#[derive(Debug)]
struct Entry {
    handle: Handle,
    connection: u64,
}

#[derive(Debug, Default)]
struct Stations {
    connected: HashMap<String, Entry>,
    /// The last registration (the CSMS's answer to BootNotification) of each station that
    /// booted, kept across its connections.
    registered: HashMap<String, Registration>,
    /// The answers each station's last connection remembered (its retries get them again).
    answers: HashMap<String, RememberedAnswers>,
    next_connection: u64,
}

/// The stations connected to a [`Server`], by identity: CSMS code sends them typed CALLs
/// through it. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    stations: Arc<Mutex<Stations>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Stations> {
        self.stations.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The handle of the connected station `identity`.
    pub fn get(&self, identity: &str) -> Option<Handle> {
        self.lock()
            .connected
            .get(identity)
            .map(|e| e.handle.clone())
    }

    /// Whether `identity` is connected.
    pub fn contains(&self, identity: &str) -> bool {
        self.lock().connected.contains_key(identity)
    }

    /// How many stations are connected.
    pub fn len(&self) -> usize {
        self.lock().connected.len()
    }

    /// Whether no station is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The identities of the connected stations, sorted.
    pub fn identities(&self) -> Vec<String> {
        let mut identities: Vec<String> = self.lock().connected.keys().cloned().collect();
        identities.sort();
        identities
    }

    /// Sends a CALL of `F` to the station `identity` and awaits its typed response (the call
    /// waits its turn behind the CSMS's earlier calls to that station). `F` is to be of the
    /// version the station speaks ([`Handle::version`] of [`Registry::get`]); the station
    /// answers a request of another version's schema with a CALLERROR.
    pub async fn call<F>(
        &self,
        identity: &str,
        request: F::Request,
    ) -> Result<F::Response, RegistryError>
    where
        F: Feature + 'static,
        F::Request: Send + 'static,
    {
        let handle = self
            .get(identity)
            .ok_or_else(|| RegistryError::NotConnected(identity.to_owned()))?;
        Ok(handle.call::<F>(request).await?)
    }

    /// Registers a new connection of `identity`; the old one's handle when it replaces one.
    fn insert(
        &self,
        identity: &str,
        handle: Handle,
        duplicates: Duplicates,
    ) -> Result<(u64, Option<Handle>), Handle> {
        let mut stations = self.lock();
        if duplicates == Duplicates::Refuse && stations.connected.contains_key(identity) {
            return Err(handle);
        }
        stations.next_connection += 1;
        let connection = stations.next_connection;
        let old = stations
            .connected
            .insert(identity.to_owned(), Entry { handle, connection });
        Ok((connection, old.map(|e| e.handle)))
    }

    /// The connection `connection` of `identity` ended with the engine at `registration`.
    fn remove(
        &self,
        identity: &str,
        connection: u64,
        registration: Registration,
        answers: RememberedAnswers,
    ) {
        let mut stations = self.lock();
        if stations
            .connected
            .get(identity)
            .is_some_and(|e| e.connection == connection)
        {
            stations.connected.remove(identity);
        }
        if registration != Registration::Unknown {
            stations
                .registered
                .insert(identity.to_owned(), registration);
        }
        if answers.is_empty() {
            stations.answers.remove(identity);
        } else {
            stations.answers.insert(identity.to_owned(), answers);
        }
    }

    fn take_answers(&self, identity: &str) -> Option<RememberedAnswers> {
        self.lock().answers.remove(identity)
    }

    fn registration(&self, identity: &str) -> Option<Registration> {
        self.lock().registered.get(identity).cloned()
    }

    fn handles(&self) -> Vec<Handle> {
        self.lock()
            .connected
            .values()
            .map(|e| e.handle.clone())
            .collect()
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What every connection task shares.
struct Shared {
    config: ServerConfig,
    registry: Registry,
    shutdown: watch::Receiver<bool>,
    /// Replaced while the server runs ([`Server::replace_tls`]).
    tls: std::sync::RwLock<Option<TlsAcceptor>>,
}

/// A running CSMS server (see the [module docs](self)). Keep it for as long as the server is
/// to accept stations: dropping it stops accepting (the connections that are open go on until
/// they end); [`Server::shutdown`] also closes them.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    registry: Registry,
    shutdown: watch::Sender<bool>,
    connections: Arc<Semaphore>,
    max_connections: usize,
    accept: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Listens on `address` and serves stations as `config` says, in tasks of the current
    /// tokio runtime.
    ///
    /// # Errors
    ///
    /// When `config` serves no version, or the address cannot be bound.
    pub async fn bind(address: impl ToSocketAddrs, config: ServerConfig) -> io::Result<Server> {
        if config.dispatchers.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the server serves no OCPP version: add a dispatcher with ServerConfig::serve",
            ));
        }
        let listener = TcpListener::bind(address).await?;
        let local_addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let registry = Registry::default();
        let connections = Arc::new(Semaphore::new(config.max_connections));
        let handshakes = Arc::new(Semaphore::new(config.max_handshakes));
        let max_connections = config.max_connections;
        let shared = Arc::new(Shared {
            tls: std::sync::RwLock::new(config.tls.clone().map(TlsAcceptor::from)),
            config,
            registry: registry.clone(),
            shutdown: shutdown_rx.clone(),
        });
        let accept = tokio::spawn(accept_loop(
            listener,
            Arc::clone(&shared),
            Arc::clone(&connections),
            handshakes,
            shutdown_rx,
        ));
        Ok(Server {
            shared,
            local_addr,
            registry,
            shutdown,
            connections,
            max_connections,
            accept,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The connected stations.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Replaces the TLS configuration (the server's certificate, the trusted CAs for client
    /// certificates) for the connections accepted from now on; open connections keep theirs.
    /// A server started without TLS serves `wss://` from now on.
    pub fn replace_tls(&self, tls: Arc<rustls::ServerConfig>) {
        let mut current = self
            .shared
            .tls
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *current = Some(TlsAcceptor::from(tls));
    }

    /// Stops accepting, closes every connection with 1001 (going away) once its handlers'
    /// answers are out, and waits up to `grace` for the connections to end. Returns how many
    /// had not ended by then (their tasks end on their own).
    pub async fn shutdown(self, grace: Duration) -> usize {
        let _ = self.shutdown.send(true);
        let _ = self.accept.await;
        for handle in self.registry.handles() {
            handle.close_with(1001).await;
        }
        let all = u32::try_from(self.max_connections).unwrap_or(u32::MAX);
        match tokio::time::timeout(grace, self.connections.acquire_many(all)).await {
            Ok(_) => 0,
            Err(_) => self.max_connections - self.connections.available_permits(),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    connections: Arc<Semaphore>,
    handshakes: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, say: wait a little rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(connection) = Arc::clone(&connections).try_acquire_owned() else {
            tracing::warn!(%remote, "connection limit reached: closed");
            continue;
        };
        let Ok(handshake) = Arc::clone(&handshakes).try_acquire_owned() else {
            tracing::warn!(%remote, "handshake limit reached: closed");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let shared = Arc::clone(&shared);
        // The handshake runs in a task of its own, and the connection in another: what the
        // handshake needed (TLS included) is not held for the connection's life.
        tokio::spawn(serve_connection(tcp, remote, shared, connection, handshake));
    }
}

/// One connection from accept to its end.
async fn serve_connection(
    tcp: TcpStream,
    remote: SocketAddr,
    shared: Arc<Shared>,
    connection: tokio::sync::OwnedSemaphorePermit,
    handshake: tokio::sync::OwnedSemaphorePermit,
) {
    let timeout = shared.config.handshake_timeout;
    let tls = shared
        .tls
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    match tls {
        None => {
            let opened = tokio::time::timeout(
                timeout,
                Box::pin(open_websocket(tcp, remote, &shared, false, None)),
            )
            .await;
            drop(handshake);
            if let Ok(Some((websocket, identity, version))) = opened {
                if let Some(station) =
                    run_station(websocket, identity, version, remote, shared, connection)
                {
                    tokio::spawn(station);
                }
            }
        }
        Some(acceptor) => {
            let opened = tokio::time::timeout(
                timeout,
                Box::pin(async {
                    let tls = match acceptor.accept(tcp).await {
                        Ok(tls) => tls,
                        Err(error) => {
                            tracing::info!(%remote, %error, "TLS handshake failed");
                            return None;
                        }
                    };
                    let common_name = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .and_then(|leaf| security::certificate_common_name(leaf).ok());
                    open_websocket(tls, remote, &shared, true, common_name).await
                }),
            )
            .await;
            drop(handshake);
            if let Ok(Some((websocket, identity, version))) = opened {
                if let Some(station) =
                    run_station(websocket, identity, version, remote, shared, connection)
                {
                    tokio::spawn(station);
                }
            }
        }
    }
}

/// The WebSocket handshake: admitted stations come out with their identity and version.
async fn open_websocket<S>(
    stream: S,
    remote: SocketAddr,
    shared: &Shared,
    tls: bool,
    common_name: Option<String>,
) -> Option<(WebSocketStream<S>, String, OcppVersion)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let served = shared.config.versions();
    let mut admission: Option<Admission> = None;
    // The signature is tungstenite's: its error is the whole HTTP response.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
        let decided = if *shared.shutdown.borrow() {
            Err(Refusal::Unavailable)
        } else {
            handshake::admit(
                request,
                &served,
                shared.config.authenticate.as_deref(),
                tls,
                common_name,
                remote,
            )
        };
        let decided = decided.and_then(|admission| match &admission {
            Admission::Admitted { identity, .. }
                if shared.config.duplicates == Duplicates::Refuse
                    && shared.registry.contains(identity) =>
            {
                Err(Refusal::Duplicate {
                    identity: identity.clone(),
                })
            }
            _ => Ok(admission),
        });
        match decided {
            Ok(decided) => {
                if let Admission::Admitted { version, .. } = &decided {
                    response.headers_mut().insert(
                        header::SEC_WEBSOCKET_PROTOCOL,
                        HeaderValue::from_static(version.subprotocol()),
                    );
                }
                admission = Some(decided);
                Ok(response)
            }
            Err(refusal) => {
                tracing::info!(%remote, %refusal, "handshake refused");
                Err(refusal.response())
            }
        }
    };
    let config = shared
        .config
        .dispatchers
        .websocket(shared.config.read_buffer);
    let mut websocket =
        match tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
        {
            Ok(websocket) => websocket,
            Err(error) => {
                tracing::debug!(%remote, %error, "WebSocket handshake failed");
                return None;
            }
        };
    match admission? {
        Admission::Admitted { identity, version } => Some((websocket, identity, version)),
        Admission::NoCommonVersion { identity, offered } => {
            tracing::info!(%remote, identity, ?offered, "no OCPP version in common: closed");
            let _ = websocket
                .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                    code: 1002.into(),
                    reason: "no OCPP version in common".into(),
                }))
                .await;
            None
        }
    }
}

/// Runs an admitted station's connection until it ends.
///
/// The setup runs here, before the task: only what the task needs while the connection lives
/// is in its state (the connection's own future is boxed once).
fn run_station<S>(
    websocket: WebSocketStream<S>,
    identity: String,
    version: OcppVersion,
    remote: SocketAddr,
    shared: Arc<Shared>,
    // Held for the connection's life: it counts against the connection limit.
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Option<impl std::future::Future<Output = ()> + Send + 'static>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let dispatcher = shared.config.dispatcher(version)?;
    let span = tracing::info_span!("station", identity = %identity, version = %version);
    let now = Instant::now();
    let session = Session::new(Arc::clone(dispatcher), identity.clone());
    let mut engine = Engine::new(session, shared.config.engine.clone(), now);
    if let Some(registration) = shared.registry.registration(&identity) {
        engine.set_registration(registration, now);
    }
    if let Some(answers) = shared.registry.take_answers(&identity) {
        engine.set_remembered_answers(answers);
    }
    let observer = StationObserver {
        identity: identity.clone(),
        on_event: shared.config.on_event.clone(),
        on_frame: shared.config.on_frame.clone(),
    };
    let (handle, task) = connection::open_observed(websocket, engine, observer);
    let task = Box::pin(task.instrument(span.clone()));
    let inserted = shared
        .registry
        .insert(&identity, handle.clone(), shared.config.duplicates);
    Some(async move {
        let _permit = permit;
        let (connection, replaced) = match inserted {
            Ok(inserted) => inserted,
            Err(handle) => {
                // Lost a race with another connection of this identity.
                handle.close_with(1008).await;
                let _ = task.await;
                return;
            }
        };
        if let Some(old) = replaced {
            span.in_scope(|| tracing::info!("a new connection replaces the old one"));
            tokio::spawn(async move { old.close_with(1000).await });
        }
        if let Some(on_event) = &shared.config.on_event {
            on_event(&identity, &ServerEvent::Connected { version, remote });
        }
        span.in_scope(|| tracing::info!(%remote, "connected"));
        // A shutdown that began during the handshake.
        if *shared.shutdown.borrow() {
            handle.close_with(1001).await;
        }
        drop(handle);
        let (mut engine, ended) = task.await;
        let answers = engine.take_remembered_answers();
        shared
            .registry
            .remove(&identity, connection, engine.registration(), answers);
        span.in_scope(|| tracing::info!(?ended, "disconnected"));
        if let Some(on_event) = &shared.config.on_event {
            on_event(&identity, &ServerEvent::Disconnected(&ended));
        }
    })
}
