//! Limits on what a peer can make this side parse and hold: the size of a frame, the nesting
//! depth of its JSON, the number of values in it, and the size of any string or array in it,
//! whatever the schema says.
//!
//! A `Dispatcher` checks every incoming frame against its [`Limits`]
//! before reading it (set them with `Dispatcher::with_limits`). The checks
//! cost one comparison per frame on the happy path: a frame too short to break a limit (with
//! the defaults, any frame under 200 kB) is not looked at, and a longer one is scanned once,
//! byte by byte, without building anything. The number of calls waiting for an answer is
//! limited by `Session::with_max_pending`.
//!
//! The defaults are above every bound the OCPP 2.0.1 schemas set (the longest `maxLength` is
//! 32,768 characters, the largest `maxItems` 1,024), so a frame the schema accepts is refused
//! only if it is longer than [`DEFAULT_MAX_FRAME_LEN`], carries a string of more than
//! [`DEFAULT_MAX_STRING_CHARS`] characters or an array of more than
//! [`DEFAULT_MAX_ARRAY_ITEMS`] items where its schema sets no bound (a vendor member of
//! `customData`, the `data` of a `DataTransfer`, an unbounded list), holds more than
//! [`DEFAULT_MAX_VALUES`] values, or nests deeper than [`MAX_DEPTH`] levels.
//!
//! ```
//! use ocpp_messages::limits::{Limits, LimitError};
//!
//! let limits = Limits::default().with_max_string_chars(10).with_max_depth(4);
//! assert_eq!(limits.check(r#"[2,"1","Heartbeat",{}]"#), Ok(()));
//! assert!(matches!(
//!     limits.check(r#"[2,"1","DataTransfer",{"vendorId":"far too long"}]"#),
//!     Err(LimitError::String { limit: 10 })
//! ));
//! assert!(matches!(limits.check("[[[[[1]]]]]"), Err(LimitError::Depth { limit: 4 })));
//! ```

use std::fmt;

use crate::spec::{Situation, ViolationClass};

/// The default largest frame, in bytes (8 MiB).
pub const DEFAULT_MAX_FRAME_LEN: usize = 8 << 20;

/// The deepest nesting of arrays and objects any frame may have, counting the frame's own
/// array: the JSON parser's own limit, and the default of [`Limits::max_depth`].
pub const MAX_DEPTH: usize = 128;

/// The default longest string anywhere in a frame, in Unicode code points (1 Mi), member
/// names included.
pub const DEFAULT_MAX_STRING_CHARS: usize = 1 << 20;

/// The default largest array anywhere in a frame, in items (100,000).
pub const DEFAULT_MAX_ARRAY_ITEMS: usize = 100_000;

/// The default largest number of values in a frame (500,000): see [`Limits::with_max_values`].
pub const DEFAULT_MAX_VALUES: usize = 500_000;

/// Limits on one incoming frame, checked before it is parsed. See the [module](self)
/// documentation for the defaults and what they cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_frame_len: usize,
    max_depth: usize,
    max_string_chars: usize,
    max_array_items: usize,
    max_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Which limit a frame breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitError {
    /// The frame is longer than [`Limits::max_frame_len`] bytes.
    FrameLen {
        /// The frame's length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Arrays and objects nest deeper than [`Limits::max_depth`].
    Depth {
        /// The limit.
        limit: usize,
    },
    /// A string has more than [`Limits::max_string_chars`] characters.
    String {
        /// The limit.
        limit: usize,
    },
    /// An array has more than [`Limits::max_array_items`] items.
    Array {
        /// The limit.
        limit: usize,
    },
    /// The frame holds more than [`Limits::max_values`] values.
    Values {
        /// The limit.
        limit: usize,
    },
}

impl LimitError {
    /// The situation a CALLERROR answering it is for: a frame too long, too deep or with too
    /// many values cannot be read (so its message id is not either: it is answered with `-1`);
    /// a string or array too large is a payload violation of a property or occurrence
    /// constraint, answered with the frame's own message id.
    pub fn situation(self) -> Situation {
        match self {
            LimitError::FrameLen { .. } | LimitError::Depth { .. } | LimitError::Values { .. } => {
                Situation::UnreadableFrame
            }
            LimitError::String { .. } => Situation::Payload(ViolationClass::Property),
            LimitError::Array { .. } => Situation::Payload(ViolationClass::Occurrence),
        }
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::FrameLen { len, limit } => {
                write!(
                    f,
                    "frame of {len} bytes is longer than the limit of {limit} bytes"
                )
            }
            LimitError::Depth { limit } => {
                write!(
                    f,
                    "frame nests arrays and objects deeper than {limit} levels"
                )
            }
            LimitError::String { limit } => {
                write!(f, "frame has a string of more than {limit} characters")
            }
            LimitError::Array { limit } => {
                write!(f, "frame has an array of more than {limit} items")
            }
            LimitError::Values { limit } => write!(f, "frame holds more than {limit} values"),
        }
    }
}

