#[derive(ocpp_messages::Feature)]
#[ocpp(action = "", request = ResetRequest, response = ResetResponse, initiator = Csms)]
pub struct ResetFeature;

fn main() {}
