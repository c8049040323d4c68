ocpp_messages::functional_block! {
    name = "streams";

    #[ocpp(action = "Stream", request = Request, send, response = Response, initiator = ChargingStation)]
    pub struct StreamFeature;
}

fn main() {}
