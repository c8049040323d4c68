//! Fault injection over real sockets: the example charging station with `--state-dir` runs
//! transactions against a CSMS that refuses, delays (past the station's call timeout) and so
//! loses answers, drops connections and restarts, while the station process itself is killed
//! with SIGKILL at random points and restarted with the same command line. Afterwards every
//! TransactionEvent was delivered, in order, each counted once by the CSMS, with `offline`
//! set exactly on the events that happened while the station was not connected.
//!
//! `OCPP_FAULT_ROUNDS` (default 12) faults are applied, in turn a dropped connection, a CSMS
//! restart and a station kill, at random times (`OCPP_FAULT_SEED` repeats a run);
//! `OCPP_FAULT_TRANSACTIONS` (default 10) transactions are run; `OCPP_STATION_BINARY` names
//! the station binary (by default the example's, built beside this test).
#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ocpp_connection::engine::{self, Event};
use ocpp_connection::server::{Server, ServerConfig, ServerEvent};
use ocpp_messages::rpc::Dispatcher;
use ocpp_messages::v1_6::core as core16;
use ocpp_messages::v1_6::types::{AuthorizationStatus, IdTagInfo};
use ocpp_messages::v2_0_1::availability::{self, HeartbeatRequest, HeartbeatResponse};
use ocpp_messages::v2_0_1::provisioning::{
    self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus,
};
use ocpp_messages::v2_0_1::transactions::{
    self, TransactionEvent, TransactionEventRequest, TransactionEventResponse,
};
use ocpp_messages::{CallError, DateTime, ErrorCode, OcppVersion, Role};

const IDENTITY: &str = "CS-FAULT";
const UPDATES: u32 = 2;
/// How far (ms) the station's and the CSMS's view of "connected" may differ at an edge.
const SLACK_MS: i64 = 600;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// xorshift64*: repeatable faults from a seed.
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
}

/// One TransactionEvent as the CSMS counted it.
#[derive(Debug, Clone)]
struct Counted {
    event_type: TransactionEvent,
    offline: bool,
    timestamp_ms: i64,
}

/// The CSMS's database: it survives the CSMS's restarts (the test holds it).
#[derive(Default)]
struct Ledger {
    /// Counted once per (transaction, seqNo).
    counted: BTreeMap<(String, i64), Counted>,
    /// The order in which (transaction, seqNo) were first counted.
    order: Vec<(String, i64)>,
    /// Events the handler saw again (a retry after an answer was lost).
    duplicates: usize,
    /// Events answered with a CALLERROR (not processed).
    refused: usize,
    /// Answers delayed past the station's call timeout.
    delayed: usize,
    /// Retries the connection layer answered itself (remembered answers).
    replayed: usize,
    /// When the station was connected, as the CSMS saw it (ms since the epoch).
    connected: Vec<(i64, Option<i64>)>,
}

struct Csms {
    ledger: Arc<Mutex<Ledger>>,
    rng: Arc<Mutex<Rng>>,
}

impl provisioning::CsmsHandler for Csms {
    async fn on_boot_notification(
        &self,
        _: &str,
        _: BootNotificationRequest,
    ) -> Result<BootNotificationResponse, CallError> {
        Ok(BootNotificationResponse::new(
            DateTime::now(),
            300,
            RegistrationStatus::Accepted,
        ))
    }
}

impl availability::CsmsHandler for Csms {
    async fn on_heartbeat(
        &self,
        _: &str,
        _: HeartbeatRequest,
    ) -> Result<HeartbeatResponse, CallError> {
        Ok(HeartbeatResponse::new(DateTime::now()))
    }
}

