//! All schema files of one version, merged into one set of definitions.
//!
//! Every file of a 2.x version repeats the definitions it uses (`CustomDataType`,
//! `StatusInfoType`, the enums...). They are merged here so that each appears once; two files
//! defining the same name with a different structure (ignoring `description` and `javaType`)
//! is an error.
//!
//! OCPP 1.6 writes its enums and nested objects inline, without names. The manifest's `[inline]`
//! table names each location; here every inline enum or object is moved into the definitions
//! under that name and replaced by a `$ref`, innermost first, so the rest of the generator sees
//! named definitions only. Locations given one name must have one structure (the check above),
//! which is how one Rust type is shared where the specification has one type.
//!
//! Each file's `$schema` says its draft. It matters for one keyword: draft-04 counts as an
//! `integer` only a number written without a fraction or exponent (`5.0` is not one), draft-06
//! any number with a zero fractional part.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::Result;

/// The JSON Schema draft a file declares in `$schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draft {
    Draft04,
    Draft06,
}

/// One message schema file: `<Action>Request.json` or `<Action>Response.json` (OCPP 1.6:
/// `<Action>.json` for the request).
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
    /// File name -> its draft.
    pub drafts: BTreeMap<String, Draft>,
    /// Definition name -> the inline locations it was named for (OCPP 1.6), in file order.
    pub inline_at: BTreeMap<String, Vec<String>>,
}

