//! `cargo xtask codegen`: schemas in, checked-in Rust out.
//!
//! Per version (one manifest `schemas/<module>.toml`, one folder `schemas/<module>/`):
//!
//! 1. merge every schema file into one set of definitions ([`SchemaSet`]);
//! 2. hand typify a copy reduced to type shapes (constraints and defaults removed, date-times
//!    replaced by `ocpp_messages::DateTime`, open objects given a flattened map of extra
//!    members), so its types lose nothing and invent nothing;
//! 3. split typify's output by type into `types.rs` (definitions used by several schema files)
//!    and one file per functional block, reorder struct fields into schema order, write docs
//!    from the schema descriptions, and add constructors, builders, the `HasSchema` validators
//!    generated from the original schemas, and the block's `functional_block!` declaration;
//! 4. format with prettyplease and write through [`ensure_file_contents`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::{json, Map, Value};

use crate::docs;
use crate::manifest::{Initiator, Manifest};
use crate::schema_set::{ref_name, SchemaSet};
use crate::validators::schema_expr;
use crate::{Mode, Result};

/// The definition name under which inline `date-time` strings are handed to typify, replaced
/// by `ocpp_messages::DateTime`.
const DATE_TIME_DEF: &str = "OcppDateTime";

pub fn run(root: &Path, mode: Mode) -> Result<()> {
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(root.join("schemas"))
        .map_err(|e| format!("cannot read schemas/: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    manifests.sort();
    let mut outputs: BTreeMap<PathBuf, BTreeMap<String, String>> = BTreeMap::new();
    let tests_dir = root.join("ocpp-messages/tests/generated");
    outputs.insert(tests_dir.clone(), BTreeMap::new());
    for path in manifests {
        let manifest = Manifest::load(&path)?;
        let (files, names) = generate_version(root, &manifest)?;
        let dir = root
            .join("ocpp-messages/src")
            .join(&manifest.module)
            .join("generated");
        outputs.insert(dir, files);
        if let Some(tests) = outputs.get_mut(&tests_dir) {
            tests.insert(
                format!("{}_recorder.rs", manifest.module),
                recorder(&manifest, &names)?,
            );
        }
    }
    let mut problems = Vec::new();
    for (dir, files) in &outputs {
        problems.extend(ensure_dir_contents(root, dir, files, mode)?);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "generated code is stale:\n  {}\nrun `cargo xtask codegen` and commit the result",
            problems.join("\n  ")
        ))
    }
}

/// Makes `dir` hold exactly `files` (name -> contents). In write mode it rewrites what differs
/// and removes orphans; in check mode it returns one line per stale, missing or orphaned file.
fn ensure_dir_contents(
    root: &Path,
    dir: &Path,
    files: &BTreeMap<String, String>,
    mode: Mode,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let show = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    if mode == Mode::Write {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    for (name, contents) in files {
        if let Some(problem) = ensure_file_contents(&dir.join(name), contents, mode)? {
            problems.push(format!("{}: {problem}", show(&dir.join(name))));
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut orphans: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_none_or(|n| !files.contains_key(n))
            })
            .collect();
        orphans.sort();
        for orphan in orphans {
            match mode {
                Mode::Check => problems.push(format!(
                    "{}: orphaned (no schema generates it)",
                    show(&orphan)
                )),
                Mode::Write => std::fs::remove_file(&orphan)
                    .map_err(|e| format!("cannot remove {}: {e}", orphan.display()))?,
            }
        }
    }
    Ok(problems)
}

/// Writes `contents` to `path` if it differs (write mode), or reports that it differs (check
/// mode).
pub fn ensure_file_contents(
    path: &Path,
    contents: &str,
    mode: Mode,
) -> Result<Option<&'static str>> {
    match std::fs::read_to_string(path) {
        Ok(old) if old == contents => return Ok(None),
        Ok(_) if mode == Mode::Check => return Ok(Some("stale")),
        Err(_) if mode == Mode::Check => return Ok(Some("missing")),
        _ => {}
    }
    std::fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("updated {}", path.display());
    Ok(None)
}

