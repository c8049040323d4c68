//! The CSMS's OCPP 2.1 handlers: the session's messages as in 2.0.1 (written once in the
//! crate's private `csms::v2` module), and the periodic event streams of the diagnostics block:
//! OpenPeriodicEventStream, the SEND NotifyPeriodicEventStream (recorded in
//! [`Sessions`](crate::sessions::Sessions), never answered) and ClosePeriodicEventStream.

use ocpp_messages::v2_1::diagnostics::{
    self, ClosePeriodicEventStreamRequest, ClosePeriodicEventStreamResponse,
    NotifyPeriodicEventStreamRequest, OpenPeriodicEventStreamRequest,
    OpenPeriodicEventStreamResponse,
};
use ocpp_messages::{OcppVersion, Role};

super::v2::v2_handlers!(v2_1);

/// The 2.1 dispatcher: the blocks of the 2.0.1 one, and diagnostics for the periodic event
/// streams.
pub(super) fn dispatcher(csms: &Arc<Csms>) -> Dispatcher {
    session_services(Dispatcher::new(OcppVersion::V2_1, Role::Csms), csms)
        .with(diagnostics::CsmsService(Arc::clone(csms)))
}

impl diagnostics::CsmsHandler for Csms {
    async fn on_open_periodic_event_stream(
        &self,
        charging_station_id: &str,
        request: OpenPeriodicEventStreamRequest,
    ) -> Result<OpenPeriodicEventStreamResponse, CallError> {
        let stream = &request.constant_stream_data;
        self.stream_opened(
            charging_station_id,
            stream.id,
            stream.variable_monitoring_id,
        );
        Ok(OpenPeriodicEventStreamResponse::new(
            GenericStatus::Accepted,
        ))
    }

    async fn on_notify_periodic_event_stream(
        &self,
        charging_station_id: &str,
        request: NotifyPeriodicEventStreamRequest,
    ) {
        let values = request.data.into_iter().map(|d| (d.t, d.v)).collect();
        self.stream_values(
            charging_station_id,
            request.id,
            &request.basetime,
            values,
            request.pending,
        );
    }

    async fn on_close_periodic_event_stream(
        &self,
        charging_station_id: &str,
        request: ClosePeriodicEventStreamRequest,
    ) -> Result<ClosePeriodicEventStreamResponse, CallError> {
        // The response has no status: closing an unknown stream is only logged.
        self.stream_closed(charging_station_id, request.id);
        Ok(ClosePeriodicEventStreamResponse::new())
    }
}
