//! Security profiles 1, 2 and 3 between the example CSMS and station, in-process on 127.0.0.1
//! (OCPP 2.0.1): a throw-away CA made with rcgen signs the CSMS's certificate for `localhost`
//! and the stations' certificates, and is the CSMS's own CA (it signs their CSRs too).
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ocpp_connection::client::ConnectError;
use ocpp_connection::server::Server;
use ocpp_examples::csms::Csms;
use ocpp_examples::frame_log::FrameLog;
use ocpp_examples::pki::{CertificateAuthority, LeafUsage, StationKey};
use ocpp_examples::profiles::{ClientSecurity, CsmsSecurity};
use ocpp_examples::station::{self, Stage, StationConfig, StationError};
use ocpp_messages::OcppVersion;
use support::Pki;

const PASSWORD: &str = "0123456789abcdef";
const TIMEOUT: Duration = Duration::from_secs(30);

/// A CSMS with `pki`'s CA in `profile`; the server lives as long as the test's runtime.
async fn start_csms(pki: &Pki, profile: u8, passwords: &[(&str, &str)]) -> (Arc<Csms>, SocketAddr) {
    let ca = CertificateAuthority::from_pem(&pki.ca_pem(), &pki.ca_key_pem).unwrap();
    let csms = Arc::new(Csms::new(ca, FrameLog::tracing_only()));
    let security = CsmsSecurity {
        profile,
        passwords: passwords
            .iter()
            .map(|(id, pw)| ((*id).to_owned(), (*pw).to_owned()))
            .collect(),
        tls: Some(pki.server.clone()),
        client_ca: Some(csms.ca().certificate_pem().as_bytes().to_vec()),
    };
    let config = security.apply(csms.server_config()).unwrap();
    let server: Server = csms.bind("127.0.0.1:0", config).await.unwrap();
    let addr = server.local_addr();
    // Dropping the server would stop it accepting; keep it until the runtime ends.
    std::mem::forget(server);
    (csms, addr)
}

async fn run_station(url: String, security: ClientSecurity) -> Result<(), StationError> {
    let config = StationConfig {
        versions: vec![OcppVersion::V2_0_1],
        exit_after: Some(Stage::Certificate),
        call_timeout: Duration::from_secs(10),
        certificate_timeout: Duration::from_secs(10),
        security,
        ..StationConfig::new(url)
    };
    tokio::time::timeout(TIMEOUT, station::run(config, std::future::pending()))
        .await
        .expect("the station finishes in time")
}

fn refused_with(result: &Result<(), StationError>) -> Option<u16> {
    match result {
        Err(StationError::Connect(ConnectError::Refused { status })) => Some(*status),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_1_lets_in_the_right_password_only() {
    let pki = Pki::new("profile 1 CA");
    let (_csms, addr) = start_csms(&pki, 1, &[("CS101", PASSWORD), ("CS102", PASSWORD)]).await;
    let basic = |password: &str| ClientSecurity {
        profile: 1,
        password: Some(password.to_owned()),
        ..ClientSecurity::default()
    };
    run_station(format!("ws://{addr}/ocpp/CS101"), basic(PASSWORD))
        .await
        .expect("the right password lets the station in");
    let wrong = run_station(format!("ws://{addr}/ocpp/CS101"), basic("0123456789abcdeX")).await;
    assert_eq!(refused_with(&wrong), Some(401), "{wrong:?}");
    let unknown = run_station(format!("ws://{addr}/ocpp/CS109"), basic(PASSWORD)).await;
    assert_eq!(refused_with(&unknown), Some(401), "{unknown:?}");
    let none = run_station(format!("ws://{addr}/ocpp/CS102"), ClientSecurity::default()).await;
    assert_eq!(refused_with(&none), Some(401), "{none:?}");
    let missing = run_station(
        format!("ws://{addr}/ocpp/CS102"),
        ClientSecurity {
            profile: 1,
            ..ClientSecurity::default()
        },
    )
    .await;
    assert!(
        matches!(missing, Err(StationError::Security(_))),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_2_needs_tls_a_trusted_csms_and_the_password() {
    let pki = Pki::new("profile 2 CA");
    let (_csms, addr) = start_csms(&pki, 2, &[("CS201", PASSWORD)]).await;
    let port = addr.port();
    let tls = |ca: String, password: &str| ClientSecurity {
        profile: 2,
        password: Some(password.to_owned()),
        ca: Some(ca.into_bytes()),
        certificate: None,
    };
    let url = format!("wss://localhost:{port}/CS201");
    run_station(url.clone(), tls(pki.ca_pem(), PASSWORD))
        .await
        .expect("profile 2 lets the station in");
    let wrong = run_station(url.clone(), tls(pki.ca_pem(), "nope-nope-nope-nope")).await;
    assert_eq!(refused_with(&wrong), Some(401), "{wrong:?}");
    let stranger = Pki::new("another CA");
    let untrusted = run_station(url, tls(stranger.ca_pem(), PASSWORD)).await;
    assert!(
        matches!(untrusted, Err(StationError::Connect(ConnectError::Io(_)))),
        "{untrusted:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_3_takes_certificates_of_its_ca_for_the_identity() {
    let pki = Pki::new("profile 3 CA");
    let (csms, addr) = start_csms(&pki, 3, &[]).await;
    let port = addr.port();
    let mutual = |certificate: (Vec<u8>, Vec<u8>)| ClientSecurity {
        profile: 3,
        password: None,
        ca: Some(pki.ca_pem().into_bytes()),
        certificate: Some(certificate),
    };
    let url = format!("wss://localhost:{port}/CS301");
    run_station(url.clone(), mutual(pki.leaf("CS301", &[])))
        .await
        .expect("a certificate for the identity lets the station in");
    // A certificate the CSMS's CA signed from a CSR, as for CertificateSigned.
    let key = StationKey::generate("CS301", "Test CPO").unwrap();
    let chain = csms
        .ca()
        .sign_csr_for(key.csr_pem(), LeafUsage::ChargingStation, "CS301")
        .unwrap();
    run_station(
        url.clone(),
        mutual((chain.into_bytes(), key.private_key_pem().into_bytes())),
    )
    .await
    .expect("the certificate the CSMS signed lets the station in");
    let impostor = run_station(url.clone(), mutual(pki.leaf("CS309", &[]))).await;
    assert_eq!(refused_with(&impostor), Some(401), "{impostor:?}");
    let stranger = Pki::new("another CA");
    let foreign = run_station(url, mutual(stranger.leaf("CS301", &[]))).await;
    assert!(
        foreign.is_err() && refused_with(&foreign).is_none(),
        "{foreign:?}"
    );
    // The CSMS signs CSRs for the station's own identity only.
    let other = StationKey::generate("CS302", "Test CPO").unwrap();
    assert!(csms
        .ca()
        .sign_csr_for(other.csr_pem(), LeafUsage::ChargingStation, "CS301")
        .is_err());
}
