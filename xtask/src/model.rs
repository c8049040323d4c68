//! One model entry per generated type, built before a line is printed.
//!
//! Shapes come from typify's type model (`TypeSpace::get_type`, `Type::details`,
//! `TypeStruct::properties_info`, `TypeEnum::variants_info`), never from its printed tokens;
//! names, docs, wire names and constraints come from the original schemas.

use std::collections::{BTreeMap, BTreeSet};

use heck::ToSnakeCase;
use serde_json::{json, Map, Value};
use typify::{TypeDetails, TypeEnumVariant, TypeId, TypeSpace};

use crate::constraints::{self, refuse_unknown, Constraints};
use crate::docs;
use crate::manifest::{Initiator, Manifest};
use crate::schema_set::{ref_name, Draft, SchemaSet};
use crate::Result;

/// The definition name under which inline `date-time` strings are handed to typify, replaced
/// by `ocpp_messages::DateTime`.
const DATE_TIME_DEF: &str = "OcppDateTime";

/// Everything generated for one version.
#[derive(Debug)]
pub struct Version {
    /// `2.0.1`.
    pub version: String,
    /// `v2_0_1`.
    pub module: String,
    /// Every type, sorted by Rust name.
    pub types: Vec<TypeDef>,
    /// By block (module) name.
    pub blocks: BTreeMap<String, Block>,
}

impl Version {
    /// Whether this is OCPP 1.6, which names the roles "Charge Point" and "Central System".
    pub fn is_1_6(&self) -> bool {
        self.version == "1.6"
    }
}

/// One functional block.
#[derive(Debug)]
pub struct Block {
    /// One line describing the block.
    pub doc: String,
    /// Its actions, sorted by name.
    pub actions: Vec<Action>,
    /// The Rust names of the shared types (in `types`) its messages reach through `$ref`s,
    /// sorted.
    pub shared: Vec<String>,
}

/// One action and the Rust names of its items.
#[derive(Debug)]
pub struct Action {
    pub name: String,
    pub initiator: Initiator,
    /// The marker struct, named like the request: `SignCertificateFeature`.
    pub feature: String,
    pub request: String,
    /// `None` for a SEND-only action (OCPP 2.1), which is never answered.
    pub response: Option<String>,
    /// The schema files of the request and the response (`Authorize.json` in 1.6,
    /// `AuthorizeRequest.json` in 2.x; a SEND has only `<Action>.json`).
    pub files: Vec<String>,
}

/// One generated type.
#[derive(Debug)]
pub struct TypeDef {
    /// `CertificateSigningUse`.
    pub rust_name: String,
    /// The name in the schemas: `CertificateSigningUseEnumType`.
    pub spec_name: String,
    /// `types` or a block name.
    pub module: String,
    /// One string per `///` line.
    pub docs: Vec<String>,
    /// Whether it is a request or response payload (`impl Message`).
    pub is_message: bool,
    pub shape: Shape,
}

#[derive(Debug)]
pub enum Shape {
    Struct {
        /// In schema order.
        fields: Vec<Field>,
        /// Members beyond those named are allowed (and kept in an `extra` map).
        open: bool,
    },
    Enum {
        /// In schema `enum` order.
        variants: Vec<Variant>,
    },
}

#[derive(Debug)]
pub struct Field {
    /// `certificateChain`.
    pub json_name: String,
    /// `certificate_chain`.
    pub ident: String,
    /// `Option<...>` exactly when the member is optional.
    pub ty: RustType,
    pub required: bool,
    pub docs: Vec<String>,
    pub constraints: Constraints,
}

#[derive(Debug)]
pub struct Variant {
    /// As written on the wire: `Current.Export`.
    pub wire: String,
    /// `CurrentExport`.
    pub ident: String,
}

