//! `connection::open` over a real WebSocket on loopback: a CSMS and a charging station, each an
//! engine driven by its own task, exchange typed calls both ways.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ocpp_connection::connection::{self, CallFailed, Ended};
use ocpp_connection::engine::{Config, Engine, Registration};
use ocpp_messages::rpc::{Dispatcher, Session};
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationFeature, BootNotificationRequest, BootNotificationResponse, BootReason,
    ChargingStation, RegistrationStatus, Reset, ResetFeature, ResetRequest, ResetResponse,
    ResetStatus,
};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};
use tokio::net::{TcpListener, TcpStream};

struct Csms;

impl provisioning::CsmsHandler for Csms {
    async fn on_boot_notification(
        &self,
        _charging_station_id: &str,
        _request: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        Ok(BootNotificationResponse::new(
            DateTime::now(),
            300,
            RegistrationStatus::Accepted,
        ))
    }
}

struct Station;

impl provisioning::ChargingStationHandler for Station {
    async fn on_reset(&self, request: ResetRequest) -> Result<ResetResponse, CallError> {
        // Answer after the CSMS's own queue had a chance to run: the handler runs off-engine.
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok(ResetResponse::new(match request.type_ {
            Reset::Immediate => ResetStatus::Rejected,
            _ => ResetStatus::Accepted,
        }))
    }
}

/// A connected pair: the CSMS's WebSocket (accepted) and the station's (dialled).
async fn pair() -> (
    tokio_tungstenite::WebSocketStream<TcpStream>,
    tokio_tungstenite::WebSocketStream<TcpStream>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio_tungstenite::accept_async(stream).await.unwrap()
    });
    let stream = TcpStream::connect(address).await.unwrap();
    let (station, _) = tokio_tungstenite::client_async(format!("ws://{address}/CS-1"), stream)
        .await
        .unwrap();
    (accept.await.unwrap(), station)
}

fn csms_engine() -> Engine {
    let dispatcher =
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with(provisioning::CsmsService(Csms));
    Engine::new(
        Session::new(dispatcher, "CS-1"),
        Config::default(),
        Instant::now(),
    )
}

fn station_engine(config: Config) -> Engine {
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
        .with(provisioning::ChargingStationService(Station));
    Engine::new(Session::new(dispatcher, "CS-1"), config, Instant::now())
}

fn boot() -> BootNotificationRequest {
    BootNotificationRequest::new(ChargingStation::new("M", "V"), BootReason::PowerUp)
}

#[tokio::test]
async fn typed_calls_both_ways_over_loopback() {
    let (csms_ws, station_ws) = pair().await;
    let csms_events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&csms_events);
    let (csms, csms_task) = connection::open(csms_ws, csms_engine(), move |event| {
        seen.lock().unwrap().push(format!("{event:?}"));
    });
    let csms_task = tokio::spawn(csms_task);
    let (station, station_task) =
        connection::open(station_ws, station_engine(Config::default()), |_| {});
    let station_task = tokio::spawn(station_task);
    assert_eq!(station.version(), OcppVersion::V2_0_1);

    let booted = station
        .call::<BootNotificationFeature>(boot())
        .await
        .unwrap();
    assert_eq!(booted.status, RegistrationStatus::Accepted);
    assert_eq!(booted.interval, 300);

    // Two CALLs from the CSMS at once: the second waits for the first (one outstanding CALL).
    let (a, b) = tokio::join!(
        csms.call::<ResetFeature>(ResetRequest::new(Reset::OnIdle)),
        csms.call::<ResetFeature>(ResetRequest::new(Reset::Immediate)),
    );
    assert_eq!(a.unwrap().status, ResetStatus::Accepted);
    assert_eq!(b.unwrap().status, ResetStatus::Rejected);

    station.close().await;
    let (engine, ended) = station_task.await.unwrap();
    assert!(matches!(ended, Ended::Closed), "{ended:?}");
    assert_eq!(engine.registration(), Registration::Accepted);
    assert_eq!(engine.heartbeat_interval(), Some(Duration::from_secs(300)));
    let (_, ended) = csms_task.await.unwrap();
    assert!(matches!(ended, Ended::PeerClosed), "{ended:?}");
    assert!(station.is_closed());
    assert_eq!(
        station.call::<BootNotificationFeature>(boot()).await,
        Err(CallFailed::Closed)
    );
    let events = csms_events.lock().unwrap();
    assert!(
        events.iter().any(|e| e.contains("Registered")),
        "the CSMS saw the station register: {events:?}"
    );
}

#[tokio::test]
async fn a_call_without_answer_times_out_and_a_dropped_peer_ends_the_rest() {
    let (csms_ws, station_ws) = pair().await;
    // The CSMS side reads nothing: a raw socket that never answers.
    let silent = tokio::spawn(async move {
        let mut csms_ws = csms_ws;
        use futures_util::StreamExt;
        // Read the two CALLs, answer neither, then drop the connection.
        let first = csms_ws.next().await.unwrap().unwrap();
        let second = csms_ws.next().await.unwrap().unwrap();
        drop(csms_ws);
        (first.into_text().unwrap(), second.into_text().unwrap())
    });
    let config = Config::default()
        .with_boot_gate(false)
        .with_call_timeout(Duration::from_millis(200));
    let (station, task) = connection::open(station_ws, station_engine(config), |_| {});
    let task = tokio::spawn(task);
    let first = station.call::<BootNotificationFeature>(boot()).await;
    assert_eq!(first, Err(CallFailed::TimedOut));
    let second = station.call::<BootNotificationFeature>(boot()).await;
    assert_eq!(second, Err(CallFailed::ConnectionLost));
    let (first, second) = silent.await.unwrap();
    assert!(first.contains("BootNotification") && second.contains("BootNotification"));
    let (_, ended) = task.await.unwrap();
    assert!(
        matches!(ended, Ended::PeerClosed | Ended::Error(_)),
        "{ended:?}"
    );
}
