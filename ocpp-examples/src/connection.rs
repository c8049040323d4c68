//! One OCPP-J connection: every frame through the connection's [`Session`], every frame logged.
//!
//! The [`Session`] (from `ocpp-messages`, no I/O) serves incoming CALLs with the dispatcher,
//! keeps our own pending CALLs and matches their answers; this module adds the socket, the
//! callers waiting for answers, the call timeout, and a log line for whatever gets no frame in
//! answer. Under OCPP 2.1 the session also answers an invalid CALLRESULT to one of our CALLs
//! with a CALLRESULTERROR (`[5, id, ...]`, the CALLRESULT's id; the CALL fails with
//! [`CallFailed::Answer`]), delivers SENDs (`[6, ...]`) to the dispatcher without answering
//! them, and writes our own SENDs for [`Peer::send`]. A frame of a message type the version
//! does not define is ignored in 1.6 and 2.1 (and logged), answered `MessageTypeNotSupported`
//! in 2.0.1. A binary message is read as a frame too (with a warning: OCPP-J frames are text),
//! and answered in a text message.
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
use ocpp_messages::frame::UNREADABLE_MESSAGE_ID;
use ocpp_messages::rpc::{
    Answer, Dispatcher, Event, Ignored, Outcome, Rejection, ResponseError, SendError, Session,
};
use ocpp_messages::{Feature, OcppVersion};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::frame_log::{Direction, FrameLog};

/// How long a CALL waits for its answer unless [`Connection::with_call_timeout`] says otherwise.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why one of our CALLs (or SENDs) got no response.
#[derive(Debug, thiserror::Error)]
pub enum CallFailed {
    /// The session refused to write the frame (the request violates its schema, say), so
    /// nothing was sent.
    #[error("the request was not sent: {0}")]
    NotSent(SendError),
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
}

/// What the loop sends on the socket for a [`Peer`].
enum Outgoing {
    /// A CALL or SEND frame.
    Frame(String),
    /// A normal close, with a reason.
    Close(String),
}

/// The callers waiting for answers, shared by the loop and the [`Peer`]s. The calls
/// themselves are the [`Session`]'s; a call is recorded there and here under this lock, and
/// its frame sent only then, so its answer always finds its waiter.
struct Waiters {
    waiting: HashMap<String, oneshot::Sender<Answer>>,
    closed: bool,
}

/// A handle to send CALLs on a connection. Cheap to clone.
#[derive(Clone)]
pub struct Peer {
    session: Arc<Session>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    waiters: Arc<Mutex<Waiters>>,
    /// Held while a CALL awaits its answer: one CALL at a time (OCPP-J, Part 4 §4.1.1).
    turn: Arc<tokio::sync::Mutex<()>>,
    timeout: Duration,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("station", &self.station())
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

fn lock<T>(shared: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while the lock was held cannot leave the map inconsistent: keep going.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forgets a call when its caller stops waiting, whichever way: answered (nothing left to
/// forget), timed out, or the caller's future dropped.
struct Forget<'a> {
    peer: &'a Peer,
    id: &'a str,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let mut waiters = lock(&self.peer.waiters);
        waiters.waiting.remove(self.id);
        self.peer.session.cancel(self.id);
    }
}

impl Peer {
    /// The charging station at the other end (or at this end, for a station).
    pub fn station(&self) -> &str {
        self.session.charging_station_id()
    }

    /// The negotiated OCPP version.
    pub fn version(&self) -> OcppVersion {
        self.session.version()
    }

    /// The connection's session: its dispatcher, version, role and pending calls.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Sends a CALL of feature `F` and waits for its response.
    ///
    /// Waits first for any earlier CALL of this connection to be answered or to time out. The
    /// message id is a fresh UUID, never reused across connections (Part 4 §4.1.4). A call
    /// that times out is cancelled in the session: a late answer is logged and ignored.
    pub async fn call<F: Feature>(&self, request: &F::Request) -> Result<F::Response, CallFailed> {
        let _turn = self.turn.lock().await;
        let id = uuid::Uuid::new_v4().to_string();
        let (answer_tx, answer_rx) = oneshot::channel();
        let frame = {
            let mut waiters = lock(&self.waiters);
            if waiters.closed {
                return Err(CallFailed::Closed);
            }
            let frame = self
                .session
                .call_with_id::<F>(&id, request)
                .map_err(CallFailed::NotSent)?;
            waiters.waiting.insert(id.clone(), answer_tx);
            frame
        };
        let _forget = Forget {
            peer: self,
            id: &id,
        };
        if self.outgoing.send(Outgoing::Frame(frame)).is_err() {
            return Err(CallFailed::Closed);
        }
        match tokio::time::timeout(self.timeout, answer_rx).await {
            Ok(Ok(answer)) => Ok(answer.into_response::<F>()?),
            Ok(Err(_)) => Err(CallFailed::Closed),
            Err(_) => Err(CallFailed::Timeout(self.timeout)),
        }
    }

