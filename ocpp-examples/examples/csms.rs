//! An OCPP CSMS for 1.6, 2.0.1 and 2.1 stations at once: it records their charging sessions
//! (and the periodic event streams of 2.1) and signs their certificates.
//!
//! ```text
//! cargo run -p ocpp-examples --example csms -- --listen 127.0.0.1:9000
//! cargo run -p ocpp-examples --example csms -- --listen 127.0.0.1:9000 \
//!     --ca-cert ca.pem --ca-key ca-key.pem --frame-log frames.log
//! cargo run -p ocpp-examples --example csms -- --listen 127.0.0.1:9443 --security-profile 2 \
//!     --password CS001=0123456789abcdef --tls-cert csms.pem --tls-key csms-key.pem
//! cargo run -p ocpp-examples --example csms -- --listen 127.0.0.1:9443 --security-profile 3 \
//!     --tls-cert csms.pem --tls-key csms-key.pem --ca-cert ca.pem --ca-key ca-key.pem
//! ```
//!
//! Security profiles (`--security-profile`, 0 by default: `ws://` without authentication):
//! 1 is `ws://` with HTTP Basic, 2 the same over `wss://`, with the passwords of `--password
//! ID=PASSWORD` (a station without one, with a wrong one, without the header or with another
//! username gets HTTP 401); 3 is `wss://` with client certificates whose subject CN is the
//! station's identity, issued by the CA of `--ca-cert`/`--ca-key` (the one that signs the
//! stations' CSRs; without them a CA made at start, which no station can have a certificate
//! of yet). `--tls-cert` and `--tls-key` are the CSMS's PEM chain and key (profiles 2 and 3).
//!
//! Stations connect to `ws://127.0.0.1:9000/{chargingStationId}` offering `ocpp2.1`,
//! `ocpp2.0.1` or `ocpp1.6` (the first of theirs this CSMS speaks wins). Every frame in and out is
//! logged on standard error; with `--frame-log` the raw frames also go to a file (or `-`,
//! standard output), one per line, ready for `ocpp validate`. The handlers are in
//! `ocpp_examples::csms`.
//!
//! With `--admin-stdin` an operator (or a test) types commands to send the CSMS's own calls:
//! `set-password CS001 a-new-password-16+` changes a station's password (the record the
//! handshakes check follows when the station accepts), `renew-certificate CS001` has it renew
//! its certificate (SignCertificate, CertificateSigned follow), `upgrade-profile CS001 1 2
//! wss://localhost:9443` moves it to security profile 2 at another address (it reboots onto
//! it; it refuses a downgrade), `transactions CS001` lists
//! what was counted of its transactions (a retried TransactionEvent is counted once).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use ocpp_examples::csms::Csms;
use ocpp_examples::frame_log::FrameLog;
use ocpp_examples::pki::CertificateAuthority;
use ocpp_examples::profiles::{CsmsSecurity, Passwords};
use ocpp_examples::protocol::{offer, SUPPORTED_VERSIONS};
use tokio::io::{AsyncBufReadExt, BufReader};

