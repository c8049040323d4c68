//! Certificates for the Security block: the CSMS's certificate authority that signs CSRs, and
//! the charging station's key, CSR and check of the chain it gets back.
//!
//! Keys are ECDSA P-256 with SHA-256 signatures (rcgen's default; also what OCPP 2.0.1
//! Security Profile 3 asks for). CSRs are PKCS#10 (RFC 2986) in PEM, as `SignCertificateRequest`
//! carries them; chains are PEM certificates, leaf first, as `CertificateSignedRequest` carries
//! them.

use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
    SerialNumber,
};
use x509_parser::certificate::X509Certificate;

/// How long certificates signed by [`CertificateAuthority::sign_csr`] are valid.
pub const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// How far back a signed certificate's validity starts, for clocks a little behind ours.
pub const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Why the certificate authority cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// rcgen failed to generate or load the key or certificate.
    #[error("{0}")]
    Rcgen(#[from] rcgen::Error),
    /// The certificate file holds no PEM `CERTIFICATE`.
    #[error("the CA certificate file holds no PEM certificate")]
    NoCertificate,
    /// The certificate does not parse.
    #[error("the CA certificate does not parse: {0}")]
    Certificate(String),
    /// The key is not the certificate's.
    #[error("the CA key does not belong to the CA certificate")]
    KeyMismatch,
}

/// Why a CSR is refused.
#[derive(Debug, thiserror::Error)]
pub enum CsrError {
    /// Not a PEM PKCS#10 request.
    #[error("the CSR does not parse")]
    Parse,
    /// The request's self-signature does not verify.
    #[error("the CSR's signature does not verify")]
    Signature,
    /// The request asks for something this CA does not sign (an extension it does not know,
    /// an unsupported key type).
    #[error("the CSR cannot be signed: {0}")]
    Unsupported(rcgen::Error),
    /// The request's subject CN is not the identity of the station that sent it.
    #[error("the CSR's subject CN is {found:?}, not the station's identity {expected:?}")]
    CommonName {
        /// The station's identity.
        expected: String,
        /// The CN in the request, if it has one.
        found: Option<String>,
    },
}

/// What the signed certificate is for, which decides its extended key usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafUsage {
    /// The charging station's certificate for its connection to the CSMS: TLS client.
    ChargingStation,
    /// The charging station's ISO 15118 certificate: TLS server towards the vehicle.
    V2g,
}

