//! The byte scanner: what can be read of a frame's text in place, without parsing it.

/// The longest message id OCPP-J allows, in characters.
pub const MAX_MESSAGE_ID_CHARS: usize = 36;

/// The envelope of a CALL or CALLRESULT, read in place by [`Envelope::peek`]: what comes
/// before the payload, borrowed from the frame's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope<'a> {
    /// `[2, "message_id", "action", ...`
    Call {
        /// The message id.
        message_id: &'a str,
        /// The action.
        action: &'a str,
    },
    /// `[3, "message_id", ...`
    CallResult {
        /// The message id.
        message_id: &'a str,
    },
}

impl<'a> Envelope<'a> {
    /// Reads the envelope of a CALL or CALLRESULT at the start of `text` without parsing the
    /// rest. `None` for anything else, including what may be valid but is unusual (escapes in
    /// the id or action, `2.0` as the type): parse such frames with [`Frame::parse`](super::frame::Frame::parse), which
    /// decides. A message id returned is 1 to 36 characters of JSON string text without
    /// escapes, so it can be written back verbatim. Whether the rest of the text is a
    /// well-formed frame is not checked here.
    pub fn peek(text: &'a str) -> Option<Self> {
        scan(text).map(|(envelope, _)| envelope)
    }
}

/// The length of the JSON string contents at the start of `bytes` (up to the closing quote),
/// if they hold no escape and no control character. Eight bytes at a time: for each word, the
/// lowest byte that is a quote, a backslash or below 0x20 is found with the usual "has a zero
/// byte" arithmetic, whose lowest flagged byte is always exact.
fn plain_string_len(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let stop = |c: u8| c == b'"' || c == b'\\' || c < 0x20;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        let found = zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x & HIGHS);
        if found != 0 {
            i += (found.trailing_zeros() / 8) as usize;
            return (bytes[i] == b'"').then_some(i);
        }
        i += 8;
    }
    let len = bytes[i..].iter().position(|&c| stop(c))?;
    (bytes[i + len] == b'"').then_some(i + len)
}

/// [`Envelope::peek`], with the byte offset where the payload starts.
pub(crate) fn scan(text: &str) -> Option<(Envelope<'_>, usize)> {
    let bytes = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
            i += 1;
        }
        i
    };
    // The index after `byte` (after whitespace).
    let expect = |i: usize, byte: u8| -> Option<usize> {
        let i = skip_ws(i);
        (*bytes.get(i)? == byte).then_some(i + 1)
    };
    // A string without escapes or control characters, and the index after it.
    let string = |i: usize| -> Option<(&str, usize)> {
        let start = expect(i, b'"')?;
        let end = start + plain_string_len(bytes.get(start..)?)?;
        Some((text.get(start..end)?, end + 1))
    };
    let i = skip_ws(expect(0, b'[')?);
    let call = match bytes.get(i)? {
        b'2' => true,
        b'3' => false,
        _ => return None,
    };
    let (message_id, i) = string(expect(i + 1, b',')?)?;
    // At most as many characters as bytes: count only when that matters.
    if message_id.is_empty()
        || (message_id.len() > MAX_MESSAGE_ID_CHARS
            && message_id.chars().count() > MAX_MESSAGE_ID_CHARS)
    {
        return None;
    }
    let i = expect(i, b',')?;
    if !call {
        return Some((Envelope::CallResult { message_id }, i));
    }
    let (action, i) = string(i)?;
    let i = expect(i, b',')?;
    Some((Envelope::Call { message_id, action }, i))
}

/// The message type number (one digit) and the message id at the start of a frame's `text`,
/// read in place as [`Envelope::peek`] reads them, for any message type: what a frame that is
/// refused unread (see [`crate::limits`]) is answered with.
pub(crate) fn head(text: &str) -> Option<(u8, &str)> {
    let bytes = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
            i += 1;
        }
        i
    };
    let expect =
        |i: usize, byte: u8| (bytes.get(skip_ws(i)) == Some(&byte)).then(|| skip_ws(i) + 1);
    let i = skip_ws(expect(0, b'[')?);
    let digit = *bytes.get(i).filter(|b| b.is_ascii_digit())? - b'0';
    let start = expect(expect(i + 1, b',')?, b'"')?;
    let end = start + plain_string_len(bytes.get(start..)?)?;
    let id = text.get(start..end)?;
    (!id.is_empty() && id.chars().count() <= MAX_MESSAGE_ID_CHARS).then_some((digit, id))
}

/// Whether `text` is JSON that [`Frame::parse`] can read (strings decoded, so a lone
/// surrogate escape is refused; numbers within a double; nesting within the parser's limit),
/// checked without keeping anything.
pub(crate) fn is_json(text: &str) -> bool {
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

    struct Discard;
    impl<'de> Deserialize<'de> for Discard {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Discard)
        }
    }
    impl<'de> Visitor<'de> for Discard {
        type Value = Discard;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_str<E>(self, _: &str) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_unit<E>(self) -> Result<Discard, E> {
            Ok(Discard)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Discard, A::Error> {
            while seq.next_element::<Discard>()?.is_some() {}
            Ok(Discard)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Discard, A::Error> {
            while map.next_key::<Discard>()?.is_some() {
                map.next_value::<Discard>()?;
            }
            Ok(Discard)
        }
    }
    serde_json::from_str::<Discard>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_reads_plain_envelopes_only() {
        assert_eq!(
            Envelope::peek(r#" [ 2 , "a-1" , "Heartbeat" , {}]"#),
            Some(Envelope::Call {
                message_id: "a-1",
                action: "Heartbeat"
            })
        );
        assert_eq!(
            Envelope::peek(r#"[3,"a",{}]"#),
            Some(Envelope::CallResult { message_id: "a" })
        );
        for text in [
            r#"[2.0,"a","Heartbeat",{}]"#,
            r#"[20,"a","Heartbeat",{}]"#,
            r#"[4,"a","NotSupported","",{}]"#,
            r#"[2,"a\u0062","Heartbeat",{}]"#,
            r#"[2,"","Heartbeat",{}]"#,
            r#"[2,"a",5,{}]"#,
            "[2,\"a\tb\",\"Heartbeat\",{}]",
        ] {
            assert_eq!(Envelope::peek(text), None, "{text}");
        }
        let long = format!(r#"[2,"{}","Heartbeat",{{}}]"#, "é".repeat(37));
        assert_eq!(Envelope::peek(&long), None);
    }

    #[test]
    fn plain_strings_end_at_the_first_quote_unless_escaped_or_controlled() {
        for (text, expected) in [
            ("\"", Some(0)),
            ("abc\"", Some(3)),
            ("abcdefgh\"", Some(8)),
            ("abcdefghijklmnopq\"rest", Some(17)),
            ("abcdefg\\\"", None),
            ("abc\tdefgh\"", None),
            ("abcdefghij", None),
            ("é€😀\"", Some(9)),
            ("\u{7f}\u{80}\u{ff}abcdef\"", Some(11)),
        ] {
            assert_eq!(plain_string_len(text.as_bytes()), expected, "{text:?}");
        }
        // Every position of the stop byte in a word, after every prefix length.
        for n in 0..20 {
            for stop in [b'"', b'\\', b'\n', 0] {
                let mut bytes = vec![b'x'; n];
                bytes.push(stop);
                bytes.extend_from_slice(b"yy\"");
                let expected = (stop == b'"').then_some(n);
                assert_eq!(plain_string_len(&bytes), expected, "{n} {stop}");
            }
        }
    }
}
