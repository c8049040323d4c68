//! `cargo xtask schema-diff <old> <new>`: what changed between two versions' schemas.
//!
//! Both folders are merged with [`SchemaSet::load`] (every definition once), then compared
//! definition by definition and action by action, ignoring documentation (`description`,
//! `javaType`) and the order of object members and of `required`: the same things
//! `SchemaSet` ignores when it merges files, except that `required` order is ignored here too.
//! The order of `enum` values is compared (it is the order of the generated Rust variants),
//! and reported on its own line when it is the only change.
//!
//! The report is plain text in markdown form, sorted by name, the same bytes on every run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value};

use crate::schema_set::{ref_name, SchemaSet};
use crate::Result;

/// Runs the subcommand: diffs `schemas/<old>` against `schemas/<new>` and prints the report.
pub fn run(root: &Path, old: &str, new: &str) -> Result<()> {
    let old_set = load(root, old)?;
    let new_set = load(root, new)?;
    let report = diff(&old_set, &new_set);
    print!("{}", report.render(old, new));
    Ok(())
}

/// `2.0.1` -> `schemas/v2_0_1`, loaded.
fn load(root: &Path, version: &str) -> Result<SchemaSet> {
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "{version:?} is not a version number such as 2.0.1 or 2.1"
        ));
    }
    let module = format!("v{}", version.replace('.', "_"));
    let dir = root.join("schemas").join(&module);
    // 1.6's inline enums and objects are named by its manifest's `[inline]` table.
    let manifest = root.join("schemas").join(format!("{module}.toml"));
    let inline = if manifest.exists() {
        crate::manifest::Manifest::load(&manifest)?.inline
    } else {
        Default::default()
    };
    let table = format!("[inline] table of schemas/{module}.toml");
    SchemaSet::load(&dir, &inline, &table)
}

/// What kind of difference a [`Change`] is; the summary counts each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// An object gained a member.
    MemberAdded,
    /// An object lost a member.
    MemberRemoved,
    /// A member became required or optional.
    Required,
    /// The JSON type changed (`integer` -> `number`), or a `$ref` became an inline type or
    /// the other way round.
    Type,
    /// A `$ref` points at another definition (a renamed or replaced type).
    Ref,
    /// A constraint keyword was added, removed or changed (`maxLength`, `minimum`, ...).
    Constraint,
    /// `enum` values added or removed.
    EnumValues,
    /// The same `enum` values in another order.
    EnumOrder,
    /// Any other keyword (`additionalProperties`, `default`, `format`, unknown ones).
    Other,
}

impl Kind {
    const ALL: [Kind; 9] = [
        Kind::MemberAdded,
        Kind::MemberRemoved,
        Kind::Required,
        Kind::Type,
        Kind::Ref,
        Kind::Constraint,
        Kind::EnumValues,
        Kind::EnumOrder,
        Kind::Other,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::MemberAdded => "members added",
            Kind::MemberRemoved => "members removed",
            Kind::Required => "required-ness changes",
            Kind::Type => "type changes",
            Kind::Ref => "$ref target changes",
            Kind::Constraint => "constraint changes",
            Kind::EnumValues => "enum value changes",
            Kind::EnumOrder => "enum order changes",
            Kind::Other => "other keyword changes",
        }
    }
}

/// One difference inside one schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Where: member names joined by `.`, `[]` for array items; empty for the schema itself.
    pub path: String,
    /// What kind of change.
    pub kind: Kind,
    /// The change in words, e.g. `type integer -> number`.
    pub text: String,
}

/// An action's schemas: `Request` and `Response`, or `Send` alone for an action with a
/// single schema file and no response (OCPP 2.1's `NotifyPeriodicEventStream`).
type ActionSchemas<'a> = BTreeMap<&'static str, &'a Value>;

