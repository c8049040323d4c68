//! A CSMS on this crate's `Server` with the security profiles' command line: it serves OCPP
//! 2.0.1 (BootNotification, Heartbeat, StatusNotification) and logs one line per connection,
//! refusal and event. The interop tests run it against the Python `ocpp` package's station.
//!
//! ```text
//! profile_csms --listen 127.0.0.1:9000 --security-profile 2 --password CS-1=0123456789abcdef \
//!     --tls-cert csms.pem --tls-key csms-key.pem [--ca-cert ca.pem]
//! ```
//!
//! - `--security-profile 0|1|2|3` (0, the default: `ws://` without authentication);
//! - `--password ID=PASSWORD` (repeatable; profiles 1 and 2): a station without an entry, a
//!   wrong password, no header or a username other than its identity gets HTTP 401;
//! - `--tls-cert FILE --tls-key FILE`: the CSMS's PEM chain and key (profiles 2 and 3);
//! - `--ca-cert FILE`: in profile 3 the trust anchor for station certificates, whose subject
//!   CN must be the station's identity.

use std::collections::HashMap;
use std::sync::Arc;

use ocpp_connection::handshake::StationSecurity;
use ocpp_connection::security::{self, ClientCertificates, SecurityProfile};
use ocpp_connection::server::{Server, ServerConfig, ServerEvent};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::availability::{self, HeartbeatRequest, HeartbeatResponse};
use ocpp_messages::v2_0_1::availability::{StatusNotificationRequest, StatusNotificationResponse};
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus,
};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};

struct Csms;

impl provisioning::CsmsHandler for Csms {
    async fn on_boot_notification(
        &self,
        station: &str,
        request: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        println!("{station}: booted ({})", request.reason);
        Ok(BootNotificationResponse::new(
            DateTime::now(),
            300,
            RegistrationStatus::Accepted,
        ))
    }
}

impl availability::CsmsHandler for Csms {
    async fn on_heartbeat(
        &self,
        station: &str,
        _request: HeartbeatRequest,
    ) -> Result<HeartbeatResponse, CallError> {
        println!("{station}: heartbeat");
        Ok(HeartbeatResponse::new(DateTime::now()))
    }

    async fn on_status_notification(
        &self,
        station: &str,
        request: StatusNotificationRequest,
    ) -> Result<StatusNotificationResponse, CallError> {
        println!(
            "{station}: connector {} is {}",
            request.connector_id, request.connector_status
        );
        Ok(StatusNotificationResponse::new())
    }
}

#[derive(Default)]
struct Args {
    listen: Option<String>,
    profile: u8,
    passwords: HashMap<String, String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    ca_cert: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => args.listen = Some(value()?),
            "--security-profile" => {
                args.profile = value()?
                    .parse()
                    .ok()
                    .filter(|p| *p <= 3)
                    .ok_or("--security-profile is 0, 1, 2 or 3")?;
            }
            "--password" => {
                let entry = value()?;
                let (id, password) = entry
                    .split_once('=')
                    .ok_or("--password takes ID=PASSWORD")?;
                args.passwords.insert(id.to_owned(), password.to_owned());
            }
            "--tls-cert" => args.tls_cert = Some(value()?),
            "--tls-key" => args.tls_key = Some(value()?),
            "--ca-cert" => args.ca_cert = Some(value()?),
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
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(provisioning::CsmsService(Csms))
        .with(availability::CsmsService(Csms));
    let mut config = ServerConfig::new()
        .serve(dispatcher)
        .on_event(|station, event| match event {
            ServerEvent::Connected { version, remote } => {
                println!("{station}: connected from {remote}, speaking {version}")
            }
            ServerEvent::Disconnected(ended) => println!("{station}: disconnected ({ended:?})"),
            _ => {}
        });
    let profile = SecurityProfile::from_number(args.profile);
    if let Some(profile) = profile {
        let passwords = Arc::new(args.passwords);
        config = config.with_authentication(move |identity: &str| {
            Some(match profile {
                SecurityProfile::MutualTls => StationSecurity::mutual_tls(),
                // A station without a password entry cannot authenticate: 401, as for a wrong
                // password (the hook's `None` would answer 404).
                _ => StationSecurity {
                    profile,
                    password: passwords.get(identity).cloned(),
                },
            })
        });
        if profile.uses_tls() {
            let chain = security::certificates_from_pem(&read(&args.tls_cert, "--tls-cert")?)?;
            let key = security::private_key_from_pem(&read(&args.tls_key, "--tls-key")?)?;
            let clients = if profile.uses_client_certificate() {
                let ca = security::certificates_from_pem(&read(&args.ca_cert, "--ca-cert")?)?;
                ClientCertificates::Required(security::root_store(ca)?)
            } else {
                ClientCertificates::None
            };
            config = config.with_tls(security::server_tls_config(chain, key, clients)?);
        }
    }
    let listen = args.listen.as_deref().unwrap_or("127.0.0.1:9000");
    let server = Server::bind(listen, config).await?;
    let scheme = if profile.is_some_and(SecurityProfile::uses_tls) {
        "wss"
    } else {
        "ws"
    };
    println!(
        "listening on {scheme}://{}/{{identity}}, security profile {}",
        server.local_addr(),
        args.profile
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown(std::time::Duration::from_secs(5)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match parse() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("profile_csms: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("profile_csms: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
