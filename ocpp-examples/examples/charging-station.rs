//! An OCPP 2.0.1 charging station that has its certificate signed by the CSMS.
//!
//! ```text
//! cargo run -p ocpp-examples --example charging-station -- --url ws://127.0.0.1:9000/CS001
//! cargo run -p ocpp-examples --example charging-station -- --url ws://127.0.0.1:9000/CS001 \
//!     --exit-after-certificate
//! ```
//!
//! It boots, reports its connector Available, sends a CSR for a new key in SignCertificate,
//! checks the chain the CSMS sends back in CertificateSigned (Accepted only if it certifies
//! that key), reports a security event, then sends heartbeats until interrupted, or stops with
//! `--exit-after-certificate`. Exit status 0 when all went well, 1 otherwise. The steps are in
//! `ocpp_examples::station`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ocpp_examples::frame_log::FrameLog;
use ocpp_examples::station::{self, StationConfig};

/// An OCPP charging station that boots, has its certificate signed and sends heartbeats.
#[derive(Debug, Parser)]
struct Args {
    /// The CSMS URL ending in this station's identity, e.g. ws://127.0.0.1:9000/CS001.
    #[arg(long)]
    url: String,
    /// The organization (O=) in the CSR: the CPO's name.
    #[arg(long, default_value = "Example CPO")]
    organization: String,
    /// Stop after the certificate exchange (exit status 0 if the certificate was accepted).
    #[arg(long)]
    exit_after_certificate: bool,
    /// Also write the raw frames, one per line, to this file (`-`: standard output).
    #[arg(long, value_name = "PATH")]
    frame_log: Option<String>,
    /// How long to wait for each answer and for the certificate, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    timeout: u64,
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
    let timeout = Duration::from_secs(args.timeout);
    let config = StationConfig {
        organization: args.organization,
        exit_after_certificate: args.exit_after_certificate,
        call_timeout: timeout,
        certificate_timeout: timeout,
        log,
        ..StationConfig::new(args.url)
    };
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