/// The differences between two versions.
#[derive(Debug, Default)]
pub struct Report {
    /// Number of definitions in the old and the new version.
    pub definition_counts: (usize, usize),
    /// Definitions only in the old version.
    pub definitions_removed: Vec<String>,
    /// Definitions only in the new version, with a short description of each.
    pub definitions_added: Vec<(String, String)>,
    /// Shared definitions that differ, with their changes.
    pub definitions_changed: BTreeMap<String, Vec<Change>>,
    /// Number of shared definitions.
    pub definitions_shared: usize,
    /// Number of actions in the old and the new version.
    pub action_counts: (usize, usize),
    /// Actions only in the old version, with their schema kinds.
    pub actions_removed: Vec<(String, Vec<&'static str>)>,
    /// Actions only in the new version, with their schema kinds.
    pub actions_added: Vec<(String, Vec<&'static str>)>,
    /// Shared actions that differ.
    pub actions_changed: BTreeMap<String, ActionChange>,
    /// Number of shared actions.
    pub actions_shared: usize,
}

/// How one shared action differs.
#[derive(Debug, Default)]
pub struct ActionChange {
    /// Per schema kind (`Request`, `Response`, `Send`): changes of the root schema itself.
    pub roots: BTreeMap<&'static str, Vec<Change>>,
    /// Schema kinds present in only one version, e.g. a response dropped: (kind, added?).
    pub kinds: Vec<(&'static str, bool)>,
    /// Changed shared definitions the new schemas reach.
    pub changed_definitions: BTreeSet<String>,
    /// Definitions the new schemas reach that the old version does not have.
    pub new_definitions: BTreeSet<String>,
}

/// Compares two schema sets.
pub fn diff(old: &SchemaSet, new: &SchemaSet) -> Report {
    let mut report = Report {
        definition_counts: (old.definitions.len(), new.definitions.len()),
        ..Report::default()
    };
    for (name, def) in &old.definitions {
        match new.definitions.get(name) {
            None => report.definitions_removed.push(name.clone()),
            Some(new_def) => {
                report.definitions_shared += 1;
                let changes = diff_schema(def, new_def);
                if !changes.is_empty() {
                    report.definitions_changed.insert(name.clone(), changes);
                }
            }
        }
    }
    for (name, def) in &new.definitions {
        if !old.definitions.contains_key(name) {
            report.definitions_added.push((name.clone(), describe(def)));
        }
    }

    let old_actions = actions(old);
    let new_actions = actions(new);
    report.action_counts = (old_actions.len(), new_actions.len());
    for (action, schemas) in &old_actions {
        if !new_actions.contains_key(action) {
            let kinds = schemas.keys().copied().collect();
            report.actions_removed.push((action.clone(), kinds));
        }
    }
    for (action, new_schemas) in &new_actions {
        let Some(old_schemas) = old_actions.get(action) else {
            let kinds = new_schemas.keys().copied().collect();
            report.actions_added.push((action.clone(), kinds));
            continue;
        };
        report.actions_shared += 1;
        let mut change = ActionChange::default();
        for (kind, new_root) in new_schemas {
            match old_schemas.get(kind) {
                Some(old_root) => {
                    let changes = diff_schema(old_root, new_root);
                    if !changes.is_empty() {
                        change.roots.insert(kind, changes);
                    }
                }
                None => change.kinds.push((kind, true)),
            }
            // A reference to an undefined name cannot happen in a set that loaded; if it did,
            // the action simply lists fewer definitions.
            for name in new.reachable(new_root).unwrap_or_default() {
                if report.definitions_changed.contains_key(&name) {
                    change.changed_definitions.insert(name);
                } else if !old.definitions.contains_key(&name) {
                    change.new_definitions.insert(name);
                }
            }
        }
        for kind in old_schemas.keys() {
            if !new_schemas.contains_key(kind) {
                change.kinds.push((kind, false));
            }
        }
        if !change.roots.is_empty()
            || !change.kinds.is_empty()
            || !change.changed_definitions.is_empty()
            || !change.new_definitions.is_empty()
        {
            report.actions_changed.insert(action.clone(), change);
        }
    }
    report
}

/// The actions of a set, by file name: `FooRequest.json` + `FooResponse.json` make action
/// `Foo` (1.6: `Foo.json` + `FooResponse.json`); a file with neither suffix and no response
/// is a SEND-only action of its own name.
fn actions(set: &SchemaSet) -> BTreeMap<String, ActionSchemas<'_>> {
    let mut out: BTreeMap<String, ActionSchemas<'_>> = BTreeMap::new();
    for message in set.messages.values() {
        let stem = message.file.trim_end_matches(".json");
        let (action, kind) = if let Some(action) = stem.strip_suffix("Request") {
            (action, "Request")
        } else if let Some(action) = stem.strip_suffix("Response") {
            (action, "Response")
        } else if set.messages.contains_key(&format!("{stem}Response")) {
            (stem, "Request")
        } else {
            (stem, "Send")
        };
        out.entry(action.to_owned())
            .or_default()
            .insert(kind, &message.root);
    }
    out
}

/// Keywords that only document.
const ANNOTATIONS: [&str; 2] = ["description", "javaType"];

/// Keywords counted as constraints.
const CONSTRAINTS: [&str; 10] = [
    "maxLength",
    "minLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "pattern",
];

/// Every difference between two schemas, in a stable order.
pub fn diff_schema(old: &Value, new: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    diff_node("", old, new, &mut out);
    out
}

fn push(out: &mut Vec<Change>, path: &str, kind: Kind, text: String) {
    out.push(Change {
        path: path.to_owned(),
        kind,
        text,
    });
}

fn diff_node(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    let (Value::Object(old), Value::Object(new)) = (old, new) else {
        if !same(old, new) {
            push(
                out,
                path,
                Kind::Other,
                format!("schema {} -> {}", compact(old), compact(new)),
            );
        }
        return;
    };

    // The shape: a reference or a JSON type.
    let (old_ref, new_ref) = (reference(old), reference(new));
    match (old_ref, new_ref) {
        (Some(a), Some(b)) if a != b => {
            push(out, path, Kind::Ref, format!("$ref {a} -> {b}"));
        }
        (Some(_), None) | (None, Some(_)) => push(
            out,
            path,
            Kind::Type,
            format!("type {} -> {}", shape(old), shape(new)),
        ),
        _ => {
            if !same_opt(old.get("type"), new.get("type")) {
                push(
                    out,
                    path,
                    Kind::Type,
                    format!("type {} -> {}", shape(old), shape(new)),
                );
            }
        }
    }

    // The node's own keywords first, then what is nested in it (items, then members).
    let mut keys: Vec<&str> = old
        .keys()
        .chain(new.keys())
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    keys.sort_by_key(|k| (*k == "items" || *k == "properties", *k));
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        let unchanged = match (key, a, b) {
            ("properties", Some(a), Some(b)) => same_members(a, b),
            _ => same_opt(a, b),
        };
        if ANNOTATIONS.contains(&key) || unchanged {
            continue;
        }
        match key {
            "$ref" | "type" | "required" => {} // above, and with `properties`
            "properties" => diff_members(path, old, new, out),
            "items" => match (a, b) {
                (Some(a), Some(b)) => diff_node(&format!("{path}[]"), a, b, out),
                _ => push(out, path, Kind::Other, keyword_change(key, a, b)),
            },
            "enum" => diff_enum(path, a, b, out),
            _ if CONSTRAINTS.contains(&key) => {
                push(out, path, Kind::Constraint, keyword_change(key, a, b));
            }
            _ => push(out, path, Kind::Other, keyword_change(key, a, b)),
        }
    }
    // `required` without `properties` changing: required-ness of existing members.
    let members_unchanged = match (old.get("properties"), new.get("properties")) {
        (Some(a), Some(b)) => same_members(a, b),
        (a, b) => a.is_none() && b.is_none(),
    };
    if members_unchanged {
        diff_required_only(path, old, new, out);
    }
}

/// Members added and removed, required-ness changes, and the changes inside shared members.
fn diff_members(
    path: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    out: &mut Vec<Change>,
) {
    let empty = Map::new();
    let old_props = old
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let new_props = new
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let (old_req, new_req) = (required(old), required(new));
    let names: BTreeSet<&String> = old_props.keys().chain(new_props.keys()).collect();
    for name in names {
        let member = join(path, name);
        match (old_props.get(name), new_props.get(name)) {
            (Some(_), None) => push(
                out,
                &member,
                Kind::MemberRemoved,
                format!(
                    "removed ({}, {})",
                    occurrence(&old_req, name),
                    shape_of(&old_props[name])
                ),
            ),
            (None, Some(schema)) => push(
                out,
                &member,
                Kind::MemberAdded,
                format!(
                    "added ({}, {})",
                    occurrence(&new_req, name),
                    describe(schema)
                ),
            ),
            (Some(a), Some(b)) => {
                if old_req.contains(name.as_str()) != new_req.contains(name.as_str()) {
                    push(
                        out,
                        &member,
                        Kind::Required,
                        format!(
                            "{} -> {}",
                            occurrence(&old_req, name),
                            occurrence(&new_req, name)
                        ),
                    );
                }
                diff_node(&member, a, b, out);
            }
            (None, None) => {}
        }
    }
}

/// Required-ness changes when the member lists are equal (so `diff_members` did not run).
fn diff_required_only(
    path: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    out: &mut Vec<Change>,
) {
    let (old_req, new_req) = (required(old), required(new));
    for name in old_req.symmetric_difference(&new_req) {
        push(
            out,
            &join(path, name),
            Kind::Required,
            format!(
                "{} -> {}",
                occurrence(&old_req, name),
                occurrence(&new_req, name)
            ),
        );
    }
}

fn diff_enum(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<Change>) {
    let values = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|items| items.iter().map(compact).collect())
            .unwrap_or_default()
    };
    let (a, b) = (values(old), values(new));
    let added: Vec<&String> = b.iter().filter(|v| !a.contains(v)).collect();
    let removed: Vec<&String> = a.iter().filter(|v| !b.contains(v)).collect();
    if !added.is_empty() {
        push(
            out,
            path,
            Kind::EnumValues,
            format!("enum values added: {}", list(&added)),
        );
    }
    if !removed.is_empty() {
        push(
            out,
            path,
            Kind::EnumValues,
            format!("enum values removed: {}", list(&removed)),
        );
    }
    if added.is_empty() && removed.is_empty() {
        push(
            out,
            path,
            Kind::EnumOrder,
            format!("enum values reordered: {} -> {}", list(&a), list(&b)),
        );
    }
}

