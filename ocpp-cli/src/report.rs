//! Writing verdicts: as JSON lines, or as a readable report of the invalid frames and a summary.
//!
//! With `--json`, each frame gets exactly one line holding one object:
//!
//! ```text
//! {"line":3,"messageId":"42","action":"SignCertificate","valid":false,
//!  "errorCode":"PropertyConstraintViolation",
//!  "errors":[{"path":"/csr","message":"string of 6000 characters is longer than maxLength 5500"}]}
//! ```
//!
//! `file` comes first when several inputs are given (`<stdin>` for standard input), and
//! `payload` last with `--reencode` on valid CALLs and CALLRESULTs. `path` is a JSON pointer
//! into the payload, or `null` for a problem with the frame itself. No summary is written.
//!
//! Without `--json`, each invalid frame gets one line,
//! `FILE:LINE: MESSAGE_ID ACTION: ERROR_CODE: FIRST_ERROR (and N more)`, where `-` stands for an
//! unknown message id, action or error code, and the report ends with
//! `N frames: V valid, I invalid`.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use crate::validate::{Problem, Verdict};

/// The most characters of a message id or action shown in the readable report.
const MAX_SHOWN_CHARS: usize = 64;

/// Writes verdicts and counts them.
#[derive(Debug)]
pub struct Report {
    json: bool,
    reencode: bool,
    with_file: bool,
    valid: u64,
    invalid: u64,
    /// One JSON line, built here and written at once.
    line: Vec<u8>,
}

#[derive(Serialize)]
struct JsonVerdict<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    line: u64,
    #[serde(rename = "messageId")]
    message_id: Option<&'a str>,
    action: Option<&'a str>,
    valid: bool,
    #[serde(rename = "errorCode")]
    error_code: Option<&'static str>,
    errors: Vec<JsonProblem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a Value>,
}

#[derive(Serialize)]
struct JsonProblem<'a> {
    path: Option<&'a str>,
    message: &'a str,
}

impl Report {
    /// A report in JSON lines (`json`) or readable form; `reencode` adds payloads to JSON
    /// lines, `with_file` adds the input's name to them.
    pub fn new(json: bool, reencode: bool, with_file: bool) -> Self {
        Report {
            json,
            reencode,
            with_file,
            valid: 0,
            invalid: 0,
            line: Vec::new(),
        }
    }

    /// How many valid frames were recorded.
    pub fn valid(&self) -> u64 {
        self.valid
    }

    /// How many invalid frames were recorded.
    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Counts the verdict on line `line` of `file` and writes what the format shows of it.
    pub fn record(
        &mut self,
        out: &mut dyn Write,
        file: &str,
        line: u64,
        verdict: Verdict,
    ) -> io::Result<()> {
        let valid = verdict.is_valid();
        if valid {
            self.valid += 1;
        } else {
            self.invalid += 1;
        }
        if self.json {
            let object = JsonVerdict {
                file: self.with_file.then_some(file),
                line,
                message_id: verdict.message_id.as_deref(),
                action: verdict.action.as_deref(),
                valid,
                error_code: verdict.error_code.map(|c| c.as_str()),
                errors: verdict
                    .errors
                    .iter()
                    .map(|p| JsonProblem {
                        path: p.path.as_deref(),
                        message: &p.message,
                    })
                    .collect(),
                payload: if self.reencode && valid {
                    verdict.payload.as_ref()
                } else {
                    None
                },
            };
            self.line.clear();
            serde_json::to_writer(&mut self.line, &object)?;
            self.line.push(b'\n');
            out.write_all(&self.line)
        } else if valid {
            Ok(())
        } else {
            writeln!(out, "{}", text_line(file, line, &verdict))
        }
    }

    /// Writes the closing summary (only in the readable format).
    pub fn finish(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.json {
            return Ok(());
        }
        writeln!(
            out,
            "{} frames: {} valid, {} invalid",
            self.valid + self.invalid,
            self.valid,
            self.invalid
        )
    }
}

/// The readable report's line for an invalid frame.
fn text_line(file: &str, line: u64, verdict: &Verdict) -> String {
    let mut text = format!(
        "{}:{line}: {} {}: {}: ",
        shown(file, usize::MAX),
        shown(
            verdict.message_id.as_deref().unwrap_or("-"),
            MAX_SHOWN_CHARS
        ),
        shown(verdict.action.as_deref().unwrap_or("-"), MAX_SHOWN_CHARS),
        verdict.error_code.map_or("-", |c| c.as_str()),
    );
    match verdict.errors.as_slice() {
        [] => {}
        [first, rest @ ..] => {
            text.push_str(&shown(&Problem::to_string(first), usize::MAX));
            if !rest.is_empty() {
                let _ = write!(text, " (and {} more)", rest.len());
            }
        }
    }
    text
}

/// `text` with control characters escaped (so one frame stays on one line), cut to `max`
/// characters.
fn shown(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocpp_messages::ErrorCode;

    #[test]
    fn text_lines_escape_and_cut() {
        let verdict = Verdict {
            message_id: Some("a\nb".into()),
            action: Some("X".repeat(100)),
            error_code: Some(ErrorCode::NotImplemented),
            errors: vec![
                Problem {
                    path: Some("/csr".into()),
                    message: "too long".into(),
                },
                Problem {
                    path: None,
                    message: "other".into(),
                },
            ],
            payload: None,
        };
        let line = text_line("f.log", 3, &verdict);
        assert_eq!(
            line,
            format!(
                "f.log:3: a\\nb {}…: NotImplemented: /csr: too long (and 1 more)",
                "X".repeat(64)
            )
        );
    }

    #[test]
    fn json_keys_come_in_order() {
        let mut report = Report::new(true, true, true);
        let mut out = Vec::new();
        let verdict = Verdict {
            message_id: None,
            action: None,
            error_code: None,
            errors: Vec::new(),
            payload: Some(serde_json::json!({})),
        };
        report.record(&mut out, "a", 1, verdict).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"file\":\"a\",\"line\":1,\"messageId\":null,\"action\":null,\"valid\":true,\"errorCode\":null,\"errors\":[],\"payload\":{}}\n"
        );
        assert_eq!((report.valid(), report.invalid()), (1, 0));
    }
}
