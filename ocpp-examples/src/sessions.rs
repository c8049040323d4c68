//! The CSMS's memory of charging sessions, the same for every OCPP version: which id tokens it
//! accepts, the transactions of each station and the energy they delivered.
//!
//! Each version's handlers translate their messages into these calls: OCPP 1.6's
//! `StartTransaction` and 2.0.1's `TransactionEvent` `Started` both become [`Sessions::start`],
//! 1.6's `MeterValues` and 2.0.1's `Updated` events [`Sessions::meter`], and so on. Transaction
//! ids are strings here: 2.0.1 stations choose theirs, and for 1.6 the CSMS hands out integers
//! ([`Sessions::start`] with no id).
//!
//! It also keeps the periodic event streams of OCPP 2.1 (OpenPeriodicEventStream, the values
//! of NotifyPeriodicEventStream SENDs, ClosePeriodicEventStream): [`Sessions::open_stream`]
//! and its siblings.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use ocpp_messages::DateTime;

/// The CSMS's verdict on an id token (OCPP 1.6 `AuthorizationStatus`; 2.0.1 has the same
/// values and more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// The token may charge.
    Accepted,
    /// The token is known and blocked.
    Blocked,
    /// The token already has a transaction in progress.
    ConcurrentTx,
}

/// One transaction, as the CSMS has seen it so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// The charging station.
    pub station: String,
    /// The transaction id: the station's (2.0.1) or the one the CSMS gave (1.6).
    pub id: String,
    /// The connector (1.6) or EVSE (2.0.1) it runs on, when known.
    pub connector: Option<i64>,
    /// The id token that started it, when known.
    pub id_tag: Option<String>,
    /// The energy register at the start, in Wh.
    pub meter_start_wh: Option<f64>,
    /// The latest energy register reading, in Wh.
    pub meter_last_wh: Option<f64>,
    /// When it started.
    pub started: DateTime,
    /// When it ended; `None` while it runs.
    pub ended: Option<DateTime>,
    /// Why it ended, in the version's words (`EVDisconnected`, `Local`, ...).
    pub stop_reason: Option<String>,
    /// The transaction's events counted (2.x TransactionEvents, each `seqNo` once; 0 in 1.6).
    pub events: u32,
    /// Events that came again with a `seqNo` already counted (a retry after a lost answer):
    /// answered, not counted.
    pub repeated: u32,
    /// Counted events that said `offline: true`.
    pub offline_events: u32,
}

impl Transaction {
    /// The energy delivered so far, in Wh: the latest reading minus the start.
    pub fn energy_wh(&self) -> Option<f64> {
        Some(self.meter_last_wh? - self.meter_start_wh?)
    }

    /// Whether it is still running.
    pub fn is_ongoing(&self) -> bool {
        self.ended.is_none()
    }
}

/// A periodic event stream a station opened (OCPP 2.1), with the values it has sent so far.
#[derive(Debug, Clone, PartialEq)]
pub struct EventStream {
    /// The charging station.
    pub station: String,
    /// The stream id, chosen by the station.
    pub id: i64,
    /// The variable monitor whose events the stream carries.
    pub variable_monitoring_id: i64,
    /// Every value received, in order of arrival.
    pub values: Vec<StreamValue>,
    /// How many values the station said were still pending, in its latest message.
    pub pending: i64,
    /// Whether the station has closed it.
    pub closed: bool,
}

/// One value of a periodic event stream: `basetime` + `offset_s` is when it was recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamValue {
    /// The base time of the message that carried it.
    pub basetime: DateTime,
    /// Seconds after `basetime`.
    pub offset_s: f64,
    /// The value, as the station wrote it.
    pub value: String,
}

/// A transaction to record: what a start message says.
#[derive(Debug, Clone, PartialEq)]
pub struct Start<'a> {
    /// The station's transaction id (2.0.1); `None` when the CSMS gives one (1.6).
    pub id: Option<&'a str>,
    /// The connector or EVSE.
    pub connector: Option<i64>,
    /// The id token, when the start message names one.
    pub id_tag: Option<&'a str>,
    /// The energy register at the start, in Wh.
    pub meter_wh: Option<f64>,
    /// When it started.
    pub timestamp: DateTime,
}

/// The sessions of every station: see the [module docs](self).
#[derive(Debug, Default)]
pub struct Sessions {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    blocked: BTreeSet<String>,
    /// The last transaction id handed out.
    last_id: i64,
    /// By station, then transaction id.
    transactions: BTreeMap<(String, String), Transaction>,
    /// By station, then stream id.
    streams: BTreeMap<(String, i64), EventStream>,
    /// The events of each transaction, by station, then transaction id.
    events: BTreeMap<(String, String), Events>,
    /// The verdict on the id token that started each transaction.
    start_verdicts: BTreeMap<(String, String), Authorization>,
}

