//! The tokio driver of one connection: it moves frames between a WebSocket and an
//! [`Engine`], runs the handlers of the peer's CALLs concurrently in the same task, sleeps
//! until the engine's next deadline, and hands typed answers to the callers of a [`Handle`].

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{SinkExt, StreamExt};
use ocpp_messages::rpc::{self, Answer, ResponseError};
use std::sync::Arc;

use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::{Feature, OcppVersion, Role};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::engine::{CallRefused, Engine, Event, Served, Transmit};

/// The dispatchers of a server or a client: one per version, each of the side's role, in the
/// order they were added.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dispatchers(Vec<Arc<Dispatcher>>);

impl Dispatchers {
    /// Adds `dispatcher`.
    ///
    /// # Panics
    ///
    /// If it is not of `role`, or its version is there already: mistakes in the program.
    pub(crate) fn add(&mut self, dispatcher: Arc<Dispatcher>, role: Role) {
        assert!(
            dispatcher.role() == role,
            "a {role:?} dispatcher was expected, not a {:?} one",
            dispatcher.role()
        );
        assert!(
            self.get(dispatcher.version()).is_none(),
            "a dispatcher for OCPP {} is there already",
            dispatcher.version()
        );
        self.0.push(dispatcher);
    }

    /// The versions, in order.
    pub(crate) fn versions(&self) -> Vec<OcppVersion> {
        self.0.iter().map(|d| d.version()).collect()
    }

    /// The dispatcher of `version`.
    pub(crate) fn get(&self, version: OcppVersion) -> Option<&Arc<Dispatcher>> {
        self.0.iter().find(|d| d.version() == version)
    }

    /// Whether there is none.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The WebSocket configuration for their connections, with a read buffer of
    /// `read_buffer` bytes: messages up to twice the largest frame limit of the dispatchers
    /// are read (the dispatcher answers those beyond its limit itself; the version is known
    /// only after the handshake, and tungstenite fixes its limits before), writes go out at
    /// once.
    pub(crate) fn websocket(&self, read_buffer: usize) -> WebSocketConfig {
        let max_frame = self
            .0
            .iter()
            .map(|d| d.limits().max_frame_len())
            .max()
            .unwrap_or(ocpp_messages::limits::DEFAULT_MAX_FRAME_LEN);
        let max_message = max_frame.saturating_mul(2);
        WebSocketConfig::default()
            .read_buffer_size(read_buffer)
            .write_buffer_size(0)
            .max_message_size(Some(max_message))
            .max_frame_size(Some(max_message))
    }
}

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the peer.
    Received,
    /// To the peer.
    Sent,
}

/// What a connection reports as it runs: every engine event and every text frame (a frame
/// log, say), for [`open_observed`]. Both methods do nothing unless implemented. They run in
/// the connection's task: keep them short.
pub trait Observe: Send {
    /// An event of the engine (after answers went to their waiters).
    fn event(&mut self, event: &Event) {
        let _ = event;
    }

    /// A frame received (before the engine reads it; a binary message as lossy UTF-8) or
    /// about to be sent.
    fn frame(&mut self, direction: Direction, text: &str) {
        let _ = (direction, text);
    }
}

/// The observer [`open`] makes of a closure: events only.
struct OnEvent<F>(F);

impl<F: FnMut(&Event) + Send> Observe for OnEvent<F> {
    fn event(&mut self, event: &Event) {
        (self.0)(event);
    }
}

/// Why a call made through a [`Handle`] got no typed response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallFailed {
    /// The engine did not take the request (invalid, queue full, not accepted yet).
    #[error("not sent: {0}")]
    Refused(#[from] CallRefused),
    /// The peer answered with a CALLERROR, or its CALLRESULT was invalid.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// No answer came within the call's timeout.
    #[error("no answer within the call timeout")]
    TimedOut,
    /// The connection dropped while the call was outstanding (it may have reached the peer).
    #[error("the connection dropped before the answer")]
    ConnectionLost,
    /// The connection's task has ended.
    #[error("the connection is closed")]
    Closed,
    /// A stored call was given up (its attempts failed, or a full store dropped it).
    #[error("given up: {0:?}")]
    Discarded(crate::engine::Discard),
    /// The store failed to take or change values.
    #[error("{0}")]
    Store(String),
}

