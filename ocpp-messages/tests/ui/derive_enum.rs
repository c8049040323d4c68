#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Reset", request = ResetRequest, response = ResetResponse, initiator = Csms)]
pub enum ResetFeature {
    Now,
}

fn main() {}
