//! The credential lifecycle end to end over real sockets (OCPP 2.0.1 A01, security profile 1):
//! the example CSMS changes the example station's password with SetVariables
//! `SecurityCtrlr.BasicAuthPassword`; the station (a separate process, `--state-dir`) stores
//! it, answers Accepted and reconnects with it; the CSMS's record follows, so the old password
//! is refused from then on. Killed with SIGKILL and restarted with its original command line
//! (the old password on it), the station connects with the stored one and finishes its
//! transactions, each event counted once.
//!
//! The same for certificates (A02/A03, security profile 3): TriggerMessage
//! `SignChargingStationCertificate` → SignCertificate with a new key's CSR → CertificateSigned
//! → the chain checked against the key and the station's trust anchors, stored, Accepted, and
//! the station reconnects with it; restarted after SIGKILL with its original command line
//! (the old certificate, expired meanwhile), it connects with the new one. A chain from a CA
//! the station does not trust is Rejected, and the station stays on its certificate.
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ocpp_connection::client::{Client, ClientConfig, ConnectError};
use ocpp_connection::connection::Direction;
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
    let mut command = Command::new(binary);
    command
        .args(["--url", &format!("ws://127.0.0.1:{port}/{IDENTITY}")])
        .args(["--security-profile", "1", "--password", FIRST])
        .arg("--state-dir")
        .arg(state)
        .args(["--transactions", &TRANSACTIONS.to_string()])
        .args(["--meter-updates", &UPDATES.to_string()])
        .args(["--event-interval-ms", "400", "--retry-interval", "1"])
        .args(["--message-attempts", "50", "--timeout", "2"]);
    support::spawn_logged(&mut command, log)
}

