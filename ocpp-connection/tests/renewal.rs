//! The station side of certificate renewal (OCPP 2.0.1 Part 2 A02/A03) over real TLS on
//! loopback: a profile 3 CSMS verifies client certificates against CA1 and records each
//! certificate its verifier accepted or refused; the station renews its TLS configuration
//! through `Credentials::renew_tls`, reconnects with the new certificate and keeps it, and
//! falls back to the previous one when the CSMS refuses the new one.
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocpp_connection::client::{Client, ClientConfig, ClientEvent};
use ocpp_connection::engine::Backoff;
use ocpp_connection::handshake::StationSecurity;
use ocpp_connection::security::{client_tls_config, root_store};
use ocpp_connection::server::{Server, ServerConfig};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::availability::{self, HeartbeatFeature, HeartbeatRequest};
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationFeature, BootNotificationRequest, BootNotificationResponse, BootReason,
    ChargingStation, RegistrationStatus,
};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime,
};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

const IDENTITY: &str = "CS-3";

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

impl availability::CsmsHandler for Csms {
    async fn on_heartbeat(
        &self,
        _charging_station_id: &str,
        _request: HeartbeatRequest,
    ) -> Result<availability::HeartbeatResponse, CallError> {
        Ok(availability::HeartbeatResponse::new(DateTime::now()))
    }
}

/// A CA and what it signs.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

impl Pki {
    fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Pki { ca }
    }

    fn root(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// A leaf certificate with this subject CN and these names, and a fresh key.
    fn leaf(&self, common_name: &str, names: &[&str]) -> Identity {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.ca).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![certificate.der().clone(), self.root()], key)
    }
}

/// The client certificates the CSMS's TLS layer verified, and those it refused.
#[derive(Debug, Default)]
struct Seen {
    accepted: Vec<CertificateDer<'static>>,
    refused: Vec<CertificateDer<'static>>,
}

/// rustls' WebPKI verifier, recording each end-entity certificate it decided on: what the CSMS
/// saw of the station (the certificates all have the identity as CN; they differ in key and
/// serial number).
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ClientCertVerifier>,
    seen: Arc<Mutex<Seen>>,
}

impl ClientCertVerifier for Recording {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now);
        let mut seen = self.seen.lock().unwrap();
        let list = if verified.is_ok() {
            &mut seen.accepted
        } else {
            &mut seen.refused
        };
        list.push(end_entity.clone().into_owned());
        verified
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A profile 3 CSMS for `localhost` requiring client certificates of `pki`, and what its
/// verifier saw.
async fn csms(pki: &Pki) -> (Server, Arc<Mutex<Seen>>) {
    // `ring`'s provider as `security::server_tls_config` uses it (that one's verifier cannot
    // be wrapped); deprecated in rustls 0.23.48 for its lack of post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = Arc::new(root_store([pki.root()]).unwrap());
    let inner = WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(&provider))
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let verifier = Arc::new(Recording {
        inner,
        seen: Arc::clone(&seen),
    });
    let (chain, key) = pki.leaf("csms", &["localhost"]);
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    // No session resumption: a resumed session keeps the certificate of the handshake that
    // made it without verifying it again, so the verifier would miss reconnections.
    tls.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    tls.send_tls13_tickets = 0;
    let config = ServerConfig::new()
        .serve(
            Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
                .with(provisioning::CsmsService(Csms))
                .with(availability::CsmsService(Csms)),
        )
        .with_authentication(|identity: &str| {
            (identity == IDENTITY).then(StationSecurity::mutual_tls)
        })
        .with_tls(Arc::new(tls));
    (Server::bind("127.0.0.1:0", config).await.unwrap(), seen)
}

/// A station TLS configuration trusting `pki` for the CSMS and presenting `certificate`.
fn tls(pki: &Pki, certificate: Identity) -> Arc<rustls::ClientConfig> {
    client_tls_config(root_store([pki.root()]).unwrap(), Some(certificate)).unwrap()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 5 s: {what}");
}

/// The client's events as short lines (engine events left out).
fn recording(events: &Arc<Mutex<Vec<String>>>) -> impl Fn(&ClientEvent<'_>) + Send + Sync {
    let events = Arc::clone(events);
    move |event| {
        let line = match event {
            ClientEvent::Connected { .. } => "connected".to_owned(),
            ClientEvent::Disconnected(_) => "disconnected".to_owned(),
            ClientEvent::ReconnectFailed { failed, after, .. } => {
                format!("failed {failed} after {}s", after.as_secs())
            }
            ClientEvent::CredentialsRenewed => "renewed".to_owned(),
            ClientEvent::CredentialsFellBack { error } => format!("fell back: {error}"),
            ClientEvent::Engine(_) => return,
            _ => "other".to_owned(),
        };
        events.lock().unwrap().push(line);
    }
}

fn count(events: &Arc<Mutex<Vec<String>>>, prefix: &str) -> usize {
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.starts_with(prefix))
        .count()
}

