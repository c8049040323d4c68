//! An OCPP 2.0.1, 2.1 or 1.6 charging station that has its certificate signed by the CSMS and
//! charges once.
//!
//! ```text
//! cargo run -p ocpp-examples --example charging-station -- --url ws://127.0.0.1:9000/CS001
//! cargo run -p ocpp-examples --example charging-station -- --url ws://127.0.0.1:9000/CP001 \
//!     --ocpp 1.6 --exit-after-session
//! cargo run -p ocpp-examples --example charging-station -- --url ws://127.0.0.1:9000/CS021 \
//!     --ocpp 2.1
//! cargo run -p ocpp-examples --example charging-station -- --url wss://localhost:9443/CS001 \
//!     --security-profile 2 --password 0123456789abcdef --ca-cert ca.pem
//! cargo run -p ocpp-examples --example charging-station -- --url wss://localhost:9443/CS001 \
//!     --security-profile 3 --ca-cert ca.pem --cert cs001.pem --key cs001-key.pem
//! ```
//!
//! The last path segment of `--url` is the station's identity. Security profiles
//! (`--security-profile`, 0 by default: no authentication): 1 sends HTTP Basic with
//! `--password` over `ws://`, 2 over `wss://`, trusting the CSMS's certificate if it chains to
//! `--ca-cert`; 3 presents the client certificate `--cert` (CN = identity) with its key
//! `--key` over `wss://`. A refused connection (HTTP 401, a TLS failure) ends the station with
//! exit status 1.
//!
//! It boots, reports its connector Available, sends a CSR for a new key in SignCertificate,
//! checks the chain the CSMS sends back in CertificateSigned (Accepted only if it certifies
//! that key), reports a security event, sends a heartbeat (`--exit-after-certificate` stops
//! here), charges once (Authorize, a transaction with a meter reading, in each version's
//! messages), sends a DataTransfer, in 2.1 sends the session's meter readings as a periodic
//! event stream (OpenPeriodicEventStream, one NotifyPeriodicEventStream SEND,
//! ClosePeriodicEventStream; `--exit-after-session` stops here), then sends heartbeats until
//! interrupted. `--ocpp` picks the versions to offer (2.0.1 then 1.6 by default; 2.1 when
//! asked for).
//! Exit status 0 when all went well, 1 otherwise. The steps are in `ocpp_examples::station`.
//!
//! With `--state-dir DIR --transactions N` it runs N charging sessions in OCPP 2.0.1 instead,
//! keeping its state in `DIR/station.db`: every TransactionEvent is stored before it is sent,
//! events while the CSMS is unreachable carry `offline: true`, unanswered ones are retried
//! (`--message-attempts`, `--retry-interval`), and a restart with the same command line (after
//! `kill -9`, say) goes on where it stopped (`ocpp_examples::station::durable`). Its
//! credentials live there too: a password the CSMS sets (SetVariables
//! `SecurityCtrlr.BasicAuthPassword`) and a certificate it renews (TriggerMessage
//! `SignChargingStationCertificate`, then SignCertificate and CertificateSigned, profile 3)
//! are used at once and after a restart, in place of `--password` or `--cert`/`--key`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ocpp_examples::frame_log::FrameLog;
use ocpp_examples::profiles::ClientSecurity;
use ocpp_examples::protocol::{DEFAULT_OFFER, SUPPORTED_VERSIONS};
use ocpp_examples::station::{self, Stage, StationConfig};
use ocpp_messages::OcppVersion;

