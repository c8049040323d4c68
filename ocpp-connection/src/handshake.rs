//! The WebSocket opening handshake of both sides: the station identity from the URL path, the
//! OCPP subprotocol, and authentication per security profile.
//!
//! A charging station opens `ws[s]://<csms>/<path>/<identity>` (OCPP-J §3.1.1 of each
//! version): the last path segment, percent-encoded, is its identity. It offers the OCPP
//! versions it speaks in `Sec-WebSocket-Protocol` (`ocpp1.6`, `ocpp2.0.1`, `ocpp2.1`), in
//! order of preference; the CSMS answers with one of them. When none matches, Part 4 §3.1.2
//! (and OCPP-J 1.6 §3.1.2) has the CSMS complete the handshake without the header and close
//! the connection at once: [`Admission::NoCommonVersion`].
//!
//! The station's credentials are checked against what the CSMS knows of it
//! ([`StationSecurity`], from an [`Authenticate`] hook): its security profile, its password
//! (profiles 1 and 2, HTTP Basic, the username being the identity) and, for profile 3, the
//! subject CN of the client certificate the TLS layer verified, which must be the identity.
//! A connection secured more than the station's profile needs is let in; less is refused
//! (no downgrade).

use std::fmt;
use std::net::SocketAddr;

use ocpp_messages::OcppVersion;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{self, header, HeaderValue, StatusCode};

use crate::security::{
    basic_authorization, check_identity, parse_basic_authorization, BasicCredentials,
    SecurityError, SecurityProfile,
};

/// Why the CSMS refused a station's handshake; each answers an HTTP status
/// ([`Refusal::status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The URL path has no last segment to take the identity from, or it is not UTF-8 once
    /// percent-decoded (400).
    #[error("no station identity in the URL path {path:?}")]
    NoIdentity {
        /// The request's path.
        path: String,
    },
    /// The identity breaks the version's rules (400).
    #[error("station identity {identity:?}: {error}")]
    Identity {
        /// The decoded identity.
        identity: String,
        /// The rule it breaks.
        error: SecurityError,
    },
    /// The CSMS does not know the station (404, as OCPP-J §3.1 has it for an unknown identity).
    #[error("unknown station {identity:?}")]
    UnknownStation {
        /// The identity.
        identity: String,
    },
    /// The credentials are missing or wrong for the station's security profile (401).
    #[error("station {identity:?} not authorized: {reason}")]
    Unauthorized {
        /// The identity.
        identity: String,
        /// What was wrong, for the log (the station gets only the status).
        reason: String,
    },
    /// A station of this identity is connected and the server refuses duplicates (409).
    #[error("station {identity:?} is already connected")]
    Duplicate {
        /// The identity.
        identity: String,
    },
    /// The server is shutting down or at its connection limit (503).
    #[error("the server does not take connections now")]
    Unavailable,
}

