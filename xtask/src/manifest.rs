//! The hand-written manifest of a version: functional blocks and who initiates each action.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::Result;

/// `schemas/<module>.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The version as written in the specification, e.g. `2.0.1`.
    pub version: String,
    /// The Rust module and schema folder name, e.g. `v2_0_1`.
    pub module: String,
    /// Rust names for definitions whose default name (the definition name without
    /// `EnumType`, else without `Type`) another definition already has: definition name ->
    /// Rust name. A collision without an entry here is an error.
    #[serde(default)]
    pub renames: BTreeMap<String, String>,
    /// Names for the enums and objects the schemas write inline (OCPP 1.6): location ->
    /// definition name. A location is the file name without `.json`, then the member names
    /// separated by `.`, with `[]` for the items of an array:
    /// `MeterValues.meterValue[].sampledValue[].unit`. Locations given the same name become one
    /// type, and must then have the same structure. An inline enum or object without an entry
    /// here, and an entry that names no inline definition, are errors.
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    /// The functional blocks by module name.
    pub blocks: BTreeMap<String, Block>,
}

/// One functional block.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// One line describing the block, used as the module's doc.
    pub doc: String,
    /// Action name -> initiator.
    pub actions: BTreeMap<String, Initiator>,
    /// OCPP 2.1's SEND-only actions (message type 6, never answered): action name -> who
    /// sends it. Such an action has one schema file, `<Action>.json`.
    #[serde(default)]
    pub sends: BTreeMap<String, Initiator>,
}

/// Who sends the CALL of an action. OCPP 1.6's names, `ChargePoint` and `CentralSystem`, are
/// accepted for the same roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Initiator {
    /// The charging station (1.6: the charge point).
    #[serde(alias = "ChargePoint")]
    ChargingStation,
    /// The CSMS (1.6: the central system).
    #[serde(alias = "CentralSystem")]
    Csms,
    /// Either side.
    Both,
}

impl Initiator {
    pub fn as_str(self) -> &'static str {
        match self {
            Initiator::ChargingStation => "ChargingStation",
            Initiator::Csms => "Csms",
            Initiator::Both => "Both",
        }
    }
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let manifest: Manifest =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut seen = BTreeMap::new();
        for (block, b) in &manifest.blocks {
            for action in b.actions.keys().chain(b.sends.keys()) {
                if let Some(other) = seen.insert(action.clone(), block.clone()) {
                    return Err(format!(
                        "{}: action {action} is in both blocks {other} and {block}",
                        path.display()
                    ));
                }
            }
        }
        Ok(manifest)
    }

    /// The block and sender of every SEND-only action, sorted by action.
    pub fn sends(&self) -> BTreeMap<&str, (&str, Initiator)> {
        self.blocks
            .iter()
            .flat_map(|(block, b)| {
                b.sends
                    .iter()
                    .map(move |(action, init)| (action.as_str(), (block.as_str(), *init)))
            })
            .collect()
    }

    /// The block of every CALL action, sorted by action.
    pub fn actions(&self) -> BTreeMap<&str, (&str, Initiator)> {
        self.blocks
            .iter()
            .flat_map(|(block, b)| {
                b.actions
                    .iter()
                    .map(move |(action, init)| (action.as_str(), (block.as_str(), *init)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{Initiator, Manifest};

    /// Every schema pair of 2.0.1 is in exactly one block, and every action of the manifest has
    /// both schemas; the initiators add up to what the specification assigns.
    #[test]
    fn manifest_2_0_1_covers_the_schema_folder() {
        let root = crate::project_root().join("schemas");
        let manifest = Manifest::load(&root.join("v2_0_1.toml")).expect("manifest");
        let files: BTreeSet<String> = std::fs::read_dir(root.join("v2_0_1"))
            .expect("schema folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        let mut from_manifest = BTreeSet::new();
        for action in manifest.actions().keys() {
            for suffix in ["Request", "Response"] {
                let file = format!("{action}{suffix}.json");
                assert!(files.contains(&file), "{action} has no {file}");
                from_manifest.insert(file);
            }
        }
        assert_eq!(from_manifest, files, "schema files not in any block");
        assert_eq!(manifest.blocks.len(), 16);
        let count = |i| manifest.actions().values().filter(|(_, x)| *x == i).count();
        assert_eq!(count(Initiator::Csms), 39);
        assert_eq!(count(Initiator::ChargingStation), 24);
        assert_eq!(count(Initiator::Both), 1);
    }

    /// Every 1.6 schema file (`Action.json`, `ActionResponse.json`) is in exactly one block:
    /// the 28 actions of the six feature profiles and the 11 of the security extension, with
    /// the initiators of OCPP 1.6 section 4-6 and the security whitepaper.
    #[test]
    fn manifest_1_6_covers_the_schema_folder() {
        let root = crate::project_root().join("schemas");
        let manifest = Manifest::load(&root.join("v1_6.toml")).expect("manifest");
        let files: BTreeSet<String> = std::fs::read_dir(root.join("v1_6"))
            .expect("schema folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        let mut from_manifest = BTreeSet::new();
        for action in manifest.actions().keys() {
            for file in [format!("{action}.json"), format!("{action}Response.json")] {
                assert!(files.contains(&file), "{action} has no {file}");
                from_manifest.insert(file);
            }
        }
        assert_eq!(from_manifest, files, "schema files not in any block");
        let blocks: Vec<&str> = manifest.blocks.keys().map(String::as_str).collect();
        assert_eq!(
            blocks,
            [
                "core",
                "firmware",
                "localauth",
                "remotetrigger",
                "reservation",
                "security",
                "smartcharging"
            ]
        );
        let size = |b: &str| manifest.blocks[b].actions.len();
        assert_eq!(size("core"), 16);
        assert_eq!(size("security"), 11);
        assert_eq!(manifest.actions().len(), 39);
        let count = |i| manifest.actions().values().filter(|(_, x)| *x == i).count();
        assert_eq!(count(Initiator::Csms), 25);
        assert_eq!(count(Initiator::ChargingStation), 13);
        assert_eq!(count(Initiator::Both), 1);
    }
}
