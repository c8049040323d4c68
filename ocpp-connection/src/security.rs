//! TEMPORARY stand-in (replaced by the helper's module).
#![allow(missing_docs, clippy::missing_errors_doc)]
use ocpp_messages::OcppVersion;
use tokio_rustls::rustls::pki_types::CertificateDer;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecurityProfile {
    Basic,
    TlsBasic,
    MutualTls,
}
impl SecurityProfile {
    pub fn number(self) -> u8 {
        match self {
            Self::Basic => 1,
            Self::TlsBasic => 2,
            Self::MutualTls => 3,
        }
    }
    pub fn uses_tls(self) -> bool {
        self != Self::Basic
    }
    pub fn uses_basic_auth(self) -> bool {
        self != Self::MutualTls
    }
    pub fn uses_client_certificate(self) -> bool {
        self == Self::MutualTls
    }
}
impl std::fmt::Display for SecurityProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "security profile {}", self.number())
    }
}
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    #[error("{0}")]
    Other(String),
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub username: String,
    pub password: String,
}
pub fn basic_authorization(identity: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{identity}:{password}"))
    )
}
pub fn parse_basic_authorization(header: &str) -> Result<BasicCredentials, SecurityError> {
    use base64::Engine as _;
    let rest = header
        .strip_prefix("Basic ")
        .ok_or(SecurityError::Other("not basic".into()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|e| SecurityError::Other(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| SecurityError::Other(e.to_string()))?;
    let (u, p) = text
        .split_once(':')
        .ok_or(SecurityError::Other("no colon".into()))?;
    Ok(BasicCredentials {
        username: u.into(),
        password: p.into(),
    })
}
pub fn check_identity(_version: OcppVersion, identity: &str) -> Result<(), SecurityError> {
    if identity.is_empty() || identity.chars().count() > 48 || identity.contains(':') {
        return Err(SecurityError::Other("bad identity".into()));
    }
    Ok(())
}
pub fn check_password(_version: OcppVersion, _password: &str) -> Result<(), SecurityError> {
    Ok(())
}
pub fn certificate_common_name(certificate: &CertificateDer<'_>) -> Result<String, SecurityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(certificate.as_ref())
        .map_err(|e| SecurityError::Other(e.to_string()))?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or(SecurityError::Other("no CN".into()))?;
    Ok(cn.to_owned())
}
