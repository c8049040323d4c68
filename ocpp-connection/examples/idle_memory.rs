//! Server memory per idle station: starts a CSMS `Server` in a child process, opens N station
//! connections to it over loopback (each booted once, then idle), and reports the child's
//! resident memory before and after, per connection. Run with each read buffer size to choose
//! one. `idle_memory --serve READ_BUFFER [SECONDS|-] [ADDR]` is the server alone (it answers
//! BootNotification and Heartbeat), for the `swarm` example:
//!
//! ```text
//! cargo run --release -p ocpp-connection --example idle_memory -- 5000 4096
//! cargo run --release -p ocpp-connection --example idle_memory -- 5000 131072
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ocpp_connection::client::{Client, ClientConfig};
use ocpp_connection::engine;
use ocpp_connection::server::{Server, ServerConfig};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::availability;
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationFeature, BootNotificationRequest, BootNotificationResponse, BootReason,
    ChargingStation, RegistrationStatus,
};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};

struct Csms;

impl availability::CsmsHandler for Csms {
    async fn on_heartbeat(
        &self,
        _charging_station_id: &str,
        _request: availability::HeartbeatRequest,
    ) -> Result<availability::HeartbeatResponse, CallError> {
        Ok(availability::HeartbeatResponse::new(DateTime::now()))
    }
}

impl provisioning::CsmsHandler for Csms {
    async fn on_boot_notification(
        &self,
        _charging_station_id: &str,
        _request: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        Ok(BootNotificationResponse::new(
            DateTime::now(),
            3600,
            RegistrationStatus::Accepted,
        ))
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        let read_buffer: usize = args.get(2).ok_or("read buffer")?.parse()?;
        // With a lifetime in seconds, the server exits by itself (for heap profilers).
        let lifetime = args
            .get(3)
            .filter(|s| *s != "-")
            .map(|s| s.parse())
            .transpose()?;
        let listen = args.get(4).map_or("127.0.0.1:0", String::as_str);
        return serve(read_buffer, lifetime, listen);
    }
    let stations: usize = args.get(1).map_or(Ok(2000), |s| s.parse())?;
    let read_buffer: usize = args.get(2).map_or(Ok(4096), |s| s.parse())?;
    // `IDLE_MEMORY_WRAP=heaptrack` runs the server under a heap profiler, for 20 s;
    // `IDLE_MEMORY_SERVER="PROGRAM ARGS..."` measures another server (one that prints its
    // address on a line of its own), e.g. the `peer_ocpp_kit` example.
    let exe = std::env::current_exe()?;
    let buffer = read_buffer.to_string();
    let mut child = match (
        std::env::var("IDLE_MEMORY_SERVER"),
        std::env::var("IDLE_MEMORY_WRAP"),
    ) {
        (Ok(server), _) => {
            let mut words = server.split_whitespace();
            Command::new(words.next().ok_or("IDLE_MEMORY_SERVER is empty")?)
                .args(words)
                .stdout(Stdio::piped())
                .spawn()?
        }
        (Err(_), Ok(wrapper)) => Command::new(wrapper)
            .arg(&exe)
            .args(["--serve", &buffer, "20"])
            .stdout(Stdio::piped())
            .spawn()?,
        (Err(_), Err(_)) => Command::new(&exe)
            .args(["--serve", &buffer])
            .stdout(Stdio::piped())
            .spawn()?,
    };
    let mut from_child = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    // The address is the first line that is one (a profiler may print its own lines first).
    let address = loop {
        let mut line = String::new();
        if from_child.read_line(&mut line)? == 0 {
            return Err("the server ended before it listened".into());
        }
        if line.trim().parse::<std::net::SocketAddr>().is_ok() {
            break line.trim().to_owned();
        }
    };
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(child.id());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let clients = runtime.block_on(async {
        let mut clients = Vec::with_capacity(stations);
        for i in 0..stations {
            let config = ClientConfig::new(format!("ws://{address}/ocpp"), format!("CS-{i}"))
                .offer(Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation))
                .with_engine(engine::Config::default().with_heartbeat(false));
            let client = Client::connect(config).await?;
            let request =
                BootNotificationRequest::new(ChargingStation::new("M", "V"), BootReason::PowerUp);
            client
                .handle()
                .call::<BootNotificationFeature>(request)
                .await?;
            clients.push(client);
        }
        Ok::<_, Box<dyn std::error::Error>>(clients)
    })?;
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kib(child.id());
    let per = (after.saturating_sub(before)) as f64 * 1024.0 / stations as f64;
    println!(
        "read buffer {read_buffer} B: {stations} idle stations, server RSS {before} KiB -> {after} KiB: {per:.0} B per station"
    );
    drop(clients);
    child.kill()?;
    child.wait()?;
    std::io::stdout().flush()?;
    Ok(())
}

fn serve(
    read_buffer: usize,
    lifetime: Option<u64>,
    listen: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
            .with(provisioning::CsmsService(Csms))
            .with(availability::CsmsService(Csms));
        let config = ServerConfig::new()
            .serve(Arc::new(dispatcher))
            .with_read_buffer(read_buffer)
            // The process's file limit is the bound here (20,000 on this machine).
            .with_max_connections(100_000);
        let server = Server::bind(listen, config).await?;
        println!("{}", server.local_addr());
        std::io::stdout().flush()?;
        match lifetime {
            Some(seconds) => {
                tokio::time::sleep(Duration::from_secs(seconds)).await;
                std::process::exit(0);
            }
            None => std::future::pending::<()>().await,
        }
        Ok(())
    })
}
