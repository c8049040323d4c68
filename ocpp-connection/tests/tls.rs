//! Security profiles 2 and 3 over real TLS on loopback: a throw-away CA signs the CSMS's
//! certificate (for `localhost`) and the stations' client certificates; the stations are
//! `Client`s, the CSMS a `Server` that serves both profiles on one port.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use ocpp_connection::client::{Client, ClientConfig, ConnectError};
use ocpp_connection::handshake::StationSecurity;
use ocpp_connection::security::{
    self, client_tls_config, root_store, server_tls_config, ClientCertificates,
};
use ocpp_connection::server::{Server, ServerConfig};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationFeature, BootNotificationRequest, BootNotificationResponse, BootReason,
    ChargingStation, RegistrationStatus,
};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const PASSWORD: &str = "0123456789abcdef";

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

    /// A leaf certificate with this subject CN and these names.
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

fn known(identity: &str) -> Option<StationSecurity> {
    match identity {
        "CS-2" => Some(StationSecurity::tls_basic(PASSWORD)),
        "CS-3" => Some(StationSecurity::mutual_tls()),
        _ => None,
    }
}

async fn tls_server(pki: &Pki) -> Server {
    let (chain, key) = pki.leaf("csms", &["localhost"]);
    let clients = ClientCertificates::Optional(root_store([pki.root()]).unwrap());
    let tls = server_tls_config(chain, key, clients).unwrap();
    let config = ServerConfig::new()
        .serve(
            Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with(provisioning::CsmsService(Csms)),
        )
        .with_authentication(known)
        .with_tls(tls);
    Server::bind("127.0.0.1:0", config).await.unwrap()
}

fn station(server: &Server, identity: &str) -> ClientConfig {
    let url = format!("wss://localhost:{}/ocpp", server.local_addr().port());
    ClientConfig::new(url, identity)
        .offer(Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation))
        .with_connect_timeout(Duration::from_secs(5))
}

fn trusting(pki: &Pki, certificate: Option<Identity>) -> Arc<tokio_rustls::rustls::ClientConfig> {
    client_tls_config(root_store([pki.root()]).unwrap(), certificate).unwrap()
}

fn boot() -> BootNotificationRequest {
    BootNotificationRequest::new(ChargingStation::new("M", "V"), BootReason::PowerUp)
}

async fn boots(config: ClientConfig) -> Result<(), ConnectError> {
    let client = Client::connect(config).await?;
    let booted = client
        .handle()
        .call::<BootNotificationFeature>(boot())
        .await
        .unwrap();
    assert_eq!(booted.status, RegistrationStatus::Accepted);
    client.close().await;
    Ok(())
}

#[tokio::test]
async fn profile_2_tls_with_basic() {
    let pki = Pki::new("test CA");
    let server = tls_server(&pki).await;
    let good = station(&server, "CS-2")
        .with_tls(trusting(&pki, None))
        .with_password(PASSWORD);
    boots(good).await.unwrap();

    let wrong = station(&server, "CS-2")
        .with_tls(trusting(&pki, None))
        .with_password("0123456789abcdeX");
    assert!(matches!(
        boots(wrong).await,
        Err(ConnectError::Refused { status: 401 })
    ));
    // A station that trusts another CA refuses the CSMS's certificate.
    let other = Pki::new("another CA");
    let stranger = station(&server, "CS-2")
        .with_tls(trusting(&other, None))
        .with_password(PASSWORD);
    let error = boots(stranger).await.unwrap_err();
    assert!(matches!(error, ConnectError::Io(_)), "{error:?}");
    // The certificate names `localhost`, not 127.0.0.1: the host name is checked.
    let by_address = ClientConfig::new(
        format!("wss://127.0.0.1:{}/ocpp", server.local_addr().port()),
        "CS-2",
    )
    .offer(Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation))
    .with_tls(trusting(&pki, None))
    .with_password(PASSWORD);
    assert!(matches!(boots(by_address).await, Err(ConnectError::Io(_))));
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn profile_3_mutual_tls_with_the_identity_in_the_certificate() {
    let pki = Pki::new("test CA");
    let server = tls_server(&pki).await;
    let mine = pki.leaf("CS-3", &[]);
    boots(station(&server, "CS-3").with_tls(trusting(&pki, Some(mine))))
        .await
        .unwrap();
    // Another station's certificate, or none: refused.
    let theirs = pki.leaf("CS-9", &[]);
    assert!(matches!(
        boots(station(&server, "CS-3").with_tls(trusting(&pki, Some(theirs)))).await,
        Err(ConnectError::Refused { status: 401 })
    ));
    assert!(matches!(
        boots(station(&server, "CS-3").with_tls(trusting(&pki, None))).await,
        Err(ConnectError::Refused { status: 401 })
    ));
    // A certificate from a CA the CSMS does not trust fails the TLS handshake.
    let other = Pki::new("another CA");
    let forged = other.leaf("CS-3", &[]);
    let error = boots(station(&server, "CS-3").with_tls(trusting(&pki, Some(forged))))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ConnectError::Io(_) | ConnectError::WebSocket(_)),
        "{error:?}"
    );
    assert_eq!(
        security::certificate_common_name(&pki.leaf("CS-3", &[]).0[0]).unwrap(),
        "CS-3"
    );
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_profile_2_station_is_refused_without_tls() {
    let config = ServerConfig::new()
        .serve(
            Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with(provisioning::CsmsService(Csms)),
        )
        .with_authentication(known);
    let server = Server::bind("127.0.0.1:0", config).await.unwrap();
    let plain = ClientConfig::new(format!("ws://{}/ocpp", server.local_addr()), "CS-2")
        .offer(Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation))
        .with_password(PASSWORD);
    assert!(matches!(
        boots(plain).await,
        Err(ConnectError::Refused { status: 401 })
    ));
    server.shutdown(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn the_certificate_and_the_trusted_cas_are_replaced_while_the_server_runs() {
    let old = Pki::new("old CA");
    let server = tls_server(&old).await;
    let new = Pki::new("new CA");
    // A station that knows only the new CA cannot connect yet.
    let station_of_new =
        || station(&server, "CS-3").with_tls(trusting(&new, Some(new.leaf("CS-3", &[]))));
    assert!(boots(station_of_new()).await.is_err());
    let (chain, key) = new.leaf("csms", &["localhost"]);
    let clients = ClientCertificates::Optional(root_store([new.root()]).unwrap());
    server.replace_tls(server_tls_config(chain, key, clients).unwrap());
    boots(station_of_new()).await.unwrap();
    // And the old one no longer can.
    let station_of_old =
        station(&server, "CS-3").with_tls(trusting(&old, Some(old.leaf("CS-3", &[]))));
    assert!(boots(station_of_old).await.is_err());
    server.shutdown(Duration::from_secs(2)).await;
}
