//! How strictly a [`crate::rpc::Dispatcher`] holds each payload to its schema: strict by
//! default, relaxed by rules an operator writes, per direction, per action and per charging
//! station.
//!
//! A payload that satisfies its schema is never affected: the policy is consulted only when
//! the validator has found something wrong, so it costs nothing on the happy path. Then the
//! first [`Rule`] matching the direction, the charging station and the action decides:
//!
//! - [`Leniency::Strict`] (no rule matches): the CALL is refused with the CALLERROR the
//!   specification prescribes; a handler's invalid response becomes `InternalError`.
//! - [`Leniency::AllowUnknownMembers`]: members the schema does not define are taken out of
//!   the payload and kept ([`UnknownMembers`], readable by the handler with
//!   [`unknown_members`] and put back into an encoded value with [`UnknownMembers::restore`]);
//!   if nothing else is wrong, the typed request reaches the handler. Any other violation
//!   still refuses it.
//! - [`Leniency::Report`]: unknown members are kept aside as above; every violation is reported
//!   to the policy's [`Policy::on_violation`] callback, and the typed message is still
//!   delivered when its Rust type can hold it (a string longer than `maxLength`, a number out
//!   of range, too many or too few items, an unknown member: yes; a missing required member, a
//!   wrong JSON type, a value not in an enum, a date-time that is not one: no, and the CALL is
//!   refused as under `Strict`). For [`Direction::Outgoing`], a handler's response that breaks
//!   its schema is reported and sent anyway.
//!
//! Incoming payloads are the requests of the CALLs the dispatcher serves and the CALLRESULTs
//! [`crate::rpc::Session::receive`] matches to this side's calls (their unknown members
//! are in [`crate::rpc::Answer::unknown_members`], and [`crate::rpc::Answer::into_response`]
//! decodes what a `Report` rule let through). Outgoing payloads stay strict unless a rule names
//! [`Direction::Outgoing`]; CALLs made with [`crate::rpc::Session`] are always checked.
//!
//! ```
//! use ocpp_messages::policy::{Leniency, Policy, Rule};
//!
//! // ACME's firmware 1.x adds a member BootNotification does not define: accept it from those
//! // stations only, and log every violation a relaxed rule lets through.
//! let policy = Policy::strict()
//!     .rule(
//!         Rule::incoming(Leniency::AllowUnknownMembers)
//!             .for_stations(|id| id.starts_with("ACME-"))
//!             .for_actions(&["BootNotification"]),
//!     )
//!     .on_violation(|report| eprintln!("{report}"));
//! # let _ = policy;
//! ```

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::validate::{Violation, ViolationKind};

/// Which way a payload travels, seen from this side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Payloads the peer sends: the requests of the CALLs this side serves, and the responses
    /// to its own CALLs (matched by [`crate::rpc::Session::receive`]).
    Incoming,
    /// Payloads this side sends: its handlers' responses.
    Outgoing,
}

/// How a payload that breaks its schema is treated. See the [module](self) documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Leniency {
    /// Refused (the default).
    #[default]
    Strict,
    /// Members the schema does not define are accepted and kept; anything else refuses.
    AllowUnknownMembers,
    /// Violations are reported to the callback, and the payload delivered when its type can
    /// hold it.
    Report,
}

type StationFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// One relaxation: a direction, the leniency, and (optionally) which charging stations and
/// actions it is for.
#[derive(Clone)]
pub struct Rule {
    direction: Direction,
    leniency: Leniency,
    stations: Option<StationFilter>,
    actions: Option<Vec<String>>,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("direction", &self.direction)
            .field("leniency", &self.leniency)
            .field("stations", &self.stations.as_ref().map(|_| "<filter>"))
            .field("actions", &self.actions)
            .finish()
    }
}

impl Rule {
    /// A rule for payloads the peer sends, for every station and action until narrowed.
    pub fn incoming(leniency: Leniency) -> Self {
        Rule {
            direction: Direction::Incoming,
            leniency,
            stations: None,
            actions: None,
        }
    }

    /// A rule for payloads this side sends (its handlers' responses), for every station and
    /// action until narrowed. Only [`Leniency::Report`] relaxes them: a typed response has no
    /// unknown members.
    pub fn outgoing(leniency: Leniency) -> Self {
        Rule {
            direction: Direction::Outgoing,
            ..Rule::incoming(leniency)
        }
    }

