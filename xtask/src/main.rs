//! Project automation: `cargo xtask codegen [--check]`, `cargo xtask layers`.
//!
//! `codegen` turns the vendored OCPP schemas in `schemas/` into the checked-in Rust code under
//! `ocpp-messages/src/<version>/generated/`. With `--check` it writes nothing and fails if any
//! generated file is stale or orphaned.
//!
//! `layers` fails on a cycle between the top-level modules of any crate, and on a module of
//! `ocpp-messages` that uses a layer above its own in the table of its crate docs (see
//! `layers.rs`).

mod codegen;
mod constraints;
mod docs;
mod emit;
mod layers;
mod manifest;
mod model;
mod schema_diff;
mod schema_set;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["codegen"] => codegen::run(&project_root(), Mode::Write),
        ["codegen", "--check"] => codegen::run(&project_root(), Mode::Check),
        ["layers"] => layers::run(&project_root()),
        ["schema-diff", old, new] => schema_diff::run(&project_root(), old, new),
        _ => {
            eprintln!(
                "usage: cargo xtask codegen [--check] | cargo xtask layers \
                 | cargo xtask schema-diff <old> <new>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Whether generated files are written or only compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite files whose contents differ, delete orphans.
    Write,
    /// Change nothing; fail naming every stale or orphaned file.
    Check,
}

/// The workspace root (the parent of this crate's directory).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// An error with a message for the person running the command.
pub type Result<T, E = String> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{codegen, project_root, Mode};

    /// `cargo test --workspace` fails when the checked-in generated code is stale.
    #[test]
    fn generated_code_is_fresh() {
        if let Err(e) = codegen::run(&project_root(), Mode::Check) {
            panic!("{e}");
        }
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    /// `--check` names every edited, missing and orphaned file; write mode repairs them.
    #[test]
    fn check_fails_after_edits() {
        let root = std::env::temp_dir().join(format!("xtask-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        copy_dir(&project_root().join("schemas"), &root.join("schemas"));
        let generated = "ocpp-messages/src/v2_0_1/generated";
        for dir in [
            "ocpp-messages/src/v1_6/generated",
            generated,
            "ocpp-messages/src/v2_1/generated",
            "ocpp-messages/tests/generated",
        ] {
            copy_dir(&project_root().join(dir), &root.join(dir));
        }
        codegen::run(&root, Mode::Check).expect("a fresh copy passes the check");

        let dir = root.join(generated);
        let security = dir.join("security.rs");
        let edited = std::fs::read_to_string(&security).unwrap() + "// hand edit\n";
        std::fs::write(&security, edited).unwrap();
        std::fs::remove_file(dir.join("types.rs")).unwrap();
        std::fs::write(dir.join("stray.rs"), "").unwrap();
        let err = codegen::run(&root, Mode::Check).unwrap_err();
        assert!(err.contains("generated/security.rs: stale"), "{err}");
        assert!(err.contains("generated/types.rs: missing"), "{err}");
        assert!(err.contains("generated/stray.rs: orphaned"), "{err}");
        assert!(err.contains("run `cargo xtask codegen`"), "{err}");

        codegen::run(&root, Mode::Write).unwrap();
        codegen::run(&root, Mode::Check).expect("write mode repairs everything");
        std::fs::remove_dir_all(&root).unwrap();
    }
}

#[cfg(test)]
mod schema_hashes {
    use sha2::{Digest, Sha256};
    use std::collections::BTreeSet;

    /// Every vendored schema file is listed in schemas/NOTICE with its SHA-256, and no listed
    /// file is missing or edited.
    #[test]
    fn vendored_schemas_match_notice() {
        let schemas = super::project_root().join("schemas");
        let notice = std::fs::read_to_string(schemas.join("NOTICE")).expect("schemas/NOTICE");
        let mut listed = BTreeSet::new();
        for line in notice.lines() {
            let Some((hash, path)) = line.split_once("  ") else {
                continue;
            };
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let bytes = std::fs::read(schemas.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
            let actual = format!("{:x}", Sha256::digest(&bytes));
            assert_eq!(
                actual, hash,
                "schemas/{path} differs from the vendored file"
            );
            listed.insert(path.to_owned());
        }
        let mut on_disk = BTreeSet::new();
        for dir in ["v1_6", "v2_0_1", "v2_1"] {
            for entry in std::fs::read_dir(schemas.join(dir)).expect("schema folder") {
                let name = entry.expect("dir entry").file_name();
                on_disk.insert(format!("{dir}/{}", name.to_string_lossy()));
            }
        }
        assert_eq!(on_disk.len(), 78 + 128 + 181);
        assert_eq!(
            listed, on_disk,
            "schemas/NOTICE and the schema folders disagree"
        );
    }
}