/// The Rust type of a member.
#[derive(Debug, Clone, PartialEq)]
pub enum RustType {
    Option(Box<RustType>),
    Vec(Box<RustType>),
    /// A generated struct or enum, by Rust name.
    Named(String),
    I64,
    F64,
    Bool,
    String,
    /// Any JSON value (a member without `type`).
    JsonValue,
    /// `ocpp_messages::DateTime`.
    DateTime,
}

/// A schema definition (or message root) selected for generation.
struct Source {
    module: String,
    schema: Value,
    /// For request and response types: the action.
    message_of: Option<String>,
    /// Whether that action is a SEND (never answered).
    send: bool,
}

/// The default Rust name of a definition: without `EnumType`, else without `Type`.
fn default_name(spec: &str) -> &str {
    spec.strip_suffix("EnumType")
        .or_else(|| spec.strip_suffix("Type"))
        .filter(|s| !s.is_empty())
        .unwrap_or(spec)
}

/// The names handed to typify: [`default_name`], or the manifest's `[renames]` entry. Two
/// definitions with the same name are an error naming both and the table to fix it in.
fn names(specs: &BTreeSet<String>, manifest: &Manifest) -> Result<BTreeMap<String, String>> {
    let table = format!("[renames] table of schemas/{}.toml", manifest.module);
    if let Some(stale) = manifest.renames.keys().find(|k| !specs.contains(*k)) {
        return Err(format!(
            "the {table} renames {stale}, which no generated schema defines"
        ));
    }
    let mut out = BTreeMap::new();
    let mut by_name: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for spec in specs {
        let name = manifest
            .renames
            .get(spec)
            .cloned()
            .unwrap_or_else(|| default_name(spec).to_owned());
        by_name.entry(name.clone()).or_default().push(spec);
        out.insert(spec.clone(), name);
    }
    let collisions: Vec<String> = by_name
        .iter()
        .filter(|(_, specs)| specs.len() > 1)
        .map(|(name, specs)| {
            let list: Vec<&str> = specs.iter().map(|s| s.as_str()).collect();
            let example = specs
                .iter()
                .find_map(|s| {
                    s.strip_suffix("EnumType")
                        .map(|stem| (*s, format!("{stem}Enum")))
                })
                .unwrap_or_else(|| (specs[1], format!("{name}2")));
            format!(
                "definitions {} would all be named `{name}` in Rust; name one of them in the \
                 {table}, e.g. `{} = \"{}\"`",
                list.join(" and "),
                example.0,
                example.1
            )
        })
        .collect();
    if collisions.is_empty() {
        Ok(out)
    } else {
        Err(collisions.join("\n"))
    }
}

/// The Rust identifier typify makes of a member name (snake case, keywords get a `_`).
fn field_ident(json_name: &str) -> String {
    let cleaned: String = json_name
        .replace('\'', "")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut ident = cleaned.to_snake_case();
    if !ident.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        ident.insert(0, 'x');
    }
    if !typify::accept_as_ident(&ident) {
        ident.push('_');
    }
    ident
}

