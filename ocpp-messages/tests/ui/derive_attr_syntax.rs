#[derive(ocpp_messages::Feature)]
#[ocpp]
pub struct ResetFeature;

#[derive(ocpp_messages::Feature)]
#[ocpp = "Heartbeat"]
pub struct HeartbeatFeature;

#[derive(ocpp_messages::Feature)]
#[ocpp(action, request = AuthorizeRequest, response = AuthorizeResponse, initiator = ChargingStation)]
pub struct AuthorizeFeature;

fn main() {}
