//! One OCPP-J connection: every incoming frame through a [`Dispatcher`], our own CALLs through
//! [`PendingCalls`], every frame logged.
//!
//! Under OCPP 2.1 the loop also answers an invalid CALLRESULT to one of our CALLs with a
//! CALLRESULTERROR (`[5, id, ...]`, the CALLRESULT's id; the CALL fails with
//! [`CallFailed::Answer`]), delivers SENDs (`[6, ...]`) to the dispatcher without answering
//! them, and [`Peer::send`] sends our own SENDs.
//!
//! A [`Connection`] owns an open WebSocket; its [`run`](Connection::run) loop serves it, and
//! the [`Peer`] handles from [`Connection::peer`] send CALLs and wait for their answers. Both
//! ends use it: the CSMS for each station that connects, the charging station for its one
//! connection.
//!
//! Incoming CALLs are answered in the loop, in order, so a handler must not wait for an answer
//! from the same connection (it would wait for itself): to send a CALL from a handler, spawn a
//! task that uses the [`Peer`]. That task's CALL is sent after the handler's CALLRESULT.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ocpp_messages::rpc::{Answer, CallRefused, PendingCalls, ResponseError};
use ocpp_messages::rpc::{Dispatcher, NoReply, Received};
use ocpp_messages::validate::Violations;
use ocpp_messages::{Feature, Message as _, OcppVersion, Role};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::frame_log::{Direction, FrameLog};

