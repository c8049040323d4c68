//! OCPP 2.1 Part 4's message types 5 (CALLRESULTERROR) and 6 (SEND): parsed only for 2.1; for
//! 1.6 and 2.0.1 they stay unknown message types.

use std::future::Future;

use ocpp_messages::frame::{Frame, FrameError};
use ocpp_messages::rpc::{decode_response, Dispatcher, Event, Ignored, Outcome, Rejection};
use ocpp_messages::rpc::{ResponseError, SendError, Session};
use ocpp_messages::v2_0_1::provisioning::{Reset, ResetFeature, ResetRequest};
use ocpp_messages::{ErrorCode, OcppVersion, PeerError, Role, Situation};
use serde_json::json;

const CALL_RESULT_ERROR: &str =
    r#"[5,"r-17","PropertyConstraintViolation","status: not a ResetStatus",{"pointer":"/status"}]"#;
const SEND: &str = r#"[6,"s-1","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[{"t":0,"v":"230.1"}]}]"#;

fn parse_error(version: OcppVersion, text: &str) -> FrameError {
    Frame::parse_for(version, text).expect_err(text)
}

#[test]
fn call_result_error_for_2_1() {
    let frame = Frame::parse_for(OcppVersion::V2_1, CALL_RESULT_ERROR).unwrap();
    let Frame::CallResultError { message_id, error } = &frame else {
        panic!("{frame:?}");
    };
    assert_eq!(message_id, "r-17");
    assert_eq!(error.code, "PropertyConstraintViolation");
    assert_eq!(error.description, "status: not a ResetStatus");
    assert_eq!(error.details["pointer"], json!("/status"));
    assert_eq!(frame.message_id(), "r-17");
    assert!(!frame.answers_a_call());
    assert_eq!(frame.to_text(), CALL_RESULT_ERROR);
}

#[test]
fn send_for_2_1() {
    let frame = Frame::parse_for(OcppVersion::V2_1, SEND).unwrap();
    let Frame::Send {
        message_id,
        action,
        payload,
    } = &frame
    else {
        panic!("{frame:?}");
    };
    assert_eq!(message_id, "s-1");
    assert_eq!(action, "NotifyPeriodicEventStream");
    assert_eq!(payload["data"][0]["v"], json!("230.1"));
    assert_eq!(frame.message_id(), "s-1");
    assert!(!frame.answers_a_call());
    assert_eq!(frame.to_text(), SEND);
}