fn list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn required(schema: &Map<String, Value>) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn occurrence(required: &BTreeSet<&str>, name: &str) -> &'static str {
    if required.contains(name) {
        "required"
    } else {
        "optional"
    }
}

fn reference(schema: &Map<String, Value>) -> Option<&str> {
    let r = schema.get("$ref")?.as_str()?;
    Some(ref_name(r).unwrap_or(r))
}

/// `integer`, `array of FooType`, `FooType`...
fn shape_of(schema: &Value) -> String {
    match schema {
        Value::Object(map) => shape(map),
        other => compact(other),
    }
}

fn shape(schema: &Map<String, Value>) -> String {
    if let Some(r) = reference(schema) {
        return r.to_owned();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => match schema.get("items") {
            Some(items) => format!("array of {}", shape_of(items)),
            None => "array".to_owned(),
        },
        Some("string") if schema.contains_key("enum") => "string enum".to_owned(),
        Some("string") => match schema.get("format").and_then(Value::as_str) {
            Some(format) => format!("{format} string"),
            None => "string".to_owned(),
        },
        Some(t) => t.to_owned(),
        None => match schema.get("type") {
            Some(t) => compact(t),
            None => "any".to_owned(),
        },
    }
}

/// The shape plus its constraints and, for objects and enums, their size:
/// `number, minimum 0`, `object, 3 members`, `string enum, 4 values`.
fn describe(schema: &Value) -> String {
    let Value::Object(map) = schema else {
        return compact(schema);
    };
    let mut text = shape(map);
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        let _ = write!(text, ", {} members", props.len());
    }
    if let Some(values) = map.get("enum").and_then(Value::as_array) {
        let _ = write!(text, ", {} values", values.len());
    }
    for key in CONSTRAINTS {
        if let Some(v) = map.get(key) {
            let _ = write!(text, ", {key} {}", compact(v));
        }
    }
    text
}

