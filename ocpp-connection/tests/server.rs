//! The CSMS server over loopback: admission (identity, version, HTTP Basic), the registry,
//! duplicates, registration across connections, limits and graceful shutdown. The stations
//! are plain tungstenite clients driven by `connection::open`, or raw WebSockets where the
//! test reads what the server writes.
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use ocpp_connection::connection::{self, Handle};
use ocpp_connection::engine::{Config, Engine};
use ocpp_connection::handshake::{station_request, StationSecurity};
use ocpp_connection::server::{Duplicates, RegistryError, Server, ServerConfig, ServerEvent};
use ocpp_messages::rpc::{Dispatcher, Session};
use ocpp_messages::v2_0_1::availability::{HeartbeatFeature, HeartbeatRequest};
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationFeature, BootNotificationRequest, BootNotificationResponse, BootReason,
    ChargingStation, RegistrationStatus, ResetFeature, ResetRequest, ResetResponse, ResetStatus,
};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

const PASSWORD: &str = "0123456789abcdef";

/// Answers BootNotification with the status the station's model asks for (`Pending` or
/// `Accepted`), after `delay`; tells `started` when a BootNotification arrived.
struct Csms {
    delay: Duration,
    started: Arc<Notify>,
}

impl provisioning::CsmsHandler for Csms {
    async fn on_boot_notification(
        &self,
        _charging_station_id: &str,
        request: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        self.started.notify_one();
        tokio::time::sleep(self.delay).await;
        let status = if request.charging_station.model == "Pending" {
            RegistrationStatus::Pending
        } else {
            RegistrationStatus::Accepted
        };
        Ok(BootNotificationResponse::new(DateTime::now(), 60, status))
    }
}

fn csms_dispatcher(delay: Duration, started: Arc<Notify>) -> Dispatcher {
    Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(provisioning::CsmsService(Csms { delay, started }))
        .with(ocpp_messages::v2_0_1::availability::CsmsService(Beats))
}

struct Beats;

impl ocpp_messages::v2_0_1::availability::CsmsHandler for Beats {
    async fn on_heartbeat(
        &self,
        _charging_station_id: &str,
        _request: HeartbeatRequest,
    ) -> Result<ocpp_messages::v2_0_1::availability::HeartbeatResponse, CallError> {
        Ok(ocpp_messages::v2_0_1::availability::HeartbeatResponse::new(
            DateTime::now(),
        ))
    }
}

struct Station;

impl provisioning::ChargingStationHandler for Station {
    async fn on_reset(&self, _request: ResetRequest) -> Result<ResetResponse, CallError> {
        Ok(ResetResponse::new(ResetStatus::Accepted))
    }
}

fn known(identity: &str) -> Option<StationSecurity> {
    identity
        .starts_with("CS-")
        .then(|| StationSecurity::basic(PASSWORD))
}

async fn server(config: ServerConfig) -> Server {
    Server::bind("127.0.0.1:0", config).await.unwrap()
}

fn config() -> ServerConfig {
    ServerConfig::new()
        .serve(csms_dispatcher(Duration::ZERO, Arc::new(Notify::new())))
        .with_authentication(known)
}

type Ws = WebSocketStream<TcpStream>;

/// Opens a station's WebSocket; the HTTP status when the server refuses it.
async fn dial(
    address: SocketAddr,
    identity: &str,
    versions: &[OcppVersion],
    password: Option<&str>,
) -> Result<(Ws, Option<String>), u16> {
    let request = station_request(
        &format!("ws://{address}/ocpp"),
        identity,
        versions,
        password,
    )
    .unwrap();
    let stream = TcpStream::connect(address).await.unwrap();
    match tokio_tungstenite::client_async(request, stream).await {
        Ok((ws, response)) => {
            let protocol = response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.to_str().unwrap().to_owned());
            Ok((ws, protocol))
        }
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("{other}"),
    }
}

/// A station engine over `ws`, with its handle and task.
fn station(
    ws: Ws,
    identity: &str,
    config: Config,
) -> (Handle, tokio::task::JoinHandle<(Engine, connection::Ended)>) {
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
        .with(provisioning::ChargingStationService(Station));
    let engine = Engine::new(Session::new(dispatcher, identity), config, Instant::now());
    let (handle, task) = connection::open(ws, engine, |_| {});
    (handle, tokio::spawn(task))
}

fn boot(model: &str) -> BootNotificationRequest {
    BootNotificationRequest::new(ChargingStation::new(model, "V"), BootReason::PowerUp)
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 2 s");
}

