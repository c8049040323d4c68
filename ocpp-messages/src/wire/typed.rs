//! Typed decoding of frame text: the payload of a CALL or CALLRESULT decoded straight from the
//! frame's text, in one strict pass, without a JSON tree.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, IgnoredAny, SeqAccess, Visitor};

use super::scan::{scan, Envelope};
use crate::codec::seeds::Nested;
use crate::codec::{Codec, Mode};

/// Decodes the payload of a whole frame text: the element at index `SKIP` of the frame's
/// array, which must be its last; the elements before it are read and ignored (the caller has
/// already read them).
struct FramePayload<T, const SKIP: usize>(PhantomData<T>);

impl<'de, T: Codec, const SKIP: usize> Visitor<'de> for FramePayload<T, SKIP> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an OCPP-J frame")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        for _ in 0..SKIP {
            seq.next_element::<IgnoredAny>()?
                .ok_or_else(|| de::Error::custom("frame too short"))?;
        }
        let payload = seq
            .next_element_seed(Nested::<T>::new(Mode::Strict))?
            .ok_or_else(|| de::Error::custom("frame too short"))?;
        match seq.next_element::<IgnoredAny>()? {
            None => Ok(payload),
            Some(_) => Err(de::Error::custom("frame too long")),
        }
    }
}

/// The text of a CALL or CALLRESULT frame whose envelope has been read: where its payload
/// starts. Made by the dispatcher for `Service::call_text`.
#[derive(Debug, Clone, Copy)]
pub struct CallText<'a> {
    text: &'a str,
    payload_start: usize,
    /// Elements before the payload: 3 in a CALL, 2 in a CALLRESULT.
    skip: usize,
}

impl<'a> CallText<'a> {
    /// The CALL frame `text`, its payload starting at byte `payload_start`.
    pub(crate) fn new(text: &'a str, payload_start: usize) -> Self {
        CallText {
            text,
            payload_start,
            skip: 3,
        }
    }

    /// The CALLRESULT frame `text`, its payload starting at byte `payload_start`.
    pub(crate) fn result(text: &'a str, payload_start: usize) -> Self {
        CallText {
            text,
            payload_start,
            skip: 2,
        }
    }

    /// The typed payload, if the frame is well-formed JSON whose last element is the payload
    /// and the payload satisfies `T`'s schema (decoded strictly: the fast path is for valid
    /// payloads). `None` says only that the fast path does not apply; the slow path finds out
    /// why.
    pub fn decode<T: Codec>(self) -> Option<T> {
        let rest = self.text.get(self.payload_start..)?;
        // Fewer than 254 bytes cannot open 127 arrays or objects, so the JSON parser's nesting
        // limit (128, counting the frame's own array) cannot be reached: read the payload
        // alone. Otherwise read the whole frame, so that the limit counts exactly as in
        // `Frame::parse`.
        if rest.len() >= 254 {
            let mut de = serde_json::Deserializer::from_str(self.text);
            let payload = match self.skip {
                3 => de::Deserializer::deserialize_seq(&mut de, FramePayload::<T, 3>(PhantomData)),
                _ => de::Deserializer::deserialize_seq(&mut de, FramePayload::<T, 2>(PhantomData)),
            };
            return payload.ok().filter(|_| de.end().is_ok());
        }
        // The payload is what lies between here and the frame's closing bracket; anything
        // else in between (another element, say) fails as trailing characters.
        let body = rest
            .trim_end_matches([' ', '\t', '\n', '\r'])
            .strip_suffix(']')?;
        let mut de = serde_json::Deserializer::from_str(body);
        let payload = T::decode_in(&mut de, Mode::Strict).ok()?;
        de.end().ok().map(|()| payload)
    }
}

/// The typed payload of the CALL frame `text` (`[2, id, action, payload]`), as
/// [`CallText::decode`].
pub(crate) fn call_payload<T: Codec>(text: &str) -> Option<T> {
    match scan(text)? {
        (Envelope::Call { .. }, start) => CallText::new(text, start).decode(),
        _ => None,
    }
}

/// The typed payload of the CALLRESULT frame `text` (`[3, id, payload]`), as
/// [`CallText::decode`].
pub(crate) fn result_payload<T: Codec>(text: &str) -> Option<T> {
    match scan(text)? {
        (Envelope::CallResult { .. }, start) => CallText::result(text, start).decode(),
        _ => None,
    }
}
