//! The situations in which an OCPP-J receiver answers with an error, and the code each version
//! prescribes for each.

use super::error::ErrorCode;
use super::version::OcppVersion;

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

/// The class of a violation, which decides the OCPP-J error code (see
/// [`crate::OcppVersion::error_code_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViolationClass {
    /// The payload is not a JSON object at all.
    Format,
    /// The payload does not have the structure of the PDU: a member it does not define.
    Structure,
    /// A value of the wrong JSON type.
    Type,
    /// A required member is missing.
    Missing,
    /// An array has too few or too many items.
    Occurrence,
    /// A value outside what the schema allows (length, enum, format, range).
    Property,
}

impl OcppVersion {
    /// The error code this version prescribes for a situation.
    ///
    /// | situation | 1.6 (OCPP-J 1.6 Table 7) | 2.0.1 / 2.1 (Part 4 Table 8 / Table 9) |
    /// |---|---|---|
    /// | frame not JSON / message id unreadable | `FormationViolation` | `RpcFrameworkError`, message id `-1` |
    /// | frame with id but not a valid RPC message | `FormationViolation` | `RpcFrameworkError` |
    /// | unknown message type number (see [`OcppVersion::answers_unknown_message_type`]) | ignored (`GenericError` if a code is wanted) | 2.0.1: `MessageTypeNotSupported`; 2.1: ignored (`MessageTypeNotSupported` if a code is wanted) |
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

    /// Whether a frame whose message type number the version does not define is answered, by
    /// default, with a CALLERROR (`MessageTypeNotSupported`) or ignored.
    ///
    /// OCPP-J 1.6 §4.1.3 says such a message is ignored, and so does OCPP 2.1 Part 4 (§4.1.3 and
    /// §4.4, "updated in OCPP 2.1"). OCPP 2.0.1 Part 4 says both: ignore (§4.1.3) and answer
    /// `MessageTypeNotSupported` (§4.4); this crate answers by default, and
    /// `Dispatcher::ignoring_unknown_message_types` ignores instead. A peer's
    /// `MessageTypeNotSupported` CALLERROR is accepted in every version.
    pub const fn answers_unknown_message_type(self) -> bool {
        match self {
            #[cfg(feature = "v2_0_1")]
            OcppVersion::V2_0_1 => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Whether a CALLERROR or CALLRESULTERROR from the peer with `code` is well-formed under this
    /// version: a code the version defines, or `MessageTypeNotSupported`, which is accepted in
    /// every version (a 2.x peer may answer a 1.6 side's unknown message type with it).
    pub const fn accepts_error_code(self, code: ErrorCode) -> bool {
        matches!(code, ErrorCode::MessageTypeNotSupported) || self.defines_error_code(code)
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
}

#[cfg(all(test, feature = "v1_6", feature = "v2_0_1", feature = "v2_1"))]
mod tests {
    use super::*;

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
}
