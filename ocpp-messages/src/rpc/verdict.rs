//! Our verdict on a message: [`Rejection`], the CALLERROR (or, for a message that is never
//! answered, the error) this side answers an invalid message with; and the typed decoding of a
//! CALL frame, [`Frame::decode_call`], which gives either the request or the rejection.

use std::borrow::Cow;

use crate::feature::{Feature, Message};
use crate::spec::{CallError, ErrorCode, OcppVersion};
use crate::wire::frame::{Envelope, Frame};
use crate::wire::CallText;

/// A CALL frame decoded to its typed, validated request by [`Frame::decode_call`].
#[derive(Debug, Clone, PartialEq)]
pub struct TypedCall<'a, T> {
    /// The message id, borrowed from the frame's text where it has no escapes.
    pub message_id: Cow<'a, str>,
    /// The request.
    pub request: T,
}

/// Our verdict on a message the peer sent that this side does not accept: the message id to
/// answer with and the error. A CALL (or an unreadable frame) is answered with
/// [`Rejection::to_frame`]; a SEND or CALLRESULTERROR (OCPP 2.1) is never answered, and the
/// rejection only says why it was not delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The message id to answer with ([`UNREADABLE_MESSAGE_ID`](crate::frame::UNREADABLE_MESSAGE_ID)
    /// when it could not be read).
    pub message_id: String,
    /// The error to answer with.
    pub error: Box<CallError>,
}

impl Rejection {
    /// The CALLERROR frame answering the rejected frame.
    pub fn to_frame(&self) -> String {
        self.error.to_frame(&self.message_id)
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error.code, self.error.description)
    }
}

impl std::error::Error for Rejection {}

impl Frame {
    /// Decodes the CALL frame `text` of feature `F` into its typed request, validated against
    /// the request schema.
    ///
    /// A valid frame is decoded in one pass from the text, without a JSON tree; anything else
    /// is parsed in full and answered exactly as the [`Dispatcher`](crate::rpc::Dispatcher) would:
    /// the error code [`OcppVersion::error_code`] or [`OcppVersion::error_code_for`] gives,
    /// every violation listed in the details. A CALL of another action is `NotSupported`.
    ///
    /// ```
    /// use ocpp_messages::frame::Frame;
    /// use ocpp_messages::v2_0_1::security::SignCertificateFeature;
    /// use ocpp_messages::OcppVersion;
    ///
    /// let call = Frame::decode_call::<SignCertificateFeature>(
    ///     OcppVersion::V2_0_1,
    ///     r#"[2,"7","SignCertificate",{"csr":"PEM"}]"#,
    /// )
    /// .unwrap();
    /// assert_eq!((&*call.message_id, call.request.csr.as_str()), ("7", "PEM"));
    ///
    /// let rejected = Frame::decode_call::<SignCertificateFeature>(
    ///     OcppVersion::V2_0_1,
    ///     r#"[2,"8","SignCertificate",{"csr":null}]"#,
    /// )
    /// .unwrap_err();
    /// assert!(rejected.to_frame().starts_with(r#"[4,"8","TypeConstraintViolation","#));
    /// ```
    pub fn decode_call<F: Feature>(
        version: OcppVersion,
        text: &str,
    ) -> Result<TypedCall<'_, F::Request>, Rejection> {
        if let Some((Envelope::Call { message_id, action }, start)) = crate::wire::scan(text) {
            if action == F::NAME {
                if let Some(request) = CallText::new(text, start).decode() {
                    return Ok(TypedCall {
                        message_id: Cow::Borrowed(message_id),
                        request,
                    });
                }
            }
        }
        let frame = Frame::parse(text).map_err(|e| Rejection {
            error: Box::new(e.to_call_error(version)),
            message_id: e.answer_id().to_owned(),
        })?;
        let Frame::Call {
            message_id,
            action,
            payload,
        } = frame
        else {
            return Err(Rejection {
                message_id: frame.message_id().to_owned(),
                error: Box::new(CallError::new(
                    ErrorCode::NotSupported,
                    "the frame is not a CALL",
                )),
            });
        };
        if action != F::NAME {
            let description = format!("expected a CALL of {}", F::NAME);
            return Err(Rejection {
                message_id,
                error: Box::new(CallError::new(ErrorCode::NotSupported, description)),
            });
        }
        match F::Request::from_json(payload) {
            Ok(request) => Ok(TypedCall {
                message_id: Cow::Owned(message_id),
                request,
            }),
            Err(violations) => {
                let error = version
                    .violations_error("request", &violations)
                    .unwrap_or_else(|| CallError::new(ErrorCode::GenericError, "invalid request"));
                Err(Rejection {
                    message_id,
                    error: Box::new(error),
                })
            }
        }
    }
}
