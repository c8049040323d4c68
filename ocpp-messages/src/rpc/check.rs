//! The runtime's verdict on a message, as pure functions: no I/O, no handlers, no state.
//!
//! The [`Dispatcher`](super::Dispatcher) asks these functions whether it accepts a CALL or a
//! SEND before it hands it to a handler, so they are the one table of what is checked and
//! which error code answers what. A tool that judges recorded frames (the `ocpp validate`
//! command of `ocpp-cli`) asks them too, and so gives exactly the dispatcher's verdicts.
//!
//! | message | check | the error when it fails | function |
//! |---|---|---|---|
//! | any | UTF-8 text | [`Situation::UnreadableFrame`]'s code (2.x `RpcFrameworkError`, 1.6 `FormationViolation`), answered with message id `-1` | [`check_utf8`], [`unreadable_frame`] |
//! | any | JSON, a frame of the version ([`Frame::parse_for`](crate::frame::Frame::parse_for)) | the [`FrameError`]'s situation's code; a message type number the version does not define is ignored by 1.6 and 2.1 and answered `MessageTypeNotSupported` by 2.0.1 ([`OcppVersion::answers_unknown_message_type`]) | [`check_frame_error`] |
//! | CALL | the action is known | `NotImplemented` | [`check_call_action`] |
//! | CALL | the action is not a SEND (2.1) | `NotSupported` | [`check_call_action`] |
//! | CALL | the sender initiates the action (when the sender is known) | `NotSupported` | [`check_sender`] |
//! | CALL | the payload satisfies the request schema | [`OcppVersion::error_code_for`], every violation in the details ([`OcppVersion::violations_error`]) | [`check_request`] |
//! | SEND (2.1) | the action is known, is a SEND, and the sender sends it | `NotImplemented` / `NotSupported` | [`check_send_action`] |
//! | SEND (2.1) | the payload satisfies the SEND's schema | as for a CALL | [`check_request`] |
//! | CALLRESULT | the payload satisfies the response schema of its CALL's action | as for a CALL | [`check_response`], [`check_result`] |
//! | CALLERROR, CALLRESULTERROR (2.1) | the error code is one the version accepts ([`OcppVersion::accepts_error_code`]: its own, or `MessageTypeNotSupported`) | [`Situation::MalformedFrame`]'s code (2.x `RpcFrameworkError`, 1.6 `FormationViolation`) | [`check_error_code`] |
//!
//! [`check_call`] and [`check_send`] give the whole verdict on a CALL or a SEND of one of the
//! version's actions. The parts they are made of serve a receiver that knows more actions
//! than its version's (a dispatcher's vendor services: it passes its own look-up to
//! [`check_call_action`]), or that needs every violation of an invalid payload
//! ([`InvalidPayload`]), not only the CALLERROR naming the first ones. A receiver that knows
//! who sent the message passes the sender's [`Role`]; one that does not (a log of frames of
//! both directions) passes `None`, and the direction is not checked.
//!
//! What comes after these checks is not here: whether a handler exists for the action
//! (`NotSupported`), the validation [`Policy`](crate::policy::Policy) that may let an invalid
//! payload through, and the handler's own answer.

use serde_json::Value;

use crate::feature::{FeatureInfo, Role};
use crate::spec::{CallError, ErrorCode, OcppVersion, Situation};
use crate::validate::{validate, Violation};
use crate::wire::frame::FrameError;

use super::session::Ignored;

/// A payload that breaks its schema: the CALLERROR the runtime answers it with, and every
/// violation (the CALLERROR's details list at most
/// [`MAX_REPORTED_VIOLATIONS`](crate::validate::MAX_REPORTED_VIOLATIONS)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InvalidPayload {
    /// The CALLERROR: the code of the most fundamental class of violation present
    /// ([`OcppVersion::error_code_for`]), the first violation of that class in the
    /// description, the violations in the details.
    pub error: Box<CallError>,
    /// Every violation, in document order (never empty).
    pub violations: Vec<Violation>,
}

impl From<InvalidPayload> for CallError {
    fn from(invalid: InvalidPayload) -> Self {
        *invalid.error
    }
}

impl std::fmt::Display for InvalidPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for InvalidPayload {}