impl Refusal {
    /// The HTTP status the handshake is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::NoIdentity { .. } | Refusal::Identity { .. } => StatusCode::BAD_REQUEST,
            Refusal::UnknownStation { .. } => StatusCode::NOT_FOUND,
            Refusal::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Refusal::Duplicate { .. } => StatusCode::CONFLICT,
            Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The HTTP response refusing the handshake: the status, `WWW-Authenticate: Basic` on
    /// 401, and a one-line body.
    pub fn response(&self) -> http::Response<Option<String>> {
        let mut response = http::Response::new(Some(format!("{}\n", self.status())));
        *response.status_mut() = self.status();
        if let Refusal::Unauthorized { .. } = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"OCPP\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

/// What the CSMS knows of a station's security: its profile and, for profiles 1 and 2, its
/// password.
#[derive(Clone, PartialEq, Eq)]
pub struct StationSecurity {
    /// The profile the station must connect with at least.
    pub profile: SecurityProfile,
    /// The HTTP Basic password (profiles 1 and 2).
    pub password: Option<String>,
}

impl fmt::Debug for StationSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StationSecurity")
            .field("profile", &self.profile)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl StationSecurity {
    /// Profile 1: `ws://` and HTTP Basic with `password`.
    pub fn basic(password: impl Into<String>) -> Self {
        StationSecurity {
            profile: SecurityProfile::Basic,
            password: Some(password.into()),
        }
    }

    /// Profile 2: `wss://` and HTTP Basic with `password`.
    pub fn tls_basic(password: impl Into<String>) -> Self {
        StationSecurity {
            profile: SecurityProfile::TlsBasic,
            password: Some(password.into()),
        }
    }

    /// Profile 3: `wss://` with a client certificate whose subject CN is the identity.
    pub fn mutual_tls() -> Self {
        StationSecurity {
            profile: SecurityProfile::MutualTls,
            password: None,
        }
    }
}

/// The CSMS's authentication hook: what it knows of the station `identity`, or `None` for a
/// station it does not know (answered 404). Called during the handshake, once per connection
/// attempt, so it should answer from memory (a cache the CSMS keeps), not from a slow store.
///
/// Any `Fn(&str) -> Option<StationSecurity>` is one.
pub trait Authenticate: Send + Sync {
    /// The security of the station `identity`, if the CSMS knows it.
    fn station(&self, identity: &str) -> Option<StationSecurity>;
}

impl<F> Authenticate for F
where
    F: Fn(&str) -> Option<StationSecurity> + Send + Sync,
{
    fn station(&self, identity: &str) -> Option<StationSecurity> {
        self(identity)
    }
}

/// What the CSMS learned of a station from its handshake request and the TLS layer.
#[derive(Clone, PartialEq, Eq)]
pub struct StationRequest {
    /// The identity, percent-decoded from the last path segment.
    pub identity: String,
    /// HTTP Basic credentials, if the request carried them.
    pub credentials: Option<BasicCredentials>,
    /// Whether the connection runs over TLS.
    pub tls: bool,
    /// The subject CN of the client certificate TLS verified (profile 3).
    pub certificate_common_name: Option<String>,
    /// The peer's address.
    pub remote: SocketAddr,
}

impl fmt::Debug for StationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StationRequest")
            .field("identity", &self.identity)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|c| c.username.as_str()),
            )
            .field("tls", &self.tls)
            .field("certificate_common_name", &self.certificate_common_name)
            .field("remote", &self.remote)
            .finish()
    }
}

/// The identity a station's URL path carries: its last segment, percent-decoded (a trailing
/// `/` is ignored).
///
/// ```
/// use ocpp_connection::handshake::identity_from_path;
///
/// assert_eq!(identity_from_path("/ocpp/CS%2F1").unwrap(), "CS/1");
/// assert_eq!(identity_from_path("/ocpp/CS-1/").unwrap(), "CS-1");
/// assert!(identity_from_path("/").is_err());
/// ```
pub fn identity_from_path(path: &str) -> Result<String, Refusal> {
    let no_identity = || Refusal::NoIdentity {
        path: path.to_owned(),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segment = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(no_identity)?;
    percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| no_identity())
}

/// The subprotocols a request offers, in its order: every `Sec-WebSocket-Protocol` header,
/// split at commas, trimmed.
pub fn offered_subprotocols<B>(request: &http::Request<B>) -> Vec<&str> {
    request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect()
}

/// The version to speak: the first one the station offers that the CSMS serves (the station
/// lists them in its order of preference).
///
/// ```
/// use ocpp_connection::handshake::negotiate;
/// use ocpp_messages::OcppVersion;
///
/// let served = [OcppVersion::V1_6, OcppVersion::V2_0_1];
/// assert_eq!(negotiate(&["ocpp2.1", "ocpp2.0.1", "ocpp1.6"], &served), Some(OcppVersion::V2_0_1));
/// assert_eq!(negotiate(&["ocpp2.1"], &served), None);
/// ```
pub fn negotiate(offered: &[&str], served: &[OcppVersion]) -> Option<OcppVersion> {
    offered
        .iter()
        .filter_map(|name| OcppVersion::from_subprotocol(name))
        .find(|version| served.contains(version))
}

