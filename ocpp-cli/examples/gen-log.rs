//! Writes a deterministic log of OCPP 2.0.1 frames for the CLI throughput benchmark.
//!
//! ```text
//! cargo run --release -p ocpp-cli --example gen-log -- 1000000 > /tmp/log.jsonl
//! ```
//!
//! The log holds CALLs of 23 actions initiated by either side, from realistic templates with
//! varying ids and values, each followed (now or a few frames later) by its CALLRESULT with the
//! matching message id. About 2% of the CALLs (so about 1% of the frames) carry one member of the
//! wrong JSON type, which both `ocpp validate` and `ocpp-kit`'s strict decode reject. The same
//! count (and seed) gives the same bytes on every machine.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::io::{self, BufWriter, Write};

use serde_json::{json, Value};

/// The default seed (a second argument overrides it).
const SEED: u64 = 0x0CC9_2001;

/// xorshift64*: small, deterministic, good enough to vary templates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// A decimal with `scale` digits after the point, below `max`.
    fn decimal(&mut self, max: u64, scale: u32) -> f64 {
        let unit = 10u64.pow(scale);
        (self.below(max * unit) as f64) / unit as f64
    }
}

/// A timestamp `second` seconds after 2024-05-17T00:00:00Z (within that day and the next ones).
fn timestamp(second: u64) -> String {
    let day = 17 + (second / 86_400) % 12;
    let s = second % 86_400;
    format!(
        "2024-05-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        (second * 7) % 1000
    )
}

fn sampled_values(rng: &mut Rng) -> Value {
    json!([
        {"value": rng.decimal(100_000, 1), "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh", "multiplier": 0}},
        {"value": rng.decimal(22_000, 1), "context": "Sample.Periodic", "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
        {"value": rng.decimal(32, 2), "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L1", "unitOfMeasure": {"unit": "A"}},
        {"value": 220.0 + rng.decimal(20, 1), "context": "Sample.Periodic", "measurand": "Voltage", "phase": "L1-N", "unitOfMeasure": {"unit": "V"}}
    ])
}

