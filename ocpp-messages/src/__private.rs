//! What generated code needs and users do not: the one hidden support module. It re-exports
//! from the layers below the generated version modules only.

pub use serde;
pub use serde_json::{Map, Value};

/// Whether `name` is one of `names`, at compile time (the clash check of
/// `functional_block!` with `extends`).
pub const fn contains(names: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < names.len() {
        let (a, b) = (names[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

pub use crate::codec::{encode, Mode};
pub use crate::service::{encode_response, BoxFuture, Payload, Service};
pub use crate::wire::CallText;

/// The seeds and helpers of the fast path, for generated code.
pub mod codec {
    pub use crate::codec::seeds::{
        count_ok, Int, IntDraft4, Items, Key, Nested, Num, Str, UNKNOWN_MEMBER,
    };
    pub use crate::codec::validate_value;
}

/// Deserializes a member that is present as `Some`, even when it is `null` (for optional
/// members of any type, where `null` is a value, not an absence).
pub fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(deserializer).map(Some)
}
