//! The session engine: the rules of one OCPP-J connection, without I/O and without a runtime.
//!
//! An [`Engine`] wraps an [`ocpp_messages::rpc::Session`] and adds what OCPP-J asks of a
//! connection over time. Frames and the current time go in ([`Engine::receive`],
//! [`Engine::served`], [`Engine::handle_timeout`], [`Engine::pong`]); frames to send
//! ([`Engine::poll_transmit`]), the next deadline ([`Engine::poll_timeout`]) and events
//! ([`Engine::poll_event`]) come out. The engine never reads a clock and never waits, so a
//! test drives it with a virtual clock and a driver (a tokio task, or any other loop) only
//! moves frames and sleeps until the deadline.
//!
//! The rules, for OCPP 1.6, 2.0.1 and 2.1, in both roles:
//! - **One outstanding CALL per direction.** OCPP 2.x says a side SHALL NOT, 1.6 that it
//!   SHOULD NOT, send a CALL before the previous one is answered or timed out. Our further
//!   calls wait in a bounded queue ([`Config::max_queued_calls`]) and go out in order. A peer
//!   that breaks the rule is still served, up to [`Config::max_peer_calls`] CALLs in flight;
//!   beyond that a CALL is answered `GenericError` without reaching a handler.
//! - **Call timeout.** [`Config::call_timeout`] (30 s by default), or per call
//!   ([`Engine::call_with_timeout`]); a call not answered in time ends with
//!   [`Event::TimedOut`], a late answer is ignored, and the next queued call goes out.
//!   Message ids are the session's: unique on the connection, at most 36 characters.
//! - **SENDs (2.1)** go out at once and never wait for an answer, nor hold up a CALL.
//! - **The boot gate.** A charging station sends nothing but BootNotification until the CSMS
//!   answers it `Accepted`; while `Pending` it may also send what a TriggerMessage asked for;
//!   after `Rejected` it sends nothing before the interval the CSMS gave has passed. Calls
//!   made meanwhile wait in the queue. A CSMS that answered a BootNotification `Pending` or
//!   `Rejected` answers the station's other CALLs `SecurityError` (OCPP 2.0.1 B02.FR.09,
//!   B03.FR.07; for 1.6, which forbids the station to send them, the same answer), but for
//!   what its own TriggerMessage asked for while Pending.
//! - **Heartbeat.** Once Accepted, a station sends a Heartbeat at the interval the
//!   BootNotification response gave; any CALL it sends stands in for one (the interval counts
//!   from the last CALL sent). Its answer is the engine's own (no event).
//! - **Ping.** Every [`Config::ping_interval`] (the station's `WebSocketPingInterval`, or a
//!   server's own) the engine asks for a WebSocket ping; if neither a pong nor any other frame
//!   arrives within [`Config::pong_timeout`], it asks to close the connection
//!   ([`Event::Unresponsive`]).
//! - **Stored calls (a station's transaction messages).** With a [`Store`] attached
//!   ([`Engine::attach_store`]), [`Engine::call_stored`] writes the CALL to the store before
//!   it returns, so it survives a restart; stored calls go out in order, ahead of newer ones
//!   and of the queue, whenever the connection is up. A stored call answered with a CALLRESULT
//!   is removed ([`Event::Delivered`]). One unanswered in time or answered with a CALLERROR
//!   is an attempt that failed: it is sent again, with the same message id, after
//!   [`Retry::interval`] times the attempts so far (OCPP 1.6 `TransactionMessageAttempts`
//!   and `TransactionMessageRetryInterval`; 2.x `OCPPCommCtrlr.MessageAttempts` and
//!   `MessageAttemptInterval` of TransactionEvent), and after the last attempt it is
//!   discarded, as both versions allow ([`Event::Discarded`]). A stored call outstanding when
//!   the connection drops is not an attempt: it goes out again first after the reconnection.
//!   The store holds at most [`Config::max_stored_calls`]; beyond it [`WhenFull`] says what
//!   happens, never a silent drop.
//! - **Retries recognised (the CSMS side).** With [`Config::remembered_answers`] above 0, the
//!   engine keeps its last answers to the station's transaction messages (1.6
//!   StartTransaction, StopTransaction, MeterValues; 2.x TransactionEvent); a CALL with the
//!   message id and the text of one of them (a retry after a lost answer) gets the same
//!   answer again without reaching a handler ([`Event::Replayed`]), so it is not counted
//!   twice. A server carries them across a station's connections.
//! - **Reconnection.** The engine outlives a connection: [`Engine::disconnected`] ends the
//!   outstanding call ([`Event::ConnectionLost`]) and keeps the queue and the registration,
//!   so a station that reconnects does not boot again; [`Backoff`] gives the waits between
//!   attempts (Part 4 §5.4).

mod backoff;

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ocpp_messages::frame::{Envelope, Frame};
use ocpp_messages::rpc::{self, Inbound, Outcome, Rejection, SendError, Session};
use ocpp_messages::{CallError, ErrorCode, Feature, OcppVersion, Role};
use serde_json::Value;

use crate::store::{Change, Queued, Store, StoreError};

pub use backoff::Backoff;

/// The stored value naming this store's message ids: a random tag made when the store is
/// first attached, so that ids never repeat, not even after the store is wiped.
pub const EPOCH_KEY: &str = "ocpp-connection/epoch";

/// How stored calls are retried (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// How many attempts a stored call gets in all (at least 1; default 3).
    pub attempts: u32,
    /// The wait after the first failed attempt; after the `n`th, `n` times it (default 60 s).
    pub interval: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 3,
            interval: Duration::from_secs(60),
        }
    }
}

impl Retry {
    /// The wait before the next attempt, after `failed` attempts failed.
    pub fn wait(&self, failed: u32) -> Duration {
        self.interval.saturating_mul(failed)
    }
}

/// What [`Engine::call_stored`] does when [`Config::max_stored_calls`] calls are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WhenFull {
    /// Refuses the new call ([`CallRefused::StoreFull`]): the application decides (stop
    /// charging, keep the data elsewhere). The default.
    #[default]
    Refuse,
    /// Drops the oldest droppable call (an intermediate meter reading: 1.6 MeterValues, a
    /// 2.x TransactionEvent `Updated` for `MeterValuePeriodic`) to make room, reported as
    /// [`Event::Discarded`] with [`Discard::Full`]; refuses when none is droppable. Started
    /// and ended transactions are never dropped (libocpp's queue thresholds do likewise).
    DropMeterValues,
}