#[tokio::test]
async fn a_renewed_certificate_is_kept_once_it_connects_and_a_refused_one_falls_back() {
    let ca1 = Pki::new("CA1");
    let ca2 = Pki::new("CA2");
    let (server, seen) = csms(&ca1).await;
    let (a, b, c) = (
        ca1.leaf(IDENTITY, &[]),
        ca1.leaf(IDENTITY, &[]),
        ca2.leaf(IDENTITY, &[]),
    );
    let (a_leaf, b_leaf, c_leaf) = (a.0[0].clone(), b.0[0].clone(), c.0[0].clone());
    assert!(
        a_leaf != b_leaf && b_leaf != c_leaf,
        "distinct certificates"
    );
    let events = Arc::new(Mutex::new(Vec::new()));
    let url = format!("wss://localhost:{}/ocpp", server.local_addr().port());
    // A back-off far longer than the test: the attempt after a fall-back does not wait for it.
    let config = ClientConfig::new(url, IDENTITY)
        .offer(Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation))
        .with_tls(tls(&ca1, a))
        .with_connect_timeout(Duration::from_secs(5))
        .with_backoff(Backoff::new(Duration::from_secs(60), Duration::ZERO, 0))
        .on_event(recording(&events));

    // Certificate A.
    let client = Client::connect(config).await.unwrap();
    let booted = client
        .handle()
        .call::<BootNotificationFeature>(BootNotificationRequest::new(
            ChargingStation::new("M", "V"),
            BootReason::PowerUp,
        ))
        .await
        .unwrap();
    assert_eq!(booted.status, RegistrationStatus::Accepted);
    assert_eq!(seen.lock().unwrap().accepted, std::slice::from_ref(&a_leaf));
    let credentials = client.credentials().clone();
    assert!(!credentials.tls_pending());

    // Renewed to B (CA1): the next connection presents B, and B is kept.
    let with_b = tls(&ca1, b);
    credentials.renew_tls(Arc::clone(&with_b));
    assert!(credentials.tls_pending());
    assert!(
        !Arc::ptr_eq(&credentials.tls().unwrap(), &with_b),
        "B is not current before it connected"
    );
    client.handle().reconnect().await;
    wait_until("renewed", || count(&events, "renewed") == 1).await;
    assert_eq!(
        seen.lock().unwrap().accepted,
        [a_leaf.clone(), b_leaf.clone()]
    );
    assert!(!credentials.tls_pending());
    assert!(Arc::ptr_eq(&credentials.tls().unwrap(), &with_b));
    client
        .handle()
        .call::<HeartbeatFeature>(HeartbeatRequest::new())
        .await
        .unwrap();

    // Renewed to C of CA2, which the CSMS does not trust: refused, back to B at once.
    // The station trusts the CSMS (CA1) and presents C.
    credentials.renew_tls(tls(&ca1, c));
    assert!(credentials.tls_pending());
    client.handle().reconnect().await;
    wait_until("fell back", || count(&events, "fell back") == 1).await;
    wait_until("connected again", || count(&events, "connected") == 3).await;
    assert!(!credentials.tls_pending());
    assert!(Arc::ptr_eq(&credentials.tls().unwrap(), &with_b));
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.refused, [c_leaf]);
        assert_eq!(seen.accepted, [a_leaf, b_leaf.clone(), b_leaf]);
    }
    let beat = tokio::time::timeout(
        Duration::from_secs(5),
        client
            .handle()
            .call::<HeartbeatFeature>(HeartbeatRequest::new()),
    )
    .await
    .expect("no answer after the fall-back");
    assert!(beat.is_ok(), "{beat:?}");
    wait_until("registered", || server.registry().contains(IDENTITY)).await;

    client.close().await;
    let events = events.lock().unwrap().clone();
    assert_eq!(
        events,
        [
            "connected",
            "disconnected",
            "connected",
            "renewed",
            "disconnected",
            events[5].as_str(),
            "failed 1 after 0s",
            "connected",
            "disconnected",
        ],
        "{events:?}"
    );
    assert!(events[5].starts_with("fell back: "), "{events:?}");
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_renewal_stays_pending_while_the_csms_cannot_be_reached() {
    let ca1 = Pki::new("CA1");
    // A port nothing listens on (bound, then released).
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let config = ClientConfig::new(format!("wss://localhost:{port}/ocpp"), IDENTITY)
        .offer(Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation))
        .with_tls(tls(&ca1, ca1.leaf(IDENTITY, &[])))
        .with_connect_timeout(Duration::from_secs(2))
        .with_backoff(Backoff::new(Duration::from_millis(20), Duration::ZERO, 0))
        .on_event(recording(&events));
    let client = Client::start(config).await.unwrap();
    let credentials = client.credentials().clone();
    let previous = credentials.tls().unwrap();
    let renewed = tls(&ca1, ca1.leaf(IDENTITY, &[]));
    credentials.renew_tls(Arc::clone(&renewed));
    let failed_before = count(&events, "failed");
    wait_until("attempts failed", || {
        count(&events, "failed") >= failed_before + 3
    })
    .await;
    // The new configuration was never tried against the CSMS: still pending, no fall-back.
    assert!(credentials.tls_pending());
    assert!(Arc::ptr_eq(&credentials.tls().unwrap(), &previous));
    assert_eq!(
        count(&events, "fell back"),
        0,
        "{:?}",
        events.lock().unwrap()
    );
    // A second renewal replaces the pending one.
    credentials.renew_tls(tls(&ca1, ca1.leaf(IDENTITY, &[])));
    assert!(credentials.tls_pending());
    assert!(format!("{credentials:?}").contains("tls_pending: true"));
    client.close().await;
}
