#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Reset", request = ResetRequest, response = ResetResponse, initiator = Csms)]
pub struct ResetFeature<const N: usize>;

#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Heartbeat", request = HeartbeatRequest, response = HeartbeatResponse, initiator = ChargingStation)]
pub struct HeartbeatFeature
where
    u8: Copy;

fn main() {}
