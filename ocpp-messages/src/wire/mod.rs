//! Layer 5, the wire: OCPP-J frames as they travel. The frame model and its parser
//! ([`frame`]), the byte scanner that reads an envelope in place, the frame writer every frame
//! goes through, the typed decoding of a frame's payload from its text, and the [`limits`]
//! checked before a frame is read.

pub mod frame;
pub mod limits;
mod scan;
mod typed;
pub mod write;

pub(crate) use scan::{head, is_json, scan};
pub use typed::CallText;
pub(crate) use typed::{call_payload, result_payload};
