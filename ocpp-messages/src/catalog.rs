//! Layer 9, the catalog: which functional blocks and actions each compiled-in version has, read
//! from the generated version modules.

use crate::feature::{FeatureInfo, Profile};
use crate::spec::OcppVersion;

impl OcppVersion {
    /// The functional blocks this crate has generated for the version (empty for versions not
    /// generated yet).
    pub fn profiles(self) -> &'static [&'static Profile] {
        match self {
            #[cfg(feature = "v1_6")]
            OcppVersion::V1_6 => crate::v1_6::PROFILES,
            #[cfg(feature = "v2_0_1")]
            OcppVersion::V2_0_1 => crate::v2_0_1::PROFILES,
            #[cfg(feature = "v2_1")]
            OcppVersion::V2_1 => crate::v2_1::PROFILES,
        }
    }

    /// The feature with the given action name, if this crate has generated it for the version.
    pub fn feature(self, action: &str) -> Option<&'static FeatureInfo> {
        match self {
            #[cfg(feature = "v1_6")]
            OcppVersion::V1_6 => crate::v1_6::feature(action),
            #[cfg(feature = "v2_0_1")]
            OcppVersion::V2_0_1 => crate::v2_0_1::feature(action),
            #[cfg(feature = "v2_1")]
            OcppVersion::V2_1 => crate::v2_1::feature(action),
        }
    }

    /// Every action this crate has generated for the version (CALLs and SENDs, of every block),
    /// sorted by name.
    pub fn actions(self) -> &'static [&'static str] {
        match self {
            #[cfg(feature = "v1_6")]
            OcppVersion::V1_6 => crate::v1_6::ACTIONS,
            #[cfg(feature = "v2_0_1")]
            OcppVersion::V2_0_1 => crate::v2_0_1::ACTIONS,
            #[cfg(feature = "v2_1")]
            OcppVersion::V2_1 => crate::v2_1::ACTIONS,
        }
    }
}