impl std::error::Error for LimitError {}

impl Limits {
    /// The defaults: [`DEFAULT_MAX_FRAME_LEN`], [`MAX_DEPTH`], [`DEFAULT_MAX_STRING_CHARS`],
    /// [`DEFAULT_MAX_ARRAY_ITEMS`], [`DEFAULT_MAX_VALUES`].
    pub const DEFAULT: Limits = Limits {
        max_frame_len: DEFAULT_MAX_FRAME_LEN,
        max_depth: MAX_DEPTH,
        max_string_chars: DEFAULT_MAX_STRING_CHARS,
        max_array_items: DEFAULT_MAX_ARRAY_ITEMS,
        max_values: DEFAULT_MAX_VALUES,
    };

    /// Sets the largest frame, in bytes. A longer frame is not parsed at all.
    #[must_use]
    pub const fn with_max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// Sets the deepest nesting of arrays and objects, counting the frame's own array (so a
    /// CALL with an empty payload, `[2,"1","Heartbeat",{}]`, has depth 2). Values above
    /// [`MAX_DEPTH`] (the JSON parser's own limit) act as [`MAX_DEPTH`]; values below 2 as 2.
    /// Below [`MAX_DEPTH`], every frame longer than twice the limit is scanned.
    #[must_use]
    pub const fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = if depth > MAX_DEPTH {
            MAX_DEPTH
        } else if depth < 2 {
            2
        } else {
            depth
        };
        self
    }

    /// Sets the longest string anywhere in a frame (values and member names), in Unicode code
    /// points, after unescaping. A limit below a schema's own `maxLength` refuses strings that
    /// schema accepts.
    #[must_use]
    pub const fn with_max_string_chars(mut self, chars: usize) -> Self {
        self.max_string_chars = chars;
        self
    }

    /// Sets the largest array anywhere in a frame, in items (at least 5: the frame's own array
    /// has up to 5). A limit below a schema's own `maxItems` refuses arrays that schema accepts.
    #[must_use]
    pub const fn with_max_array_items(mut self, items: usize) -> Self {
        self.max_array_items = if items < 5 { 5 } else { items };
        self
    }

    /// Sets the largest number of values in a frame (at least 8), counted as the arrays and
    /// objects opened plus the commas between items and members: what bounds the memory a
    /// frame's JSON tree takes (some 70 bytes a value), where the frame length alone would let
    /// a few megabytes of `[0,0,0,...]` become hundreds of megabytes.
    #[must_use]
    pub const fn with_max_values(mut self, values: usize) -> Self {
        self.max_values = if values < 8 { 8 } else { values };
        self
    }

    /// The largest number of values in a frame.
    pub const fn max_values(&self) -> usize {
        self.max_values
    }

    /// The largest frame, in bytes.
    pub const fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// The deepest nesting of arrays and objects, counting the frame's own array.
    pub const fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// The longest string, in Unicode code points.
    pub const fn max_string_chars(&self) -> usize {
        self.max_string_chars
    }

    /// The largest array, in items.
    pub const fn max_array_items(&self) -> usize {
        self.max_array_items
    }

    /// The longest frame that cannot break the depth, string or array limit, whatever it
    /// holds: nesting `d` levels takes `2d` bytes, a string of `n` characters `n + 2`, an
    /// array of `n` items `2n + 1`, and each value counted takes a byte of its own.
    fn safe_len(&self) -> usize {
        let mut safe = self
            .max_string_chars
            .saturating_add(2)
            .min(self.max_array_items.saturating_mul(2).saturating_add(2))
            .min(self.max_values);
        if self.max_depth < MAX_DEPTH {
            safe = safe.min(self.max_depth * 2 + 1);
        }
        safe
    }

    /// Checks a frame's text against the limits. Text that is not JSON may pass (the parser
    /// refuses it later) or break a limit on the way; valid JSON breaks a limit exactly when
    /// one of its values does.
    pub fn check(&self, text: &str) -> Result<(), LimitError> {
        if text.len() > self.max_frame_len {
            return Err(LimitError::FrameLen {
                len: text.len(),
                limit: self.max_frame_len,
            });
        }
        if text.len() <= self.safe_len() {
            return Ok(());
        }
        self.scan(text)
    }

    /// One pass over the bytes: the nesting depth, each array's item count (its commas), and
    /// each string's length (its bytes, and its characters when the bytes exceed the limit).
    fn scan(&self, text: &str) -> Result<(), LimitError> {
        let bytes = text.as_bytes();
        // For each open array or object: whether it is an array, and its commas so far.
        let mut open: Vec<(bool, usize)> = Vec::new();
        // Arrays and objects opened, and commas.
        let mut values = 0usize;
        let mut i = 0;
        while let Some(&byte) = bytes.get(i) {
            match byte {
                b'"' => {
                    let start = i + 1;
                    let mut end = start;
                    let mut escaped = false;
                    loop {
                        match bytes.get(end) {
                            None => return Ok(()), // unterminated: not JSON
                            Some(b'"') => break,
                            Some(b'\\') => {
                                escaped = true;
                                end += 2;
                            }
                            Some(_) => end += 1,
                        }
                    }
                    if end - start > self.max_string_chars {
                        let chars = match text.get(start..end) {
                            Some(raw) if !escaped => raw.chars().count(),
                            _ => text
                                .get(i..=end)
                                .and_then(|quoted| serde_json::from_str::<String>(quoted).ok())
                                .map_or(0, |s| s.chars().count()),
                        };
                        if chars > self.max_string_chars {
                            return Err(LimitError::String {
                                limit: self.max_string_chars,
                            });
                        }
                    }
                    i = end + 1;
                    continue;
                }
                b'[' | b'{' => {
                    values += 1;
                    if values > self.max_values {
                        return Err(LimitError::Values {
                            limit: self.max_values,
                        });
                    }
                    open.push((byte == b'[', 0));
                    if open.len() > self.max_depth {
                        return Err(LimitError::Depth {
                            limit: self.max_depth,
                        });
                    }
                }
                b']' | b'}' => {
                    open.pop();
                }
                b',' => {
                    values += 1;
                    if values > self.max_values {
                        return Err(LimitError::Values {
                            limit: self.max_values,
                        });
                    }
                    if let Some((true, commas)) = open.last_mut() {
                        *commas += 1;
                        if *commas >= self.max_array_items {
                            return Err(LimitError::Array {
                                limit: self.max_array_items,
                            });
                        }
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_short_enough_are_not_scanned_and_pass() {
        let limits = Limits::default();
        assert_eq!(limits.safe_len(), 2 * DEFAULT_MAX_ARRAY_ITEMS + 2);
        let tight = Limits::default().with_max_depth(3);
        assert_eq!(tight.safe_len(), 7);
        assert_eq!(tight.check("[[[1]]]"), Ok(()));
        assert_eq!(tight.check("[[[[]]]]"), Err(LimitError::Depth { limit: 3 }));
        assert_eq!(tight.check("[[[ 1 ]]]"), Ok(()));
    }

    #[test]
    fn each_limit_is_exact() {
        let limits = Limits::default()
            .with_max_string_chars(3)
            .with_max_array_items(5);
        // Characters, not bytes; escapes unescaped; strings inside strings are text.
        for ok in [
            r#"["abc","ééé","\u0041\u0042\u0043",",,,",",,,"]"#,
            "[1,2,3,4,5]",
            r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}"#,
        ] {
            assert_eq!(limits.check(ok), Ok(()), "{ok}");
        }
        for (bad, error) in [
            (r#"["abcd"]"#, LimitError::String { limit: 3 }),
            (
                r#"["\u0041\u0042\u0043\u0044"]"#,
                LimitError::String { limit: 3 },
            ),
            (r#"{"abcd":1}"#, LimitError::String { limit: 3 }),
            ("[1,2,3,4,5,6]", LimitError::Array { limit: 5 }),
            (
                "[[1,2,3,4,5,[1,2,3,4,5,6]]]",
                LimitError::Array { limit: 5 },
            ),
        ] {
            assert_eq!(limits.check(bad), Err(error), "{bad}");
        }
        let few = Limits::default().with_max_values(8);
        assert_eq!(few.check("[[1,2],{\"a\":[3,4]},5]"), Ok(()));
        assert_eq!(
            few.check("[[1,2],{\"a\":[3,4],\"b\":6},5]"),
            Err(LimitError::Values { limit: 8 })
        );
        let short = Limits::default().with_max_frame_len(4);
        assert_eq!(
            short.check("[1,2]"),
            Err(LimitError::FrameLen { len: 5, limit: 4 })
        );
    }

    #[test]
    fn unterminated_and_odd_text_does_not_panic() {
        let limits = Limits::default()
            .with_max_string_chars(0)
            .with_max_depth(2)
            .with_max_array_items(0);
        for text in ["\"", "\"\\", "]]]]", "\"\\u12\"", "\"é", ",,,,,,,,,,"] {
            let _ = limits.check(text);
        }
    }
}
