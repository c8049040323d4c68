//! The report of a payload's violations: the error code that answers them, and the CALLERROR
//! that names them.

use serde_json::{Map, Value};

use super::Violation;
use crate::spec::{CallError, ErrorCode, OcppVersion, Situation};

impl OcppVersion {
    /// The error code for a list of payload violations: the code of the most fundamental class
    /// present (in the order of [`ViolationClass`](crate::ViolationClass): not an object, structure, type, missing
    /// member, occurrence, value). `None` when the list is empty.
    pub fn error_code_for(self, violations: &[Violation]) -> Option<ErrorCode> {
        violations
            .iter()
            .map(|v| v.kind.class())
            .min()
            .map(|class| self.error_code(Situation::Payload(class)))
    }
}

/// The most violations listed in a CALLERROR's details.
pub const MAX_REPORTED_VIOLATIONS: usize = 16;

impl OcppVersion {
    /// The CALLERROR for a payload's violations (none if the list is empty): the code of the
    /// most fundamental class present, the first violation in the description, and up to
    /// [`MAX_REPORTED_VIOLATIONS`] in the details.
    pub fn violations_error(self, what: &str, violations: &[Violation]) -> Option<CallError> {
        let code = self.error_code_for(violations)?;
        let (description, errors) = violations_report(what, violations);
        Some(CallError::new(code, description).with_detail("errors", errors))
    }
}

/// The description and details of a CALLERROR for `violations` (not empty). The description
/// names the first violation of the class that chose the error code (see
/// [`OcppVersion::error_code_for`]), so it always explains the code.
pub(crate) fn violations_report(what: &str, violations: &[Violation]) -> (String, Vec<Value>) {
    let deciding = violations.iter().map(|v| v.kind.class()).min();
    let first = violations
        .iter()
        .find(|v| Some(v.kind.class()) == deciding)
        .unwrap_or(&violations[0]);
    let more = match violations.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    let errors: Vec<Value> = violations
        .iter()
        .take(MAX_REPORTED_VIOLATIONS)
        .map(|v| {
            let mut m = Map::new();
            m.insert("path".into(), v.pointer.clone().into());
            m.insert("message".into(), v.kind.to_string().into());
            Value::Object(m)
        })
        .collect();
    (format!("{what} violates its schema: {first}{more}"), errors)
}

#[cfg(all(test, feature = "v2_0_1"))]
mod tests {
    use super::*;
    use crate::spec::ErrorCode;
    use crate::validate::ViolationKind;

    #[test]
    fn most_fundamental_class_decides() {
        let v = |kind| Violation {
            pointer: "/a".into(),
            kind,
        };
        let list = [
            v(ViolationKind::Enum),
            v(ViolationKind::MaxItems(1)),
            v(ViolationKind::Required { member: "a" }),
            v(ViolationKind::Type { expected: "string" }),
        ];
        let code = |n: usize| OcppVersion::V2_0_1.error_code_for(&list[..n]);
        assert_eq!(code(0), None);
        assert_eq!(code(1), Some(ErrorCode::PropertyConstraintViolation));
        assert_eq!(code(2), Some(ErrorCode::OccurrenceConstraintViolation));
        assert_eq!(code(3), Some(ErrorCode::OccurrenceConstraintViolation));
        assert_eq!(code(4), Some(ErrorCode::TypeConstraintViolation));
    }
}
