//! The station's steps in OCPP 2.0.1: a transaction is a series of TransactionEvents with the
//! station's own transaction id and a sequence number. The steps are those of 2.1 too, written
//! once in the crate's private `station::v2` module.

/// OCPP 2.0.1, for [`Protocol`].
pub(crate) struct V2_0_1;

super::v2::v2_steps!(v2_0_1, V2_0_1, {});

/// The id token for `id_tag`: an RFID card.
fn id_token(id_tag: &str) -> ocpp_messages::v2_0_1::types::IdToken {
    use ocpp_messages::v2_0_1::types::{IdToken, IdTokenEnum};
    IdToken::new(id_tag, IdTokenEnum::Iso14443)
}