#[tokio::test]
async fn admits_by_identity_version_and_password_and_calls_through_the_registry() {
    let server = server(config()).await;
    let address = server.local_addr();
    let v201 = [OcppVersion::V2_1, OcppVersion::V2_0_1];

    // Refused: unknown station, wrong or missing password, another station's credentials.
    assert_eq!(
        dial(address, "XX-1", &v201, Some(PASSWORD)).await.err(),
        Some(404)
    );
    assert_eq!(
        dial(address, "CS-1", &v201, Some("0123456789abcdeX"))
            .await
            .err(),
        Some(401)
    );
    assert_eq!(dial(address, "CS-1", &v201, None).await.err(), Some(401));

    // No version in common: the handshake completes without a subprotocol, then 1002.
    // (tungstenite's client refuses such a response, so this station speaks raw HTTP.)
    let mut raw = TcpStream::connect(address).await.unwrap();
    let basic = ocpp_connection::security::basic_authorization("CS-1", PASSWORD);
    let hello = format!(
        "GET /ocpp/CS-1 HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\
         Authorization: {basic}\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut raw, hello.as_bytes())
        .await
        .unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(2),
        tokio::io::AsyncReadExt::read_to_end(&mut raw, &mut received),
    )
    .await
    .unwrap()
    .unwrap();
    let end = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&received[..end]);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("sec-websocket-protocol"),
        "{head}"
    );
    // A close frame (0x88) with code 1002 (0x03EA).
    let frame = &received[end + 4..];
    assert_eq!(
        (frame[0], &frame[2..4]),
        (0x88, &[0x03, 0xEA][..]),
        "{frame:?}"
    );

    // Admitted: the identity is percent-decoded from the path; the version is 2.0.1.
    let (ws, protocol) = dial(address, "CS-1", &v201, Some(PASSWORD)).await.unwrap();
    assert_eq!(protocol.as_deref(), Some("ocpp2.0.1"));
    let (handle, _task) = station(ws, "CS-1", Config::default());
    let booted = handle
        .call::<BootNotificationFeature>(boot("M"))
        .await
        .unwrap();
    assert_eq!(booted.status, RegistrationStatus::Accepted);
    wait_until(|| server.registry().contains("CS-1")).await;
    assert_eq!(server.registry().identities(), ["CS-1"]);
    let reset = server
        .registry()
        .call::<ResetFeature>("CS-1", ResetRequest::new(provisioning::Reset::OnIdle))
        .await
        .unwrap();
    assert_eq!(reset.status, ResetStatus::Accepted);
    assert_eq!(
        server
            .registry()
            .call::<ResetFeature>("CS-2", ResetRequest::new(provisioning::Reset::OnIdle))
            .await,
        Err(RegistryError::NotConnected("CS-2".into()))
    );
    handle.close().await;
    wait_until(|| server.registry().is_empty()).await;
    assert_eq!(server.shutdown(Duration::from_secs(2)).await, 0);
}

