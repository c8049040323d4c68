//! Security profiles (OCPP 2.0.1 Part 2, A00), HTTP Basic credentials, password rules, TLS
//! configurations and the identity a station certificate carries.
//!
//! OCPP knows three security profiles; a station and its CSMS use exactly one of them at a time
//! (A00.FR.001). The 1.6 security whitepaper defines the same three for OCPP 1.6-J.
//!
//! | profile | transport | the station proves who it is by | the CSMS checks | the station checks |
//! |---|---|---|---|---|
//! | 1 ([`SecurityProfile::Basic`]) | `ws://` | `Authorization: Basic`, user name = its identity | identity and password match the header | nothing: it trusts the network |
//! | 2 ([`SecurityProfile::TlsBasic`]) | `wss://` | `Authorization: Basic`, inside TLS | identity and password match the header | the CSMS certificate chain and host name |
//! | 3 ([`SecurityProfile::MutualTls`]) | `wss://` | its TLS client certificate (no password) | the client certificate chain, and its subject CN | the CSMS certificate chain and host name |
//!
//! What this module gives:
//!
//! - HTTP Basic: [`basic_authorization`] builds the header value, [`parse_basic_authorization`]
//!   takes it apart into [`BasicCredentials`] (whose `Debug` never shows the password).
//! - The rules on passwords and station identities per OCPP version: [`check_password`] and
//!   [`check_identity`].
//! - TLS configurations for both sides with the protocol versions and cipher suites OCPP permits:
//!   [`server_tls_config`] and [`client_tls_config`]. They are built on an explicit `ring`
//!   crypto provider; no process-wide default provider is installed.
//! - Certificates: [`certificates_from_pem`], [`private_key_from_pem`], [`root_store`] and
//!   [`certificate_common_name`] (the CN a profile 3 station certificate carries).

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use ocpp_messages::OcppVersion;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{
    self, version, ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite,
    SupportedProtocolVersion,
};

/// OCPP security profiles (2.0.1 Part 2 A00; the 1.6 security extension has the same three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecurityProfile {
    /// Profile 1, "Unsecured Transport with Basic Authentication": plain `ws://`, the station
    /// sends HTTP Basic credentials. Meant for trusted networks only (A00.FR.201).
    Basic,
    /// Profile 2, "TLS with Basic Authentication": `wss://`, the CSMS shows a server
    /// certificate, the station sends HTTP Basic credentials inside TLS.
    TlsBasic,
    /// Profile 3, "TLS with Client Side Certificates": `wss://`, both sides show certificates;
    /// the station sends no password.
    MutualTls,
}

impl SecurityProfile {
    /// The profile's number in the specification: 1, 2 or 3.
    pub fn number(self) -> u8 {
        match self {
            Self::Basic => 1,
            Self::TlsBasic => 2,
            Self::MutualTls => 3,
        }
    }

    /// The profile with this number (1, 2 or 3), `None` for any other number. Profile 0 (no
    /// security at all) is not a valid OCPP profile and gives `None` too.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            1 => Some(Self::Basic),
            2 => Some(Self::TlsBasic),
            3 => Some(Self::MutualTls),
            _ => None,
        }
    }

    /// Whether the connection runs over TLS (`wss://`): profiles 2 and 3.
    pub fn uses_tls(self) -> bool {
        !matches!(self, Self::Basic)
    }

    /// Whether the station authenticates with HTTP Basic: profiles 1 and 2.
    pub fn uses_basic_auth(self) -> bool {
        !matches!(self, Self::MutualTls)
    }

    /// Whether the station authenticates with a TLS client certificate: profile 3.
    pub fn uses_client_certificate(self) -> bool {
        matches!(self, Self::MutualTls)
    }
}

impl fmt::Display for SecurityProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Basic => "unsecured transport with HTTP Basic",
            Self::TlsBasic => "TLS with HTTP Basic",
            Self::MutualTls => "TLS with client certificates",
        };
        write!(f, "security profile {} ({what})", self.number())
    }
}