/// Runs on the engine in the connection's task.
pub(crate) type WithEngine = Box<dyn FnOnce(&mut Engine, Instant) + Send>;

/// Makes a call with the engine, in the connection's task; the message id comes out.
pub(crate) type MakeCall =
    Box<dyn FnOnce(&mut Engine, Instant) -> Result<String, CallRefused> + Send>;

/// A call a [`Handle`] asks its connection's task to make.
pub(crate) struct CallCommand {
    pub(crate) make: MakeCall,
    pub(crate) waiter: Option<oneshot::Sender<Result<Answer, CallFailed>>>,
    pub(crate) made: oneshot::Sender<Result<String, CallFailed>>,
}

/// What a [`Handle`] asks of its connection's task.
pub(crate) enum Command {
    /// Make a CALL (or, when `waiter` is `None`, a SEND) with the engine (boxed: the
    /// channel's slots, allocated per connection, stay small).
    Call(Box<CallCommand>),
    /// Close the connection (code 1000, or 1001 when the server goes away).
    Close { code: u16 },
    /// Run something on the engine.
    With(WithEngine),
    /// Close the connection (code 1000) and, on a station, connect again at once.
    Reconnect,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Call(_) => f.write_str("Call"),
            Command::Close { code } => write!(f, "Close({code})"),
            Command::With(_) => f.write_str("With"),
            Command::Reconnect => f.write_str("Reconnect"),
        }
    }
}

/// Sends typed CALLs and SENDs over one connection (the station's connection on a CSMS, the
/// CSMS connection on a station) and awaits their typed answers. Cheap to clone; usable from
/// any task.
#[derive(Debug, Clone)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
    version: OcppVersion,
}

impl Handle {
    pub(crate) fn new(commands: mpsc::Sender<Command>, version: OcppVersion) -> Self {
        Handle { commands, version }
    }

    /// The version the connection speaks.
    pub fn version(&self) -> OcppVersion {
        self.version
    }

    /// Whether the connection's task has ended.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    /// Makes a CALL of `F` and awaits its typed response. The call waits its turn (one
    /// outstanding CALL per direction, and the boot gate), then its timeout runs.
    pub async fn call<F>(&self, request: F::Request) -> Result<F::Response, CallFailed>
    where
        F: Feature + 'static,
        F::Request: Send + 'static,
    {
        let (waiter, answer) = oneshot::channel();
        self.submit(
            Box::new(move |engine, now| engine.call::<F>(&request, now)),
            Some(waiter),
        )
        .await?;
        let answer = answer.await.map_err(|_| CallFailed::Closed)??;
        Ok(answer.into_response::<F>()?)
    }

    /// Sends a SEND of `F` (OCPP 2.1): written at once, never answered.
    pub async fn send<F>(&self, request: F::Request) -> Result<(), CallFailed>
    where
        F: Feature + 'static,
        F::Request: Send + 'static,
    {
        self.submit(Box::new(move |engine, _| engine.send::<F>(&request)), None)
            .await
            .map(|_| ())
    }

