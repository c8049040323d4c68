//! A station swarm (load generator) for any OCPP 2.0.1 CSMS over loopback: it connects N
//! stations (`ws://ADDR/ocpp/SW-<i>`, subprotocol `ocpp2.0.1`), boots each, then sends
//! Heartbeats spread evenly over the stations at each offered rate in turn, one outstanding
//! CALL per station as OCPP-J asks, and prints per rate: CALLs answered per second, latency
//! p50 / p99 / p999 (from the CALL written to its CALLRESULT read), and the server's CPU.
//!
//! ```text
//! cargo run --release -p ocpp-connection --example swarm -- \
//!     --url ws://127.0.0.1:9000/ocpp --stations 10000 --rates 10000,20000,40000 \
//!     --seconds 10 --pid <server pid> [--threads 1]
//! ```
//!
//! `--threads` is the swarm's worker threads (1 by default: on a 2-core machine the server
//! keeps the other core).
//!
//! The server is anything that speaks OCPP 2.0.1: `idle_memory --serve` (this crate's
//! `Server`), or a peer's. The swarm is a plain tokio-tungstenite client, not this crate's
//! `Client`, so that both servers meet the same load.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    url: String,
    stations: usize,
    rates: Vec<u64>,
    seconds: u64,
    pid: Option<u32>,
    label: String,
    threads: usize,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        url: "ws://127.0.0.1:9000/ocpp".into(),
        stations: 1000,
        rates: vec![1000],
        seconds: 5,
        pid: None,
        label: "server".into(),
        threads: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => args.url = value,
            "--stations" => args.stations = value.parse().map_err(|e| format!("{e}"))?,
            "--rates" => {
                args.rates = value
                    .split(',')
                    .map(|r| r.parse().map_err(|e| format!("{e}")))
                    .collect::<Result<_, _>>()?
            }
            "--seconds" => args.seconds = value.parse().map_err(|e| format!("{e}"))?,
            "--pid" => args.pid = Some(value.parse().map_err(|e| format!("{e}"))?),
            "--label" => args.label = value,
            "--threads" => args.threads = value.parse().map_err(|e| format!("{e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

/// The server's CPU time so far, in clock ticks (utime + stime of /proc/PID/stat).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    field(11) + field(12)
}

/// One load phase: Heartbeats at `rate` per second over all stations, from `start` to `end`.
#[derive(Clone, Copy)]
struct Phase {
    rate: u64,
    start: Instant,
    end: Instant,
}

#[derive(Default)]
struct Tally {
    sent: u64,
    answered: u64,
    latencies_us: Vec<u32>,
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn connect(
    url: &str,
    identity: &str,
) -> Result<Ws, Box<dyn std::error::Error + Send + Sync>> {
    let mut request = format!("{url}/{identity}").into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("ocpp2.0.1"),
    );
    let host = request
        .uri()
        .authority()
        .ok_or("no host")?
        .as_str()
        .to_owned();
    let stream = TcpStream::connect(host).await?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream).await?;
    let boot = r#"[2,"b","BootNotification",{"chargingStation":{"model":"M","vendorName":"V"},"reason":"PowerUp"}]"#;
    ws.send(Message::text(boot)).await?;
    answer(&mut ws).await?;
    Ok(ws)
}

/// Reads until a CALLRESULT or CALLERROR (ignores the server's own CALLs and pings).
async fn answer(ws: &mut Ws) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    loop {
        match ws.next().await.ok_or("closed")?? {
            Message::Text(text) if text.starts_with("[3") || text.starts_with("[4") => {
                return Ok(())
            }
            Message::Close(_) => return Err("closed".into()),
            _ => {}
        }
    }
}