fn keyword_change(key: &str, old: Option<&Value>, new: Option<&Value>) -> String {
    match (old, new) {
        (Some(a), Some(b)) => format!("{key} {} -> {}", compact(a), compact(b)),
        (None, Some(b)) => format!("{key} {} added", compact(b)),
        (Some(a), None) => format!("{key} {} removed", compact(a)),
        (None, None) => format!("{key} unchanged"),
    }
}

/// JSON text with numbers written by value (`0.0` and `0` both as `0`).
fn compact(value: &Value) -> String {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn same_opt(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Structural equality without annotations, with numbers compared by value and `required`
/// compared as a set.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x.as_f64().is_some() && x.as_f64() == y.as_f64())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys = |m: &Map<String, Value>| -> BTreeSet<String> {
                m.keys()
                    .filter(|k| !ANNOTATIONS.contains(&k.as_str()))
                    .cloned()
                    .collect()
            };
            keys(x) == keys(y)
                && keys(x).iter().all(|k| {
                    if k == "required" {
                        required(x) == required(y)
                    } else if k == "properties" {
                        same_members(&x[k], &y[k])
                    } else {
                        same(&x[k], &y[k])
                    }
                })
        }
        _ => a == b,
    }
}

/// `properties` maps member names (data, never annotations) to schemas.
fn same_members(a: &Value, b: &Value) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(x), Some(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => same(a, b),
    }
}

impl Report {
    /// Counts of every change kind over definitions and action roots.
    fn kind_counts(&self) -> BTreeMap<Kind, usize> {
        let mut counts = BTreeMap::new();
        let all = self
            .definitions_changed
            .values()
            .chain(self.actions_changed.values().flat_map(|a| a.roots.values()));
        for change in all.flatten() {
            *counts.entry(change.kind).or_insert(0) += 1;
        }
        counts
    }

    /// Shared definitions whose only changes are the order of enum values.
    pub fn enum_order_only(&self) -> usize {
        self.definitions_changed
            .values()
            .filter(|changes| changes.iter().all(|c| c.kind == Kind::EnumOrder))
            .count()
    }

    /// `$ref` target changes, old target -> new target -> number of places.
    pub fn ref_changes(&self) -> BTreeMap<(String, String), usize> {
        let mut out = BTreeMap::new();
        let all = self
            .definitions_changed
            .values()
            .chain(self.actions_changed.values().flat_map(|a| a.roots.values()));
        for change in all.flatten().filter(|c| c.kind == Kind::Ref) {
            if let Some((a, b)) = change.text.trim_start_matches("$ref ").split_once(" -> ") {
                *out.entry((a.to_owned(), b.to_owned())).or_insert(0) += 1;
            }
        }
        out
    }