/// Builds the model of one version.
pub fn build(set: &SchemaSet, manifest: &Manifest) -> Result<Version> {
    let module = &manifest.module;
    let actions = manifest.actions();
    let sends = manifest.sends();
    let suffixes = |action: &str| -> &'static [&'static str] {
        if sends.contains_key(action) {
            &["Request"]
        } else {
            &["Request", "Response"]
        }
    };

    // Messages of the manifest's actions, and the block of each schema file.
    let mut block_of_file: BTreeMap<String, String> = BTreeMap::new();
    let mut sources: BTreeMap<String, Source> = BTreeMap::new(); // by spec name
    let mut messages_of_block: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (action, (block, _)) in actions.iter().chain(&sends) {
        for suffix in suffixes(action) {
            let name = format!("{action}{suffix}");
            let message = set.messages.get(&name).ok_or_else(|| {
                format!("manifest action {action} has no schemas/{module}/{name}.json")
            })?;
            block_of_file.insert(message.file.clone(), block.to_string());
            messages_of_block
                .entry(block)
                .or_default()
                .push(name.clone());
            sources.insert(
                name,
                Source {
                    module: block.to_string(),
                    schema: message.root.clone(),
                    message_of: Some(action.to_string()),
                    send: sends.contains_key(action),
                },
            );
        }
    }
    // Every definition the messages reach, and where it goes: `types` when several schema
    // files define it, else the block of its one file.
    let message_names: Vec<String> = sources.keys().cloned().collect();
    for name in &message_names {
        for def in set.reachable(&set.messages[name].root)? {
            let files = &set.defined_in[&def];
            let module = if files.len() > 1 {
                "types".to_owned()
            } else {
                let file = files.iter().next().expect("defined somewhere");
                block_of_file[file].clone()
            };
            sources.entry(def.clone()).or_insert_with(|| Source {
                module,
                schema: set.definitions[&def].clone(),
                message_of: None,
                send: false,
            });
        }
    }

    let specs: BTreeSet<String> = sources.keys().cloned().collect();
    let handed = names(&specs, manifest)?;

    // typify's type space over the shape-only copy.
    let mut defs: Vec<(String, schemars::schema::Schema)> = Vec::new();
    for (spec, source) in &sources {
        let shape = shape_only(&source.schema, &handed)?;
        let schema = serde_json::from_value(shape)
            .map_err(|e| format!("{spec}: typify cannot read the schema: {e}"))?;
        defs.push((handed[spec].clone(), schema));
    }
    defs.push((
        DATE_TIME_DEF.to_owned(),
        serde_json::from_value(json!({"type": "string"})).map_err(|e| e.to_string())?,
    ));
    let mut settings = typify::TypeSpaceSettings::default();
    settings.with_struct_builder(false).with_replacement(
        DATE_TIME_DEF,
        "::ocpp_messages::DateTime",
        std::iter::empty(),
    );
    let mut space = TypeSpace::new(&settings);
    space
        .add_ref_types(defs)
        .map_err(|e| format!("typify: {e}"))?;

    // The id and final Rust name of each definition (typify normalises case:
    // `EVSE` -> `Evse`).
    let mut ids: BTreeMap<String, TypeId> = BTreeMap::new();
    let mut rust_of_id: BTreeMap<TypeId, String> = BTreeMap::new();
    let mut spec_of_rust: BTreeMap<String, String> = BTreeMap::new();
    for (spec, name) in &handed {
        let reference = schemars::schema::Schema::new_ref(format!("#/definitions/{name}"));
        let id = space
            .add_type(&reference)
            .map_err(|e| format!("typify: {spec}: {e}"))?;
        let rust = space
            .get_type(&id)
            .map_err(|e| format!("typify: {spec}: {e}"))?
            .name();
        if let Some(other) = spec_of_rust.insert(rust.clone(), spec.clone()) {
            return Err(format!(
                "definitions {other} and {spec} would both be named `{rust}` in Rust; \
                 give one of them its own name in the [renames] table of schemas/{module}.toml"
            ));
        }
        rust_of_id.insert(id.clone(), rust);
        ids.insert(spec.clone(), id);
    }

    let mut types = Vec::new();
    for (spec, source) in &sources {
        let id = &ids[spec];
        let ty = space
            .get_type(id)
            .map_err(|e| format!("typify: {spec}: {e}"))?;
        let ctx = Ctx {
            space: &space,
            rust_of_id: &rust_of_id,
            set,
            at: spec,
            draft: set.draft(spec)?,
        };
        let shape = match ty.details() {
            TypeDetails::Struct(s) => struct_shape(&ctx, &source.schema, s)?,
            TypeDetails::Enum(e) => enum_shape(&ctx, &source.schema, e)?,
            _ => {
                return Err(format!(
                    "{spec}: only objects and string enums are supported as definitions"
                ))
            }
        };
        types.push(TypeDef {
            rust_name: rust_of_id[id].clone(),
            spec_name: spec.clone(),
            module: source.module.clone(),
            docs: type_docs(spec, source, set.inline_at.get(spec)),
            is_message: source.message_of.is_some(),
            shape,
        });
    }
    types.sort_by(|a, b| a.rust_name.cmp(&b.rust_name));

    let rust_of_spec = |spec: &str| rust_of_id[&ids[spec]].clone();
    let mut blocks = BTreeMap::new();
    for (block, b) in &manifest.blocks {
        let mut shared = BTreeSet::new();
        for message in messages_of_block.get(block.as_str()).into_iter().flatten() {
            for def in set.reachable(&set.messages[message].root)? {
                if sources[&def].module == "types" {
                    shared.insert(rust_of_spec(&def));
                }
            }
        }
        let mut actions: Vec<Action> = b
            .actions
            .iter()
            .chain(&b.sends)
            .map(|(action, initiator)| {
                let request = rust_of_spec(&format!("{action}Request"));
                let send = b.sends.contains_key(action);
                let response = (!send).then(|| rust_of_spec(&format!("{action}Response")));
                Action {
                    name: action.clone(),
                    initiator: *initiator,
                    feature: format!("{}Feature", request.trim_end_matches("Request")),
                    request,
                    response,
                    files: suffixes(action)
                        .iter()
                        .map(|suffix| set.messages[&format!("{action}{suffix}")].file.clone())
                        .collect(),
                }
            })
            .collect();
        actions.sort_by(|a, b| a.name.cmp(&b.name));
        blocks.insert(
            block.clone(),
            Block {
                doc: b.doc.clone(),
                actions,
                shared: shared.into_iter().collect(),
            },
        );
    }
    Ok(Version {
        version: manifest.version.clone(),
        module: module.clone(),
        types,
        blocks,
    })
}

