//! The model catalog: every model id the function knows, its lifecycle on each platform
//! (stage, release, deprecation and shutdown days), the replacement its vendor names, its
//! price and its source. The data is `models.toml`, compiled in; `MODEL_CATALOG_JSON` merges
//! corrections and private entries over it at start ([`Catalog::with_overrides`]). Pure: the
//! day a verdict is for is given ([`Catalog::verdict`]).

mod date;
mod entry;
mod merge;

use std::collections::BTreeMap;

pub use crate::core::backend::{Backend, Platform};

pub use date::Date;
use entry::err;
pub use entry::{CatalogError, Entry, Price, Stage};

/// The compiled catalog's text.
pub const MODELS_TOML: &str = include_str!("../../../models.toml");

/// What the catalog says of a model on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Offered, with no shutdown inside the warning window.
    Live,
    /// Deprecated, or shutting down within the warning window: still called, with a warning.
    Retiring { shutdown: Option<Date>, days_left: Option<i64>, replacement: Option<String> },
    /// Retired, or past its shutdown day: skipped with no call.
    Retired { since: Option<Date>, replacement: Option<String> },
    /// Not in the catalog (a private or new model): called, with nothing known of its dates.
    Unlisted,
}

impl Verdict {
    pub fn callable(&self) -> bool {
        !matches!(self, Verdict::Retired { .. })
    }
}

/// Every model, by id and platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    entries: BTreeMap<(String, Platform), Entry>,
}

impl Catalog {
    /// `models.toml` as compiled in (a test holds it valid), read once per process.
    pub fn compiled() -> &'static Catalog {
        static COMPILED: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        COMPILED.get_or_init(|| Catalog::with_overrides(None).expect("models.toml is valid (a test checks it)"))
    }

    /// `models.toml` with `MODEL_CATALOG_JSON` merged over it.
    pub fn with_overrides(overrides: Option<&str>) -> Result<Catalog, CatalogError> {
        let mut raw = merge::read_toml(MODELS_TOML)?;
        if let Some(json) = overrides {
            merge::apply(&mut raw, merge::read_json(json)?)?;
        }
        let entries = merge::resolve(&raw)?;
        let catalog = Catalog { entries };
        catalog.check()?;
        Ok(catalog)
    }

    /// Every replacement is a model of the catalog, and a backend has at most one default
    /// per platform.
    fn check(&self) -> Result<(), CatalogError> {
        let mut defaults: BTreeMap<(Backend, Platform), &str> = BTreeMap::new();
        for e in self.entries.values() {
            let path = format!("{}.{}", e.id, e.platform);
            if let Some(r) = &e.replacement {
                if !self.entries.keys().any(|(id, _)| id == r) {
                    return Err(err(&format!("{path}.replacement"), &format!("{r:?} is not a model of the catalog")));
                }
            }
            if e.price.all().iter().any(|x| !x.is_finite() || *x < 0.0) {
                return Err(err(&format!("{path}.price"), "prices are USD amounts of 0 or more"));
            }
            if e.default {
                if let Some(other) = defaults.insert((e.backend, e.platform), &e.id) {
                    let why = format!(
                        "{} already is the default of {} on {}; a backend has one",
                        other, e.backend, e.platform
                    );
                    return Err(err(&format!("{path}.default"), &why));
                }
            }
        }
        Ok(())
    }

    pub fn entry(&self, id: &str, platform: Platform) -> Option<&Entry> {
        self.entries.get(&(id.to_owned(), platform))
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// The backend's default model on `platform`, if the catalog names one.
    pub fn default_model(&self, backend: Backend, platform: Platform) -> Option<&str> {
        self.entries
            .values()
            .find(|e| e.backend == backend && e.platform == platform && e.default)
            .map(|e| e.id.as_str())
    }

    /// What the catalog says of `id` on `platform` on `today`, warning `warning_days` ahead.
    pub fn verdict(&self, id: &str, platform: Platform, today: Date, warning_days: u32) -> Verdict {
        let Some(e) = self.entry(id, platform) else { return Verdict::Unlisted };
        let replacement = e.replacement.clone();
        let days_left = e.shutdown.map(|s| today.days_until(s));
        if e.stage == Stage::Retired || days_left.is_some_and(|d| d <= 0) {
            return Verdict::Retired { since: e.shutdown, replacement };
        }
        let near = days_left.is_some_and(|d| d <= warning_days as i64);
        if near || e.stage == Stage::Deprecated {
            return Verdict::Retiring { shutdown: e.shutdown, days_left, replacement };
        }
        Verdict::Live
    }

    /// The price of `id` on `platform`: its own, else the backend's default model's there
    /// (an unlisted model is estimated like the model it most likely replaces).
    pub fn price(&self, backend: Backend, id: &str, platform: Platform) -> Price {
        self.entry(id, platform)
            .or_else(|| self.default_model(backend, platform).and_then(|d| self.entry(d, platform)))
            .map(|e| e.price)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
