//! What the tests that run the example binaries share.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

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

/// A CA, and the CSMS's certificate for `localhost`, in PEM.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    /// The CA's private key, PEM.
    pub ca_key_pem: String,
    /// The CSMS's certificate chain for `localhost` and its key, PEM.
    pub server: (Vec<u8>, Vec<u8>),
}

impl Pki {
    /// A new CA named `name`, and the CSMS's certificate.
    pub fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let ca_key_pem = key.serialize_pem();
        let ca = CertifiedIssuer::self_signed(params, key).unwrap();
        let mut pki = Pki {
            ca,
            ca_key_pem,
            server: (Vec::new(), Vec::new()),
        };
        pki.server = pki.leaf("localhost", &["localhost"]);
        pki
    }

    /// The CA's certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A certificate chain (leaf, CA) for `common_name` and its key, PEM.
    pub fn leaf(&self, common_name: &str, names: &[&str]) -> (Vec<u8>, Vec<u8>) {
        self.leaf_until(common_name, names, None)
    }

    /// [`Pki::leaf`], valid until `not_after` when given.
    pub fn leaf_until(
        &self,
        common_name: &str,
        names: &[&str],
        not_after: Option<time::OffsetDateTime>,
    ) -> (Vec<u8>, Vec<u8>) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if let Some(not_after) = not_after {
            params.not_before = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
            params.not_after = not_after;
        }
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.ca).unwrap();
        (
            (certificate.pem() + &self.ca_pem()).into_bytes(),
            key.serialize_pem().into_bytes(),
        )
    }
}

/// Starts `command` (an example binary) with `RUST_LOG=info`, its standard error appended to
/// `log`, its standard output dropped.
pub fn spawn_logged(command: &mut Command, log: &std::path::Path) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    command
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits until `condition` holds, or fails with `what` and the end of `log`.
pub async fn wait_for(what: &str, log: &std::path::Path, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within 30 s\n--- station log ---\n{}",
            tail(log, 40)
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Waits (at most 60 s) for `station` to exit, and fails unless it succeeded.
pub async fn wait_success(station: &mut std::process::Child, log: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = station.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the station did not finish\n{}",
            tail(log, 40)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        status.success(),
        "the station failed: {status}\n{}",
        tail(log, 40)
    );
}