/// What reading typify's model needs.
struct Ctx<'a> {
    space: &'a TypeSpace,
    rust_of_id: &'a BTreeMap<TypeId, String>,
    set: &'a SchemaSet,
    /// The definition being read, for errors.
    at: &'a str,
    /// The draft of the file(s) defining it.
    draft: Draft,
}

impl Ctx<'_> {
    /// The Rust type of typify's type `id`.
    fn rust_type(&self, id: &TypeId) -> Result<RustType> {
        let at = self.at;
        let ty = self
            .space
            .get_type(id)
            .map_err(|e| format!("typify: {at}: {e}"))?;
        let details = ty.details();
        let rust = match details {
            TypeDetails::Option(inner) => RustType::Option(Box::new(self.rust_type(&inner)?)),
            TypeDetails::Vec(inner) => RustType::Vec(Box::new(self.rust_type(&inner)?)),
            TypeDetails::String => RustType::String,
            TypeDetails::Builtin("i64") => RustType::I64,
            TypeDetails::Builtin("f64") => RustType::F64,
            TypeDetails::Builtin("bool") => RustType::Bool,
            TypeDetails::Builtin("::serde_json::Value") => RustType::JsonValue,
            TypeDetails::Builtin("::ocpp_messages::DateTime") => RustType::DateTime,
            TypeDetails::Struct(_) | TypeDetails::Enum(_) => match self.rust_of_id.get(id) {
                Some(rust) => RustType::Named(rust.clone()),
                None => {
                    return Err(format!(
                        "{at}: typify made a type {} that is not a schema definition",
                        ty.name()
                    ))
                }
            },
            _ => {
                return Err(format!(
                    "{at}: typify type {} is not supported",
                    ty.describe()
                ))
            }
        };
        Ok(rust)
    }

    /// The docs of member `name`: its description, else that of the definition it refers
    /// to (directly or as array items), else a generated sentence.
    fn member_docs(&self, name: &str, prop: &Value) -> Vec<String> {
        let own = prop.get("description").and_then(Value::as_str);
        let via_ref = prop
            .get("$ref")
            .or_else(|| prop.get("items").and_then(|i| i.get("$ref")))
            .and_then(Value::as_str)
            .and_then(|r| ref_name(r).ok())
            .and_then(|n| self.set.definitions.get(n))
            .and_then(|d| d.get("description"))
            .and_then(Value::as_str);
        let mut lines = own.or(via_ref).map(docs::clean).unwrap_or_default();
        if lines.is_empty() {
            lines.push(format!(" The `{name}` member."));
        }
        lines
    }
}