/// A certificate authority that signs charging stations' CSRs.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate and whatever chain came with it, in PEM, leaf-most first.
    chain_pem: String,
    /// The CA certificate's subject, for the log.
    subject: String,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// A fresh self-signed CA with a new key, named `common_name`.
    pub fn generate(common_name: &str) -> Result<Self, CaError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = SystemTime::now();
        params.not_before = (now - CLOCK_SKEW).into();
        params.not_after = (now + 10 * LEAF_VALIDITY).into();
        params.serial_number = Some(random_serial());
        let certificate = params.self_signed(&key)?;
        Ok(CertificateAuthority {
            issuer: Issuer::new(params, key),
            chain_pem: certificate.pem(),
            subject: format!("CN={common_name}"),
        })
    }

    /// A CA from PEM files' contents: `cert_pem` holds the CA certificate first, optionally
    /// followed by the certificates above it (they are sent along in every chain); `key_pem`
    /// holds its private key (PKCS#8, or SEC1/PKCS#1 as rcgen reads them).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, CaError> {
        let key = KeyPair::from_pem(key_pem)?;
        let certificates = certificates(cert_pem).map_err(|_| CaError::NoCertificate)?;
        let first = certificates.first().ok_or(CaError::NoCertificate)?;
        let (_, parsed) = x509_parser::parse_x509_certificate(first)
            .map_err(|e| CaError::Certificate(e.to_string()))?;
        if parsed.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(CaError::KeyMismatch);
        }
        let subject = parsed.subject().to_string();
        let issuer = Issuer::from_ca_cert_der(&first.as_slice().into(), key)?;
        Ok(CertificateAuthority {
            issuer,
            chain_pem: certificates.iter().map(|der| to_pem(der)).collect(),
            subject,
        })
    }

    /// The CA's certificate (and the chain above it, if loaded with one) in PEM.
    pub fn certificate_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The CA certificate's subject, e.g. `CN=ocpp-rs example CSMS CA`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// [`CertificateAuthority::sign_csr`] for the station `identity`: the CSR's subject CN
    /// must be `identity` (a station gets certificates for itself only), else
    /// [`CsrError::CommonName`].
    pub fn sign_csr_for(
        &self,
        csr_pem: &str,
        usage: LeafUsage,
        identity: &str,
    ) -> Result<String, CsrError> {
        let found = csr_common_name(csr_pem)?;
        if found.as_deref() != Some(identity) {
            return Err(CsrError::CommonName {
                expected: identity.to_owned(),
                found,
            });
        }
        self.sign_csr(csr_pem, usage)
    }

    /// Checks a CSR (PEM, PKCS#10: it must parse and its self-signature must verify) and signs
    /// a certificate for its subject and public key. Returns the PEM chain for
    /// `CertificateSignedRequest`: the new certificate, then the CA's.
    ///
    /// The certificate keeps the CSR's subject and subject alternative names; everything else
    /// is the CA's choice: not a CA, digital signature and key agreement, the extended key usage
    /// of `usage`, valid from a few minutes ago for [`LEAF_VALIDITY`], a random serial number.
    pub fn sign_csr(&self, csr_pem: &str, usage: LeafUsage) -> Result<String, CsrError> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| match e {
            rcgen::Error::CouldNotParseCertificationRequest => CsrError::Parse,
            rcgen::Error::InvalidCertificationRequestSignature => CsrError::Signature,
            other => CsrError::Unsupported(other),
        })?;
        let params = &mut csr.params;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyAgreement,
        ];
        params.extended_key_usages = vec![match usage {
            LeafUsage::ChargingStation => ExtendedKeyUsagePurpose::ClientAuth,
            LeafUsage::V2g => ExtendedKeyUsagePurpose::ServerAuth,
        }];
        let now = SystemTime::now();
        params.not_before = (now - CLOCK_SKEW).into();
        params.not_after = (now + LEAF_VALIDITY).into();
        params.serial_number = Some(random_serial());
        params.use_authority_key_identifier_extension = true;
        let leaf = csr.signed_by(&self.issuer).map_err(CsrError::Unsupported)?;
        Ok(leaf.pem() + &self.chain_pem)
    }
}

/// The subject CN of a PEM PKCS#10 request (the first, if there are several).
fn csr_common_name(csr_pem: &str) -> Result<Option<String>, CsrError> {
    let block = pem::parse(csr_pem).map_err(|_| CsrError::Parse)?;
    if block.tag() != "CERTIFICATE REQUEST" && block.tag() != "NEW CERTIFICATE REQUEST" {
        return Err(CsrError::Parse);
    }
    use x509_parser::prelude::FromDer as _;
    let (_, csr) =
        x509_parser::certification_request::X509CertificationRequest::from_der(block.contents())
            .map_err(|_| CsrError::Parse)?;
    let name = csr
        .certification_request_info
        .subject
        .iter_common_name()
        .next()
        .map(|cn| cn.as_str().map(str::to_owned).map_err(|_| CsrError::Parse))
        .transpose()?;
    Ok(name)
}

/// A positive random 128-bit serial number (RFC 5280 allows up to 20 octets).
fn random_serial() -> SerialNumber {
    let mut bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes[0] &= 0x7f;
    SerialNumber::from_slice(&bytes)
}

/// The DER of each `CERTIFICATE` block in `pem_text`, in order.
fn certificates(pem_text: &str) -> Result<Vec<Vec<u8>>, ChainError> {
    let blocks = pem::parse_many(pem_text).map_err(|e| ChainError::Pem(e.to_string()))?;
    blocks
        .into_iter()
        .map(|block| match block.tag() {
            "CERTIFICATE" => Ok(block.into_contents()),
            other => Err(ChainError::Pem(format!(
                "expected CERTIFICATE blocks, found {other}"
            ))),
        })
        .collect()
}