    /// Sends a SEND of feature `F` (OCPP 2.1, message type 6: `[6, id, action, payload]`),
    /// which the peer never answers.
    ///
    /// Fails without sending anything if `F` is not a SEND that this side sends in the
    /// connection's version, or the request violates its schema. A SEND is no CALL: it does
    /// not wait for the CALL in flight, if any. The session writes the frame and chooses its
    /// message id (its own counter, not a UUID).
    pub fn send<F: Feature>(&self, request: &F::Request) -> Result<(), CallFailed> {
        let (version, role) = (self.session.version(), self.session.role());
        // The session checks that `F` is a SEND of a version that has them, not which side
        // sends it.
        let is_send = version
            .feature(F::NAME)
            .is_some_and(|f| f.send && f.initiator.may_be_sent_by(role));
        if !F::SEND || !is_send {
            return Err(CallFailed::NotASend {
                action: F::NAME,
                version,
            });
        }
        let (_id, frame) = self
            .session
            .send::<F>(request)
            .map_err(CallFailed::NotSent)?;
        if lock(&self.waiters).closed || self.outgoing.send(Outgoing::Frame(frame)).is_err() {
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
        Arc::ptr_eq(&self.session, &other.session)
    }
}

/// The loop of one connection: see the [module docs](self).
pub struct Connection<S> {
    ws: WebSocketStream<S>,
    session: Arc<Session>,
    log: FrameLog,
    outgoing: mpsc::UnboundedReceiver<Outgoing>,
    waiters: Arc<Mutex<Waiters>>,
    peer: Peer,
}

impl<S> std::fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// A connection with `station` over `ws`, answering incoming CALLs with `dispatcher` (whose
    /// version is the negotiated one; one dispatcher may serve several connections) and
    /// logging frames to `log`.
    pub fn new(
        ws: WebSocketStream<S>,
        station: &str,
        dispatcher: impl Into<Arc<Dispatcher>>,
        log: FrameLog,
    ) -> Connection<S> {
        // One CALL at a time (Part 4 §4.1.1): the peers' turn sees to it, the session holds
        // them to it.
        let session = Arc::new(Session::new(dispatcher, station).with_max_pending(1));
        let (outgoing_tx, outgoing_rx) = mpsc::unbounded_channel();
        let waiters = Arc::new(Mutex::new(Waiters {
            waiting: HashMap::new(),
            closed: false,
        }));
        let peer = Peer {
            session: Arc::clone(&session),
            outgoing: outgoing_tx,
            waiters: Arc::clone(&waiters),
            turn: Arc::new(tokio::sync::Mutex::new(())),
            timeout: DEFAULT_CALL_TIMEOUT,
        };
        Connection {
            ws,
            session,
            log,
            outgoing: outgoing_rx,
            waiters,
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

    /// Serves the connection until it closes: every incoming frame goes through the session,
    /// which answers CALLs (and unreadable frames) with the dispatcher, matches CALLRESULTs
    /// and CALLERRORs to the waiting [`Peer::call`] (under 2.1 answering an invalid
    /// CALLRESULT with a CALLRESULTERROR) and delivers SENDs unanswered; the loop sends what
    /// the session answers and what the peers ask to send.
    ///
    /// Returns `Ok` when the connection closed normally. Calls still waiting fail with
    /// [`CallFailed::Closed`].
    pub async fn run(self) -> Result<(), WsError> {
        let Connection {
            mut ws,
            session,
            log,
            mut outgoing,
            waiters,
            peer,
        } = self;
        // The loop must not keep its own sender alive: drop it, so `recv` ends when every
        // outside handle is gone.
        drop(peer);
        let io = Io {
            session: &session,
            log: &log,
            waiters: &waiters,
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
        let mut waiters = lock(&waiters);
        waiters.closed = true;
        // Dropping the senders wakes every waiting call with `Closed`; no answer can come now.
        for (id, _) in waiters.waiting.drain() {
            session.cancel(&id);
        }
        match result {
            Err(WsError::ConnectionClosed) => Ok(()),
            other => other,
        }
    }
}

/// What the loop needs besides the socket.
struct Io<'a> {
    session: &'a Session,
    log: &'a FrameLog,
    waiters: &'a Mutex<Waiters>,
}

impl Io<'_> {
    fn station(&self) -> &str {
        self.session.charging_station_id()
    }

    /// Handles one message from the peer: every text or binary frame goes through the
    /// session, whose reply, if any, is sent back.
    async fn received<S>(
        &self,
        ws: &mut WebSocketStream<S>,
        message: Message,
    ) -> Result<(), WsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let station = self.station();
        let outcome = match message {
            Message::Text(text) => {
                self.log.record(station, Direction::In, &text);
                self.session.receive(text.as_str()).await
            }
            Message::Binary(data) => {
                tracing::warn!(
                    "{station}: a binary message of {} bytes: OCPP-J frames are text, reading \
                     it as one",
                    data.len()
                );
                self.log
                    .record(station, Direction::In, &String::from_utf8_lossy(&data));
                self.session.receive(&data[..]).await
            }
            Message::Close(frame) => {
                tracing::info!("{station}: close received ({})", describe(frame.as_ref()));
                return Ok(());
            }
            // tungstenite answers pings itself.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Ok(()),
        };
        if let Some(reply) = self.outcome(outcome) {
            self.log.record(station, Direction::Out, &reply);
            ws.send(Message::text(reply)).await?;
        }
        Ok(())
    }

