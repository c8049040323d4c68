//! The CSMS's OCPP 2.0.1 handlers: each message translated to the shared calls of
//! [`Csms`]. The handlers are those of 2.1 too, written once in the
//! crate's private `csms::v2` module.

use ocpp_messages::{OcppVersion, Role};

super::v2::v2_handlers!(v2_0_1);

/// The 2.0.1 dispatcher: provisioning, availability, authorization, transactions, meter values,
/// data transfer and security.
pub(super) fn dispatcher(csms: &Arc<Csms>) -> Dispatcher {
    session_services(Dispatcher::new(OcppVersion::V2_0_1, Role::Csms), csms)
}

/// A05, the CSMS's side of a security profile upgrade: SetNetworkProfile puts `url` with
/// `profile` in `slot`; when Accepted, SetVariables `OCPPCommCtrlr.NetworkConfigurationPriority`
/// makes that slot the first, and Reset `OnIdle` has the station reboot onto it. The answers,
/// as text; the first refusal ends the sequence.
pub(super) async fn upgrade_security_profile(
    peer: &crate::connection::Peer,
    slot: i64,
    profile: i64,
    url: &str,
) -> Result<String, crate::connection::CallFailed> {
    use ocpp_messages::v2_0_1::provisioning::{
        NetworkConnectionProfile, OcppInterface, OcppTransport, OcppVersion as Protocol, Reset,
        ResetFeature, ResetRequest, SetNetworkProfileFeature, SetNetworkProfileRequest,
        SetNetworkProfileStatus, SetVariableData, SetVariablesFeature, SetVariablesRequest,
    };
    use ocpp_messages::v2_0_1::types::{Component, Variable};

    let connection = NetworkConnectionProfile::new(
        Protocol::Ocpp20,
        OcppTransport::Json,
        url,
        30,
        profile,
        OcppInterface::Wired0,
    );
    let set = peer
        .call::<SetNetworkProfileFeature>(&SetNetworkProfileRequest::new(slot, connection))
        .await?;
    let mut answers = format!("SetNetworkProfile {}", set.status);
    if set.status != SetNetworkProfileStatus::Accepted {
        return Ok(answers);
    }
    let priority = SetVariablesRequest::new(vec![SetVariableData::new(
        slot.to_string(),
        Component::new("OCPPCommCtrlr"),
        Variable::new("NetworkConfigurationPriority"),
    )]);
    let priority = peer.call::<SetVariablesFeature>(&priority).await?;
    let status = priority
        .set_variable_result
        .first()
        .map_or("no result".to_owned(), |r| r.attribute_status.to_string());
    answers.push_str(&format!(", NetworkConfigurationPriority {status}"));
    if status != "Accepted" && status != "RebootRequired" {
        return Ok(answers);
    }
    let reset = peer
        .call::<ResetFeature>(&ResetRequest::new(Reset::OnIdle))
        .await?;
    answers.push_str(&format!(", Reset {}", reset.status));
    Ok(answers)
}
