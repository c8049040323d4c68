#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Reset", request = ResetRequest, response = ResetResponse, initiator = Csms)]
pub struct ResetFeature {
    pub now: bool,
}

#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Heartbeat", request = HeartbeatRequest, response = HeartbeatResponse, initiator = ChargingStation)]
pub struct HeartbeatFeature(pub u32);

fn main() {}
