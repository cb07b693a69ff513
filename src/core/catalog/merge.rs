//! The catalog's text read, overrides merged over it, and every entry resolved per
//! platform, each problem named by its path (`id.platform.field`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::date::Date;
use super::entry::{err, CatalogError, Entry, Price, Stage};
use crate::core::backend::Backend;
use crate::core::backend::Platform;

/// The fields of an entry; all but `backend` may differ per platform.
const FIELDS: [&str; 11] = [
    "backend",
    "stage",
    "released",
    "deprecated",
    "shutdown",
    "replacement",
    "default",
    "price",
    "source",
    "checked",
    "note",
];

type Raw = Map<String, Value>;

/// `models.toml`: its `[models."id"]` tables.
pub(super) fn read_toml(text: &str) -> Result<Raw, CatalogError> {
    let doc: Value = toml::from_str(text).map_err(|e| err("models.toml", &e.to_string()))?;
    match doc.get("models") {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(err("models.toml", "expected [models.\"<id>\"] tables")),
    }
}

/// `MODEL_CATALOG_JSON`: an object keyed by model id.
pub(super) fn read_json(text: &str) -> Result<Raw, CatalogError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(err("(the value)", "expected a JSON object keyed by model id")),
        Err(e) => Err(err("(the value)", &format!("not JSON: {e}"))),
    }
}

/// Merges `over` into `raw`: a platform's table field by field; a field given for the model
/// as a whole replaces it on every platform too (`null` clears it).
pub(super) fn apply(raw: &mut Raw, over: Raw) -> Result<(), CatalogError> {
    for (id, fields) in over {
        let Value::Object(fields) = fields else {
            return Err(err(&id, "expected an object of catalog fields, e.g. {\"stage\": \"ga\", \"shutdown\": null}"));
        };
        let model = raw.entry(id.clone()).or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(model) = model else { return Err(err(&id, "expected an object")) };
        for (key, value) in fields {
            if Platform::parse(&key).is_some() {
                let Value::Object(block) = value else {
                    return Err(err(&format!("{id}.{key}"), "expected an object of catalog fields"));
                };
                let target = model.entry(key).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(t) = target {
                    t.extend(block);
                }
                continue;
            }
            for block in model.values_mut().filter_map(Value::as_object_mut) {
                if block.contains_key(&key) {
                    block.insert(key.clone(), value.clone());
                }
            }
            model.insert(key, value);
        }
    }
    Ok(())
}

/// Every model on every platform it is offered on.
pub(super) fn resolve(raw: &Raw) -> Result<BTreeMap<(String, Platform), Entry>, CatalogError> {
    let mut out = BTreeMap::new();
    for (id, model) in raw {
        let Value::Object(model) = model else { return Err(err(id, "expected a table of catalog fields")) };
        let mut blocks = Vec::new();
        for (key, value) in model {
            match (Platform::parse(key), value) {
                (Some(p), Value::Object(b)) => blocks.push((p, b)),
                (Some(_), _) => return Err(err(&format!("{id}.{key}"), "expected a table of catalog fields")),
                (None, _) if FIELDS.contains(&key.as_str()) => {}
                (None, _) => return Err(unknown(&format!("{id}.{key}"))),
            }
        }
        let backend = match model.get("backend") {
            Some(Value::String(b)) => Backend::parse(b).map_err(|e| err(&format!("{id}.backend"), &e))?,
            _ => return Err(err(&format!("{id}.backend"), "required: the backend that calls this model")),
        };
        let empty = Map::new();
        if blocks.is_empty() {
            blocks = backend.platforms().iter().map(|p| (*p, &empty)).collect();
        }
        for (platform, block) in blocks {
            let entry = entry(id, backend, platform, model, block)?;
            out.insert((id.clone(), platform), entry);
        }
    }
    Ok(out)
}

fn unknown(path: &str) -> CatalogError {
    let platforms = Platform::ALL.map(Platform::name).join(", ");
    err(path, &format!("unknown field; use {} or a platform ({platforms})", FIELDS.join(", ")))
}

/// One model on one platform: the platform's field, else the model's.
fn entry(id: &str, backend: Backend, platform: Platform, model: &Raw, block: &Raw) -> Result<Entry, CatalogError> {
    if let Some(bad) = block.keys().find(|k| !FIELDS.contains(&k.as_str()) || *k == "backend") {
        return Err(unknown(&format!("{id}.{platform}.{bad}")));
    }
    let at = Fields { id, platform, model, block };
    let stage = match at.string("stage")? {
        Some(s) => serde_json::from_value::<Stage>(Value::String(s.clone()))
            .map_err(|_| at.bad("stage", &format!("{s:?}: use preview, ga, deprecated or retired")))?,
        None => return Err(at.bad("stage", "required: preview, ga, deprecated or retired")),
    };
    let price = match at.get("price") {
        None => Price::default(),
        Some(v) => serde_json::from_value::<Price>(v.clone()).map_err(|e| at.bad("price", &e.to_string()))?,
    };
    let default = match at.get("default") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(at.bad("default", "expected true or false")),
    };
    Ok(Entry {
        id: id.to_owned(),
        backend,
        platform,
        stage,
        released: at.date("released")?,
        deprecated: at.date("deprecated")?,
        shutdown: at.date("shutdown")?,
        replacement: at.string("replacement")?.cloned(),
        default,
        price,
        source: at.string("source")?.cloned(),
        checked: at.date("checked")?,
        note: at.string("note")?.cloned(),
    })
}

struct Fields<'a> {
    id: &'a str,
    platform: Platform,
    model: &'a Raw,
    block: &'a Raw,
}

impl<'a> Fields<'a> {
    /// The field on this platform, else on the model; `null` is absent.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.block.get(name).or_else(|| self.model.get(name)).filter(|v| !v.is_null())
    }

    fn bad(&self, name: &str, reason: &str) -> CatalogError {
        err(&format!("{}.{}.{name}", self.id, self.platform), reason)
    }

    fn string(&self, name: &str) -> Result<Option<&'a String>, CatalogError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.bad(name, "expected a string")),
        }
    }

    fn date(&self, name: &str) -> Result<Option<Date>, CatalogError> {
        match self.string(name) {
            Ok(None) => Ok(None),
            Ok(Some(s)) => {
                Date::parse(s).map(Some).ok_or_else(|| self.bad(name, &format!("{s:?} is not a day (YYYY-MM-DD)")))
            }
            Err(_) => Err(self.bad(name, "expected a day as \"YYYY-MM-DD\", or null")),
        }
    }
}