fn struct_shape(ctx: &Ctx<'_>, schema: &Value, s: typify::TypeStruct<'_>) -> Result<Shape> {
    let at = ctx.at;
    let map = schema
        .as_object()
        .ok_or_else(|| format!("{at}: not an object"))?;
    refuse_unknown(
        map,
        &["type", "properties", "required", "additionalProperties"],
        at,
    )?;
    let empty = Map::new();
    let props = match map.get("properties") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => return Err(format!("{at}: properties is not an object")),
    };
    let required: Vec<&str> = match map.get("required") {
        None => Vec::new(),
        Some(r) => r
            .as_array()
            .and_then(|r| r.iter().map(Value::as_str).collect())
            .ok_or_else(|| format!("{at}: required is not a list of strings"))?,
    };
    if let Some(missing) = required.iter().find(|r| !props.contains_key(**r)) {
        return Err(format!("{at}: required member {missing} is not a property"));
    }
    let open = match map.get("additionalProperties") {
        None | Some(Value::Bool(true)) => true,
        Some(Value::Bool(false)) => false,
        Some(Value::Object(o)) if o.is_empty() => true,
        Some(other) => {
            return Err(format!(
                "{at}: additionalProperties {other} is not supported"
            ))
        }
    };

    // typify's properties, sorted by Rust name, with the flattened map of extra members
    // (open objects only) last. Tell the map apart by its type, not its name.
    let mut extras = Vec::new();
    let mut named = Vec::new();
    for info in s.properties_info() {
        let ty = ctx
            .space
            .get_type(&info.type_id)
            .map_err(|e| format!("typify: {at}: {e}"))?;
        let details = ty.details();
        match details {
            TypeDetails::Map(key, value) => {
                let (key, value) = (ctx.rust_type(&key)?, ctx.rust_type(&value)?);
                if key != RustType::String || value != RustType::JsonValue {
                    return Err(format!(
                        "{at}: unexpected extra-members map {key:?} -> {value:?}"
                    ));
                }
                extras.push(info.name.to_owned());
            }
            _ => named.push(info),
        }
    }
    if open != (extras.len() == 1) || extras.len() > 1 {
        return Err(format!(
            "{at}: typify's extra-members map ({extras:?}) disagrees with additionalProperties (open: {open})"
        ));
    }

    // Map typify's properties back to the schema's names: typify sorts them by Rust
    // identifier, so sort the schema's names by the same identifier and zip.
    let mut by_ident: Vec<(String, &String)> =
        props.keys().map(|json| (field_ident(json), json)).collect();
    by_ident.sort();
    if by_ident.len() != named.len() {
        return Err(format!(
            "{at}: the schema has {} members, typify {}",
            by_ident.len(),
            named.len()
        ));
    }
    let mut typify_of: BTreeMap<&str, &typify::TypeStructPropInfo<'_>> = BTreeMap::new();
    for ((ident, json), info) in by_ident.iter().zip(&named) {
        if *ident != info.name {
            return Err(format!(
                "{at}: member {json} maps to `{ident}`, but typify named it `{}`",
                info.name
            ));
        }
        if typify_of.insert(json.as_str(), info).is_some() {
            return Err(format!("{at}: two members map to `{ident}`"));
        }
    }

    let mut fields = Vec::new();
    for (json_name, prop) in props {
        let info = typify_of[json_name.as_str()];
        let is_required = required.contains(&json_name.as_str());
        if info.required != is_required {
            return Err(format!(
                "{at}: typify disagrees on whether {json_name} is required"
            ));
        }
        let mut ty = ctx.rust_type(&info.type_id)?;
        // typify leaves optional arrays as a `Vec` defaulting to empty; an absent member and
        // an empty array are different things on the wire, so keep the `Option`.
        match (&ty, is_required) {
            (RustType::Option(_), true) => {
                return Err(format!("{at}: required member {json_name} is an Option"))
            }
            (RustType::Option(_), false) | (_, true) => {}
            (_, false) => ty = RustType::Option(Box::new(ty)),
        }
        let mut constraints =
            constraints::of_property(prop, &format!("{at}/properties/{json_name}"))?;
        if ctx.draft == Draft::Draft04 {
            let inner = match &ty {
                RustType::Option(inner) => inner,
                other => other,
            };
            match inner {
                RustType::I64 => constraints.integer_draft4 = true,
                RustType::Vec(item) if **item == RustType::I64 => {
                    constraints
                        .items
                        .get_or_insert_with(Default::default)
                        .integer_draft4 = true
                }
                _ => {}
            }
        }
        fields.push(Field {
            json_name: json_name.clone(),
            ident: info.name.to_owned(),
            ty,
            required: is_required,
            docs: ctx.member_docs(json_name, prop),
            constraints,
        });
    }
    if open && fields.iter().any(|f| f.ident == "extra") {
        return Err(format!(
            "{at}: a member named like the `extra` map of an open object is not supported"
        ));
    }
    Ok(Shape::Struct { fields, open })
}

