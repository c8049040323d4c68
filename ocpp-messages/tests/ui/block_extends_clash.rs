use ocpp_messages::v2_0_1::availability::{HeartbeatRequest, HeartbeatResponse};

ocpp_messages::functional_block! {
    name = "mine";
    extends = v2_0_1;

    /// A heartbeat of my own.
    #[ocpp(action = "Heartbeat", request = HeartbeatRequest, response = HeartbeatResponse, initiator = ChargingStation)]
    pub struct MyHeartbeatFeature;
}

ocpp_messages::functional_block! {
    name = "other";
    extends = "2.0.1";
}

fn main() {}