/// Where a generated type goes and what it is.
#[derive(Debug, Clone)]
struct TypeInfo {
    /// The name in the schemas (`CustomDataType`, `SignCertificateRequest`).
    spec_name: String,
    /// The module: `types` or a block name.
    module: String,
    /// The original (unpatched) schema.
    schema: Value,
    /// For request and response types: the action.
    message_of: Option<String>,
}

fn rust_base_name(spec: &str) -> &str {
    spec.strip_suffix("EnumType")
        .or_else(|| spec.strip_suffix("Type"))
        .filter(|s| !s.is_empty())
        .unwrap_or(spec)
}

/// The Rust names of an action's items: feature struct, request, response.
type ActionNames = BTreeMap<String, [String; 3]>;

fn generate_version(
    root: &Path,
    manifest: &Manifest,
) -> Result<(BTreeMap<String, String>, ActionNames)> {
    let module = &manifest.module;
    let set = SchemaSet::load(&root.join("schemas").join(module))?;
    let actions = manifest.actions();

    // Messages of the manifest's actions, and the block of each schema file.
    let mut block_of_file: BTreeMap<String, String> = BTreeMap::new();
    let mut messages: Vec<(String, String, String)> = Vec::new(); // (message, action, block)
    for (action, (block, _)) in &actions {
        for suffix in ["Request", "Response"] {
            let name = format!("{action}{suffix}");
            let message = set.messages.get(&name).ok_or_else(|| {
                format!("manifest action {action} has no schemas/{module}/{name}.json")
            })?;
            block_of_file.insert(message.file.clone(), block.to_string());
            messages.push((name, action.to_string(), block.to_string()));
        }
    }

    // Every definition the selected messages use, and where it goes.
    let mut types: BTreeMap<String, TypeInfo> = BTreeMap::new(); // by spec name
    for (name, action, block) in &messages {
        let root_schema = &set.messages[name].root;
        types.insert(
            name.clone(),
            TypeInfo {
                spec_name: name.clone(),
                module: block.clone(),
                schema: root_schema.clone(),
                message_of: Some(action.clone()),
            },
        );
        for def in set.reachable(root_schema)? {
            let files = &set.defined_in[&def];
            let module = if files.len() > 1 {
                "types".to_owned()
            } else {
                let file = files.iter().next().expect("defined somewhere");
                block_of_file[file].clone()
            };
            types.entry(def.clone()).or_insert_with(|| TypeInfo {
                spec_name: def.clone(),
                module,
                schema: set.definitions[&def].clone(),
                message_of: None,
            });
        }
    }

    // Names handed to typify: spec names minus `Type`/`EnumType`, unless that collides.
    let mut base_count: BTreeMap<&str, usize> = BTreeMap::new();
    for spec in types.keys() {
        *base_count.entry(rust_base_name(spec)).or_default() += 1;
    }
    let typify_name: BTreeMap<String, String> = types
        .keys()
        .map(|spec| {
            let base = rust_base_name(spec);
            let name = match spec.strip_suffix("EnumType") {
                // `IdTokenType` and `IdTokenEnumType`: the struct is `IdToken`, the enum
                // `IdTokenEnum`.
                Some(stem) if base_count[base] > 1 => format!("{stem}Enum"),
                _ if base_count[base] > 1 && spec.ends_with("Type") => base.to_owned(),
                _ if base_count[base] > 1 => spec.clone(),
                _ => base.to_owned(),
            };
            (spec.clone(), name)
        })
        .collect();

    let mut seen = BTreeMap::new();
    for (spec, name) in &typify_name {
        if let Some(other) = seen.insert(name.clone(), spec.clone()) {
            return Err(format!("{other} and {spec} would both be named {name}"));
        }
    }

    // The shape-only copy for typify.
    let mut defs: Vec<(String, schemars::schema::Schema)> = Vec::new();
    for (spec, info) in &types {
        let patched = shape_only(&info.schema, &typify_name)?;
        let schema = serde_json::from_value(patched)
            .map_err(|e| format!("{spec}: typify cannot read the schema: {e}"))?;
        defs.push((typify_name[spec].clone(), schema));
    }
    defs.push((
        DATE_TIME_DEF.to_owned(),
        serde_json::from_value(json!({"type": "string"})).map_err(|e| e.to_string())?,
    ));
    let mut settings = typify::TypeSpaceSettings::default();
    settings
        .with_struct_builder(false)
        .with_derive("PartialEq".to_owned())
        .with_replacement(
            DATE_TIME_DEF,
            "::ocpp_messages::DateTime",
            [
                typify::TypeSpaceImpl::FromStr,
                typify::TypeSpaceImpl::Display,
            ]
            .into_iter(),
        );
    let mut space = typify::TypeSpace::new(&settings);
    space
        .add_ref_types(defs)
        .map_err(|e| format!("typify: {e}"))?;

    // The Rust name typify gave each definition (it normalises case: `EVSE` -> `Evse`).
    let mut rust_names: BTreeMap<String, String> = BTreeMap::new();
    for (spec, name) in &typify_name {
        let reference = schemars::schema::Schema::new_ref(format!("#/definitions/{name}"));
        let id = space
            .add_type(&reference)
            .map_err(|e| format!("typify: {spec}: {e}"))?;
        let rust = space
            .get_type(&id)
            .map_err(|e| format!("typify: {spec}: {e}"))?
            .name();
        rust_names.insert(spec.clone(), rust);
    }
    let by_rust: BTreeMap<&str, &TypeInfo> = rust_names
        .iter()
        .map(|(spec, rust)| (rust.as_str(), &types[spec]))
        .collect();

    // typify's output, split by the type each item belongs to.
    let text = space.to_stream().to_string().replace(
        "self :: error :: ConversionError",
        ":: ocpp_messages :: ConversionError",
    );
    let file: syn::File = syn::parse_str(&text).map_err(|e| format!("typify output: {e}"))?;
    let mut per_type: BTreeMap<String, Vec<syn::Item>> = BTreeMap::new();
    for item in file.items {
        let owner = match &item {
            syn::Item::Mod(m) if m.ident == "error" => continue,
            syn::Item::Struct(s) => s.ident.to_string(),
            syn::Item::Enum(e) => e.ident.to_string(),
            syn::Item::Impl(imp) => {
                if is_from_ref_clone(imp) {
                    continue;
                }
                match &*imp.self_ty {
                    syn::Type::Path(p) => p
                        .path
                        .segments
                        .last()
                        .map(|s| s.ident.to_string())
                        .unwrap_or_default(),
                    _ => String::new(),
                }
            }
            _ => String::new(),
        };
        if !by_rust.contains_key(owner.as_str()) {
            return Err(format!(
                "typify emitted an item for {owner:?}, which is not a schema definition: {}",
                quote!(#item)
            ));
        }
        per_type.entry(owner).or_default().push(item);
    }

    // Assemble the modules.
    let mut modules: BTreeMap<String, Vec<TokenStream>> = BTreeMap::new();
    for (rust, items) in per_type {
        let info = by_rust[rust.as_str()];
        let tokens = finish_type(&rust, info, items, &rust_names, &types)?;
        modules.entry(info.module.clone()).or_default().push(tokens);
    }

    let mut out = BTreeMap::new();
    let version = &manifest.version;
    let shared_imports = |module: &str| -> Vec<syn::Ident> {
        // The shared types a block's items name.
        let body: String = modules
            .get(module)
            .map(|items| items.iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        let words: BTreeSet<&str> = body
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .collect();
        rust_names
            .iter()
            .filter(|(spec, rust)| types[*spec].module == "types" && words.contains(rust.as_str()))
            .map(|(_, rust)| format_ident!("{rust}"))
            .collect()
    };

    // The Rust names of each action's items; the feature struct is named like the request.
    let action_names: ActionNames = actions
        .keys()
        .map(|action| {
            let req = rust_names[&format!("{action}Request")].clone();
            let resp = rust_names[&format!("{action}Response")].clone();
            let feature = format!("{}Feature", req.trim_end_matches("Request"));
            (action.to_string(), [feature, req, resp])
        })
        .collect();

    // types.rs
    let types_items = modules.get("types").cloned().unwrap_or_default();
    let doc = format!(" Definitions shared by several OCPP {version} messages.");
    out.insert(
        "types.rs".to_owned(),
        render(
            &format!("schemas/{module}/*.json"),
            quote! {
                #![doc = #doc]
                #![allow(clippy::all)]
                #(#types_items)*
            },
        )?,
    );

    // One file per block.
    for (block, b) in &manifest.blocks {
        let imports = shared_imports(block);
        let use_shared = if imports.is_empty() {
            quote!()
        } else {
            quote!(pub use super::types::{#(#imports),*};)
        };
        let features = b.actions.iter().map(|(action, initiator)| {
            let [feature, req, resp] = &action_names[action];
            let ident = format_ident!("{feature}");
            let (req, resp) = (format_ident!("{req}"), format_ident!("{resp}"));
            let init = format_ident!("{}", initiator.as_str());
            let who = match initiator {
                Initiator::ChargingStation => "the charging station sends it to the CSMS",
                Initiator::Csms => "the CSMS sends it to the charging station",
                Initiator::Both => "either side may send it",
            };
            let doc = format!(" The `{action}` action: {who}.");
            quote! {
                #[doc = #doc]
                #[ocpp(action = #action, request = #req, response = #resp, initiator = #init)]
                pub struct #ident;
            }
        });
        let items = modules.get(block.as_str()).cloned().unwrap_or_default();
        let module_doc = format!(" {}", b.doc);
        let files: Vec<String> = b
            .actions
            .keys()
            .flat_map(|a| [format!("{a}Request"), format!("{a}Response")])
            .collect();
        let text = render(
            &format!("schemas/{module}/{{{}}}.json", files.join(",")),
            quote! {
                #![doc = #module_doc]
                #![allow(clippy::all)]
                #use_shared
                ::ocpp_messages::functional_block! {}
                #(#items)*
            },
        )?;
        // prettyplease leaves macro bodies unformatted; the block's body is a list of items
        // after `name = "...";`, so format those as items and splice them in.
        let features: syn::File = syn::parse2(quote!(#(#features)*))
            .map_err(|e| format!("feature declarations do not parse: {e}"))?;
        let body: String = prettyplease::unparse(&features)
            .lines()
            .map(|l| {
                if l.is_empty() {
                    "\n".to_owned()
                } else {
                    format!("    {l}\n")
                }
            })
            .collect();
        let placeholder = "::ocpp_messages::functional_block! {}\n";
        if !text.contains(placeholder) {
            return Err("prettyplease changed how it prints macro calls".to_owned());
        }
        let block_macro =
            format!("::ocpp_messages::functional_block! {{\n    name = {block:?};\n\n{body}}}\n\n");
        out.insert(
            format!("{block}.rs"),
            text.replacen(placeholder, &block_macro, 1),
        );
    }

    // mod.rs
    let blocks: Vec<syn::Ident> = manifest
        .blocks
        .keys()
        .map(|b| format_ident!("{b}"))
        .collect();
    let doc_profiles =
        format!(" Every functional block of OCPP {version} generated so far, by name.");
    out.insert(
        "mod.rs".to_owned(),
        render(
            &format!("schemas/{module}.toml"),
            quote! {
                #( pub mod #blocks; )*
                pub mod types;
                #[doc = #doc_profiles]
                pub static PROFILES: &[&::ocpp_messages::Profile] = &[#(&#blocks::PROFILE),*];
            },
        )?,
    );
    Ok((out, action_names))
}

fn render(source: &str, tokens: TokenStream) -> Result<String> {
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
    Ok(format!(
        "// @generated by `cargo xtask codegen` from {source}. Do not edit by hand.\n\n{}",
        space_items(&prettyplease::unparse(&file))
    ))
}

/// A blank line between top-level items, which prettyplease does not put there.
fn space_items(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut previous = "";
    for line in text.lines() {
        let ends_item = previous == "}"
            || previous == ");"
            || (!previous.starts_with(' ') && previous.ends_with(';'));
        let starts_item = !line.starts_with([' ', '}', ')']) && !line.is_empty();
        if ends_item && starts_item {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
        previous = line;
    }
    out
}

/// typify's `impl From<&X> for X`, a clone we do not want in the API.
fn is_from_ref_clone(imp: &syn::ItemImpl) -> bool {
    let Some((path, _)) = &imp.trait_ else {
        return false;
    };
    let text = quote!(#path).to_string();
    text.ends_with("From < & Self >") || text.contains("From < &")
}

/// The shape-only schema handed to typify.
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
            // Constraints are checked by the generated validators; typify would turn them into
            // newtypes or ignore them. Defaults would be invented on decode and written out.
            "maxLength" | "minLength" | "minimum" | "maximum" | "multipleOf" | "minItems"
            | "maxItems" | "additionalItems" | "default" | "description" | "javaType" | "title"
            | "format" => {}
            "additionalProperties" => {}
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
        // Closed objects get `deny_unknown_fields`; open ones a flattened map of the extra
        // members, so vendor data in `customData` survives a round trip.
        let closed = map.get("additionalProperties") == Some(&Value::Bool(false));
        out.insert(
            "additionalProperties".into(),
            if closed { json!(false) } else { json!({}) },
        );
    }
    Ok(out.into())
}

/// The serde name of a field: its `rename`, else its identifier.
fn json_name(field: &syn::Field) -> Option<String> {
    let mut name = None;
    for attr in &field.attrs {
        if attr.path().is_ident("serde") {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    let lit: syn::LitStr = meta.value()?.parse()?;
                    name = Some(lit.value());
                } else if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                Ok(())
            });
        }
    }
    name.or_else(|| field.ident.as_ref().map(ToString::to_string))
}

fn doc_attrs(lines: &[String]) -> Vec<syn::Attribute> {
    lines
        .iter()
        .map(|line| syn::parse_quote!(#[doc = #line]))
        .collect()
}

fn strip_docs(attrs: &mut Vec<syn::Attribute>) {
    attrs.retain(|a| !a.path().is_ident("doc"));
}

fn is_option(ty: &syn::Type) -> bool {
    let text = quote!(#ty).to_string();
    text.starts_with(":: std :: option :: Option <") || text.starts_with("Option <")
}

fn is_string(ty: &syn::Type) -> bool {
    let text = quote!(#ty).to_string();
    text == ":: std :: string :: String" || text == "String"
}

/// Docs, field order, constructors, builders and validators for one type.
fn finish_type(
    rust: &str,
    info: &TypeInfo,
    items: Vec<syn::Item>,
    rust_names: &BTreeMap<String, String>,
    types: &BTreeMap<String, TypeInfo>,
) -> Result<TokenStream> {
    let ident = format_ident!("{rust}");
    let schema = &info.schema;
    let description = schema.get("description").and_then(Value::as_str);
    let mut type_doc = description.map(docs::clean).unwrap_or_default();
    if type_doc.is_empty() {
        type_doc.push(match &info.message_of {
            Some(action) if info.spec_name.ends_with("Request") => {
                format!(" The payload of a `{action}` CALL (the request).")
            }
            Some(action) => {
                format!(" The payload of the CALLRESULT answering `{action}` (the response).")
            }
            None => format!(" `{}` from the OCPP schemas.", info.spec_name),
        });
    }
    let props: Vec<(String, Value)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let prop_doc = |name: &str, prop: &Value| -> Vec<String> {
        let own = prop.get("description").and_then(Value::as_str);
        let via_ref = prop
            .get("$ref")
            .or_else(|| prop.get("items").and_then(|i| i.get("$ref")))
            .and_then(Value::as_str)
            .and_then(|r| ref_name(r).ok())
            .and_then(|n| types.get(n))
            .and_then(|t| t.schema.get("description"))
            .and_then(Value::as_str);
        let mut lines = own.or(via_ref).map(docs::clean).unwrap_or_default();
        if lines.is_empty() {
            lines.push(format!(" The `{name}` member."));
        }
        lines
    };

    let mut out = Vec::new();
    // The schema's description (or a generated sentence) and, where the Rust name differs,
    // the spec name as a doc alias, in place of typify's docs.
    let set_type_docs = |attrs: &mut Vec<syn::Attribute>| {
        strip_docs(attrs);
        let mut docs = doc_attrs(&type_doc);
        if rust != info.spec_name {
            let alias = &info.spec_name;
            docs.push(syn::parse_quote!(#[doc(alias = #alias)]));
        }
        docs.append(attrs);
        *attrs = docs;
    };
    let mut extra_impl = TokenStream::new();
    for mut item in items {
        match &mut item {
            syn::Item::Struct(s) => {
                set_type_docs(&mut s.attrs);
                let syn::Fields::Named(fields) = &mut s.fields else {
                    return Err(format!("{rust}: typify emitted a non-struct shape"));
                };
                // Schema order; the flattened map of extra members last.
                let mut named: Vec<syn::Field> = fields.named.iter().cloned().collect();
                let position = |f: &syn::Field| {
                    json_name(f)
                        .and_then(|n| props.iter().position(|(p, _)| *p == n))
                        .unwrap_or(usize::MAX)
                };
                named.sort_by_key(position);
                for field in &mut named {
                    strip_docs(&mut field.attrs);
                    let name = json_name(field).unwrap_or_default();
                    let lines = match props.iter().find(|(p, _)| *p == name) {
                        Some((_, prop)) => prop_doc(&name, prop),
                        None => vec![
                            " Members beyond those the schema names (kept, never dropped)."
                                .to_owned(),
                        ],
                    };
                    let mut attrs = doc_attrs(&lines);
                    attrs.append(&mut field.attrs);
                    // An optional member of any type may be `null`; serde would read that as
                    // absent and drop it on the way out. Read present values, `null`
                    // included, as `Some`.
                    let untyped = props.iter().any(|(p, prop)| {
                        *p == name && prop.get("type").is_none() && prop.get("$ref").is_none()
                    });
                    if untyped && is_option(&field.ty) {
                        attrs.push(syn::parse_quote!(
                            #[serde(default, deserialize_with = "::ocpp_messages::__private::present")]
                        ));
                    }
                    field.attrs = attrs;
                }
                fields.named = named.iter().cloned().collect();

                // Constructor from the required members (schema order) and builders.
                let mut params = Vec::new();
                let mut inits = Vec::new();
                let mut builders = Vec::new();
                for field in &named {
                    let fident = field.ident.clone().ok_or("unnamed field")?;
                    let ty = &field.ty;
                    let name = json_name(field).unwrap_or_default();
                    if is_option(ty) {
                        inits.push(quote!(#fident: None));
                        let with =
                            format_ident!("with_{}", fident.to_string().trim_start_matches("r#"));
                        let inner = option_inner(ty).ok_or("Option without argument")?;
                        let doc = format!(" Sets `{name}`.");
                        builders.push(if is_string(&inner) {
                            quote! {
                                #[doc = #doc]
                                #[must_use]
                                pub fn #with(mut self, #fident: impl Into<::std::string::String>) -> Self {
                                    self.#fident = Some(#fident.into());
                                    self
                                }
                            }
                        } else {
                            quote! {
                                #[doc = #doc]
                                #[must_use]
                                pub fn #with(mut self, #fident: #inner) -> Self {
                                    self.#fident = Some(#fident);
                                    self
                                }
                            }
                        });
                    } else if required.contains(&name) {
                        if is_string(ty) {
                            params.push(quote!(#fident: impl Into<::std::string::String>));
                            inits.push(quote!(#fident: #fident.into()));
                        } else {
                            params.push(quote!(#fident: #ty));
                            inits.push(quote!(#fident));
                        }
                    } else {
                        // The flattened map of extra members.
                        inits.push(quote!(#fident: Default::default()));
                    }
                }
                let new_doc = if params.is_empty() {
                    format!(" A `{rust}` with no optional member set.")
                } else {
                    format!(" A `{rust}` from its required members, in schema order; optional members are unset.")
                };
                let too_many =
                    (params.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
                extra_impl.extend(quote! {
                    impl #ident {
                        #[doc = #new_doc]
                        #too_many
                        pub fn new(#(#params),*) -> Self {
                            Self { #(#inits),* }
                        }
                        #(#builders)*
                    }
                });
            }
            syn::Item::Enum(e) => {
                set_type_docs(&mut e.attrs);
                for variant in &mut e.variants {
                    let mut wire = variant.ident.to_string();
                    for attr in &variant.attrs {
                        if attr.path().is_ident("serde") {
                            let _ = attr.parse_nested_meta(|meta| {
                                if meta.path.is_ident("rename") {
                                    wire = meta.value()?.parse::<syn::LitStr>()?.value();
                                }
                                Ok(())
                            });
                        }
                    }
                    strip_docs(&mut variant.attrs);
                    let doc = format!(" `{wire}`");
                    variant.attrs.insert(0, syn::parse_quote!(#[doc = #doc]));
                }
            }
            _ => {}
        }
        out.push(quote!(#item));
    }

    let schema_tokens = schema_expr(schema, rust_names, &info.spec_name)?;
    let message = info
        .message_of
        .as_ref()
        .map(|_| quote!(impl ::ocpp_messages::Message for #ident {}));
    Ok(quote! {
        #(#out)*
        #extra_impl
        impl ::ocpp_messages::validate::HasSchema for #ident {
            const SCHEMA: &'static ::ocpp_messages::validate::Schema = #schema_tokens;
        }
        #message
    })
}

fn option_inner(ty: &syn::Type) -> Option<syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

/// A test support file: a handler implementing every method of every block for both roles,
/// recording which method a CALL reached, and the dispatchers serving it.
fn recorder(manifest: &Manifest, names: &ActionNames) -> Result<String> {
    use heck::ToSnakeCase;
    let module = format_ident!("{}", manifest.module);
    let mut impls = Vec::new();
    let mut csms_services = Vec::new();
    let mut station_services = Vec::new();
    for (block, b) in &manifest.blocks {
        let block = format_ident!("{block}");
        let mut csms_methods = Vec::new();
        let mut station_methods = Vec::new();
        for (action, initiator) in &b.actions {
            let method = format_ident!("on_{}", action.to_snake_case());
            let [_, req, resp] = &names[action];
            let (req, resp) = (format_ident!("{req}"), format_ident!("{resp}"));
            if *initiator != Initiator::Csms {
                csms_methods.push(quote! {
                    async fn #method(&self, charging_station_id: &str, _request: #block::#req)
                        -> Result<#block::#resp, CallError> {
                        self.record(#action, Some(charging_station_id))
                    }
                });
            }
            if *initiator != Initiator::ChargingStation {
                station_methods.push(quote! {
                    async fn #method(&self, _request: #block::#req) -> Result<#block::#resp, CallError> {
                        self.record(#action, None)
                    }
                });
            }
        }
        impls.push(quote! {
            impl #block::CsmsHandler for Recorder { #(#csms_methods)* }
            impl #block::ChargingStationHandler for Recorder { #(#station_methods)* }
        });
        csms_services.push(quote!(.with(#block::CsmsService(Arc::clone(recorder)))));
        station_services.push(quote!(.with(#block::ChargingStationService(Arc::clone(recorder)))));
    }
    let version = format_ident!("V{}", manifest.version.replace('.', "_"));
    let tokens = quote! {
        #![doc = " A handler for every action of both roles that records which method each CALL reaches."]
        #![allow(dead_code)]
        use std::sync::{Arc, Mutex};
        use ocpp_messages::dispatch::Dispatcher;
        use ocpp_messages::v2_0_1::*;
        use ocpp_messages::{CallError, ErrorCode, OcppVersion, Role};

        #[doc = " Records `(action, charging station id)` for every method called, and answers each with a `GenericError` naming the action."]
        #[derive(Default)]
        pub struct Recorder {
            pub calls: Mutex<Vec<(&'static str, Option<String>)>>,
        }

        impl Recorder {
            fn record<T>(&self, action: &'static str, charging_station_id: Option<&str>) -> Result<T, CallError> {
                self.calls.lock().unwrap().push((action, charging_station_id.map(str::to_owned)));
                Err(CallError::new(ErrorCode::GenericError, action))
            }
        }

        #(#impls)*

        #[doc = " A CSMS dispatcher with every block served by `recorder`."]
        pub fn csms_dispatcher(recorder: &Arc<Recorder>) -> Dispatcher {
            Dispatcher::new(OcppVersion::#version, Role::Csms) #(#csms_services)*
        }

        #[doc = " A charging-station dispatcher with every block served by `recorder`."]
        pub fn charging_station_dispatcher(recorder: &Arc<Recorder>) -> Dispatcher {
            Dispatcher::new(OcppVersion::#version, Role::ChargingStation) #(#station_services)*
        }
    };
    let text = render(&format!("schemas/{}.toml", manifest.module), tokens)?;
    Ok(text.replace(
        "use ocpp_messages::v2_0_1::*;",
        &format!("use ocpp_messages::{module}::*;"),
    ))
}