fn to_pem(der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new("CERTIFICATE", der), config)
}

/// A charging station's key pair and the CSR for it.
pub struct StationKey {
    key: KeyPair,
    csr_pem: String,
}

impl std::fmt::Debug for StationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StationKey").finish_non_exhaustive()
    }
}

impl StationKey {
    /// A new key pair and a CSR signed with it, for subject `CN=common_name, O=organization`
    /// (OCPP 2.0.1 A02: the station's serial number and the CPO's `OrganizationName`).
    pub fn generate(common_name: &str, organization: &str) -> Result<Self, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, organization);
        let csr_pem = params.serialize_request(&key)?.pem()?;
        Ok(StationKey { key, csr_pem })
    }

    /// The CSR, PEM encoded.
    pub fn csr_pem(&self) -> &str {
        &self.csr_pem
    }

    /// The private key in PEM (PKCS#8): what a station presents its certificate with (TLS
    /// client authentication, security profile 3).
    pub fn private_key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// The public key as a DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.key.subject_public_key_info()
    }

    /// Checks a chain received in `CertificateSignedRequest` against this key: see
    /// [`verify_chain`].
    pub fn verify_chain(&self, chain_pem: &str) -> Result<ChainSummary, ChainError> {
        verify_chain(chain_pem, &self.public_key_der(), SystemTime::now())
    }
}

/// Why a received certificate chain is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Not PEM, or a block that is not a certificate.
    #[error("the chain is not PEM certificates: {0}")]
    Pem(String),
    /// No certificate at all.
    #[error("the chain holds no certificate")]
    Empty,
    /// A certificate does not parse.
    #[error("certificate {index} does not parse: {reason}")]
    Parse {
        /// Its position, 0 for the leaf.
        index: usize,
        /// The parser's message.
        reason: String,
    },
    /// The leaf certificate is for another key than ours.
    #[error("the leaf certificate's public key is not the key of our CSR")]
    KeyMismatch,
    /// A certificate is not valid at the time of the check.
    #[error("certificate {index} is not valid now")]
    Expired {
        /// Its position, 0 for the leaf.
        index: usize,
    },
    /// A certificate's signature does not verify with the next certificate's key.
    #[error("certificate {index} is not signed by certificate {}", .index + 1)]
    BadSignature {
        /// Its position, 0 for the leaf.
        index: usize,
    },
    /// A certificate that signs another is not a CA.
    #[error("certificate {index} signs another one but is not a CA")]
    NotCa {
        /// Its position.
        index: usize,
    },
    /// The last certificate says it is self-signed, but its signature does not verify.
    #[error("the self-signed certificate {index} has an invalid signature")]
    BadSelfSignature {
        /// Its position.
        index: usize,
    },
    /// The chain ends at a certificate that is none of the trust anchors and is signed by
    /// none of them.
    #[error("the chain does not end at a trusted certificate")]
    Untrusted,
}

/// What was accepted: for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// The leaf's subject.
    pub subject: String,
    /// The leaf's issuer.
    pub issuer: String,
    /// The leaf's serial number, hex.
    pub serial: String,
    /// The number of certificates in the chain.
    pub length: usize,
}

impl std::fmt::Display for ChainSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} issued by {} (serial {}, chain of {})",
            self.subject, self.issuer, self.serial, self.length
        )
    }
}