impl transactions::CsmsHandler for Csms {
    async fn on_transaction_event(
        &self,
        _: &str,
        request: TransactionEventRequest,
    ) -> Result<TransactionEventResponse, CallError> {
        let roll = self.rng.lock().unwrap().below(10);
        if roll == 0 {
            self.ledger.lock().unwrap().refused += 1;
            return Err(CallError::new(ErrorCode::InternalError, "database busy"));
        }
        {
            let mut ledger = self.ledger.lock().unwrap();
            let key = (
                request.transaction_info.transaction_id.clone(),
                request.seq_no,
            );
            if ledger.counted.contains_key(&key) {
                ledger.duplicates += 1;
            } else {
                ledger.order.push(key.clone());
                let counted = Counted {
                    event_type: request.event_type,
                    offline: request.offline == Some(true),
                    timestamp_ms: request.timestamp.to_chrono().timestamp_millis(),
                };
                ledger.counted.insert(key, counted);
            }
            if roll == 1 {
                ledger.delayed += 1;
            }
        }
        if roll == 1 {
            // Past the station's call timeout (1 s): the answer comes too late, the station
            // sends the event again.
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        Ok(TransactionEventResponse::new())
    }
}

async fn start_csms(port: u16, ledger: &Arc<Mutex<Ledger>>, rng: &Arc<Mutex<Rng>>) -> Server {
    let csms = || Csms {
        ledger: Arc::clone(ledger),
        rng: Arc::clone(rng),
    };
    let dispatcher = Dispatcher::new(OcppVersion::V2_0_1, Role::Csms)
        .with(provisioning::CsmsService(csms()))
        .with(availability::CsmsService(csms()))
        .with(transactions::CsmsService(csms()));
    let events = Arc::clone(ledger);
    let config = ServerConfig::new()
        .serve(dispatcher)
        .with_engine(
            engine::Config::default()
                .with_remembered_answers(4)
                .with_max_peer_calls(4),
        )
        .on_event(move |_identity, event| {
            let mut ledger = events.lock().unwrap();
            match event {
                ServerEvent::Connected { .. } => ledger.connected.push((now_ms(), None)),
                ServerEvent::Disconnected(_) => {
                    if let Some(last) = ledger.connected.last_mut() {
                        last.1.get_or_insert(now_ms());
                    }
                }
                ServerEvent::Engine(Event::Replayed { .. }) => ledger.replayed += 1,
                _ => {}
            }
        });
    // The port may still be held for a moment after a restart.
    for _ in 0..50 {
        match Server::bind(("127.0.0.1", port), config.clone()).await {
            Ok(server) => return server,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("cannot bind 127.0.0.1:{port} again");
}

fn spawn_station(
    binary: &Path,
    version: &str,
    port: u16,
    state: &Path,
    transactions: u64,
    log: &Path,
) -> Child {
    let mut command = Command::new(binary);
    command
        .args(["--url", &format!("ws://127.0.0.1:{port}/{IDENTITY}")])
        .args(["--ocpp", version])
        .arg("--state-dir")
        .arg(state)
        .args(["--transactions", &transactions.to_string()])
        .args(["--meter-updates", &UPDATES.to_string()])
        .args(["--event-interval-ms", "250", "--message-attempts", "100"])
        .args(["--retry-interval", "1", "--timeout", "1"]);
    support::spawn_logged(&mut command, log)
}

/// What a fault run did.
struct Run {
    dir: PathBuf,
    log: PathBuf,
    drops: u32,
    restarts: u32,
    kills: u32,
}

impl Run {
    fn fail(&self, why: String) -> ! {
        panic!(
            "{why}\n--- station log (last lines) ---\n{}",
            support::tail(&self.log, 60)
        );
    }
}

/// Runs the station (`version`) against the CSMS `start` makes (and makes again after each
/// restart) until the station has run and delivered `transactions`, applying `rounds`
/// faults in turn: a dropped connection, a CSMS restart, a station SIGKILL.
async fn run_faults<F, S>(
    name: &str,
    version: &str,
    rounds: u64,
    transactions: u64,
    rng: &Arc<Mutex<Rng>>,
    start: S,
) -> Run
where
    S: Fn(u16) -> F,
    F: std::future::Future<Output = Server>,
{
    let seed = rng.lock().unwrap().0;
    let dir = std::env::temp_dir().join(format!("ocpp-{name}-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state");
    let log = dir.join("station.log");
    let mut run = Run {
        dir,
        log,
        drops: 0,
        restarts: 0,
        kills: 0,
    };

    let port = support::free_port();
    let mut server = Some(start(port).await);
    let binary = support::station_binary();
    let spawn = || spawn_station(&binary, version, port, &state, transactions, &run.log);
    let mut station = spawn();
    let limit = 90 + 3 * transactions;
    let deadline = Instant::now() + Duration::from_secs(limit);
    let mut round = 0;
    loop {
        if let Some(status) = station.try_wait().unwrap() {
            if !status.success() {
                run.fail(format!("the station failed: {status}"));
            }
            break;
        }
        if Instant::now() > deadline {
            let _ = station.kill();
            run.fail(format!("not done in {limit} s"));
        }
        if round >= rounds {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let wait = 300 + rng.lock().unwrap().below(900);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        match round % 3 {
            0 => {
                if let Some(handle) = server.as_ref().and_then(|s| s.registry().get(IDENTITY)) {
                    handle.close().await;
                    run.drops += 1;
                }
            }
            1 => {
                if let Some(old) = server.take() {
                    old.shutdown(Duration::from_millis(200)).await;
                }
                let down = 300 + rng.lock().unwrap().below(1200);
                tokio::time::sleep(Duration::from_millis(down)).await;
                server = Some(start(port).await);
                run.restarts += 1;
            }
            _ => {
                if station.try_wait().unwrap().is_none() {
                    station.kill().unwrap(); // SIGKILL
                    station.wait().unwrap();
                    run.kills += 1;
                    let down = rng.lock().unwrap().below(800);
                    tokio::time::sleep(Duration::from_millis(down)).await;
                    station = spawn();
                }
            }
        }
        round += 1;
    }
    if let Some(server) = server.take() {
        server.shutdown(Duration::from_millis(200)).await;
    }
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_events_survive_dropped_connections_csms_restarts_and_kill_9() {
    let rounds = env_number("OCPP_FAULT_ROUNDS", 12);
    let transactions = env_number("OCPP_FAULT_TRANSACTIONS", 10);
    let seed = env_number("OCPP_FAULT_SEED", now_ms().unsigned_abs() | 1);
    println!("seed {seed}, {rounds} faults, {transactions} transactions");
    let rng = Arc::new(Mutex::new(Rng(seed)));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let run = run_faults("faults", "2.0.1", rounds, transactions, &rng, |port| {
        start_csms(port, &ledger, &rng)
    })
    .await;
    let Run {
        drops,
        restarts,
        kills,
        ..
    } = run;
    let fail = |why: String| -> ! { run.fail(why) };

    let ledger = ledger.lock().unwrap();
    let per_transaction = u64::from(UPDATES) + 2;
    println!(
        "faults: {drops} dropped connections, {restarts} CSMS restarts, {kills} station kills; \
         CSMS: {} events counted, {} refused, {} delayed past the timeout, {} duplicates \
         caught by (transactionId, seqNo), {} retries answered by the remembered answer, \
         {} connections",
        ledger.counted.len(),
        ledger.refused,
        ledger.delayed,
        ledger.duplicates,
        ledger.replayed,
        ledger.connected.len()
    );
    // Every event delivered, once.
    assert_eq!(
        ledger.counted.len() as u64,
        transactions * per_transaction,
        "events counted"
    );
    for n in 0..transactions {
        let id = format!("{IDENTITY}-tx{n}");
        for seq_no in 0..per_transaction as i64 {
            let counted = ledger
                .counted
                .get(&(id.clone(), seq_no))
                .unwrap_or_else(|| fail(format!("{id} seqNo {seq_no} was not delivered")));
            let expected = match seq_no {
                0 => TransactionEvent::Started,
                s if s == per_transaction as i64 - 1 => TransactionEvent::Ended,
                _ => TransactionEvent::Updated,
            };
            assert_eq!(counted.event_type, expected, "{id} seqNo {seq_no}");
        }
    }
    // In order: the order of first delivery is the order the station made them in.
    let made: Vec<(String, i64)> = (0..transactions)
        .flat_map(|n| (0..per_transaction as i64).map(move |s| (format!("{IDENTITY}-tx{n}"), s)))
        .collect();
    assert_eq!(ledger.order, made, "delivered in order");
    // Offline flags: `offline: false` only while connected, `offline: true` only while not
    // (up to the slack at the edges, where the two sides' views differ).
    let end = now_ms();
    let connected_at = |t: i64, slack: i64| {
        ledger
            .connected
            .iter()
            .any(|&(from, to)| t >= from - slack && t <= to.unwrap_or(end) + slack)
    };
    let mut offline_events = 0;
    for ((id, seq_no), counted) in &ledger.counted {
        if counted.offline {
            offline_events += 1;
            assert!(
                !connected_at(counted.timestamp_ms, -SLACK_MS),
                "{id} seqNo {seq_no} says offline but happened while connected"
            );
        } else {
            assert!(
                connected_at(counted.timestamp_ms, SLACK_MS),
                "{id} seqNo {seq_no} says online but happened while not connected"
            );
        }
    }
    println!("{offline_events} events happened offline");
    assert!(
        kills > 0 && restarts > 0 && drops > 0,
        "every kind of fault happened"
    );
    assert!(offline_events > 0, "some events happened offline");
    assert!(
        ledger.delayed + ledger.refused > 0,
        "some answers were refused or lost"
    );
    std::fs::remove_dir_all(&run.dir).unwrap();
}

/// One 1.6 transaction message as the Central System counted it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Message16 {
    Start,
    /// MeterValues, with the energy register (Wh).
    Meter(i64),
    /// StopTransaction, with the energy register (Wh).
    Stop(i64),
}

/// The 1.6 Central System's database: it survives the restarts (the test holds it).
#[derive(Default)]
struct Ledger16 {
    /// The transaction ids handed out, by what the StartTransaction said (its time and meter
    /// reading): a StartTransaction sent again gets the same id.
    starts: BTreeMap<(String, i64), i64>,
    /// Each message counted once, in the order of first delivery: (transaction id, message).
    order: Vec<(i64, Message16)>,
    /// Messages the handlers saw again (a retry after an answer was lost).
    duplicates: usize,
    refused: usize,
    delayed: usize,
}

struct CentralSystem {
    ledger: Arc<Mutex<Ledger16>>,
    rng: Arc<Mutex<Rng>>,
}

impl CentralSystem {
    /// Refuses one message in ten; one in ten is answered past the station's timeout.
    async fn fault(&self) -> Result<bool, CallError> {
        let roll = self.rng.lock().unwrap().below(10);
        let mut ledger = self.ledger.lock().unwrap();
        match roll {
            0 => {
                ledger.refused += 1;
                Err(CallError::new(ErrorCode::InternalError, "database busy"))
            }
            1 => {
                ledger.delayed += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn count(&self, id: i64, message: Message16) {
        let mut ledger = self.ledger.lock().unwrap();
        if ledger.order.contains(&(id, message.clone())) {
            ledger.duplicates += 1;
        } else {
            ledger.order.push((id, message));
        }
    }
}

async fn late(delay: bool) {
    if delay {
        // Past the station's call timeout (1 s): it sends the message again.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
}

impl core16::CentralSystemHandler for CentralSystem {
    async fn on_boot_notification(
        &self,
        _: &str,
        _: core16::BootNotificationRequest,
    ) -> Result<core16::BootNotificationResponse, CallError> {
        Ok(core16::BootNotificationResponse::new(
            core16::RegistrationStatus::Accepted,
            DateTime::now(),
            300,
        ))
    }

    async fn on_heartbeat(
        &self,
        _: &str,
        _: core16::HeartbeatRequest,
    ) -> Result<core16::HeartbeatResponse, CallError> {
        Ok(core16::HeartbeatResponse::new(DateTime::now()))
    }

    async fn on_start_transaction(
        &self,
        _: &str,
        request: core16::StartTransactionRequest,
    ) -> Result<core16::StartTransactionResponse, CallError> {
        let delay = self.fault().await?;
        let id = {
            let mut ledger = self.ledger.lock().unwrap();
            let next = i64::try_from(ledger.starts.len()).unwrap() + 1;
            let key = (request.timestamp.to_string(), request.meter_start);
            *ledger.starts.entry(key).or_insert(next)
        };
        self.count(id, Message16::Start);
        late(delay).await;
        let info = IdTagInfo::new(AuthorizationStatus::Accepted);
        Ok(core16::StartTransactionResponse::new(info, id))
    }

    async fn on_meter_values(
        &self,
        _: &str,
        request: core16::MeterValuesRequest,
    ) -> Result<core16::MeterValuesResponse, CallError> {
        let delay = self.fault().await?;
        let wh = request.meter_value[0].sampled_value[0]
            .value
            .parse()
            .unwrap();
        self.count(request.transaction_id.unwrap(), Message16::Meter(wh));
        late(delay).await;
        Ok(core16::MeterValuesResponse::new())
    }

    async fn on_stop_transaction(
        &self,
        _: &str,
        request: core16::StopTransactionRequest,
    ) -> Result<core16::StopTransactionResponse, CallError> {
        let delay = self.fault().await?;
        self.count(request.transaction_id, Message16::Stop(request.meter_stop));
        late(delay).await;
        Ok(core16::StopTransactionResponse::new())
    }
}

async fn start_central_system(
    port: u16,
    ledger: &Arc<Mutex<Ledger16>>,
    rng: &Arc<Mutex<Rng>>,
) -> Server {
    let dispatcher = Dispatcher::new(OcppVersion::V1_6, Role::CENTRAL_SYSTEM).with(
        core16::CentralSystemService(CentralSystem {
            ledger: Arc::clone(ledger),
            rng: Arc::clone(rng),
        }),
    );
    let config = ServerConfig::new().serve(dispatcher).with_engine(
        engine::Config::default()
            .with_remembered_answers(4)
            .with_max_peer_calls(4),
    );
    for _ in 0..50 {
        match Server::bind(("127.0.0.1", port), config.clone()).await {
            Ok(server) => return server,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("cannot bind 127.0.0.1:{port} again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_meter_and_stop_transaction_survive_the_same_faults_in_1_6() {
    let rounds = env_number("OCPP_FAULT_ROUNDS", 12);
    let transactions = env_number("OCPP_FAULT_TRANSACTIONS", 10);
    let seed = env_number("OCPP_FAULT_SEED", now_ms().unsigned_abs() | 1);
    println!("1.6: seed {seed}, {rounds} faults, {transactions} transactions");
    let rng = Arc::new(Mutex::new(Rng(seed)));
    let ledger = Arc::new(Mutex::new(Ledger16::default()));
    let run = run_faults("faults16", "1.6", rounds, transactions, &rng, |port| {
        start_central_system(port, &ledger, &rng)
    })
    .await;
    let ledger = ledger.lock().unwrap();
    println!(
        "1.6 faults: {} dropped connections, {} Central System restarts, {} station kills; \
         {} messages counted, {} refused, {} delayed past the timeout, {} duplicates caught",
        run.drops,
        run.restarts,
        run.kills,
        ledger.order.len(),
        ledger.refused,
        ledger.delayed,
        ledger.duplicates
    );
    // Every message delivered once, in the order the station made them: transaction after
    // transaction, each StartTransaction, the readings in turn, StopTransaction; every
    // transaction with its own id.
    let meter = |step: u32| 10_000 + 500 * i64::from(step);
    let mut made = Vec::new();
    for n in 0..transactions {
        let id = i64::try_from(n).unwrap() + 1;
        made.push((id, Message16::Start));
        made.extend((1..=UPDATES).map(|step| (id, Message16::Meter(meter(step)))));
        made.push((id, Message16::Stop(meter(UPDATES + 1))));
    }
    if ledger.order != made {
        run.fail(format!("delivered {:?}\nmade      {made:?}", ledger.order));
    }
    assert_eq!(
        ledger.starts.len() as u64,
        transactions,
        "one id per transaction"
    );
    assert!(
        run.kills > 0 && run.restarts > 0 && run.drops > 0,
        "every kind of fault happened"
    );
    assert!(
        ledger.delayed + ledger.refused > 0,
        "some answers were refused or lost"
    );
    std::fs::remove_dir_all(&run.dir).unwrap();
}