    /// The report as text.
    pub fn render(&self, old: &str, new: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Schema diff: OCPP {old} -> {new}\n");
        let _ = writeln!(
            s,
            "Structure only: `description` and `javaType`, member order and `required` order are ignored."
        );
        let _ = writeln!(s, "\n## Summary\n");
        let (d_old, d_new) = self.definition_counts;
        let _ = writeln!(
            s,
            "- definitions: {d_old} -> {d_new}: {} shared, {} changed ({} only in enum value order), {} added, {} removed",
            self.definitions_shared,
            self.definitions_changed.len(),
            self.enum_order_only(),
            self.definitions_added.len(),
            self.definitions_removed.len(),
        );
        let (a_old, a_new) = self.action_counts;
        let root_changed = self
            .actions_changed
            .values()
            .filter(|a| !a.roots.is_empty() || !a.kinds.is_empty())
            .count();
        let _ = writeln!(
            s,
            "- actions: {a_old} -> {a_new}: {} shared, {} changed ({root_changed} in their own schemas, {} only through definitions), {} added, {} removed",
            self.actions_shared,
            self.actions_changed.len(),
            self.actions_changed.len() - root_changed,
            self.actions_added.len(),
            self.actions_removed.len(),
        );
        let counts = self.kind_counts();
        let kinds: Vec<String> = Kind::ALL
            .iter()
            .filter_map(|k| counts.get(k).map(|n| format!("{n} {}", k.label())))
            .collect();
        if !kinds.is_empty() {
            let _ = writeln!(s, "- changes: {}", kinds.join(", "));
        }
        let refs = self.ref_changes();
        if !refs.is_empty() {
            let renames: Vec<String> = refs
                .iter()
                .map(|((a, b), n)| format!("{a} -> {b} ({n}x)"))
                .collect();
            let _ = writeln!(s, "- $ref targets replaced: {}", renames.join(", "));
        }

        if !self.definitions_removed.is_empty() {
            let _ = writeln!(
                s,
                "\n## Definitions removed ({})\n",
                self.definitions_removed.len()
            );
            for name in &self.definitions_removed {
                let _ = writeln!(s, "- `{name}`");
            }
        }
        if !self.definitions_added.is_empty() {
            let _ = writeln!(
                s,
                "\n## Definitions added ({})\n",
                self.definitions_added.len()
            );
            for (name, what) in &self.definitions_added {
                let _ = writeln!(s, "- `{name}`: {what}");
            }
        }
        if !self.definitions_changed.is_empty() {
            let _ = writeln!(
                s,
                "\n## Definitions changed ({})",
                self.definitions_changed.len()
            );
            for (name, changes) in &self.definitions_changed {
                let _ = writeln!(s, "\n### `{name}`\n");
                render_changes(&mut s, "", changes);
            }
        }
        if !self.actions_removed.is_empty() {
            let _ = writeln!(s, "\n## Actions removed ({})\n", self.actions_removed.len());
            for (name, kinds) in &self.actions_removed {
                let _ = writeln!(s, "- `{name}` ({})", kinds_text(kinds));
            }
        }
        if !self.actions_added.is_empty() {
            let _ = writeln!(s, "\n## Actions added ({})\n", self.actions_added.len());
            for (name, kinds) in &self.actions_added {
                let _ = writeln!(s, "- `{name}` ({})", kinds_text(kinds));
            }
        }
        if !self.actions_changed.is_empty() {
            let _ = writeln!(s, "\n## Actions changed ({})", self.actions_changed.len());
            for (name, change) in &self.actions_changed {
                let _ = writeln!(s, "\n### `{name}`\n");
                for (kind, added) in &change.kinds {
                    let verb = if *added { "added" } else { "removed" };
                    let _ = writeln!(s, "- {kind} schema {verb}");
                }
                for (kind, changes) in &change.roots {
                    render_changes(&mut s, &format!("{kind} "), changes);
                }
                if !change.changed_definitions.is_empty() {
                    let names: Vec<String> = change
                        .changed_definitions
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect();
                    let _ = writeln!(s, "- uses changed definitions: {}", names.join(", "));
                }
                if !change.new_definitions.is_empty() {
                    let names: Vec<String> = change
                        .new_definitions
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect();
                    let _ = writeln!(s, "- uses new definitions: {}", names.join(", "));
                }
            }
        }
        s
    }
}

fn kinds_text(kinds: &[&str]) -> &'static str {
    match kinds {
        ["Request", "Response"] => "request and response",
        ["Send"] => "SEND: one schema, no response",
        ["Request"] => "request only",
        ["Response"] => "response only",
        _ => "unusual schema set",
    }
}

