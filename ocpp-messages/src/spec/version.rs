//! OCPP versions: their names, their subprotocols and what their RPC frameworks define.

use std::fmt;
use std::str::FromStr;

use super::error::ConversionError;

/// An OCPP version.
///
/// A variant exists only when its cargo feature (`v1_6`, `v2_0_1`, `v2_1`) is enabled, so code
/// for a version that is not compiled in does not build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OcppVersion {
    /// OCPP 1.6 (OCPP-J 1.6).
    #[cfg(feature = "v1_6")]
    V1_6,
    /// OCPP 2.0.1.
    #[cfg(feature = "v2_0_1")]
    V2_0_1,
    /// OCPP 2.1.
    #[cfg(feature = "v2_1")]
    V2_1,
}

impl OcppVersion {
    /// Every version compiled in, oldest first.
    pub const ALL: &'static [OcppVersion] = &[
        #[cfg(feature = "v1_6")]
        OcppVersion::V1_6,
        #[cfg(feature = "v2_0_1")]
        OcppVersion::V2_0_1,
        #[cfg(feature = "v2_1")]
        OcppVersion::V2_1,
    ];

    /// The version as written in documents and on the command line: `1.6`, `2.0.1`, `2.1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            #[cfg(feature = "v1_6")]
            OcppVersion::V1_6 => "1.6",
            #[cfg(feature = "v2_0_1")]
            OcppVersion::V2_0_1 => "2.0.1",
            #[cfg(feature = "v2_1")]
            OcppVersion::V2_1 => "2.1",
        }
    }

    /// The WebSocket subprotocol name: `ocpp1.6`, `ocpp2.0.1`, `ocpp2.1`.
    pub const fn subprotocol(self) -> &'static str {
        match self {
            #[cfg(feature = "v1_6")]
            OcppVersion::V1_6 => "ocpp1.6",
            #[cfg(feature = "v2_0_1")]
            OcppVersion::V2_0_1 => "ocpp2.0.1",
            #[cfg(feature = "v2_1")]
            OcppVersion::V2_1 => "ocpp2.1",
        }
    }

    /// The version whose WebSocket subprotocol is `name` (`ocpp1.6`, `ocpp2.0.1`, `ocpp2.1`),
    /// if it is compiled in: how a server picks the dispatcher for a connection.
    pub fn from_subprotocol(name: &str) -> Option<OcppVersion> {
        OcppVersion::ALL
            .iter()
            .copied()
            .find(|v| v.subprotocol() == name)
    }

    /// Whether the version's RPC framework has message types 5 (CALLRESULTERROR) and 6 (SEND):
    /// OCPP 2.1 Part 4 added them.
    pub const fn has_call_result_error(self) -> bool {
        match self {
            #[cfg(feature = "v2_1")]
            OcppVersion::V2_1 => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Whether this is OCPP 1.6, whose error codes and RPC rules differ from 2.x.
    pub(crate) const fn is_1_6(self) -> bool {
        match self {
            #[cfg(feature = "v1_6")]
            OcppVersion::V1_6 => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

impl fmt::Display for OcppVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OcppVersion {
    type Err = ConversionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix("ocpp").unwrap_or(s);
        let (name, feature) = match s {
            "1.6" | "16" => ("1.6", "v1_6"),
            "2.0.1" | "201" => ("2.0.1", "v2_0_1"),
            "2.1" | "21" => ("2.1", "v2_1"),
            _ => {
                return Err(
                    format!("unknown OCPP version {s:?}; expected 1.6, 2.0.1 or 2.1").into(),
                )
            }
        };
        OcppVersion::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == name)
            .ok_or_else(|| {
                format!(
                    "OCPP {name} is not compiled in: enable the `{feature}` feature of \
                     ocpp-messages"
                )
                .into()
            })
    }
}

#[cfg(all(test, feature = "v1_6", feature = "v2_0_1", feature = "v2_1"))]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_print() {
        for &v in OcppVersion::ALL {
            assert_eq!(v.as_str().parse::<OcppVersion>(), Ok(v));
            assert_eq!(v.subprotocol().parse::<OcppVersion>(), Ok(v));
        }
        assert!("3.0".parse::<OcppVersion>().is_err());
    }
}
