//! The station client against the CSMS server over loopback: versions offered in order, HTTP
//! Basic, typed calls both ways, and a reconnection after the CSMS restarts, without a second
//! BootNotification, with the calls made during the outage delivered afterwards.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocpp_connection::client::{Client, ClientConfig, ClientEvent, ConnectError};
use ocpp_connection::engine::{Backoff, Registration};
use ocpp_connection::handshake::StationSecurity;
use ocpp_connection::server::{Server, ServerConfig};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::availability::{self, HeartbeatFeature, HeartbeatRequest};
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationFeature, BootNotificationRequest, BootNotificationResponse, BootReason,
    ChargingStation, RegistrationStatus, Reset, ResetFeature, ResetRequest, ResetResponse,
    ResetStatus,
};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};

const PASSWORD: &str = "0123456789abcdef";

#[derive(Clone, Default)]
struct Csms {
    boots: Arc<AtomicUsize>,
    beats: Arc<AtomicUsize>,
}

impl provisioning::CsmsHandler for Csms {
    async fn on_boot_notification(
        &self,
        _charging_station_id: &str,
        _request: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        self.boots.fetch_add(1, Ordering::SeqCst);
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
        _charging_station_id: &str,
        _request: HeartbeatRequest,
    ) -> Result<availability::HeartbeatResponse, CallError> {
        self.beats.fetch_add(1, Ordering::SeqCst);
        Ok(availability::HeartbeatResponse::new(DateTime::now()))
    }
}

struct Station;

impl provisioning::ChargingStationHandler for Station {
    async fn on_reset(&self, _request: ResetRequest) -> Result<ResetResponse, CallError> {
        Ok(ResetResponse::new(ResetStatus::Scheduled))
    }
}

fn server_config(csms: &Csms) -> ServerConfig {
    ServerConfig::new()
        .serve(
            Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
                .with(provisioning::CsmsService(csms.clone()))
                .with(availability::CsmsService(csms.clone())),
        )
        .with_authentication(|identity: &str| {
            (identity == "CS-1").then(|| StationSecurity::basic(PASSWORD))
        })
}

fn station_dispatcher(version: OcppVersion) -> Dispatcher {
    let dispatcher = Dispatcher::new(version, Role::ChargingStation);
    match version {
        OcppVersion::V2_0_1 => dispatcher.with(provisioning::ChargingStationService(Station)),
        _ => dispatcher,
    }
}

fn boot() -> BootNotificationRequest {
    BootNotificationRequest::new(ChargingStation::new("M", "V"), BootReason::PowerUp)
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 3 s");
}

