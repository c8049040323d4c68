#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Reset", request = ResetRequest, response = ResetResponse, initiator = Csms, version = Vec<u8>)]
pub struct ResetFeature;

#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Heartbeat", ocpp::request = HeartbeatRequest, request = HeartbeatRequest, response = HeartbeatResponse, initiator = ChargingStation)]
pub struct HeartbeatFeature;

fn main() {}