/// One action's CALL payload and CALLRESULT payload.
fn exchange(rng: &mut Rng, now: u64) -> (&'static str, Value, Value) {
    let ts = timestamp(now);
    let evse = 1 + rng.below(4);
    let tx = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        rng.next() as u32,
        rng.below(1 << 16),
        rng.below(1 << 12),
        rng.below(1 << 12),
        rng.next() & 0xffff_ffff_ffff
    );
    let token = format!("{:014X}", rng.next() & 0xff_ffff_ffff_ffff);
    let seq = rng.below(10_000);
    let component = rng.pick(&["Connector", "EVSE", "ChargingStation", "OCPPCommCtrlr"]);
    let variable = rng.pick(&["AvailabilityState", "Enabled", "Power", "HeartbeatInterval"]);
    // Weights: the frequent actions of a busy CSMS first.
    match rng.below(40) {
        0..=7 => {
            let event = rng.pick(&["Started", "Updated", "Updated", "Updated", "Ended"]);
            let trigger = match event {
                "Started" => "CablePluggedIn",
                "Ended" => "EVCommunicationLost",
                _ => "MeterValuePeriodic",
            };
            let mut request = json!({
                "eventType": event, "timestamp": ts, "triggerReason": trigger, "seqNo": seq,
                "transactionInfo": {"transactionId": tx, "chargingState": "Charging", "timeSpentCharging": rng.below(20_000)},
                "evse": {"id": evse, "connectorId": 1},
                "meterValue": [{"timestamp": ts, "sampledValue": sampled_values(rng)}]
            });
            if event == "Started" {
                request["idToken"] = json!({"idToken": token, "type": "ISO14443"});
            }
            if rng.below(4) == 0 {
                request["customData"] =
                    json!({"vendorId": "com.example.cpo", "meterSerial": format!("EM-{seq:05}")});
            }
            let response = if event == "Started" {
                json!({"idTokenInfo": {"status": "Accepted"}})
            } else {
                json!({})
            };
            ("TransactionEvent", request, response)
        }
        8..=12 => (
            "MeterValues",
            json!({"evseId": evse, "meterValue": [{"timestamp": ts, "sampledValue": sampled_values(rng)}]}),
            json!({}),
        ),
        13..=17 => ("Heartbeat", json!({}), json!({"currentTime": ts})),
        18..=21 => (
            "StatusNotification",
            json!({"timestamp": ts, "connectorStatus": rng.pick(&["Available", "Occupied", "Reserved", "Unavailable", "Faulted"]), "evseId": evse, "connectorId": 1}),
            json!({}),
        ),
        22..=23 => (
            "Authorize",
            json!({"idToken": {"idToken": token, "type": rng.pick(&["ISO14443", "eMAID", "Central"])}}),
            json!({"idTokenInfo": {"status": rng.pick(&["Accepted", "Blocked", "Invalid"]), "cacheExpiryDateTime": ts}}),
        ),
        24 => (
            "BootNotification",
            json!({"reason": rng.pick(&["PowerUp", "Watchdog", "RemoteReset"]), "chargingStation": {"model": "SingleSocketCharger", "vendorName": "VendorX", "serialNumber": format!("SN-{seq:06}"), "firmwareVersion": "1.4.2", "modem": {"iccid": "8931440400000000000", "imsi": "204080000000000"}}}),
            json!({"currentTime": ts, "interval": 300, "status": "Accepted"}),
        ),
        25 => (
            "SecurityEventNotification",
            json!({"type": rng.pick(&["FirmwareUpdated", "StartupOfTheDevice", "ResetOrReboot"]), "timestamp": ts, "techInfo": "signature verified"}),
            json!({}),
        ),
        26 => (
            "FirmwareStatusNotification",
            json!({"status": rng.pick(&["Downloading", "Downloaded", "Installing", "Installed"]), "requestId": seq}),
            json!({}),
        ),
        27 => (
            "NotifyEvent",
            json!({"generatedAt": ts, "seqNo": 0, "eventData": [{"eventId": seq, "timestamp": ts, "trigger": "Delta", "actualValue": rng.pick(&["Available", "Occupied"]), "eventNotificationType": "HardWiredNotification", "component": {"name": "Connector", "evse": {"id": evse, "connectorId": 1}}, "variable": {"name": "AvailabilityState"}}]}),
            json!({}),
        ),
        28 => (
            "DataTransfer",
            json!({"vendorId": "com.example", "messageId": "diag", "data": {"temperature": rng.decimal(80, 1), "fan": "on"}}),
            json!({"status": "Accepted", "data": "ok"}),
        ),
        29 => (
            "NotifyReport",
            json!({"requestId": seq, "generatedAt": ts, "seqNo": 0, "tbc": false, "reportData": [{"component": {"name": component}, "variable": {"name": variable}, "variableAttribute": [{"type": "Actual", "value": "true", "mutability": "ReadOnly"}]}]}),
            json!({}),
        ),
        30 => (
            "SetVariables",
            json!({"setVariableData": [{"attributeValue": "300", "component": {"name": component}, "variable": {"name": variable}}]}),
            json!({"setVariableResult": [{"attributeStatus": "Accepted", "component": {"name": component}, "variable": {"name": variable}}]}),
        ),
        31 => (
            "GetVariables",
            json!({"getVariableData": [{"component": {"name": component}, "variable": {"name": variable}}]}),
            json!({"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "300", "component": {"name": component}, "variable": {"name": variable}}]}),
        ),
        32 => (
            "RequestStartTransaction",
            json!({"idToken": {"idToken": token, "type": "Central"}, "remoteStartId": seq, "evseId": evse}),
            json!({"status": "Accepted", "transactionId": tx}),
        ),
        33 => (
            "RequestStopTransaction",
            json!({"transactionId": tx}),
            json!({"status": "Accepted"}),
        ),
        34 => (
            "Reset",
            json!({"type": rng.pick(&["OnIdle", "Immediate"])}),
            json!({"status": "Accepted"}),
        ),
        35 => (
            "ChangeAvailability",
            json!({"operationalStatus": rng.pick(&["Operative", "Inoperative"]), "evse": {"id": evse}}),
            json!({"status": "Accepted"}),
        ),
        36 => (
            "TriggerMessage",
            json!({"requestedMessage": rng.pick(&["StatusNotification", "MeterValues", "Heartbeat"]), "evse": {"id": evse, "connectorId": 1}}),
            json!({"status": "Accepted"}),
        ),
        37 => (
            "SetChargingProfile",
            json!({"evseId": evse, "chargingProfile": {"id": seq, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute", "chargingSchedule": [{"id": 1, "startSchedule": ts, "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": rng.decimal(32, 1)}, {"startPeriod": 3600, "limit": 16.0}]}]}}),
            json!({"status": "Accepted"}),
        ),
        38 => ("ClearCache", json!({}), json!({"status": "Accepted"})),
        _ => (
            "UnlockConnector",
            json!({"evseId": evse, "connectorId": 1}),
            json!({"status": "Unlocked"}),
        ),
    }
}

/// Gives the first member of the payload a value of another JSON type (a payload without
/// members stays valid).
fn break_type(payload: &mut Value) {
    if let Some((_, value)) = payload.as_object_mut().and_then(|o| o.iter_mut().next()) {
        *value = match value {
            Value::String(_) => json!(42),
            _ => json!("not-the-right-type"),
        };
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().map_or(1_000_000, |a| a.parse().unwrap());
    let seed: u64 = args.next().map_or(SEED, |a| a.parse().unwrap());
    let mut rng = Rng(seed);
    let mut out = BufWriter::new(io::stdout().lock());
    let mut answers: VecDeque<String> = VecDeque::new();
    let mut written = 0u64;
    let mut call = 0u64;
    while written < count {
        // Answer a waiting CALL now and then (so results are not always next to their calls).
        if !answers.is_empty() && (answers.len() > 3 || rng.below(2) == 0) {
            writeln!(out, "{}", answers.pop_front().unwrap_or_default())?;
            written += 1;
            continue;
        }
        call += 1;
        let id = format!("{call:x}-{:08x}", rng.next() as u32);
        let (action, mut request, response) = exchange(&mut rng, call * 3);
        if rng.below(50) == 0 {
            break_type(&mut request);
        }
        writeln!(out, "{}", json!([2, id, action, request]))?;
        written += 1;
        answers.push_back(json!([3, id, response]).to_string());
    }
    out.flush()
}