/// The events of one transaction counted so far.
#[derive(Debug, Default)]
struct Events {
    seq_nos: BTreeSet<i64>,
    repeated: u32,
    offline: u32,
}

impl Inner {
    /// `transaction` with its event counts.
    fn counted(&self, transaction: &Transaction) -> Transaction {
        let mut transaction = transaction.clone();
        if let Some(events) = self.events.get(&key(&transaction.station, &transaction.id)) {
            transaction.events = u32::try_from(events.seq_nos.len()).unwrap_or(u32::MAX);
            transaction.repeated = events.repeated;
            transaction.offline_events = events.offline;
        }
        transaction
    }
}

impl Sessions {
    /// An empty store that accepts every id token.
    pub fn new() -> Self {
        Sessions::default()
    }

    /// Blocks an id token: [`Sessions::authorize`] answers [`Authorization::Blocked`] for it.
    pub fn block(&self, id_tag: &str) {
        self.lock().blocked.insert(normalize(id_tag));
    }

    /// The verdict on `id_tag`: blocked tokens are `Blocked`, a token with a transaction in
    /// progress (on any station) `ConcurrentTx`, every other one `Accepted`. Id tokens compare
    /// case-insensitively, as both versions say.
    pub fn authorize(&self, id_tag: &str) -> Authorization {
        self.lock().authorize(id_tag)
    }

    /// Records a transaction start; returns its id (the station's, or a new one) and, when the
    /// start names an id token, the verdict on it (decided before this transaction counts as
    /// one in progress). A start for an id already known restarts nothing: the first one stays.
    ///
    /// A start without an id (1.6) that repeats one already recorded — the same station,
    /// connector, id token, meter reading and time: a StartTransaction sent again because its
    /// answer was lost — gets the same id and verdict again, and counts as repeated.
    pub fn start(&self, station: &str, start: Start<'_>) -> (String, Option<Authorization>) {
        let mut inner = self.lock();
        if start.id.is_none() {
            let again = inner
                .transactions
                .values()
                .find(|t| {
                    t.station == station
                        && t.connector == start.connector
                        && t.id_tag.as_deref() == start.id_tag
                        && t.meter_start_wh == start.meter_wh
                        && t.started == start.timestamp
                })
                .map(|t| t.id.clone());
            if let Some(id) = again {
                let key = key(station, &id);
                inner.events.entry(key.clone()).or_default().repeated += 1;
                let verdict = inner.start_verdicts.get(&key).copied();
                return (id, verdict);
            }
        }
        let verdict = start.id_tag.map(|tag| inner.authorize(tag));
        let id = match start.id {
            Some(id) => id.to_owned(),
            None => {
                inner.last_id += 1;
                inner.last_id.to_string()
            }
        };
        inner
            .transactions
            .entry((station.to_owned(), id.clone()))
            .or_insert_with(|| Transaction {
                station: station.to_owned(),
                id: id.clone(),
                connector: start.connector,
                id_tag: start.id_tag.map(str::to_owned),
                meter_start_wh: start.meter_wh,
                meter_last_wh: start.meter_wh,
                started: start.timestamp,
                ended: None,
                stop_reason: None,
                events: 0,
                repeated: 0,
                offline_events: 0,
            });
        if let Some(verdict) = verdict {
            inner
                .start_verdicts
                .entry((station.to_owned(), id.clone()))
                .or_insert(verdict);
        }
        (id, verdict)
    }

    /// Records an energy reading: of transaction `id` when given, else of the transaction in
    /// progress on `connector`. Returns the id of the transaction it went to, `None` if there is
    /// none.
    pub fn meter(
        &self,
        station: &str,
        id: Option<&str>,
        connector: i64,
        meter_wh: Option<f64>,
    ) -> Option<String> {
        let mut inner = self.lock();
        let transaction = match id {
            Some(id) => inner.transactions.get_mut(&key(station, id))?,
            None => inner.transactions.values_mut().find(|t| {
                t.station == station && t.is_ongoing() && t.connector == Some(connector)
            })?,
        };
        if meter_wh.is_some() {
            transaction.meter_last_wh = meter_wh;
        }
        Some(transaction.id.clone())
    }