    /// Makes a stored CALL of `F` (see [`Engine::call_stored`]): once this returns `Ok`, the
    /// call is in the store, together with `values`, and survives a restart. The
    /// [`StoredCall`] says when it is delivered, if this process lives that long; a restarted
    /// one sends it all the same. Needs a store on the engine (a station's
    /// [`ClientConfig::with_store`](crate::client::ClientConfig::with_store)).
    pub async fn call_stored<F>(
        &self,
        request: F::Request,
        values: Vec<(String, Option<String>)>,
    ) -> Result<StoredCall<F>, CallFailed>
    where
        F: Feature + 'static,
        F::Request: Send + 'static,
    {
        let (waiter, answer) = oneshot::channel();
        let message_id = self
            .submit(
                Box::new(move |engine, now| {
                    let values: Vec<(&str, Option<&str>)> = values
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_deref()))
                        .collect();
                    engine.call_stored::<F>(&request, &values, now)
                }),
                Some(waiter),
            )
            .await?;
        Ok(StoredCall {
            message_id,
            answer,
            feature: std::marker::PhantomData,
        })
    }

    /// Sets (`Some`) or removes (`None`) values in the engine's store, atomically.
    pub async fn set_values(
        &self,
        values: Vec<(String, Option<String>)>,
    ) -> Result<(), CallFailed> {
        let (done, result) = oneshot::channel();
        let with: WithEngine = Box::new(move |engine, _| {
            let values: Vec<(&str, Option<&str>)> = values
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            let _ = done.send(
                engine
                    .set_values(&values)
                    .map_err(|e| CallFailed::Store(e.to_string())),
            );
        });
        self.commands
            .send(Command::With(with))
            .await
            .map_err(|_| CallFailed::Closed)?;
        result.await.map_err(|_| CallFailed::Closed)?
    }

    /// The stored value named `key` (`None` when there is none, the engine has no store, or
    /// the connection's task has ended).
    pub async fn value(&self, key: &str) -> Option<String> {
        let (done, result) = oneshot::channel();
        let key = key.to_owned();
        let with: WithEngine = Box::new(move |engine, _| {
            let _ = done.send(engine.value(&key).map(str::to_owned));
        });
        if self.commands.send(Command::With(with)).await.is_err() {
            return None;
        }
        result.await.ok().flatten()
    }

    /// How many stored calls wait for delivery (0 when the engine has no store, or the
    /// connection's task has ended).
    pub async fn stored_calls(&self) -> usize {
        let (done, result) = oneshot::channel();
        let with: WithEngine = Box::new(move |engine, _| {
            let _ = done.send(engine.stored_calls());
        });
        if self.commands.send(Command::With(with)).await.is_err() {
            return 0;
        }
        result.await.unwrap_or(0)
    }

    /// Whether the engine has a connection up now (a station's offline events carry
    /// `offline: true`).
    pub async fn is_connected(&self) -> bool {
        let (done, result) = oneshot::channel();
        let with: WithEngine = Box::new(move |engine, _| {
            let _ = done.send(engine.is_connected());
        });
        if self.commands.send(Command::With(with)).await.is_err() {
            return false;
        }
        result.await.unwrap_or(false)
    }

    async fn submit(
        &self,
        make: MakeCall,
        waiter: Option<oneshot::Sender<Result<Answer, CallFailed>>>,
    ) -> Result<String, CallFailed> {
        let (made, taken) = oneshot::channel();
        self.commands
            .send(Command::Call(Box::new(CallCommand { make, waiter, made })))
            .await
            .map_err(|_| CallFailed::Closed)?;
        taken.await.map_err(|_| CallFailed::Closed)?
    }

    /// Closes the connection (close code 1000); a station's client connects again at once,
    /// with the credentials it has now (after a password change or a certificate renewal,
    /// say), keeping its engine.
    /// On a CSMS's connection it only closes.
    pub async fn reconnect(&self) {
        let _ = self.commands.send(Command::Reconnect).await;
    }

    /// Closes the connection (WebSocket close code 1000).
    pub async fn close(&self) {
        let _ = self.commands.send(Command::Close { code: 1000 }).await;
    }

    /// Closes the connection with `code` (1001 when a server shuts down).
    pub(crate) async fn close_with(&self, code: u16) {
        let _ = self.commands.send(Command::Close { code }).await;
    }
}

/// A stored call made through [`Handle::call_stored`]: it is in the store.
#[derive(Debug)]
#[must_use = "await `delivered` for the answer, or drop it: the call goes out regardless"]
pub struct StoredCall<F> {
    message_id: String,
    answer: oneshot::Receiver<Result<Answer, CallFailed>>,
    feature: std::marker::PhantomData<fn() -> F>,
}

impl<F: Feature> StoredCall<F> {
    /// The call's message id (the same on every attempt).
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// Waits until the call is delivered and returns its typed response, or why it was given
    /// up ([`CallFailed::Discarded`]); [`CallFailed::Closed`] when the client closed first
    /// (the call stays stored).
    pub async fn delivered(self) -> Result<F::Response, CallFailed> {
        let answer = self.answer.await.map_err(|_| CallFailed::Closed)??;
        Ok(answer.into_response::<F>()?)
    }
}

