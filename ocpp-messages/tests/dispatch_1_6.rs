//! OCPP 1.6 through its dispatchers: every action of both roles reaches its own method from the
//! right side only, CALLERRORs carry 1.6's codes in 1.6's spelling, each message follows its
//! own schema's draft, and a 1.6 dispatcher refuses a 2.0.1 service.
#![allow(clippy::unwrap_used)]

#[path = "support/dispatch.rs"]
mod helpers;

#[path = "generated/v1_6_recorder.rs"]
#[rustfmt::skip]
mod recorder;

use std::sync::Arc;

use helpers::{minimal, run};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v1_6::core::{
    self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus,
};
use ocpp_messages::v1_6::PROFILES;
use ocpp_messages::validate::validate;
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};
use recorder::Recorder;
use serde_json::{json, Value};

fn send(d: &Dispatcher, frame: &str) -> Value {
    serde_json::from_str(&run(d.handle("CP-7", frame)).unwrap()).unwrap()
}

fn call(d: &Dispatcher, action: &str, payload: &Value) -> Value {
    send(d, &json!([2, "m1", action, payload]).to_string())
}

#[test]
fn every_action_reaches_its_method_and_only_from_the_right_side() {
    let features: Vec<_> = PROFILES.iter().flat_map(|p| p.features.iter()).collect();
    assert_eq!(PROFILES.len(), 7);
    assert_eq!(features.len(), 39);

    let recorder = Arc::new(Recorder::default());
    let central = recorder::csms_dispatcher(&recorder);
    let charge_point = recorder::charging_station_dispatcher(&recorder);
    let (mut to_central, mut to_charge_point) = (0, 0);
    for f in &features {
        let payload = minimal(f.request);
        assert_eq!(validate(f.request, &payload), vec![], "{}", f.name);
        for (dispatcher, sender) in [
            (&central, Role::CHARGE_POINT),
            (&charge_point, Role::CENTRAL_SYSTEM),
        ] {
            recorder.calls.lock().unwrap().clear();
            let reply = call(dispatcher, f.name, &payload);
            if f.initiator.may_be_sent_by(sender) {
                assert_eq!(reply[2], "GenericError", "{}: {reply}", f.name);
                assert_eq!(reply[3], f.name);
                let calls = recorder.calls.lock().unwrap().clone();
                let id = (sender == Role::CHARGE_POINT).then(|| "CP-7".to_owned());
                assert_eq!(calls, vec![(f.name, id)], "{}", f.name);
                match sender {
                    Role::ChargingStation => to_central += 1,
                    Role::Csms => to_charge_point += 1,
                }
            } else {
                assert_eq!(reply[2], "NotSupported", "{}: {reply}", f.name);
                assert!(recorder.calls.lock().unwrap().is_empty(), "{}", f.name);
            }
        }
    }
    // OCPP 1.6: 13 actions from the charge point, 25 from the central system, DataTransfer both.
    assert_eq!((to_central, to_charge_point), (14, 26));
}

struct CentralSystem;

impl core::CentralSystemHandler for CentralSystem {
    async fn on_boot_notification(
        &self,
        _: &str,
        request: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        let status = if request.charge_point_vendor == "Banned" {
            RegistrationStatus::Rejected
        } else {
            RegistrationStatus::Accepted
        };
        Ok(BootNotificationResponse::new(status, DateTime::now(), 300))
    }
}

fn central() -> Dispatcher {
    Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM)
        .with(core::CentralSystemService(CentralSystem))
}