    /// The verdict on `id_tag` presented during or at the end of transaction `id`: `Accepted`
    /// if it is the token that started it, else as [`Sessions::authorize`].
    pub fn authorize_in(&self, station: &str, id: &str, id_tag: &str) -> Authorization {
        let inner = self.lock();
        let own = inner
            .transactions
            .get(&key(station, id))
            .and_then(|t| t.id_tag.as_deref())
            .is_some_and(|tag| normalize(tag) == normalize(id_tag));
        if own {
            Authorization::Accepted
        } else {
            inner.authorize(id_tag)
        }
    }

    /// Records the end of a transaction; returns it as it ended, or `None` if it is unknown.
    /// An id token given at the end only counts if the start named none.
    pub fn stop(
        &self,
        station: &str,
        id: &str,
        meter_wh: Option<f64>,
        reason: Option<String>,
        timestamp: DateTime,
    ) -> Option<Transaction> {
        let mut inner = self.lock();
        let transaction = inner.transactions.get_mut(&key(station, id))?;
        if meter_wh.is_some() {
            transaction.meter_last_wh = meter_wh;
        }
        transaction.ended.get_or_insert(timestamp);
        if reason.is_some() {
            transaction.stop_reason = reason;
        }
        let transaction = transaction.clone();
        Some(inner.counted(&transaction))
    }

    /// Counts event `seq_no` of transaction `id` (2.x TransactionEvent): `true` the first
    /// time, `false` for a `seqNo` already counted — a retry of an event whose answer was
    /// lost, which must not be processed (billed) again.
    pub fn count_event(&self, station: &str, id: &str, seq_no: i64, offline: bool) -> bool {
        let mut inner = self.lock();
        let events = inner.events.entry(key(station, id)).or_default();
        let first = events.seq_nos.insert(seq_no);
        if !first {
            events.repeated += 1;
        } else if offline {
            events.offline += 1;
        }
        first
    }

    /// A transaction of `station`, if known.
    pub fn transaction(&self, station: &str, id: &str) -> Option<Transaction> {
        let inner = self.lock();
        inner
            .transactions
            .get(&key(station, id))
            .map(|t| inner.counted(t))
    }

    /// Every transaction of `station`, in id order.
    pub fn transactions(&self, station: &str) -> Vec<Transaction> {
        let inner = self.lock();
        inner
            .transactions
            .values()
            .filter(|t| t.station == station)
            .map(|t| inner.counted(t))
            .collect()
    }

    /// Records a periodic event stream opened by `station`. Opening an id again starts it
    /// afresh; returns whether an open stream of that id was replaced.
    pub fn open_stream(&self, station: &str, id: i64, variable_monitoring_id: i64) -> bool {
        let stream = EventStream {
            station: station.to_owned(),
            id,
            variable_monitoring_id,
            values: Vec::new(),
            pending: 0,
            closed: false,
        };
        let old = self.lock().streams.insert((station.to_owned(), id), stream);
        old.is_some_and(|s| !s.closed)
    }

    /// Records the values of one NotifyPeriodicEventStream: `(offset_s, value)` pairs after
    /// `basetime`, and the number still pending. Returns the number of values the stream now
    /// holds, or `None` (recording nothing) if `station` has no open stream `id`.
    pub fn stream_values(
        &self,
        station: &str,
        id: i64,
        basetime: &DateTime,
        values: impl IntoIterator<Item = (f64, String)>,
        pending: i64,
    ) -> Option<usize> {
        let mut inner = self.lock();
        let stream = inner
            .streams
            .get_mut(&(station.to_owned(), id))
            .filter(|s| !s.closed)?;
        stream
            .values
            .extend(values.into_iter().map(|(offset_s, value)| StreamValue {
                basetime: basetime.clone(),
                offset_s,
                value,
            }));
        stream.pending = pending;
        Some(stream.values.len())
    }

    /// Records that `station` closed stream `id`; returns it, or `None` if it was not open.
    pub fn close_stream(&self, station: &str, id: i64) -> Option<EventStream> {
        let mut inner = self.lock();
        let stream = inner
            .streams
            .get_mut(&(station.to_owned(), id))
            .filter(|s| !s.closed)?;
        stream.closed = true;
        Some(stream.clone())
    }

    /// A periodic event stream of `station`, open or closed, if known.
    pub fn stream(&self, station: &str, id: i64) -> Option<EventStream> {
        self.lock().streams.get(&(station.to_owned(), id)).cloned()
    }