/// Why a connection's loop ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Ended {
    /// The peer closed the WebSocket (or the stream ended).
    PeerClosed,
    /// We closed it: [`Handle::close`], shutdown, or every handle dropped.
    Closed,
    /// We closed it to connect again ([`Handle::reconnect`]).
    Reconnecting,
    /// No pong within the pong timeout.
    Unresponsive,
    /// A WebSocket or I/O error.
    Error(tokio_tungstenite::tungstenite::Error),
}

/// The callers waiting for answers, by message id.
pub(crate) type Waiters = HashMap<String, oneshot::Sender<Result<Answer, CallFailed>>>;

/// Runs one connection until it ends: frames in and out, the engine's timers, the handlers
/// of the peer's CALLs (concurrently, in this task), commands from the handles. Every event
/// goes to `observer` (after answers went to their waiters), and every frame.
pub(crate) async fn drive<S>(
    websocket: &mut WebSocketStream<S>,
    engine: &mut Engine,
    commands: &mut mpsc::Receiver<Command>,
    waiters: &mut Waiters,
    observer: &mut dyn Observe,
) -> Ended
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Boxed: the set's own allocation then holds a pointer, not a whole handler future, for
    // as long as the connection lives.
    let mut serving: FuturesUnordered<BoxFuture<'static, Served>> = FuturesUnordered::new();
    let ended = loop {
        if let Some(ended) = flush(websocket, engine, waiters, observer).await {
            break ended;
        }
        let deadline = engine.poll_timeout();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        // The select only picks what happened; handling it (awaits included) comes after,
        // so the branch futures are not held across those awaits.
        let step = tokio::select! {
            message = websocket.next() => Step::Frame(message),
            Some(served) = serving.next(), if !serving.is_empty() => Step::Served(served),
            command = commands.recv() => Step::Command(command),
            () = sleep => Step::Timer,
        };
        let now = Instant::now();
        match step {
            Step::Frame(Some(Ok(Message::Text(text)))) => {
                observer.frame(Direction::Received, text.as_str());
                if let Some(serve) = engine.receive(text.as_str(), now) {
                    run_handler(serve, engine, &mut serving);
                }
            }
            Step::Frame(Some(Ok(Message::Binary(bytes)))) => {
                observer.frame(Direction::Received, &String::from_utf8_lossy(&bytes));
                if let Some(serve) = engine.receive(&bytes[..], now) {
                    run_handler(serve, engine, &mut serving);
                }
            }
            // tungstenite answers pings by itself; any frame shows the peer is there.
            Step::Frame(Some(Ok(Message::Pong(_) | Message::Ping(_) | Message::Frame(_)))) => {
                engine.pong(now);
            }
            Step::Frame(Some(Ok(Message::Close(_))) | None) => break Ended::PeerClosed,
            Step::Frame(Some(Err(error))) => break Ended::Error(error),
            Step::Served(served) => engine.served(served, now),
            Step::Command(Some(Command::Call(call))) => take_call(engine, waiters, *call),
            Step::Command(Some(Command::With(with))) => with(engine, now),
            Step::Command(Some(Command::Reconnect)) => {
                drain(&mut serving, engine).await;
                if let Some(ended) = flush(websocket, engine, waiters, observer).await {
                    break ended;
                }
                Box::pin(close_and_wait(websocket, 1000)).await;
                break Ended::Reconnecting;
            }
            Step::Command(Some(Command::Close { code })) => {
                // Boxed: the closing path's futures need no room in the connection's state.
                break Box::pin(close(
                    websocket,
                    engine,
                    &mut serving,
                    waiters,
                    observer,
                    code,
                ))
                .await;
            }
            Step::Command(None) => {
                Box::pin(close_and_wait(websocket, 1000)).await;
                break Ended::Closed;
            }
            Step::Timer => engine.handle_timeout(now),
        }
    };
    // What the handlers still owe is dropped with the connection.
    drop(serving);
    engine.disconnected(Instant::now());
    deliver(engine, waiters, observer);
    ended
}