/// The default call timeout of OCPP-J implementations (the specification leaves it to them).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What an [`Engine`] is set to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// How long one of our CALLs waits for its answer (default [`DEFAULT_CALL_TIMEOUT`]).
    pub call_timeout: Duration,
    /// How many of our CALLs may wait behind the outstanding one (default 128); a call beyond
    /// it is refused with [`CallRefused::QueueFull`].
    pub max_queued_calls: usize,
    /// How many of the peer's CALLs may be served at once (default 4): OCPP-J allows one, a
    /// peer that sends more is still served up to this number.
    pub max_peer_calls: usize,
    /// Whether the boot gate applies (default `true`): see the [module docs](self).
    pub boot_gate: bool,
    /// How often to ask for a WebSocket ping (`None`, the default: never). A station sets its
    /// `WebSocketPingInterval` here.
    pub ping_interval: Option<Duration>,
    /// How long to wait for the pong (or any other frame) after a ping (default 10 s).
    pub pong_timeout: Duration,
    /// Whether a station sends Heartbeats by itself once Accepted (default `true`; a CSMS
    /// never does).
    pub heartbeat: bool,
    /// How stored calls are retried.
    pub retry: Retry,
    /// How many calls the store may hold (default 10,000).
    pub max_stored_calls: usize,
    /// What happens beyond [`Config::max_stored_calls`].
    pub when_full: WhenFull,
    /// How many answers to the peer's transaction messages to remember, to answer a retry
    /// the same way without running the handler again (default 0; a server's default
    /// configuration remembers 4).
    pub remembered_answers: usize,
    /// The actions whose answers to stored calls are kept in the store (default none): when
    /// a stored call of one of them is delivered, its CALLRESULT payload (JSON) is written
    /// under [`answer_key`]`(action)`, in the same atomic change that removes the call, so a
    /// station killed at any point knows it when it restarts. Each delivery overwrites the
    /// previous one. For answers later messages need: a 1.6 StartTransaction's
    /// `transactionId`, which its MeterValues and StopTransaction carry.
    pub kept_answers: Vec<&'static str>,
}

/// The stored value holding the answer to the last delivered stored call of `action`, when
/// [`Config::kept_answers`] names it.
pub fn answer_key(action: &str) -> String {
    format!("ocpp-connection/answer/{action}")
}

impl Default for Config {
    fn default() -> Self {
        Config {
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_queued_calls: 128,
            max_peer_calls: 4,
            boot_gate: true,
            ping_interval: None,
            pong_timeout: Duration::from_secs(10),
            heartbeat: true,
            retry: Retry::default(),
            max_stored_calls: 10_000,
            when_full: WhenFull::Refuse,
            remembered_answers: 0,
            kept_answers: Vec::new(),
        }
    }
}

impl Config {
    /// Sets [`Config::call_timeout`].
    #[must_use]
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Sets [`Config::max_queued_calls`].
    #[must_use]
    pub fn with_max_queued_calls(mut self, limit: usize) -> Self {
        self.max_queued_calls = limit;
        self
    }

    /// Sets [`Config::max_peer_calls`] (at least 1).
    #[must_use]
    pub fn with_max_peer_calls(mut self, limit: usize) -> Self {
        self.max_peer_calls = limit.max(1);
        self
    }

    /// Sets [`Config::boot_gate`].
    #[must_use]
    pub fn with_boot_gate(mut self, on: bool) -> Self {
        self.boot_gate = on;
        self
    }

    /// Sets [`Config::ping_interval`] (`Duration::ZERO` or `None`: no ping, as
    /// `WebSocketPingInterval = 0` means).
    #[must_use]
    pub fn with_ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval.filter(|i| !i.is_zero());
        self
    }

    /// Sets [`Config::pong_timeout`].
    #[must_use]
    pub fn with_pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// Sets [`Config::heartbeat`].
    #[must_use]
    pub fn with_heartbeat(mut self, on: bool) -> Self {
        self.heartbeat = on;
        self
    }

    /// Sets [`Config::retry`] (at least one attempt).
    #[must_use]
    pub fn with_retry(mut self, attempts: u32, interval: Duration) -> Self {
        self.retry = Retry {
            attempts: attempts.max(1),
            interval,
        };
        self
    }

    /// Sets [`Config::remembered_answers`].
    #[must_use]
    pub fn with_remembered_answers(mut self, answers: usize) -> Self {
        self.remembered_answers = answers;
        self
    }

    /// Sets [`Config::kept_answers`].
    #[must_use]
    pub fn with_kept_answers(mut self, actions: &[&'static str]) -> Self {
        self.kept_answers = actions.to_vec();
        self
    }

    /// Sets [`Config::max_stored_calls`] and [`Config::when_full`].
    #[must_use]
    pub fn with_max_stored_calls(mut self, limit: usize, when_full: WhenFull) -> Self {
        self.max_stored_calls = limit.max(1);
        self.when_full = when_full;
        self
    }
}

/// Where the station stands with the CSMS, as the last BootNotification answer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// No BootNotification answered yet (a station that has not booted since power-on; on
    /// a CSMS, a connection whose station has not booted on it: the gate is open, as after a
    /// mere reconnection).
    Unknown,
    /// `Accepted`: everything may be sent.
    Accepted,
    /// `Pending`: only BootNotification and what a TriggerMessage asked for.
    Pending,
    /// `Rejected`: nothing before `retry_at`, then only BootNotification.
    Rejected {
        /// When the station may send its next BootNotification.
        retry_at: Instant,
    },
}

/// One thing to write to the WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// A text frame: an OCPP-J message.
    Text(String),
    /// A ping frame with this payload.
    Ping(Vec<u8>),
    /// A close frame with this code and reason; then close the connection.
    Close {
        /// The close code (RFC 6455 §7.4).
        code: u16,
        /// The reason.
        reason: &'static str,
    },
}

/// What an [`Engine`] reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// What the session made of an incoming frame (a CALL served, an answer to one of our
    /// calls, a SEND delivered, a rejection, an ignored frame); answers to the engine's own
    /// Heartbeats are not reported.
    Session(rpc::Event),
    /// One of our calls got no answer in time; a late answer is ignored.
    TimedOut {
        /// The call's message id.
        message_id: String,
        /// The call's action.
        action: &'static str,
    },
    /// The connection dropped while one of our calls was outstanding: it may or may not have
    /// reached the peer.
    ConnectionLost {
        /// The call's message id.
        message_id: String,
        /// The call's action.
        action: &'static str,
    },
    /// A BootNotification was answered (the station's own, or, on a CSMS, our answer to the
    /// station's): the registration now.
    Registered {
        /// The registration.
        registration: Registration,
        /// The interval the answer gave (heartbeat interval once Accepted, the wait before
        /// the next BootNotification otherwise).
        interval: Duration,
    },
    /// No pong (nor any frame) came within the pong timeout: the engine asked to close.
    Unresponsive,
    /// A CALL of the peer was answered without a handler: beyond
    /// [`Config::max_peer_calls`], or refused by the boot gate.
    Refused(Rejection),
    /// A CALL of the peer repeated one answered before (same message id, same text): it got
    /// the same answer again, and no handler ran ([`Config::remembered_answers`]).
    Replayed {
        /// The message id.
        message_id: String,
        /// The action.
        action: String,
    },
    /// A stored call was answered with a valid CALLRESULT and removed from the store.
    Delivered {
        /// Its place in the store.
        seq: u64,
        /// The answer (its `result` is `Ok`).
        answer: rpc::Answer,
    },
    /// An attempt of a stored call failed; it goes out again at `at`.
    Retrying {
        /// Its place in the store.
        seq: u64,
        /// Its message id.
        message_id: String,
        /// Its action.
        action: &'static str,
        /// The failed attempts so far.
        attempts: u32,
        /// When it goes out again (at the earliest: the connection must be up).
        at: Instant,
        /// Why the attempt failed.
        reason: String,
    },
    /// A stored call was given up and removed from the store.
    Discarded {
        /// Its place in the store.
        seq: u64,
        /// Its message id.
        message_id: String,
        /// Its action.
        action: String,
        /// Why.
        reason: Discard,
    },
    /// The store failed to record a delivery or an attempt: the call stays stored, and may be
    /// sent again after a restart (the CSMS recognises it by its message id).
    StoreFailed {
        /// What failed.
        error: String,
    },
}

