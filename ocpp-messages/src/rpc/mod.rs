//! Layer 10, the RPC layer: one connection's OCPP-J exchange, without I/O.
//!
//! - [`Dispatcher`]: serves the peer's CALLs and SENDs for one version and role, from the
//!   services of the functional blocks the application supports; shared by every connection.
//! - [`Session`]: one connection. Every incoming frame goes through [`Session::receive`],
//!   which returns one [`Outcome`]: the frame to send back, if any, and the [`Event`] (served,
//!   answered one of our calls, delivered a SEND, rejected, ignored). Outgoing CALLs and SENDs
//!   are made with [`Session::call`] and [`Session::send`]; the session matches the answers.
//! - Our verdict on a message is a [`Rejection`]; the peer's CALLERROR or CALLRESULTERROR is a
//!   [`PeerError`](crate::PeerError); an answer that yields no response says why in a
//!   [`ResponseError`].
//! - The verdicts themselves, without a dispatcher or handlers (one table: the dispatcher asks
//!   them, and so does `ocpp validate`): [`check_call`], [`check_send`], [`check_result`],
//!   [`check_error_code`], [`check_frame_error`], [`check_utf8`] and their parts.
//! - For a transport that keeps its own books: [`call_frame`], [`send_frame`],
//!   [`decode_response`] and [`Frame::decode_call`](crate::frame::Frame::decode_call).

mod check;
mod dispatcher;
mod outgoing;
mod pending;
mod session;
mod verdict;

pub use check::{
    check_call, check_call_action, check_error_code, check_frame_error, check_request,
    check_response, check_result, check_send, check_send_action, check_sender, check_utf8,
    unreadable_frame, FrameVerdict, InvalidPayload,
};
pub use dispatcher::Dispatcher;
pub use outgoing::{call_frame, decode_response, send_frame, SendError};
pub use pending::{Answer, ResponseError, DEFAULT_MAX_PENDING};
pub use session::{Event, Ignored, Inbound, Outcome, Session};
pub use verdict::{Rejection, TypedCall};
