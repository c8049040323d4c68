//! The credential lifecycle end to end over real sockets (OCPP 2.0.1 A01, security profile 1):
//! the example CSMS changes the example station's password with SetVariables
//! `SecurityCtrlr.BasicAuthPassword`; the station (a separate process, `--state-dir`) stores
//! it, answers Accepted and reconnects with it; the CSMS's record follows, so the old password
//! is refused from then on. Killed with SIGKILL and restarted with its original command line
//! (the old password on it), the station connects with the stored one and finishes its
//! transactions, each event counted once.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ocpp_connection::client::{Client, ClientConfig, ConnectError};
use ocpp_connection::server::ServerEvent;
use ocpp_examples::csms::Csms;
use ocpp_examples::frame_log::FrameLog;
use ocpp_examples::pki::CertificateAuthority;
use ocpp_examples::profiles::{CsmsSecurity, Passwords};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::{OcppVersion, Role};

const IDENTITY: &str = "CS-A01";
const FIRST: &str = "first-password-0123";
const SECOND: &str = "second-password-4567";
const TRANSACTIONS: u32 = 4;
const UPDATES: u32 = 2;

fn spawn_station(binary: &Path, port: u16, state: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(binary)
        .args(["--url", &format!("ws://127.0.0.1:{port}/{IDENTITY}")])
        .args(["--security-profile", "1", "--password", FIRST])
        .arg("--state-dir")
        .arg(state)
        .args(["--transactions", &TRANSACTIONS.to_string()])
        .args(["--meter-updates", &UPDATES.to_string()])
        .args(["--event-interval-ms", "400", "--retry-interval", "1"])
        .args(["--message-attempts", "50", "--timeout", "2"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Waits until `condition` holds, or fails with `what` and the station's log.
async fn wait_for(what: &str, log: &Path, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within 30 s\n--- station log ---\n{}",
            support::tail(log, 40)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether a station offering 2.0.1 with `password` gets in (`Err` with the HTTP status if not).
async fn try_password(port: u16, password: &str) -> Result<(), u16> {
    let config = ClientConfig::new(format!("ws://127.0.0.1:{port}"), IDENTITY)
        .offer(Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation))
        .with_password(password);
    match Client::connect(config).await {
        Ok(client) => {
            client.close().await;
            Ok(())
        }
        Err(ConnectError::Refused { status }) => Err(status),
        Err(other) => panic!("unexpected: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_is_stored_used_at_once_and_after_a_kill_9() {
    let dir = std::env::temp_dir().join(format!("ocpp-a01-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (state, log) = (dir.join("state"), dir.join("station.log"));

    let passwords: Passwords = [(IDENTITY, FIRST)].into_iter().collect();
    let ca = CertificateAuthority::generate("A01 test CA").unwrap();
    let csms = Arc::new(Csms::new(ca, FrameLog::tracing_only()).with_passwords(passwords.clone()));
    let security = CsmsSecurity {
        profile: 1,
        passwords: passwords.clone(),
        ..CsmsSecurity::default()
    };
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    let config = security
        .apply(csms.server_config())
        .unwrap()
        .on_event(move |station, event| {
            if station == IDENTITY && matches!(event, ServerEvent::Connected { .. }) {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
    let port = support::free_port();
    let server = csms.bind(("127.0.0.1", port), config).await.unwrap();

    let binary = support::station_binary();
    let mut station = spawn_station(&binary, port, &state, &log);
    wait_for("the station connects", &log, || {
        connections.load(Ordering::SeqCst) == 1
    })
    .await;
    // Let it boot and store an event or two.
    tokio::time::sleep(Duration::from_millis(800)).await;

    // A01: the CSMS sets a new password; the station accepts it and reconnects with it.
    let answer = csms
        .set_basic_auth_password(IDENTITY, SECOND)
        .await
        .unwrap();
    assert_eq!(answer, "Accepted");
    assert_eq!(passwords.get(IDENTITY).as_deref(), Some(SECOND));
    wait_for("the station reconnects with the new password", &log, || {
        connections.load(Ordering::SeqCst) == 2
    })
    .await;
    // The record follows: the old password is refused, the new one is not.
    assert_eq!(try_password(port, FIRST).await, Err(401));
    // A password too short for 2.0.1 is rejected by the station, the record unchanged.
    let answer = csms
        .set_basic_auth_password(IDENTITY, "short")
        .await
        .unwrap();
    assert_eq!(answer, "Rejected");
    assert_eq!(passwords.get(IDENTITY).as_deref(), Some(SECOND));

    // kill -9, then the original command line (the old password on it).
    station.kill().unwrap();
    station.wait().unwrap();
    let before = connections.load(Ordering::SeqCst);
    let mut station = spawn_station(&binary, port, &state, &log);
    wait_for(
        "the restarted station connects with the stored password",
        &log,
        || connections.load(Ordering::SeqCst) > before,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = station.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the station did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        status.success(),
        "the station failed: {status}\n{}",
        support::tail(&log, 40)
    );
    let transactions = csms.sessions().transactions(IDENTITY);
    assert_eq!(
        transactions.len(),
        TRANSACTIONS as usize,
        "{transactions:#?}"
    );
    for transaction in &transactions {
        assert!(!transaction.is_ongoing(), "{transaction:?}");
        assert_eq!(transaction.events, UPDATES + 2, "{transaction:?}");
    }
    server.shutdown(Duration::from_millis(200)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
