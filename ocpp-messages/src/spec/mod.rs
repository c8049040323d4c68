//! Layer 1: what the specifications name. OCPP versions, the OCPP-J error codes, the situations
//! a receiver answers with an error and the code each version prescribes for each.

mod error;
mod situation;
mod version;

pub use error::{CallError, ConversionError, ErrorCode, PeerError, MAX_DESCRIPTION_CHARS};
pub use situation::{Situation, ViolationClass};
pub use version::OcppVersion;