/// Why a stored call was given up ([`Event::Discarded`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Discard {
    /// Its last attempt failed ([`Retry::attempts`]).
    Attempts {
        /// The attempts made.
        attempts: u32,
        /// Why the last one failed.
        last_error: String,
    },
    /// The store was full and it was droppable ([`WhenFull::DropMeterValues`]).
    Full,
    /// What the store held is not a CALL this side can send (written by another version, or
    /// damaged).
    Unreadable(String),
}

/// Why [`Engine::call`] or [`Engine::send`] did not take a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallRefused {
    /// The request is not sent: invalid, a bad message id, the wrong side, or the session's
    /// own limit.
    #[error(transparent)]
    Send(#[from] SendError),
    /// [`Config::max_queued_calls`] calls wait already.
    #[error("{limit} calls wait already")]
    QueueFull {
        /// The limit.
        limit: usize,
    },
    /// A SEND before the station is Accepted (SENDs are not queued).
    #[error("a SEND before the BootNotification is accepted")]
    NotAccepted,
    /// [`Engine::call_stored`] without a store ([`Engine::attach_store`]).
    #[error("no store is attached")]
    NoStore,
    /// [`Config::max_stored_calls`] calls are stored and none may be dropped.
    #[error("{limit} calls are stored already")]
    StoreFull {
        /// The limit.
        limit: usize,
    },
    /// The store failed to take the call: it is not stored, nor sent.
    #[error("{0}")]
    Store(String),
}

/// One of our calls, queued or outstanding.
#[derive(Debug)]
struct Call {
    message_id: String,
    action: &'static str,
    frame: String,
    timeout: Duration,
    /// The engine's own (a Heartbeat): its answer is not reported.
    internal: bool,
}

/// The call sent and not answered yet.
#[derive(Debug)]
struct Outstanding {
    message_id: String,
    action: &'static str,
    deadline: Instant,
    internal: bool,
    /// The `seq` of a stored call.
    stored: Option<u64>,
}

/// The engine's last answers to the peer's transaction messages, to answer their retries the
/// same way ([`Config::remembered_answers`]); [`Engine::take_remembered_answers`] carries
/// them to the next connection of the station.
#[derive(Debug, Clone, Default)]
pub struct RememberedAnswers {
    /// Message id, the request text's hash, the answer's frame; the newest last.
    answers: VecDeque<(String, u64, String)>,
}

impl RememberedAnswers {
    /// How many are remembered.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    fn replay(&self, message_id: &str, request: &str) -> Option<&str> {
        let hash = text_hash(request);
        self.answers
            .iter()
            .rev()
            .find(|(id, h, _)| id == message_id && *h == hash)
            .map(|(_, _, reply)| reply.as_str())
    }

    fn remember(&mut self, message_id: &str, request: &str, reply: &str, limit: usize) {
        if limit == 0 {
            return;
        }
        while self.answers.len() >= limit {
            self.answers.pop_front();
        }
        self.answers
            .push_back((message_id.to_owned(), text_hash(request), reply.to_owned()));
    }
}

/// A hash of a frame's text (deterministic, for comparing a retry with the original).
fn text_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // Fixed keys: the same text hashes the same for the life of the process.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// Whether answers to `action` are remembered: the transaction messages a station retries.
fn is_transaction_message(action: &str) -> bool {
    matches!(
        action,
        "TransactionEvent" | "StartTransaction" | "StopTransaction" | "MeterValues"
    )
}

/// The attached store (its contents are not for `Debug`).
struct AttachedStore(Box<dyn Store>);

impl std::fmt::Debug for AttachedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// A call kept in the store, waiting for its (next) attempt.
#[derive(Debug)]
struct StoredCall {
    seq: u64,
    message_id: String,
    action: &'static str,
    frame: String,
    attempts: u32,
    droppable: bool,
    /// Not before then (after a failed attempt).
    not_before: Option<Instant>,
}

/// A CALL or SEND of the peer to be served by the handlers, handed out by
/// [`Engine::receive`]: run it ([`Serve::run`], on any task), then give what it returns to
/// [`Engine::served`]. Several may run at once, up to [`Config::max_peer_calls`].
#[derive(Debug)]
#[must_use = "run it and hand the result to Engine::served"]
pub struct Serve {
    session: Arc<Session>,
    frame: OwnedInbound,
    /// Whether it counts as one of the peer's CALLs in flight.
    counted: bool,
}

#[derive(Debug)]
enum OwnedInbound {
    Text(String),
    Binary(Vec<u8>),
}

/// What a [`Serve`] came to: hand it to [`Engine::served`].
#[derive(Debug)]
#[must_use = "hand it to Engine::served"]
pub struct Served {
    outcome: Outcome,
    counted: bool,
    request: OwnedInbound,
}

impl Serve {
    /// Runs the handler. Needs no lock on the engine.
    pub async fn run(self) -> Served {
        let outcome = match &self.frame {
            OwnedInbound::Text(text) => self.session.receive(text.as_str()).await,
            OwnedInbound::Binary(bytes) => self.session.receive(bytes.as_slice()).await,
        };
        Served {
            outcome,
            counted: self.counted,
            request: self.frame,
        }
    }
}

/// The rules of one OCPP-J connection over time, without I/O (see the [module docs](self)).
#[derive(Debug)]
pub struct Engine {
    session: Arc<Session>,
    config: Config,
    connected: bool,
    registration: Registration,
    heartbeat_interval: Option<Duration>,
    last_call_sent: Instant,
    outstanding: Option<Outstanding>,
    queue: VecDeque<Call>,
    serving: usize,
    /// Actions a TriggerMessage asked for while Pending (let through the gate once each).
    triggered: Vec<&'static str>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    store: Option<AttachedStore>,
    /// The stored calls, in order (the outstanding one, if stored, first).
    stored: VecDeque<StoredCall>,
    next_seq: u64,
    epoch: String,
    values: BTreeMap<String, String>,
    remembered: RememberedAnswers,
}

