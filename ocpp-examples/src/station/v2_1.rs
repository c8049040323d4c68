//! The station's steps in OCPP 2.1: those of 2.0.1 (written once in the crate's private
//! `station::v2` module, here against 2.1's types), and the session's energy readings as a
//! periodic event stream (step 9): OpenPeriodicEventStream, one NotifyPeriodicEventStream SEND,
//! ClosePeriodicEventStream.

use ocpp_messages::v2_1::diagnostics::{
    ClosePeriodicEventStreamFeature, ClosePeriodicEventStreamRequest, ConstantStreamData,
    NotifyPeriodicEventStreamFeature, NotifyPeriodicEventStreamRequest,
    OpenPeriodicEventStreamFeature, OpenPeriodicEventStreamRequest, PeriodicEventStreamParams,
    StreamDataElement,
};
use ocpp_messages::v2_1::types::IdToken;
use ocpp_messages::Feature as _;

use super::{Reading, EVENT_STREAM_ID};

/// OCPP 2.1, for [`Protocol`].
pub(crate) struct V2_1;

/// The id token for `id_tag`: an RFID card (2.1 writes the token type as a string).
fn id_token(id_tag: &str) -> IdToken {
    IdToken::new(id_tag, "ISO14443")
}

/// The variable monitor the stream reports: the station's energy register monitor.
const ENERGY_MONITOR_ID: i64 = 1;

super::v2::v2_steps!(v2_1, V2_1, {
    async fn event_stream(
        peer: &Peer,
        basetime: DateTime,
        readings: &[Reading],
    ) -> Result<(), StationError> {
        let Ok(count) = i64::try_from(readings.len()) else {
            return Err(refused::<NotifyPeriodicEventStreamFeature>(
                "too many readings",
            ));
        };
        if count == 0 {
            return Ok(());
        }
        // A stream must be opened (and Accepted) before its data is sent: the SEND names it.
        let params = PeriodicEventStreamParams::new().with_values(count);
        let open = OpenPeriodicEventStreamRequest::new(ConstantStreamData::new(
            EVENT_STREAM_ID,
            params,
            ENERGY_MONITOR_ID,
        ));
        let opened = call::<OpenPeriodicEventStreamFeature>(peer, &open).await?;
        if opened.status != GenericStatus::Accepted {
            return Err(refused::<OpenPeriodicEventStreamFeature>(opened.status));
        }
        let data = readings
            .iter()
            .map(|r| StreamDataElement::new(r.offset_s, r.meter_wh.to_string()))
            .collect();
        let notify = NotifyPeriodicEventStreamRequest::new(data, EVENT_STREAM_ID, 0, basetime);
        peer.send::<NotifyPeriodicEventStreamFeature>(&notify)
            .await
            .map_err(|source| StationError::Call {
                action: NotifyPeriodicEventStreamFeature::NAME,
                source: Box::new(source),
            })?;
        tracing::info!(
            "{}: sent {count} reading(s) on event stream {EVENT_STREAM_ID}",
            peer.station()
        );
        call::<ClosePeriodicEventStreamFeature>(
            peer,
            &ClosePeriodicEventStreamRequest::new(EVENT_STREAM_ID),
        )
        .await?;
        Ok(())
    }
});