async fn station(
    mut ws: Ws,
    index: usize,
    stations: usize,
    phases: Vec<Phase>,
    tallies: Arc<Mutex<Vec<Tally>>>,
) {
    let mut mine: Vec<Tally> = phases.iter().map(|_| Tally::default()).collect();
    let mut id = 0u64;
    for (phase, tally) in phases.iter().zip(&mut mine) {
        // Every station sends every `period`; the stations are spread evenly over it.
        let period = Duration::from_secs_f64(stations as f64 / phase.rate as f64);
        let mut next = phase.start + period.mul_f64(index as f64 / stations as f64);
        while next < phase.end {
            tokio::time::sleep_until(next.into()).await;
            id += 1;
            let frame = format!(r#"[2,"{id}","Heartbeat",{{}}]"#);
            let sent = Instant::now();
            if ws.send(Message::text(frame)).await.is_err() {
                break;
            }
            tally.sent += 1;
            if answer(&mut ws).await.is_err() {
                break;
            }
            let took = sent.elapsed();
            if Instant::now() <= phase.end + Duration::from_secs(1) {
                tally.answered += 1;
                tally
                    .latencies_us
                    .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            }
            next += period;
            // Behind schedule (the answer took longer than a period): no burst to catch up.
            let now = Instant::now();
            if next < now {
                next = now;
            }
        }
    }
    {
        let mut all = tallies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (total, tally) in all.iter_mut().zip(mine) {
            total.sent += tally.sent;
            total.answered += tally.answered;
            total.latencies_us.extend(tally.latencies_us);
        }
    }
    let _ = ws.close(None).await;
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let connected = Instant::now();
        let mut sockets = Vec::with_capacity(args.stations);
        let mut set = tokio::task::JoinSet::new();
        let url = Arc::new(args.url.clone());
        let concurrency = Arc::new(tokio::sync::Semaphore::new(256));
        for i in 0..args.stations {
            let url = Arc::clone(&url);
            let permit = Arc::clone(&concurrency).acquire_owned().await?;
            set.spawn(async move {
                let _permit = permit;
                (i, connect(&url, &format!("SW-{i}")).await)
            });
        }
        while let Some(joined) = set.join_next().await {
            let (i, ws) = joined?;
            sockets.push((i, ws.map_err(|e| format!("station {i}: {e}"))?));
        }
        let connect_secs = connected.elapsed().as_secs_f64();
        eprintln!(
            "{} stations connected and booted in {connect_secs:.1} s ({:.0}/s)",
            args.stations,
            args.stations as f64 / connect_secs
        );
        let gap = Duration::from_secs(1);
        let mut start = Instant::now() + Duration::from_secs(1);
        let phases: Vec<Phase> = args
            .rates
            .iter()
            .map(|&rate| {
                let phase = Phase {
                    rate,
                    start,
                    end: start + Duration::from_secs(args.seconds),
                };
                start = phase.end + gap;
                phase
            })
            .collect();
        let tallies = Arc::new(Mutex::new(
            phases.iter().map(|_| Tally::default()).collect::<Vec<_>>(),
        ));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, ws) in sockets {
            tasks.spawn(station(ws, i, args.stations, phases.clone(), Arc::clone(&tallies)));
        }
        let mut cpu = Vec::new();
        for phase in &phases {
            tokio::time::sleep_until(phase.start.into()).await;
            let before = args.pid.map(cpu_ticks);
            tokio::time::sleep_until(phase.end.into()).await;
            let after = args.pid.map(cpu_ticks);
            cpu.push(before.zip(after).map(|(b, a)| {
                (a - b) as f64 / 100.0 / args.seconds as f64 * 100.0
            }));
        }
        while tasks.join_next().await.is_some() {}
        let tallies = std::mem::take(
            &mut *tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        println!("| server | stations | offered/s | answered/s | p50 ms | p99 ms | p999 ms | server CPU |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for ((phase, mut tally), cpu) in phases.iter().zip(tallies).zip(cpu) {
            tally.latencies_us.sort_unstable();
            let l = &tally.latencies_us;
            println!(
                "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
                args.label,
                args.stations,
                phase.rate,
                tally.answered as f64 / args.seconds as f64,
                percentile(l, 0.50),
                percentile(l, 0.99),
                percentile(l, 0.999),
                cpu.map_or("-".to_owned(), |c| format!("{c:.0}%")),
            );
        }
        Ok(())
    })
}
