//! Violations: what is wrong where in a payload, and their list.

use std::fmt;

use super::schema::Format;
use crate::spec::ViolationClass;

/// What went wrong at one place in a payload.
#[derive(Debug, Clone, PartialEq)]
pub enum ViolationKind {
    /// The payload itself is not a JSON object.
    PayloadNotObject,
    /// A value has the wrong JSON type (including `null` where the schema has no `null`).
    Type {
        /// The JSON type the schema asks for.
        expected: &'static str,
    },
    /// A required member is missing.
    Required {
        /// The missing member's name.
        member: &'static str,
    },
    /// A member the schema does not define (`additionalProperties: false`).
    Additional {
        /// The unexpected member's name.
        member: String,
    },
    /// A string longer than `maxLength` code points.
    MaxLength {
        /// The limit.
        limit: usize,
        /// The actual length in code points.
        actual: usize,
    },
    /// A string shorter than `minLength` code points.
    MinLength {
        /// The limit.
        limit: usize,
        /// The actual length in code points.
        actual: usize,
    },
    /// A string that is not one of the `enum` values.
    Enum,
    /// A string that does not have the required `format`.
    Format(Format),
    /// A number below `minimum`.
    Minimum(f64),
    /// A number above `maximum`.
    Maximum(f64),
    /// A number that is not a multiple of `multipleOf`.
    MultipleOf(f64),
    /// An array with fewer than `minItems` items.
    MinItems(usize),
    /// An array with more than `maxItems` items.
    MaxItems(usize),
    /// A valid value the Rust type cannot hold (an integer beyond 64 bits).
    Unrepresentable(String),
    /// The payload text is not JSON.
    NotJson(String),
}

impl ViolationKind {
    /// The class of this violation.
    pub fn class(&self) -> ViolationClass {
        match self {
            ViolationKind::PayloadNotObject | ViolationKind::NotJson(_) => ViolationClass::Format,
            ViolationKind::Additional { .. } => ViolationClass::Structure,
            ViolationKind::Type { .. } => ViolationClass::Type,
            ViolationKind::Required { .. } => ViolationClass::Missing,
            ViolationKind::MinItems(_) | ViolationKind::MaxItems(_) => ViolationClass::Occurrence,
            ViolationKind::MaxLength { .. }
            | ViolationKind::MinLength { .. }
            | ViolationKind::Enum
            | ViolationKind::Format(_)
            | ViolationKind::Minimum(_)
            | ViolationKind::Maximum(_)
            | ViolationKind::MultipleOf(_)
            | ViolationKind::Unrepresentable(_) => ViolationClass::Property,
        }
    }
}

/// One violation: where (a JSON pointer into the payload) and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// JSON pointer (RFC 6901) to the offending value; `""` is the payload itself. For a
    /// missing member, the pointer names the member that should be there.
    pub pointer: String,
    /// What is wrong.
    pub kind: ViolationKind,
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViolationKind::PayloadNotObject => f.write_str("payload is not a JSON object"),
            ViolationKind::Type { expected } => write!(f, "expected {expected}"),
            ViolationKind::Required { member } => {
                write!(f, "required member {member:?} is missing")
            }
            ViolationKind::Additional { member } => {
                let shown: String = member.chars().take(64).collect();
                write!(f, "member {shown:?} is not defined by the schema")
            }
            ViolationKind::MaxLength { limit, actual } => {
                write!(
                    f,
                    "string of {actual} characters is longer than maxLength {limit}"
                )
            }
            ViolationKind::MinLength { limit, actual } => {
                write!(
                    f,
                    "string of {actual} characters is shorter than minLength {limit}"
                )
            }
            ViolationKind::Enum => f.write_str("value is not one of the enumerated values"),
            ViolationKind::Format(Format::DateTime) => {
                f.write_str("not an RFC 3339 date-time (e.g. 2024-01-31T13:45:00Z)")
            }
            ViolationKind::Format(Format::Uri) => f.write_str("not an absolute URI"),
            ViolationKind::Minimum(m) => write!(f, "value is less than minimum {m}"),
            ViolationKind::Maximum(m) => write!(f, "value is greater than maximum {m}"),
            ViolationKind::MultipleOf(m) => write!(f, "value is not a multiple of {m}"),
            ViolationKind::MinItems(n) => write!(f, "array has fewer than minItems {n} items"),
            ViolationKind::MaxItems(n) => write!(f, "array has more than maxItems {n} items"),
            ViolationKind::Unrepresentable(e) => write!(f, "cannot be represented: {e}"),
            ViolationKind::NotJson(e) => write!(f, "payload is not JSON: {e}"),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.kind)
    }
}

/// Every violation of a payload or of a value built in Rust against its schema (never
/// empty): the error of [`crate::Message::from_json_str`], of each generated type's
/// `validate()` and of `rpc::call_frame` (inside `rpc::SendError`). It derefs to the slice of
/// [`Violation`]s, in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// `Err` with the violations, if there are any.
    pub fn check(violations: Vec<Violation>) -> Result<(), Violations> {
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Violations(violations))
        }
    }

    /// One violation.
    pub(crate) fn one(violation: Violation) -> Self {
        Violations(vec![violation])
    }

    /// A value the schema may accept but that cannot be decoded or encoded (`reason` says
    /// why), as one violation at the root.
    pub(crate) fn unrepresentable(reason: impl Into<String>) -> Self {
        Violations::one(Violation {
            pointer: String::new(),
            kind: ViolationKind::Unrepresentable(reason.into()),
        })
    }

    /// The violations as a vector.
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }
}

impl std::ops::Deref for Violations {
    type Target = [Violation];
    fn deref(&self) -> &[Violation] {
        &self.0
    }
}

impl IntoIterator for Violations {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => f.write_str("no violation"),
            [only] => write!(f, "{only}"),
            [first, rest @ ..] => write!(f, "{first} (and {} more)", rest.len()),
        }
    }
}

impl std::error::Error for Violations {}