impl Engine {
    /// An engine over `session`, connected at `now`.
    pub fn new(session: impl Into<Arc<Session>>, config: Config, now: Instant) -> Self {
        let session = session.into();
        let next_ping = config.ping_interval.map(|i| now + i);
        Engine {
            session,
            config,
            connected: true,
            registration: Registration::Unknown,
            heartbeat_interval: None,
            last_call_sent: now,
            outstanding: None,
            queue: VecDeque::new(),
            serving: 0,
            triggered: Vec::new(),
            next_ping,
            pong_deadline: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            store: None,
            stored: VecDeque::new(),
            next_seq: 1,
            epoch: String::new(),
            values: BTreeMap::new(),
            remembered: RememberedAnswers::default(),
        }
    }

    /// Takes the remembered answers (see [`Config::remembered_answers`]), for the station's
    /// next connection.
    pub fn take_remembered_answers(&mut self) -> RememberedAnswers {
        std::mem::take(&mut self.remembered)
    }

    /// Gives the answers remembered on an earlier connection of the station.
    pub fn set_remembered_answers(&mut self, answers: RememberedAnswers) {
        self.remembered = answers;
    }

    /// The session the engine drives.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// The version spoken.
    pub fn version(&self) -> OcppVersion {
        self.session.version()
    }

    /// The role this side plays.
    pub fn role(&self) -> Role {
        self.session.role()
    }

    /// The registration as the last BootNotification answer on this engine said.
    pub fn registration(&self) -> Registration {
        self.registration
    }

    /// Sets the registration (a CSMS that knows the station from an earlier connection, a
    /// station restoring its state).
    pub fn set_registration(&mut self, registration: Registration, now: Instant) {
        self.registration = registration;
        self.pump(now);
    }

    /// The heartbeat interval the last accepted BootNotification gave.
    pub fn heartbeat_interval(&self) -> Option<Duration> {
        self.heartbeat_interval
    }

    /// The message id of our outstanding call, if any.
    pub fn outstanding_call(&self) -> Option<&str> {
        self.outstanding.as_ref().map(|o| o.message_id.as_str())
    }

    /// How many of our calls wait behind the outstanding one.
    pub fn queued_calls(&self) -> usize {
        self.queue.len()
    }

    /// How many of the peer's CALLs are being served.
    pub fn peer_calls_in_flight(&self) -> usize {
        self.serving
    }

    /// Makes a CALL with the configured timeout: sent at once when nothing is outstanding and
    /// the boot gate lets it through, else queued. Returns its message id; its answer comes as
    /// [`Event::Session`] with [`rpc::Event::Answered`], or [`Event::TimedOut`], or
    /// [`Event::ConnectionLost`].
    pub fn call<F: Feature>(
        &mut self,
        request: &F::Request,
        now: Instant,
    ) -> Result<String, CallRefused> {
        self.call_with_timeout::<F>(request, self.config.call_timeout, now)
    }

    /// [`Engine::call`] with its own timeout.
    pub fn call_with_timeout<F: Feature>(
        &mut self,
        request: &F::Request,
        timeout: Duration,
        now: Instant,
    ) -> Result<String, CallRefused> {
        if self.queue.len() >= self.config.max_queued_calls {
            return Err(CallRefused::QueueFull {
                limit: self.config.max_queued_calls,
            });
        }
        let (message_id, frame) = self.session.call::<F>(request)?;
        // A CSMS's TriggerMessage lets what it asks for through the gate while Pending.
        if self.role() == Role::Csms {
            if let Some(action) = trigger_request_action(&frame) {
                self.triggered.push(action);
            }
        }
        self.queue.push_back(Call {
            message_id: message_id.clone(),
            action: F::NAME,
            frame,
            timeout,
            internal: false,
        });
        self.pump(now);
        Ok(message_id)
    }

    /// Attaches `store` and takes up what it holds: its values, and its stored calls, which
    /// go out (in order, ahead of the queue) whenever the connection is up. A stored call
    /// that is not a CALL this side can send in this version is discarded
    /// ([`Event::Discarded`] with [`Discard::Unreadable`]).
    ///
    /// # Errors
    ///
    /// When the store cannot be read or written; the engine then has no store.
    pub fn attach_store(&mut self, store: impl Store, now: Instant) -> Result<(), StoreError> {
        let mut store: Box<dyn Store> = Box::new(store);
        let loaded = store.load()?;
        let mut values = loaded.values;
        let epoch = match values.get(EPOCH_KEY) {
            Some(epoch) => epoch.clone(),
            None => {
                let epoch = random_epoch();
                store.apply(&[Change::Put {
                    key: EPOCH_KEY,
                    value: &epoch,
                }])?;
                values.insert(EPOCH_KEY.to_owned(), epoch.clone());
                epoch
            }
        };
        self.next_seq = loaded.next_seq.max(1);
        self.epoch = epoch;
        self.values = values;
        self.stored.clear();
        let mut unreadable = Vec::new();
        for queued in loaded.queue {
            let readable = Frame::parse_for(self.version(), &queued.frame)
                .ok()
                .and_then(|frame| match frame {
                    Frame::Call {
                        message_id, action, ..
                    } => Some((message_id, action)),
                    _ => None,
                })
                .and_then(|(id, action)| {
                    let feature = self.version().feature(&action)?;
                    Some((id, feature.name))
                });
            match readable {
                Some((message_id, action)) => self.stored.push_back(StoredCall {
                    seq: queued.seq,
                    message_id,
                    action,
                    frame: queued.frame,
                    attempts: queued.attempts,
                    droppable: queued.droppable,
                    not_before: None,
                }),
                None => unreadable.push(queued),
            }
        }
        self.store = Some(AttachedStore(store));
        for queued in unreadable {
            self.discard(
                queued.seq,
                String::new(),
                queued.action,
                Discard::Unreadable(format!(
                    "not a CALL of OCPP {} this side sends",
                    self.version()
                )),
            );
        }
        self.pump(now);
        Ok(())
    }

    /// Whether a store is attached.
    pub fn has_store(&self) -> bool {
        self.store.is_some()
    }

    /// The stored value named `key`.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The stored values.
    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// Sets (`Some`) or removes (`None`) stored values, atomically.
    ///
    /// # Errors
    ///
    /// Without a store, or when it fails (then nothing changed).
    pub fn set_values(&mut self, values: &[(&str, Option<&str>)]) -> Result<(), StoreError> {
        let Some(store) = &mut self.store else {
            return Err(StoreError::new("no store is attached"));
        };
        let changes: Vec<Change<'_>> = values
            .iter()
            .map(|&(key, value)| value_change(key, value))
            .collect();
        store.0.apply(&changes)?;
        for &(key, value) in values {
            match value {
                Some(value) => self.values.insert(key.to_owned(), value.to_owned()),
                None => self.values.remove(key),
            };
        }
        Ok(())
    }