/// An OCPP 1.6, 2.0.1 and 2.1 CSMS: answers boots, heartbeats, status, authorization,
/// transactions, meter values, DataTransfer and security events, records 2.1's periodic event
/// streams, and signs the CSRs of SignCertificate with its CA.
#[derive(Debug, Parser)]
struct Args {
    /// The address to listen on (port 0 picks a free port; the log says which).
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// The CA certificate (PEM; certificates above it may follow). Without it a CA is
    /// generated at start-up.
    #[arg(long, requires = "ca_key", value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// The CA's private key (PEM).
    #[arg(long, requires = "ca_cert", value_name = "PEM")]
    ca_key: Option<PathBuf>,
    /// Also write the raw frames, one per line, to this file (`-`: standard output; a path
    /// containing `{station}`: one file per charging station).
    #[arg(long, value_name = "PATH")]
    frame_log: Option<String>,
    /// The heartbeat interval given to stations at boot, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    heartbeat_interval: u64,
    /// An id tag to answer Blocked (repeat for several); every other one is accepted.
    #[arg(long, value_name = "ID_TAG")]
    block_id_tag: Vec<String>,
    /// The security profile: 0 (ws://, no authentication), 1 (ws://, HTTP Basic), 2 (wss://,
    /// HTTP Basic) or 3 (wss://, client certificates whose CN is the identity, signed by the
    /// CA of --ca-cert).
    #[arg(long, default_value_t = 0, value_name = "0|1|2|3",
          value_parser = clap::value_parser!(u8).range(0..=3))]
    security_profile: u8,
    /// A station's HTTP Basic password, as IDENTITY=PASSWORD (repeat for several; profiles 1
    /// and 2). A station without one gets HTTP 401.
    #[arg(long = "password", value_name = "ID=PASSWORD", value_parser = parse_password)]
    passwords: Vec<(String, String)>,
    /// The CSMS's TLS certificate chain (PEM, leaf first; profiles 2 and 3).
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    tls_cert: Option<PathBuf>,
    /// The CSMS's TLS private key (PEM).
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    tls_key: Option<PathBuf>,
    /// Read operator commands from standard input, one per line, and answer each on standard
    /// output: `set-password STATION PASSWORD` (SetVariables BasicAuthPassword; 1.6:
    /// ChangeConfiguration AuthorizationKey), `renew-certificate STATION` (TriggerMessage
    /// SignChargingStationCertificate; 1.6: ExtendedTriggerMessage SignChargePointCertificate),
    /// `upgrade-profile STATION SLOT PROFILE URL` (SetNetworkProfile, NetworkConfigurationPriority,
    /// Reset; 1.6: ChangeConfiguration SecurityProfile), `transactions STATION`.
    #[arg(long)]
    admin_stdin: bool,
}

fn parse_password(entry: &str) -> Result<(String, String), String> {
    let (identity, password) = entry.split_once('=').ok_or("expected IDENTITY=PASSWORD")?;
    if identity.is_empty() {
        return Err("the identity is empty".to_owned());
    }
    Ok((identity.to_owned(), password.to_owned()))
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

#[tokio::main]
async fn main() -> ExitCode {
    ocpp_examples::init_tracing();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let ca = match (&args.ca_cert, &args.ca_key) {
        (Some(cert), Some(key)) => {
            let read = |path: &PathBuf| {
                String::from_utf8(read(path)?).map_err(|e| format!("{}: {e}", path.display()))
            };
            let ca = CertificateAuthority::from_pem(&read(cert)?, &read(key)?)?;
            tracing::info!("signing CSRs with the CA {}", ca.subject());
            ca
        }
        _ => {
            let ca = CertificateAuthority::generate("ocpp-rs example CSMS CA")?;
            tracing::info!(
                "signing CSRs with {}, a CA made for this run (--ca-cert/--ca-key load one)",
                ca.subject()
            );
            tracing::debug!("the CA certificate:\n{}", ca.certificate_pem().trim_end());
            ca
        }
    };
    let log = match &args.frame_log {
        Some(path) => FrameLog::open(path).map_err(|e| format!("{path}: {e}"))?,
        None => FrameLog::tracing_only(),
    };
    // One record of passwords: the handshakes read it, set-password writes it.
    let passwords: Passwords = args.passwords.into_iter().collect();
    let csms = args.block_id_tag.iter().fold(
        Csms::new(ca, log)
            .with_heartbeat_interval(Duration::from_secs(args.heartbeat_interval))
            .with_passwords(passwords.clone()),
        |csms, tag| csms.with_blocked_id_tag(tag),
    );
    let csms = Arc::new(csms);

    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
        _ => None,
    };
    let security = CsmsSecurity {
        profile: args.security_profile,
        passwords,
        tls,
        // Profile 3: station certificates chain to the CA that signs their CSRs.
        client_ca: Some(csms.ca().certificate_pem().as_bytes().to_vec()),
    };
    let scheme = if security.uses_tls() { "wss" } else { "ws" };
    let config = security.apply(csms.server_config())?;
    let server = csms.bind(args.listen, config).await?;
    tracing::info!(
        "listening on {scheme}://{}/{{chargingStationId}}, speaking {}, security profile {}",
        server.local_addr(),
        offer(SUPPORTED_VERSIONS),
        args.security_profile
    );
    if args.admin_stdin {
        let csms = Arc::clone(&csms);
        tokio::spawn(async move {
            let mut lines = BufReader::new(tokio::io::stdin()).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let answer = csms.command(&line).await;
                if !answer.is_empty() {
                    println!("{answer}");
                }
            }
        });
    }
    tokio::signal::ctrl_c().await?;
    tracing::info!("interrupted, stopping");
    server.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