    /// Every periodic event stream of `station`, in id order.
    pub fn streams(&self, station: &str) -> Vec<EventStream> {
        self.lock()
            .streams
            .values()
            .filter(|s| s.station == station)
            .cloned()
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update leaves the maps consistent, so a panic elsewhere cannot spoil them.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn authorize(&self, id_tag: &str) -> Authorization {
        let tag = normalize(id_tag);
        if self.blocked.contains(&tag) {
            Authorization::Blocked
        } else if self.transactions.values().any(|t| {
            t.is_ongoing() && t.id_tag.as_deref().map(normalize).as_deref() == Some(tag.as_str())
        }) {
            Authorization::ConcurrentTx
        } else {
            Authorization::Accepted
        }
    }
}

fn key(station: &str, id: &str) -> (String, String) {
    (station.to_owned(), id.to_owned())
}

fn normalize(id_tag: &str) -> String {
    id_tag.to_lowercase()
}

/// An energy register reading in Wh, from a sampled value: `unit` is the unit's wire name
/// (`Wh` when absent, or `kWh`), `multiplier` a power of ten (2.0.1's `unitOfMeasure`; 0 in
/// 1.6). `None` for any other unit.
pub fn energy_wh(value: f64, unit: Option<&str>, multiplier: i64) -> Option<f64> {
    let scale = match unit.unwrap_or("Wh") {
        "Wh" => 1.0,
        "kWh" => 1000.0,
        _ => return None,
    };
    let power = i32::try_from(multiplier).ok()?;
    Some(value * scale * 10f64.powi(power))
}

/// The vendor id of the example's own DataTransfer message, in both versions.
pub const VENDOR_ID: &str = "org.ocpp-rs.example";

/// The example's DataTransfer message: the CSMS answers `Accepted` with the request's data.
pub const ECHO_MESSAGE_ID: &str = "Echo";

/// How the CSMS answers a DataTransfer (the statuses both versions define).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataTransferVerdict {
    /// [`VENDOR_ID`] / [`ECHO_MESSAGE_ID`]: accepted, the data echoed.
    Echo,
    /// Another vendor.
    UnknownVendorId,
    /// [`VENDOR_ID`] with another message (or none).
    UnknownMessageId,
}

impl std::fmt::Display for DataTransferVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DataTransferVerdict::Echo => "Accepted, data echoed",
            DataTransferVerdict::UnknownVendorId => "UnknownVendorId",
            DataTransferVerdict::UnknownMessageId => "UnknownMessageId",
        })
    }
}

