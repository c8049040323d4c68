//! A charging station on this crate's `Client` with the security profiles' command line: it
//! connects (OCPP 2.0.1), boots, reports its connector, sends a Heartbeat, prints each answer
//! and exits 0; on a refused or failed connection it prints why and exits 1. The interop
//! tests run it against a Python CSMS.
//!
//! ```text
//! profile_station --url wss://localhost:9000/CS-1 --security-profile 2 \
//!     --password 0123456789abcdef --ca-cert ca.pem [--cert cs.pem --key cs-key.pem]
//! ```
//!
//! - `--url ws[s]://HOST:PORT/PATH/IDENTITY`: the last path segment is the identity;
//! - `--security-profile 0|1|2|3` (0, the default: no authentication);
//! - `--password PW` (profiles 1 and 2), `--ca-cert FILE` (the trust anchor for the CSMS's
//!   certificate, profiles 2 and 3), `--cert FILE --key FILE` (profile 3).

use ocpp_connection::client::{Client, ClientConfig};
use ocpp_connection::security::{self, SecurityProfile};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::availability::{
    ConnectorStatus, HeartbeatFeature, HeartbeatRequest, StatusNotificationFeature,
    StatusNotificationRequest,
};
use ocpp_messages::v2_0_1::provisioning::{
    BootNotificationFeature, BootNotificationRequest, BootReason, ChargingStation,
};
use ocpp_messages::{DateTime, OcppVersion, Role};

#[derive(Default)]
struct Args {
    url: Option<String>,
    profile: u8,
    password: Option<String>,
    ca_cert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = Some(value()?),
            "--security-profile" => {
                args.profile = value()?
                    .parse()
                    .ok()
                    .filter(|p| *p <= 3)
                    .ok_or("--security-profile is 0, 1, 2 or 3")?;
            }
            "--password" => args.password = Some(value()?),
            "--ca-cert" => args.ca_cert = Some(value()?),
            "--cert" => args.cert = Some(value()?),
            "--key" => args.key = Some(value()?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn read(path: &Option<String>, what: &str) -> Result<Vec<u8>, String> {
    let path = path.as_ref().ok_or(format!("this profile needs {what}"))?;
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let url = args.url.ok_or("--url is needed")?;
    let (base, identity) = url
        .trim_end_matches('/')
        .rsplit_once('/')
        .filter(|(base, _)| base.contains("://") && !base.ends_with('/'))
        .ok_or("--url needs the identity as its last path segment")?;
    let identity = percent_decode(identity);
    let mut config = ClientConfig::new(base, identity)
        .offer(Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation));
    if let Some(profile) = SecurityProfile::from_number(args.profile) {
        if profile.uses_basic_auth() {
            config = config.with_password(args.password.clone().ok_or("--password is needed")?);
        }
        if profile.uses_tls() {
            let ca = security::certificates_from_pem(&read(&args.ca_cert, "--ca-cert")?)?;
            let certificate = if profile.uses_client_certificate() {
                let chain = security::certificates_from_pem(&read(&args.cert, "--cert")?)?;
                let key = security::private_key_from_pem(&read(&args.key, "--key")?)?;
                Some((chain, key))
            } else {
                None
            };
            config = config.with_tls(security::client_tls_config(
                security::root_store(ca)?,
                certificate,
            )?);
        }
    }
    let client = Client::connect(config).await?;
    println!("connected, speaking {}", client.handle().version());
    let boot = BootNotificationRequest::new(
        ChargingStation::new("profile-station", "ocpp-rs"),
        BootReason::PowerUp,
    );
    let booted = client
        .handle()
        .call::<BootNotificationFeature>(boot)
        .await?;
    println!("BootNotification: {}", booted.status);
    let status = StatusNotificationRequest::new(DateTime::now(), ConnectorStatus::Available, 1, 1);
    client
        .handle()
        .call::<StatusNotificationFeature>(status)
        .await?;
    println!("StatusNotification: answered");
    let beat = client
        .handle()
        .call::<HeartbeatFeature>(HeartbeatRequest::new())
        .await?;
    println!("Heartbeat: {}", beat.current_time);
    client.close().await;
    println!("done");
    Ok(())
}

/// The identity as the CSMS will read it (the client encodes it again).
fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("profile_station: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            println!("failed: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