/// Checks a PEM chain (leaf first) received for the key whose DER `SubjectPublicKeyInfo` is
/// `public_key_der`:
///
/// - the leaf certificate carries exactly that public key;
/// - every certificate is valid at `now`, and is signed by the key of the next one, which is a
///   CA;
/// - if the last certificate is self-issued, its own signature verifies.
///
/// Whether the chain ends at a root the station trusts is not checked: these examples install
/// no trust store.
pub fn verify_chain(
    chain_pem: &str,
    public_key_der: &[u8],
    now: SystemTime,
) -> Result<ChainSummary, ChainError> {
    let ders = certificates(chain_pem)?;
    if ders.is_empty() {
        return Err(ChainError::Empty);
    }
    let chain = ders
        .iter()
        .enumerate()
        .map(|(index, der)| {
            x509_parser::parse_x509_certificate(der)
                .map(|(_, certificate)| certificate)
                .map_err(|e| ChainError::Parse {
                    index,
                    reason: e.to_string(),
                })
        })
        .collect::<Result<Vec<X509Certificate<'_>>, _>>()?;
    let leaf = &chain[0];
    if leaf.public_key().raw != public_key_der {
        return Err(ChainError::KeyMismatch);
    }
    // Comparisons look at the instant only, not at the encoding.
    let now = x509_parser::time::ASN1Time::new_generalized(now.into());
    for (index, certificate) in chain.iter().enumerate() {
        if !certificate.validity().is_valid_at(now) {
            return Err(ChainError::Expired { index });
        }
        match chain.get(index + 1) {
            Some(issuer) => {
                if !issuer.is_ca() {
                    return Err(ChainError::NotCa { index: index + 1 });
                }
                certificate
                    .verify_signature(Some(issuer.public_key()))
                    .map_err(|_| ChainError::BadSignature { index })?;
            }
            None if certificate.subject() == certificate.issuer() => {
                certificate
                    .verify_signature(None)
                    .map_err(|_| ChainError::BadSelfSignature { index })?;
            }
            None => {}
        }
    }
    Ok(ChainSummary {
        subject: leaf.subject().to_string(),
        issuer: leaf.issuer().to_string(),
        serial: leaf.raw_serial_as_string(),
        length: chain.len(),
    })
}