    /// Narrows the rule to the connections whose charging station id `filter` accepts (the id
    /// the dispatcher is given with each frame: a charger model's id prefix, a list loaded
    /// from configuration, one connection's id).
    #[must_use]
    pub fn for_stations(mut self, filter: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.stations = Some(Arc::new(filter));
        self
    }

    /// Narrows the rule to one charging station, by id.
    #[must_use]
    pub fn for_station(self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.for_stations(move |station| station == id)
    }

    /// Narrows the rule to these actions.
    #[must_use]
    pub fn for_actions(mut self, actions: &[&str]) -> Self {
        self.actions = Some(actions.iter().map(|a| (*a).to_owned()).collect());
        self
    }

    fn matches(&self, direction: Direction, station: &str, action: &str) -> bool {
        self.direction == direction
            && self.stations.as_ref().is_none_or(|filter| filter(station))
            && self
                .actions
                .as_ref()
                .is_none_or(|actions| actions.iter().any(|a| a == action))
    }
}

/// What a relaxed rule let through or not: handed to [`Policy::on_violation`].
#[derive(Debug)]
pub struct Report<'a> {
    /// The charging station the payload came from or goes to.
    pub charging_station_id: &'a str,
    /// The action.
    pub action: &'a str,
    /// Which way the payload travels.
    pub direction: Direction,
    /// The leniency of the rule that applied.
    pub leniency: Leniency,
    /// Every violation, as the validator reports it (unknown members included).
    pub violations: &'a [Violation],
    /// Whether the payload was delivered (to the handler, or to the peer) despite them.
    pub delivered: bool,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = match self.direction {
            Direction::Incoming => "from",
            Direction::Outgoing => "to",
        };
        let outcome = if self.delivered {
            "delivered"
        } else {
            "refused"
        };
        write!(
            f,
            "{} {direction} {}: {outcome} with {} violation(s)",
            self.action,
            self.charging_station_id,
            self.violations.len()
        )?;
        if let Some(first) = self.violations.first() {
            write!(f, ", first {first}")?;
        }
        Ok(())
    }
}

/// What a relaxed rule did with one invalid payload: the leniency that applied, every
/// violation, and whether the payload was delivered. The dispatcher reports it with
/// [`Policy::report_relaxed`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Relaxed {
    pub(crate) leniency: Leniency,
    pub(crate) violations: Vec<Violation>,
    pub(crate) delivered: bool,
}

type Reporter = Arc<dyn Fn(&Report<'_>) + Send + Sync>;

/// The validation policy of a dispatcher: rules, first match wins, and a callback for what
/// they let through. [`Policy::strict`] (the default) has no rules.
#[derive(Clone, Default)]
pub struct Policy {
    rules: Vec<Rule>,
    reporter: Option<Reporter>,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("rules", &self.rules)
            .field(
                "on_violation",
                &self.reporter.as_ref().map(|_| "<callback>"),
            )
            .finish()
    }
}

impl Policy {
    /// Every payload held to its schema.
    pub fn strict() -> Self {
        Policy::default()
    }

    /// Adds a rule; the first rule matching a payload decides its leniency.
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Sets the callback told of every payload a relaxed rule applied to (delivered or not).
    #[must_use]
    pub fn on_violation(mut self, callback: impl Fn(&Report<'_>) + Send + Sync + 'static) -> Self {
        self.reporter = Some(Arc::new(callback));
        self
    }

    /// The leniency for a payload of `action` travelling in `direction` on the connection of
    /// `charging_station_id`.
    pub fn leniency(
        &self,
        direction: Direction,
        charging_station_id: &str,
        action: &str,
    ) -> Leniency {
        self.rules
            .iter()
            .find(|rule| rule.matches(direction, charging_station_id, action))
            .map_or(Leniency::Strict, |rule| rule.leniency)
    }

    /// Whether some rule may relax outgoing payloads (the dispatcher then encodes responses on
    /// the path that can report them).
    pub(crate) fn relaxes_outgoing(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.direction == Direction::Outgoing && r.leniency == Leniency::Report)
    }