/// What went wrong with credentials, identities, certificates or a TLS configuration.
///
/// No variant carries a password or a part of one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityError {
    /// The `Authorization` header is not of the form `<scheme> <credentials>`.
    #[error("malformed Authorization header: {reason}")]
    MalformedAuthorization {
        /// What is missing or wrong.
        reason: &'static str,
    },
    /// The `Authorization` header uses another scheme than `Basic`.
    #[error("the Authorization header uses the {scheme:?} scheme, not Basic")]
    NotBasic {
        /// The scheme the header names (only the scheme word, never the credentials).
        scheme: String,
    },
    /// The Basic credentials are not valid standard base64 (with padding).
    #[error("the Basic credentials are not valid base64: {0}")]
    InvalidBase64(String),
    /// The decoded Basic credentials are not UTF-8 text.
    #[error("the Basic credentials are not UTF-8 text")]
    CredentialsNotUtf8,
    /// The decoded Basic credentials have no `:` between user name and password.
    #[error("the Basic credentials have no ':' between user name and password")]
    MissingColon,
    /// The password is shorter than the OCPP version allows.
    #[error("the password has {length} characters, OCPP {version} requires at least {minimum}")]
    PasswordTooShort {
        /// The OCPP version whose rule was applied.
        version: OcppVersion,
        /// The password's length in characters.
        length: usize,
        /// The least number of characters allowed.
        minimum: usize,
    },
    /// The password is longer than the OCPP version allows.
    #[error("the password has {length} characters, OCPP {version} allows at most {maximum}")]
    PasswordTooLong {
        /// The OCPP version whose rule was applied.
        version: OcppVersion,
        /// The password's length in characters.
        length: usize,
        /// The most characters allowed.
        maximum: usize,
    },
    /// The password contains a character the OCPP version does not allow (the character
    /// itself is not shown, only its position).
    #[error(
        "the password has a character OCPP {version} does not allow, at position {position} \
         (only printable ASCII is accepted)"
    )]
    PasswordCharacter {
        /// The OCPP version whose rule was applied.
        version: OcppVersion,
        /// The zero-based position of the character, counted in characters.
        position: usize,
    },
    /// The station identity is empty.
    #[error("the charging station identity is empty")]
    IdentityEmpty,
    /// The station identity is longer than the OCPP version allows.
    #[error(
        "the charging station identity has {length} characters, OCPP {version} allows at most \
         {maximum}"
    )]
    IdentityTooLong {
        /// The OCPP version whose rule was applied.
        version: OcppVersion,
        /// The identity's length in characters.
        length: usize,
        /// The most characters allowed.
        maximum: usize,
    },
    /// The station identity contains a character that is not allowed.
    #[error(
        "the charging station identity contains {character:?} at position {position}, which \
         OCPP {version} does not allow"
    )]
    IdentityCharacter {
        /// The OCPP version whose rule was applied.
        version: OcppVersion,
        /// The character.
        character: char,
        /// The zero-based position of the character, counted in characters.
        position: usize,
    },
    /// A certificate could not be parsed or used.
    #[error("unusable certificate: {0}")]
    CertificateUnparsable(String),
    /// A certificate's subject has no common name (CN).
    #[error("the certificate's subject has no common name (CN)")]
    CertificateWithoutCommonName,
    /// A set of trusted root certificates is empty.
    #[error("no trusted root certificates were given")]
    NoTrustAnchors,
    /// rustls refused the TLS configuration (its message).
    #[error("TLS configuration error: {0}")]
    Tls(String),
    /// PEM text could not be read, or held nothing of the kind wanted.
    #[error("PEM error: {0}")]
    Pem(String),
}

/// Credentials from an `Authorization: Basic ...` header.
///
/// `Debug` shows the user name but never the password.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    /// The user name: in OCPP, the charging station identity (A00.FR.204).
    pub username: String,
    /// The password: `BasicAuthPassword` (2.0.1, 2.1) or `AuthorizationKey` (1.6).
    pub password: String,
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("username", &self.username)
            .field("password", &format_args!("<redacted>"))
            .finish()
    }
}

/// The value of an `Authorization` header for HTTP Basic: `Basic <base64(identity:password)>`
/// (RFC 7617, standard base64 with padding, the text encoded as UTF-8).
///
/// The password is used as given; OCPP 2.0.1 A00.FR.205 says it is sent as a UTF-8 string, not
/// encoded further.
pub fn basic_authorization(identity: &str, password: &str) -> String {
    let joined = format!("{identity}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(joined.as_bytes())
    )
}