/// [`verify_chain`], and the chain ends at one of `anchors_pem` (PEM certificates: the
/// station's trust anchors) or at a certificate one of them signed, whose issuer it is.
///
/// # Errors
///
/// As [`verify_chain`]; [`ChainError::Untrusted`] when no anchor vouches for the chain's
/// last certificate; [`ChainError::Pem`]/[`ChainError::Parse`] for anchors that do not
/// parse.
pub fn verify_chain_trusted(
    chain_pem: &str,
    public_key_der: &[u8],
    anchors_pem: &str,
    now: SystemTime,
) -> Result<ChainSummary, ChainError> {
    let summary = verify_chain(chain_pem, public_key_der, now)?;
    let ders = certificates(chain_pem)?;
    let Some(last_der) = ders.last() else {
        return Err(ChainError::Empty);
    };
    let index = ders.len() - 1;
    let (_, last) =
        x509_parser::parse_x509_certificate(last_der).map_err(|e| ChainError::Parse {
            index,
            reason: e.to_string(),
        })?;
    for anchor_der in certificates(anchors_pem)? {
        if &anchor_der == last_der {
            return Ok(summary);
        }
        let Ok((_, anchor)) = x509_parser::parse_x509_certificate(&anchor_der) else {
            continue;
        };
        if anchor.subject() == last.issuer()
            && last.verify_signature(Some(anchor.public_key())).is_ok()
        {
            return Ok(summary);
        }
    }
    Err(ChainError::Untrusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca() -> CertificateAuthority {
        CertificateAuthority::generate("test CA").unwrap()
    }

    #[test]
    fn a_signed_csr_gives_a_chain_that_verifies() {
        let ca = ca();
        let station = StationKey::generate("CS001", "Example CPO").unwrap();
        let chain = ca
            .sign_csr(station.csr_pem(), LeafUsage::ChargingStation)
            .unwrap();
        assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(chain.ends_with(ca.certificate_pem()));
        let summary = station.verify_chain(&chain).unwrap();
        assert_eq!(summary.length, 2);
        assert!(summary.subject.contains("CN=CS001"), "{summary}");
        assert!(summary.issuer.contains("CN=test CA"), "{summary}");
    }

    #[test]
    fn a_chain_must_end_at_a_trust_anchor() {
        let (ca, other) = (ca(), CertificateAuthority::generate("other CA").unwrap());
        let station = StationKey::generate("CS001", "Example CPO").unwrap();
        let chain = ca
            .sign_csr(station.csr_pem(), LeafUsage::ChargingStation)
            .unwrap();
        let key = station.public_key_der();
        let now = SystemTime::now();
        // The chain's root is an anchor; the leaf alone is signed by one.
        assert!(verify_chain_trusted(&chain, &key, ca.certificate_pem(), now).is_ok());
        let leaf = chain
            .split_inclusive("-----END CERTIFICATE-----\n")
            .next()
            .unwrap();
        assert!(verify_chain_trusted(leaf, &key, ca.certificate_pem(), now).is_ok());
        assert_eq!(
            verify_chain_trusted(&chain, &key, other.certificate_pem(), now),
            Err(ChainError::Untrusted)
        );
        assert_eq!(
            verify_chain_trusted(leaf, &key, other.certificate_pem(), now),
            Err(ChainError::Untrusted)
        );
    }

    #[test]
    fn another_key_or_another_signer_is_refused() {
        let ca = ca();
        let station = StationKey::generate("CS001", "Example CPO").unwrap();
        let other = StationKey::generate("CS001", "Example CPO").unwrap();
        let chain = ca
            .sign_csr(other.csr_pem(), LeafUsage::ChargingStation)
            .unwrap();
        assert_eq!(station.verify_chain(&chain), Err(ChainError::KeyMismatch));

        // The leaf of one CA followed by another CA's certificate.
        let chain = ca
            .sign_csr(station.csr_pem(), LeafUsage::ChargingStation)
            .unwrap();
        let leaf = &chain[..chain.find("-----END CERTIFICATE-----").unwrap() + 26];
        let forged = format!("{leaf}{}", self::ca().certificate_pem());
        assert_eq!(
            station.verify_chain(&forged),
            Err(ChainError::BadSignature { index: 0 })
        );
        assert_eq!(station.verify_chain(""), Err(ChainError::Empty));
        assert!(matches!(
            station.verify_chain("not pem"),
            Err(ChainError::Empty | ChainError::Pem(_))
        ));
    }

    #[test]
    fn expired_chains_are_refused() {
        let ca = ca();
        let station = StationKey::generate("CS001", "Example CPO").unwrap();
        let chain = ca
            .sign_csr(station.csr_pem(), LeafUsage::ChargingStation)
            .unwrap();
        let later = SystemTime::now() + 2 * LEAF_VALIDITY;
        assert_eq!(
            verify_chain(&chain, &station.public_key_der(), later),
            Err(ChainError::Expired { index: 0 })
        );
    }

    #[test]
    fn broken_csrs_are_refused() {
        let ca = ca();
        let csr = StationKey::generate("CS001", "Example CPO")
            .unwrap()
            .csr_pem()
            .to_owned();
        assert!(matches!(
            ca.sign_csr(
                "-----BEGIN CERTIFICATE REQUEST-----",
                LeafUsage::ChargingStation
            ),
            Err(CsrError::Parse)
        ));
        // Flip a bit of the signature, the last bytes of the DER.
        let mut der = pem::parse(&csr).unwrap().into_contents();
        let last = der.len() - 1;
        der[last] ^= 1;
        let tampered = pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", der));
        assert!(matches!(
            ca.sign_csr(&tampered, LeafUsage::ChargingStation),
            Err(CsrError::Signature)
        ));
    }

    #[test]
    fn a_loaded_ca_signs_like_a_generated_one() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "loaded CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let cert = params.self_signed(&key).unwrap();
        let ca = CertificateAuthority::from_pem(&cert.pem(), &key.serialize_pem()).unwrap();
        let station = StationKey::generate("CS001", "Example CPO").unwrap();
        let chain = ca.sign_csr(station.csr_pem(), LeafUsage::V2g).unwrap();
        assert!(station
            .verify_chain(&chain)
            .unwrap()
            .issuer
            .contains("loaded CA"));

        let other = KeyPair::generate().unwrap();
        assert!(matches!(
            CertificateAuthority::from_pem(&cert.pem(), &other.serialize_pem()),
            Err(CaError::KeyMismatch)
        ));
    }
}