    /// Whether some rule may relax incoming payloads.
    pub(crate) fn relaxes_incoming(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.direction == Direction::Incoming && r.leniency != Leniency::Strict)
    }

    pub(crate) fn report(&self, report: &Report<'_>) {
        if let Some(reporter) = &self.reporter {
            reporter(report);
        }
    }

    /// Reports what a relaxed rule did with a payload of `action` from or to
    /// `charging_station_id`.
    pub(crate) fn report_relaxed(
        &self,
        charging_station_id: &str,
        action: &str,
        direction: Direction,
        relaxed: &Relaxed,
    ) {
        self.report(&Report {
            charging_station_id,
            action,
            direction,
            leniency: relaxed.leniency,
            violations: &relaxed.violations,
            delivered: relaxed.delivered,
        });
    }
}

/// Members a payload carried that its schema does not define, taken out so that the rest can
/// be decoded: each with its JSON pointer (RFC 6901) into the payload, in document order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnknownMembers(Vec<(String, Value)>);

impl UnknownMembers {
    /// Takes the members that `violations` report as not defined by the schema out of
    /// `payload`.
    pub(crate) fn take(payload: &mut Value, violations: &[Violation]) -> Self {
        let mut taken = Vec::new();
        for violation in violations {
            if let ViolationKind::Additional { member } = &violation.kind {
                let parent = violation
                    .pointer
                    .rsplit_once('/')
                    .map_or("", |(parent, _)| parent);
                if let Some(Value::Object(members)) = payload.pointer_mut(parent) {
                    if let Some(value) = members.shift_remove(member) {
                        taken.push((violation.pointer.clone(), value));
                    }
                }
            }
        }
        UnknownMembers(taken)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Each member's JSON pointer and value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0
            .iter()
            .map(|(pointer, value)| (pointer.as_str(), value))
    }

    /// Puts the members back into `value` (the payload encoded again, e.g. with
    /// `serde_json::to_value`), each at its pointer, after the members the schema defines: a
    /// re-encoded payload keeps what the peer sent. Returns how many found their place (a
    /// member whose parent object is no longer there is left out).
    pub fn restore(&self, value: &mut Value) -> usize {
        let mut restored = 0;
        for (pointer, member) in &self.0 {
            let Some((parent, name)) = pointer.rsplit_once('/') else {
                continue;
            };
            let name = name.replace("~1", "/").replace("~0", "~");
            if let Some(Value::Object(members)) = value.pointer_mut(parent) {
                members.insert(name, member.clone());
                restored += 1;
            }
        }
        restored
    }

    /// The members as one JSON object per pointer (for logging or storage).
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(pointer, value)| (pointer.clone(), value.clone()))
                .collect::<Map<_, _>>(),
        )
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<UnknownMembers>>> = const { RefCell::new(None) };
}

/// The members the request being handled carried that its schema does not define, when a
/// relaxed rule let them through; `None` otherwise (and outside a handler).
///
/// Set by the dispatcher while it polls the handler's future, like a task-local value: read it
/// from the handler's body, at any point of it. (It is information for the handler; it decides
/// nothing about decoding, which the [`Payload`](crate::Payload) a service receives carries
/// explicitly, together with these members.)
///
/// ```
/// # use ocpp_messages::v2_0_1::provisioning::{self, BootNotificationRequest, BootNotificationResponse, RegistrationStatus};
/// # use ocpp_messages::{CallError, DateTime};
/// struct Csms;
///
/// impl provisioning::CsmsHandler for Csms {
///     async fn on_boot_notification(
///         &self,
///         station: &str,
///         request: BootNotificationRequest,
///     ) -> Result<BootNotificationResponse, CallError> {
///         if let Some(unknown) = ocpp_messages::policy::unknown_members() {
///             println!("{station} also sent {}", unknown.to_json());
///         }
///         Ok(BootNotificationResponse::new(DateTime::now(), 300, RegistrationStatus::Accepted))
///     }
/// }
/// ```
pub fn unknown_members() -> Option<Arc<UnknownMembers>> {
    CURRENT.with(|current| current.borrow().clone())
}

/// Sets what [`unknown_members`] returns until the guard is dropped.
pub(crate) fn enter(unknown: Option<Arc<UnknownMembers>>) -> impl Drop {
    struct Restore(Option<Arc<UnknownMembers>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
    }
    Restore(CURRENT.with(|current| current.replace(unknown)))
}
