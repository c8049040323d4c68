//! The durable example station in OCPP 1.6 against the example CSMS, over real sockets
//! (security profile 1): StartTransaction, MeterValues and StopTransaction stored before they
//! are sent, the later two with the transaction id the CSMS gave; ChangeConfiguration
//! `AuthorizationKey` stored and used at once and after a SIGKILL; ChangeConfiguration
//! `SecurityProfile` refused below the profile the station has, and a higher one it cannot
//! connect with given up for the previous one; ExtendedTriggerMessage
//! `SignChargePointCertificate` refused outside profile 3.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ocpp_connection::server::ServerEvent;
use ocpp_examples::csms::Csms;
use ocpp_examples::frame_log::FrameLog;
use ocpp_examples::pki::CertificateAuthority;
use ocpp_examples::profiles::{CsmsSecurity, Passwords};

const IDENTITY: &str = "CP-16";
const FIRST: &str = "first-key-0123456";
const SECOND: &str = "second-key-789abcd";
const TRANSACTIONS: u32 = 4;
const UPDATES: u32 = 2;

fn spawn_station(binary: &Path, port: u16, dir: &Path, log: &Path) -> Child {
    let mut command = Command::new(binary);
    command
        .args(["--url", &format!("ws://127.0.0.1:{port}/{IDENTITY}")])
        .args(["--ocpp", "1.6"])
        .args(["--security-profile", "1", "--password", FIRST])
        .arg("--ca-cert")
        .arg(dir.join("ca.pem"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(["--transactions", &TRANSACTIONS.to_string()])
        .args(["--meter-updates", &UPDATES.to_string()])
        .args(["--event-interval-ms", "400", "--retry-interval", "1"])
        .args(["--message-attempts", "50", "--timeout", "2"]);
    support::spawn_logged(&mut command, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_6_station_keeps_its_transactions_and_credentials_across_a_kill_9() {
    let dir = std::env::temp_dir().join(format!("ocpp-durable16-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("station.log");
    let pki = support::Pki::new("1.6 test CA");
    std::fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();

    let passwords: Passwords = [(IDENTITY, FIRST)].into_iter().collect();
    let ca = CertificateAuthority::generate("1.6 CSMS CA").unwrap();
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
    let server = csms.bind("127.0.0.1:0", config).await.unwrap();
    let port = server.local_addr().port();
    let binary = support::station_binary();
    let mut station = spawn_station(&binary, port, &dir, &log);
    support::wait_for("the station connects", &log, || {
        connections.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    // ChangeConfiguration AuthorizationKey: stored, the station reconnects with it.
    assert_eq!(
        csms.set_basic_auth_password(IDENTITY, SECOND)
            .await
            .unwrap(),
        "Accepted"
    );
    support::wait_for("the station reconnects with the new key", &log, || {
        connections.load(Ordering::SeqCst) == 2
    })
    .await;
    // SecurityProfile: lower is refused, the same changes nothing.
    let lower = csms
        .upgrade_security_profile(IDENTITY, 0, 0, "")
        .await
        .unwrap();
    assert_eq!(lower, "ChangeConfiguration SecurityProfile Rejected");
    let same = csms
        .upgrade_security_profile(IDENTITY, 0, 1, "")
        .await
        .unwrap();
    assert_eq!(same, "ChangeConfiguration SecurityProfile Accepted");
    // No certificate to renew outside profile 3.
    assert_eq!(csms.renew_certificate(IDENTITY).await.unwrap(), "Rejected");

    // kill -9, then the original command line (the first key on it).
    station.kill().unwrap();
    station.wait().unwrap();
    let mut station = spawn_station(&binary, port, &dir, &log);
    support::wait_for(
        "the restarted station connects with the stored key",
        &log,
        || connections.load(Ordering::SeqCst) == 3,
    )
    .await;
    // Profile 2 at this ws:// CSMS cannot connect: tried, then given up for profile 1.
    let higher = csms
        .upgrade_security_profile(IDENTITY, 0, 2, "")
        .await
        .unwrap();
    assert_eq!(higher, "ChangeConfiguration SecurityProfile Accepted");
    support::wait_for("the station comes back in profile 1", &log, || {
        connections.load(Ordering::SeqCst) == 4
    })
    .await;

    support::wait_success(&mut station, &log).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("back to the previous one"),
        "{}",
        support::tail(&log, 30)
    );
    // Each transaction once (a StartTransaction counted twice would make another), started
    // at the first reading, ended at the last, with the id the CSMS gave.
    let transactions = csms.sessions().transactions(IDENTITY);
    assert_eq!(
        transactions.len(),
        TRANSACTIONS as usize,
        "{transactions:#?}"
    );
    for transaction in &transactions {
        assert!(!transaction.is_ongoing(), "{transaction:?}");
        assert_eq!(
            transaction.meter_start_wh,
            Some(10_000.0),
            "{transaction:?}"
        );
        let last = 10_000.0 + 500.0 * f64::from(UPDATES + 1);
        assert_eq!(transaction.meter_last_wh, Some(last), "{transaction:?}");
        assert_eq!(transaction.stop_reason.as_deref(), Some("EVDisconnected"));
    }
    server.shutdown(Duration::from_millis(200)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