#[tokio::test]
async fn connects_offers_in_order_and_reconnects_without_booting_again() {
    let csms = Csms::default();
    let server = Server::bind("127.0.0.1:0", server_config(&csms))
        .await
        .unwrap();
    let address = server.local_addr();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let config = ClientConfig::new(format!("ws://{address}/ocpp"), "CS-1")
        .offer(station_dispatcher(OcppVersion::V2_1))
        .offer(station_dispatcher(OcppVersion::V2_0_1))
        .with_password(PASSWORD)
        .with_backoff(Backoff::new(Duration::from_millis(50), Duration::ZERO, 2))
        .on_event(move |event| {
            let line = match event {
                ClientEvent::Connected { version } => format!("connected {version}"),
                ClientEvent::Disconnected(_) => "disconnected".to_owned(),
                ClientEvent::ReconnectFailed { failed, .. } => format!("failed {failed}"),
                ClientEvent::Engine(_) => return,
                _ => "other".to_owned(),
            };
            seen.lock().unwrap().push(line);
        });
    let client = Client::connect(config).await.unwrap();
    // The server serves 2.0.1 only: the station's second choice.
    assert_eq!(client.handle().version(), OcppVersion::V2_0_1);
    let booted = client
        .handle()
        .call::<BootNotificationFeature>(boot())
        .await
        .unwrap();
    assert_eq!(booted.status, RegistrationStatus::Accepted);
    wait_until(|| server.registry().contains("CS-1")).await;
    let reset = server
        .registry()
        .call::<ResetFeature>("CS-1", ResetRequest::new(Reset::OnIdle))
        .await
        .unwrap();
    assert_eq!(reset.status, ResetStatus::Scheduled);

    // The CSMS goes away (1001) and comes back on the same address a little later.
    assert_eq!(server.shutdown(Duration::from_secs(2)).await, 0);
    wait_until(|| events.lock().unwrap().contains(&"disconnected".to_owned())).await;
    // A call made during the outage waits in the queue.
    let handle = client.handle().clone();
    let beat = tokio::spawn(async move {
        handle
            .call::<HeartbeatFeature>(HeartbeatRequest::new())
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let server = Server::bind(address, server_config(&csms)).await.unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(5), beat)
        .await
        .expect("the queued call was not delivered after the reconnection")
        .unwrap();
    assert!(answered.is_ok(), "{answered:?}");
    wait_until(|| server.registry().contains("CS-1")).await;
    assert_eq!(csms.boots.load(Ordering::SeqCst), 1, "booted again");
    assert_eq!(csms.beats.load(Ordering::SeqCst), 1);
    // The registry of the new server reaches the same handle's session.
    let reset = server
        .registry()
        .call::<ResetFeature>("CS-1", ResetRequest::new(Reset::Immediate))
        .await
        .unwrap();
    assert_eq!(reset.status, ResetStatus::Scheduled);

    let engine = client.close().await.unwrap();
    assert_eq!(engine.registration(), Registration::Accepted);
    let events = events.lock().unwrap().clone();
    assert_eq!(events.first().map(String::as_str), Some("connected 2.0.1"));
    assert!(
        events.iter().filter(|e| e.starts_with("failed")).count() >= 1,
        "attempts failed while the CSMS was away: {events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| *e == "connected 2.0.1").count(),
        2,
        "{events:?}"
    );
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn first_connection_errors_are_clear() {
    let csms = Csms::default();
    let server = Server::bind("127.0.0.1:0", server_config(&csms))
        .await
        .unwrap();
    let url = format!("ws://{}/ocpp", server.local_addr());
    let offer = |config: ClientConfig| config.offer(station_dispatcher(OcppVersion::V2_0_1));

    let wrong = offer(ClientConfig::new(&url, "CS-1").with_password("0123456789abcdeX"));
    assert!(matches!(
        Client::connect(wrong).await,
        Err(ConnectError::Refused { status: 401 })
    ));
    let unknown = offer(ClientConfig::new(&url, "CS-2").with_password(PASSWORD));
    assert!(matches!(
        Client::connect(unknown).await,
        Err(ConnectError::Refused { status: 404 })
    ));
    let v16 = ClientConfig::new(&url, "CS-1")
        .with_password(PASSWORD)
        .offer(station_dispatcher(OcppVersion::V1_6));
    assert!(matches!(
        Client::connect(v16).await,
        Err(ConnectError::NoCommonVersion)
    ));
    assert!(matches!(
        Client::connect(ClientConfig::new(&url, "CS-1")).await,
        Err(ConnectError::NothingOffered)
    ));
    // 2.0.1 passwords have 16 to 40 characters: refused before any connection.
    let short = offer(ClientConfig::new(&url, "CS-1").with_password("too-short"));
    let error = Client::connect(short).await.unwrap_err();
    assert!(matches!(error, ConnectError::Password(_)), "{error:?}");
    let tls = offer(ClientConfig::new(url.replace("ws:", "wss:"), "CS-1"));
    assert!(matches!(
        Client::connect(tls).await,
        Err(ConnectError::Scheme(_))
    ));
    server.shutdown(Duration::from_secs(2)).await;
    let gone = offer(ClientConfig::new(&url, "CS-1").with_password(PASSWORD));
    let error = Client::connect(gone).await.unwrap_err();
    assert!(matches!(error, ConnectError::Io(_)), "{error:?}");
    assert!(
        error.to_string().starts_with("cannot reach the CSMS"),
        "{error}"
    );
}
