// A handler method's future must be `Send`, so that a dispatcher can run it on any thread: an
// `async fn` that holds an `Rc` across an `.await` is rejected where it is implemented.

use std::rc::Rc;

use ocpp_messages::v2_0_1::availability::{HeartbeatRequest, HeartbeatResponse};
use ocpp_messages::CallError;

ocpp_messages::functional_block! {
    name = "demo";

    #[ocpp(action = "Heartbeat", request = HeartbeatRequest, response = HeartbeatResponse, initiator = ChargingStation)]
    pub struct HeartbeatFeature;
}

struct App;

impl CsmsHandler for App {
    async fn on_heartbeat(
        &self,
        _charging_station_id: &str,
        _request: HeartbeatRequest,
    ) -> Result<HeartbeatResponse, CallError> {
        let not_send = Rc::new(());
        std::future::ready(()).await;
        drop(not_send);
        Err(CallError::internal("unreachable"))
    }
}

fn main() {}
