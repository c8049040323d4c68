//! All schema files of one version, merged into one set of definitions.
//!
//! Every file of a 2.x version repeats the definitions it uses (`CustomDataType`,
//! `StatusInfoType`, the enums...). They are merged here so that each appears once; two files
//! defining the same name with a different structure (ignoring `description` and `javaType`)
//! is an error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Map, Value};

use crate::Result;

/// One message schema file: `<Action>Request.json` or `<Action>Response.json`.
#[derive(Debug)]
pub struct MessageSchema {
    /// The file name, e.g. `SignCertificateRequest.json`.
    pub file: String,
    /// The root schema without `$schema`, `$id`, `comment` and `definitions`.
    pub root: Value,
}

/// A version's schemas: every message, every definition once.
#[derive(Debug)]
pub struct SchemaSet {
    /// By message name (`SignCertificateRequest`), sorted.
    pub messages: BTreeMap<String, MessageSchema>,
    /// By definition name as written in the schemas (`CustomDataType`), sorted.
    pub definitions: BTreeMap<String, Value>,
    /// Definition name -> the files that define it.
    pub defined_in: BTreeMap<String, BTreeSet<String>>,
}

impl SchemaSet {
    /// Loads every `*.json` file of `dir`, in sorted order.
    pub fn load(dir: &Path) -> Result<SchemaSet> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        let mut set = SchemaSet {
            messages: BTreeMap::new(),
            definitions: BTreeMap::new(),
            defined_in: BTreeMap::new(),
        };
        for path in files {
            let file = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| format!("{}: file name is not UTF-8", path.display()))?
                .to_owned();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let mut root: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let Some(obj) = root.as_object_mut() else {
                return Err(format!("{file}: the root schema is not an object"));
            };
            for key in ["$schema", "$id", "comment", "title"] {
                obj.remove(key);
            }
            if let Some(defs) = obj.remove("definitions") {
                let Value::Object(defs) = defs else {
                    return Err(format!("{file}: `definitions` is not an object"));
                };
                for (name, def) in defs {
                    set.add_definition(&file, name, def)?;
                }
            }
            let name = file.trim_end_matches(".json").to_owned();
            set.messages.insert(name, MessageSchema { file, root });
        }
        Ok(set)
    }

    fn add_definition(&mut self, file: &str, name: String, def: Value) -> Result<()> {
        if let Some(existing) = self.definitions.get(&name) {
            if structure(existing) != structure(&def) {
                let first = self.defined_in[&name]
                    .iter()
                    .next()
                    .cloned()
                    .unwrap_or_default();
                return Err(format!(
                    "definition {name} differs between {first} and {file}; \
                     the merged type space needs one structure per name"
                ));
            }
        } else {
            self.definitions.insert(name.clone(), def);
        }
        self.defined_in
            .entry(name)
            .or_default()
            .insert(file.to_owned());
        Ok(())
    }

    /// The definition names `schema` refers to, directly or through other definitions.
    pub fn reachable(&self, schema: &Value) -> Result<BTreeSet<String>> {
        let mut found = BTreeSet::new();
        let mut todo = Vec::new();
        collect_refs(schema, &mut todo)?;
        while let Some(name) = todo.pop() {
            if found.insert(name.clone()) {
                let def = self
                    .definitions
                    .get(&name)
                    .ok_or_else(|| format!("reference to undefined definition {name}"))?;
                collect_refs(def, &mut todo)?;
            }
        }
        Ok(found)
    }
}

/// The definition name of a `#/definitions/Name` reference.
pub fn ref_name(reference: &str) -> Result<&str> {
    reference
        .strip_prefix("#/definitions/")
        .ok_or_else(|| format!("unsupported $ref {reference:?}: only #/definitions/... is"))
}

fn collect_refs(schema: &Value, out: &mut Vec<String>) -> Result<()> {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(ref_name(r)?.to_owned());
            }
            for (key, value) in map {
                if key != "enum" && key != "required" {
                    collect_refs(value, out)?;
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_refs(item, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The schema without its documentation (`description`, `javaType`), for comparing structure.
fn structure(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| *k != "description" && *k != "javaType")
                .map(|(k, v)| {
                    // Property names are data, not keywords: keep them all.
                    let v = if k == "properties" {
                        match v {
                            Value::Object(props) => Value::Object(
                                props
                                    .iter()
                                    .map(|(p, s)| (p.clone(), structure(s)))
                                    .collect::<Map<_, _>>(),
                            ),
                            other => other.clone(),
                        }
                    } else {
                        structure(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(structure).collect()),
        other => other.clone(),
    }
}
