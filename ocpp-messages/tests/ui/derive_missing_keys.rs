#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Reset", response = ResetResponse)]
pub struct ResetFeature;

#[derive(ocpp_messages::Feature)]
#[ocpp()]
pub struct HeartbeatFeature;

#[derive(ocpp_messages::Feature)]
#[ocpp(request = AuthorizeRequest, response = AuthorizeResponse, initiator = ChargingStation)]
pub struct AuthorizeFeature;

fn main() {}