fn enum_shape(ctx: &Ctx<'_>, schema: &Value, e: typify::TypeEnum<'_>) -> Result<Shape> {
    let at = ctx.at;
    let map = schema
        .as_object()
        .ok_or_else(|| format!("{at}: not an object"))?;
    // `additionalProperties` constrains nothing on a string.
    refuse_unknown(map, &["type", "enum", "additionalProperties"], at)?;
    if map.get("type").and_then(Value::as_str) != Some("string") {
        return Err(format!("{at}: only string enums are supported"));
    }
    let wires: Vec<&str> = map
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|vals| vals.iter().map(Value::as_str).collect())
        .ok_or_else(|| format!("{at}: enum values are not all strings"))?;
    let idents: Vec<&str> = e
        .variants_info()
        .map(|v| match v.details {
            TypeEnumVariant::Simple => Ok(v.name),
            _ => Err(format!("{at}: variant {} carries data", v.name)),
        })
        .collect::<Result<_>>()?;
    if wires.len() != idents.len() {
        return Err(format!(
            "{at}: the schema has {} enum values, typify {} variants",
            wires.len(),
            idents.len()
        ));
    }
    // typify keeps schema order; check the zip pairs each value with its own variant.
    let letters = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let mut variants = Vec::new();
    for (wire, ident) in wires.into_iter().zip(idents) {
        if letters(wire) != letters(ident) {
            return Err(format!(
                "{at}: enum value {wire:?} does not match typify's variant {ident}"
            ));
        }
        variants.push(Variant {
            wire: wire.to_owned(),
            ident: ident.to_owned(),
        });
    }
    Ok(Shape::Enum { variants })
}

/// The schema's description, or a generated sentence.
fn type_docs(spec: &str, source: &Source, inline_at: Option<&Vec<String>>) -> Vec<String> {
    let description = source.schema.get("description").and_then(Value::as_str);
    let mut lines = description.map(docs::clean).unwrap_or_default();
    if lines.is_empty() {
        lines.push(match &source.message_of {
            Some(action) if source.send => {
                format!(" The payload of a `{action}` SEND (never answered).")
            }
            Some(action) if spec.ends_with("Request") => {
                format!(" The payload of a `{action}` CALL (the request).")
            }
            Some(action) => {
                format!(" The payload of the CALLRESULT answering `{action}` (the response).")
            }
            None => match inline_at {
                Some(_) => format!(" The `{spec}` type of OCPP 1.6."),
                None => format!(" `{spec}` from the OCPP schemas."),
            },
        });
    }
    if let Some(locations) = inline_at {
        let list: Vec<String> = locations.iter().map(|l| format!("`{l}`")).collect();
        lines.push(String::new());
        lines.push(format!(
            " Written inline in the schemas at {}; named by the `[inline]` table of the manifest.",
            list.join(", ")
        ));
    }
    lines
}