    /// Acts on what the session made of a frame: hands an answer to its caller, logs what
    /// gets no frame in answer. Returns the frame to send back.
    fn outcome(&self, outcome: Outcome) -> Option<String> {
        let station = self.station();
        let Outcome { reply, event } = outcome;
        match event {
            // The reply is the CALLRESULT, or the handler's CALLERROR.
            Event::Served { .. } => {}
            Event::Answered(answer) => {
                if reply.is_some() {
                    tracing::warn!(
                        "{station}: the answer to {} {} is invalid: answering with a \
                         CALLRESULTERROR",
                        answer.action,
                        answer.message_id
                    );
                }
                hand_over(self.waiters, station, answer);
            }
            Event::Delivered { action, .. } => {
                tracing::info!("{station}: {action} SEND delivered");
            }
            // Answered with the CALLERROR: the frame log has it.
            Event::Rejected(_) if reply.is_some() => {}
            Event::Rejected(rejection) => not_answered(station, &rejection),
            Event::ResultError { message_id, error } => tracing::warn!(
                "{station}: our answer to {message_id} was rejected with a CALLRESULTERROR \
                 ({error})"
            ),
            Event::Ignored(Ignored::Unmatched { message_id }) => tracing::warn!(
                "{station}: ignoring an answer to {message_id}: no call of ours awaits it"
            ),
            Event::Ignored(Ignored::UnknownMessageType { message_id }) => tracing::warn!(
                "{station}: ignoring a frame{} of a message type OCPP {} does not define",
                with_id(message_id.as_deref()),
                self.session.version()
            ),
            // Events a later `ocpp-messages` may add.
            other => tracing::info!("{station}: {other:?}"),
        }
        reply
    }

    /// Does what a [`Peer`] asked.
    async fn send<S>(&self, ws: &mut WebSocketStream<S>, command: Outgoing) -> Result<(), WsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match command {
            Outgoing::Frame(frame) => {
                self.log.record(self.station(), Direction::Out, &frame);
                ws.send(Message::text(frame)).await
            }
            Outgoing::Close(reason) => {
                tracing::info!("{}: closing ({reason})", self.station());
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
fn hand_over(waiters: &Mutex<Waiters>, station: &str, answer: Answer) {
    match lock(waiters).waiting.remove(&answer.message_id) {
        // The caller may have given up in the meantime: nothing to do then.
        Some(waiter) => drop(waiter.send(answer)),
        None => tracing::warn!(
            "{station}: answer to {} {} came after its caller stopped waiting",
            answer.action,
            answer.message_id
        ),
    }
}

/// Logs a frame the session rejected without answering it: under 2.1, a SEND it did not
/// deliver (a SEND is never answered, not even with a CALLERROR).
fn not_answered(station: &str, rejection: &Rejection) {
    tracing::warn!(
        "{station}: a SEND or CALLRESULTERROR{} was not delivered ({rejection})",
        with_id(Some(rejection.message_id.as_str()).filter(|id| *id != UNREADABLE_MESSAGE_ID))
    );
}

/// ` ID`, or nothing.
fn with_id(message_id: Option<&str>) -> String {
    message_id.map(|id| format!(" {id}")).unwrap_or_default()
}

fn describe(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) if frame.reason.is_empty() => format!("code {}", u16::from(frame.code)),
        Some(frame) => format!("code {}: {}", u16::from(frame.code), frame.reason),
        None => "no close code".to_owned(),
    }
}