/// What the runtime does with a text that is not a frame of its version (a [`FrameError`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FrameVerdict {
    /// It rejects the frame with this error: answered with a CALLERROR carrying
    /// [`FrameError::answer_id`], unless the frame is never answered
    /// ([`FrameError::is_answered`]: a malformed SEND or CALLRESULTERROR of OCPP 2.1).
    Rejected(CallError),
    /// It ignores the frame and sends nothing back, as a [`Session`](super::Session) reports
    /// with [`Event::Ignored`](super::Event::Ignored).
    Ignored(Ignored),
}

/// The runtime's verdict on the bytes of an incoming frame: the text, if they are UTF-8;
/// else the [`unreadable_frame`] error (answered with message id `-1`).
///
/// ```
/// use ocpp_messages::rpc::check_utf8;
/// use ocpp_messages::{ErrorCode, OcppVersion};
///
/// assert_eq!(check_utf8(OcppVersion::V2_0_1, b"[2]"), Ok("[2]"));
/// let error = check_utf8(OcppVersion::V1_6, b"[2,\"\xff\"]").unwrap_err();
/// assert_eq!(error.code, ErrorCode::FormationViolation);
/// ```
pub fn check_utf8(version: OcppVersion, bytes: &[u8]) -> Result<&str, CallError> {
    std::str::from_utf8(bytes).map_err(|e| {
        unreadable_frame(
            version,
            format!(
                "frame is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// The runtime's error for a frame it cannot read at all (bytes that are not UTF-8, a frame
/// too long to be read, text that is not JSON): the code of [`Situation::UnreadableFrame`]
/// (2.x `RpcFrameworkError`, 1.6 `FormationViolation`), answered with message id `-1`.
pub fn unreadable_frame(version: OcppVersion, description: impl Into<String>) -> CallError {
    CallError::new(version.error_code(Situation::UnreadableFrame), description)
}

/// The runtime's verdict on a text [`Frame::parse_for`](crate::frame::Frame::parse_for) refused: rejected with the code of
/// the error's situation, except a frame of a message type number the version does not define,
/// which OCPP 1.6 and 2.1 ignore and 2.0.1 answers `MessageTypeNotSupported` (the version's
/// default, [`OcppVersion::answers_unknown_message_type`]; a 2.0.1 dispatcher made with
/// [`Dispatcher::ignoring_unknown_message_types`](super::Dispatcher::ignoring_unknown_message_types)
/// ignores it too).
///
/// ```
/// use ocpp_messages::frame::Frame;
/// use ocpp_messages::rpc::{check_frame_error, FrameVerdict};
/// use ocpp_messages::{ErrorCode, OcppVersion};
///
/// let text = r#"[7,"1",{}]"#;
/// let v201 = Frame::parse_for(OcppVersion::V2_0_1, text).unwrap_err();
/// assert!(matches!(
///     check_frame_error(OcppVersion::V2_0_1, &v201),
///     FrameVerdict::Rejected(e) if e.code == ErrorCode::MessageTypeNotSupported
/// ));
/// let v21 = Frame::parse_for(OcppVersion::V2_1, text).unwrap_err();
/// assert!(matches!(check_frame_error(OcppVersion::V2_1, &v21), FrameVerdict::Ignored(_)));
/// ```
pub fn check_frame_error(version: OcppVersion, error: &FrameError) -> FrameVerdict {
    if error.situation == Situation::UnknownMessageType && !version.answers_unknown_message_type() {
        return FrameVerdict::Ignored(Ignored::UnknownMessageType {
            message_id: error.message_id.clone(),
        });
    }
    FrameVerdict::Rejected(error.to_call_error(version))
}

/// The runtime's verdict on an incoming CALL of `action` with `payload`, for the version's
/// own actions: the action's metadata, or the CALLERROR answering it ([`check_call_action`],
/// then [`check_request`]). `sender` is the side that sent the CALL, when it is known; with
/// `None` the direction is not checked.
///
/// A dispatcher also answers `NotSupported` when no handler serves the action, and its
/// validation policy may let an invalid payload through; neither is decided here.
///
/// ```
/// use ocpp_messages::rpc::check_call;
/// use ocpp_messages::{ErrorCode, OcppVersion, Role};
/// use serde_json::json;
///
/// let v = OcppVersion::V2_0_1;
/// let feature = check_call(v, "SignCertificate", &json!({"csr": "PEM"}), None).unwrap();
/// assert_eq!(feature.name, "SignCertificate");
/// let code = |action, payload, sender| check_call(v, action, &payload, sender).unwrap_err().code;
/// assert_eq!(code("Teleport", json!({}), None), ErrorCode::NotImplemented);
/// assert_eq!(code("SignCertificate", json!({}), None), ErrorCode::OccurrenceConstraintViolation);
/// // SignCertificate is the charging station's to send.
/// assert_eq!(code("SignCertificate", json!({"csr": "PEM"}), Some(Role::Csms)), ErrorCode::NotSupported);
/// ```
pub fn check_call(
    version: OcppVersion,
    action: &str,
    payload: &Value,
    sender: Option<Role>,
) -> Result<&'static FeatureInfo, CallError> {
    let feature = check_call_action(version, version.feature(action), action, sender)?;
    check_request(version, feature, payload)?;
    Ok(feature)
}

/// The runtime's verdict on an incoming SEND (OCPP 2.1, message type 6) of `action` with
/// `payload`, for the version's own actions: the action's metadata, or the error it is
/// rejected with (never sent: a SEND is never answered). See [`check_send_action`] and
/// [`check_request`]; `sender` as for [`check_call`].
///
/// ```
/// use ocpp_messages::rpc::check_send;
/// use ocpp_messages::{ErrorCode, OcppVersion};
/// use serde_json::json;
///
/// let error = check_send(OcppVersion::V2_1, "Heartbeat", &json!({}), None).unwrap_err();
/// assert_eq!(error.code, ErrorCode::NotSupported); // a CALL, not a SEND
/// ```
pub fn check_send(
    version: OcppVersion,
    action: &str,
    payload: &Value,
    sender: Option<Role>,
) -> Result<&'static FeatureInfo, CallError> {
    let feature = check_send_action(version, version.feature(action), action, sender)?;
    check_request(version, feature, payload)?;
    Ok(feature)
}

/// The action part of the verdict on an incoming CALL: `feature` is the receiver's look-up of
/// `action` (the version's, [`OcppVersion::feature`], or a dispatcher's, which adds the
/// actions its services declare). Unknown: the code of [`Situation::UnknownAction`]
/// (`NotImplemented`); a SEND action (2.1, never sent as a CALL), or, when `sender` is known,
/// an action that side does not initiate ([`check_sender`]): the code of
/// [`Situation::UnsupportedAction`] (`NotSupported`).
pub fn check_call_action(
    version: OcppVersion,
    feature: Option<&'static FeatureInfo>,
    action: &str,
    sender: Option<Role>,
) -> Result<&'static FeatureInfo, CallError> {
    let Some(feature) = feature else {
        return Err(unknown_action(version, action));
    };
    if feature.send {
        return Err(CallError::new(
            version.error_code(Situation::UnsupportedAction),
            format!("{action} is a SEND (message type 6), never a CALL"),
        ));
    }
    if let Some(sender) = sender {
        check_sender(version, feature, action, sender)?;
    }
    Ok(feature)
}

/// The action part of the verdict on an incoming SEND (OCPP 2.1), as [`check_call_action`]:
/// unknown, `NotImplemented`; a CALL action, or one `sender` (when known) does not send,
/// `NotSupported`.
pub fn check_send_action(
    version: OcppVersion,
    feature: Option<&'static FeatureInfo>,
    action: &str,
    sender: Option<Role>,
) -> Result<&'static FeatureInfo, CallError> {
    let feature = match feature {
        Some(feature) if feature.send => feature,
        Some(_) => {
            return Err(CallError::new(
                version.error_code(Situation::UnsupportedAction),
                format!("{action} is a CALL, not a SEND"),
            ))
        }
        None => return Err(unknown_action(version, action)),
    };
    if let Some(sender) = sender {
        check_sender(version, feature, action, sender)?;
    }
    Ok(feature)
}

/// Whether `sender` initiates `feature` (its CALL or SEND); if not, the code of
/// [`Situation::UnsupportedAction`] (`NotSupported`).
///
/// ```
/// use ocpp_messages::rpc::check_sender;
/// use ocpp_messages::{ErrorCode, OcppVersion, Role};
///
/// let v = OcppVersion::V2_0_1;
/// let boot = v.feature("BootNotification").unwrap();
/// assert!(check_sender(v, boot, "BootNotification", Role::ChargingStation).is_ok());
/// let error = check_sender(v, boot, "BootNotification", Role::Csms).unwrap_err();
/// assert_eq!(error.code, ErrorCode::NotSupported);
/// ```
pub fn check_sender(
    version: OcppVersion,
    feature: &FeatureInfo,
    action: &str,
    sender: Role,
) -> Result<(), CallError> {
    if feature.initiator.may_be_sent_by(sender) {
        return Ok(());
    }
    Err(CallError::new(
        version.error_code(Situation::UnsupportedAction),
        format!("{action} is not sent by the {}", role_name(sender)),
    ))
}

/// The payload part of the verdict on a CALL or SEND of `feature`: the payload satisfies the
/// request schema, or it is an [`InvalidPayload`] (the CALLERROR of
/// [`OcppVersion::violations_error`] for `"request"`, and every violation).
pub fn check_request(
    version: OcppVersion,
    feature: &FeatureInfo,
    payload: &Value,
) -> Result<(), InvalidPayload> {
    check_payload(version, "request", feature.request, payload)
}

/// The runtime's verdict on a CALLRESULT answering a CALL of `feature`: the payload satisfies
/// the response schema, or it is an [`InvalidPayload`] (the error of
/// [`OcppVersion::violations_error`] for `"response"`, and every violation). A
/// [`Session`](super::Session) gives a strict call this error as the answer's
/// [`ResponseError::Invalid`](super::ResponseError::Invalid).
pub fn check_response(
    version: OcppVersion,
    feature: &FeatureInfo,
    payload: &Value,
) -> Result<(), InvalidPayload> {
    check_payload(version, "response", feature.response, payload)
}

/// The runtime's verdict on a CALLRESULT answering a CALL of `feature`, as
/// [`check_response`], with only the error.
///
/// ```
/// use ocpp_messages::rpc::check_result;
/// use ocpp_messages::{ErrorCode, OcppVersion};
/// use serde_json::json;
///
/// let v = OcppVersion::V2_0_1;
/// let sign = v.feature("SignCertificate").unwrap();
/// assert!(check_result(v, sign, &json!({"status": "Accepted"})).is_ok());
/// let error = check_result(v, sign, &json!({"status": "Maybe"})).unwrap_err();
/// assert_eq!(error.code, ErrorCode::PropertyConstraintViolation);
/// ```
pub fn check_result(
    version: OcppVersion,
    feature: &FeatureInfo,
    payload: &Value,
) -> Result<(), CallError> {
    Ok(check_response(version, feature, payload)?)
}

/// The runtime's verdict on the error code of the peer's CALLERROR or (OCPP 2.1)
/// CALLRESULTERROR: accepted when the version accepts it ([`OcppVersion::accepts_error_code`]:
/// one the version defines, or `MessageTypeNotSupported`, accepted in every version); a code
/// that is not an OCPP-J error code, or not one of the version's, makes the frame malformed
/// (the code of [`Situation::MalformedFrame`]: 2.x `RpcFrameworkError`, 1.6
/// `FormationViolation`).
///
/// ```
/// use ocpp_messages::rpc::check_error_code;
/// use ocpp_messages::{ErrorCode, OcppVersion};
///
/// assert!(check_error_code(OcppVersion::V1_6, "FormationViolation").is_ok());
/// assert!(check_error_code(OcppVersion::V1_6, "MessageTypeNotSupported").is_ok());
/// let error = check_error_code(OcppVersion::V2_0_1, "FormationViolation").unwrap_err();
/// assert_eq!(error.code, ErrorCode::RpcFrameworkError);
/// ```
pub fn check_error_code(version: OcppVersion, code: &str) -> Result<(), CallError> {
    match code.parse::<ErrorCode>() {
        Ok(known) if version.accepts_error_code(known) => Ok(()),
        _ => Err(CallError::new(
            version.error_code(Situation::MalformedFrame),
            format!(
                "error code {} is not an OCPP-J error code of OCPP {version}",
                quoted(code)
            ),
        )),
    }
}

/// `payload` against `schema`: nothing, or the error naming `what`'s violations and all of
/// them.
fn check_payload(
    version: OcppVersion,
    what: &str,
    schema: &crate::validate::Schema,
    payload: &Value,
) -> Result<(), InvalidPayload> {
    let violations = validate(schema, payload);
    match version.violations_error(what, &violations) {
        None => Ok(()),
        Some(error) => Err(InvalidPayload {
            error: Box::new(error),
            violations,
        }),
    }
}

/// The error for an action the receiver does not know.
fn unknown_action(version: OcppVersion, action: &str) -> CallError {
    CallError::new(
        version.error_code(Situation::UnknownAction),
        CallError::not_implemented(action).description,
    )
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::ChargingStation => "charging station",
        Role::Csms => "CSMS",
    }
}

