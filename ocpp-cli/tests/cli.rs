//! Runs the built `ocpp` binary on logs of frames and checks its output and exit status.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The stdout as JSON lines.
    fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn ocpp(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocpp"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // Written from another thread so a large input cannot deadlock against a full stdout.
    let writer = std::thread::spawn(move || {
        // The binary may exit without reading stdin (usage errors): ignore a broken pipe.
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn validate(extra: &[&str], stdin: &[u8]) -> Run {
    let mut args = vec!["validate", "--ocpp", "2.0.1"];
    args.extend_from_slice(extra);
    ocpp(&args, stdin)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Checks the fields every JSON verdict has, in order.
fn assert_shape(v: &Value) {
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let core = [
        "line",
        "messageId",
        "action",
        "valid",
        "errorCode",
        "errors",
    ];
    let core_at = usize::from(keys.first() == Some(&"file"));
    assert_eq!(&keys[core_at..core_at + core.len()], core, "{v}");
    assert!(
        keys.len() == core_at + core.len() || keys.last() == Some(&"payload"),
        "{v}"
    );
    assert_eq!(
        v["valid"].as_bool().unwrap(),
        v["errors"].as_array().unwrap().is_empty(),
        "{v}"
    );
    if v["valid"] == true {
        assert_eq!(v["errorCode"], Value::Null, "{v}");
    }
}

/// One verdict's main fields: (line, messageId, action, valid, errorCode, first error path).
fn summary(v: &Value) -> (u64, Value, Value, bool, Value, Value) {
    assert_shape(v);
    let first_path = v["errors"]
        .get(0)
        .map_or(Value::Null, |e| e["path"].clone());
    (
        v["line"].as_u64().unwrap(),
        v["messageId"].clone(),
        v["action"].clone(),
        v["valid"].as_bool().unwrap(),
        v["errorCode"].clone(),
        first_path,
    )
}

#[test]
fn a_valid_session_exits_zero_with_a_summary() {
    let run = validate(&[path(&data("valid-session.log"))], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "8 frames: 8 valid, 0 invalid\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn a_valid_session_as_json() {
    let run = validate(&["--json", path(&data("valid-session.log"))], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got: Vec<_> = run.json().iter().map(summary).collect();
    let ok = |line: u64, id: &str, action: &str| {
        (
            line,
            json!(id),
            json!(action),
            true,
            Value::Null,
            Value::Null,
        )
    };
    // Line 3 is blank: no verdict, but the numbering stays that of the file.
    assert_eq!(
        got,
        [
            ok(1, "100", "SignCertificate"),
            ok(2, "100", "SignCertificate"),
            ok(4, "csms-1", "CertificateSigned"),
            ok(5, "csms-1", "CertificateSigned"),
            ok(6, "101", "SecurityEventNotification"),
            ok(7, "101", "SecurityEventNotification"),
            ok(8, "102", "SignCertificate"),
            ok(9, "102", "SignCertificate"),
        ]
    );
    // Without --reencode there is no payload.
    assert!(run.json().iter().all(|v| v.get("payload").is_none()));
}

#[test]
fn the_errors_log_is_reported_line_by_line() {
    let file = data("errors.log");
    let run = validate(&[path(&file)], b"");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 14, "{}", run.stdout);
    assert_eq!(lines.last().unwrap(), &"14 frames: 1 valid, 13 invalid");
    let name = file.display().to_string();
    assert_eq!(
        lines[0],
        format!("{name}:1: 200 SignCertificate: PropertyConstraintViolation: /certificateType: value is not one of the enumerated values")
    );
    assert_eq!(
        lines[1],
        format!("{name}:3: 201 SignCertificate: OccurrenceConstraintViolation: /csr: required member \"csr\" is missing")
    );
    // The violation that decides the code comes first.
    assert_eq!(
        lines[2],
        format!("{name}:4: 201 SignCertificate: ProtocolError: /extra: member \"extra\" is not defined by the schema (and 1 more)")
    );
    assert_eq!(
        lines[5],
        format!(
            "{name}:7: 999 -: -: no earlier unanswered CALL with message id \"999\" in this input"
        )
    );
    assert_eq!(
        lines[6],
        format!("{name}:8: - -: RpcFrameworkError: frame is not valid JSON (syntax error)")
    );
    assert!(lines[9].starts_with(&format!("{name}:11: 204 SecurityEventNotification: TypeConstraintViolation: /techInfo: expected string")));
    assert!(lines[9].ends_with(" (and 1 more)"));
    assert_eq!(
        lines[11],
        format!("{name}:13: 205 SignCertificate: PropertyConstraintViolation: /csr: string of 5501 characters is longer than maxLength 5500")
    );
}

#[test]
fn the_errors_log_as_json_field_by_field() {
    let run = validate(&["--json", path(&data("errors.log"))], b"");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let verdicts = run.json();
    let got: Vec<_> = verdicts.iter().map(summary).collect();
    let n = Value::Null;
    let bad = |line: u64, id: Value, action: Value, code: Value, path: Value| {
        (line, id, action, false, code, path)
    };
    assert_eq!(
        got,
        [
            bad(
                1,
                json!("200"),
                json!("SignCertificate"),
                json!("PropertyConstraintViolation"),
                json!("/certificateType")
            ),
            (
                2,
                json!("200"),
                json!("SignCertificate"),
                true,
                n.clone(),
                n.clone()
            ),
            bad(
                3,
                json!("201"),
                json!("SignCertificate"),
                json!("OccurrenceConstraintViolation"),
                json!("/csr")
            ),
            bad(
                4,
                json!("201"),
                json!("SignCertificate"),
                json!("ProtocolError"),
                json!("/extra")
            ),
            bad(
                5,
                json!("202"),
                json!("TeleportVehicle"),
                json!("NotImplemented"),
                n.clone()
            ),
            bad(
                6,
                json!("202"),
                json!("TeleportVehicle"),
                json!("NotImplemented"),
                n.clone()
            ),
            bad(7, json!("999"), n.clone(), n.clone(), n.clone()),
            bad(
                8,
                n.clone(),
                n.clone(),
                json!("RpcFrameworkError"),
                n.clone()
            ),
            bad(
                9,
                n.clone(),
                n.clone(),
                json!("RpcFrameworkError"),
                n.clone()
            ),
            bad(
                10,
                json!("203"),
                n.clone(),
                json!("MessageTypeNotSupported"),
                n.clone()
            ),
            bad(
                11,
                json!("204"),
                json!("SecurityEventNotification"),
                json!("TypeConstraintViolation"),
                json!("/techInfo")
            ),
            bad(
                12,
                json!("204"),
                json!("SecurityEventNotification"),
                json!("RpcFrameworkError"),
                n.clone()
            ),
            bad(
                13,
                json!("205"),
                json!("SignCertificate"),
                json!("PropertyConstraintViolation"),
                json!("/csr")
            ),
            bad(
                14,
                json!("206"),
                n.clone(),
                json!("RpcFrameworkError"),
                n.clone()
            ),
        ]
    );
    // Every violation is listed, with its path and message.
    assert_eq!(
        verdicts[3]["errors"],
        json!([
            {"path": "/extra", "message": "member \"extra\" is not defined by the schema"},
            {"path": "/status", "message": "value is not one of the enumerated values"},
        ])
    );
    let paths: Vec<&str> = verdicts[10]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/techInfo", "/timestamp"]);
    assert!(verdicts[6]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no earlier unanswered CALL"));
    assert!(verdicts[11]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("\"Oops\""));
}

#[test]
fn reencode_adds_the_typed_round_trip_of_valid_payloads() {
    let text = std::fs::read_to_string(data("valid-session.log")).unwrap();
    let frames: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let run = validate(
        &["--json", "--reencode", path(&data("valid-session.log"))],
        b"",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let verdicts = run.json();
    assert_eq!(verdicts.len(), frames.len());
    for (frame, verdict) in frames.iter().zip(&verdicts) {
        assert_shape(verdict);
        match frame[0].as_u64().unwrap() {
            2 => assert_eq!(verdict["payload"], frame[3], "{verdict}"),
            3 => assert_eq!(verdict["payload"], frame[2], "{verdict}"),
            _ => assert!(verdict.get("payload").is_none(), "{verdict}"),
        }
    }
    // Invalid frames never carry a payload.
    let run = validate(
        &["--json", "--reencode"],
        br#"[2,"1","SignCertificate",{}]"#,
    );
    assert_eq!(run.code, 1);
    assert!(run.json()[0].get("payload").is_none());
}

#[test]
fn reencode_from_stdin() {
    let input = br#"[2,"1","SignCertificate",{"certificateType":"V2GCertificate","csr":"x"}]"#;
    let run = validate(&["--json", "--reencode"], input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json()[0]["payload"],
        json!({"csr": "x", "certificateType": "V2GCertificate"})
    );
}

#[test]
fn a_line_that_is_not_utf8_gets_a_verdict() {
    let mut input = b"[2,\"1\",\"SignCertificate\",{\"csr\":\"".to_vec();
    input.extend_from_slice(b"\xff\xfe\"}]\n");
    input.extend_from_slice(b"[3,\"1\",{\"status\":\"Accepted\"}]\n");
    let run = validate(&["--json"], &input);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let verdicts = run.json();
    assert_eq!(verdicts.len(), 2);
    assert_eq!(
        summary(&verdicts[0]),
        (
            1,
            Value::Null,
            Value::Null,
            false,
            json!("RpcFrameworkError"),
            Value::Null
        )
    );
    assert!(verdicts[0]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("UTF-8"));
    // The unreadable CALL was never registered, so its answer is unmatched.
    assert_eq!(
        summary(&verdicts[1]),
        (2, json!("1"), Value::Null, false, Value::Null, Value::Null)
    );
}

#[test]
fn unknown_actions_are_not_implemented() {
    let input =
        b"[2,\"t1\",\"TeleportVehicle\",{}]\n[3,\"t1\",{\"currentTime\":\"2024-01-01T00:00:00Z\"}]\n";
    let run = validate(&["--json"], input);
    assert_eq!(run.code, 1);
    for (i, v) in run.json().iter().enumerate() {
        assert_eq!(
            summary(v),
            (
                i as u64 + 1,
                json!("t1"),
                json!("TeleportVehicle"),
                false,
                json!("NotImplemented"),
                Value::Null
            )
        );
    }
}

#[test]
fn call_errors_are_checked_and_answer_their_call() {
    let input = concat!(
        "[2,\"a\",\"CertificateSigned\",{\"certificateChain\":\"pem\"}]\n",
        "[4,\"a\",\"SecurityError\",\"bad chain\",{\"reason\":\"expired\"}]\n",
        "[3,\"a\",{\"status\":\"Accepted\"}]\n",
        "[4,\"-1\",\"RpcFrameworkError\",\"\",{}]\n",
        "[4,\"b\",\"FormationViolation\",\"1.6 only\",{}]\n",
        "[4,\"c\",\"NotImplemented\",\"no details\"]\n",
        "[4,\"d\",\"GenericError\",\"details not an object\",[]]\n",
    );
    let run = validate(&["--json"], input.as_bytes());
    assert_eq!(run.code, 1);
    let got: Vec<_> = run.json().iter().map(summary).collect();
    let n = Value::Null;
    let rpc = json!("RpcFrameworkError");
    assert_eq!(
        got,
        [
            (
                1,
                json!("a"),
                json!("CertificateSigned"),
                true,
                n.clone(),
                n.clone()
            ),
            (
                2,
                json!("a"),
                json!("CertificateSigned"),
                true,
                n.clone(),
                n.clone()
            ),
            // Already answered by the CALLERROR.
            (3, json!("a"), n.clone(), false, n.clone(), n.clone()),
            (4, json!("-1"), n.clone(), true, n.clone(), n.clone()),
            (5, json!("b"), n.clone(), false, rpc.clone(), n.clone()),
            (6, json!("c"), n.clone(), false, rpc.clone(), n.clone()),
            (7, json!("d"), n.clone(), false, rpc.clone(), n.clone()),
        ]
    );
}

/// `--ocpp 1.6` knows all 39 actions, each message in its own schema's draft, and the quirk of
/// the 1.6 schemas: MeterValues has the `Hertz` unit, StopTransaction's meter data does not.
#[test]
fn ocpp_1_6_covers_its_actions() {
    let input = concat!(
        "[2,\"1\",\"SignCertificate\",{\"csr\":\"x\"}]\n",
        "[3,\"1\",{\"status\":\"Accepted\"}]\n",
        "[2,\"2\",\"StatusNotification\",{\"connectorId\":1.0,\"errorCode\":\"NoError\",\"status\":\"Available\"}]\n",
        "[2,\"3\",\"TransactionEvent\",{}]\n",
        "[2,\"4\",\"MeterValues\",{\"connectorId\":1,\"meterValue\":[{\"timestamp\":\"2024-01-31T13:45:00Z\",\"sampledValue\":[{\"value\":\"50\",\"unit\":\"Hertz\"}]}]}]\n",
        "[2,\"5\",\"StopTransaction\",{\"meterStop\":1,\"timestamp\":\"2024-01-31T13:45:00Z\",\"transactionId\":1,\"transactionData\":[{\"timestamp\":\"2024-01-31T13:45:00Z\",\"sampledValue\":[{\"value\":\"50\",\"unit\":\"Hertz\"}]}]}]\n",
        "[4,\"6\",\"OccurenceConstraintViolation\",\"\",{}]\n",
        "not json\n",
    );
    for extra in [&[][..], &["--reencode"][..]] {
        let args = [&["validate", "--ocpp", "1.6", "--json"][..], extra].concat();
        let run = ocpp(&args, input.as_bytes());
        assert_eq!(run.code, 1);
        let got: Vec<_> = run.json().iter().map(summary).collect();
        let n = Value::Null;
        let action = |a: &str| json!(a);
        let code = |c: &str| json!(c);
        assert_eq!(
            got,
            [
                (
                    1,
                    json!("1"),
                    action("SignCertificate"),
                    true,
                    n.clone(),
                    n.clone()
                ),
                (
                    2,
                    json!("1"),
                    action("SignCertificate"),
                    true,
                    n.clone(),
                    n.clone()
                ),
                (
                    3,
                    json!("2"),
                    action("StatusNotification"),
                    false,
                    code("TypeConstraintViolation"),
                    json!("/connectorId")
                ),
                (
                    4,
                    json!("3"),
                    action("TransactionEvent"),
                    false,
                    code("NotImplemented"),
                    n.clone()
                ),
                (
                    5,
                    json!("4"),
                    action("MeterValues"),
                    true,
                    n.clone(),
                    n.clone()
                ),
                (
                    6,
                    json!("5"),
                    action("StopTransaction"),
                    false,
                    code("PropertyConstraintViolation"),
                    json!("/transactionData/0/sampledValue/0/unit")
                ),
                (7, json!("6"), n.clone(), true, n.clone(), n.clone()),
                (
                    8,
                    n.clone(),
                    n.clone(),
                    false,
                    code("FormationViolation"),
                    n.clone()
                ),
            ],
            "{args:?}"
        );
    }
    let run = ocpp(&["validate", "--ocpp", "1.6"], input.as_bytes());
    assert!(run.stdout.contains(
        ": 3 TransactionEvent: NotImplemented: unknown action \"TransactionEvent\" for OCPP 1.6\n"
    ));
    assert!(run.stdout.ends_with("8 frames: 4 valid, 4 invalid\n"));
}

#[test]
fn stdin_is_read_without_files_and_for_a_dash() {
    let input = "\r\n[2,\"1\",\"SecurityEventNotification\",{\"type\":\"StartupOfTheDevice\",\"timestamp\":\"2024-05-01T12:00:00.123+02:00\"}]\r\n   \n[3,\"1\",{}]";
    for args in [&[][..], &["-"][..]] {
        let run = validate(args, input.as_bytes());
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert_eq!(run.stdout, "2 frames: 2 valid, 0 invalid\n");
    }
    let run = validate(&["--json"], input.as_bytes());
    let lines: Vec<u64> = run.json().iter().map(|v| summary(v).0).collect();
    assert_eq!(lines, [2, 4]);
    let run = validate(&[], b"[3,\"x\",{}]\n");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "<stdin>:1: x -: -: no earlier unanswered CALL with message id \"x\" in this input\n1 frames: 0 valid, 1 invalid\n"
    );
}

#[test]
fn empty_input_has_no_frames() {
    let run = validate(&[], b"\n\n");
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "0 frames: 0 valid, 0 invalid\n");
    let run = validate(&["--json"], b"");
    assert_eq!((run.code, run.stdout.as_str()), (0, ""));
}

#[test]
fn several_files_are_separate_streams() {
    let dir = std::env::temp_dir().join(format!("ocpp-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let calls = dir.join("calls.log");
    let results = dir.join("results.log");
    std::fs::write(&calls, "[2,\"1\",\"SignCertificate\",{\"csr\":\"x\"}]\n").unwrap();
    std::fs::write(&results, "\n[3,\"1\",{\"status\":\"Accepted\"}]\n").unwrap();
    let run = validate(
        &["--json", path(&calls), path(&results), "-"],
        b"[4,\"9\",\"NotSupported\",\"\",{}]\n",
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(run.code, 1);
    let verdicts = run.json();
    assert_eq!(verdicts.len(), 3);
    assert_eq!(verdicts[0]["file"], json!(path(&calls)));
    assert_eq!(
        summary(&verdicts[0]),
        (
            1,
            json!("1"),
            json!("SignCertificate"),
            true,
            Value::Null,
            Value::Null
        )
    );
    // The CALL was in another file: the result is unmatched, and its line number is its own file's.
    assert_eq!(verdicts[1]["file"], json!(path(&results)));
    assert_eq!(
        summary(&verdicts[1]),
        (2, json!("1"), Value::Null, false, Value::Null, Value::Null)
    );
    assert_eq!(verdicts[2]["file"], json!("<stdin>"));
    assert_eq!(
        summary(&verdicts[2]),
        (1, json!("9"), Value::Null, true, Value::Null, Value::Null)
    );
}

#[test]
fn a_missing_file_is_an_error_and_nothing_is_validated() {
    let missing = data("no-such-file.log");
    let run = validate(&[path(&data("errors.log")), path(&missing)], b"");
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("no-such-file.log"), "{}", run.stderr);
    let run = validate(&[path(&data(""))], b"");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("directory"), "{}", run.stderr);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["validate"][..],
        &["validate", "--ocpp", "3.0"][..],
        &["validate", "--ocpp", "2.0.1", "--reencode"][..],
        &["validate", "--ocpp", "2.0.1", "--frobnicate"][..],
        &[][..],
    ] {
        let run = ocpp(args, b"");
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
    let run = ocpp(&["validate", "--help"], b"");
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("--ocpp"));
}

/// `--ocpp 2.1` knows its 91 actions and its two new message types: SEND (checked against the
/// SEND action's schema, never awaiting an answer) and CALLRESULTERROR (its code must be one of
/// 2.1's).
#[test]
fn ocpp_2_1_checks_send_and_call_result_error_frames() {
    let stream =
        r#"{"id":1,"pending":0,"basetime":"2025-01-01T00:00:00Z","data":[{"t":0.5,"v":"1"}]}"#;
    let input = [
        r#"[2,"1","SignCertificate",{"csr":"x"}]"#.to_owned(),
        r#"[3,"1",{"status":"Accepted"}]"#.to_owned(),
        format!(r#"[6,"2","NotifyPeriodicEventStream",{stream}]"#),
        r#"[6,"3","NotifyPeriodicEventStream",{"id":1}]"#.to_owned(),
        format!(r#"[2,"4","NotifyPeriodicEventStream",{stream}]"#),
        r#"[6,"5","Heartbeat",{}]"#.to_owned(),
        r#"[5,"6","FormatViolation","",{}]"#.to_owned(),
        r#"[5,"7","FormationViolation","",{}]"#.to_owned(),
        r#"[2,"8","AFRRSignal",{"timestamp":"2025-01-01T00:00:00Z","signal":-1}]"#.to_owned(),
    ]
    .join("\n");
    for extra in [&[][..], &["--reencode"][..]] {
        let args = [&["validate", "--ocpp", "2.1", "--json"][..], extra].concat();
        let run = ocpp(&args, input.as_bytes());
        assert_eq!(run.code, 1, "{}", run.stderr);
        let got: Vec<_> = run.json().iter().map(summary).collect();
        let codes: Vec<(u64, bool, Value)> = got
            .iter()
            .map(|(line, _, _, valid, code, _)| (*line, *valid, code.clone()))
            .collect();
        let n = Value::Null;
        assert_eq!(
            codes,
            [
                (1, true, n.clone()),
                (2, true, n.clone()),
                (3, true, n.clone()),
                (4, false, json!("OccurrenceConstraintViolation")),
                (5, false, json!("NotSupported")),
                (6, false, json!("NotSupported")),
                (7, true, n.clone()),
                (8, false, json!("RpcFrameworkError")),
                (9, true, n.clone()),
            ],
            "{args:?}"
        );
        assert_eq!(got[2].2, json!("NotifyPeriodicEventStream"));
    }
    // Under 2.0.1 the same SEND is a message type it does not have.
    let run = ocpp(
        &["validate", "--ocpp", "2.0.1", "--json"],
        format!(r#"[6,"2","NotifyPeriodicEventStream",{stream}]"#).as_bytes(),
    );
    assert_eq!(run.json()[0]["errorCode"], json!("MessageTypeNotSupported"));
}

#[test]
fn a_line_too_long_is_reported_without_stopping_the_stream() {
    let mut input = b"[2,\"1\",\"SignCertificate\",{\"csr\":\"".to_vec();
    input.resize(input.len() + 16 * 1024 * 1024, b'A');
    input.extend_from_slice(b"\"}]\n[2,\"2\",\"SignCertificate\",{\"csr\":\"x\"}]\n");
    let run = validate(&["--json"], &input);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let verdicts = run.json();
    assert_eq!(verdicts.len(), 2);
    assert_eq!(
        summary(&verdicts[0]),
        (
            1,
            Value::Null,
            Value::Null,
            false,
            json!("RpcFrameworkError"),
            Value::Null
        )
    );
    assert!(verdicts[0]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("too long"));
    assert!(verdicts[1]["valid"].as_bool().unwrap());
}

/// Every 2.0.1 action is known to the validator: a CALL with an empty payload is judged by
/// the action's schema (valid where nothing is required), never NotImplemented.
#[test]
fn every_2_0_1_action_is_covered() {
    let features: Vec<_> = ocpp_messages::v2_0_1::PROFILES
        .iter()
        .flat_map(|p| p.features.iter())
        .collect();
    assert_eq!(features.len(), 64);
    let input: String = features
        .iter()
        .enumerate()
        .map(|(i, f)| format!("[2,\"{i}\",\"{}\",{{}}]\n", f.name))
        .collect();
    let run = validate(&["--json"], input.as_bytes());
    let verdicts = run.json();
    assert_eq!(verdicts.len(), 64);
    for (v, f) in verdicts.iter().zip(&features) {
        assert_eq!(v["action"], f.name);
        let required = ocpp_messages::validate::validate(f.request, &json!({}));
        assert_eq!(v["valid"], required.is_empty(), "{v}");
        if !required.is_empty() {
            assert_eq!(v["errorCode"], "OccurrenceConstraintViolation", "{v}");
        }
    }
    // Heartbeat has no required member; BootNotification has.
    assert!(verdicts
        .iter()
        .any(|v| v["action"] == "Heartbeat" && v["valid"] == true));
    assert!(verdicts
        .iter()
        .any(|v| v["action"] == "BootNotification" && v["valid"] == false));
}

#[test]
fn a_member_given_twice_counts_once_the_last_time_as_in_the_library() {
    // The table of ocpp-messages/tests/duplicates.rs: (payload, the payload that counts or the
    // error code).
    let cases: [(&str, Result<Value, &str>); 7] = [
        (r#"{"csr":null,"csr":"x"}"#, Ok(json!({"csr": "x"}))),
        (r#"{"csr":"x","csr":null}"#, Err("TypeConstraintViolation")),
        (r#"{"csr":"a","csr":"b"}"#, Ok(json!({"csr": "b"}))),
        (
            r#"{"csr":"x","certificateType":"Bogus","certificateType":"V2GCertificate"}"#,
            Ok(json!({"csr": "x", "certificateType": "V2GCertificate"})),
        ),
        (
            r#"{"csr":"x","certificateType":"V2GCertificate","certificateType":"Bogus"}"#,
            Err("PropertyConstraintViolation"),
        ),
        (
            r#"{"customData":{"vendorId":"v","k":1,"k":[2]},"csr":"x"}"#,
            Ok(json!({"csr": "x", "customData": {"vendorId": "v", "k": [2]}})),
        ),
        (r#"{"csr":"x","x":1,"x":2}"#, Err("ProtocolError")),
    ];
    let input: String = cases
        .iter()
        .enumerate()
        .map(|(i, (payload, _))| format!("[2,\"{i}\",\"SignCertificate\",{payload}]\n"))
        .collect();
    // With --reencode every frame takes the full check; without, valid ones the one-pass one.
    for extra in [&["--json"][..], &["--json", "--reencode"]] {
        let run = validate(extra, input.as_bytes());
        let verdicts = run.json();
        assert_eq!(verdicts.len(), cases.len(), "{}", run.stderr);
        for ((payload, expected), verdict) in cases.iter().zip(&verdicts) {
            match expected {
                Ok(value) => {
                    assert_eq!(verdict["valid"], true, "{payload}: {verdict}");
                    if extra.contains(&"--reencode") {
                        assert_eq!(&verdict["payload"], value, "{payload}");
                    }
                }
                Err(code) => assert_eq!(verdict["errorCode"], *code, "{payload}: {verdict}"),
            }
        }
    }
}

/// A frame of a message type number the version does not define: OCPP 1.6 and 2.1 ignore it
/// (a finding with errorCode null, as the runtime sends nothing back), 2.0.1 answers it
/// `MessageTypeNotSupported`. Types 5 and 6 exist only in 2.1.
#[test]
fn unknown_message_types_are_ignored_by_1_6_and_2_1_and_not_supported_by_2_0_1() {
    let input = concat!(
        "[7,\"1\",{}]\n",
        "[5,\"2\",\"GenericError\",\"\",{}]\n",
        "[6,\"3\",\"Heartbeat\",{}]\n",
    );
    let n = Value::Null;
    // An invalid frame's (line, messageId, action, valid, errorCode, first path).
    let frame = |line: u64, id: &str, action: Value, code: Value| {
        (line, json!(id), action, false, code, n.clone())
    };
    let ignored = |line: u64, id: &str| frame(line, id, n.clone(), n.clone());
    let not_supported =
        |line: u64, id: &str| frame(line, id, n.clone(), json!("MessageTypeNotSupported"));
    let cases = [
        ("1.6", [ignored(1, "1"), ignored(2, "2"), ignored(3, "3")]),
        (
            "2.0.1",
            [
                not_supported(1, "1"),
                not_supported(2, "2"),
                not_supported(3, "3"),
            ],
        ),
        (
            "2.1",
            [
                ignored(1, "1"),
                // A CALLRESULTERROR with a code of 2.1: valid.
                (2, json!("2"), n.clone(), true, n.clone(), n.clone()),
                // A SEND of a CALL action.
                frame(3, "3", json!("Heartbeat"), json!("NotSupported")),
            ],
        ),
    ];
    for (version, expected) in cases {
        let run = ocpp(&["validate", "--ocpp", version, "--json"], input.as_bytes());
        assert_eq!(run.code, 1, "{version}: {}", run.stderr);
        let verdicts = run.json();
        let got: Vec<_> = verdicts.iter().map(summary).collect();
        assert_eq!(got, expected, "{version}");
        for (v, (_, _, _, _, code, _)) in verdicts.iter().zip(&expected) {
            let message = v["errors"][0]["message"].as_str().unwrap_or("");
            let is_ignored = v["valid"] == false && *code == Value::Null;
            assert_eq!(
                message.starts_with("ignored: unknown message type: "),
                is_ignored,
                "{version}: {v}"
            );
        }
    }
    // The readable report shows an ignored frame as a finding without an error code.
    let run = ocpp(&["validate", "--ocpp", "1.6"], b"[7,\"1\",{}]\n");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "<stdin>:1: 1 -: -: ignored: unknown message type: message type number (first element) is not 2, 3 or 4\n1 frames: 0 valid, 1 invalid\n"
    );
}

/// A peer's `MessageTypeNotSupported` CALLERROR (or 2.1 CALLRESULTERROR) is accepted in every
/// version, 1.6 included, which does not define the code.
#[test]
fn message_type_not_supported_is_accepted_in_every_version() {
    let input = concat!(
        "[2,\"1\",\"Heartbeat\",{}]\n",
        "[4,\"1\",\"MessageTypeNotSupported\",\"unknown message type\",{}]\n",
    );
    for version in ["1.6", "2.0.1", "2.1"] {
        let run = ocpp(&["validate", "--ocpp", version], input.as_bytes());
        assert_eq!(run.code, 0, "{version}: {}{}", run.stdout, run.stderr);
        assert_eq!(run.stdout, "2 frames: 2 valid, 0 invalid\n", "{version}");
        let run = ocpp(&["validate", "--ocpp", version, "--json"], input.as_bytes());
        assert_eq!(
            summary(&run.json()[1]),
            (
                2,
                json!("1"),
                json!("Heartbeat"),
                true,
                Value::Null,
                Value::Null
            ),
            "{version}"
        );
    }
    let run = ocpp(
        &["validate", "--ocpp", "2.1"],
        b"[5,\"9\",\"MessageTypeNotSupported\",\"\",{}]\n",
    );
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "1 frames: 1 valid, 0 invalid\n")
    );
    // A code 1.6 neither defines nor accepts is still a malformed frame.
    let run = ocpp(
        &["validate", "--ocpp", "1.6", "--json"],
        b"[4,\"1\",\"RpcFrameworkError\",\"\",{}]\n",
    );
    assert_eq!(run.json()[0]["errorCode"], json!("FormationViolation"));
}
