//! Reading input line by line, as bytes, without ever holding more than a bounded line.

use std::io::{self, BufRead, Read};

/// The longest line held in memory, in bytes (16 MiB, without the line ending). A longer line
/// is skipped up to its end and reported as "frame too long".
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// One line of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// Nothing but spaces and tabs (or nothing at all): not a frame.
    Blank,
    /// The line's bytes, without the `\n` or `\r\n` that ended it.
    Bytes(&'a [u8]),
    /// A line longer than the limit; its bytes were read and dropped.
    TooLong,
}

/// Reads the lines of a byte stream, numbering them from 1.
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    buf: Vec<u8>,
    max: usize,
    number: u64,
}

impl<R: BufRead> LineReader<R> {
    /// Reads `reader`'s lines, holding at most [`MAX_LINE_BYTES`] of one line.
    pub fn new(reader: R) -> Self {
        LineReader::with_max_line_bytes(reader, MAX_LINE_BYTES)
    }

    /// Reads `reader`'s lines, holding at most `max` bytes of one line.
    pub fn with_max_line_bytes(reader: R, max: usize) -> Self {
        LineReader {
            reader,
            buf: Vec::new(),
            max,
            number: 0,
        }
    }

    /// The longest line this reader holds, in bytes.
    pub fn max_line_bytes(&self) -> usize {
        self.max
    }

    /// The next line and its number (from 1), or `None` at the end of the input.
    ///
    /// A `\r` before the `\n` is removed, and so is a UTF-8 byte order mark at the start of the
    /// first line. The last line need not end with `\n`.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        // The line, one byte of slack for a `\r` that the line ending will remove, and the `\n`.
        let limit = u64::try_from(self.max)
            .unwrap_or(u64::MAX)
            .saturating_add(2);
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            return Ok(None);
        }
        let mut too_long = false;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if u64::try_from(read).unwrap_or(u64::MAX) >= limit {
            // Cut off before its end: drop what was read and the rest of the line.
            too_long = true;
            self.buf = Vec::new();
            self.reader.skip_until(b'\n')?;
        }
        self.number += 1;
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if too_long || self.buf.len() > self.max {
            self.buf = Vec::new();
            return Ok(Some((self.number, Line::TooLong)));
        }
        let mut bytes = self.buf.as_slice();
        if self.number == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        if bytes.iter().all(|&b| matches!(b, b' ' | b'\t' | b'\r')) {
            return Ok(Some((self.number, Line::Blank)));
        }
        Ok(Some((self.number, Line::Bytes(bytes))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(u64, String)> {
        let mut reader = LineReader::with_max_line_bytes(input, max);
        let mut out = Vec::new();
        while let Some((n, line)) = reader.next_line().unwrap() {
            let shown = match line {
                Line::Blank => "<blank>".to_owned(),
                Line::TooLong => "<too long>".to_owned(),
                Line::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            };
            out.push((n, shown));
        }
        out
    }

    #[test]
    fn lines_are_numbered_and_stripped() {
        let got = lines(b"\xEF\xBB\xBFa\r\n\n  \r\nb\r\r\nc", 100);
        let want = [
            (1, "a"),
            (2, "<blank>"),
            (3, "<blank>"),
            (4, "b\r"),
            (5, "c"),
        ];
        assert_eq!(got, want.map(|(n, s)| (n, s.to_owned())));
        assert!(lines(b"", 100).is_empty());
        assert_eq!(lines(b"\n", 100), [(1, "<blank>".to_owned())]);
    }

    #[test]
    fn long_lines_are_dropped_not_held() {
        let got = lines(b"12345\n123456\n1234567\r\n12345\r\n123456\r\nok", 6);
        let want = ["12345", "123456", "<too long>", "12345", "123456", "ok"];
        let want: Vec<(u64, String)> = (1..).zip(want.map(str::to_owned)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn long_lines_across_buffer_refills() {
        let mut input = vec![b'x'; 50];
        input.extend_from_slice(b"\nshort\n");
        let mut reader =
            LineReader::with_max_line_bytes(io::BufReader::with_capacity(4, &input[..]), 10);
        assert_eq!(reader.next_line().unwrap(), Some((1, Line::TooLong)));
        assert_eq!(
            reader.next_line().unwrap(),
            Some((2, Line::Bytes(b"short")))
        );
        assert_eq!(reader.next_line().unwrap(), None);
    }
}
