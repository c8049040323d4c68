//! OCPP 2.1 Part 4's message types 5 (CALLRESULTERROR) and 6 (SEND): parsed only for 2.1; for
//! 1.6 and 2.0.1 they stay unknown message types.

use ocpp_messages::rpc::{decode_response, PendingCalls, ResponseError};
use ocpp_messages::frame::{Frame, FrameError};
use ocpp_messages::v2_0_1::provisioning::{Reset, ResetFeature, ResetRequest};
use ocpp_messages::{ErrorCode, OcppVersion, Situation};
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
    let Frame::CallResultError {
        message_id,
        error_code,
        description,
        details,
    } = &frame
    else {
        panic!("{frame:?}");
    };
    assert_eq!(message_id, "r-17");
    assert_eq!(error_code, "PropertyConstraintViolation");
    assert_eq!(description, "status: not a ResetStatus");
    assert_eq!(details["pointer"], json!("/status"));
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
/// answered as unknown message types, with the frame's own id.
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

/// A SEND or a CALLRESULTERROR never settles one of our pending calls, even with its id.
#[test]
fn neither_answers_a_pending_call() {
    let mut pending = PendingCalls::new(OcppVersion::V2_0_1);
    let (id, _call) = pending
        .call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle))
        .unwrap();
    for frame in [
        Frame::CallResultError {
            message_id: id.clone(),
            error_code: "GenericError".to_owned(),
            description: String::new(),
            details: Default::default(),
        },
        Frame::Send {
            message_id: id.clone(),
            action: "Reset".to_owned(),
            payload: json!({"status": "Accepted"}),
        },
    ] {
        let unmatched = pending.answer(frame.clone()).unwrap_err();
        assert_eq!(unmatched.message_id, id);
        assert_eq!(pending.len(), 1, "the call is still pending");
        assert!(matches!(
            decode_response::<ResetFeature>(OcppVersion::V2_0_1, frame),
            Err(ResponseError::NotAnAnswer)
        ));
    }
    let answer = pending
        .answer(Frame::parse(&format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#)).unwrap())
        .unwrap();
    assert!(answer.result.is_ok());
    assert!(pending.is_empty());
}