/// Runs a handler: most answer at once, and their answer is taken now; the others join
/// `serving` and answer when they are done.
fn run_handler(
    serve: crate::engine::Serve,
    engine: &mut Engine,
    serving: &mut FuturesUnordered<BoxFuture<'static, Served>>,
) {
    let mut future = Box::pin(serve.run());
    match futures_util::FutureExt::now_or_never(&mut future) {
        Some(served) => engine.served(served, Instant::now()),
        None => serving.push(future),
    }
}

/// What woke the connection's loop.
enum Step {
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Served(Served),
    Command(Option<Command>),
    Timer,
}

/// Closes the connection with `code` once the answers the handlers still owe are out
/// (bounded by [`DRAIN_TIMEOUT`]).
async fn close<S>(
    websocket: &mut WebSocketStream<S>,
    engine: &mut Engine,
    serving: &mut FuturesUnordered<BoxFuture<'static, Served>>,
    waiters: &mut Waiters,
    observer: &mut dyn Observe,
    code: u16,
) -> Ended
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    drain(serving, engine).await;
    if let Some(ended) = flush(websocket, engine, waiters, observer).await {
        return ended;
    }
    close_and_wait(websocket, code).await;
    Ended::Closed
}

/// How long a closing side waits for the peer's close frame (RFC 6455 §7.1.1: the peer
/// answers it, then the TCP connection ends).
pub const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Sends a close frame with `code` and reads (and drops) what comes until the peer's close,
/// for at most [`CLOSE_WAIT`].
async fn close_and_wait<S>(websocket: &mut WebSocketStream<S>, code: u16)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if websocket.close(Some(close_frame(code, ""))).await.is_ok() {
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(_)) = websocket.next().await {}
        })
        .await;
    }
}

/// Makes a handle's call with the engine (which queues it while disconnected) and tells the
/// handle whether it was taken.
pub(crate) fn take_call(engine: &mut Engine, waiters: &mut Waiters, call: CallCommand) {
    let CallCommand { make, waiter, made } = call;
    match make(engine, Instant::now()) {
        Ok(id) => {
            if let Some(waiter) = waiter {
                waiters.insert(id.clone(), waiter);
            }
            let _ = made.send(Ok(id));
        }
        Err(refused) => {
            let _ = made.send(Err(CallFailed::Refused(refused)));
        }
    }
}

/// How long a closing connection waits for the answers its handlers still owe.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the handlers in `serving` to their answers, for at most [`DRAIN_TIMEOUT`].
async fn drain(serving: &mut FuturesUnordered<BoxFuture<'static, Served>>, engine: &mut Engine) {
    let deadline = tokio::time::sleep(DRAIN_TIMEOUT);
    tokio::pin!(deadline);
    while !serving.is_empty() {
        tokio::select! {
            Some(served) = serving.next() => engine.served(served, Instant::now()),
            () = &mut deadline => break,
        }
    }
}

/// Writes what the engine wants written and hands out its events. `Some` when the engine
/// asked to close.
async fn flush<S>(
    websocket: &mut WebSocketStream<S>,
    engine: &mut Engine,
    waiters: &mut Waiters,
    observer: &mut dyn Observe,
) -> Option<Ended>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut wrote = false;
    while let Some(transmit) = engine.poll_transmit() {
        let result = match transmit {
            Transmit::Text(text) => {
                observer.frame(Direction::Sent, &text);
                websocket.feed(Message::text(text)).await
            }
            Transmit::Ping(payload) => websocket.feed(Message::Ping(payload.into())).await,
            Transmit::Close { code, reason } => {
                let _ = websocket.close(Some(close_frame(code, reason))).await;
                deliver(engine, waiters, observer);
                return Some(Ended::Unresponsive);
            }
        };
        if let Err(error) = result {
            return Some(Ended::Error(error));
        }
        wrote = true;
    }
    if wrote {
        if let Err(error) = websocket.flush().await {
            return Some(Ended::Error(error));
        }
    }
    deliver(engine, waiters, observer);
    None
}

