//! What the tests that run the example binaries share.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The example charging station's binary: `OCPP_STATION_BINARY`, or the one built beside this
/// test (built now if missing).
pub fn station_binary() -> PathBuf {
    if let Some(binary) = std::env::var_os("OCPP_STATION_BINARY") {
        return binary.into();
    }
    // target/<profile>/deps/<test>-<hash> → target/<profile>/examples/charging-station
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().unwrap().parent().unwrap();
    let binary = profile.join("examples").join("charging-station");
    if !binary.exists() {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "ocpp-examples",
                "--example",
                "charging-station",
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }
    binary
}

/// A free port on 127.0.0.1 (free when asked; bind it soon).
pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// The last `n` lines of the file at `path` (empty if it cannot be read).
pub fn tail(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
