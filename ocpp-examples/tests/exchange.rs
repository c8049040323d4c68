//! The example CSMS and charging station against each other, in-process on 127.0.0.1.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ocpp_examples::csms::Csms;
use ocpp_examples::frame_log::FrameLog;
use ocpp_examples::pki::CertificateAuthority;
use ocpp_examples::station::{self, StationConfig};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Starts a CSMS on a free port; it stops with the test's runtime.
async fn start_csms() -> SocketAddr {
    let ca = CertificateAuthority::generate("test CA").unwrap();
    let csms = Arc::new(Csms::new(ca, FrameLog::tracing_only()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(csms.serve(listener));
    addr
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, subprotocol: &str) -> Result<Client, WsError> {
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(subprotocol).unwrap(),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

/// Sends a text frame and returns the next text frame, parsed.
async fn exchange(ws: &mut Client, frame: &str) -> Value {
    ws.send(Message::text(frame)).await.unwrap();
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_station_gets_a_certificate_for_its_key() {
    let addr = start_csms().await;
    let config = StationConfig {
        exit_after_certificate: true,
        call_timeout: Duration::from_secs(10),
        certificate_timeout: Duration::from_secs(10),
        ..StationConfig::new(format!("ws://{addr}/ocpp/CS001"))
    };
    tokio::time::timeout(TIMEOUT, station::run(config, std::future::pending()))
        .await
        .expect("the exchange finishes in time")
        .expect("the exchange succeeds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_without_a_common_version_or_identity_are_refused() {
    let addr = start_csms().await;
    let refused = tokio::time::timeout(TIMEOUT, connect(&format!("ws://{addr}/CS001"), "ocpp1.6"))
        .await
        .unwrap();
    assert!(
        matches!(
            refused,
            Err(WsError::Protocol(
                ProtocolError::SecWebSocketSubProtocolError(SubProtocolError::NoSubProtocol)
            ))
        ),
        "{refused:?}"
    );
    let no_identity = tokio::time::timeout(TIMEOUT, connect(&format!("ws://{addr}/"), "ocpp2.0.1"))
        .await
        .unwrap();
    match no_identity {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected HTTP 404, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_call_errors_and_the_connection_stays_open() {
    let addr = start_csms().await;
    let test = async {
        let mut ws = connect(&format!("ws://{addr}/CS002"), "ocpp2.1, ocpp2.0.1")
            .await
            .unwrap();
        let reply = exchange(&mut ws, r#"[2,"a","NoSuchAction",{}]"#).await;
        assert_eq!(
            (&reply[0], &reply[2]),
            (&4.into(), &"NotImplemented".into())
        );
        let reply = exchange(&mut ws, "[2,\"b\",").await;
        assert_eq!(reply[1], "-1");
        assert_eq!(reply[2], "RpcFrameworkError");
        let csr = "x".repeat(5501);
        let reply = exchange(
            &mut ws,
            &format!(r#"[2,"c","SignCertificate",{{"csr":"{csr}"}}]"#),
        )
        .await;
        assert_eq!(reply[2], "PropertyConstraintViolation");
        let reply = exchange(&mut ws, r#"[2,"d","SignCertificate",{"csr":"not a CSR"}]"#).await;
        assert_eq!(reply[0], 3);
        assert_eq!(reply[2]["status"], "Rejected");
        assert_eq!(reply[2]["statusInfo"]["reasonCode"], "InvalidCSR");
        let reply = exchange(&mut ws, r#"[2,"e","Heartbeat",{}]"#).await;
        assert_eq!(reply[0], 3);
        assert!(reply[2]["currentTime"].is_string(), "{reply}");
    };
    tokio::time::timeout(TIMEOUT, test).await.unwrap();
}