impl SchemaSet {
    /// Loads every `*.json` file of `dir`, in sorted order, naming inline enums and objects
    /// by `inline` (location -> definition name; `table` names it in errors).
    pub fn load(dir: &Path, inline: &BTreeMap<String, String>, table: &str) -> Result<SchemaSet> {
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
            drafts: BTreeMap::new(),
            inline_at: BTreeMap::new(),
        };
        let mut named = BTreeSet::new();
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
            let draft = match obj.get("$schema").and_then(Value::as_str) {
                Some("http://json-schema.org/draft-04/schema#") => Draft::Draft04,
                Some("http://json-schema.org/draft-06/schema#") => Draft::Draft06,
                other => return Err(format!("{file}: unsupported $schema {other:?}")),
            };
            set.drafts.insert(file.clone(), draft);
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
            let stem = file.trim_end_matches(".json");
            let hoisted = set.hoist_children(&file, &mut root, stem, inline, table)?;
            named.extend(hoisted);
            // 1.6 names a request file after its action alone.
            let name = if stem.ends_with("Request") || stem.ends_with("Response") {
                stem.to_owned()
            } else {
                format!("{stem}Request")
            };
            set.messages.insert(name, MessageSchema { file, root });
        }
        if let Some(stale) = inline.keys().find(|k| !named.contains(*k)) {
            return Err(format!(
                "the {table} names {stale}, where no schema has an inline enum or object"
            ));
        }
        Ok(set)
    }

    /// Moves the inline enums and objects below `node` (at location `at`) into the
    /// definitions; returns the locations named.
    fn hoist_children(
        &mut self,
        file: &str,
        node: &mut Value,
        at: &str,
        inline: &BTreeMap<String, String>,
        table: &str,
    ) -> Result<Vec<String>> {
        let mut named = Vec::new();
        let Some(map) = node.as_object_mut() else {
            return Ok(named);
        };
        if let Some(Value::Object(props)) = map.get_mut("properties") {
            for (member, prop) in props.iter_mut() {
                let at = format!("{at}.{member}");
                named.extend(self.hoist(file, prop, &at, inline, table)?);
            }
        }
        if let Some(items) = map.get_mut("items") {
            named.extend(self.hoist(file, items, &format!("{at}[]"), inline, table)?);
        }
        Ok(named)
    }

    /// Names `node` if it is an inline enum or object, after its children.
    fn hoist(
        &mut self,
        file: &str,
        node: &mut Value,
        at: &str,
        inline: &BTreeMap<String, String>,
        table: &str,
    ) -> Result<Vec<String>> {
        let mut named = self.hoist_children(file, node, at, inline, table)?;
        let is_definition = node.get("enum").is_some()
            || node.get("type").and_then(Value::as_str) == Some("object");
        if is_definition {
            let name = inline.get(at).ok_or_else(|| {
                format!(
                    "{file}: the inline {} at {at} has no name; add it to the {table}",
                    if node.get("enum").is_some() {
                        "enum"
                    } else {
                        "object"
                    }
                )
            })?;
            let reference = json!({ "$ref": format!("#/definitions/{name}") });
            let definition = std::mem::replace(node, reference);
            self.add_definition(file, name.clone(), definition)?;
            self.inline_at
                .entry(name.clone())
                .or_default()
                .push(at.to_owned());
            named.push(at.to_owned());
        }
        Ok(named)
    }

    /// The draft of a message's or definition's schema: that of the files defining it, which
    /// must agree.
    pub fn draft(&self, spec: &str) -> Result<Draft> {
        let files: Vec<&String> = match self.messages.get(spec) {
            Some(message) => vec![&message.file],
            None => self.defined_in.get(spec).into_iter().flatten().collect(),
        };
        let mut drafts = files.iter().map(|f| self.drafts[f.as_str()]);
        let first = drafts
            .next()
            .ok_or_else(|| format!("{spec}: no schema file defines it"))?;
        if drafts.any(|d| d != first) {
            return Err(format!("{spec} is defined by files of different drafts"));
        }
        Ok(first)
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
                     the merged type space needs one structure per name (OCPP 1.6: give \
                     the inline locations different names)"
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use serde_json::json;

    use super::{Draft, SchemaSet};

    /// A folder with 1.6-style files (inline enums and objects), written fresh per test.
    fn folder(test: &str, files: &[(&str, serde_json::Value)]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("xtask-schema-set-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, schema) in files {
            std::fs::write(dir.join(name), schema.to_string()).unwrap();
        }
        dir
    }

    fn status(values: &[&str]) -> serde_json::Value {
        json!({"type": "string", "additionalProperties": false, "enum": values})
    }

    fn files() -> Vec<(&'static str, serde_json::Value)> {
        let draft4 = "http://json-schema.org/draft-04/schema#";
        vec![
            (
                "Authorize.json",
                json!({"$schema": draft4, "type": "object", "properties": {"idTag": {"type": "string"}}}),
            ),
            (
                "AuthorizeResponse.json",
                json!({"$schema": draft4, "type": "object", "properties": {
                    "idTagInfo": {"type": "object", "properties": {
                        "status": status(&["Accepted", "Blocked"])
                    }}
                }}),
            ),
            (
                "StartTransactionResponse.json",
                json!({"$schema": draft4, "type": "object", "properties": {
                    "idTagInfo": {"type": "object", "properties": {
                        "status": status(&["Accepted", "Blocked"])
                    }}
                }}),
            ),
        ]
    }

    fn table(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const FULL: &[(&str, &str)] = &[
        ("AuthorizeResponse.idTagInfo", "IdTagInfo"),
        ("AuthorizeResponse.idTagInfo.status", "AuthorizationStatus"),
        ("StartTransactionResponse.idTagInfo", "IdTagInfo"),
        (
            "StartTransactionResponse.idTagInfo.status",
            "AuthorizationStatus",
        ),
    ];

    /// Inline definitions become named ones, shared where named alike; requests are named
    /// `<Action>Request`; the draft is read per file.
    #[test]
    fn inline_definitions_are_named_by_the_table() {
        let dir = folder("named", &files());
        let set = SchemaSet::load(&dir, &table(FULL), "[inline] table").unwrap();
        let messages: Vec<&str> = set.messages.keys().map(String::as_str).collect();
        assert_eq!(
            messages,
            [
                "AuthorizeRequest",
                "AuthorizeResponse",
                "StartTransactionResponse"
            ]
        );
        let defs: Vec<&str> = set.definitions.keys().map(String::as_str).collect();
        assert_eq!(defs, ["AuthorizationStatus", "IdTagInfo"]);
        assert_eq!(set.defined_in["IdTagInfo"].len(), 2);
        assert_eq!(
            set.messages["AuthorizeResponse"].root["properties"]["idTagInfo"],
            json!({"$ref": "#/definitions/IdTagInfo"})
        );
        assert_eq!(
            set.definitions["IdTagInfo"]["properties"]["status"],
            json!({"$ref": "#/definitions/AuthorizationStatus"})
        );
        assert_eq!(set.draft("IdTagInfo").unwrap(), Draft::Draft04);
        assert_eq!(set.draft("AuthorizeRequest").unwrap(), Draft::Draft04);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The table must name every inline definition and nothing else, and locations named
    /// alike must agree.
    #[test]
    fn the_table_covers_exactly_the_inline_definitions() {
        let dir = folder("cover", &files());
        let err = SchemaSet::load(&dir, &table(&FULL[..3]), "[inline] table").unwrap_err();
        assert!(
            err.contains("inline enum at StartTransactionResponse.idTagInfo.status has no name"),
            "{err}"
        );
        let stale = [FULL, &[("Authorize.idTag", "IdToken")]].concat();
        let err = SchemaSet::load(&dir, &table(&stale), "[inline] table").unwrap_err();
        assert!(
            err.contains("names Authorize.idTag, where no schema"),
            "{err}"
        );

        let mut different = files();
        different[2].1["properties"]["idTagInfo"]["properties"]["status"] =
            status(&["Accepted", "Expired"]);
        let dir2 = folder("differ", &different);
        let err = SchemaSet::load(&dir2, &table(FULL), "[inline] table").unwrap_err();
        assert!(
            err.contains("definition AuthorizationStatus differs"),
            "{err}"
        );
        for d in [dir, dir2] {
            std::fs::remove_dir_all(d).unwrap();
        }
    }
}