/// Hands answers to their waiters and every event to `observer`.
pub(crate) fn deliver(engine: &mut Engine, waiters: &mut Waiters, observer: &mut dyn Observe) {
    while let Some(event) = engine.poll_event() {
        observer.event(&event);
        let (id, result) = match event {
            Event::Session(rpc::Event::Answered(answer)) => (answer.message_id.clone(), Ok(answer)),
            Event::TimedOut { message_id, .. } => (message_id, Err(CallFailed::TimedOut)),
            Event::ConnectionLost { message_id, .. } => {
                (message_id, Err(CallFailed::ConnectionLost))
            }
            Event::Delivered { answer, .. } => (answer.message_id.clone(), Ok(answer)),
            Event::Discarded {
                message_id, reason, ..
            } => (message_id, Err(CallFailed::Discarded(reason))),
            _ => continue,
        };
        if let Some(waiter) = waiters.remove(&id) {
            let _ = waiter.send(result);
        }
    }
}

fn close_frame(code: u16, reason: &str) -> CloseFrame {
    CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_owned().into(),
    }
}

/// Starts driving `websocket` (opened, its handshake done) with `engine`: returns the
/// [`Handle`] to make calls with and the connection's future, to spawn or await. The future
/// ends when the connection does, with the engine (for a reconnection, say) and why it ended;
/// calls still queued end with [`CallFailed::ConnectionLost`] unless the engine is given to a
/// new connection. `on_event` sees every event of the engine ([`open_observed`] sees the
/// frames too).
///
/// ```no_run
/// # async fn f(websocket: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) {
/// use std::time::{Duration, Instant};
/// use ocpp_connection::connection;
/// use ocpp_connection::engine::{Config, Engine};
/// use ocpp_messages::rpc::{Dispatcher, Session};
/// use ocpp_messages::v2_0_1::provisioning::{Reset, ResetFeature, ResetRequest};
/// use ocpp_messages::{OcppVersion, Role};
///
/// let session = Session::new(Dispatcher::new(OcppVersion::V2_0_1, Role::Csms), "CS-1");
/// let engine = Engine::new(session, Config::default(), Instant::now());
/// let (handle, task) = connection::open(websocket, engine, |event| println!("{event:?}"));
/// tokio::spawn(task);
/// let response = handle.call::<ResetFeature>(ResetRequest::new(Reset::OnIdle)).await;
/// # }
/// ```
pub fn open<S>(
    websocket: WebSocketStream<S>,
    engine: Engine,
    on_event: impl FnMut(&Event) + Send + 'static,
) -> (
    Handle,
    impl std::future::Future<Output = (Engine, Ended)> + Send + 'static,
)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    open_observed(websocket, engine, OnEvent(on_event))
}

/// [`open`] with an [`Observe`]r, which also sees every frame.
pub fn open_observed<S>(
    websocket: WebSocketStream<S>,
    engine: Engine,
    observer: impl Observe + 'static,
) -> (
    Handle,
    impl std::future::Future<Output = (Engine, Ended)> + Send + 'static,
)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (commands_tx, commands) = mpsc::channel(COMMAND_QUEUE);
    let handle = Handle::new(commands_tx, engine.version());
    // One allocation for what the connection holds, passed as one pointer: an async fn keeps
    // its arguments' room for its whole life, so large arguments would take it twice.
    let parts = Box::new(Parts {
        websocket,
        engine,
        commands,
        waiters: Waiters::new(),
        observer,
    });
    (handle, run(parts))
}

/// How many commands may wait for a connection's task (callers beyond it wait to submit).
const COMMAND_QUEUE: usize = 16;

/// What one connection's task holds.
struct Parts<S, E> {
    websocket: WebSocketStream<S>,
    engine: Engine,
    commands: mpsc::Receiver<Command>,
    waiters: Waiters,
    observer: E,
}

async fn run<S, E>(mut parts: Box<Parts<S, E>>) -> (Engine, Ended)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    E: Observe + 'static,
{
    let Parts {
        websocket,
        engine,
        commands,
        waiters,
        observer,
    } = &mut *parts;
    let ended = drive(websocket, engine, commands, waiters, observer).await;
    // No new connection for this engine: queued calls end too.
    engine.close(Instant::now());
    deliver(engine, waiters, observer);
    let Parts { engine, .. } = *parts;
    (engine, ended)
}