/// 1.6 and 2.0.1 (and the version-less `Frame::parse`) know types 2 to 4 only: 5 and 6 are
/// unknown message types, with the frame's own id and the code a CALLERROR would carry
/// (whether one is sent is the dispatcher's choice: see `neither_answers_a_pending_call`).
#[test]
fn types_5_and_6_are_unknown_before_2_1() {
    for text in [CALL_RESULT_ERROR, SEND] {
        for version in [OcppVersion::V1_6, OcppVersion::V2_0_1] {
            let e = parse_error(version, text);
            assert_eq!(
                e.situation,
                Situation::UnknownMessageType,
                "{version:?} {text}"
            );
            assert!(e.description.contains("not 2, 3 or 4"), "{e}");
            assert!(e.message_id.is_some());
        }
        let e = Frame::parse(text).unwrap_err();
        assert_eq!(e.situation, Situation::UnknownMessageType);
        assert_eq!(
            e.to_call_error(OcppVersion::V2_0_1).code,
            ErrorCode::MessageTypeNotSupported
        );
    }
    let e = parse_error(OcppVersion::V2_0_1, SEND);
    assert!(e
        .to_frame(OcppVersion::V2_0_1)
        .starts_with(r#"[4,"s-1","MessageTypeNotSupported","#));
    let e = parse_error(OcppVersion::V1_6, CALL_RESULT_ERROR);
    assert!(e
        .to_frame(OcppVersion::V1_6)
        .starts_with(r#"[4,"r-17","GenericError","#));
}

#[test]
fn other_type_numbers_stay_unknown_in_2_1() {
    for text in [r#"[7,"x",{}]"#, r#"[1,"x","A",{}]"#, r#"["6","x","A",{}]"#] {
        let e = parse_error(OcppVersion::V2_1, text);
        assert_eq!(e.situation, Situation::UnknownMessageType, "{text}");
        assert_eq!(e.message_id.as_deref(), Some("x"));
        assert!(e.description.contains("not 2, 3, 4, 5 or 6"), "{e}");
    }
}

#[test]
fn malformed_types_5_and_6() {
    for (text, says) in [
        (r#"[5,"x","GenericError","d"]"#, "exactly 5 elements"),
        (r#"[5,"x","GenericError","d",{},1]"#, "exactly 5 elements"),
        (r#"[5,"x",1,"d",{}]"#, "[5, id, code: string"),
        (r#"[5,"x","GenericError","d",[]]"#, "details: object"),
        (r#"[6,"x",{}]"#, "exactly 4 elements"),
        (r#"[6,"x",1,{}]"#, "action (third element) of a SEND"),
    ] {
        let e = parse_error(OcppVersion::V2_1, text);
        assert_eq!(e.situation, Situation::MalformedFrame, "{text}");
        assert_eq!(e.message_id.as_deref(), Some("x"));
        assert!(e.description.contains(says), "{text}: {e}");
    }
}

/// Types 2 to 4 read the same for every version.
#[test]
fn calls_and_answers_read_alike_for_every_version() {
    for text in [
        r#"[2,"a","Heartbeat",{}]"#,
        r#"[3,"a",{"currentTime":"2025-01-01T00:00:00Z"}]"#,
        r#"[4,"a","NotImplemented","",{}]"#,
    ] {
        let plain = Frame::parse(text).unwrap();
        for &version in OcppVersion::ALL {
            assert_eq!(Frame::parse_for(version, text).unwrap(), plain, "{text}");
        }
        assert_eq!(plain.to_text(), text);
    }
    assert_eq!(
        Frame::parse_for(OcppVersion::V2_1, "[2,")
            .unwrap_err()
            .situation,
        Situation::UnreadableFrame
    );
}

/// Polls `future` once: a session without handlers never waits.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the session waited"),
    }
}

/// Makes a Reset call of the session's version pending; returns its message id.
fn reset_call(session: &Session) -> Result<String, SendError> {
    let (id, _call) = match session.version() {
        OcppVersion::V1_6 => {
            use ocpp_messages::v1_6::core::{Reset, ResetFeature, ResetRequest};
            session.call::<ResetFeature>(&ResetRequest::new(Reset::Soft))
        }
        OcppVersion::V2_1 => {
            use ocpp_messages::v2_1::provisioning::{Reset, ResetFeature, ResetRequest};
            session.call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle))
        }
        _ => session.call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle)),
    }?;
    Ok(id)
}

/// A SEND or a CALLRESULTERROR never settles one of our pending calls, even with its id: 2.1
/// reads them as what they are; for 1.6 and 2.0.1 they are unknown message types (ignored,
/// except by 2.0.1's default dispatcher, which answers `MessageTypeNotSupported`).
#[test]
fn neither_answers_a_pending_call() {
    let frames = |id: &str| {
        [
            Frame::CallResultError {
                message_id: id.to_owned(),
                error: PeerError {
                    code: "GenericError".to_owned(),
                    description: String::new(),
                    details: Default::default(),
                },
            },
            Frame::Send {
                message_id: id.to_owned(),
                action: "Reset".to_owned(),
                payload: json!({"status": "Accepted"}),
            },
        ]
    };
    for frame in frames("1") {
        assert!(matches!(
            decode_response::<ResetFeature>(OcppVersion::V2_0_1, frame),
            Err(ResponseError::NotAnAnswer)
        ));
    }
    let sessions = [
        Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM),
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms),
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).ignoring_unknown_message_types(),
        Dispatcher::new(OcppVersion::V2_1, Role::Csms),
    ]
    .map(|dispatcher| Session::new(dispatcher, "CS-1"));
    for session in &sessions {
        let version = session.version();
        let answers = session.dispatcher().answers_unknown_message_types();
        let id = reset_call(session).unwrap();
        for frame in frames(&id) {
            let text = frame.to_text();
            let outcome = ready(session.receive(&text));
            match (version, &frame, outcome) {
                (OcppVersion::V2_1, Frame::CallResultError { error: sent, .. }, outcome) => {
                    assert_eq!(
                        outcome,
                        Outcome {
                            reply: None,
                            event: Event::ResultError {
                                message_id: id.clone(),
                                error: sent.clone()
                            }
                        },
                        "{text}"
                    );
                }
                (
                    OcppVersion::V2_1,
                    Frame::Send { .. },
                    Outcome {
                        reply: None,
                        event: Event::Rejected(Rejection { message_id, error }),
                    },
                ) => {
                    assert_eq!(message_id, id, "{text}");
                    assert_eq!(error.code, ErrorCode::NotSupported, "{text}");
                }
                (OcppVersion::V2_0_1, _, outcome) if answers => {
                    let reply = outcome.reply.expect("2.0.1 answers by default");
                    assert!(
                        reply.starts_with(&format!(r#"[4,"{id}","MessageTypeNotSupported","#)),
                        "{text}: {reply}"
                    );
                    let Event::Rejected(rejection) = outcome.event else {
                        panic!("{text}: {:?}", outcome.event);
                    };
                    assert_eq!(rejection.message_id, id, "{text}");
                    assert_eq!(rejection.error.code, ErrorCode::MessageTypeNotSupported);
                    assert_eq!(rejection.to_frame(), reply);
                }
                (OcppVersion::V1_6 | OcppVersion::V2_0_1, _, outcome) => {
                    assert_eq!(
                        outcome,
                        Outcome {
                            reply: None,
                            event: Event::Ignored(Ignored::UnknownMessageType {
                                message_id: Some(id.clone())
                            })
                        },
                        "{version:?} {text}"
                    );
                }
                (_, _, outcome) => panic!("{version:?} {text}: {outcome:?}"),
            }
            assert_eq!(session.pending_calls(), 1, "the call is still pending");
        }
        let outcome = ready(session.receive(&format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#)));
        assert_eq!(outcome.reply, None);
        let Event::Answered(answer) = outcome.event else {
            panic!("{version:?}: {:?}", outcome.event);
        };
        assert_eq!(answer.message_id, id);
        assert!(answer.result.is_ok());
        assert_eq!(session.pending_calls(), 0);
    }
}