    /// How many calls are stored (the outstanding one included, if stored).
    pub fn stored_calls(&self) -> usize {
        self.stored.len()
    }

    /// Whether a connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Makes a CALL that survives a restart (a transaction message): written to the store,
    /// together with `values` (the transaction's state, say) in one atomic change, before this
    /// returns; then sent as the [module docs](self) say. Returns its message id (the store's
    /// epoch and its `seq`); its answer comes as [`Event::Delivered`], or
    /// [`Event::Discarded`].
    ///
    /// # Errors
    ///
    /// An invalid request, an action the other side sends, no store, a full store
    /// ([`WhenFull`]), or a store that failed: then nothing is stored or sent.
    pub fn call_stored<F: Feature>(
        &mut self,
        request: &F::Request,
        values: &[(&str, Option<&str>)],
        now: Instant,
    ) -> Result<String, CallRefused> {
        if self.store.is_none() {
            return Err(CallRefused::NoStore);
        }
        if F::SEND {
            return Err(CallRefused::Send(SendError::WrongMessageType {
                action: F::NAME,
                what: "a SEND, not a CALL",
            }));
        }
        if !F::INFO.initiator.may_be_sent_by(self.role()) {
            return Err(CallRefused::Send(SendError::NotACall(
                "the other side sends this action",
            )));
        }
        let seq = self.next_seq;
        let message_id = format!("{}-{seq}", self.epoch);
        let frame = rpc::call_frame::<F>(&message_id, request)
            .map_err(|v| CallRefused::Send(SendError::Invalid(v)))?;
        let droppable = is_droppable(F::NAME, &frame);
        let mut dropped = None;
        if self.stored.len() >= self.config.max_stored_calls {
            let outstanding = self.outstanding.as_ref().and_then(|o| o.stored);
            let victim = match self.config.when_full {
                WhenFull::Refuse => None,
                WhenFull::DropMeterValues => self
                    .stored
                    .iter()
                    .position(|call| call.droppable && Some(call.seq) != outstanding),
            };
            let Some(victim) = victim else {
                return Err(CallRefused::StoreFull {
                    limit: self.config.max_stored_calls,
                });
            };
            dropped = Some(victim);
        }
        let queued = Queued::new(seq, F::NAME, frame.clone()).with_droppable(droppable);
        let mut changes = Vec::with_capacity(values.len() + 2);
        changes.push(Change::Push(&queued));
        changes.extend(values.iter().map(|&(key, value)| value_change(key, value)));
        let dropped_seq = dropped
            .and_then(|at| self.stored.get(at))
            .map(|call| call.seq);
        if let Some(seq) = dropped_seq {
            changes.push(Change::Remove { seq });
        }
        let Some(store) = &mut self.store else {
            return Err(CallRefused::NoStore);
        };
        store
            .0
            .apply(&changes)
            .map_err(|e| CallRefused::Store(e.to_string()))?;
        drop(changes);
        self.next_seq = seq + 1;
        for &(key, value) in values {
            match value {
                Some(value) => self.values.insert(key.to_owned(), value.to_owned()),
                None => self.values.remove(key),
            };
        }
        if let Some(call) = dropped.and_then(|at| self.stored.remove(at)) {
            self.events.push_back(Event::Discarded {
                seq: call.seq,
                message_id: call.message_id,
                action: call.action.to_owned(),
                reason: Discard::Full,
            });
        }
        self.stored.push_back(StoredCall {
            seq,
            message_id: message_id.clone(),
            action: F::NAME,
            frame,
            attempts: 0,
            droppable,
            not_before: None,
        });
        self.pump(now);
        Ok(message_id)
    }

    /// Removes a stored call from the store and reports it discarded.
    fn discard(&mut self, seq: u64, message_id: String, action: String, reason: Discard) {
        self.store_change(&[Change::Remove { seq }]);
        self.events.push_back(Event::Discarded {
            seq,
            message_id,
            action,
            reason,
        });
    }

