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
//! - **Reconnection.** The engine outlives a connection: [`Engine::disconnected`] ends the
//!   outstanding call ([`Event::ConnectionLost`]) and keeps the queue and the registration,
//!   so a station that reconnects does not boot again; [`Backoff`] gives the waits between
//!   attempts (Part 4 §5.4).

mod backoff;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ocpp_messages::frame::{Envelope, Frame};
use ocpp_messages::rpc::{self, Inbound, Outcome, Rejection, SendError, Session};
use ocpp_messages::{CallError, ErrorCode, Feature, OcppVersion, Role};
use serde_json::Value;

pub use backoff::Backoff;

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
        }
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
        if let Some(reply) = reply {
            self.transmits.push_back(Transmit::Text(reply));
        }
        if let rpc::Event::Answered(answer) = &event {
            let ours = self
                .outstanding
                .as_ref()
                .is_some_and(|o| o.message_id == answer.message_id);
            let internal = if ours {
                let outstanding = self.outstanding.take();
                outstanding.is_some_and(|o| o.internal)
            } else {
                false
            };
            if answer.action == "BootNotification" && self.role() == Role::ChargingStation {
                if let Ok(payload) = &answer.result {
                    self.boot_answered(payload, now);
                }
            }
            if !internal {
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
                    if !o.internal {
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
            if !o.internal {
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
    /// reported as [`Event::ConnectionLost`].
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
