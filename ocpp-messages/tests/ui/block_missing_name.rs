ocpp_messages::functional_block! {
    #[ocpp(action = "Reset", request = ResetRequest, response = ResetResponse, initiator = Csms)]
    pub struct ResetFeature;
}

fn main() {}
