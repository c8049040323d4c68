#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Reset", request = ResetRequest, response = ResetResponse, initiator = Csms, action = "Reboot")]
pub struct ResetFeature;

#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Heartbeat", request = HeartbeatRequest, response = HeartbeatResponse)]
#[ocpp(initiator = ChargingStation, response = HeartbeatResponse)]
pub struct HeartbeatFeature;

fn main() {}
