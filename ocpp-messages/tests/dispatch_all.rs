//! Every OCPP 2.0.1 action, through one dispatcher per role: each CALL the peer may send
//! reaches its own method; defaults answer NotSupported; wrong-direction CALLs NotSupported.
#![allow(clippy::unwrap_used)]

#[path = "support/dispatch.rs"]
mod helpers;

#[path = "generated/v2_0_1_recorder.rs"]
#[rustfmt::skip]
mod recorder;

use std::sync::Arc;

use helpers::{minimal, run};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::PROFILES;
use ocpp_messages::validate::validate;
use ocpp_messages::{Initiator, OcppVersion, Role};
use recorder::Recorder;
use serde_json::{json, Value};

fn call(d: &Dispatcher, action: &str, payload: &Value) -> Value {
    let frame = json!([2, "m1", action, payload]).to_string();
    serde_json::from_str(&run(d.handle("CS-7", &frame)).unwrap()).unwrap()
}

#[test]
fn every_action_reaches_its_method_and_only_from_the_right_side() {
    let features: Vec<_> = PROFILES.iter().flat_map(|p| p.features.iter()).collect();
    assert_eq!(PROFILES.len(), 16);
    assert_eq!(features.len(), 64);

    let recorder = Arc::new(Recorder::default());
    let csms = recorder::csms_dispatcher(&recorder);
    let station = recorder::charging_station_dispatcher(&recorder);
    let (mut to_csms, mut to_station) = (0, 0);
    for f in &features {
        let payload = minimal(f.request);
        assert_eq!(
            validate(f.request, &payload),
            vec![],
            "{}: minimal instance",
            f.name
        );
        for (dispatcher, sender) in [(&csms, Role::ChargingStation), (&station, Role::Csms)] {
            recorder.calls.lock().unwrap().clear();
            let reply = call(dispatcher, f.name, &payload);
            if f.initiator.may_be_sent_by(sender) {
                // The recorder answers GenericError naming the action it was called for.
                assert_eq!(reply[2], "GenericError", "{}: {reply}", f.name);
                assert_eq!(reply[3], f.name);
                let calls = recorder.calls.lock().unwrap().clone();
                let id = (sender == Role::ChargingStation).then(|| "CS-7".to_owned());
                assert_eq!(calls, vec![(f.name, id)], "{}", f.name);
                match sender {
                    Role::ChargingStation => to_csms += 1,
                    Role::Csms => to_station += 1,
                }
            } else {
                assert_eq!(
                    reply[2], "NotSupported",
                    "{} sent by {sender:?}: {reply}",
                    f.name
                );
                assert!(recorder.calls.lock().unwrap().is_empty());
            }
        }
    }
    // 24 station-initiated + DataTransfer; 39 CSMS-initiated + DataTransfer.
    assert_eq!((to_csms, to_station), (25, 40));
}

#[test]
fn defaults_answer_not_supported_and_unknown_actions_not_implemented() {
    struct Nothing;
    macro_rules! services {
        ($($block:ident),*) => {(
            Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
                $(.with(ocpp_messages::v2_0_1::$block::CsmsService(Nothing)))*,
            Dispatcher::new(OcppVersion::V2_0_1, Role::ChargingStation)
                $(.with(ocpp_messages::v2_0_1::$block::ChargingStationService(Nothing)))*,
        )};
    }
    macro_rules! implement_nothing {
        ($($block:ident),*) => {$(
            impl ocpp_messages::v2_0_1::$block::CsmsHandler for Nothing {}
            impl ocpp_messages::v2_0_1::$block::ChargingStationHandler for Nothing {}
        )*};
    }
    implement_nothing!(
        authorization,
        availability,
        data,
        diagnostics,
        display,
        firmware,
        iso15118,
        localauth,
        meter,
        provisioning,
        remotecontrol,
        reservation,
        security,
        smartcharging,
        tariffcost,
        transactions
    );
    let (csms, station) = services!(
        authorization,
        availability,
        data,
        diagnostics,
        display,
        firmware,
        iso15118,
        localauth,
        meter,
        provisioning,
        remotecontrol,
        reservation,
        security,
        smartcharging,
        tariffcost,
        transactions
    );
    for f in PROFILES.iter().flat_map(|p| p.features.iter()) {
        let payload = minimal(f.request);
        let d = match f.initiator {
            Initiator::ChargingStation | Initiator::Both => &csms,
            Initiator::Csms => &station,
        };
        assert_eq!(call(d, f.name, &payload)[2], "NotSupported", "{}", f.name);
    }
    for unknown in [
        "Teleport",
        "heartbeat",
        "Heartbeat ",
        "",
        "SignCertificateRequest",
    ] {
        assert_eq!(
            call(&csms, unknown, &json!({}))[2],
            "NotImplemented",
            "{unknown:?}"
        );
    }
}

#[test]
fn a_csms_of_a_few_blocks_answers_the_rest_not_supported() {
    use ocpp_messages::v2_0_1::provisioning::{
        self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus,
    };
    use ocpp_messages::v2_0_1::{availability, security};
    use ocpp_messages::{CallError, DateTime};

    struct App;
    impl provisioning::CsmsHandler for App {
        async fn on_boot_notification(
            &self,
            _charging_station_id: &str,
            request: BootNotificationRequest,
        ) -> Result<BootNotificationResponse, CallError> {
            assert_eq!(request.charging_station.vendor_name, "V");
            let now: DateTime = "2024-01-31T13:45:00Z".parse().unwrap();
            Ok(BootNotificationResponse::new(
                now,
                300,
                RegistrationStatus::Accepted,
            ))
        }
    }
    impl availability::CsmsHandler for App {
        async fn on_heartbeat(
            &self,
            _charging_station_id: &str,
            _request: availability::HeartbeatRequest,
        ) -> Result<availability::HeartbeatResponse, CallError> {
            Ok(availability::HeartbeatResponse::new(
                "2024-01-31T13:45:00+01:00".parse().unwrap(),
            ))
        }
    }
    impl security::CsmsHandler for App {}

    let app = Arc::new(App);
    let csms = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(provisioning::CsmsService(Arc::clone(&app)))
        .with(availability::CsmsService(Arc::clone(&app)))
        .with(security::CsmsService(app));
    let boot = json!({"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}});
    assert_eq!(
        call(&csms, "BootNotification", &boot),
        json!([3, "m1", {"currentTime": "2024-01-31T13:45:00Z", "interval": 300, "status": "Accepted"}])
    );
    assert_eq!(
        call(&csms, "Heartbeat", &json!({})),
        json!([3, "m1", {"currentTime": "2024-01-31T13:45:00+01:00"}])
    );
    // Implemented block, method left to its default.
    assert_eq!(
        call(&csms, "StatusNotification", &json!({}))[2],
        "OccurrenceConstraintViolation"
    );
    let status = json!({"timestamp": "2024-01-31T13:45:00Z", "connectorStatus": "Available", "evseId": 1, "connectorId": 1});
    assert_eq!(
        call(&csms, "StatusNotification", &status)[2],
        "NotSupported"
    );
    // A block not served at all.
    let meter = json!({"evseId": 1, "meterValue": [{"timestamp": "2024-01-31T13:45:00Z", "sampledValue": [{"value": 1.5}]}]});
    assert_eq!(call(&csms, "MeterValues", &meter)[2], "NotSupported");
    assert_eq!(
        call(&csms, "SignCertificate", &json!({"csr": "x"}))[2],
        "NotSupported"
    );
}