/// What the CSMS makes of a handshake request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The station is let in and speaks `version`.
    Admitted {
        /// The identity.
        identity: String,
        /// The negotiated version.
        version: OcppVersion,
    },
    /// The station offered no version the CSMS serves: the handshake completes without
    /// `Sec-WebSocket-Protocol` and the CSMS closes the connection at once.
    NoCommonVersion {
        /// The identity.
        identity: String,
        /// What the station offered.
        offered: Vec<String>,
    },
}

/// Checks a station's credentials against what the CSMS knows of it (see the module docs).
pub fn check_credentials(
    security: &StationSecurity,
    request: &StationRequest,
) -> Result<(), Refusal> {
    let refuse = |reason: String| Refusal::Unauthorized {
        identity: request.identity.clone(),
        reason,
    };
    let profile = security.profile;
    if profile.uses_tls() && !request.tls {
        return Err(refuse(format!("{profile} needs TLS (wss://)")));
    }
    if profile.uses_client_certificate() {
        return match &request.certificate_common_name {
            Some(cn) if *cn == request.identity => Ok(()),
            Some(cn) => Err(refuse(format!(
                "the client certificate is for {cn:?}, not the identity"
            ))),
            None => Err(refuse(format!("{profile} needs a client certificate"))),
        };
    }
    let Some(expected) = &security.password else {
        return Err(refuse(format!(
            "{profile}: the CSMS has no password for it"
        )));
    };
    let Some(credentials) = &request.credentials else {
        return Err(refuse(format!("{profile} needs HTTP Basic credentials")));
    };
    if credentials.username != request.identity {
        return Err(refuse(format!(
            "the Basic username {:?} is not the identity",
            credentials.username
        )));
    }
    if !same_secret(credentials.password.as_bytes(), expected.as_bytes()) {
        return Err(refuse("wrong password".to_owned()));
    }
    Ok(())
}

/// Compares two secrets in time that depends on their lengths only, not on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Decides a CSMS-side handshake: the identity from the path (checked against the rules of the
/// negotiated version), the version from the offered subprotocols, and the credentials
/// (Basic from `Authorization`; `tls` and `certificate_common_name` from the TLS layer)
/// against `authenticate`'s answer. Without `authenticate`, every station is let in without
/// credentials (development only).
pub fn admit<B>(
    request: &http::Request<B>,
    served: &[OcppVersion],
    authenticate: Option<&dyn Authenticate>,
    tls: bool,
    certificate_common_name: Option<String>,
    remote: SocketAddr,
) -> Result<Admission, Refusal> {
    let identity = identity_from_path(request.uri().path())?;
    let offered = offered_subprotocols(request);
    let Some(version) = negotiate(&offered, served) else {
        return Ok(Admission::NoCommonVersion {
            identity,
            offered: offered.into_iter().map(str::to_owned).collect(),
        });
    };
    check_identity(version, &identity).map_err(|error| Refusal::Identity {
        identity: identity.clone(),
        error,
    })?;
    if let Some(authenticate) = authenticate {
        let security = authenticate
            .station(&identity)
            .ok_or_else(|| Refusal::UnknownStation {
                identity: identity.clone(),
            })?;
        let credentials = match request.headers().get(header::AUTHORIZATION) {
            None => None,
            Some(value) => {
                let parsed = match value.to_str() {
                    Ok(text) => parse_basic_authorization(text).map_err(|e| e.to_string()),
                    Err(_) => Err("the Authorization header is not visible ASCII".to_owned()),
                };
                match parsed {
                    Ok(credentials) => Some(credentials),
                    // A profile 3 station has no use for Basic; a broken header is refused
                    // only where Basic counts.
                    Err(_) if security.profile.uses_client_certificate() => None,
                    Err(reason) => return Err(Refusal::Unauthorized { identity, reason }),
                }
            }
        };
        let station = StationRequest {
            identity,
            credentials,
            tls,
            certificate_common_name,
            remote,
        };
        check_credentials(&security, &station)?;
        return Ok(Admission::Admitted {
            identity: station.identity,
            version,
        });
    }
    Ok(Admission::Admitted { identity, version })
}

