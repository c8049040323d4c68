//! The OCPP security profiles (2.0.1 Part 2, A00; the 1.6 security whitepaper has the same
//! three) for both examples, on `ocpp-connection`'s server and client:
//!
//! | profile | transport | the station proves its identity with |
//! |---|---|---|
//! | 0 | `ws://` | nothing (development only; not a profile of the specification) |
//! | 1 | `ws://` | HTTP Basic: `Authorization: Basic base64(identity:password)` |
//! | 2 | `wss://` (the CSMS's certificate) | HTTP Basic |
//! | 3 | `wss://` | a TLS client certificate whose subject CN is its identity |
//!
//! [`CsmsSecurity`] adds a profile to the CSMS's [`ServerConfig`]: in profiles 1 and 2 a
//! station without a password entry, with a wrong password, without the header or with a
//! username other than its identity gets HTTP 401 and no upgrade (an unknown station gets
//! 401 too, not the crate's 404: the hook knows every identity, without a password for it);
//! in profile 3 every station must present a certificate that chains to the CSMS's CA (the
//! one that signs the stations' CSRs, so a certificate it signed through
//! SignCertificate/CertificateSigned is accepted at the next connection), whose CN is its
//! identity (else 401). [`ClientSecurity`] does the same for the station's [`ClientConfig`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ocpp_connection::client::{ClientConfig, Credentials};
use ocpp_connection::handshake::StationSecurity;
use ocpp_connection::security::{self, ClientCertificates, SecurityProfile};
use ocpp_connection::server::ServerConfig;

/// Why a profile's settings make no configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Not 0, 1, 2 or 3.
    #[error("security profile {0} does not exist: 0, 1, 2 or 3")]
    NoSuchProfile(u8),
    /// A setting the profile needs is missing.
    #[error("security profile {profile} needs {what}")]
    Missing {
        /// The profile.
        profile: u8,
        /// The flag or setting.
        what: &'static str,
    },
    /// A certificate, key or TLS configuration was refused.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(what: &str) -> impl Fn(security::SecurityError) -> ProfileError + '_ {
    move |e| ProfileError::Invalid(format!("{what}: {e}"))
}

/// The profile of a number: `None` for 0 (no security).
fn profile(number: u8) -> Result<Option<SecurityProfile>, ProfileError> {
    match number {
        0 => Ok(None),
        n => SecurityProfile::from_number(n)
            .map(Some)
            .ok_or(ProfileError::NoSuchProfile(n)),
    }
}

/// The CSMS's record of each station's HTTP Basic password, by identity: shared by the
/// server's authentication hook (each handshake reads it) and whoever changes a password
/// ([`Csms::set_basic_auth_password`](crate::csms::Csms::set_basic_auth_password)). Cheap to
/// clone; clones share the record.
#[derive(Clone, Default)]
pub struct Passwords(Arc<Mutex<HashMap<String, String>>>);

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut stations: Vec<String> = self.lock().keys().cloned().collect();
        stations.sort();
        f.debug_struct("Passwords")
            .field("stations", &stations)
            .finish()
    }
}

impl<I: Into<String>, P: Into<String>> FromIterator<(I, P)> for Passwords {
    fn from_iter<T: IntoIterator<Item = (I, P)>>(entries: T) -> Self {
        let map = entries
            .into_iter()
            .map(|(identity, password)| (identity.into(), password.into()))
            .collect();
        Passwords(Arc::new(Mutex::new(map)))
    }
}

impl Passwords {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The password of `identity`, if it has one.
    pub fn get(&self, identity: &str) -> Option<String> {
        self.lock().get(identity).cloned()
    }

    /// Sets the password of `identity`: the next handshakes check it.
    pub fn set(&self, identity: &str, password: &str) {
        self.lock().insert(identity.to_owned(), password.to_owned());
    }

    /// The identities with a password, sorted.
    pub fn stations(&self) -> Vec<String> {
        let mut stations: Vec<String> = self.lock().keys().cloned().collect();
        stations.sort();
        stations
    }
}

/// The CSMS's side of a security profile.
#[derive(Clone, Default)]
pub struct CsmsSecurity {
    /// 0 (the default: `ws://`, no authentication), 1, 2 or 3.
    pub profile: u8,
    /// Each station's HTTP Basic password, by identity (profiles 1 and 2): the record the
    /// server reads at each handshake, shared with the [`Csms`](crate::csms::Csms) that
    /// changes passwords ([`Csms::with_passwords`](crate::csms::Csms::with_passwords)).
    pub passwords: Passwords,
    /// The CSMS's TLS certificate chain and private key, PEM (profiles 2 and 3).
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// The trust anchors for station certificates, PEM (profile 3): the CSMS's CA.
    pub client_ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for CsmsSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsmsSecurity")
            .field("profile", &self.profile)
            .field("stations with a password", &self.passwords.stations())
            .field("tls", &self.tls.is_some())
            .field("client_ca", &self.client_ca.is_some())
            .finish()
    }
}

impl CsmsSecurity {
    /// Whether the CSMS serves `wss://`.
    pub fn uses_tls(&self) -> bool {
        self.profile >= 2
    }