/// How long a CALL waits for its answer unless [`Connection::with_call_timeout`] says otherwise.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why one of our CALLs got no response.
#[derive(Debug, thiserror::Error)]
pub enum CallFailed {
    /// The request violates its schema, so it was not sent.
    #[error("the request was not sent: {0}")]
    Invalid(CallRefused),
    /// The connection closed before the answer came.
    #[error("the connection is closed")]
    Closed,
    /// No answer came in time; the call is forgotten.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The peer answered with a CALLERROR, or with a response its schema rejects.
    #[error(transparent)]
    Answer(#[from] ResponseError),
    /// [`Peer::send`] was asked to send an action that is no SEND from this side in the
    /// connection's version (SENDs exist from OCPP 2.1 on), so nothing was sent.
    #[error("{action} is not a SEND from this side in OCPP {version}")]
    NotASend {
        /// The action.
        action: &'static str,
        /// The connection's version.
        version: OcppVersion,
    },
    /// The SEND's payload violates its schema, so it was not sent.
    #[error("the SEND was not sent: {0}")]
    InvalidSend(Violations),
}

/// What the loop sends on the socket for a [`Peer`].
enum Outgoing {
    /// A CALL or SEND frame.
    Frame(String),
    /// A normal close, with a reason.
    Close(String),
}

/// The callers waiting for answers, shared by the loop and the [`Peer`]s. The calls
/// themselves are in a `Mutex<PendingCalls>` of their own, which [`Dispatcher::receive`] locks
/// to match an answer; whoever needs both locks this one first.
struct Shared {
    waiters: HashMap<String, oneshot::Sender<Answer>>,
    closed: bool,
}

/// A handle to send CALLs on a connection. Cheap to clone.
#[derive(Clone)]
pub struct Peer {
    station: Arc<str>,
    version: OcppVersion,
    /// The role of this end.
    role: Role,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    shared: Arc<Mutex<Shared>>,
    pending: Arc<Mutex<PendingCalls>>,
    /// Held while a CALL awaits its answer: one CALL at a time (OCPP-J, Part 4 §4.1.1).
    turn: Arc<tokio::sync::Mutex<()>>,
    timeout: Duration,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("station", &self.station)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

fn lock<T>(shared: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held cannot leave the maps inconsistent: keep going.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl Peer {
    /// The charging station at the other end (or at this end, for a station).
    pub fn station(&self) -> &str {
        &self.station
    }

    /// The negotiated OCPP version.
    pub fn version(&self) -> OcppVersion {
        self.version
    }

    /// Sends a CALL of feature `F` and waits for its response.
    ///
    /// Waits first for any earlier CALL of this connection to be answered or to time out. The
    /// message id is a fresh UUID, never reused across connections (Part 4 §4.1.4).
    pub async fn call<F: Feature>(&self, request: &F::Request) -> Result<F::Response, CallFailed> {
        let _turn = self.turn.lock().await;
        let id = uuid::Uuid::new_v4().to_string();
        let (answer_tx, answer_rx) = oneshot::channel();
        let frame = {
            let mut shared = lock(&self.shared);
            if shared.closed {
                return Err(CallFailed::Closed);
            }
            let frame = lock(&self.pending)
                .call_with_id::<F>(&id, request)
                .map_err(CallFailed::Invalid)?;
            shared.waiters.insert(id.clone(), answer_tx);
            frame
        };
        if self.outgoing.send(Outgoing::Frame(frame)).is_err() {
            self.forget(&id);
            return Err(CallFailed::Closed);
        }
        match tokio::time::timeout(self.timeout, answer_rx).await {
            Ok(Ok(answer)) => Ok(answer.into_response::<F>()?),
            Ok(Err(_)) => Err(CallFailed::Closed),
            Err(_) => {
                self.forget(&id);
                Err(CallFailed::Timeout(self.timeout))
            }
        }
    }

    /// Sends a SEND of feature `F` (OCPP 2.1, message type 6: `[6, id, action, payload]`),
    /// which the peer never answers.
    ///
    /// Fails without sending anything if `F` is not a SEND that this side sends in the
    /// connection's version, or the request violates its schema. A SEND is no CALL: it does not wait for the CALL in flight,
    /// if any. The message id is a fresh UUID.
    pub fn send<F: Feature>(&self, request: &F::Request) -> Result<(), CallFailed> {
        let is_send = self
            .version
            .feature(F::NAME)
            .is_some_and(|f| f.send && f.initiator.may_be_sent_by(self.role));
        if !F::SEND || !is_send {
            return Err(CallFailed::NotASend {
                action: F::NAME,
                version: self.version,
            });
        }
        let payload = request.to_json_string().map_err(CallFailed::InvalidSend)?;
        let id = uuid::Uuid::new_v4().to_string();
        // `[6,"id","Action",` then the payload: the id and action need no escaping (a UUID and
        // a generated action name), but are written through JSON anyway.
        let head = serde_json::json!([6, id, F::NAME]).to_string();
        let frame = format!("{},{payload}]", &head[..head.len() - 1]);
        if lock(&self.shared).closed || self.outgoing.send(Outgoing::Frame(frame)).is_err() {
            return Err(CallFailed::Closed);
        }
        Ok(())
    }

    /// Asks the loop to close the connection normally; [`Connection::run`] returns once the
    /// peer has answered the close.
    pub fn close(&self, reason: &str) {
        // If the loop is gone, the connection is closed already.
        let _ = self.outgoing.send(Outgoing::Close(reason.to_owned()));
    }

    /// Whether both handles belong to the same connection.
    pub fn same_connection(&self, other: &Peer) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    fn forget(&self, id: &str) {
        let mut shared = lock(&self.shared);
        lock(&self.pending).cancel(id);
        shared.waiters.remove(id);
    }
}

/// The loop of one connection: see the [module docs](self).
pub struct Connection<S> {
    ws: WebSocketStream<S>,
    station: Arc<str>,
    dispatcher: Dispatcher,
    log: FrameLog,
    outgoing: mpsc::UnboundedReceiver<Outgoing>,
    shared: Arc<Mutex<Shared>>,
    pending: Arc<Mutex<PendingCalls>>,
    peer: Peer,
}

impl<S> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("station", &self.station)
            .field("dispatcher", &self.dispatcher)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// A connection with `station` over `ws`, answering incoming CALLs with `dispatcher` (whose
    /// version is the negotiated one) and logging frames to `log`.
    pub fn new(
        ws: WebSocketStream<S>,
        station: &str,
        dispatcher: Dispatcher,
        log: FrameLog,
    ) -> Connection<S> {
        let (version, role) = (dispatcher.version(), dispatcher.role());
        let station: Arc<str> = station.into();
        let (outgoing_tx, outgoing_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared {
            waiters: HashMap::new(),
            closed: false,
        }));
        let pending = Arc::new(Mutex::new(PendingCalls::new(version)));
        let peer = Peer {
            station: Arc::clone(&station),
            version,
            role,
            outgoing: outgoing_tx,
            shared: Arc::clone(&shared),
            pending: Arc::clone(&pending),
            turn: Arc::new(tokio::sync::Mutex::new(())),
            timeout: DEFAULT_CALL_TIMEOUT,
        };
        Connection {
            ws,
            station,
            dispatcher,
            log,
            outgoing: outgoing_rx,
            shared,
            pending,
            peer,
        }
    }

    /// Sets how long CALLs sent through [`Connection::peer`] wait for their answer.
    #[must_use]
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.peer.timeout = timeout;
        self
    }

    /// A handle for sending CALLs, with this connection's call timeout.
    pub fn peer(&self) -> Peer {
        self.peer.clone()
    }

