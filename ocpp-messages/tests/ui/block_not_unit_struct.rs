ocpp_messages::functional_block! {
    name = "provisioning";

    #[ocpp(action = "Reset", request = ResetRequest, response = ResetResponse, initiator = Csms)]
    pub struct ResetFeature {
        pub now: bool,
    }

    #[ocpp(action = "Heartbeat", request = HeartbeatRequest, response = HeartbeatResponse, initiator = ChargingStation)]
    pub struct HeartbeatFeature<T>;

    pub enum BootNotificationFeature {}

    pub fn boot_notification() {}

    use std::fmt;
}

fn main() {}