    /// `config` with this profile's authentication and TLS.
    ///
    /// # Errors
    ///
    /// A profile that does not exist, a missing TLS certificate or key (profiles 2 and 3) or
    /// CA (profile 3), PEM that does not parse, a TLS configuration rustls refuses.
    pub fn apply(self, config: ServerConfig) -> Result<ServerConfig, ProfileError> {
        let number = self.profile;
        let Some(profile) = profile(number)? else {
            return Ok(config);
        };
        let passwords = self.passwords;
        let mut config = config.with_authentication(move |identity: &str| {
            Some(match profile {
                SecurityProfile::MutualTls => StationSecurity::mutual_tls(),
                // A station without a password entry cannot authenticate: 401, as for a wrong
                // password (the hook's `None` would answer 404).
                _ => StationSecurity {
                    profile,
                    password: passwords.get(identity),
                },
            })
        });
        if profile.uses_tls() {
            let (chain, key) = self.tls.ok_or(ProfileError::Missing {
                profile: number,
                what: "the CSMS's certificate and key (--tls-cert, --tls-key)",
            })?;
            let chain = security::certificates_from_pem(&chain).map_err(invalid("--tls-cert"))?;
            let key = security::private_key_from_pem(&key).map_err(invalid("--tls-key"))?;
            let clients = if profile.uses_client_certificate() {
                let ca = self.client_ca.ok_or(ProfileError::Missing {
                    profile: number,
                    what: "the CA of the station certificates",
                })?;
                let ca = security::certificates_from_pem(&ca).map_err(invalid("the CA"))?;
                ClientCertificates::Required(security::root_store(ca).map_err(invalid("the CA"))?)
            } else {
                ClientCertificates::None
            };
            let tls = security::server_tls_config(chain, key, clients).map_err(invalid("TLS"))?;
            config = config.with_tls(tls);
        }
        Ok(config)
    }
}

/// The charging station's side of a security profile.
#[derive(Clone, Default)]
pub struct ClientSecurity {
    /// 0 (the default: no authentication), 1, 2 or 3.
    pub profile: u8,
    /// The HTTP Basic password (profiles 1 and 2).
    pub password: Option<String>,
    /// The trust anchors for the CSMS's certificate, PEM (profiles 2 and 3).
    pub ca: Option<Vec<u8>>,
    /// The station's certificate chain and private key, PEM (profile 3).
    pub certificate: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for ClientSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecurity")
            .field("profile", &self.profile)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca", &self.ca.is_some())
            .field("certificate", &self.certificate.is_some())
            .finish()
    }
}

impl ClientSecurity {
    /// Hands the client of `credentials` the TLS configuration of this profile's trust
    /// anchors with a renewed certificate (`chain_pem`, `key_pem`: after a CertificateSigned
    /// the station accepted): its next connection tries it, and falls back to the current one
    /// if the CSMS does not take it ([`Credentials::renew_tls`]).
    ///
    /// # Errors
    ///
    /// No trust anchors (`--ca-cert`), PEM that does not parse, a configuration rustls
    /// refuses.
    pub fn renew(
        &self,
        credentials: &Credentials,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<(), ProfileError> {
        let ca = self.ca.as_ref().ok_or(ProfileError::Missing {
            profile: self.profile,
            what: "the CSMS's CA (--ca-cert)",
        })?;
        let ca = security::certificates_from_pem(ca).map_err(invalid("--ca-cert"))?;
        let roots = security::root_store(ca).map_err(invalid("--ca-cert"))?;
        let chain =
            security::certificates_from_pem(chain_pem).map_err(invalid("the renewed chain"))?;
        let key = security::private_key_from_pem(key_pem).map_err(invalid("the renewed key"))?;
        // Built afresh, not cloned: a clone would share the TLS session cache, and a resumed
        // session would present the previous certificate.
        let tls = security::client_tls_config(roots, Some((chain, key))).map_err(invalid("TLS"))?;
        credentials.renew_tls(tls);
        Ok(())
    }

    /// `config` with this profile's credentials and TLS.
    ///
    /// # Errors
    ///
    /// A profile that does not exist, a missing password (profiles 1 and 2), CA (2 and 3) or
    /// certificate and key (3), PEM that does not parse, a TLS configuration rustls refuses.
    pub fn apply(self, config: ClientConfig) -> Result<ClientConfig, ProfileError> {
        let number = self.profile;
        let Some(profile) = profile(number)? else {
            return Ok(config);
        };
        let mut config = config;
        if profile.uses_basic_auth() {
            let password = self.password.ok_or(ProfileError::Missing {
                profile: number,
                what: "a password (--password)",
            })?;
            config = config.with_password(password);
        }
        if profile.uses_tls() {
            let ca = self.ca.ok_or(ProfileError::Missing {
                profile: number,
                what: "the CSMS's CA (--ca-cert)",
            })?;
            let ca = security::certificates_from_pem(&ca).map_err(invalid("--ca-cert"))?;
            let roots = security::root_store(ca).map_err(invalid("--ca-cert"))?;
            let certificate = if profile.uses_client_certificate() {
                let (chain, key) = self.certificate.ok_or(ProfileError::Missing {
                    profile: number,
                    what: "the station's certificate and key (--cert, --key)",
                })?;
                let chain = security::certificates_from_pem(&chain).map_err(invalid("--cert"))?;
                let key = security::private_key_from_pem(&key).map_err(invalid("--key"))?;
                Some((chain, key))
            } else {
                None
            };
            let tls = security::client_tls_config(roots, certificate).map_err(invalid("TLS"))?;
            config = config.with_tls(tls);
        }
        Ok(config)
    }
}
