//! The CSMS's OCPP 2.0.1 handlers: each message translated to the shared calls of
//! [`Csms`]. The handlers are those of 2.1 too, written once in the
//! crate's private `csms::v2` module.

use ocpp_messages::{OcppVersion, Role};

super::v2::v2_handlers!(v2_0_1);

/// The 2.0.1 dispatcher: provisioning, availability, authorization, transactions, meter values,
/// data transfer and security.
pub(super) fn dispatcher(csms: &Arc<Csms>) -> Dispatcher {
    session_services(Dispatcher::new(OcppVersion::V2_0_1, Role::Csms), csms)
}
