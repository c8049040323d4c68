ocpp_messages::functional_block! {
    name = "diagnostics";

    #[ocpp(action = "GetEVLog", request = GetLogRequest, response = GetLogResponse, initiator = Csms)]
    pub struct GetEvLogFeature;

    #[ocpp(action = "GetEvLog", request = GetLogRequest, response = GetLogResponse, initiator = Csms)]
    pub struct GetEvLogAgainFeature;
}

fn main() {}
