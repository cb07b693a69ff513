//! The catalog's entries: a model's stage, price and resolved lifecycle on one platform, and
//! the error naming a field that does not hold.

use serde::{Deserialize, Serialize};

use super::date::Date;
use crate::core::backend::{Backend, Platform};

/// A model's stage on a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Preview,
    Ga,
    Deprecated,
    Retired,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Preview => "preview",
            Stage::Ga => "ga",
            Stage::Deprecated => "deprecated",
            Stage::Retired => "retired",
        }
    }
}

/// What a model costs, in USD. Backends priced per image read the first four (the large
/// band: above 1024×1024), those priced by token the last two.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Price {
    pub per_image: f64,
    pub per_large_image: f64,
    pub premium_per_image: f64,
    pub premium_per_large_image: f64,
    pub input_per_million_tokens: f64,
    pub output_per_million_tokens: f64,
}

impl Price {
    pub(super) fn all(&self) -> [f64; 6] {
        [
            self.per_image,
            self.per_large_image,
            self.premium_per_image,
            self.premium_per_large_image,
            self.input_per_million_tokens,
            self.output_per_million_tokens,
        ]
    }
}

/// One model on one platform, every field resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub id: String,
    pub backend: Backend,
    pub platform: Platform,
    pub stage: Stage,
    pub released: Option<Date>,
    pub deprecated: Option<Date>,
    pub shutdown: Option<Date>,
    pub replacement: Option<String>,
    /// The backend's default model on this platform.
    pub default: bool,
    pub price: Price,
    pub source: Option<String>,
    pub checked: Option<Date>,
    pub note: Option<String>,
}

/// A catalog or override that does not hold, naming the field (`id.platform.field`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

pub(super) fn err(path: &str, reason: &str) -> CatalogError {
    CatalogError { path: path.to_owned(), reason: reason.to_owned() }
}