    /// Applies `changes` to the store, reporting a failure as [`Event::StoreFailed`].
    fn store_change(&mut self, changes: &[Change<'_>]) {
        if let Some(store) = &mut self.store {
            if let Err(error) = store.0.apply(changes) {
                self.events.push_back(Event::StoreFailed {
                    error: error.to_string(),
                });
            }
        }
    }

    /// The outstanding stored call `seq` was answered with `result`.
    fn stored_answered(&mut self, seq: u64, answer: rpc::Answer, now: Instant) {
        let Some(at) = self.stored.iter().position(|call| call.seq == seq) else {
            return;
        };
        if let Err(error) = &answer.result {
            let reason = error.to_string();
            self.attempt_failed(at, reason, now);
            return;
        }
        self.stored.remove(at);
        let kept = match &answer.result {
            Ok(payload) if self.config.kept_answers.contains(&answer.action) => {
                Some((answer_key(answer.action), payload.to_string()))
            }
            _ => None,
        };
        match &kept {
            Some((key, value)) => {
                let changes = [Change::Remove { seq }, value_change(key, Some(value))];
                self.store_change(&changes);
                self.values.insert(key.clone(), value.clone());
            }
            None => self.store_change(&[Change::Remove { seq }]),
        }
        self.events.push_back(Event::Delivered { seq, answer });
    }

    /// The attempt of the stored call at `at` failed: retry later, or give up.
    fn attempt_failed(&mut self, at: usize, reason: String, now: Instant) {
        let retry = self.config.retry;
        let Some(call) = self.stored.get_mut(at) else {
            return;
        };
        call.attempts = call.attempts.saturating_add(1);
        let (seq, attempts) = (call.seq, call.attempts);
        if attempts >= retry.attempts.max(1) {
            if let Some(call) = self.stored.remove(at) {
                self.discard(
                    call.seq,
                    call.message_id,
                    call.action.to_owned(),
                    Discard::Attempts {
                        attempts,
                        last_error: reason,
                    },
                );
            }
            return;
        }
        let wait_until = now + retry.wait(attempts);
        call.not_before = Some(wait_until);
        let (message_id, action) = (call.message_id.clone(), call.action);
        self.store_change(&[Change::Attempted { seq, attempts }]);
        self.events.push_back(Event::Retrying {
            seq,
            message_id,
            action,
            attempts,
            at: wait_until,
            reason,
        });
    }

    /// Whether the first stored call may go out now.
    fn stored_ready(&self, now: Instant) -> bool {
        self.stored.front().is_some_and(|call| {
            call.not_before.is_none_or(|t| now >= t) && self.may_send(call.action, now)
        })
    }

    /// Sends the first stored call, if it may go out: `true` when one went out.
    fn pump_stored(&mut self, now: Instant) -> bool {
        while self.stored_ready(now) {
            let Some(call) = self.stored.front() else {
                return false;
            };
            match self.session.call_frame(&call.frame) {
                Ok((message_id, action)) => {
                    self.outstanding = Some(Outstanding {
                        message_id,
                        action,
                        deadline: now + self.config.call_timeout,
                        internal: false,
                        stored: Some(call.seq),
                    });
                    self.last_call_sent = now;
                    self.transmits.push_back(Transmit::Text(call.frame.clone()));
                    return true;
                }
                // The session's own limit: later.
                Err(SendError::TooManyPending { .. }) => return false,
                Err(error) => {
                    if let Some(call) = self.stored.pop_front() {
                        self.discard(
                            call.seq,
                            call.message_id,
                            call.action.to_owned(),
                            Discard::Unreadable(error.to_string()),
                        );
                    }
                }
            }
        }
        false
    }

    /// Sends a SEND (OCPP 2.1): out at once, never answered. Refused before the station is
    /// Accepted (when the boot gate applies).
    pub fn send<F: Feature>(&mut self, request: &F::Request) -> Result<String, CallRefused> {
        if self.gated() && self.registration != Registration::Accepted {
            return Err(CallRefused::NotAccepted);
        }
        let (message_id, frame) = self.session.send::<F>(request)?;
        self.transmits.push_back(Transmit::Text(frame));
        Ok(message_id)
    }

    /// Whether the boot gate applies to what this side sends: a station's.
    fn gated(&self) -> bool {
        self.config.boot_gate && self.role() == Role::ChargingStation
    }

    /// Whether the station may send a CALL of `action` now.
    fn may_send(&self, action: &str, now: Instant) -> bool {
        if !self.gated() {
            return true;
        }
        match self.registration {
            Registration::Accepted => true,
            Registration::Unknown => action == "BootNotification",
            Registration::Pending => {
                action == "BootNotification" || self.triggered.contains(&action)
            }
            Registration::Rejected { retry_at } => action == "BootNotification" && now >= retry_at,
        }
    }

    /// Sends the first queued call the gate lets through, when nothing is outstanding.
    fn pump(&mut self, now: Instant) {
        if self.outstanding.is_some() || !self.connected {
            return;
        }
        if self.pump_stored(now) {
            return;
        }
        let Some(at) = self
            .queue
            .iter()
            .position(|call| self.may_send(call.action, now))
        else {
            return;
        };
        let Some(call) = self.queue.remove(at) else {
            return;
        };
        if let Some(i) = self.triggered.iter().position(|a| *a == call.action) {
            self.triggered.swap_remove(i);
        }
        self.outstanding = Some(Outstanding {
            message_id: call.message_id,
            action: call.action,
            deadline: now + call.timeout,
            internal: call.internal,
            stored: None,
        });
        self.last_call_sent = now;
        self.transmits.push_back(Transmit::Text(call.frame));
    }

    /// Takes one incoming frame at `now`. Answers to our calls (and frames that need no
    /// handler) are dealt with here; a CALL or SEND for the handlers comes back as a
    /// [`Serve`] to run.
    pub fn receive<'a>(&mut self, frame: impl Into<Inbound<'a>>, now: Instant) -> Option<Serve> {
        let frame = frame.into();
        self.alive(now);
        let text = match frame {
            Inbound::Text(text) => Some(text),
            Inbound::Binary(bytes) => std::str::from_utf8(bytes).ok(),
        };
        if let Some(text) = text.filter(|_| !self.remembered.is_empty()) {
            if let Some(Envelope::Call { message_id, action }) = Envelope::peek(text) {
                if let Some(reply) = self.remembered.replay(message_id, text) {
                    self.transmits.push_back(Transmit::Text(reply.to_owned()));
                    self.events.push_back(Event::Replayed {
                        message_id: message_id.to_owned(),
                        action: action.to_owned(),
                    });
                    return None;
                }
            }
        }
        // A CALL that nothing could refuse goes to its handler unread (the dispatcher reads
        // it once, there).
        if !self.refusal_possible() && text.is_some_and(is_call) {
            self.serving += 1;
            return Some(self.serve(frame, true));
        }
        let call = text.and_then(|text| self.peek_request(text));
        let Some((message_id, action, is_call)) = call else {
            // Answers and unreadable frames: no handler runs, the future is ready at once.
            let outcome = ready(self.session.receive(frame));
            match outcome {
                Some(outcome) => self.outcome(outcome, None, now),
                None => return Some(self.serve(frame, false)),
            }
            return None;
        };
        if is_call {
            if let Some(error) = self.refusal(&action) {
                let rejection = Rejection {
                    message_id: message_id.into_owned(),
                    error: Box::new(error),
                };
                self.transmits
                    .push_back(Transmit::Text(rejection.to_frame()));
                self.events.push_back(Event::Refused(rejection));
                return None;
            }
            self.serving += 1;
        }
        Some(self.serve(frame, is_call))
    }

    fn serve(&self, frame: Inbound<'_>, counted: bool) -> Serve {
        Serve {
            session: Arc::clone(&self.session),
            frame: match frame {
                Inbound::Text(text) => OwnedInbound::Text(text.to_owned()),
                Inbound::Binary(bytes) => OwnedInbound::Binary(bytes.to_vec()),
            },
            counted,
        }
    }

