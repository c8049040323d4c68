//! Validation of JSON payloads against the OCPP schemas, exactly as the schemas say.
//!
//! `cargo xtask codegen` translates every schema definition into a static [`Schema`] tree
//! (see [`HasSchema`]); [`validate`] walks a payload against it and reports every violation
//! with a JSON pointer. The keywords covered are the ones the OCPP schemas use: `type`,
//! `properties`, `required`, `additionalProperties`, `enum`, `maxLength`/`minLength` (counted in
//! Unicode code points), `format: date-time` (RFC 3339), `format: uri`, `items`,
//! `minItems`/`maxItems`, `minimum`/`maximum` and `multipleOf`. The generator refuses a schema
//! with any other keyword, so a constraint is never silently ignored.

mod report;
mod schema;
mod violation;
mod walk;

pub use crate::spec::ViolationClass;
pub(crate) use report::violations_report;
pub use report::MAX_REPORTED_VIOLATIONS;
pub use schema::{
    ArraySchema, Format, HasSchema, NumberRange, ObjectSchema, Property, Schema, StringSchema,
};
pub use violation::{Violation, ViolationKind, Violations};
pub use walk::{is_valid, validate};