fn render_changes(s: &mut String, prefix: &str, changes: &[Change]) {
    for change in changes {
        if change.path.is_empty() {
            let _ = writeln!(s, "- {prefix}{}", change.text);
        } else {
            let _ = writeln!(s, "- {prefix}`{}`: {}", change.path, change.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use serde_json::{json, Value};

    use super::{diff, diff_schema, Kind};
    use crate::schema_set::SchemaSet;

    fn texts(old: Value, new: Value) -> Vec<String> {
        diff_schema(&old, &new)
            .into_iter()
            .map(|c| {
                if c.path.is_empty() {
                    c.text
                } else {
                    format!("{}: {}", c.path, c.text)
                }
            })
            .collect()
    }

    #[test]
    fn documentation_number_spelling_and_required_order_are_not_changes() {
        let old = json!({
            "type": "object", "description": "old", "javaType": "A",
            "properties": {
                "a": {"type": "integer", "minimum": 0.0, "description": "x"},
                "b": {"type": "string"}
            },
            "required": ["a", "b"]
        });
        let new = json!({
            "type": "object", "description": "new",
            "properties": {
                "b": {"type": "string", "description": "y"},
                "a": {"type": "integer", "minimum": 0}
            },
            "required": ["b", "a"]
        });
        assert_eq!(texts(old, new), Vec::<String>::new());
    }

    #[test]
    fn member_changes() {
        let old = json!({
            "type": "object",
            "properties": {
                "gone": {"type": "boolean"},
                "limit": {"type": "integer"},
                "name": {"type": "string", "maxLength": 20},
                "kind": {"$ref": "#/definitions/OldEnumType"},
                "ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1}
            },
            "required": ["limit", "gone"]
        });
        let new = json!({
            "type": "object",
            "properties": {
                "limit": {"type": "number", "minimum": 0},
                "name": {"type": "string", "maxLength": 36},
                "kind": {"$ref": "#/definitions/NewEnumType"},
                "ids": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1, "maxItems": 4},
                "extra": {"type": "string", "maxLength": 8}
            },
            "required": ["name", "extra"]
        });
        assert_eq!(
            texts(old, new),
            [
                "extra: added (required, string, maxLength 8)",
                "gone: removed (required, boolean)",
                "ids: maxItems 4 added",
                "ids[]: minimum 0 added",
                "kind: $ref OldEnumType -> NewEnumType",
                "limit: required -> optional",
                "limit: type integer -> number",
                "limit: minimum 0 added",
                "name: optional -> required",
                "name: maxLength 20 -> 36",
            ]
        );
    }

    #[test]
    fn required_only_and_ref_to_inline() {
        let old = json!({"type": "object", "properties": {"a": {"$ref": "#/definitions/AType"}}});
        let new = json!({"type": "object", "properties": {"a": {"$ref": "#/definitions/AType"}}, "required": ["a"]});
        assert_eq!(texts(old, new), ["a: optional -> required"]);

        let old =
            json!({"type": "object", "properties": {"a": {"$ref": "#/definitions/AEnumType"}}});
        let new =
            json!({"type": "object", "properties": {"a": {"type": "string", "maxLength": 20}}});
        assert_eq!(
            texts(old, new),
            ["a: type AEnumType -> string", "a: maxLength 20 added"]
        );
    }

    #[test]
    fn enum_values_and_order() {
        let old = json!({"type": "string", "enum": ["A", "B", "C"]});
        let new = json!({"type": "string", "enum": ["A", "C", "D"]});
        assert_eq!(
            texts(old, new),
            ["enum values added: D", "enum values removed: B"]
        );
        let old = json!({"type": "string", "enum": ["JSON", "SOAP"]});
        let new = json!({"type": "string", "enum": ["SOAP", "JSON"]});
        let changes = diff_schema(&old, &new);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, Kind::EnumOrder);
        assert_eq!(
            changes[0].text,
            "enum values reordered: JSON, SOAP -> SOAP, JSON"
        );
    }

    #[test]
    fn unknown_keywords_are_reported() {
        let old = json!({"type": "number"});
        let new = json!({"type": "number", "exclusiveMinimum": 0, "oneOf": [{"const": 1}]});
        assert_eq!(
            texts(old, new),
            ["exclusiveMinimum 0 added", "oneOf [{\"const\":1}] added"]
        );
    }

    /// Writes `files` into a fresh folder and loads it.
    fn set(name: &str, files: &[(&str, Value)]) -> SchemaSet {
        let dir: PathBuf =
            std::env::temp_dir().join(format!("xtask-schema-diff-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, schema) in files {
            std::fs::write(dir.join(file), schema.to_string()).unwrap();
        }
        let set = SchemaSet::load(&dir, &Default::default(), "").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        set
    }

    fn message(definitions: Value, properties: Value) -> Value {
        json!({
            "$schema": "http://json-schema.org/draft-06/schema#",
            "definitions": definitions,
            "type": "object",
            "additionalProperties": false,
            "properties": properties
        })
    }

    #[test]
    fn sets_actions_and_definitions() {
        let status_old = json!({"StatusInfoType": {"type": "object", "properties": {"reasonCode": {"type": "string", "maxLength": 20}}}});
        let status_new = json!({"StatusInfoType": {"type": "object", "properties": {"reasonCode": {"type": "string", "maxLength": 20}, "additionalInfo": {"type": "string"}}}});
        let old = set(
            "old",
            &[
                ("PingRequest.json", message(json!({}), json!({}))),
                (
                    "PingResponse.json",
                    message(
                        status_old.clone(),
                        json!({"statusInfo": {"$ref": "#/definitions/StatusInfoType"}}),
                    ),
                ),
                (
                    "GoneRequest.json",
                    message(
                        json!({"OldType": {"type": "object"}}),
                        json!({"x": {"$ref": "#/definitions/OldType"}}),
                    ),
                ),
                ("GoneResponse.json", message(json!({}), json!({}))),
            ],
        );
        let new = set(
            "new",
            &[
                (
                    "PingRequest.json",
                    message(json!({}), json!({"n": {"type": "integer"}})),
                ),
                (
                    "PingResponse.json",
                    message(
                        status_new,
                        json!({"statusInfo": {"$ref": "#/definitions/StatusInfoType"}}),
                    ),
                ),
                (
                    "Stream.json",
                    message(
                        json!({"DataType": {"type": "object"}}),
                        json!({"d": {"$ref": "#/definitions/DataType"}}),
                    ),
                ),
            ],
        );
        let report = diff(&old, &new);
        assert_eq!(report.definition_counts, (2, 2));
        assert_eq!(report.definitions_removed, ["OldType"]);
        assert_eq!(report.definitions_added.len(), 1);
        assert_eq!(report.definitions_added[0].0, "DataType");
        assert_eq!(report.definitions_changed.len(), 1);
        assert_eq!(
            report.actions_removed,
            [("Gone".to_owned(), vec!["Request", "Response"])]
        );
        assert_eq!(report.actions_added, [("Stream".to_owned(), vec!["Send"])]);
        let ping = &report.actions_changed["Ping"];
        assert_eq!(ping.roots["Request"][0].text, "added (optional, integer)");
        assert!(!ping.roots.contains_key("Response"));
        assert_eq!(
            ping.changed_definitions,
            BTreeSet::from(["StatusInfoType".to_owned()])
        );

        let text = report.render("1", "2");
        assert_eq!(text, report.render("1", "2"));
        for line in [
            "- definitions: 2 -> 2: 1 shared, 1 changed (0 only in enum value order), 1 added, 1 removed",
            "- actions: 2 -> 2: 1 shared, 1 changed (1 in their own schemas, 0 only through definitions), 1 added, 1 removed",
            "- changes: 2 members added",
            "- `Stream` (SEND: one schema, no response)",
            "- `Gone` (request and response)",
            "### `StatusInfoType`\n\n- `additionalInfo`: added (optional, string)\n",
            "### `Ping`\n\n- Request `n`: added (optional, integer)\n- uses changed definitions: `StatusInfoType`\n",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    }

    /// Definition names whose schemas differ once `description` and `javaType` are dropped,
    /// counted without the diff's own comparison.
    fn independently_changed(old: &SchemaSet, new: &SchemaSet) -> usize {
        fn strip(v: &Value) -> Value {
            match v {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .filter(|(k, _)| *k != "description" && *k != "javaType")
                        .map(|(k, v)| {
                            let v = match (k.as_str(), v) {
                                ("properties", Value::Object(p)) => Value::Object(
                                    p.iter().map(|(n, s)| (n.clone(), strip(s))).collect(),
                                ),
                                _ => strip(v),
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                ),
                Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
                other => other.clone(),
            }
        }
        old.definitions
            .iter()
            .filter(|(name, def)| {
                new.definitions
                    .get(*name)
                    .is_some_and(|other| strip(def) != strip(other))
            })
            .count()
    }

    /// Facts about 2.0.1 -> 2.1 checked by hand against the schema files.
    #[test]
    fn real_2_0_1_to_2_1() {
        let root = crate::project_root();
        let load = |v: &str| {
            SchemaSet::load(
                &Path::new(&root).join("schemas").join(v),
                &Default::default(),
                "",
            )
            .unwrap()
        };
        let (old, new) = (load("v2_0_1"), load("v2_1"));
        let report = diff(&old, &new);
        assert_eq!(report.definitions_shared, 140);
        assert_eq!(report.definitions_changed.len(), 58);
        assert_eq!(independently_changed(&old, &new), 58);
        assert_eq!(report.enum_order_only(), 3);
        assert_eq!(report.definitions_added.len(), 92);
        assert_eq!(
            report.definitions_removed,
            [
                "ChargingLimitSourceEnumType",
                "ConnectorEnumType",
                "IdTokenEnumType"
            ]
        );
        assert_eq!(report.action_counts, (64, 91));
        assert_eq!(report.actions_added.len(), 27);
        assert!(report.actions_removed.is_empty());
        assert!(report
            .actions_added
            .contains(&("NotifyPeriodicEventStream".to_owned(), vec!["Send"])));
        assert!(report.ref_changes().is_empty(), "no $ref is retargeted");

        let has = |def: &str, path: &str, text: &str| {
            let changes = &report.definitions_changed[def];
            assert!(
                changes.iter().any(|c| c.path == path && c.text == text),
                "{def}.{path}: {text:?} not in {changes:?}"
            );
        };
        has(
            "ACChargingParametersType",
            "evMinCurrent",
            "type integer -> number",
        );
        has("IdTokenType", "idToken", "maxLength 36 -> 255");
        has("IdTokenType", "type", "type IdTokenEnumType -> string");
        has(
            "ChargingSchedulePeriodType",
            "limit",
            "required -> optional",
        );
        has(
            "ChargingSchedulePeriodType",
            "dischargeLimit",
            "added (optional, number, maximum 0)",
        );
        has("EVSEType", "id", "minimum 0 added");
        has(
            "OCPPVersionEnumType",
            "",
            "enum values added: OCPP201, OCPP21",
        );
        has(
            "VariableMonitoringType",
            "eventNotificationType",
            "added (required, EventNotificationEnumType)",
        );
        has(
            "OCPPTransportEnumType",
            "",
            "enum values reordered: JSON, SOAP -> SOAP, JSON",
        );

        let reserve = &report.actions_changed["ReserveNow"];
        assert!(reserve.roots["Request"]
            .iter()
            .any(|c| c.path == "connectorType" && c.text == "type ConnectorEnumType -> string"));
        assert!(!report.actions_changed.contains_key("Heartbeat"));
        let text = report.render("2.0.1", "2.1");
        assert!(text.contains("- definitions: 143 -> 232: 140 shared, 58 changed (3 only in enum value order), 92 added, 3 removed"), "{text}");
    }
}

/// The 2.1 manifest against the 2.1 schema folder. It lives here, not in `manifest.rs`, until
/// `Manifest` parses the 2.1-only `sends` key; it reads the file with its own small model.
#[cfg(test)]
mod manifest_2_1 {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::PathBuf;

    use serde::Deserialize;

    use crate::manifest::{Initiator, Manifest};
    use crate::schema_set::SchemaSet;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Manifest21 {
        version: String,
        module: String,
        renames: BTreeMap<String, String>,
        blocks: BTreeMap<String, Block21>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Block21 {
        doc: String,
        actions: BTreeMap<String, Initiator>,
        #[serde(default)]
        sends: BTreeMap<String, Initiator>,
    }

    /// The 2.1 manifest.
    fn path() -> PathBuf {
        crate::project_root().join("schemas").join("v2_1.toml")
    }

    fn load() -> Manifest21 {
        let text = std::fs::read_to_string(path()).expect("the 2.1 manifest");
        toml::from_str(&text).expect("the 2.1 manifest parses")
    }

    /// Every schema file of 2.1 belongs to exactly one action of one block: a request/response
    /// pair for each CALL action, the single file for each SEND action.
    #[test]
    fn manifest_2_1_covers_the_schema_folder() {
        let manifest = load();
        assert_eq!(manifest.version, "2.1");
        assert_eq!(manifest.module, "v2_1");
        let folder = crate::project_root().join("schemas").join(&manifest.module);
        let files: BTreeSet<String> = std::fs::read_dir(folder)
            .expect("schema folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        let mut seen = BTreeMap::new();
        let mut from_manifest = BTreeSet::new();
        for (name, block) in &manifest.blocks {
            for action in block.actions.keys() {
                if let Some(other) = seen.insert(action.clone(), name.clone()) {
                    panic!("{action} is in blocks {other} and {name}");
                }
                for suffix in ["Request", "Response"] {
                    let file = format!("{action}{suffix}.json");
                    assert!(files.contains(&file), "{action} has no {file}");
                    from_manifest.insert(file);
                }
            }
            for action in block.sends.keys() {
                if let Some(other) = seen.insert(action.clone(), name.clone()) {
                    panic!("{action} is in blocks {other} and {name}");
                }
                let file = format!("{action}.json");
                assert!(files.contains(&file), "SEND {action} has no {file}");
                for suffix in ["Request", "Response"] {
                    let pair = format!("{action}{suffix}.json");
                    assert!(!files.contains(&pair), "SEND {action} has a {pair}");
                }
                from_manifest.insert(file);
            }
        }
        let missing: Vec<&String> = files.difference(&from_manifest).collect();
        assert!(
            missing.is_empty(),
            "schema files not in any block: {missing:?}"
        );

        assert_eq!(manifest.blocks.len(), 19);
        let calls: Vec<Initiator> = manifest
            .blocks
            .values()
            .flat_map(|b| b.actions.values().copied())
            .collect();
        let count = |i| calls.iter().filter(|x| **x == i).count();
        assert_eq!(calls.len(), 90);
        assert_eq!(count(Initiator::Csms), 54);
        assert_eq!(count(Initiator::ChargingStation), 35);
        assert_eq!(count(Initiator::Both), 1);
        let sends: Vec<(&String, &Initiator)> =
            manifest.blocks.values().flat_map(|b| &b.sends).collect();
        assert_eq!(
            sends,
            [(
                &"NotifyPeriodicEventStream".to_owned(),
                &Initiator::ChargingStation
            )]
        );
    }

    /// The docs name the 19 blocks A to S of OCPP 2.1 Part 2, each once.
    #[test]
    fn blocks_are_the_2_1_functional_blocks() {
        let manifest = load();
        let mut letters = BTreeSet::new();
        for (name, block) in &manifest.blocks {
            let (_, rest) = block
                .doc
                .split_once("(OCPP 2.1 Part 2, functional block ")
                .unwrap_or_else(|| panic!("{name}: doc names no block: {}", block.doc));
            let letter = rest.chars().next().expect("a letter");
            assert!(rest[1..].starts_with(')'), "{name}: {}", block.doc);
            assert!(letters.insert(letter), "block letter {letter} twice");
        }
        assert_eq!(letters, ('A'..='S').collect());
    }

    /// A 2.0.1 action keeps its block and its initiator in 2.1.
    #[test]
    fn actions_of_2_0_1_keep_block_and_initiator() {
        let manifest = load();
        let root = crate::project_root().join("schemas");
        let old = Manifest::load(&root.join("v2_0_1.toml")).expect("2.0.1 manifest");
        for (action, (block, initiator)) in old.actions() {
            let new = manifest
                .blocks
                .get(block)
                .unwrap_or_else(|| panic!("block {block} is missing"));
            assert_eq!(
                new.actions.get(action),
                Some(&initiator),
                "{action} in block {block}"
            );
        }
    }

    /// With `[renames]`, every 2.1 definition gets its own Rust name (compared without case,
    /// as typify normalises it), and every rename names a 2.1 definition.
    #[test]
    fn renames_make_every_name_unique() {
        let manifest = load();
        let set = SchemaSet::load(
            &crate::project_root().join("schemas").join("v2_1"),
            &Default::default(),
            "",
        )
        .expect("2.1 schemas merge");
        let mut names: BTreeMap<String, &str> = BTreeMap::new();
        for def in set.definitions.keys() {
            let name = match manifest.renames.get(def) {
                Some(name) => name.as_str(),
                None => def
                    .strip_suffix("EnumType")
                    .or_else(|| def.strip_suffix("Type"))
                    .unwrap_or(def),
            };
            if let Some(other) = names.insert(name.to_lowercase(), def) {
                panic!("{other} and {def} would both be {name}");
            }
        }
        for def in manifest.renames.keys() {
            assert!(set.definitions.contains_key(def), "rename of unknown {def}");
        }
    }
}