/// The shape-only schema handed to typify: constraints, defaults and docs removed (the model
/// reads them from the original), date-times replaced, `$ref`s renamed, and open objects
/// given `additionalProperties: {}` so typify models their extra members as a map.
fn shape_only(schema: &Value, names: &BTreeMap<String, String>) -> Result<Value> {
    let Value::Object(map) = schema else {
        return Ok(schema.clone());
    };
    if map.get("type").and_then(Value::as_str) == Some("string")
        && map.get("format").and_then(Value::as_str) == Some("date-time")
    {
        return Ok(json!({"$ref": format!("#/definitions/{DATE_TIME_DEF}")}));
    }
    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "maxLength"
            | "minLength"
            | "minimum"
            | "maximum"
            | "multipleOf"
            | "minItems"
            | "maxItems"
            | "additionalItems"
            | "default"
            | "description"
            | "javaType"
            | "title"
            | "format"
            | "additionalProperties" => {}
            "$ref" => {
                let name = ref_name(value.as_str().unwrap_or_default())?;
                let rust = names
                    .get(name)
                    .ok_or_else(|| format!("reference to unknown definition {name}"))?;
                out.insert(key.clone(), json!(format!("#/definitions/{rust}")));
            }
            "properties" => {
                let props = value
                    .as_object()
                    .ok_or("properties is not an object")?
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), shape_only(v, names)?)))
                    .collect::<Result<Map<_, _>>>()?;
                out.insert(key.clone(), Value::Object(props));
            }
            "items" => {
                out.insert(key.clone(), shape_only(value, names)?);
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if map.get("type").and_then(Value::as_str) == Some("object") {
        let closed = map.get("additionalProperties") == Some(&Value::Bool(false));
        out.insert(
            "additionalProperties".into(),
            if closed { json!(false) } else { json!({}) },
        );
    }
    Ok(out.into())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{field_ident, names};
    use crate::manifest::Manifest;

    fn manifest(renames: &str) -> Manifest {
        toml::from_str(&format!(
            "version = \"9\"\nmodule = \"v9\"\n[renames]\n{renames}\n[blocks]\n"
        ))
        .unwrap()
    }

    #[test]
    fn a_name_collision_needs_a_renames_entry() {
        let specs: BTreeSet<String> = ["IdTokenEnumType", "IdTokenType", "ResetEnumType"]
            .map(String::from)
            .into();
        let err = names(&specs, &manifest("")).unwrap_err();
        assert!(err.contains("IdTokenEnumType and IdTokenType"), "{err}");
        assert!(err.contains("[renames] table of schemas/v9.toml"), "{err}");
        assert!(err.contains("IdTokenEnumType = \"IdTokenEnum\""), "{err}");

        let ok = names(&specs, &manifest("IdTokenEnumType = \"IdTokenEnum\"")).unwrap();
        assert_eq!(ok["IdTokenEnumType"], "IdTokenEnum");
        assert_eq!(ok["IdTokenType"], "IdToken");
        assert_eq!(ok["ResetEnumType"], "Reset");

        let err = names(&specs, &manifest("GoneType = \"Gone\"")).unwrap_err();
        assert!(err.contains("GoneType"), "{err}");
    }

    #[test]
    fn field_idents_follow_typify() {
        assert_eq!(field_ident("customData"), "custom_data");
        assert_eq!(field_ident("responderURL"), "responder_url");
        assert_eq!(field_ident("type"), "type_");
        assert_eq!(field_ident("EVSE"), "evse");
    }
}