    /// The id, action and kind (CALL, or SEND) of a frame for the handlers; `None` for
    /// anything else (answers, unreadable or malformed frames).
    fn peek_request<'t>(&self, text: &'t str) -> Option<(Cow<'t, str>, Cow<'t, str>, bool)> {
        if let Some(Envelope::Call { message_id, action }) = Envelope::peek(text) {
            return Some((Cow::Borrowed(message_id), Cow::Borrowed(action), true));
        }
        // Unusual but maybe valid text (escapes, whitespace): read it whole, rarely.
        if !looks_like_request(text) {
            return None;
        }
        match Frame::parse_for(self.version(), text) {
            Ok(Frame::Call {
                message_id, action, ..
            }) => Some((Cow::Owned(message_id), Cow::Owned(action), true)),
            Ok(Frame::Send {
                message_id, action, ..
            }) => Some((Cow::Owned(message_id), Cow::Owned(action), false)),
            _ => None,
        }
    }

    /// Whether [`Engine::refusal`] could refuse a CALL now.
    fn refusal_possible(&self) -> bool {
        self.serving >= self.config.max_peer_calls
            || (self.config.boot_gate
                && self.role() == Role::Csms
                && matches!(
                    self.registration,
                    Registration::Pending | Registration::Rejected { .. }
                ))
    }

    /// Why a peer's CALL of `action` is answered without its handler, if it is.
    fn refusal(&self, action: &str) -> Option<CallError> {
        if self.serving >= self.config.max_peer_calls {
            return Some(CallError::new(
                ErrorCode::GenericError,
                format!(
                    "{} calls in flight already (OCPP-J allows one outstanding CALL)",
                    self.serving
                ),
            ));
        }
        // The CSMS side of the boot gate.
        if self.config.boot_gate && self.role() == Role::Csms && action != "BootNotification" {
            let refused = match self.registration {
                Registration::Pending => !self.triggered.contains(&action),
                Registration::Rejected { .. } => true,
                Registration::Unknown | Registration::Accepted => false,
            };
            if refused {
                return Some(CallError::new(
                    ErrorCode::SecurityError,
                    "the BootNotification is not accepted",
                ));
            }
        }
        None
    }

    /// Takes what a [`Serve`] came to: queues its reply and reports what happened.
    pub fn served(&mut self, served: Served, now: Instant) {
        let Served {
            outcome,
            counted,
            request,
        } = served;
        if counted {
            self.serving = self.serving.saturating_sub(1);
        }
        self.outcome(outcome, Some(&request), now);
    }

    /// Queues the reply of `outcome` and reports it (or acts on it).
    fn outcome(&mut self, outcome: Outcome, request: Option<&OwnedInbound>, now: Instant) {
        let Outcome { reply, event } = outcome;
        // What our own answers say, read before the reply is queued (and moved).
        let mut boot_payload = None;
        let mut trigger_accepted = false;
        if let rpc::Event::Served {
            action,
            error: None,
            ..
        } = &event
        {
            match (*action, self.role()) {
                ("BootNotification", Role::Csms) => {
                    boot_payload = reply.as_deref().and_then(call_result_payload);
                }
                ("TriggerMessage" | "ExtendedTriggerMessage", Role::ChargingStation) => {
                    trigger_accepted = reply
                        .as_deref()
                        .and_then(call_result_payload)
                        .is_some_and(|p| p["status"] == "Accepted");
                }
                _ => {}
            }
        }
        if let (
            rpc::Event::Served {
                message_id,
                action,
                error: None,
            },
            Some(reply),
            Some(OwnedInbound::Text(request)),
        ) = (&event, &reply, request)
        {
            if self.config.remembered_answers > 0 && is_transaction_message(action) {
                let limit = self.config.remembered_answers;
                self.remembered.remember(message_id, request, reply, limit);
            }
        }
        if let Some(reply) = reply {
            self.transmits.push_back(Transmit::Text(reply));
        }
        if let rpc::Event::Answered(answer) = &event {
            let ours = self
                .outstanding
                .as_ref()
                .is_some_and(|o| o.message_id == answer.message_id);
            let (internal, stored) = if ours {
                let outstanding = self.outstanding.take();
                (
                    outstanding.as_ref().is_some_and(|o| o.internal),
                    outstanding.and_then(|o| o.stored),
                )
            } else {
                (false, None)
            };
            if answer.action == "BootNotification" && self.role() == Role::ChargingStation {
                if let Ok(payload) = &answer.result {
                    self.boot_answered(payload, now);
                }
            }
            if let Some(seq) = stored {
                if let rpc::Event::Answered(answer) = event {
                    self.stored_answered(seq, answer, now);
                }
            } else if !internal {
                self.events.push_back(Event::Session(event));
            }
            self.pump(now);
            return;
        }
        if let Some(payload) = boot_payload {
            self.boot_answered(&payload, now);
        }
        if trigger_accepted {
            if let Some(action) = request.and_then(triggered_action) {
                self.triggered.push(action);
                self.pump(now);
            }
        }
        self.events.push_back(Event::Session(event));
    }

    /// Records the registration a BootNotification answer gave.
    fn boot_answered(&mut self, payload: &Value, now: Instant) {
        let interval = Duration::from_secs(payload["interval"].as_u64().unwrap_or(0));
        let registration = match payload["status"].as_str() {
            Some("Accepted") => {
                self.heartbeat_interval = (!interval.is_zero()).then_some(interval);
                self.triggered.clear();
                Registration::Accepted
            }
            Some("Pending") => Registration::Pending,
            Some("Rejected") => Registration::Rejected {
                // An interval of 0: the station chooses; a minute keeps it from flooding.
                retry_at: now
                    + if interval.is_zero() {
                        Duration::from_secs(60)
                    } else {
                        interval
                    },
            },
            _ => return,
        };
        self.registration = registration;
        self.events.push_back(Event::Registered {
            registration,
            interval,
        });
    }

    /// Any frame from the peer shows it is alive.
    fn alive(&mut self, now: Instant) {
        self.pong_deadline = None;
        if let Some(interval) = self.config.ping_interval {
            self.next_ping = Some(now + interval);
        }
    }

    /// A pong arrived at `now`.
    pub fn pong(&mut self, now: Instant) {
        self.alive(now);
    }

    /// The earliest time [`Engine::handle_timeout`] has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.connected {
            return None;
        }
        let mut next: Option<Instant> = None;
        let mut at = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        at(self.outstanding.as_ref().map(|o| o.deadline));
        at(self.pong_deadline);
        at(self.next_ping.filter(|_| self.pong_deadline.is_none()));
        at(self.heartbeat_due());
        if self.outstanding.is_none() {
            at(self.stored.front().and_then(|call| call.not_before));
        }
        if let Registration::Rejected { retry_at } = self.registration {
            if self.outstanding.is_none() && !self.queue.is_empty() {
                at(Some(retry_at));
            }
        }
        next
    }

    /// When the next Heartbeat is due, if the engine sends them.
    fn heartbeat_due(&self) -> Option<Instant> {
        if !self.config.heartbeat
            || self.role() != Role::ChargingStation
            || self.registration != Registration::Accepted
        {
            return None;
        }
        self.heartbeat_interval.map(|i| self.last_call_sent + i)
    }

    /// Does what is due at `now`: call timeouts, pings, a missing pong, Heartbeats, a
    /// Rejected station's next BootNotification.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.connected {
            return;
        }
        if let Some(o) = &self.outstanding {
            if now >= o.deadline {
                if let Some(o) = self.outstanding.take() {
                    self.session.cancel(&o.message_id);
                    if let Some(seq) = o.stored {
                        if let Some(at) = self.stored.iter().position(|c| c.seq == seq) {
                            self.attempt_failed(at, "no answer in time".to_owned(), now);
                        }
                    } else if !o.internal {
                        self.events.push_back(Event::TimedOut {
                            message_id: o.message_id,
                            action: o.action,
                        });
                    }
                }
            }
        }
        if let Some(deadline) = self.pong_deadline {
            if now >= deadline {
                self.pong_deadline = None;
                self.next_ping = None;
                self.events.push_back(Event::Unresponsive);
                self.transmits.push_back(Transmit::Close {
                    code: 1011,
                    reason: "no pong",
                });
                return;
            }
        }
        if let (Some(next), None) = (self.next_ping, self.pong_deadline) {
            if now >= next {
                self.transmits.push_back(Transmit::Ping(Vec::new()));
                self.pong_deadline = Some(now + self.config.pong_timeout);
                self.next_ping = self.config.ping_interval.map(|i| now + i);
            }
        }
        if self.heartbeat_due().is_some_and(|due| now >= due)
            && self.outstanding.is_none()
            && self.queue.is_empty()
            && !self.stored_ready(now)
        {
            self.heartbeat(now);
        }
        self.pump(now);
    }

    /// Queues the engine's own Heartbeat.
    fn heartbeat(&mut self, now: Instant) {
        let made = match self.version() {
            OcppVersion::V1_6 => self
                .session
                .call::<ocpp_messages::v1_6::core::HeartbeatFeature>(
                    &ocpp_messages::v1_6::core::HeartbeatRequest::new(),
                ),
            OcppVersion::V2_0_1 => self
                .session
                .call::<ocpp_messages::v2_0_1::availability::HeartbeatFeature>(
                &ocpp_messages::v2_0_1::availability::HeartbeatRequest::new(),
            ),
            _ => self
                .session
                .call::<ocpp_messages::v2_1::availability::HeartbeatFeature>(
                    &ocpp_messages::v2_1::availability::HeartbeatRequest::new(),
                ),
        };
        match made {
            Ok((message_id, frame)) => {
                self.queue.push_front(Call {
                    message_id,
                    action: "Heartbeat",
                    frame,
                    timeout: self.config.call_timeout,
                    internal: true,
                });
            }
            // The session's own limit: try again at the next interval.
            Err(_) => self.last_call_sent = now,
        }
    }

    /// The connection dropped at `now`: the outstanding call ends with
    /// [`Event::ConnectionLost`]; queued calls, the registration and the heartbeat interval
    /// stay for the next connection.
    pub fn disconnected(&mut self, _now: Instant) {
        self.connected = false;
        self.pong_deadline = None;
        self.next_ping = None;
        self.serving = 0;
        if let Some(o) = self.outstanding.take() {
            self.session.cancel(&o.message_id);
            // A stored call goes out again after the reconnection.
            if !o.internal && o.stored.is_none() {
                self.events.push_back(Event::ConnectionLost {
                    message_id: o.message_id,
                    action: o.action,
                });
            }
        }
        // The engine's own Heartbeats are not carried over.
        self.queue.retain(|call| {
            if call.internal {
                self.session.cancel(&call.message_id);
            }
            !call.internal
        });
        self.transmits.clear();
    }

    /// A new connection is up at `now` (after [`Engine::disconnected`]): queued calls go out
    /// again, in order, through the gate. A station that was Accepted does not boot again.
    pub fn connected(&mut self, now: Instant) {
        self.connected = true;
        self.next_ping = self.config.ping_interval.map(|i| now + i);
        self.pong_deadline = None;
        self.last_call_sent = now;
        self.pump(now);
    }

    /// Ends every call, queued or outstanding, because the engine stops for good: each is
    /// reported as [`Event::ConnectionLost`]. Stored calls stay in the store for the next
    /// engine that attaches it.
    pub fn close(&mut self, now: Instant) {
        self.disconnected(now);
        for call in std::mem::take(&mut self.queue) {
            self.session.cancel(&call.message_id);
            self.events.push_back(Event::ConnectionLost {
                message_id: call.message_id,
                action: call.action,
            });
        }
    }

    /// The next thing to write to the WebSocket.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

