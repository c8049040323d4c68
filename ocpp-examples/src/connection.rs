//! One OCPP-J connection as the examples use it: a [`Peer`] wraps the
//! [`Handle`] of an `ocpp-connection` connection (the CSMS's
//! [`Registry`](ocpp_connection::server::Registry) entry for a station, or the station's
//! [`Client`](ocpp_connection::client::Client)) with the station's identity, and adds what
//! the examples check on top: a SEND is only sent when it is one from this side in the
//! connection's version.
//!
//! Everything else is the crate's: its engine sends one CALL at a time and queues the rest,
//! times calls out (a late answer is ignored), answers the peer's CALLs with the dispatcher
//! (handlers run concurrently in the connection's task; a handler that wants to send a CALL
//! spawns a task with the [`Peer`], and the CALL goes out after the handler's CALLRESULT),
//! under 2.1 answers an invalid CALLRESULT with a CALLRESULTERROR and delivers SENDs, ignores
//! (1.6, 2.1) or answers `MessageTypeNotSupported` (2.0.1) a frame of an unknown message
//! type, and reads a binary message as a frame. Its events are logged by [`log_event`].

use std::sync::Arc;

use ocpp_connection::connection::{CallFailed as ConnectionCallFailed, Handle};
use ocpp_connection::engine::Event;
use ocpp_messages::rpc::{self, Ignored, ResponseError};
use ocpp_messages::{Feature, OcppVersion, Role};

pub use ocpp_connection::engine::DEFAULT_CALL_TIMEOUT;

/// Why one of our CALLs (or SENDs) got no response.
#[derive(Debug, thiserror::Error)]
pub enum CallFailed {
    /// The connection did not deliver a typed answer: the request was refused (invalid, the
    /// queue full), the peer answered with a CALLERROR or an invalid CALLRESULT, no answer
    /// came in time, or the connection dropped or is closed.
    #[error(transparent)]
    Connection(#[from] ConnectionCallFailed),
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

/// A handle to send CALLs and SENDs on a connection, with the station's identity. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct Peer {
    handle: Handle,
    station: Arc<str>,
    role: Role,
}

impl Peer {
    /// The connection of `handle`, with the charging station `station`, on the side `role`.
    pub fn new(handle: Handle, station: &str, role: Role) -> Self {
        Peer {
            handle,
            station: station.into(),
            role,
        }
    }

    /// The charging station at the other end (or at this end, for a station).
    pub fn station(&self) -> &str {
        &self.station
    }

    /// The negotiated OCPP version.
    pub fn version(&self) -> OcppVersion {
        self.handle.version()
    }

    /// The crate's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Whether the connection's task has ended.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Sends a CALL of feature `F` and waits for its response (after any earlier CALL of
    /// ours on this connection is answered or timed out).
    pub async fn call<F>(&self, request: &F::Request) -> Result<F::Response, CallFailed>
    where
        F: Feature + 'static,
        F::Request: Clone + Send + 'static,
    {
        Ok(self.handle.call::<F>(request.clone()).await?)
    }

    /// Sends a SEND of feature `F` (OCPP 2.1, message type 6: `[6, id, action, payload]`),
    /// which the peer never answers.
    ///
    /// Fails without sending anything if `F` is not a SEND that this side sends in the
    /// connection's version (the session checks only that `F` is a SEND), or the request
    /// violates its schema. A SEND does not wait for the CALL in flight, if any.
    pub async fn send<F>(&self, request: &F::Request) -> Result<(), CallFailed>
    where
        F: Feature + 'static,
        F::Request: Clone + Send + 'static,
    {
        let version = self.version();
        let is_send = version
            .feature(F::NAME)
            .is_some_and(|f| f.send && f.initiator.may_be_sent_by(self.role));
        if !F::SEND || !is_send {
            return Err(CallFailed::NotASend {
                action: F::NAME,
                version,
            });
        }
        Ok(self.handle.send::<F>(request.clone()).await?)
    }

    /// Closes the connection normally (WebSocket close code 1000).
    pub async fn close(&self) {
        self.handle.close().await;
    }
}

/// Logs an engine event of the connection with `station`: what gets no frame in answer, or
/// went wrong. Answers matched to their calls and CALLs served are in the frame log already.
pub fn log_event(station: &str, version: Option<OcppVersion>, event: &Event) {
    match event {
        Event::Session(rpc::Event::Answered(answer)) => {
            // Under 2.1 the session answers an invalid CALLRESULT with a CALLRESULTERROR.
            if version == Some(OcppVersion::V2_1)
                && matches!(answer.result, Err(ResponseError::Invalid(_)))
            {
                tracing::warn!(
                    "{station}: the answer to {} {} is invalid: answering with a \
                     CALLRESULTERROR",
                    answer.action,
                    answer.message_id
                );
            } else {
                tracing::debug!(
                    "{station}: {} {} answered",
                    answer.action,
                    answer.message_id
                );
            }
        }
        Event::Session(rpc::Event::Served { .. }) => {}
        Event::Session(rpc::Event::Delivered { action, .. }) => {
            tracing::info!("{station}: {action} SEND delivered");
        }
        Event::Session(rpc::Event::Rejected(rejection)) => {
            tracing::warn!("{station}: a frame was rejected ({rejection})");
        }
        Event::Session(rpc::Event::ResultError { message_id, error }) => tracing::warn!(
            "{station}: our answer to {message_id} was rejected with a CALLRESULTERROR ({error})"
        ),
        Event::Session(rpc::Event::Ignored(Ignored::Unmatched { message_id })) => tracing::warn!(
            "{station}: ignoring an answer to {message_id}: no call of ours awaits it"
        ),
        Event::Session(rpc::Event::Ignored(Ignored::UnknownMessageType { message_id })) => {
            tracing::warn!(
                "{station}: ignoring a frame{} of a message type OCPP {} does not define",
                message_id
                    .as_deref()
                    .map(|id| format!(" {id}"))
                    .unwrap_or_default(),
                version.map_or("?".to_owned(), |v| v.to_string())
            );
        }
        Event::TimedOut { message_id, action } => {
            tracing::warn!("{station}: {action} {message_id} got no answer in time");
        }
        Event::ConnectionLost { message_id, action } => {
            tracing::warn!(
                "{station}: the connection dropped before {action} {message_id} was answered"
            );
        }
        Event::Registered {
            registration,
            interval,
        } => tracing::info!("{station}: registration {registration:?}, interval {interval:?}"),
        Event::Unresponsive => tracing::warn!("{station}: no pong in time: closing"),
        Event::Refused(rejection) => {
            tracing::warn!("{station}: a CALL was refused without its handler ({rejection})");
        }
        // Events a later crate may add.
        other => tracing::info!("{station}: {other:?}"),
    }
}