/// The characters percent-encoded in the identity path segment: all but the unreserved ones
/// of RFC 3986.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a station could not build its handshake request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The CSMS URL is not a `ws://` or `wss://` URL with a host.
    #[error("the CSMS URL {url:?} is not a ws:// or wss:// URL with a host")]
    Url {
        /// The URL given.
        url: String,
    },
    /// No version to offer.
    #[error("no OCPP version to offer")]
    NoVersion,
}

/// The station's handshake request: `url` (the CSMS endpoint, without the identity) with the
/// percent-encoded `identity` appended as the last path segment, the `versions` offered in
/// order, and HTTP Basic when a `password` is given.
///
/// ```
/// use ocpp_connection::handshake::station_request;
/// use ocpp_messages::OcppVersion;
///
/// let request = station_request(
///     "ws://127.0.0.1:9000/ocpp",
///     "CS 1",
///     &[OcppVersion::V2_1, OcppVersion::V2_0_1],
///     None,
/// )
/// .unwrap();
/// assert_eq!(request.uri(), "ws://127.0.0.1:9000/ocpp/CS%201");
/// assert_eq!(request.headers()["sec-websocket-protocol"], "ocpp2.1, ocpp2.0.1");
/// ```
pub fn station_request(
    url: &str,
    identity: &str,
    versions: &[OcppVersion],
    password: Option<&str>,
) -> Result<Request, RequestError> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    if versions.is_empty() {
        return Err(RequestError::NoVersion);
    }
    let bad_url = || RequestError::Url {
        url: url.to_owned(),
    };
    let base: http::Uri = url.parse().map_err(|_| bad_url())?;
    if !matches!(base.scheme_str(), Some("ws" | "wss")) || base.host().is_none() {
        return Err(bad_url());
    }
    let full = format!(
        "{}/{}",
        url.trim_end_matches('/'),
        utf8_percent_encode(identity, SEGMENT)
    );
    let mut request = full.into_client_request().map_err(|_| bad_url())?;
    let offered = versions
        .iter()
        .map(|v| v.subprotocol())
        .collect::<Vec<_>>()
        .join(", ");
    let headers = request.headers_mut();
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_str(&offered).map_err(|_| bad_url())?,
    );
    if let Some(password) = password {
        let value = HeaderValue::from_str(&basic_authorization(identity, password))
            .map_err(|_| bad_url())?;
        headers.insert(header::AUTHORIZATION, value);
    }
    Ok(request)
}

