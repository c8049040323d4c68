//! OCPP versions and the error codes each one prescribes.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::{CallError, ConversionError, ErrorCode};
use crate::feature::{FeatureInfo, Profile};
use crate::validate::{Violation, ViolationClass};

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

/// A situation in which an OCPP-J receiver answers with a CALLERROR (or, for frames it cannot
/// read, with an RPC-level error). [`OcppVersion::error_code`] maps each to the code the
/// version prescribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Situation {
    /// The frame is not valid JSON, not an array, or its message id cannot be read.
    UnreadableFrame,
    /// The frame has a message id but is not a valid RPC message (wrong length, action not a
    /// string).
    MalformedFrame,
    /// The message type number is not one the version defines.
    UnknownMessageType,
    /// The action name is not one the version defines.
    UnknownAction,
    /// The action is known but the receiver does not handle it, or it was sent by the side that
    /// should receive it.
    UnsupportedAction,
    /// A payload violation of the given class.
    Payload(ViolationClass),
    /// The receiver failed to process the request, or produced an invalid response.
    Internal,
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

    /// The functional blocks this crate has generated for the version (empty for versions not
    /// generated yet).
    pub fn profiles(self) -> &'static [&'static Profile] {
        match self {
            #[cfg(feature = "v1_6")]
            OcppVersion::V1_6 => crate::v1_6::PROFILES,
            #[cfg(feature = "v2_0_1")]
            OcppVersion::V2_0_1 => crate::v2_0_1::PROFILES,
            #[cfg(feature = "v2_1")]
            OcppVersion::V2_1 => crate::v2_1::PROFILES,
        }
    }

    /// The feature with the given action name, if this crate has generated it for the version.
    pub fn feature(self, action: &str) -> Option<&'static FeatureInfo> {
        match self {
            #[cfg(feature = "v1_6")]
            OcppVersion::V1_6 => crate::v1_6::feature(action),
            #[cfg(feature = "v2_0_1")]
            OcppVersion::V2_0_1 => crate::v2_0_1::feature(action),
            #[cfg(feature = "v2_1")]
            OcppVersion::V2_1 => crate::v2_1::feature(action),
        }
    }

    /// The error code this version prescribes for a situation.
    ///
    /// | situation | 1.6 (OCPP-J 1.6 Table 7) | 2.0.1 / 2.1 (Part 4 Table 8 / Table 9) |
    /// |---|---|---|
    /// | frame not JSON / message id unreadable | `FormationViolation` | `RpcFrameworkError`, message id `-1` |
    /// | frame with id but not a valid RPC message | `FormationViolation` | `RpcFrameworkError` |
    /// | unknown message type number | `GenericError` | `MessageTypeNotSupported` |
    /// | unknown action | `NotImplemented` | `NotImplemented` |
    /// | known action not handled / sent by the wrong side | `NotSupported` | `NotSupported` |
    /// | payload not a JSON object | `FormationViolation` | `FormatViolation` |
    /// | member the PDU does not define | `FormationViolation` | `ProtocolError` |
    /// | wrong JSON type (incl. `null`) | `TypeConstraintViolation` | `TypeConstraintViolation` |
    /// | required member missing | `ProtocolError` | `OccurrenceConstraintViolation` |
    /// | minItems / maxItems | `OccurenceConstraintViolation` | `OccurrenceConstraintViolation` |
    /// | length, enum, format, range | `PropertyConstraintViolation` | `PropertyConstraintViolation` |
    /// | handler failure, invalid response | `InternalError` | `InternalError` |
    ///
    /// The README gives the definition each row rests on.
    pub const fn error_code(self, situation: Situation) -> ErrorCode {
        let v16 = self.is_1_6();
        match situation {
            Situation::UnreadableFrame | Situation::MalformedFrame if v16 => {
                ErrorCode::FormationViolation
            }
            Situation::UnreadableFrame | Situation::MalformedFrame => ErrorCode::RpcFrameworkError,
            Situation::UnknownMessageType if v16 => ErrorCode::GenericError,
            Situation::UnknownMessageType => ErrorCode::MessageTypeNotSupported,
            Situation::UnknownAction => ErrorCode::NotImplemented,
            Situation::UnsupportedAction => ErrorCode::NotSupported,
            Situation::Internal => ErrorCode::InternalError,
            Situation::Payload(class) => match class {
                ViolationClass::Format | ViolationClass::Structure if v16 => {
                    ErrorCode::FormationViolation
                }
                ViolationClass::Format => ErrorCode::FormatViolation,
                ViolationClass::Structure => ErrorCode::ProtocolError,
                ViolationClass::Type => ErrorCode::TypeConstraintViolation,
                ViolationClass::Missing if v16 => ErrorCode::ProtocolError,
                ViolationClass::Missing => ErrorCode::OccurrenceConstraintViolation,
                ViolationClass::Occurrence if v16 => ErrorCode::OccurenceConstraintViolation,
                ViolationClass::Occurrence => ErrorCode::OccurrenceConstraintViolation,
                ViolationClass::Property => ErrorCode::PropertyConstraintViolation,
            },
        }
    }

    /// Whether `code` is one of the OCPP-J error codes this version defines (OCPP-J 1.6 Table 7;
    /// OCPP 2.0.1 and 2.1 Part 4).
    pub const fn defines_error_code(self, code: ErrorCode) -> bool {
        use ErrorCode as E;
        if self.is_1_6() {
            matches!(
                code,
                E::NotImplemented
                    | E::NotSupported
                    | E::InternalError
                    | E::ProtocolError
                    | E::SecurityError
                    | E::FormationViolation
                    | E::PropertyConstraintViolation
                    | E::OccurenceConstraintViolation
                    | E::TypeConstraintViolation
                    | E::GenericError
            )
        } else {
            matches!(
                code,
                E::FormatViolation
                    | E::GenericError
                    | E::InternalError
                    | E::MessageTypeNotSupported
                    | E::NotImplemented
                    | E::NotSupported
                    | E::OccurrenceConstraintViolation
                    | E::PropertyConstraintViolation
                    | E::ProtocolError
                    | E::RpcFrameworkError
                    | E::SecurityError
                    | E::TypeConstraintViolation
            )
        }
    }

    /// The error code for a list of payload violations: the code of the most fundamental class
    /// present (in the order of [`ViolationClass`]: not an object, structure, type, missing
    /// member, occurrence, value). `None` when the list is empty.
    pub fn error_code_for(self, violations: &[Violation]) -> Option<ErrorCode> {
        violations
            .iter()
            .map(|v| v.kind.class())
            .min()
            .map(|class| self.error_code(Situation::Payload(class)))
    }
}