/// The CSMS's answer to a DataTransfer with these ids.
pub fn data_transfer(vendor_id: &str, message_id: Option<&str>) -> DataTransferVerdict {
    match (vendor_id, message_id) {
        (VENDOR_ID, Some(ECHO_MESSAGE_ID)) => DataTransferVerdict::Echo,
        (VENDOR_ID, _) => DataTransferVerdict::UnknownMessageId,
        _ => DataTransferVerdict::UnknownVendorId,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start<'a>(id: Option<&'a str>, tag: &'a str, wh: f64) -> Start<'a> {
        Start {
            id,
            connector: Some(1),
            id_tag: Some(tag),
            meter_wh: Some(wh),
            timestamp: DateTime::now(),
        }
    }

    #[test]
    fn a_session_from_start_to_stop() {
        let sessions = Sessions::new();
        sessions.block("BAD");
        assert_eq!(sessions.authorize("bad"), Authorization::Blocked);
        assert_eq!(sessions.authorize("TAG"), Authorization::Accepted);

        let (id, verdict) = sessions.start("CP1", start(None, "TAG", 1000.0));
        assert_eq!((id.as_str(), verdict), ("1", Some(Authorization::Accepted)));
        assert_eq!(sessions.authorize("tag"), Authorization::ConcurrentTx);
        let (other, _) = sessions.start("CP2", start(None, "OTHER", 0.0));
        assert_eq!(other, "2");
        let (own, _) = sessions.start("CS3", start(Some("tx-a"), "THIRD", 0.0));
        assert_eq!(own, "tx-a");

        assert_eq!(
            sessions.meter("CP1", Some("1"), 1, Some(1200.0)).as_deref(),
            Some("1")
        );
        assert_eq!(
            sessions.meter("CP1", None, 1, Some(1500.0)).as_deref(),
            Some("1")
        );
        assert_eq!(sessions.meter("CP1", None, 2, Some(1500.0)), None);
        assert_eq!(sessions.meter("CP2", Some("1"), 1, Some(1500.0)), None);
        assert_eq!(
            sessions.authorize_in("CP1", "1", "tag"),
            Authorization::Accepted
        );
        assert_eq!(
            sessions.authorize_in("CP1", "1", "OTHER"),
            Authorization::ConcurrentTx
        );
        let ended = sessions
            .stop(
                "CP1",
                "1",
                Some(2500.0),
                Some("Local".into()),
                DateTime::now(),
            )
            .unwrap();
        assert_eq!(ended.energy_wh(), Some(1500.0));
        assert!(!ended.is_ongoing());
        assert_eq!(sessions.authorize("TAG"), Authorization::Accepted);
        assert!(sessions
            .stop("CP1", "9", None, None, DateTime::now())
            .is_none());
        assert_eq!(sessions.transactions("CP1"), vec![ended]);
    }

    #[test]
    fn event_streams_take_values_while_open() {
        let sessions = Sessions::new();
        let base = DateTime::now();
        let values = || vec![(0.0, "1".to_owned()), (1.5, "2".to_owned())];
        assert_eq!(sessions.stream_values("CS1", 7, &base, values(), 0), None);
        assert!(!sessions.open_stream("CS1", 7, 3));
        assert_eq!(
            sessions.stream_values("CS1", 7, &base, values(), 4),
            Some(2)
        );
        assert_eq!(sessions.stream_values("CS2", 7, &base, values(), 0), None);
        assert_eq!(
            sessions.stream_values("CS1", 7, &base, values(), 0),
            Some(4)
        );
        let closed = sessions.close_stream("CS1", 7).unwrap();
        assert!(closed.closed);
        assert_eq!(closed.values[1].offset_s, 1.5);
        assert_eq!(closed.values[3].value, "2");
        assert_eq!(closed.pending, 0);
        assert!(sessions.close_stream("CS1", 7).is_none());
        assert_eq!(sessions.stream_values("CS1", 7, &base, values(), 0), None);
        assert_eq!(sessions.streams("CS1"), vec![closed]);
        // Reopening starts afresh; replacing an open stream is reported.
        assert!(!sessions.open_stream("CS1", 7, 3));
        assert!(sessions.open_stream("CS1", 7, 3));
        assert!(sessions.stream("CS1", 7).unwrap().values.is_empty());
    }

    #[test]
    fn energy_units() {
        assert_eq!(energy_wh(12.5, None, 0), Some(12.5));
        assert_eq!(energy_wh(1.5, Some("kWh"), 0), Some(1500.0));
        assert_eq!(energy_wh(3.0, Some("Wh"), 2), Some(300.0));
        assert_eq!(energy_wh(3.0, Some("varh"), 0), None);
        assert_eq!(energy_wh(3.0, None, i64::MAX), None);
    }

    #[test]
    fn data_transfer_verdicts() {
        assert_eq!(
            data_transfer(VENDOR_ID, Some("Echo")),
            DataTransferVerdict::Echo
        );
        assert_eq!(
            data_transfer(VENDOR_ID, None),
            DataTransferVerdict::UnknownMessageId
        );
        assert_eq!(
            data_transfer("com.other", Some("Echo")),
            DataTransferVerdict::UnknownVendorId
        );
    }

    #[test]
    fn each_seq_no_is_counted_once() {
        let sessions = Sessions::new();
        assert!(sessions.count_event("CP1", "T1", 0, true));
        sessions.start("CP1", start(Some("T1"), "TAG", 0.0));
        assert!(sessions.count_event("CP1", "T1", 1, false));
        // A retry after a lost answer; the same seqNo of another station's transaction is not.
        assert!(!sessions.count_event("CP1", "T1", 1, false));
        assert!(sessions.count_event("CP2", "T1", 1, false));
        let t = sessions.transaction("CP1", "T1").unwrap();
        assert_eq!((t.events, t.repeated, t.offline_events), (2, 1, 1));
        let ended = sessions
            .stop("CP1", "T1", None, None, DateTime::now())
            .unwrap();
        assert_eq!(ended.events, 2);
    }

    #[test]
    fn a_repeated_1_6_start_gets_the_same_id_and_verdict() {
        let sessions = Sessions::new();
        let first = start(None, "TAG", 100.0);
        let (id, verdict) = sessions.start("CP1", first.clone());
        assert_eq!(verdict, Some(Authorization::Accepted));
        // The same StartTransaction again: the same answer, not a second transaction.
        assert_eq!(sessions.start("CP1", first.clone()), (id.clone(), verdict));
        assert_eq!(sessions.transactions("CP1").len(), 1);
        assert_eq!(sessions.transaction("CP1", &id).unwrap().repeated, 1);
        // Another start of the same token (a new time) is another transaction, ConcurrentTx.
        let later = Start {
            timestamp: "2030-01-01T00:00:00Z".parse().unwrap(),
            ..first
        };
        let (other, verdict) = sessions.start("CP1", later);
        assert_ne!(other, id);
        assert_eq!(verdict, Some(Authorization::ConcurrentTx));
    }
}