/// Waits until `condition` holds, or fails with `what` and the station's log.
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
    support::wait_for("the station connects", &log, || {
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
    support::wait_for("the station reconnects with the new password", &log, || {
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
    support::wait_for(
        "the restarted station connects with the stored password",
        &log,
        || connections.load(Ordering::SeqCst) > before,
    )
    .await;
    support::wait_success(&mut station, &log).await;
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

const RENEWING: &str = "CS-A02";

/// A CSMS in profile 3 (`pki`'s server certificate, station certificates from `pki`'s CA)
/// whose own CA (the one that signs CSRs) is `signer`; counts the station's connections and
/// keeps every frame.
async fn start_renewing_csms(
    pki: &support::Pki,
    signer: CertificateAuthority,
) -> (
    Arc<Csms>,
    ocpp_connection::server::Server,
    Arc<AtomicUsize>,
    Arc<Mutex<Frames>>,
) {
    let csms = Arc::new(Csms::new(signer, FrameLog::tracing_only()));
    let security = CsmsSecurity {
        profile: 3,
        tls: Some(pki.server.clone()),
        client_ca: Some(pki.ca_pem().into_bytes()),
        ..CsmsSecurity::default()
    };
    let connections = Arc::new(AtomicUsize::new(0));
    let frames = Arc::new(Mutex::new(Vec::new()));
    let (counted, kept) = (Arc::clone(&connections), Arc::clone(&frames));
    let config = security
        .apply(csms.server_config())
        .unwrap()
        .on_event(move |station, event| {
            if station == RENEWING && matches!(event, ServerEvent::Connected { .. }) {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        })
        .on_frame(move |_, direction, text| {
            let received = direction == Direction::Received;
            kept.lock().unwrap().push((received, text.to_owned()));
        });
    let server = csms.bind("127.0.0.1:0", config).await.unwrap();
    (csms, server, connections, frames)
}

/// The frames of the station's connections: whether received, and the text.
type Frames = Vec<(bool, String)>;

/// The status the station answered our CertificateSigned with, once it has.
fn certificate_signed_status(frames: &Mutex<Frames>) -> Option<String> {
    let frames = frames.lock().unwrap();
    let parsed: Vec<(bool, serde_json::Value)> = frames
        .iter()
        .filter_map(|(received, f)| Some((*received, serde_json::from_str(f).ok()?)))
        .collect();
    let id = parsed
        .iter()
        .find(|(received, f)| !received && f[0] == 2 && f[2] == "CertificateSigned")?
        .1[1]
        .clone();
    let (_, answer) = parsed
        .iter()
        .find(|(received, f)| *received && f[0] == 3 && f[1] == id)?;
    answer[2]["status"].as_str().map(str::to_owned)
}

fn spawn_renewing_station(
    binary: &Path,
    version: &str,
    port: u16,
    dir: &Path,
    log: &Path,
) -> Child {
    let mut command = Command::new(binary);
    command
        .args(["--url", &format!("wss://localhost:{port}/{RENEWING}")])
        .args(["--ocpp", version])
        .args(["--security-profile", "3"])
        .arg("--ca-cert")
        .arg(dir.join("ca.pem"))
        .arg("--cert")
        .arg(dir.join("station.pem"))
        .arg("--key")
        .arg(dir.join("station-key.pem"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(["--transactions", &TRANSACTIONS.to_string()])
        .args(["--meter-updates", &UPDATES.to_string()])
        .args(["--event-interval-ms", "400", "--retry-interval", "1"])
        .args(["--message-attempts", "50", "--timeout", "2"]);
    support::spawn_logged(&mut command, log)
}

/// A directory with `pki`'s CA and a station certificate valid for `lifetime`.
fn renewal_dir(name: &str, pki: &support::Pki, lifetime: Duration) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ocpp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let until = time::OffsetDateTime::now_utc() + lifetime;
    let (chain, key) = pki.leaf_until(RENEWING, &[], Some(until));
    std::fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
    std::fs::write(dir.join("station.pem"), chain).unwrap();
    std::fs::write(dir.join("station-key.pem"), key).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_stored_used_at_once_and_after_a_kill_9() {
    renewal("2.0.1").await;
}

/// The same in 1.6: ExtendedTriggerMessage `SignChargePointCertificate`, the security
/// extension's SignCertificate and CertificateSigned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_stored_used_at_once_and_after_a_kill_9_in_1_6() {
    renewal("1.6").await;
}

async fn renewal(version: &str) {
    let pki = support::Pki::new("A02 test CA");
    let signer = CertificateAuthority::from_pem(&pki.ca_pem(), &pki.ca_key_pem).unwrap();
    let (csms, server, connections, frames) = start_renewing_csms(&pki, signer).await;
    let port = server.local_addr().port();
    // The first certificate expires soon: after it, only the renewed one gets in.
    let lifetime = Duration::from_secs(10);
    let expires = Instant::now() + lifetime;
    let dir = renewal_dir(&format!("a02-{version}"), &pki, lifetime);
    let log = dir.join("station.log");

    let binary = support::station_binary();
    let mut station = spawn_renewing_station(&binary, version, port, &dir, &log);
    support::wait_for("the station connects", &log, || {
        connections.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(csms.renew_certificate(RENEWING).await.unwrap(), "Accepted");
    support::wait_for("the station accepts the chain", &log, || {
        certificate_signed_status(&frames).is_some()
    })
    .await;
    assert_eq!(
        certificate_signed_status(&frames).as_deref(),
        Some("Accepted")
    );
    support::wait_for(
        "the station reconnects with the new certificate",
        &log,
        || connections.load(Ordering::SeqCst) == 2,
    )
    .await;
    support::wait_for("the renewed certificate is stored", &log, || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("connected with the renewed certificate")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // kill -9; restarted once the first certificate has expired, with it on the command line.
    station.kill().unwrap();
    station.wait().unwrap();
    let wait = expires.saturating_duration_since(Instant::now()) + Duration::from_secs(1);
    tokio::time::sleep(wait).await;
    let before = connections.load(Ordering::SeqCst);
    let mut station = spawn_renewing_station(&binary, version, port, &dir, &log);
    support::wait_for(
        "the restarted station connects with the stored certificate",
        &log,
        || connections.load(Ordering::SeqCst) > before,
    )
    .await;
    support::wait_success(&mut station, &log).await;
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("using the certificate the CSMS last signed"),
        "{}",
        support::tail(&log, 40)
    );
    let transactions = csms.sessions().transactions(RENEWING);
    assert_eq!(
        transactions.len(),
        TRANSACTIONS as usize,
        "{transactions:#?}"
    );
    for transaction in &transactions {
        assert!(!transaction.is_ongoing(), "{transaction:?}");
        let last = 10_000.0 + 500.0 * f64::from(UPDATES + 1);
        assert_eq!(transaction.meter_last_wh, Some(last), "{transaction:?}");
        if version != "1.6" {
            // 2.x events are counted by seqNo (1.6 has none).
            assert_eq!(transaction.events, UPDATES + 2, "{transaction:?}");
        }
    }
    server.shutdown(Duration::from_millis(200)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_from_an_untrusted_ca_is_rejected_and_the_certificate_kept() {
    let pki = support::Pki::new("A03 test CA");
    // The CSMS signs with a CA the station does not trust.
    let signer = CertificateAuthority::generate("a stranger CA").unwrap();
    let (csms, server, connections, frames) = start_renewing_csms(&pki, signer).await;
    let port = server.local_addr().port();
    let dir = renewal_dir("a03", &pki, Duration::from_secs(3600));
    let log = dir.join("station.log");
    let mut station = spawn_renewing_station(&support::station_binary(), "2.0.1", port, &dir, &log);
    support::wait_for("the station connects", &log, || {
        connections.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(csms.renew_certificate(RENEWING).await.unwrap(), "Accepted");
    support::wait_for("the station answers the chain", &log, || {
        certificate_signed_status(&frames).is_some()
    })
    .await;
    assert_eq!(
        certificate_signed_status(&frames).as_deref(),
        Some("Rejected")
    );
    // No reconnection: the connection and its certificate stay.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    assert!(csms.peer(RENEWING).is_some());
    station.kill().unwrap();
    station.wait().unwrap();
    server.shutdown(Duration::from_millis(200)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

const UPGRADING: &str = "CS-A05";
const UPGRADE_PASSWORD: &str = "upgrade-password-0123";

/// A CSMS for `UPGRADING` in `profile` (1: `ws://`, 2: `wss://` with `pki`'s certificate),
/// checking `passwords`; counts the station's connections.
async fn start_profile_csms(
    pki: &support::Pki,
    profile: u8,
    passwords: &Passwords,
) -> (Arc<Csms>, ocpp_connection::server::Server, Arc<AtomicUsize>) {
    let ca = CertificateAuthority::from_pem(&pki.ca_pem(), &pki.ca_key_pem).unwrap();
    let csms = Arc::new(Csms::new(ca, FrameLog::tracing_only()).with_passwords(passwords.clone()));
    let security = CsmsSecurity {
        profile,
        passwords: passwords.clone(),
        tls: (profile >= 2).then(|| pki.server.clone()),
        ..CsmsSecurity::default()
    };
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    let config = security
        .apply(csms.server_config())
        .unwrap()
        .on_event(move |station, event| {
            if station == UPGRADING && matches!(event, ServerEvent::Connected { .. }) {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
    let server = csms.bind("127.0.0.1:0", config).await.unwrap();
    (csms, server, connections)
}

fn spawn_upgrading_station(binary: &Path, port: u16, dir: &Path, log: &Path) -> Child {
    let mut command = Command::new(binary);
    command
        .args(["--url", &format!("ws://127.0.0.1:{port}/{UPGRADING}")])
        .args(["--security-profile", "1", "--password", UPGRADE_PASSWORD])
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

fn upgrade_dir(name: &str, pki: &support::Pki) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ocpp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_profile_upgrade_holds_after_a_kill_9_and_a_downgrade_is_refused() {
    let pki = support::Pki::new("A05 test CA");
    let passwords: Passwords = [(UPGRADING, UPGRADE_PASSWORD)].into_iter().collect();
    let (plain, plain_server, plain_connections) = start_profile_csms(&pki, 1, &passwords).await;
    let (tls, tls_server, tls_connections) = start_profile_csms(&pki, 2, &passwords).await;
    let dir = upgrade_dir("a05", &pki);
    let log = dir.join("station.log");
    let binary = support::station_binary();
    let plain_port = plain_server.local_addr().port();
    let mut station = spawn_upgrading_station(&binary, plain_port, &dir, &log);
    support::wait_for("the station connects in profile 1", &log, || {
        plain_connections.load(Ordering::SeqCst) == 1
    })
    .await;

    // Not a profile: refused, nothing changes.
    let answer = plain
        .upgrade_security_profile(UPGRADING, 1, 0, "ws://127.0.0.1:1")
        .await
        .unwrap();
    assert_eq!(answer, "SetNetworkProfile Rejected");
    // Profile 2 at the TLS CSMS: stored, made the priority, and the station reboots onto it.
    let url = format!("wss://localhost:{}", tls_server.local_addr().port());
    let answer = plain
        .upgrade_security_profile(UPGRADING, 1, 2, &url)
        .await
        .unwrap();
    assert!(
        answer.starts_with(
            "SetNetworkProfile Accepted, NetworkConfigurationPriority RebootRequired, Reset "
        ),
        "{answer}"
    );
    support::wait_for("the station reboots onto profile 2", &log, || {
        tls_connections.load(Ordering::SeqCst) == 1
    })
    .await;
    // A downgrade is refused.
    let back = format!("ws://127.0.0.1:{plain_port}");
    let answer = tls
        .upgrade_security_profile(UPGRADING, 2, 1, &back)
        .await
        .unwrap();
    assert_eq!(answer, "SetNetworkProfile Rejected");

    // kill -9, then the original command line (profile 1, the plain CSMS): profile 2 holds.
    station.kill().unwrap();
    station.wait().unwrap();
    let mut station = spawn_upgrading_station(&binary, plain_port, &dir, &log);
    support::wait_for("the restarted station connects in profile 2", &log, || {
        tls_connections.load(Ordering::SeqCst) == 2
    })
    .await;
    support::wait_success(&mut station, &log).await;
    assert_eq!(plain_connections.load(Ordering::SeqCst), 1);
    // Every transaction ended, at one CSMS or the other.
    let mut ended: Vec<String> = plain
        .sessions()
        .transactions(UPGRADING)
        .into_iter()
        .chain(tls.sessions().transactions(UPGRADING))
        .filter(|t| !t.is_ongoing())
        .map(|t| t.id)
        .collect();
    ended.sort();
    ended.dedup();
    assert_eq!(ended.len(), TRANSACTIONS as usize, "{ended:?}");
    plain_server.shutdown(Duration::from_millis(200)).await;
    tls_server.shutdown(Duration::from_millis(200)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_profile_that_does_not_connect_falls_back_to_the_previous_one() {
    let pki = support::Pki::new("A05 fallback CA");
    let passwords: Passwords = [(UPGRADING, UPGRADE_PASSWORD)].into_iter().collect();
    let (plain, plain_server, plain_connections) = start_profile_csms(&pki, 1, &passwords).await;
    let dir = upgrade_dir("a05-fallback", &pki);
    let log = dir.join("station.log");
    let mut station = spawn_upgrading_station(
        &support::station_binary(),
        plain_server.local_addr().port(),
        &dir,
        &log,
    );
    support::wait_for("the station connects in profile 1", &log, || {
        plain_connections.load(Ordering::SeqCst) == 1
    })
    .await;
    // Nobody listens there.
    let nowhere = format!("wss://localhost:{}", support::free_port());
    let answer = plain
        .upgrade_security_profile(UPGRADING, 1, 2, &nowhere)
        .await
        .unwrap();
    assert!(answer.starts_with("SetNetworkProfile Accepted"), "{answer}");
    support::wait_for("the station comes back in profile 1", &log, || {
        plain_connections.load(Ordering::SeqCst) == 2
    })
    .await;
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("back to the previous one"),
        "{}",
        support::tail(&log, 30)
    );
    station.kill().unwrap();
    station.wait().unwrap();
    plain_server.shutdown(Duration::from_millis(200)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