/// Each row: a frame, and the 1.6 error code it must be answered with.
#[test]
fn callerrors_use_1_6_codes_in_1_6_spelling() {
    let d = central();
    let boot = r#""chargePointVendor":"V","chargePointModel":"M""#;
    let rows = [
        // A member the PDU does not define, or a payload that is not an object.
        (format!(r#"[2,"a","BootNotification",{{{boot},"extra":1}}]"#), "FormationViolation"),
        (r#"[2,"a","BootNotification",[]]"#.to_owned(), "FormationViolation"),
        // A required member missing: "payload incomplete".
        (r#"[2,"a","BootNotification",{"chargePointVendor":"V"}]"#.to_owned(), "ProtocolError"),
        // Wrong JSON types, and `null`.
        (r#"[2,"a","BootNotification",{"chargePointVendor":1,"chargePointModel":"M"}]"#.to_owned(), "TypeConstraintViolation"),
        (r#"[2,"a","BootNotification",{"chargePointVendor":null,"chargePointModel":"M"}]"#.to_owned(), "TypeConstraintViolation"),
        // Over-long string (chargePointVendor: maxLength 20).
        (format!(r#"[2,"a","BootNotification",{{"chargePointVendor":"{}","chargePointModel":"M"}}]"#, "v".repeat(21)), "PropertyConstraintViolation"),
        // minItems: the errata keep the typo.
        (r#"[2,"a","MeterValues",{"connectorId":1,"meterValue":[]}]"#.to_owned(), "OccurenceConstraintViolation"),
        // Draft-04: 1.0 is not an integer in a core message.
        (r#"[2,"a","StatusNotification",{"connectorId":1.0,"errorCode":"NoError","status":"Available"}]"#.to_owned(), "TypeConstraintViolation"),
        // An enum value 1.6 does not have (2.0.1 spells it differently).
        (r#"[2,"a","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Occupied"}]"#.to_owned(), "PropertyConstraintViolation"),
        // Unknown action; not JSON; an RPC frame of the wrong length.
        (r#"[2,"a","Teleport",{}]"#.to_owned(), "NotImplemented"),
        (r#"[2,"a","BootNotification""#.to_owned(), "FormationViolation"),
        (r#"[2,"a","BootNotification"]"#.to_owned(), "FormationViolation"),
        // Known action the central system does not handle (sent by the wrong side).
        (r#"[2,"a","Reset",{"type":"Hard"}]"#.to_owned(), "NotSupported"),
    ];
    for (frame, code) in rows {
        let reply = send(&d, &frame);
        assert_eq!(reply[0], 4, "{frame}: {reply}");
        assert_eq!(reply[2], code, "{frame}: {reply}");
        assert!(
            OcppVersion::V1_6.defines_error_code(reply[2].as_str().unwrap().parse().unwrap()),
            "{reply}"
        );
    }
    // Unknown message type: OCPP-J 1.6 §4.1.3 says it is ignored (no reply at all).
    for frame in [
        r#"[7,"a","BootNotification",{}]"#,
        r#"[5,"a","X","",{}]"#,
        r#"[6,"a","X",{}]"#,
    ] {
        assert_eq!(run(d.handle("CP-7", frame)), None, "{frame}");
    }
    let ok = send(&d, &format!(r#"[2,"b","BootNotification",{{{boot}}}]"#));
    assert_eq!(ok[0], 3, "{ok}");
    assert_eq!(ok[2]["status"], "Accepted");
}

/// The same `5.0` is an integer in a draft-06 security extension message and not in a draft-04
/// core message; `multipleOf: 0.1` is decided in decimal.
#[test]
fn each_message_follows_its_own_draft_and_multiple_of_is_decimal() {
    use ocpp_messages::v1_6::security::GetLogRequest;
    use ocpp_messages::v1_6::smartcharging::SetChargingProfileRequest;
    use ocpp_messages::Message;

    let get_log = |id: &str| {
        format!(
            r#"{{"logType":"DiagnosticsLog","requestId":{id},"log":{{"remoteLocation":"ftp://x/y"}}}}"#
        )
    };
    assert_eq!(
        GetLogRequest::from_json_str(&get_log("5.0"))
            .unwrap()
            .request_id,
        5
    );
    assert_eq!(
        GetLogRequest::from_json_str(&get_log("5"))
            .unwrap()
            .request_id,
        5
    );

    let profile = |limit: &str| {
        format!(
            r#"{{"connectorId":1,"csChargingProfiles":{{"chargingProfileId":1,"stackLevel":0,
            "chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute",
            "chargingSchedule":{{"chargingRateUnit":"A","chargingSchedulePeriod":[
            {{"startPeriod":0,"limit":{limit}}}]}}}}}}"#
        )
    };
    for ok in ["0.3", "2.7", "16", "16.0", "0.1", "1e1"] {
        let request = SetChargingProfileRequest::from_json_str(&profile(ok));
        assert!(request.is_ok(), "{ok}: {request:?}");
    }
    for bad in ["0.05", "1.55", "0.33"] {
        let err = SetChargingProfileRequest::from_json_str(&profile(bad)).unwrap_err();
        assert!(err.to_string().contains("multiple of 0.1"), "{bad}: {err}");
    }
    // Draft-04 core message: `1.0` is refused where the typed decoder and the validator meet.
    let err = SetChargingProfileRequest::from_json_str(
        &profile("1").replace(r#""connectorId":1"#, r#""connectorId":1.0"#),
    )
    .unwrap_err();
    assert!(err.to_string().contains("integer"), "{err}");
}

#[test]
#[should_panic(expected = "an OCPP 2.0.1 service was added to an OCPP 1.6 dispatcher")]
fn a_1_6_dispatcher_refuses_a_2_0_1_service() {
    struct Csms;
    impl ocpp_messages::v2_0_1::provisioning::CsmsHandler for Csms {}
    let _ = Dispatcher::new(OcppVersion::V1_6, Role::Csms)
        .with(ocpp_messages::v2_0_1::provisioning::CsmsService(Csms));
}

#[test]
fn versions_are_chosen_by_subprotocol() {
    assert_eq!(
        OcppVersion::from_subprotocol("ocpp1.6"),
        Some(OcppVersion::V1_6)
    );
    assert_eq!(
        OcppVersion::from_subprotocol("ocpp2.0.1"),
        Some(OcppVersion::V2_0_1)
    );
    assert_eq!(OcppVersion::from_subprotocol("ocpp1.5"), None);
    assert_eq!(OcppVersion::V1_6.profiles().len(), 7);
    assert!(OcppVersion::V1_6.feature("SignCertificate").is_some());
    assert!(OcppVersion::V1_6.feature("TransactionEvent").is_none());
}
