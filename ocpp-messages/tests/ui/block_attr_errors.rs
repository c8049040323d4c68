ocpp_messages::functional_block! {
    name = "provisioning";

    /// No attribute.
    pub struct ResetFeature;

    #[ocpp(action = "Heartbeat", request = HeartbeatRequest, response = HeartbeatResponse, initiator = ChargingStation, retries = 3)]
    pub struct HeartbeatFeature;

    #[ocpp(action = "BootNotification", request = BootNotificationRequest)]
    pub struct BootNotificationFeature;

    #[ocpp(action = "SetVariables", request = SetVariablesRequest, response = SetVariablesResponse, initiator = Station)]
    pub struct SetVariablesFeature;

    #[ocpp(action = GetVariables, request = GetVariablesRequest, response = GetVariablesResponse, initiator = Csms)]
    pub struct GetVariablesFeature;

    #[ocpp(action = "", request = GetBaseReportRequest, response = GetBaseReportResponse, initiator = Csms)]
    pub struct GetBaseReportFeature;

    #[ocpp(action = "GetReport", action = "GetReport", request = GetReportRequest, response = GetReportResponse, initiator = Csms)]
    pub struct GetReportFeature;
}

fn main() {}