/// A `Change` setting (`Some`) or removing (`None`) the value `key`.
fn value_change<'a>(key: &'a str, value: Option<&'a str>) -> Change<'a> {
    match value {
        Some(value) => Change::Put { key, value },
        None => Change::Delete { key },
    }
}

/// A random tag of 8 hexadecimal digits for a store's message ids (no cryptographic quality
/// needed: it keeps ids of a wiped store from repeating earlier ones).
fn random_epoch() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:08x}", hasher.finish() as u32)
}

/// Whether a stored call of `action` is an intermediate meter reading a full store may drop
/// ([`WhenFull::DropMeterValues`]).
fn is_droppable(action: &str, frame: &str) -> bool {
    match action {
        "MeterValues" => true,
        "TransactionEvent" => match Frame::parse(frame) {
            Ok(Frame::Call { payload, .. }) => {
                payload["eventType"] == "Updated"
                    && payload["triggerReason"] == "MeterValuePeriodic"
            }
            _ => false,
        },
        _ => false,
    }
}

/// Polls a future once: `Some` when it is ready (the session's futures for frames that run
/// no handler always are).
fn ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut context) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// Whether `text` starts like a CALL or SEND (`[2` or `[6`, with whitespace).
/// Whether `text` starts as a CALL does: `[`, then message type 2 and a comma (whitespace
/// allowed between).
fn is_call(text: &str) -> bool {
    const WS: [char; 4] = [' ', '\t', '\n', '\r'];
    let Some(rest) = text.trim_start_matches(WS).strip_prefix('[') else {
        return false;
    };
    let Some(rest) = rest.trim_start_matches(WS).strip_prefix('2') else {
        return false;
    };
    rest.trim_start_matches(WS).starts_with(',')
}

fn looks_like_request(text: &str) -> bool {
    let rest = text.trim_start_matches([' ', '\t', '\n', '\r']);
    let Some(rest) = rest.strip_prefix('[') else {
        return false;
    };
    let rest = rest.trim_start_matches([' ', '\t', '\n', '\r']);
    rest.starts_with('2') || rest.starts_with('6')
}

/// The payload of a CALLRESULT frame's text.
fn call_result_payload(reply: &str) -> Option<Value> {
    match Frame::parse(reply).ok()? {
        Frame::CallResult { payload, .. } => Some(payload),
        _ => None,
    }
}

/// The action a TriggerMessage (or 1.6's ExtendedTriggerMessage) request asks for.
fn triggered_action(request: &OwnedInbound) -> Option<&'static str> {
    let text = match request {
        OwnedInbound::Text(text) => text.as_str(),
        OwnedInbound::Binary(bytes) => std::str::from_utf8(bytes).ok()?,
    };
    trigger_request_action(text)
}

/// The action the TriggerMessage CALL `frame` asks for.
fn trigger_request_action(frame: &str) -> Option<&'static str> {
    let Frame::Call {
        action, payload, ..
    } = Frame::parse(frame).ok()?
    else {
        return None;
    };
    if action != "TriggerMessage" && action != "ExtendedTriggerMessage" {
        return None;
    }
    Some(match payload["requestedMessage"].as_str()? {
        "BootNotification" => "BootNotification",
        "LogStatusNotification" => "LogStatusNotification",
        "FirmwareStatusNotification" => "FirmwareStatusNotification",
        "Heartbeat" => "Heartbeat",
        "MeterValues" => "MeterValues",
        "StatusNotification" => "StatusNotification",
        "TransactionEvent" => "TransactionEvent",
        "DiagnosticsStatusNotification" => "DiagnosticsStatusNotification",
        "PublishFirmwareStatusNotification" => "PublishFirmwareStatusNotification",
        "SignChargingStationCertificate"
        | "SignV2GCertificate"
        | "SignCombinedCertificate"
        | "SignChargePointCertificate" => "SignCertificate",
        _ => return None,
    })
}
