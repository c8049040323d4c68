//! The memory a hostile frame makes the dispatcher hold, measured (Linux: the peak resident
//! set, reset before each frame through `/proc/self/clear_refs`). One test in its own binary,
//! so that no other test allocates meanwhile.
#![allow(clippy::unwrap_used)]
#![cfg(target_os = "linux")]

use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v2_0_1::security;
use ocpp_messages::{CallError, OcppVersion, Role};

struct Csms;

impl security::CsmsHandler for Csms {
    async fn on_security_event_notification(
        &self,
        _: &str,
        _: security::SecurityEventNotificationRequest,
    ) -> Result<security::SecurityEventNotificationResponse, CallError> {
        Ok(security::SecurityEventNotificationResponse::new())
    }
}

/// A `/proc/self/status` figure, in bytes.
fn status(key: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<usize>()
        .unwrap()
        * 1024
}

/// The most a frame may make the dispatcher hold beyond what the process held before.
const BOUND: usize = 64 << 20;

#[test]
fn no_frame_makes_the_dispatcher_hold_more_than_the_bound() {
    let dispatcher =
        Dispatcher::new(OcppVersion::V2_0_1, Role::Csms).with(security::CsmsService(Csms));
    let call = |payload_rest: &str, invalid: bool| {
        let kind = if invalid { "5" } else { r#""T""# };
        format!(
            r#"[2,"a","SecurityEventNotification",{{"type":{kind},"timestamp":"2024-01-01T00:00:00Z","customData":{{"vendorId":"v","x":{payload_rest}}}}}]"#
        )
    };
    let zeros = |n: usize| vec!["0"; n].join(",");
    let arrays = |count: usize, each: usize| {
        format!("[{}]", vec![format!("[{}]", zeros(each)); count].join(","))
    };
    let frames = [
        (
            "10 MB string",
            call(&format!("\"{}\"", "x".repeat(10 << 20)), false),
            "-1",
        ),
        (
            "7 MB string",
            call(&format!("\"{}\"", "x".repeat(7 << 20)), false),
            "a",
        ),
        (
            "nesting 100,000 deep",
            call(
                &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
                false,
            ),
            "-1",
        ),
        (
            "3.6 million zeros in arrays",
            call(&arrays(40, 90_000), true),
            "-1",
        ),
        (
            "3.6 million zeros, valid",
            call(&arrays(40, 90_000), false),
            "-1",
        ),
        (
            "480,000 zeros in arrays, invalid",
            call(&arrays(6, 80_000), true),
            "a",
        ),
        (
            "480,000 zeros in arrays, valid",
            call(&arrays(6, 80_000), false),
            "a",
        ),
        (
            "80,000 empty objects",
            call(&format!("[{}]", vec!["{}"; 80_000].join(",")), true),
            "a",
        ),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (name, frame, id) in frames {
        let reply = {
            std::fs::write("/proc/self/clear_refs", "5").unwrap();
            let before = status("VmRSS:");
            let reply = runtime.block_on(dispatcher.handle("CS-1", &frame)).unwrap();
            let grown = status("VmHWM:").saturating_sub(before);
            assert!(grown < BOUND, "{name}: {} MB", grown >> 20);
            reply
        };
        let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply[1], id, "{name}: {reply}");
    }
}
