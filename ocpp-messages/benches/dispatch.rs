//! The hot path: one CALL frame in, one CALLRESULT frame out, against the plain serde floor.
//!
//! `cargo bench -p ocpp-messages --bench dispatch`
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use ocpp_messages::dispatch::Dispatcher;
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus,
};
use ocpp_messages::validate::{validate, HasSchema};
use ocpp_messages::{CallError, DateTime, OcppVersion, Role};

const BOOT: &str = r#"[2,"19223201","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"SingleSocketCharger","vendorName":"VendorX","serialNumber":"SN-0001","firmwareVersion":"1.2.3","modem":{"iccid":"8931440400000000000","imsi":"204080000000000"}},"customData":{"vendorId":"com.example","site":"Utrecht"}}]"#;
const BOOT_PAYLOAD: &str = r#"{"reason":"PowerUp","chargingStation":{"model":"SingleSocketCharger","vendorName":"VendorX","serialNumber":"SN-0001","firmwareVersion":"1.2.3","modem":{"iccid":"8931440400000000000","imsi":"204080000000000"}},"customData":{"vendorId":"com.example","site":"Utrecht"}}"#;

struct Csms {
    now: DateTime,
}

impl provisioning::CsmsHandler for Csms {
    async fn on_boot_notification(
        &self,
        _charging_station_id: &str,
        _request: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        Ok(BootNotificationResponse::new(
            self.now.clone(),
            300,
            RegistrationStatus::Accepted,
        ))
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let now: DateTime = "2024-01-31T13:45:00Z".parse().unwrap();
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(provisioning::CsmsService(Csms { now }));

    let mut group = c.benchmark_group("BootNotification");
    group.bench_function("serde floor: from_str into the typed request", |b| {
        b.iter(|| serde_json::from_str::<BootNotificationRequest>(BOOT_PAYLOAD).unwrap())
    });
    group.bench_function("validate the payload value", |b| {
        let value: serde_json::Value = serde_json::from_str(BOOT_PAYLOAD).unwrap();
        b.iter(|| validate(BootNotificationRequest::SCHEMA, &value).len())
    });
    group.bench_function("dispatcher: frame in, frame out", |b| {
        b.iter_batched(
            || (),
            |()| rt.block_on(dispatcher.handle("CS-1", BOOT)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(dispatch, benches);
criterion_main!(dispatch);