/// Takes an `Authorization` header value apart into user name and password.
///
/// The scheme is matched case-insensitively (`Basic`, `basic`, ...); the credentials must be
/// standard base64 with padding and decode to UTF-8 text. The text is split at the *first*
/// `:`, so a password may contain `:` while a user name cannot (which is why OCPP forbids `:`
/// in station identities).
///
/// The 1.6 security whitepaper has the CSMS configure `AuthorizationKey` in hexadecimal; what
/// goes into the header is taken here as the text the station sends, without any hex decoding.
///
/// # Errors
///
/// [`SecurityError::MalformedAuthorization`] without a scheme or without credentials,
/// [`SecurityError::NotBasic`] for another scheme, [`SecurityError::InvalidBase64`],
/// [`SecurityError::CredentialsNotUtf8`] and [`SecurityError::MissingColon`].
pub fn parse_basic_authorization(header: &str) -> Result<BasicCredentials, SecurityError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(SecurityError::MalformedAuthorization {
            reason: "the header is empty",
        });
    }
    let Some((scheme, credentials)) = header.split_once(|c: char| c.is_ascii_whitespace()) else {
        let reason = if header.eq_ignore_ascii_case("basic") {
            "no credentials after the Basic scheme"
        } else {
            "expected `<scheme> <credentials>`"
        };
        return Err(SecurityError::MalformedAuthorization { reason });
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(SecurityError::NotBasic {
            scheme: scheme.to_owned(),
        });
    }
    let credentials = credentials.trim();
    if credentials.is_empty() {
        return Err(SecurityError::MalformedAuthorization {
            reason: "no credentials after the Basic scheme",
        });
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .map_err(|error| SecurityError::InvalidBase64(error.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| SecurityError::CredentialsNotUtf8)?;
    let (username, password) = text.split_once(':').ok_or(SecurityError::MissingColon)?;
    Ok(BasicCredentials {
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

/// The fewest characters a Basic password may have, in every OCPP version.
const PASSWORD_MIN: usize = 16;
/// The most characters a Basic password may have, in every OCPP version.
const PASSWORD_MAX: usize = 40;
/// The most characters a station identity may have in OCPP 2.0.1 and 2.1.
const IDENTITY_MAX: usize = 48;

/// Checks a Basic password (the CSMS side of A00.FR.207, or a station's own configuration)
/// against the rules of `version`.
///
/// - **2.0.1 and 2.1**: `BasicAuthPassword` is 16 to 40 characters (2.0.1 Part 2 A00.FR.205 and
///   A00.FR.304: "minimum 16 and maximum 40 characters (alpha-numeric characters and the
///   special characters allowed by passwordString)"; 2.1 is taken to keep that rule). The
///   exact `passwordString` character set could not be verified here, so the check is lenient:
///   any printable ASCII character (space to `~`) is accepted, ASCII control characters and
///   non-ASCII characters are refused.
/// - **1.6** (security whitepaper, edition 3, A00.FR.205 and A00.FR.304): `AuthorizationKey` is
///   "minimal 16-bytes long", "20 bytes maximum, represented as a string of up to 40
///   hexadecimal digits". The text sent in the header is therefore accepted with 16 to 40
///   characters, which covers both readings (a 16 to 20 byte key sent as is, or its 32 to 40
///   digit hexadecimal form); no character set is imposed.
///
/// Lengths are counted in characters (Unicode scalar values), not bytes.
///
/// # Errors
///
/// [`SecurityError::PasswordTooShort`], [`SecurityError::PasswordTooLong`] and
/// [`SecurityError::PasswordCharacter`].
pub fn check_password(version: OcppVersion, password: &str) -> Result<(), SecurityError> {
    let restrict_characters = match version {
        OcppVersion::V1_6 => false,
        OcppVersion::V2_0_1 | OcppVersion::V2_1 => true,
    };
    let length = password.chars().count();
    if length < PASSWORD_MIN {
        return Err(SecurityError::PasswordTooShort {
            version,
            length,
            minimum: PASSWORD_MIN,
        });
    }
    if length > PASSWORD_MAX {
        return Err(SecurityError::PasswordTooLong {
            version,
            length,
            maximum: PASSWORD_MAX,
        });
    }
    if restrict_characters {
        if let Some(position) = password
            .chars()
            .position(|c| !c.is_ascii() || c.is_ascii_control())
        {
            return Err(SecurityError::PasswordCharacter { version, position });
        }
    }
    Ok(())
}

/// The characters of OCPP's `identifierString` (2.0.1/2.1 Part 2 primitive datatypes) besides
/// ASCII letters and digits. The colon, also part of `identifierString`, is left out: an
/// identity must not contain it (see [`check_identity`]).
const IDENTIFIER_SPECIALS: &[char] = &['*', '-', '_', '=', '+', '|', '@', '.'];

/// Checks a station identity (the last path segment of the connection URL, already
/// percent-decoded) against the rules of `version`.
///
/// Every version: the identity is not empty and has no `:`, because it is the Basic user name
/// and the colon separates user name and password (2.0.1 Part 2 A00.FR.204, 2.0.1 and 2.1
/// Part 4 §3.1.1; the 1.6 whitepaper uses the identity as the Basic user name too). The rule is
/// applied whatever the security profile, so an identity stays valid when a station moves to
/// or from profile 3. ASCII control characters are refused in every version as well (our own
/// choice: they have no place in a URL path or a log line).
///
/// - **2.1** (Part 4 §3.1.1): at most 48 characters, and only the characters of
///   `identifierString`: ASCII letters and digits and `* - _ = + | @ .` (the colon of that set
///   excluded, see above).
/// - **2.0.1** (Part 4 §3.1.1): at most 48 characters. Its text names `identifierString` too,
///   but its own example identity is `"RDAM 123"` (with a space), so no character set is
///   imposed beyond the rules above.
/// - **1.6**: OCPP-J 1.6 sets no length limit and no character set; none is imposed.
///
/// Lengths are counted in characters (Unicode scalar values), not bytes.
///
/// # Errors
///
/// [`SecurityError::IdentityEmpty`], [`SecurityError::IdentityTooLong`] and
/// [`SecurityError::IdentityCharacter`].
pub fn check_identity(version: OcppVersion, identity: &str) -> Result<(), SecurityError> {
    if identity.is_empty() {
        return Err(SecurityError::IdentityEmpty);
    }
    let (maximum, identifier_string) = match version {
        OcppVersion::V1_6 => (None, false),
        OcppVersion::V2_0_1 => (Some(IDENTITY_MAX), false),
        OcppVersion::V2_1 => (Some(IDENTITY_MAX), true),
    };
    if let Some(maximum) = maximum {
        let length = identity.chars().count();
        if length > maximum {
            return Err(SecurityError::IdentityTooLong {
                version,
                length,
                maximum,
            });
        }
    }
    let allowed = |c: char| {
        if c == ':' || c.is_control() {
            false
        } else if identifier_string {
            c.is_ascii_alphanumeric() || IDENTIFIER_SPECIALS.contains(&c)
        } else {
            true
        }
    };
    if let Some((position, character)) = identity.chars().enumerate().find(|&(_, c)| !allowed(c)) {
        return Err(SecurityError::IdentityCharacter {
            version,
            character,
            position,
        });
    }
    Ok(())
}

/// TLS 1.3 and TLS 1.2; nothing older (2.0.1 A00.FR.313 and A00.FR.416: "TLS v1.2 or above").
static PROTOCOL_VERSIONS: &[&SupportedProtocolVersion] = &[&version::TLS13, &version::TLS12];

/// The cipher suites offered and accepted, in order of preference.
///
/// For TLS 1.2 these are the two ECDHE-ECDSA suites 2.0.1 A00.FR.318/A00.FR.421 require of a
/// CSMS, plus their ECDHE-RSA counterparts. A00.FR.318 also names `TLS_RSA_WITH_AES_128_GCM_SHA256`
/// and `TLS_RSA_WITH_AES_256_GCM_SHA384`, which use static RSA key exchange without forward
/// secrecy; rustls does not implement them, so stations with RSA certificates are served by
/// the ECDHE-RSA suites instead. TLS 1.3 has its three AEAD suites. rustls never uses TLS
/// compression (A00.FR.321).
fn ocpp_cipher_suites() -> Vec<SupportedCipherSuite> {
    use ring::cipher_suite as suite;
    vec![
        suite::TLS13_AES_256_GCM_SHA384,
        suite::TLS13_AES_128_GCM_SHA256,
        suite::TLS13_CHACHA20_POLY1305_SHA256,
        suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ]
}

/// The `ring` provider restricted to [`ocpp_cipher_suites`], for one configuration (never
/// installed as the process default).
///
/// rustls 0.23.48 deprecated `ring::default_provider` because *ring* has no post-quantum key
/// exchange; it stays the only way to obtain *ring*'s random source and key loader, and this
/// crate uses *ring* on purpose (no C/CMake toolchain for aws-lc-rs). The key exchange groups
/// are *ring*'s defaults: X25519, P-256 and P-384.
#[allow(deprecated)]
fn ocpp_provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: ocpp_cipher_suites(),
        ..ring::default_provider()
    })
}

fn tls_error(error: rustls::Error) -> SecurityError {
    SecurityError::Tls(error.to_string())
}

/// Whether a CSMS asks stations for TLS client certificates (profile 3), and which roots they
/// must chain to.
#[derive(Debug, Clone)]
pub enum ClientCertificates {
    /// No certificate is asked for (profile 2 only).
    None,
    /// A certificate is asked for and verified if presented; a station without one still
    /// connects (profiles 2 and 3 on one port: the admission check requires it of profile 3
    /// stations).
    Optional(RootCertStore),
    /// Every station must present a certificate chaining to these roots, or the TLS handshake
    /// fails (profile 3 only).
    Required(RootCertStore),
}

/// TLS for the CSMS side (profiles 2 and 3). TLS 1.2 and 1.3 only; for TLS 1.2 only the
/// cipher suites OCPP 2.0.1 Part 2 A00.FR.318 names with ECDHE key exchange:
/// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`, `TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384`,
/// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`, `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`, plus the
/// TLS 1.3 suites. (The static-RSA `TLS_RSA_WITH_AES_*_GCM_*` suites A00.FR.318 also lists are
/// not implemented by rustls.)
///
/// `chain` is the CSMS certificate first, then any intermediates; `key` its private key. Its
/// subject CN should hold the CSMS host name (A00.FR.510).
///
/// `client_certificates` says whether stations are asked for a client certificate and which
/// roots it must chain to (A00.FR.403, A00.FR.407): [`ClientCertificates::Required`] for a
/// port of profile 3 stations only, [`ClientCertificates::Optional`] for a port that serves
/// profile 2 and 3 stations alike (a certificate presented is verified; whether a station
/// needs one is the admission check's decision, per station), [`ClientCertificates::None`]
/// for profile 2 only. Checking the certificate's subject against the station (see
/// [`certificate_common_name`]) is left to the caller, after the handshake. No ALPN protocols
/// are set.
///
/// # Errors
///
/// [`SecurityError::NoTrustAnchors`] if the roots of `client_certificates` are empty, [`SecurityError::Tls`] if
/// the chain is empty, or rustls refuses the key or the configuration.
pub fn server_tls_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_certificates: ClientCertificates,
) -> Result<Arc<ServerConfig>, SecurityError> {
    if chain.is_empty() {
        return Err(SecurityError::Tls(
            "the server certificate chain is empty".to_owned(),
        ));
    }
    let provider = ocpp_provider();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(tls_error)?;
    let builder = match client_certificates {
        ClientCertificates::Required(roots) | ClientCertificates::Optional(roots)
            if roots.is_empty() =>
        {
            return Err(SecurityError::NoTrustAnchors);
        }
        ClientCertificates::Required(roots) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| SecurityError::Tls(error.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        ClientCertificates::Optional(roots) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|error| SecurityError::Tls(error.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        ClientCertificates::None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key).map_err(tls_error)?;
    Ok(Arc::new(config))
}

/// TLS for the station side (profiles 2 and 3): the same protocol versions and cipher suites
/// as [`server_tls_config`].
///
/// The station verifies the CSMS certificate chain against `roots` (A00.FR.308) and the host
/// name it connects to against the certificate (A00.FR.309; rustls' WebPKI verifier checks
/// the subject alternative names). With `client_certificate` (profile 3) the station presents
/// that chain and key when the CSMS asks for a certificate (A00.FR.401).
///
/// # Errors
///
/// [`SecurityError::NoTrustAnchors`] if `roots` is empty, [`SecurityError::Tls`] if the
/// client chain is empty or rustls refuses the key or the configuration.
pub fn client_tls_config(
    roots: RootCertStore,
    client_certificate: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<Arc<ClientConfig>, SecurityError> {
    if roots.is_empty() {
        return Err(SecurityError::NoTrustAnchors);
    }
    let builder = ClientConfig::builder_with_provider(ocpp_provider())
        .with_protocol_versions(PROTOCOL_VERSIONS)
        .map_err(tls_error)?
        .with_root_certificates(roots);
    let config = match client_certificate {
        Some((chain, key)) => {
            if chain.is_empty() {
                return Err(SecurityError::Tls(
                    "the client certificate chain is empty".to_owned(),
                ));
            }
            builder
                .with_client_auth_cert(chain, key)
                .map_err(tls_error)?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The common name (CN) in a certificate's subject; the first one if there are several.
///
/// For profile 3, the station certificate's subject CN holds the station's serial number
/// (2.0.1 A00.FR.405, A00.FR.511); a CSMS that gives its stations that serial number as their
/// identity compares it with the identity in the connection URL.
///
/// # Errors
///
/// [`SecurityError::CertificateUnparsable`] if the DER is not one X.509 certificate or the CN
/// is not a string, [`SecurityError::CertificateWithoutCommonName`] if there is no CN.
pub fn certificate_common_name(certificate: &CertificateDer<'_>) -> Result<String, SecurityError> {
    let (rest, parsed) = x509_parser::parse_x509_certificate(certificate.as_ref())
        .map_err(|error| SecurityError::CertificateUnparsable(error.to_string()))?;
    if !rest.is_empty() {
        return Err(SecurityError::CertificateUnparsable(
            "bytes left over after the certificate".to_owned(),
        ));
    }
    let common_name = parsed
        .subject()
        .iter_common_name()
        .next()
        .ok_or(SecurityError::CertificateWithoutCommonName)?;
    let text = common_name.as_str().map_err(|error| {
        SecurityError::CertificateUnparsable(format!("the common name is not a string: {error}"))
    })?;
    Ok(text.to_owned())
}

/// Every `CERTIFICATE` section of PEM text, in order (other sections are skipped).
///
/// # Errors
///
/// [`SecurityError::Pem`] if the PEM text is broken or holds no certificate.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, SecurityError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| SecurityError::Pem(error.to_string()))?;
    if certificates.is_empty() {
        return Err(SecurityError::Pem(
            "no CERTIFICATE section found".to_owned(),
        ));
    }
    Ok(certificates)
}

/// The first private key in PEM text: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or
/// SEC1 (`EC PRIVATE KEY`).
///
/// # Errors
///
/// [`SecurityError::Pem`] if the PEM text is broken or holds no private key.
pub fn private_key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, SecurityError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| match error {
        rustls_pki_types::pem::Error::NoItemsFound => {
            SecurityError::Pem("no private key section found".to_owned())
        }
        other => SecurityError::Pem(other.to_string()),
    })
}

/// A store of trusted root certificates (trust anchors), for [`client_tls_config`] and the
/// profile 3 side of [`server_tls_config`].
///
/// # Errors
///
/// [`SecurityError::CertificateUnparsable`] if a certificate cannot serve as a trust anchor,
/// [`SecurityError::NoTrustAnchors`] if there are no certificates at all.
pub fn root_store(
    certificates: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<RootCertStore, SecurityError> {
    let mut store = RootCertStore::empty();
    for certificate in certificates {
        store.add(certificate).map_err(|error| {
            SecurityError::CertificateUnparsable(format!("not usable as a trust anchor: {error}"))
        })?;
    }
    if store.is_empty() {
        return Err(SecurityError::NoTrustAnchors);
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use rustls_pki_types::ServerName;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    #[test]
    fn profile_numbers_and_properties() {
        for n in 1..=3 {
            assert_eq!(SecurityProfile::from_number(n).unwrap().number(), n);
        }
        assert_eq!(SecurityProfile::from_number(0), None);
        assert_eq!(SecurityProfile::from_number(4), None);
        let basic = SecurityProfile::Basic;
        let tls = SecurityProfile::TlsBasic;
        let mtls = SecurityProfile::MutualTls;
        assert!(!basic.uses_tls() && tls.uses_tls() && mtls.uses_tls());
        assert!(basic.uses_basic_auth() && tls.uses_basic_auth() && !mtls.uses_basic_auth());
        assert!(!basic.uses_client_certificate() && mtls.uses_client_certificate());
        assert!(basic < tls && tls < mtls);
        assert_eq!(tls.to_string(), "security profile 2 (TLS with HTTP Basic)");
    }

    #[test]
    fn basic_round_trip() {
        for (user, password) in [
            ("CS-1", "0123456789abcdef"),
            ("CS-1", "with:colons:inside"),
            ("Ladesäule-7", "pässwörd-ünïcödé-✓"),
            ("CS-1", ""),
        ] {
            let header = basic_authorization(user, password);
            assert!(header.starts_with("Basic "));
            let credentials = parse_basic_authorization(&header).unwrap();
            assert_eq!(credentials.username, user);
            assert_eq!(credentials.password, password);
        }
        // RFC 7617 example.
        let parsed = parse_basic_authorization("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").unwrap();
        assert_eq!(parsed.username, "Aladdin");
        assert_eq!(parsed.password, "open sesame");
        let parsed = parse_basic_authorization("  BASIC   QWxhZGRpbjpvcGVuIHNlc2FtZQ==  ").unwrap();
        assert_eq!(parsed.username, "Aladdin");
    }

    #[test]
    fn debug_hides_the_password() {
        let credentials = BasicCredentials {
            username: "CS-1".to_owned(),
            password: "secret-secret-secret".to_owned(),
        };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("CS-1"));
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("secret"));
    }

    #[test]
    fn malformed_headers() {
        assert!(matches!(
            parse_basic_authorization(""),
            Err(SecurityError::MalformedAuthorization { .. })
        ));
        assert!(matches!(
            parse_basic_authorization("QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            Err(SecurityError::MalformedAuthorization { .. })
        ));
        assert!(matches!(
            parse_basic_authorization("Basic"),
            Err(SecurityError::MalformedAuthorization { .. })
        ));
        assert!(matches!(
            parse_basic_authorization("Basic    "),
            Err(SecurityError::MalformedAuthorization { .. })
        ));
        assert_eq!(
            parse_basic_authorization("Bearer abc.def.ghi"),
            Err(SecurityError::NotBasic {
                scheme: "Bearer".to_owned()
            })
        );
        assert!(matches!(
            parse_basic_authorization("Basic ***not-base64***"),
            Err(SecurityError::InvalidBase64(_))
        ));
        // Missing padding is refused: standard base64 with padding only.
        assert!(matches!(
            parse_basic_authorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ"),
            Err(SecurityError::InvalidBase64(_))
        ));
        let no_colon = base64::engine::general_purpose::STANDARD.encode("no-colon-here");
        assert_eq!(
            parse_basic_authorization(&format!("Basic {no_colon}")),
            Err(SecurityError::MissingColon)
        );
        let not_utf8 = base64::engine::general_purpose::STANDARD.encode([0x43, 0x3a, 0xff, 0xfe]);
        assert_eq!(
            parse_basic_authorization(&format!("Basic {not_utf8}")),
            Err(SecurityError::CredentialsNotUtf8)
        );
    }

    #[test]
    fn password_lengths() {
        for version in [OcppVersion::V2_0_1, OcppVersion::V2_1, OcppVersion::V1_6] {
            assert_eq!(
                check_password(version, &"a".repeat(15)),
                Err(SecurityError::PasswordTooShort {
                    version,
                    length: 15,
                    minimum: 16
                })
            );
            assert_eq!(check_password(version, &"a".repeat(16)), Ok(()));
            assert_eq!(check_password(version, &"a".repeat(40)), Ok(()));
            assert_eq!(
                check_password(version, &"a".repeat(41)),
                Err(SecurityError::PasswordTooLong {
                    version,
                    length: 41,
                    maximum: 40
                })
            );
        }
        let message = check_password(OcppVersion::V2_0_1, "short")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("2.0.1") && message.contains("16"),
            "{message}"
        );
    }

    #[test]
    fn password_characters() {
        let v201 = OcppVersion::V2_0_1;
        assert_eq!(check_password(v201, "Abc*-_=:+|@.0123456789"), Ok(()));
        assert_eq!(
            check_password(v201, "0123456789abcdef\u{7}"),
            Err(SecurityError::PasswordCharacter {
                version: v201,
                position: 16
            })
        );
        assert_eq!(
            check_password(OcppVersion::V2_1, "ü0123456789abcdef"),
            Err(SecurityError::PasswordCharacter {
                version: OcppVersion::V2_1,
                position: 0
            })
        );
        // 1.6 imposes no character set; length counts characters, not bytes.
        assert_eq!(check_password(OcppVersion::V1_6, &"ü".repeat(16)), Ok(()));
        let message = check_password(v201, "0123456789abcdef\u{7}")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("0123456789abcdef"), "{message}");
    }

    #[test]
    fn identity_rules() {
        for version in [OcppVersion::V1_6, OcppVersion::V2_0_1, OcppVersion::V2_1] {
            assert_eq!(check_identity(version, "CS-1"), Ok(()));
            assert_eq!(
                check_identity(version, ""),
                Err(SecurityError::IdentityEmpty)
            );
            assert_eq!(
                check_identity(version, "CS:1"),
                Err(SecurityError::IdentityCharacter {
                    version,
                    character: ':',
                    position: 2
                })
            );
            assert!(matches!(
                check_identity(version, "CS\n1"),
                Err(SecurityError::IdentityCharacter {
                    character: '\n',
                    ..
                })
            ));
        }
        for version in [OcppVersion::V2_0_1, OcppVersion::V2_1] {
            assert_eq!(check_identity(version, &"x".repeat(48)), Ok(()));
            assert_eq!(
                check_identity(version, &"x".repeat(49)),
                Err(SecurityError::IdentityTooLong {
                    version,
                    length: 49,
                    maximum: 48
                })
            );
        }
        assert_eq!(check_identity(OcppVersion::V1_6, &"x".repeat(100)), Ok(()));
        // 2.0.1's own example has a space; 2.1 restricts to identifierString.
        assert_eq!(check_identity(OcppVersion::V2_0_1, "RDAM 123"), Ok(()));
        assert_eq!(check_identity(OcppVersion::V2_1, "RDAM|123"), Ok(()));
        assert_eq!(check_identity(OcppVersion::V2_1, "a*-_=+|@.Z9"), Ok(()));
        assert_eq!(
            check_identity(OcppVersion::V2_1, "RDAM 123"),
            Err(SecurityError::IdentityCharacter {
                version: OcppVersion::V2_1,
                character: ' ',
                position: 4
            })
        );
        assert!(check_identity(OcppVersion::V2_1, "Säule").is_err());
    }

    /// A throw-away PKI: a CA, a server certificate for "localhost" and a client certificate
    /// with CN "CS-1", both signed by the CA, everything as PEM.
    struct Pki {
        ca_pem: String,
        server_pem: String,
        server_key_pem: String,
        client_pem: String,
        client_key_pem: String,
    }

    fn pki(ca_name: &str) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, ca_name);
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "Test CSO");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let mut server_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params
            .distinguished_name
            .push(DnType::OrganizationName, "Test CSO");
        client_params
            .distinguished_name
            .push(DnType::CommonName, "CS-1");
        let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();

        Pki {
            ca_pem: ca_cert.pem(),
            server_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        }
    }

    impl Pki {
        fn roots(&self) -> RootCertStore {
            root_store(certificates_from_pem(self.ca_pem.as_bytes()).unwrap()).unwrap()
        }

        fn server(&self, client_certificates: ClientCertificates) -> Arc<ServerConfig> {
            server_tls_config(
                certificates_from_pem(self.server_pem.as_bytes()).unwrap(),
                private_key_from_pem(self.server_key_pem.as_bytes()).unwrap(),
                client_certificates,
            )
            .unwrap()
        }

        fn client(&self, roots: RootCertStore, with_certificate: bool) -> Arc<ClientConfig> {
            let certificate = with_certificate.then(|| {
                (
                    certificates_from_pem(self.client_pem.as_bytes()).unwrap(),
                    private_key_from_pem(self.client_key_pem.as_bytes()).unwrap(),
                )
            });
            client_tls_config(roots, certificate).unwrap()
        }
    }

    #[test]
    fn pem_round_trip_and_common_name() {
        let pki = pki("Test Root CA");
        let chain = certificates_from_pem(pki.client_pem.as_bytes()).unwrap();
        assert_eq!(chain.len(), 1);
        assert_eq!(certificate_common_name(&chain[0]).unwrap(), "CS-1");
        let server = certificates_from_pem(pki.server_pem.as_bytes()).unwrap();
        assert_eq!(certificate_common_name(&server[0]).unwrap(), "localhost");

        let both = format!("{}{}", pki.server_pem, pki.ca_pem);
        assert_eq!(certificates_from_pem(both.as_bytes()).unwrap().len(), 2);
        assert!(matches!(
            private_key_from_pem(pki.client_key_pem.as_bytes()).unwrap(),
            PrivateKeyDer::Pkcs8(_)
        ));

        assert!(matches!(
            certificates_from_pem(b"no pem here"),
            Err(SecurityError::Pem(_))
        ));
        assert!(matches!(
            certificates_from_pem(pki.client_key_pem.as_bytes()),
            Err(SecurityError::Pem(_))
        ));
        assert!(matches!(
            private_key_from_pem(pki.client_pem.as_bytes()),
            Err(SecurityError::Pem(_))
        ));
        assert!(matches!(
            certificate_common_name(&CertificateDer::from(vec![1, 2, 3])),
            Err(SecurityError::CertificateUnparsable(_))
        ));
        assert_eq!(
            root_store(Vec::new()).unwrap_err(),
            SecurityError::NoTrustAnchors
        );
    }

    #[test]
    fn certificate_without_common_name() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Test CSO");
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(
            certificate_common_name(cert.der()),
            Err(SecurityError::CertificateWithoutCommonName)
        );
    }

    #[test]
    fn configurations_build() {
        let pki = pki("Test Root CA");
        let profile2 = pki.server(ClientCertificates::None);
        let profile3 = pki.server(ClientCertificates::Required(pki.roots()));
        assert!(profile2.alpn_protocols.is_empty());
        assert!(profile3.alpn_protocols.is_empty());
        let client = pki.client(pki.roots(), true);
        let suites: Vec<_> = client
            .crypto_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        assert_eq!(suites.len(), 7);
        assert!(suites.contains(&rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256));
        assert!(
            !suites.contains(&rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
        );
        assert_eq!(
            client_tls_config(RootCertStore::empty(), None).unwrap_err(),
            SecurityError::NoTrustAnchors
        );
        assert_eq!(
            server_tls_config(
                Vec::new(),
                private_key_from_pem(pki.server_key_pem.as_bytes()).unwrap(),
                ClientCertificates::None
            )
            .unwrap_err(),
            SecurityError::Tls("the server certificate chain is empty".to_owned())
        );
        // A key that does not belong to the certificate is refused.
        let err = server_tls_config(
            certificates_from_pem(pki.server_pem.as_bytes()).unwrap(),
            private_key_from_pem(pki.client_key_pem.as_bytes()).unwrap(),
            ClientCertificates::None,
        )
        .unwrap_err();
        assert!(matches!(err, SecurityError::Tls(_)), "{err:?}");
    }

    /// Runs a TLS handshake over an in-memory pipe, then one byte each way. Returns the
    /// server's and the client's outcome, and the CN of the client certificate the server saw.
    async fn handshake(
        server: Arc<ServerConfig>,
        client: Arc<ClientConfig>,
    ) -> (Result<Option<String>, String>, Result<(), String>) {
        let (server_io, client_io) = tokio::io::duplex(64 * 1024);
        let acceptor = TlsAcceptor::from(server);
        let connector = TlsConnector::from(client);
        let server_side = async move {
            let mut stream = acceptor
                .accept(server_io)
                .await
                .map_err(|e| e.to_string())?;
            let common_name = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| certificate_common_name(leaf).unwrap());
            let mut byte = [0u8; 1];
            stream
                .read_exact(&mut byte)
                .await
                .map_err(|e| e.to_string())?;
            stream.write_all(&byte).await.map_err(|e| e.to_string())?;
            stream.flush().await.map_err(|e| e.to_string())?;
            Ok(common_name)
        };
        let client_side = async move {
            let name = ServerName::try_from("localhost").unwrap();
            let mut stream = connector
                .connect(name, client_io)
                .await
                .map_err(|e| e.to_string())?;
            stream.write_all(b"x").await.map_err(|e| e.to_string())?;
            stream.flush().await.map_err(|e| e.to_string())?;
            let mut byte = [0u8; 1];
            stream
                .read_exact(&mut byte)
                .await
                .map_err(|e| e.to_string())?;
            assert_eq!(&byte, b"x");
            Ok(())
        };
        tokio::join!(server_side, client_side)
    }

    #[tokio::test]
    async fn profile_3_accepts_a_client_certificate() {
        let pki = pki("Test Root CA");
        let (server, client) = handshake(
            pki.server(ClientCertificates::Required(pki.roots())),
            pki.client(pki.roots(), true),
        )
        .await;
        assert_eq!(client, Ok(()));
        assert_eq!(server, Ok(Some("CS-1".to_owned())));
    }

    #[tokio::test]
    async fn profile_2_needs_no_client_certificate() {
        let pki = pki("Test Root CA");
        let (server, client) = handshake(
            pki.server(ClientCertificates::None),
            pki.client(pki.roots(), false),
        )
        .await;
        assert_eq!(client, Ok(()));
        assert_eq!(server, Ok(None));
    }

    #[tokio::test]
    async fn profile_3_refuses_a_client_without_certificate() {
        let pki = pki("Test Root CA");
        let (server, _client) = handshake(
            pki.server(ClientCertificates::Required(pki.roots())),
            pki.client(pki.roots(), false),
        )
        .await;
        assert!(server.is_err(), "{server:?}");
    }

    #[tokio::test]
    async fn profile_3_refuses_a_certificate_from_another_ca() {
        let pki_a = pki("Root A");
        let pki_b = pki("Root B");
        // The client trusts A's root (so it accepts A's server) but shows B's certificate.
        let client = {
            let certificate = (
                certificates_from_pem(pki_b.client_pem.as_bytes()).unwrap(),
                private_key_from_pem(pki_b.client_key_pem.as_bytes()).unwrap(),
            );
            client_tls_config(pki_a.roots(), Some(certificate)).unwrap()
        };
        let (server, _client) = handshake(
            pki_a.server(ClientCertificates::Required(pki_a.roots())),
            client,
        )
        .await;
        assert!(server.is_err(), "{server:?}");
    }

    #[tokio::test]
    async fn client_refuses_a_server_from_another_ca() {
        let pki_a = pki("Root A");
        let pki_b = pki("Root B");
        let (_server, client) = handshake(
            pki_a.server(ClientCertificates::None),
            pki_b.client(pki_b.roots(), false),
        )
        .await;
        let error = client.unwrap_err();
        assert!(error.to_lowercase().contains("certificate"), "{error}");
    }
}