    /// Serves the connection until it closes: answers every incoming CALL (or unreadable
    /// frame) through the dispatcher, hands CALLRESULTs and CALLERRORs to the waiting
    /// [`Peer::call`] (under 2.1 answering an invalid CALLRESULT with a CALLRESULTERROR),
    /// delivers SENDs unanswered, and sends what the peers ask to send.
    ///
    /// Returns `Ok` when the connection closed normally. Calls still waiting fail with
    /// [`CallFailed::Closed`].
    pub async fn run(self) -> Result<(), WsError> {
        let Connection {
            mut ws,
            station,
            dispatcher,
            log,
            mut outgoing,
            shared,
            pending,
            peer,
        } = self;
        // The loop must not keep its own sender alive: drop it, so `recv` ends when every
        // outside handle is gone.
        drop(peer);
        let io = Io {
            station: &station,
            dispatcher: &dispatcher,
            log: &log,
            shared: &shared,
            pending: &pending,
        };
        let result = async {
            loop {
                tokio::select! {
                    message = ws.next() => match message {
                        Some(message) => io.received(&mut ws, message?).await?,
                        None => return Ok(()),
                    },
                    Some(command) = outgoing.recv() => io.send(&mut ws, command).await?,
                }
            }
        }
        .await;
        let mut shared = lock(&shared);
        shared.closed = true;
        // Dropping the senders wakes every waiting call with `Closed`.
        shared.waiters.clear();
        match result {
            Err(WsError::ConnectionClosed) => Ok(()),
            other => other,
        }
    }
}

/// What the loop needs besides the socket.
struct Io<'a> {
    station: &'a str,
    dispatcher: &'a Dispatcher,
    log: &'a FrameLog,
    shared: &'a Mutex<Shared>,
    pending: &'a Mutex<PendingCalls>,
}

impl Io<'_> {
    /// Handles one message from the peer: a CALL (or an unreadable frame) is answered, an
    /// answer goes to the call waiting for it (an invalid one, under 2.1, is answered with a
    /// CALLRESULTERROR too), a SEND goes to its handler and is not answered.
    async fn received<S>(
        &self,
        ws: &mut WebSocketStream<S>,
        message: Message,
    ) -> Result<(), WsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let station = self.station;
        match message {
            Message::Text(text) => {
                self.log.record(station, Direction::In, &text);
                let reply = match self.dispatcher.receive(station, &text, self.pending).await {
                    Received::Reply(reply) => Some(reply),
                    Received::Answer(answer) => {
                        hand_over(self.shared, station, answer);
                        None
                    }
                    Received::RejectedAnswer { answer, reply } => {
                        tracing::warn!(
                            "{station}: the answer to {} {} is invalid: answering with a \
                             CALLRESULTERROR",
                            answer.action,
                            answer.message_id
                        );
                        hand_over(self.shared, station, answer);
                        Some(reply)
                    }
                    Received::Unmatched(unmatched) => {
                        tracing::warn!("{station}: ignoring an answer: {unmatched}");
                        None
                    }
                    Received::NoReply(what) => {
                        not_answered(station, &what);
                        None
                    }
                };
                if let Some(reply) = reply {
                    self.log.record(station, Direction::Out, &reply);
                    ws.send(Message::text(reply)).await?;
                }
            }
            Message::Binary(data) => tracing::warn!(
                "{station}: ignoring a binary message of {} bytes: OCPP-J frames are text",
                data.len()
            ),
            Message::Close(frame) => {
                tracing::info!("{station}: close received ({})", describe(frame.as_ref()));
            }
            // tungstenite answers pings itself.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
        Ok(())
    }

    /// Does what a [`Peer`] asked.
    async fn send<S>(&self, ws: &mut WebSocketStream<S>, command: Outgoing) -> Result<(), WsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match command {
            Outgoing::Frame(frame) => {
                self.log.record(self.station, Direction::Out, &frame);
                ws.send(Message::text(frame)).await
            }
            Outgoing::Close(reason) => {
                tracing::info!("{}: closing ({reason})", self.station);
                let frame = CloseFrame {
                    code: CloseCode::Normal,
                    reason: reason.into(),
                };
                ws.close(Some(frame)).await
            }
        }
    }
}

/// Hands an answer, matched to its call, to the caller waiting for it.
fn hand_over(shared: &Mutex<Shared>, station: &str, answer: Answer) {
    match lock(shared).waiters.remove(&answer.message_id) {
        // The caller may have given up in the meantime: nothing to do then.
        Some(waiter) => drop(waiter.send(answer)),
        None => tracing::warn!(
            "{station}: answer to {} {} came after its caller stopped waiting",
            answer.action,
            answer.message_id
        ),
    }
}

/// Logs a frame that gets no answer (2.1's SEND and CALLRESULTERROR).
fn not_answered(station: &str, what: &NoReply) {
    match what {
        NoReply::Delivered { action } => tracing::info!("{station}: {action} SEND delivered"),
        NoReply::Undelivered { message_id, error } => tracing::warn!(
            "{station}: a SEND{} was not delivered ({}: {})",
            message_id
                .as_deref()
                .map(|id| format!(" {id}"))
                .unwrap_or_default(),
            error.code,
            error.description
        ),
        NoReply::ResultRejected { message_id, error } => tracing::warn!(
            "{station}: our answer to {message_id} was rejected with a CALLRESULTERROR ({}: {})",
            error.code,
            error.description
        ),
    }
}

fn describe(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) if frame.reason.is_empty() => format!("code {}", u16::from(frame.code)),
        Some(frame) => format!("code {}: {}", u16::from(frame.code), frame.reason),
        None => "no close code".to_owned(),
    }
}