/// The most violations listed in a CALLERROR's details.
pub const MAX_REPORTED_VIOLATIONS: usize = 16;

impl OcppVersion {
    /// The CALLERROR for a payload's violations (none if the list is empty): the code of the
    /// most fundamental class present, the first violation in the description, and up to
    /// [`MAX_REPORTED_VIOLATIONS`] in the details.
    pub(crate) fn violations_error(
        self,
        what: &str,
        violations: &[Violation],
    ) -> Option<CallError> {
        let code = self.error_code_for(violations)?;
        let (description, errors) = violations_report(what, violations);
        Some(CallError::new(code, description).with_detail("errors", errors))
    }
}

/// The description and details of a CALLERROR for `violations` (not empty). The description
/// names the first violation of the class that chose the error code (see
/// [`OcppVersion::error_code_for`]), so it always explains the code.
pub(crate) fn violations_report(what: &str, violations: &[Violation]) -> (String, Vec<Value>) {
    let deciding = violations.iter().map(|v| v.kind.class()).min();
    let first = violations
        .iter()
        .find(|v| Some(v.kind.class()) == deciding)
        .unwrap_or(&violations[0]);
    let more = match violations.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    let errors: Vec<Value> = violations
        .iter()
        .take(MAX_REPORTED_VIOLATIONS)
        .map(|v| {
            let mut m = Map::new();
            m.insert("path".into(), v.pointer.clone().into());
            m.insert("message".into(), v.kind.to_string().into());
            Value::Object(m)
        })
        .collect();
    (format!("{what} violates its schema: {first}{more}"), errors)
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
    use crate::validate::{Violation, ViolationKind};

    /// Every row of the documented table, for every version.
    #[test]
    fn error_code_table() {
        use ErrorCode::*;
        use Situation::*;
        use ViolationClass as C;
        let rows: [(Situation, ErrorCode, ErrorCode); 12] = [
            (UnreadableFrame, FormationViolation, RpcFrameworkError),
            (MalformedFrame, FormationViolation, RpcFrameworkError),
            (UnknownMessageType, GenericError, MessageTypeNotSupported),
            (UnknownAction, NotImplemented, NotImplemented),
            (UnsupportedAction, NotSupported, NotSupported),
            (Payload(C::Format), FormationViolation, FormatViolation),
            (Payload(C::Structure), FormationViolation, ProtocolError),
            (
                Payload(C::Type),
                TypeConstraintViolation,
                TypeConstraintViolation,
            ),
            (
                Payload(C::Missing),
                ProtocolError,
                OccurrenceConstraintViolation,
            ),
            (
                Payload(C::Occurrence),
                OccurenceConstraintViolation,
                OccurrenceConstraintViolation,
            ),
            (
                Payload(C::Property),
                PropertyConstraintViolation,
                PropertyConstraintViolation,
            ),
            (Internal, InternalError, InternalError),
        ];
        for (situation, v16, v2) in rows {
            assert_eq!(
                OcppVersion::V1_6.error_code(situation),
                v16,
                "{situation:?}"
            );
            assert_eq!(
                OcppVersion::V2_0_1.error_code(situation),
                v2,
                "{situation:?}"
            );
            assert_eq!(OcppVersion::V2_1.error_code(situation), v2, "{situation:?}");
        }
    }

    #[test]
    fn most_fundamental_class_decides() {
        let v = |kind| Violation {
            pointer: "/a".into(),
            kind,
        };
        let list = [
            v(ViolationKind::Enum),
            v(ViolationKind::MaxItems(1)),
            v(ViolationKind::Required { member: "a" }),
            v(ViolationKind::Type { expected: "string" }),
        ];
        let code = |n: usize| OcppVersion::V2_0_1.error_code_for(&list[..n]);
        assert_eq!(code(0), None);
        assert_eq!(code(1), Some(ErrorCode::PropertyConstraintViolation));
        assert_eq!(code(2), Some(ErrorCode::OccurrenceConstraintViolation));
        assert_eq!(code(3), Some(ErrorCode::OccurrenceConstraintViolation));
        assert_eq!(code(4), Some(ErrorCode::TypeConstraintViolation));
    }

    /// Every code the table prescribes is one the version defines.
    #[test]
    fn prescribed_codes_are_defined() {
        use ViolationClass as C;
        let situations = [
            Situation::UnreadableFrame,
            Situation::MalformedFrame,
            Situation::UnknownMessageType,
            Situation::UnknownAction,
            Situation::UnsupportedAction,
            Situation::Internal,
        ]
        .into_iter()
        .chain(
            [
                C::Format,
                C::Structure,
                C::Type,
                C::Missing,
                C::Occurrence,
                C::Property,
            ]
            .map(Situation::Payload),
        );
        for s in situations {
            for v in OcppVersion::ALL {
                assert!(v.defines_error_code(v.error_code(s)), "{v} {s:?}");
            }
        }
        assert!(!OcppVersion::V1_6.defines_error_code(ErrorCode::RpcFrameworkError));
        assert!(!OcppVersion::V2_0_1.defines_error_code(ErrorCode::FormationViolation));
    }

    #[test]
    fn versions_parse_and_print() {
        for &v in OcppVersion::ALL {
            assert_eq!(v.as_str().parse::<OcppVersion>(), Ok(v));
            assert_eq!(v.subprotocol().parse::<OcppVersion>(), Ok(v));
        }
        assert!("3.0".parse::<OcppVersion>().is_err());
    }
}
