//! A station's durable state: named values (its credentials as the CSMS last set them, the
//! transaction in progress, whatever the application keeps) and the messages it has not yet
//! delivered, in one store that changes atomically.
//!
//! The [`Store`] trait is what the [`Engine`](crate::engine::Engine) needs: [`Store::load`]
//! once at start, [`Store::apply`] for each change, all of whose parts take effect or none
//! does. Two stores come with the crate:
//! - [`MemoryStore`]: in memory, for tests and for stations that keep nothing across a
//!   restart; clones share one state, so a test can "restart" a station on the state the
//!   previous one left.
#![cfg_attr(
    feature = "sqlite",
    doc = " - [`SqliteStore`] (feature `sqlite`): one SQLite database file in write-ahead-log mode,"
)]
// Without the feature the type does not exist: no link to it.
#![cfg_attr(
    not(feature = "sqlite"),
    doc = " - `SqliteStore` (feature `sqlite`): one SQLite database file in write-ahead-log mode,"
)]
//!   synchronised on every commit, so what [`Store::apply`] returned `Ok` for survives
//!   `kill -9` and a power loss. SQLite is what EVerest's libocpp keeps its queue in too: one
//!   file, transactions, no server, and its durability on power loss is tested like little
//!   else is.
//!
//! ```
//! use ocpp_connection::store::{Change, MemoryStore, Queued, Store};
//!
//! let mut store = MemoryStore::new();
//! let message = Queued::new(1, "Heartbeat", r#"[2,"e-1","Heartbeat",{}]"#);
//! store.apply(&[Change::Push(&message), Change::Put { key: "password", value: "0123456789abcdef" }])?;
//! let loaded = store.load()?;
//! assert_eq!(loaded.queue, vec![message]);
//! assert_eq!(loaded.values["password"], "0123456789abcdef");
//! assert_eq!(loaded.next_seq, 2);
//! # Ok::<(), ocpp_connection::store::StoreError>(())
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// One message waiting to be delivered: a CALL frame as it is sent, with its place in the
/// queue and the attempts made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Queued {
    /// Its place in the queue: messages go out in the order of `seq`, and a store never
    /// hands out a `seq` twice ([`Loaded::next_seq`]).
    pub seq: u64,
    /// The CALL's action.
    pub action: String,
    /// The CALL frame, message id included: a retry sends it again unchanged.
    pub frame: String,
    /// How many attempts failed (unanswered in time, or answered with a CALLERROR).
    pub attempts: u32,
    /// Whether a full queue may drop it (an intermediate meter reading) to make room.
    pub droppable: bool,
}

impl Queued {
    /// A message at `seq` with no failed attempt, not droppable.
    pub fn new(seq: u64, action: impl Into<String>, frame: impl Into<String>) -> Self {
        Queued {
            seq,
            action: action.into(),
            frame: frame.into(),
            attempts: 0,
            droppable: false,
        }
    }

    /// Sets [`Queued::droppable`].
    #[must_use]
    pub fn with_droppable(mut self, droppable: bool) -> Self {
        self.droppable = droppable;
        self
    }
}

/// One part of an atomic change ([`Store::apply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// Sets the value named `key`.
    Put {
        /// The name.
        key: &'a str,
        /// The value.
        value: &'a str,
    },
    /// Removes the value named `key` (nothing when there is none).
    Delete {
        /// The name.
        key: &'a str,
    },
    /// Adds a message to the queue (its `seq` at least [`Loaded::next_seq`]).
    Push(&'a Queued),
    /// Records the failed attempts of a queued message.
    Attempted {
        /// The message.
        seq: u64,
        /// The failed attempts so far.
        attempts: u32,
    },
    /// Removes a message from the queue: delivered, or given up.
    Remove {
        /// The message.
        seq: u64,
    },
}

/// What a store holds, read at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Loaded {
    /// The named values.
    pub values: BTreeMap<String, String>,
    /// The queued messages, in order of `seq`.
    pub queue: Vec<Queued>,
    /// The next `seq` to hand out: above every `seq` ever pushed, delivered ones included.
    pub next_seq: u64,
}

/// Why a store failed: the change did not take effect.
#[derive(Debug, thiserror::Error)]
#[error("the store failed: {message}")]
pub struct StoreError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            source: None,
        }
    }

    /// An error saying `message`, caused by `source`.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Where a station keeps what must survive a restart (see the [module docs](self)).
