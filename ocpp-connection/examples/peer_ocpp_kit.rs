//! The peer for the `swarm` bench: a CSMS on `ocpp-kit` 0.3.0's tokio transport (its
//! builder, its defaults), answering BootNotification and Heartbeat of OCPP 2.0.1 as
//! `idle_memory --serve` does with this crate's `Server`. A dev-dependency for benches only.
//!
//! ```text
//! cargo run --release -p ocpp-connection --example peer_ocpp_kit -- 127.0.0.1:9400
//! ```

use ocpp_kit::engine::IncomingRequest;
use ocpp_kit::rpc::CallError;
use ocpp_kit::transport::{Auth, AuthOutcome, BoxFuture, Csms, Ctx, Handler};
use ocpp_kit::types::DateTime;
use ocpp_kit::{v2_0_1, RawValue, Version};

struct Peer;

impl Handler for Peer {
    fn on_request(
        &self,
        ctx: Ctx,
        request: IncomingRequest,
    ) -> BoxFuture<'_, Result<Box<RawValue>, CallError>> {
        Box::pin(async move {
            let action = v2_0_1::Action::from_wire(&request.action)
                .ok_or_else(|| CallError::not_implemented(&request.action))?;
            let typed = v2_0_1::CsRequest::decode(action, &request.payload, ctx.decode_options())?;
            match typed {
                v2_0_1::CsRequest::BootNotification(_) => {
                    ctx.reply(&v2_0_1::BootNotificationResponse::new(
                        DateTime::now(),
                        3600,
                        v2_0_1::RegistrationStatus::Accepted,
                    ))
                }
                v2_0_1::CsRequest::Heartbeat(_) => {
                    ctx.reply(&v2_0_1::HeartbeatResponse::new(DateTime::now()))
                }
                other => Err(CallError::not_supported(other.action().as_str())),
            }
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9400".to_owned());
    let csms = Csms::builder()
        .bind(listen.parse()?)
        .versions([Version::V2_0_1])
        .authenticate(|_auth: Auth| async move { AuthOutcome::accept() })
        .handler(Peer)
        .build()?;
    println!("{listen}");
    csms.serve().await?;
    Ok(())
}
