//! `cargo xtask codegen`: schemas in, checked-in Rust out.
//!
//! Per version (one manifest `schemas/<module>.toml`, one folder `schemas/<module>/`):
//!
//! 1. merge every schema file into one set of definitions ([`SchemaSet`]);
//! 2. build the model ([`model::build`]): one entry per type with its Rust name, spec name,
//!    module (`types` for definitions used by several schema files, else the functional block),
//!    docs, and either fields (JSON name, Rust identifier and type, required, constraints) or
//!    enum variants (wire name, Rust name). Shapes come from typify's type model, read through
//!    `TypeSpace::get_type` / `Type::details` over a copy of the schemas reduced to shapes
//!    (constraints removed, date-times replaced by `ocpp_messages::DateTime`); constraints,
//!    docs and wire names come from the original schemas, and a keyword that is neither a known
//!    constraint nor an annotation is an error. typify's printed code is never used.
//! 3. names: a type's Rust name is its definition name without `EnumType`, else without
//!    `Type`, and depends on nothing else; two definitions with one name are an error unless
//!    the manifest's `[renames]` table names one of them explicitly;
//! 4. emit from the model with `quote!` ([`emit`]): the types with `#[derive(Codec)]` and
//!    `#[ocpp(...)]` attributes carrying wire names and constraints, constructors and `with_`
//!    builders, each block's re-exports of the shared types its messages reach and its
//!    `functional_block!`, and the version's action table in `mod.rs`; every item is
//!    formatted by prettyplease on its own and the file composed with blank lines between;
//! 5. write through [`ensure_file_contents`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::manifest::Manifest;
use crate::schema_set::SchemaSet;
use crate::{emit, model, Mode, Result};

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
        let table = format!("[inline] table of schemas/{}.toml", manifest.module);
        let dir = root.join("schemas").join(&manifest.module);
        let set = SchemaSet::load(&dir, &manifest.inline, &table)?;
        let model = model::build(&set, &manifest)?;
        let files = emit::version_files(&model)?;
        let dir = root
            .join("ocpp-messages/src")
            .join(&manifest.module)
            .join("generated");
        outputs.insert(dir, files);
        if let Some(tests) = outputs.get_mut(&tests_dir) {
            tests.insert(
                format!("{}_recorder.rs", manifest.module),
                emit::recorder(&model)?,
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
