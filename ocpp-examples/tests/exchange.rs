//! The example CSMS and charging station against each other, in-process on 127.0.0.1, in
//! OCPP 2.1, 2.0.1 and 1.6; and raw WebSocket clients for what the station never sends.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ocpp_examples::connection::CallFailed;
use ocpp_examples::csms::Csms;
use ocpp_examples::frame_log::FrameLog;
use ocpp_examples::pki::{CertificateAuthority, StationKey};
use ocpp_examples::station::{
    self, Stage, StationConfig, StationError, EVENT_STREAM_ID, SESSION_ENERGY_WH,
};
use ocpp_messages::v2_1::availability::{HeartbeatFeature, HeartbeatRequest};
use ocpp_messages::v2_1::diagnostics::{
    NotifyPeriodicEventStreamFeature, NotifyPeriodicEventStreamRequest, StreamDataElement,
};
use ocpp_messages::{DateTime, OcppVersion};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Starts a CSMS on a free port; it stops with the test's runtime.
async fn start_csms() -> (Arc<Csms>, SocketAddr) {
    let ca = CertificateAuthority::generate("test CA").unwrap();
    let csms = Arc::new(Csms::new(ca, FrameLog::tracing_only()).with_blocked_id_tag("STOLEN"));
    serve(csms).await
}