#[tokio::test]
async fn a_second_connection_replaces_the_first_or_is_refused() {
    let server = server(config()).await;
    let address = server.local_addr();
    let v201 = [OcppVersion::V2_0_1];
    let (mut first, _) = dial(address, "CS-1", &v201, Some(PASSWORD)).await.unwrap();
    wait_until(|| server.registry().contains("CS-1")).await;
    let (second, _) = dial(address, "CS-1", &v201, Some(PASSWORD)).await.unwrap();
    // The first is closed by the server.
    match first.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1000),
        other => panic!("{other:?}"),
    }
    let (handle, _task) = station(second, "CS-1", Config::default());
    handle
        .call::<BootNotificationFeature>(boot("M"))
        .await
        .unwrap();
    // The registry reaches the second.
    let reset = server
        .registry()
        .call::<ResetFeature>("CS-1", ResetRequest::new(provisioning::Reset::OnIdle))
        .await;
    assert!(reset.is_ok(), "{reset:?}");
    assert_eq!(server.registry().len(), 1);
    server.shutdown(Duration::from_secs(2)).await;

    let server = self::server(config().with_duplicates(Duplicates::Refuse)).await;
    let address = server.local_addr();
    let (_first, _) = dial(address, "CS-1", &v201, Some(PASSWORD)).await.unwrap();
    wait_until(|| server.registry().contains("CS-1")).await;
    assert_eq!(
        dial(address, "CS-1", &v201, Some(PASSWORD)).await.err(),
        Some(409)
    );
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn the_registration_holds_across_connections() {
    let server = server(config()).await;
    let address = server.local_addr();
    let v201 = [OcppVersion::V2_0_1];
    // Booted Pending, the station reconnects: the CSMS still holds it Pending and answers its
    // Heartbeat SecurityError (B02.FR.09), though this connection saw no BootNotification.
    let (ws, _) = dial(address, "CS-1", &v201, Some(PASSWORD)).await.unwrap();
    let (handle, task) = station(ws, "CS-1", Config::default());
    let booted = handle
        .call::<BootNotificationFeature>(boot("Pending"))
        .await
        .unwrap();
    assert_eq!(booted.status, RegistrationStatus::Pending);
    handle.close().await;
    task.await.unwrap();
    wait_until(|| server.registry().is_empty()).await;

    let (ws, _) = dial(address, "CS-1", &v201, Some(PASSWORD)).await.unwrap();
    let (handle, _task) = station(ws, "CS-1", Config::default().with_boot_gate(false));
    let beat = handle
        .call::<HeartbeatFeature>(HeartbeatRequest::new())
        .await;
    match beat {
        Err(connection::CallFailed::Response(error)) => {
            assert!(format!("{error:?}").contains("SecurityError"), "{error:?}")
        }
        other => panic!("{other:?}"),
    }
    // Accepted now; the next connection is served without a BootNotification.
    handle
        .call::<BootNotificationFeature>(boot("M"))
        .await
        .unwrap();
    handle.close().await;
    wait_until(|| server.registry().is_empty()).await;
    let (ws, _) = dial(address, "CS-1", &v201, Some(PASSWORD)).await.unwrap();
    let (handle, _task) = station(ws, "CS-1", Config::default().with_boot_gate(false));
    assert!(handle
        .call::<HeartbeatFeature>(HeartbeatRequest::new())
        .await
        .is_ok());
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn shutdown_answers_what_handlers_owe_then_closes_1001() {
    let started = Arc::new(Notify::new());
    let config = ServerConfig::new()
        .serve(csms_dispatcher(
            Duration::from_millis(300),
            Arc::clone(&started),
        ))
        .with_authentication(known);
    let server = server(config).await;
    let address = server.local_addr();
    let (mut ws, _) = dial(address, "CS-1", &[OcppVersion::V2_0_1], Some(PASSWORD))
        .await
        .unwrap();
    wait_until(|| server.registry().contains("CS-1")).await;
    let call = r#"[2,"b1","BootNotification",{"chargingStation":{"model":"M","vendorName":"V"},"reason":"PowerUp"}]"#;
    ws.send(Message::text(call)).await.unwrap();
    started.notified().await;
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(5)));
    match ws.next().await {
        Some(Ok(Message::Text(text))) => assert!(text.starts_with(r#"[3,"b1","#), "{text}"),
        other => panic!("the answer first: {other:?}"),
    }
    match ws.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("then 1001: {other:?}"),
    }
    drop(ws);
    assert_eq!(shutdown.await.unwrap(), 0);
    // Nothing listens any more.
    assert!(TcpStream::connect(address).await.is_err());
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_on_accept() {
    let server = server(config().with_max_connections(1)).await;
    let address = server.local_addr();
    let (_first, _) = dial(address, "CS-1", &[OcppVersion::V2_0_1], Some(PASSWORD))
        .await
        .unwrap();
    let request = station_request(
        &format!("ws://{address}/ocpp"),
        "CS-2",
        &[OcppVersion::V2_0_1],
        Some(PASSWORD),
    )
    .unwrap();
    let stream = TcpStream::connect(address).await.unwrap();
    let refused = tokio_tungstenite::client_async(request, stream).await;
    assert!(refused.is_err(), "a second connection was let in");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_slow_handshake_is_cut_off() {
    let server = server(config().with_handshake_timeout(Duration::from_millis(200))).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    // Say nothing; the server closes the connection after the timeout.
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::io::AsyncReadExt::read(&mut stream, &mut buffer),
    )
    .await
    .expect("the server did not cut the handshake off");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn frames_are_observed_and_a_station_that_never_pongs_is_closed() {
    let frames = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&frames);
    let ended = Arc::new(std::sync::Mutex::new(Vec::new()));
    let ends = Arc::clone(&ended);
    let engine = Config::default()
        .with_ping_interval(Some(Duration::from_millis(100)))
        .with_pong_timeout(Duration::from_millis(100));
    let config = config()
        .with_engine(engine)
        .on_frame(move |identity, direction, text| {
            seen.lock()
                .unwrap()
                .push(format!("{identity} {direction:?} {text}"));
        })
        .on_event(move |identity, event| {
            if let ServerEvent::Disconnected(why) = event {
                ends.lock().unwrap().push(format!("{identity} {why:?}"));
            }
        });
    let server = server(config).await;
    let (mut ws, _) = dial(
        server.local_addr(),
        "CS-1",
        &[OcppVersion::V2_0_1],
        Some(PASSWORD),
    )
    .await
    .unwrap();
    let call = r#"[2,"b1","BootNotification",{"chargingStation":{"model":"M","vendorName":"V"},"reason":"PowerUp"}]"#;
    ws.send(Message::text(call)).await.unwrap();
    match ws.next().await {
        Some(Ok(Message::Text(text))) => assert!(text.starts_with(r#"[3,"b1","#), "{text}"),
        other => panic!("{other:?}"),
    }
    // The station reads nothing more, so it answers no ping: the server closes it.
    wait_until(|| !ended.lock().unwrap().is_empty()).await;
    assert_eq!(ended.lock().unwrap()[0], "CS-1 Unresponsive");
    assert!(server.registry().is_empty());
    let frames = frames.lock().unwrap().clone();
    assert!(
        frames[0].starts_with(r#"CS-1 Received [2,"b1","BootNotification""#),
        "{frames:?}"
    );
    assert!(frames[1].starts_with(r#"CS-1 Sent [3,"b1","#), "{frames:?}");
    drop(ws);
    server.shutdown(Duration::from_secs(2)).await;
}