/// An OCPP charging station that boots, has its certificate signed, charges once and sends
/// heartbeats.
#[derive(Debug, Parser)]
struct Args {
    /// The CSMS URL ending in this station's identity, e.g. ws://127.0.0.1:9000/CS001.
    #[arg(long)]
    url: String,
    /// The organization (O=) in the CSR: the CPO's name.
    #[arg(long, default_value = "Example CPO")]
    organization: String,
    /// The OCPP version to offer (1.6, 2.0.1 or 2.1); repeat to offer several, in order of
    /// preference. Default: 2.0.1, then 1.6.
    #[arg(long = "ocpp", value_name = "VERSION")]
    versions: Vec<OcppVersion>,
    /// The id tag to charge with (at most 20 characters).
    #[arg(long, default_value = "EXAMPLE-TAG-1")]
    id_tag: String,
    /// Stop after the certificate exchange (exit status 0 if the certificate was accepted).
    #[arg(long, conflicts_with = "exit_after_session")]
    exit_after_certificate: bool,
    /// Stop after the charging session and the DataTransfer.
    #[arg(long)]
    exit_after_session: bool,
    /// Also write the raw frames, one per line, to this file (`-`: standard output).
    #[arg(long, value_name = "PATH")]
    frame_log: Option<String>,
    /// How long to wait for each answer and for the certificate, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    timeout: u64,
    /// The security profile: 0 (no authentication), 1 (ws://, HTTP Basic), 2 (wss://, HTTP
    /// Basic) or 3 (wss://, a client certificate: --cert and --key).
    #[arg(long, default_value_t = 0, value_name = "0|1|2|3",
          value_parser = clap::value_parser!(u8).range(0..=3))]
    security_profile: u8,
    /// The HTTP Basic password (profiles 1 and 2).
    #[arg(long, value_name = "PASSWORD")]
    password: Option<String>,
    /// The trust anchor(s) for the CSMS's TLS certificate (PEM; profiles 2 and 3).
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// The station's TLS client certificate chain (PEM, leaf first, CN = identity; profile 3).
    #[arg(long, requires = "key", value_name = "PEM")]
    cert: Option<PathBuf>,
    /// The station's private key (PEM; profile 3).
    #[arg(long, requires = "cert", value_name = "PEM")]
    key: Option<PathBuf>,
    /// Keep the station's state here (DIR/station.db) and run --transactions charging
    /// sessions in OCPP 2.0.1 whose messages survive outages and restarts, instead of the
    /// script.
    #[arg(long, value_name = "DIR", requires = "transactions")]
    state_dir: Option<PathBuf>,
    /// With --state-dir: how many transactions to run.
    #[arg(long, value_name = "N")]
    transactions: Option<u32>,
    /// With --state-dir: the Updated events of each transaction.
    #[arg(long, default_value_t = 2, value_name = "N")]
    meter_updates: u32,
    /// With --state-dir: the time between two events, in milliseconds.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    event_interval_ms: u64,
    /// With --state-dir: attempts per TransactionEvent (OCPPCommCtrlr.MessageAttempts).
    #[arg(long, default_value_t = 3, value_name = "N")]
    message_attempts: u32,
    /// With --state-dir: seconds after a failed attempt, times the attempts so far
    /// (OCPPCommCtrlr.MessageAttemptInterval).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    retry_interval: u64,
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn security(args: &Args) -> Result<ClientSecurity, String> {
    let certificate = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
        _ => None,
    };
    Ok(ClientSecurity {
        profile: args.security_profile,
        password: args.password.clone(),
        ca: args.ca_cert.as_ref().map(read).transpose()?,
        certificate,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    ocpp_examples::init_tracing();
    let args = Args::parse();
    let log = match &args.frame_log {
        Some(path) => match FrameLog::open(path) {
            Ok(log) => log,
            Err(e) => {
                tracing::error!("{path}: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => FrameLog::tracing_only(),
    };
    let security = match security(&args) {
        Ok(security) => security,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let timeout = Duration::from_secs(args.timeout);
    let versions = if args.versions.is_empty() {
        DEFAULT_OFFER.to_vec()
    } else {
        args.versions
    };
    if let Some(v) = versions.iter().find(|v| !SUPPORTED_VERSIONS.contains(v)) {
        tracing::error!("this station does not speak OCPP {v}");
        return ExitCode::FAILURE;
    }
    let exit_after = match (args.exit_after_certificate, args.exit_after_session) {
        (true, _) => Some(Stage::Certificate),
        (_, true) => Some(Stage::Session),
        _ => None,
    };
    let config = StationConfig {
        organization: args.organization,
        versions,
        id_tag: args.id_tag,
        exit_after,
        call_timeout: timeout,
        certificate_timeout: timeout,
        log,
        security,
        ..StationConfig::new(args.url)
    };
    if let (Some(state_dir), Some(transactions)) = (args.state_dir, args.transactions) {
        let durable = station::durable::DurableConfig {
            state_dir,
            transactions,
            updates: args.meter_updates,
            event_interval: Duration::from_millis(args.event_interval_ms),
            message_attempts: args.message_attempts,
            retry_interval: Duration::from_secs(args.retry_interval),
        };
        return match station::durable::run(config, durable).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let interrupted = async {
        // If the signal cannot be listened for, run until the script ends.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    match station::run(config, interrupted).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
