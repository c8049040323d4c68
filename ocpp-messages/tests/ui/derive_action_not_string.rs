#[derive(ocpp_messages::Feature)]
#[ocpp(action = Reset, request = ResetRequest, response = ResetResponse, initiator = Csms)]
pub struct ResetFeature;

#[derive(ocpp_messages::Feature)]
#[ocpp(action = 5, request = HeartbeatRequest, response = HeartbeatResponse, initiator = ChargingStation)]
pub struct HeartbeatFeature;

fn main() {}