/// Serves `csms` on a free port of 127.0.0.1 without security; the server lives as long as
/// the test's runtime.
async fn serve(csms: Arc<Csms>) -> (Arc<Csms>, SocketAddr) {
    let server = csms
        .bind("127.0.0.1:0", csms.server_config())
        .await
        .unwrap();
    let addr = server.local_addr();
    // Dropping the server would not stop it; keep it until the runtime ends.
    std::mem::forget(server);
    (csms, addr)
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

fn config(addr: SocketAddr, station: &str, version: OcppVersion, stage: Stage) -> StationConfig {
    StationConfig {
        versions: vec![version],
        exit_after: Some(stage),
        call_timeout: Duration::from_secs(10),
        certificate_timeout: Duration::from_secs(10),
        ..StationConfig::new(format!("ws://{addr}/ocpp/{station}"))
    }
}

async fn run_station(config: StationConfig) -> Result<(), StationError> {
    tokio::time::timeout(TIMEOUT, station::run(config, std::future::pending()))
        .await
        .expect("the station finishes in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_station_gets_a_certificate_for_its_key() {
    let (_csms, addr) = start_csms().await;
    let config = config(addr, "CS001", OcppVersion::V2_0_1, Stage::Certificate);
    run_station(config).await.expect("the exchange succeeds");
}

/// The whole script in `version`; the CSMS has recorded one transaction with the energy the
/// station delivered.
async fn a_whole_session(
    version: OcppVersion,
    station: &str,
) -> ocpp_examples::sessions::Transaction {
    let (csms, addr) = start_csms().await;
    run_station(config(addr, station, version, Stage::Session))
        .await
        .expect("the session succeeds");
    let transactions = csms.sessions().transactions(station);
    assert_eq!(transactions.len(), 1, "{transactions:?}");
    let transaction = transactions.into_iter().next().unwrap();
    assert!(!transaction.is_ongoing(), "{transaction:?}");
    assert_eq!(transaction.energy_wh(), Some(SESSION_ENERGY_WH as f64));
    assert_eq!(transaction.id_tag.as_deref(), Some("EXAMPLE-TAG-1"));
    assert_eq!(transaction.connector, Some(1));
    assert_eq!(transaction.stop_reason.as_deref(), Some("Local"));
    transaction
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2_0_1_station_charges_a_whole_session() {
    let transaction = a_whole_session(OcppVersion::V2_0_1, "CS010").await;
    // The station chose the id: a UUID.
    assert_eq!(transaction.id.len(), 36, "{transaction:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2_1_station_charges_a_whole_session_and_streams_its_readings() {
    let (csms, addr) = start_csms().await;
    let station = "CS021";
    run_station(config(addr, station, OcppVersion::V2_1, Stage::Session))
        .await
        .expect("the session succeeds");
    let transactions = csms.sessions().transactions(station);
    assert_eq!(transactions.len(), 1, "{transactions:?}");
    let transaction = &transactions[0];
    assert_eq!(transaction.energy_wh(), Some(SESSION_ENERGY_WH as f64));
    assert_eq!(transaction.id_tag.as_deref(), Some("EXAMPLE-TAG-1"));
    assert_eq!(transaction.stop_reason.as_deref(), Some("Local"));
    assert_eq!(transaction.id.len(), 36, "{transaction:?}");
    // The readings came in one NotifyPeriodicEventStream SEND between Open and Close.
    let stream = csms.sessions().stream(station, EVENT_STREAM_ID).unwrap();
    assert!(stream.closed, "{stream:?}");
    assert_eq!(stream.variable_monitoring_id, 1);
    let values: Vec<&str> = stream.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["10000", "11000", "12500"]);
    assert!(
        stream
            .values
            .windows(2)
            .all(|w| w[0].offset_s <= w[1].offset_s && w[0].basetime == w[1].basetime),
        "{stream:?}"
    );
    assert_eq!(stream.pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_6_charge_point_charges_a_whole_session() {
    let transaction = a_whole_session(OcppVersion::V1_6, "CP016").await;
    // The Central System gave the id.
    assert_eq!(transaction.id, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_id_tag_does_not_charge_in_either_version() {
    let (csms, addr) = start_csms().await;
    for (version, station) in [(OcppVersion::V1_6, "CP017"), (OcppVersion::V2_0_1, "CS017")] {
        let config = StationConfig {
            id_tag: "stolen".to_owned(),
            ..config(addr, station, version, Stage::Session)
        };
        match run_station(config).await {
            Err(StationError::Refused { action, answer }) => {
                assert_eq!(
                    (action, answer.as_str()),
                    ("Authorize", "Blocked"),
                    "{version}"
                )
            }
            other => panic!("{version}: expected Authorize to be refused, got {other:?}"),
        }
        assert!(
            csms.sessions().transactions(station).is_empty(),
            "{version}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_without_a_common_version_or_identity_are_refused() {
    let (_csms, addr) = start_csms().await;
    let refused = tokio::time::timeout(
        TIMEOUT,
        connect(&format!("ws://{addr}/CS001"), "ocpp1.5, ocpp2.2"),
    )
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
        // ocpp-connection answers a path without an identity 400 (Bad Request); 404 is for
        // an identity an authentication hook does not know.
        Err(WsError::Http(response)) => assert_eq!(response.status(), 400),
        other => panic!("expected HTTP 400, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_call_errors_and_the_connection_stays_open() {
    let (_csms, addr) = start_csms().await;
    let test = async {
        let mut ws = connect(&format!("ws://{addr}/CS002"), "ocpp2.2, ocpp2.0.1")
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

/// What the 2.0.1 CSMS answered NotSupported before: Authorize, TransactionEvent, MeterValues,
/// DataTransfer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2_0_1_csms_answers_every_message_of_a_session() {
    let (csms, addr) = start_csms().await;
    let test = async {
        let mut ws = connect(&format!("ws://{addr}/CS003"), "ocpp2.0.1")
            .await
            .unwrap();
        let token = r#"{"idToken":"T1","type":"ISO14443"}"#;
        let reply = exchange(
            &mut ws,
            &format!(r#"[2,"a","Authorize",{{"idToken":{token}}}]"#),
        )
        .await;
        assert_eq!(reply[2]["idTokenInfo"]["status"], "Accepted", "{reply}");
        let started = format!(
            r#"[2,"b","TransactionEvent",{{"eventType":"Started","timestamp":"2024-01-01T10:00:00Z",
            "triggerReason":"Authorized","seqNo":0,"transactionInfo":{{"transactionId":"tx-1"}},
            "evse":{{"id":1}},"idToken":{token},"meterValue":[{{"timestamp":"2024-01-01T10:00:00Z",
            "sampledValue":[{{"value":2.5,"unitOfMeasure":{{"unit":"kWh"}}}}]}}]}}]"#
        );
        let reply = exchange(&mut ws, &started).await;
        assert_eq!(reply[2]["idTokenInfo"]["status"], "Accepted", "{reply}");
        // A meter reading of the EVSE, outside TransactionEvent: it goes to the transaction.
        let reply = exchange(
            &mut ws,
            r#"[2,"c","MeterValues",{"evseId":1,"meterValue":[{"timestamp":"2024-01-01T10:30:00Z",
            "sampledValue":[{"value":3000,"measurand":"Energy.Active.Import.Register"}]}]}]"#,
        )
        .await;
        assert_eq!(reply, serde_json::json!([3, "c", {}]));
        let reply = exchange(
            &mut ws,
            r#"[2,"d","TransactionEvent",{"eventType":"Ended","timestamp":"2024-01-01T11:00:00Z",
            "triggerReason":"EVDeparted","seqNo":1,"transactionInfo":{"transactionId":"tx-1",
            "stoppedReason":"EVDisconnected"},"meterValue":[{"timestamp":"2024-01-01T11:00:00Z",
            "sampledValue":[{"value":4,"unitOfMeasure":{"unit":"Wh","multiplier":3}}]}]}]"#,
        )
        .await;
        assert_eq!(reply, serde_json::json!([3, "d", {}]));
        let reply = exchange(
            &mut ws,
            r#"[2,"e","DataTransfer",{"vendorId":"org.ocpp-rs.example","messageId":"Echo","data":{"n":[1,2]}}]"#,
        )
        .await;
        assert_eq!(
            reply[2],
            serde_json::json!({"status":"Accepted","data":{"n":[1,2]}})
        );
        let reply = exchange(
            &mut ws,
            r#"[2,"f","DataTransfer",{"vendorId":"com.other"}]"#,
        )
        .await;
        assert_eq!(reply[2], serde_json::json!({"status":"UnknownVendorId"}));
    };
    tokio::time::timeout(TIMEOUT, test).await.unwrap();
    let transaction = csms.sessions().transaction("CS003", "tx-1").unwrap();
    assert_eq!(transaction.energy_wh(), Some(1500.0), "{transaction:?}");
    assert_eq!(transaction.stop_reason.as_deref(), Some("EVDisconnected"));
}

/// A 1.6 connection: the CSMS answers in 1.6's codes, in 1.6's spelling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_1_6_csms_answers_in_1_6_codes() {
    let (csms, addr) = start_csms().await;
    let test = async {
        let mut ws = connect(&format!("ws://{addr}/CP004"), "ocpp1.6")
            .await
            .unwrap();
        let reply = exchange(&mut ws, r#"[2,"a","NoSuchAction",{}]"#).await;
        assert_eq!(reply[2], "NotImplemented", "{reply}");
        let reply = exchange(&mut ws, "[2,\"b\",").await;
        assert_eq!(reply[2], "FormationViolation", "{reply}");
        let reply = exchange(&mut ws, r#"[2,"c","Authorize",{}]"#).await;
        assert_eq!(reply[2], "ProtocolError", "{reply}");
        let reply = exchange(&mut ws, r#"[2,"d","Authorize",{"idTag":"Stolen"}]"#).await;
        assert_eq!(reply[2]["idTagInfo"]["status"], "Blocked", "{reply}");
        // A 2.0.1 message on a 1.6 connection.
        let reply = exchange(&mut ws, r#"[2,"e","TransactionEvent",{}]"#).await;
        assert_eq!(reply[2], "NotImplemented", "{reply}");
        let reply = exchange(
            &mut ws,
            r#"[2,"f","StartTransaction",{"connectorId":2,"idTag":"T2","meterStart":100,"timestamp":"2024-01-01T10:00:00Z"}]"#,
        )
        .await;
        assert_eq!(reply[2]["idTagInfo"]["status"], "Accepted", "{reply}");
        assert_eq!(reply[2]["transactionId"], 1, "{reply}");
        // A second start with the same tag while the first runs.
        let reply = exchange(
            &mut ws,
            r#"[2,"g","StartTransaction",{"connectorId":1,"idTag":"t2","meterStart":0,"timestamp":"2024-01-01T10:00:00Z"}]"#,
        )
        .await;
        assert_eq!(reply[2]["idTagInfo"]["status"], "ConcurrentTx", "{reply}");
        // Meter values without a transaction id go to the transaction on their connector.
        let reply = exchange(
            &mut ws,
            r#"[2,"h","MeterValues",{"connectorId":2,"meterValue":[{"timestamp":"2024-01-01T10:30:00Z","sampledValue":[{"value":"0.4","unit":"kWh"}]}]}]"#,
        )
        .await;
        assert_eq!(reply, serde_json::json!([3, "h", {}]));
        let reply = exchange(
            &mut ws,
            r#"[2,"i","StopTransaction",{"transactionId":1,"meterStop":700,"timestamp":"2024-01-01T11:00:00Z","idTag":"T2"}]"#,
        )
        .await;
        assert_eq!(reply[2]["idTagInfo"]["status"], "Accepted", "{reply}");
        let reply = exchange(
            &mut ws,
            r#"[2,"j","DataTransfer",{"vendorId":"org.ocpp-rs.example","messageId":"Other"}]"#,
        )
        .await;
        assert_eq!(reply[2], serde_json::json!({"status":"UnknownMessageId"}));
        let reply = exchange(&mut ws, r#"[2,"k","SignCertificate",{"csr":"not a CSR"}]"#).await;
        assert_eq!(reply[2], serde_json::json!({"status":"Rejected"}));
    };
    tokio::time::timeout(TIMEOUT, test).await.unwrap();
    let transaction = csms.sessions().transaction("CP004", "1").unwrap();
    assert_eq!(transaction.energy_wh(), Some(600.0), "{transaction:?}");
    assert_eq!(transaction.connector, Some(2));
}

/// A station offering both versions gets the one it lists first: the CSMS chooses a dispatcher
/// per connection, so both run side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_station_s_first_choice_picks_the_dispatcher() {
    let (csms, addr) = start_csms().await;
    // Two id tags: one tag cannot charge at two stations at once (ConcurrentTx).
    let both = |first, second, station: &str| StationConfig {
        versions: vec![first, second],
        id_tag: format!("TAG-{station}"),
        ..config(addr, station, first, Stage::Session)
    };
    let (old, new) = tokio::join!(
        run_station(both(OcppVersion::V1_6, OcppVersion::V2_0_1, "CP020")),
        run_station(both(OcppVersion::V2_0_1, OcppVersion::V1_6, "CS020")),
    );
    old.unwrap();
    new.unwrap();
    // 1.6 ids come from the CSMS, 2.0.1 ids from the station.
    assert_eq!(csms.sessions().transactions("CP020")[0].id, "1");
    assert_eq!(csms.sessions().transactions("CS020")[0].id.len(), 36);
}

/// Reads the next text frame, parsed; `None` if none comes within `wait`.
async fn next_frame(ws: &mut Client, wait: Duration) -> Option<Value> {
    tokio::time::timeout(wait, async {
        loop {
            match ws.next().await.unwrap().unwrap() {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => {}
            }
        }
    })
    .await
    .ok()
}

/// A 2.1 station's SENDs: delivered to the CSMS's handler (the valid one recorded), never
/// answered, valid or not; the CALL after them gets the next frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2_1_csms_takes_sends_without_answering_them() {
    let (csms, addr) = start_csms().await;
    let test = async {
        let mut ws = connect(&format!("ws://{addr}/CS022"), "ocpp2.2, ocpp2.1, ocpp2.0.1")
            .await
            .unwrap();
        let reply = exchange(
            &mut ws,
            r#"[2,"a","OpenPeriodicEventStream",{"constantStreamData":{"id":5,"variableMonitoringId":9,"params":{"interval":60}}}]"#,
        )
        .await;
        assert_eq!(reply, serde_json::json!([3, "a", {"status": "Accepted"}]));
        let sends = [
            r#"[6,"s1","NotifyPeriodicEventStream",{"id":5,"pending":1,"basetime":"2025-01-01T00:00:00Z","data":[{"t":0,"v":"230.1"},{"t":0.5,"v":"229.8"}]}]"#,
            // Invalid: no data. Not delivered, and still not answered.
            r#"[6,"s2","NotifyPeriodicEventStream",{"id":5,"pending":0,"basetime":"2025-01-01T00:00:01Z"}]"#,
            // Unknown action, and a CALL action sent as a SEND.
            r#"[6,"s3","NoSuchAction",{}]"#,
            r#"[6,"s4","Heartbeat",{}]"#,
            // For a stream that is not open: logged and dropped.
            r#"[6,"s5","NotifyPeriodicEventStream",{"id":6,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[{"t":0,"v":"1"}]}]"#,
        ];
        for send in sends {
            ws.send(Message::text(send)).await.unwrap();
        }
        // Nothing comes back for them: the first frame is the answer to this CALL.
        let reply = exchange(&mut ws, r#"[2,"h","Heartbeat",{}]"#).await;
        assert_eq!((&reply[0], &reply[1]), (&3.into(), &"h".into()), "{reply}");
        // The SEND's action as a CALL is refused with a CALLERROR.
        let reply = exchange(
            &mut ws,
            r#"[2,"n","NotifyPeriodicEventStream",{"id":5,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[{"t":0,"v":"1"}]}]"#,
        )
        .await;
        assert_eq!((&reply[0], &reply[1]), (&4.into(), &"n".into()), "{reply}");
        let reply = exchange(&mut ws, r#"[2,"c","ClosePeriodicEventStream",{"id":5}]"#).await;
        assert_eq!(reply, serde_json::json!([3, "c", {}]));
        assert_eq!(next_frame(&mut ws, Duration::from_millis(300)).await, None);
    };
    tokio::time::timeout(TIMEOUT, test).await.unwrap();
    let stream = csms.sessions().stream("CS022", 5).unwrap();
    assert!(stream.closed);
    assert_eq!(stream.variable_monitoring_id, 9);
    assert_eq!(stream.pending, 1);
    let values: Vec<(f64, &str)> = stream
        .values
        .iter()
        .map(|v| (v.offset_s, v.value.as_str()))
        .collect();
    assert_eq!(values, [(0.0, "230.1"), (0.5, "229.8")]);
    assert!(csms.sessions().stream("CS022", 6).is_none());
}

/// The CSMS's own CALL (CertificateSigned, after a SignCertificate) answered with a CALLRESULT
/// its schema rejects: under 2.1 the CSMS sends a CALLRESULTERROR with that CALLRESULT's id;
/// under 2.0.1 it sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_call_result_gets_a_call_result_error_in_2_1_only() {
    let (_csms, addr) = start_csms().await;
    let test = async {
        for (subprotocol, station) in [("ocpp2.1", "CS023"), ("ocpp2.0.1", "CS024")] {
            let mut ws = connect(&format!("ws://{addr}/{station}"), subprotocol)
                .await
                .unwrap();
            let key = StationKey::generate(station, "Test CPO").unwrap();
            let sign = serde_json::json!([2, "sign", "SignCertificate", {"csr": key.csr_pem()}]);
            let reply = exchange(&mut ws, &sign.to_string()).await;
            assert_eq!(reply[2]["status"], "Accepted", "{subprotocol}: {reply}");
            let call = next_frame(&mut ws, TIMEOUT).await.unwrap();
            assert_eq!(
                (&call[0], &call[2]),
                (&2.into(), &"CertificateSigned".into()),
                "{subprotocol}: {call}"
            );
            let id = call[1].as_str().unwrap().to_owned();
            let invalid = serde_json::json!([3, id, {"status": "Perhaps"}]);
            ws.send(Message::text(invalid.to_string())).await.unwrap();
            if subprotocol == "ocpp2.1" {
                let error = next_frame(&mut ws, TIMEOUT).await.unwrap();
                assert_eq!(error[0], 5, "{error}");
                assert_eq!(error[1], id.as_str(), "{error}");
                assert_eq!(error[2], "PropertyConstraintViolation", "{error}");
                assert!(error[3].is_string() && error[4].is_object(), "{error}");
            }
            // Nothing else comes: the next frame answers this CALL.
            let reply = exchange(&mut ws, r#"[2,"after","Heartbeat",{}]"#).await;
            assert_eq!(
                (&reply[0], &reply[1]),
                (&3.into(), &"after".into()),
                "{subprotocol}: {reply}"
            );
        }
    };
    tokio::time::timeout(TIMEOUT, test).await.unwrap();
}

/// `Peer::send` sends only what is a SEND from this side in the connection's version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_sends_are_sent_as_sends() {
    let (csms, addr) = start_csms().await;
    let test = async {
        let mut ws = connect(&format!("ws://{addr}/CS025"), "ocpp2.1")
            .await
            .unwrap();
        exchange(&mut ws, r#"[2,"h","Heartbeat",{}]"#).await;
        let peer = csms.peer("CS025").unwrap();
        let data = vec![StreamDataElement::new(0.0, "1")];
        let notify = NotifyPeriodicEventStreamRequest::new(data, 1, 0, DateTime::now());
        // The station sends NotifyPeriodicEventStream, not the CSMS.
        let refused = peer.send::<NotifyPeriodicEventStreamFeature>(&notify).await;
        assert!(
            matches!(refused, Err(CallFailed::NotASend { .. })),
            "{refused:?}"
        );
        let refused = peer
            .send::<HeartbeatFeature>(&HeartbeatRequest::new())
            .await;
        assert!(
            matches!(refused, Err(CallFailed::NotASend { .. })),
            "{refused:?}"
        );
        assert_eq!(next_frame(&mut ws, Duration::from_millis(300)).await, None);
    };
    tokio::time::timeout(TIMEOUT, test).await.unwrap();
}

/// A frame of a message type the version does not define: OCPP 1.6 and 2.1 ignore it (no
/// answer: the next frame answers the next CALL), 2.0.1 answers `MessageTypeNotSupported`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_message_types_are_ignored_in_1_6_and_2_1_and_answered_in_2_0_1() {
    let (_csms, addr) = start_csms().await;
    let test = async {
        for (subprotocol, station) in [
            ("ocpp1.6", "CP030"),
            ("ocpp2.1", "CS031"),
            ("ocpp2.0.1", "CS032"),
        ] {
            let mut ws = connect(&format!("ws://{addr}/{station}"), subprotocol)
                .await
                .unwrap();
            ws.send(Message::text(r#"[7,"u1","Heartbeat",{}]"#))
                .await
                .unwrap();
            if subprotocol == "ocpp2.0.1" {
                let error = next_frame(&mut ws, TIMEOUT).await.unwrap();
                assert_eq!(
                    (&error[0], &error[1], &error[2]),
                    (&4.into(), &"u1".into(), &"MessageTypeNotSupported".into()),
                    "{error}"
                );
            }
            let reply = exchange(&mut ws, r#"[2,"h","Heartbeat",{}]"#).await;
            assert_eq!(
                (&reply[0], &reply[1]),
                (&3.into(), &"h".into()),
                "{subprotocol}: {reply}"
            );
        }
    };
    tokio::time::timeout(TIMEOUT, test).await.unwrap();
}

/// Binary messages are read as frames too: a CALL is answered (in a text frame), bytes that
/// are not UTF-8 are an unreadable frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_messages_are_read_as_frames() {
    let (_csms, addr) = start_csms().await;
    let test = async {
        let mut ws = connect(&format!("ws://{addr}/CS033"), "ocpp2.0.1")
            .await
            .unwrap();
        ws.send(Message::binary(&br#"[2,"b","Heartbeat",{}]"#[..]))
            .await
            .unwrap();
        let reply = next_frame(&mut ws, TIMEOUT).await.unwrap();
        assert_eq!((&reply[0], &reply[1]), (&3.into(), &"b".into()), "{reply}");
        ws.send(Message::binary(&b"[2,\"c\",\"Heart\xffbeat\",{}]"[..]))
            .await
            .unwrap();
        let reply = next_frame(&mut ws, TIMEOUT).await.unwrap();
        assert_eq!(
            (&reply[0], &reply[1], &reply[2]),
            (&4.into(), &"-1".into(), &"RpcFrameworkError".into()),
            "{reply}"
        );
    };
    tokio::time::timeout(TIMEOUT, test).await.unwrap();
}

/// The CSMS's CALL times out: the late answer is ignored (nothing sent back), and the next
/// CALL goes out (the timed-out one no longer counts as pending).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_call_is_forgotten() {
    let ca = CertificateAuthority::generate("test CA").unwrap();
    let csms = Arc::new(
        Csms::new(ca, FrameLog::tracing_only()).with_call_timeout(Duration::from_millis(200)),
    );
    let (csms, addr) = serve(csms).await;
    let test = async {
        let mut ws = connect(&format!("ws://{addr}/CS034"), "ocpp2.0.1")
            .await
            .unwrap();
        let key = StationKey::generate("CS034", "Test CPO").unwrap();
        let sign = serde_json::json!([2, "sign-1", "SignCertificate", {"csr": key.csr_pem()}]);
        let reply = exchange(&mut ws, &sign.to_string()).await;
        assert_eq!(reply[2]["status"], "Accepted", "{reply}");
        let first = next_frame(&mut ws, TIMEOUT).await.unwrap();
        assert_eq!(first[2], "CertificateSigned", "{first}");
        // Answered after the CSMS gave up.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let late = serde_json::json!([3, first[1], {"status": "Accepted"}]);
        ws.send(Message::text(late.to_string())).await.unwrap();
        let sign = serde_json::json!([2, "sign-2", "SignCertificate", {"csr": key.csr_pem()}]);
        let reply = exchange(&mut ws, &sign.to_string()).await;
        assert_eq!(
            (&reply[1], &reply[2]["status"]),
            (&"sign-2".into(), &"Accepted".into()),
            "{reply}"
        );
        let second = next_frame(&mut ws, TIMEOUT).await.unwrap();
        assert_eq!(second[2], "CertificateSigned", "{second}");
        assert_ne!(second[1], first[1]);
        let answer = serde_json::json!([3, second[1], {"status": "Accepted"}]);
        ws.send(Message::text(answer.to_string())).await.unwrap();
        assert_eq!(next_frame(&mut ws, Duration::from_millis(300)).await, None);
        // Nothing of ours is pending: the CSMS's next CALL goes out at once.
        let peer = csms.peer("CS034").unwrap();
        let third = tokio::spawn(async move {
            peer.call::<ocpp_messages::v2_0_1::security::CertificateSignedFeature>(
                &ocpp_messages::v2_0_1::security::CertificateSignedRequest::new(
                    "-----BEGIN CERTIFICATE-----".to_owned(),
                ),
            )
            .await
        });
        let call = next_frame(&mut ws, Duration::from_secs(2)).await.unwrap();
        assert_eq!(call[2], "CertificateSigned", "{call}");
        let answer = serde_json::json!([3, call[1], {"status": "Rejected"}]);
        ws.send(Message::text(answer.to_string())).await.unwrap();
        let answered = third.await.unwrap().unwrap();
        assert_eq!(answered.status.to_string(), "Rejected");
    };
    tokio::time::timeout(TIMEOUT, test).await.unwrap();
}
