//! The `ocpp validate` loop over `ocpp-kit` 0.3.0's strict decode, for the CLI throughput
//! comparison (see BENCHMARKS.md and `bench/cli-throughput.sh`).
//!
//! ```text
//! cargo build --release -p ocpp-cli --example peer-validate
//! target/release/examples/peer-validate /tmp/log.jsonl
//! ```
//!
//! Reads one OCPP 2.0.1 frame per line (a FILE argument or stdin), and does what `ocpp validate`
//! does for each, with `ocpp-kit`'s API: `rpc::Frame::parse`; a CALL's message id must conform
//! (1 to 36 characters) and its action must be a 2.0.1 action; its payload is decoded into the
//! typed request and validated (`v2_0_1::CsRequest::decode` or `CsmsRequest::decode`, whichever
//! has the action, with `DecodeOptions::strict()`: what `ocpp validate` does without
//! `--reencode`); a CALLRESULT is matched to the unanswered CALL with its message id and its
//! payload decoded with `CsResponse::decode` or `CsmsResponse::decode` for that action; a
//! CALLERROR is valid when it parses. Prints
//! `N frames: V valid, I invalid`, as `ocpp validate` does without `--json`.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use ocpp_kit::decode::DecodeOptions;
use ocpp_kit::rpc::Frame;
use ocpp_kit::v2_0_1::{Action, CsRequest, CsResponse, CsmsRequest, CsmsResponse};
use ocpp_kit::Version;

/// Whether `line` is a valid frame, remembering CALLs in `pending`.
fn check(line: &str, pending: &mut HashMap<String, Action>, options: &DecodeOptions) -> bool {
    let Ok(frame) = Frame::parse(line, Version::V2_0_1) else {
        return false;
    };
    match frame {
        Frame::Call {
            id,
            action,
            payload,
        } => {
            if !id.is_conforming() {
                return false;
            }
            let Some(action) = Action::from_wire(&action) else {
                return false;
            };
            pending.insert(id.as_str().to_owned(), action);
            // The request of an action either side may send: whichever enum has it.
            CsRequest::decode(action, &payload, options).is_ok()
                || CsmsRequest::decode(action, &payload, options).is_ok()
        }
        Frame::CallResult { id, payload } => match pending.remove(id.as_str()) {
            Some(action) => {
                CsResponse::decode(action, &payload, options).is_ok()
                    || CsmsResponse::decode(action, &payload, options).is_ok()
            }
            None => false,
        },
        Frame::CallError { id, .. } => {
            pending.remove(id.as_str());
            true
        }
        _ => false,
    }
}

fn main() {
    let input: Box<dyn Read> = match std::env::args_os().nth(1) {
        Some(path) if path != "-" => Box::new(File::open(path).unwrap()),
        _ => Box::new(io::stdin().lock()),
    };
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let options = DecodeOptions::strict();
    let mut pending: HashMap<String, Action> = HashMap::new();
    let (mut valid, mut invalid) = (0u64, 0u64);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).unwrap() == 0 {
            break;
        }
        let text = match std::str::from_utf8(&line) {
            Ok(text) => text.trim_end_matches(['\n', '\r']),
            Err(_) => {
                invalid += 1;
                continue;
            }
        };
        if text.trim_matches([' ', '\t']).is_empty() {
            continue;
        }
        if check(text, &mut pending, &options) {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    println!(
        "{} frames: {valid} valid, {invalid} invalid",
        valid + invalid
    );
}