pub trait Store: Send + 'static {
    /// Everything the store holds.
    ///
    /// # Errors
    ///
    /// When it cannot be read.
    fn load(&mut self) -> Result<Loaded, StoreError>;

    /// Makes every change in `changes`, in order, atomically: when it returns `Ok` they have
    /// all taken effect (and, for a durable store, survive a crash); when it returns `Err`,
    /// none has.
    ///
    /// # Errors
    ///
    /// When the store cannot be written, or a change is not allowed (a `seq` below
    /// [`Loaded::next_seq`]).
    fn apply(&mut self, changes: &[Change<'_>]) -> Result<(), StoreError>;
}

impl Store for Box<dyn Store> {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        (**self).load()
    }

    fn apply(&mut self, changes: &[Change<'_>]) -> Result<(), StoreError> {
        (**self).apply(changes)
    }
}

/// A store in memory; clones share it (see the [module docs](self)).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<Loaded>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// A copy of what it holds now.
    pub fn snapshot(&self) -> Loaded {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Applies `changes` to `state`: all of them, or (on `Err`) none.
fn apply_to(state: &mut Loaded, changes: &[Change<'_>]) -> Result<(), StoreError> {
    let mut next = state.clone();
    for change in changes {
        match *change {
            Change::Put { key, value } => {
                next.values.insert(key.to_owned(), value.to_owned());
            }
            Change::Delete { key } => {
                next.values.remove(key);
            }
            Change::Push(message) => {
                if message.seq < next.next_seq {
                    return Err(StoreError::new(format!(
                        "seq {} was handed out already (next is {})",
                        message.seq, next.next_seq
                    )));
                }
                next.next_seq = message.seq + 1;
                next.queue.push(message.clone());
            }
            Change::Attempted { seq, attempts } => {
                if let Some(message) = next.queue.iter_mut().find(|m| m.seq == seq) {
                    message.attempts = attempts;
                }
            }
            Change::Remove { seq } => next.queue.retain(|m| m.seq != seq),
        }
    }
    *state = next;
    Ok(())
}

impl Store for MemoryStore {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(self.snapshot())
    }

    fn apply(&mut self, changes: &[Change<'_>]) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        apply_to(&mut state, changes)
    }
}

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;

    use rusqlite::{params, Connection, OptionalExtension};

    use super::{Change, Loaded, Queued, Store, StoreError};

    /// The schema's version (SQLite's `user_version`).
    const SCHEMA_VERSION: i64 = 1;

    /// A store in one SQLite database file (see the [module docs](super)). Feature `sqlite`.
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    #[derive(Debug)]
    pub struct SqliteStore {
        connection: Connection,
    }

    fn failed(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |error| StoreError::with_source(what, error)
    }

    impl SqliteStore {
        /// Opens the database at `path`, creating it (and its tables) if needed. Commits are
        /// synchronised to disk (`journal_mode = WAL`, `synchronous = FULL`).
        ///
        /// # Errors
        ///
        /// When the file cannot be opened or created, is not such a database, or was written
        /// by a later version of this crate.
        pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
            let connection =
                Connection::open(path.as_ref()).map_err(failed("cannot open the database"))?;
            SqliteStore::init(connection)
        }

        /// A database in memory (nothing survives the process; for tests and benchmarks of
        /// SQLite itself).
        ///
        /// # Errors
        ///
        /// When SQLite cannot make one.
        pub fn in_memory() -> Result<Self, StoreError> {
            let connection =
                Connection::open_in_memory().map_err(failed("cannot open the database"))?;
            SqliteStore::init(connection)
        }

        fn init(connection: Connection) -> Result<Self, StoreError> {
            connection
                .busy_timeout(std::time::Duration::from_secs(5))
                .map_err(failed("cannot set the busy timeout"))?;
            // WAL: a commit is one append and one fsync of the log; FULL: that fsync happens
            // at every commit, so a commit survives a power loss.
            connection
                .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
                .map_err(failed("cannot use the write-ahead log"))?;
            connection
                .execute_batch("PRAGMA synchronous = FULL;")
                .map_err(failed("cannot set synchronous = FULL"))?;
            let version: i64 = connection
                .query_row("PRAGMA user_version", [], |row| row.get(0))
                .map_err(failed("cannot read the schema version"))?;
            match version {
                0 => connection
                    .execute_batch(
                        "BEGIN;
                         CREATE TABLE IF NOT EXISTS value (
                             key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                         CREATE TABLE IF NOT EXISTS queue (
                             seq INTEGER PRIMARY KEY NOT NULL, action TEXT NOT NULL,
                             frame TEXT NOT NULL, attempts INTEGER NOT NULL,
                             droppable INTEGER NOT NULL);
                         CREATE TABLE IF NOT EXISTS next_seq (
                             id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL);
                         INSERT OR IGNORE INTO next_seq (id, seq) VALUES (0, 1);
                         PRAGMA user_version = 1;
                         COMMIT;",
                    )
                    .map_err(failed("cannot create the tables"))?,
                SCHEMA_VERSION => {}
                other => {
                    return Err(StoreError::new(format!(
                        "the database has schema version {other}, this crate knows {SCHEMA_VERSION}"
                    )))
                }
            }
            Ok(SqliteStore { connection })
        }
    }

    impl Store for SqliteStore {
        fn load(&mut self) -> Result<Loaded, StoreError> {
            let read = failed("cannot read the database");
            let mut loaded = Loaded::default();
            let mut values = self
                .connection
                .prepare_cached("SELECT key, value FROM value")
                .map_err(failed("cannot read the values"))?;
            let rows = values
                .query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(failed("cannot read the values"))?;
            for row in rows {
                let (key, value) = row.map_err(failed("cannot read a value"))?;
                loaded.values.insert(key, value);
            }
            drop(values);
            let mut queue = self
                .connection
                .prepare_cached(
                    "SELECT seq, action, frame, attempts, droppable FROM queue ORDER BY seq",
                )
                .map_err(failed("cannot read the queue"))?;
            let rows = queue
                .query_map([], |row| {
                    Ok(Queued {
                        seq: row.get::<_, i64>(0)?.max(0).unsigned_abs(),
                        action: row.get(1)?,
                        frame: row.get(2)?,
                        attempts: row.get(3)?,
                        droppable: row.get(4)?,
                    })
                })
                .map_err(failed("cannot read the queue"))?;
            for row in rows {
                loaded
                    .queue
                    .push(row.map_err(failed("cannot read a queued message"))?);
            }
            drop(queue);
            let next: Option<i64> = self
                .connection
                .query_row("SELECT seq FROM next_seq WHERE id = 0", [], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(read)?;
            loaded.next_seq = next.unwrap_or(1).max(0).unsigned_abs();
            Ok(loaded)
        }

        fn apply(&mut self, changes: &[Change<'_>]) -> Result<(), StoreError> {
            let transaction = self
                .connection
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(failed("cannot begin a transaction"))?;
            for change in changes {
                let done = match *change {
                    Change::Put { key, value } => transaction
                        .prepare_cached(
                            "INSERT INTO value (key, value) VALUES (?1, ?2)
                             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        )
                        .and_then(|mut s| s.execute(params![key, value])),
                    Change::Delete { key } => transaction
                        .prepare_cached("DELETE FROM value WHERE key = ?1")
                        .and_then(|mut s| s.execute(params![key])),
                    Change::Push(message) => {
                        let seq = i64::try_from(message.seq)
                            .map_err(|_| StoreError::new("seq beyond SQLite's integers"))?;
                        let next: i64 = transaction
                            .query_row("SELECT seq FROM next_seq WHERE id = 0", [], |r| r.get(0))
                            .map_err(failed("cannot read the next seq"))?;
                        if seq < next {
                            return Err(StoreError::new(format!(
                                "seq {seq} was handed out already (next is {next})"
                            )));
                        }
                        transaction
                            .prepare_cached(
                                "INSERT INTO queue (seq, action, frame, attempts, droppable)
                                 VALUES (?1, ?2, ?3, ?4, ?5)",
                            )
                            .and_then(|mut s| {
                                s.execute(params![
                                    seq,
                                    message.action,
                                    message.frame,
                                    message.attempts,
                                    message.droppable
                                ])
                            })
                            .and_then(|_| {
                                transaction
                                    .prepare_cached("UPDATE next_seq SET seq = ?1 WHERE id = 0")
                                    .and_then(|mut s| s.execute(params![seq + 1]))
                            })
                    }
                    Change::Attempted { seq, attempts } => transaction
                        .prepare_cached("UPDATE queue SET attempts = ?2 WHERE seq = ?1")
                        .and_then(|mut s| {
                            s.execute(params![i64::try_from(seq).unwrap_or(i64::MAX), attempts])
                        }),
                    Change::Remove { seq } => transaction
                        .prepare_cached("DELETE FROM queue WHERE seq = ?1")
                        .and_then(|mut s| {
                            s.execute(params![i64::try_from(seq).unwrap_or(i64::MAX)])
                        }),
                };
                done.map_err(failed("cannot write the database"))?;
            }
            transaction
                .commit()
                .map_err(failed("cannot commit the transaction"))
        }
    }
}
