//! Logging every frame in and out: a readable `tracing` line, and optionally the raw frames,
//! one per line, in the input format of `ocpp validate`.
//!
//! ```text
//! cargo run -p ocpp-examples --example csms -- --frame-log csms-frames.log
//! cargo run -p ocpp-cli -- validate --ocpp 2.0.1 csms-frames.log
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the peer.
    In,
    /// Sent to the peer.
    Out,
}

impl From<ocpp_connection::connection::Direction> for Direction {
    fn from(direction: ocpp_connection::connection::Direction) -> Self {
        match direction {
            ocpp_connection::connection::Direction::Received => Direction::In,
            ocpp_connection::connection::Direction::Sent => Direction::Out,
        }
    }
}

impl Direction {
    /// `<-` for received frames, `->` for sent ones, as shown in the readable log.
    pub const fn arrow(self) -> &'static str {
        match self {
            Direction::In => "<-",
            Direction::Out => "->",
        }
    }
}

/// The placeholder that makes a frame log path a template: one file per charging station.
pub const STATION_PLACEHOLDER: &str = "{station}";

/// Where raw frames go.
enum Target {
    /// Standard output (`-`).
    Stdout(io::Stdout),
    /// One file for every connection.
    File(File),
    /// One file per charging station: the path with [`STATION_PLACEHOLDER`] replaced.
    PerStation {
        template: String,
        files: HashMap<String, File>,
    },
}

/// Logs frames: always a `tracing` event at INFO level (target `ocpp::frame`, one line:
/// station, arrow, frame), and, when opened with a path, the raw frame on a line of its own.
///
/// Cheap to clone; clones write to the same place.
#[derive(Clone, Default)]
pub struct FrameLog {
    target: Option<Arc<Mutex<Target>>>,
}

impl std::fmt::Debug for FrameLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameLog")
            .field("raw", &self.target.is_some())
            .finish()
    }
}

impl FrameLog {
    /// A log that only emits `tracing` events.
    pub fn tracing_only() -> Self {
        FrameLog { target: None }
    }

    /// A log that also writes raw frames to `path`: `-` is standard output, a path containing
    /// `{station}` gives one file per charging station (created when its first frame is
    /// logged), any other path one file for all connections. Files are truncated.
    ///
    /// With one file for several stations, `ocpp validate` may pair a CALLRESULT with another
    /// station's CALL if two stations use the same message id; use `{station}` then.
    pub fn open(path: &str) -> io::Result<Self> {
        let target = if path == "-" {
            Target::Stdout(io::stdout())
        } else if path.contains(STATION_PLACEHOLDER) {
            Target::PerStation {
                template: path.to_owned(),
                files: HashMap::new(),
            }
        } else {
            Target::File(File::create(path)?)
        };
        Ok(FrameLog {
            target: Some(Arc::new(Mutex::new(target))),
        })
    }

    /// Logs one frame of the connection with `station`.
    pub fn record(&self, station: &str, direction: Direction, frame: &str) {
        let line = one_line(frame);
        tracing::info!(target: "ocpp::frame", "{station} {} {line}", direction.arrow());
        let Some(target) = &self.target else {
            return;
        };
        let result = match &mut *target.lock().unwrap_or_else(|e| e.into_inner()) {
            Target::Stdout(out) => write_line(&mut out.lock(), &line),
            Target::File(file) => write_line(file, &line),
            Target::PerStation { template, files } => {
                let file = match files.get_mut(station) {
                    Some(file) => Ok(file),
                    None => {
                        let path = PathBuf::from(
                            template.replace(STATION_PLACEHOLDER, &file_name_part(station)),
                        );
                        File::create(&path)
                            .map(|file| files.entry(station.to_owned()).or_insert(file))
                    }
                };
                file.and_then(|file| write_line(file, &line))
            }
        };
        if let Err(e) = result {
            tracing::warn!("cannot write the frame log: {e}");
        }
    }
}

fn write_line(out: &mut impl Write, line: &str) -> io::Result<()> {
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The frame on one line.
///
/// Inside a valid JSON text a raw line break can only be whitespace between tokens (line breaks
/// in strings must be escaped), so replacing each by a space keeps the frame's meaning; an
/// invalid frame stays invalid.
pub fn one_line(frame: &str) -> std::borrow::Cow<'_, str> {
    if frame.contains(['\n', '\r']) {
        frame.replace(['\n', '\r'], " ").into()
    } else {
        frame.into()
    }
}

/// A station identity made safe for a file name: anything but ASCII letters, digits, `-`, `_`
/// and `.` becomes `_`.
fn file_name_part(station: &str) -> String {
    station
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_written_one_per_line() {
        assert_eq!(
            one_line("[2,\r\n\"1\",\n\"Heartbeat\",{}]"),
            "[2,  \"1\", \"Heartbeat\",{}]"
        );
        assert_eq!(file_name_part("RDAM 123/../x"), "RDAM_123_.._x");

        let dir = std::env::temp_dir().join(format!("ocpp-frame-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let template = dir.join("{station}.log");
        let log = FrameLog::open(template.to_str().unwrap()).unwrap();
        log.record("CS 1", Direction::In, "[2,\"1\",\n\"Heartbeat\",{}]");
        log.record("CS 1", Direction::Out, "[3,\"1\",{}]");
        log.record("CS2", Direction::In, "x");
        let one = std::fs::read_to_string(dir.join("CS_1.log")).unwrap();
        assert_eq!(one, "[2,\"1\", \"Heartbeat\",{}]\n[3,\"1\",{}]\n");
        let two = std::fs::read_to_string(dir.join("CS2.log")).unwrap();
        assert_eq!(two, "x\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
