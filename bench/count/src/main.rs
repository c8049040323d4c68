//! N decodes (Frame::decode_call) or dispatches (Dispatcher::handle) of one bench frame, for
//! callgrind: instructions per frame = (count(N2) - count(N1)) / (N2 - N1).
use std::future::Future;
use std::hint::black_box;

#[cfg(not(feature = "new_api"))]
use ocpp_messages::dispatch::Dispatcher;
use ocpp_messages::frame::Frame;
#[cfg(feature = "new_api")]
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::security::{self, *};
use ocpp_messages::v2_0_1::transactions::{self, *};
use ocpp_messages::v2_0_1::types::GenericStatus;
use ocpp_messages::{CallError, OcppVersion, Role};

struct Csms;
impl security::CsmsHandler for Csms {
    async fn on_security_event_notification(
        &self,
        _: &str,
        _: SecurityEventNotificationRequest,
    ) -> Result<SecurityEventNotificationResponse, CallError> {
        Ok(SecurityEventNotificationResponse::new())
    }
    async fn on_sign_certificate(
        &self,
        _: &str,
        _: SignCertificateRequest,
    ) -> Result<SignCertificateResponse, CallError> {
        Ok(SignCertificateResponse::new(GenericStatus::Accepted))
    }
}
impl transactions::CsmsHandler for Csms {
    async fn on_transaction_event(
        &self,
        _: &str,
        _: TransactionEventRequest,
    ) -> Result<TransactionEventResponse, CallError> {
        Ok(TransactionEventResponse::new())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (what, frame, n): (&str, &str, usize) = (&args[1], &args[2], args[3].parse().unwrap());
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../ocpp-messages/benches/frames/"
    );
    let text = std::fs::read_to_string(format!("{dir}{frame}.json")).unwrap();
    let text = text.trim_end();
    let d = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(security::CsmsService(Csms))
        .with(transactions::CsmsService(Csms));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut ok = 0usize;
    for _ in 0..n {
        match (what, frame) {
            ("typed", "small") => {
                ok += Frame::decode_call::<SecurityEventNotificationFeature>(
                    OcppVersion::V2_0_1,
                    black_box(text),
                )
                .is_ok() as usize
            }
            ("typed", "medium") => {
                ok += Frame::decode_call::<SignCertificateFeature>(
                    OcppVersion::V2_0_1,
                    black_box(text),
                )
                .is_ok() as usize
            }
            ("typed", _) => {
                ok += Frame::decode_call::<TransactionEventFeature>(
                    OcppVersion::V2_0_1,
                    black_box(text),
                )
                .is_ok() as usize
            }
            _ => {
                let mut f = std::pin::pin!(d.handle("CS-1", black_box(text)));
                if let std::task::Poll::Ready(Some(r)) = f.as_mut().poll(&mut cx) {
                    ok += r.starts_with("[3,") as usize;
                }
            }
        }
    }
    assert_eq!(ok, n, "every frame is valid");
}
