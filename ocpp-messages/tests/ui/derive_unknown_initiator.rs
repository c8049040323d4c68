#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Reset", request = ResetRequest, response = ResetResponse, initiator = Station)]
pub struct ResetFeature;

#[derive(ocpp_messages::Feature)]
#[ocpp(action = "Heartbeat", request = HeartbeatRequest, response = HeartbeatResponse, initiator = "ChargingStation")]
pub struct HeartbeatFeature;

#[derive(ocpp_messages::Feature)]
#[ocpp(action = "DataTransfer", request = DataTransferRequest, response = DataTransferResponse, initiator = Initiator::Both)]
pub struct DataTransferFeature;

fn main() {}
