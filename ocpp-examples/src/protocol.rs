//! The OCPP-J handshake: which OCPP version a connection speaks, and which charging station
//! it belongs to (OCPP 2.0.1 Part 4, §3).

use ocpp_messages::OcppVersion;

/// The versions these examples speak: the CSMS serves each, the station can offer each.
///
/// A version belongs here once `ocpp-messages` generates it and [`crate::csms`] and
/// [`crate::station`] build a dispatcher for it: OCPP 2.1, 2.0.1 and 1.6. A client offering
/// several gets the one it lists first, so the order here only matters to [`offer`] calls
/// listing them all.
pub const SUPPORTED_VERSIONS: &[OcppVersion] =
    &[OcppVersion::V2_1, OcppVersion::V2_0_1, OcppVersion::V1_6];

/// The versions the example station offers unless told otherwise, in its order of preference:
/// 2.0.1, then 1.6. OCPP 2.1 is offered when asked for (`--ocpp 2.1`): it is new, and a CSMS
/// that speaks it and 2.0.1 would otherwise get 2.1 from a station that lists it first.
pub const DEFAULT_OFFER: &[OcppVersion] = &[OcppVersion::V2_0_1, OcppVersion::V1_6];

/// The longest charging station identity, in characters (Part 4 §3.1.1).
pub const MAX_IDENTITY_CHARS: usize = 48;

/// The `Sec-WebSocket-Protocol` header value a client sends to offer `versions`.
pub fn offer(versions: &[OcppVersion]) -> String {
    versions
        .iter()
        .map(|v| v.subprotocol())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a request path names no charging station.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The path ends in `/` or is empty.
    #[error("the URL path does not end with a charging station identity")]
    Missing,
    /// The identity is not valid percent-encoded UTF-8.
    #[error("the charging station identity is not valid percent-encoded UTF-8")]
    Encoding,
    /// The identity is longer than [`MAX_IDENTITY_CHARS`].
    #[error("the charging station identity is longer than {MAX_IDENTITY_CHARS} characters")]
    TooLong,
    /// The identity contains `:`, which Basic authentication reserves (Part 4 §3.1.1).
    #[error("the charging station identity contains ':'")]
    Colon,
}

/// The charging station identity in a connection URL path: its last segment, percent-decoded
/// (`/ocpp/RDAM%20123` is `RDAM 123`). The query string, if any, is ignored.
pub fn identity_from_path(path: &str) -> Result<String, IdentityError> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segment = path.rsplit('/').next().unwrap_or_default();
    if segment.is_empty() {
        return Err(IdentityError::Missing);
    }
    let identity = percent_decode(segment).ok_or(IdentityError::Encoding)?;
    if identity.is_empty() {
        return Err(IdentityError::Missing);
    }
    if identity.chars().count() > MAX_IDENTITY_CHARS {
        return Err(IdentityError::TooLong);
    }
    if identity.contains(':') {
        return Err(IdentityError::Colon);
    }
    Ok(identity)
}

/// Decodes `%XX` escapes; `None` for a broken escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = tail.get(..2)?;
            let hex = std::str::from_utf8(hex).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_lists_the_versions_in_order() {
        let ours = [OcppVersion::V2_0_1, OcppVersion::V1_6];
        assert_eq!(offer(&ours), "ocpp2.0.1, ocpp1.6");
        assert_eq!(offer(DEFAULT_OFFER), "ocpp2.0.1, ocpp1.6");
        assert!(DEFAULT_OFFER.iter().all(|v| SUPPORTED_VERSIONS.contains(v)));
    }

    #[test]
    fn identities_come_from_the_last_path_segment() {
        assert_eq!(identity_from_path("/CS001").as_deref(), Ok("CS001"));
        assert_eq!(
            identity_from_path("/ocppj/RDAM%20123?x=1").as_deref(),
            Ok("RDAM 123")
        );
        assert_eq!(identity_from_path("/"), Err(IdentityError::Missing));
        assert_eq!(identity_from_path("/ocpp/"), Err(IdentityError::Missing));
        assert_eq!(identity_from_path("/a%2"), Err(IdentityError::Encoding));
        assert_eq!(identity_from_path("/a%FF"), Err(IdentityError::Encoding));
        assert_eq!(identity_from_path("/a:b"), Err(IdentityError::Colon));
        assert_eq!(
            identity_from_path(&format!("/{}", "x".repeat(49))),
            Err(IdentityError::TooLong)
        );
    }
}