/// The version the CSMS chose in its handshake response, if it is one of `offered`.
pub fn accepted_version<B>(
    response: &http::Response<B>,
    offered: &[OcppVersion],
) -> Option<OcppVersion> {
    let name = response
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?;
    OcppVersion::from_subprotocol(name.trim()).filter(|v| offered.contains(v))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn request(path: &str, protocols: &str, authorization: Option<&str>) -> http::Request<()> {
        let mut builder = http::Request::builder()
            .uri(path)
            .header(header::SEC_WEBSOCKET_PROTOCOL, protocols);
        if let Some(authorization) = authorization {
            builder = builder.header(header::AUTHORIZATION, authorization);
        }
        builder.body(()).unwrap()
    }

    fn remote() -> SocketAddr {
        "127.0.0.1:1".parse().unwrap()
    }

    const SERVED: &[OcppVersion] = &[OcppVersion::V1_6, OcppVersion::V2_0_1];

    fn known(identity: &str) -> Option<StationSecurity> {
        match identity {
            "CS-1" => Some(StationSecurity::basic("0123456789abcdef")),
            "CS-2" => Some(StationSecurity::tls_basic("0123456789abcdef")),
            "CS-3" => Some(StationSecurity::mutual_tls()),
            _ => None,
        }
    }

    #[test]
    fn identity_version_and_basic() {
        let auth = basic_authorization("CS-1", "0123456789abcdef");
        let ok = request("/ocpp/CS-1", "ocpp2.1, ocpp2.0.1", Some(&auth));
        assert_eq!(
            admit(&ok, SERVED, Some(&known), false, None, remote()),
            Ok(Admission::Admitted {
                identity: "CS-1".into(),
                version: OcppVersion::V2_0_1
            })
        );
        let none = request("/ocpp/CS-1", "ocpp2.1", Some(&auth));
        assert!(matches!(
            admit(&none, SERVED, Some(&known), false, None, remote()),
            Ok(Admission::NoCommonVersion { offered, .. }) if offered == ["ocpp2.1"]
        ));
    }

    #[test]
    fn refusals_and_their_statuses() {
        let check = |path: &str, auth: Option<String>, tls: bool, cn: Option<&str>| {
            let r = request(path, "ocpp2.0.1", auth.as_deref());
            admit(
                &r,
                SERVED,
                Some(&known),
                tls,
                cn.map(str::to_owned),
                remote(),
            )
            .map_err(|e| e.status().as_u16())
        };
        let good = Some(basic_authorization("CS-1", "0123456789abcdef"));
        assert!(check("/CS-1", good.clone(), false, None).is_ok());
        assert_eq!(check("/", good.clone(), false, None), Err(400));
        assert_eq!(check("/a%3Ab", good.clone(), false, None), Err(400));
        assert_eq!(check("/CS-9", good.clone(), false, None), Err(404));
        assert_eq!(check("/CS-1", None, false, None), Err(401));
        let wrong = Some(basic_authorization("CS-1", "0123456789abcdeX"));
        assert_eq!(check("/CS-1", wrong, false, None), Err(401));
        let other_user = Some(basic_authorization("CS-2", "0123456789abcdef"));
        assert_eq!(check("/CS-1", other_user, false, None), Err(401));
        assert_eq!(
            check("/CS-1", Some("Basic !!".into()), false, None),
            Err(401)
        );
        // Profile 2 needs TLS; with it, Basic as for profile 1.
        let cs2 = Some(basic_authorization("CS-2", "0123456789abcdef"));
        assert_eq!(check("/CS-2", cs2.clone(), false, None), Err(401));
        assert!(check("/CS-2", cs2, true, None).is_ok());
        // Profile 3: a certificate for the identity, over TLS.
        assert!(check("/CS-3", None, true, Some("CS-3")).is_ok());
        assert_eq!(check("/CS-3", None, true, Some("CS-1")), Err(401));
        assert_eq!(check("/CS-3", None, true, None), Err(401));
        assert_eq!(check("/CS-3", None, false, Some("CS-3")), Err(401));
        // A profile 1 station over TLS is more secure than needed: let in.
        assert!(check("/CS-1", good, true, None).is_ok());
    }

    #[test]
    fn the_station_request_round_trips_through_admit() {
        let request = station_request(
            "ws://localhost:1/ocpp/",
            "CS-1",
            &[OcppVersion::V2_1, OcppVersion::V1_6],
            Some("0123456789abcdef"),
        )
        .unwrap();
        assert_eq!(
            admit(&request, SERVED, Some(&known), false, None, remote()),
            Ok(Admission::Admitted {
                identity: "CS-1".into(),
                version: OcppVersion::V1_6
            })
        );
        assert!(station_request("http://x/", "CS-1", SERVED, None).is_err());
        assert!(station_request("ws://x/", "CS-1", &[], None).is_err());
    }

    #[test]
    fn debug_output_hides_passwords() {
        let text = format!("{:?}", StationSecurity::basic("secret-password-1234"));
        assert!(!text.contains("secret"), "{text}");
    }
}
