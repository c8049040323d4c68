ocpp_messages::functional_block! {
    name = "provisioning";

    #[ocpp(action = "Reset", request = ResetRequest, response = ResetResponse, initiator = Csms)]
    pub struct ResetFeature;

    #[ocpp(action = "Reset", request = ResetRequest, response = ResetResponse, initiator = Csms)]
    pub struct ResetAgainFeature;
}

fn main() {}