/// `text` quoted and escaped for a description, cut to 64 characters.
fn quoted(text: &str) -> String {
    let shown: String = text.chars().take(64).collect();
    if shown.len() < text.len() {
        format!("{shown:?}…")
    } else {
        format!("{shown:?}")
    }
}

#[cfg(all(test, feature = "v1_6", feature = "v2_0_1", feature = "v2_1"))]
mod tests {
    use super::*;
    use crate::wire::frame::Frame;
    use serde_json::json;

    const ALL: [OcppVersion; 3] = [OcppVersion::V1_6, OcppVersion::V2_0_1, OcppVersion::V2_1];

    #[test]
    fn unknown_message_types_are_ignored_except_by_2_0_1() {
        for version in ALL {
            let error = Frame::parse_for(version, r#"[9,"a",{}]"#).unwrap_err();
            let verdict = check_frame_error(version, &error);
            if version == OcppVersion::V2_0_1 {
                let FrameVerdict::Rejected(e) = verdict else {
                    panic!("{version}: {verdict:?}")
                };
                assert_eq!(e.code, ErrorCode::MessageTypeNotSupported);
            } else {
                assert_eq!(
                    verdict,
                    FrameVerdict::Ignored(Ignored::UnknownMessageType {
                        message_id: Some("a".into())
                    }),
                    "{version}"
                );
            }
            // Unreadable and malformed frames are rejected in every version.
            for text in ["nope", r#"[2,"a",5,{}]"#] {
                let error = Frame::parse_for(version, text).unwrap_err();
                let FrameVerdict::Rejected(e) = check_frame_error(version, &error) else {
                    panic!("{version}: {text}")
                };
                assert_eq!(e.code, version.error_code(Situation::MalformedFrame));
            }
        }
    }

    #[test]
    fn message_type_not_supported_is_accepted_in_every_version() {
        for version in ALL {
            assert_eq!(
                check_error_code(version, "MessageTypeNotSupported"),
                Ok(()),
                "{version}"
            );
            let error = check_error_code(version, "Oops").unwrap_err();
            assert_eq!(error.code, version.error_code(Situation::MalformedFrame));
            assert!(error.description.contains("\"Oops\""), "{error}");
        }
        assert!(check_error_code(OcppVersion::V1_6, "RpcFrameworkError").is_err());
        assert!(check_error_code(OcppVersion::V2_1, "FormationViolation").is_err());
    }

    #[test]
    fn calls_and_sends_are_told_apart() {
        let v = OcppVersion::V2_1;
        let stream = json!({"id": 1, "pending": 0, "basetime": "2025-01-01T00:00:00Z", "data": [{"t": 0, "v": "1"}]});
        let send = check_send(v, "NotifyPeriodicEventStream", &stream, None).unwrap();
        assert!(send.send);
        let as_call = check_call(v, "NotifyPeriodicEventStream", &stream, None).unwrap_err();
        assert_eq!(as_call.code, ErrorCode::NotSupported);
        let unknown = check_send(v, "Teleport", &json!({}), None).unwrap_err();
        assert_eq!(unknown.code, ErrorCode::NotImplemented);
        // The CSMS does not send the stream.
        let from_csms =
            check_send(v, "NotifyPeriodicEventStream", &stream, Some(Role::Csms)).unwrap_err();
        assert_eq!(from_csms.code, ErrorCode::NotSupported);
        assert!(from_csms.description.contains("not sent by the CSMS"));
    }

    #[test]
    fn invalid_payloads_keep_every_violation() {
        let v = OcppVersion::V2_0_1;
        let feature = v.feature("SignCertificate").unwrap();
        let payload = json!({"csr": 1, "certificateType": "Nope", "extra": true});
        let invalid = check_request(v, feature, &payload).unwrap_err();
        assert_eq!(invalid.violations.len(), 3);
        assert_eq!(invalid.error.code, ErrorCode::ProtocolError);
        assert_eq!(
            Some(*invalid.error),
            v.violations_error("request", &invalid.violations)
        );
        let error = check_call(v, "SignCertificate", &payload, None).unwrap_err();
        assert_eq!(error.code, ErrorCode::ProtocolError);
    }
}
