//! Strict reading of a JSON body field by field, with Google's wording for the two errors a
//! proto JSON parser gives: an unknown name, and a value of the wrong type or out of its
//! enum. Every error names the field, so a test (and a developer) sees which one failed.

use serde_json::{Map, Value};

use super::wire::GoogleError;

/// How field paths are spelled in messages. Proto-typed bodies (`generateContent`) are
/// reported the way Google's parser does, in snake_case (`generation_config.image_config`);
/// `:predict` instances and parameters are free-form `Value`s checked by the model server,
/// so their paths keep the JSON names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Naming {
    Json,
    Proto,
}

/// A JSON object being read, with its path from the body's root.
#[derive(Clone)]
pub(super) struct Node<'a> {
    pub(super) obj: &'a Map<String, Value>,
    path: String,
    naming: Naming,
}

fn snake(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl<'a> Node<'a> {
    /// The body's root object.
    pub(super) fn root(v: &'a Value, naming: Naming) -> Result<Node<'a>, GoogleError> {
        Node::at(v, String::new(), naming)
    }

    /// `v` as an object at `path`.
    pub(super) fn at(v: &'a Value, path: String, naming: Naming) -> Result<Node<'a>, GoogleError> {
        match v {
            Value::Object(obj) => Ok(Node { obj, path, naming }),
            other => Err(wrong(naming, &path, "an object", other)),
        }
    }

    /// The path of `key` below this node, spelled for messages.
    pub(super) fn field(&self, key: &str) -> String {
        let p = if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) };
        self.spell(&p)
    }

    /// This node's own path, spelled for messages.
    pub(super) fn here(&self) -> String {
        self.spell(&self.path)
    }

    fn spell(&self, p: &str) -> String {
        spell(self.naming, p)
    }

    fn raw_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// An error about the value of `key`.
    pub(super) fn invalid(&self, key: &str, what: impl std::fmt::Display) -> GoogleError {
        let field = self.field(key);
        GoogleError::invalid(field.clone(), format!("Invalid value at '{field}': {what}"))
    }

    fn wrong(&self, raw: &str, expected: &str, got: &Value) -> GoogleError {
        wrong(self.naming, raw, expected, got)
    }

    /// Refuses any key not in `allowed`, as Google's parser does.
    pub(super) fn only(&self, allowed: &[&str]) -> Result<(), GoogleError> {
        let Some(k) = self.obj.keys().find(|k| !allowed.contains(&k.as_str())) else { return Ok(()) };
        let at = if self.path.is_empty() { String::new() } else { format!(" at '{}'", self.spell(&self.path)) };
        let field = self.field(k);
        Err(GoogleError::invalid(
            field,
            format!("Invalid JSON payload received. Unknown name \"{k}\"{at}: Cannot find field."),
        ))
    }

    /// The object at `key`, if present.
    pub(super) fn child(&self, key: &str) -> Result<Option<Node<'a>>, GoogleError> {
        self.obj.get(key).map(|v| Node::at(v, self.raw_path(key), self.naming)).transpose()
    }

    /// The object at `key`, which must be present.
    pub(super) fn need_child(&self, key: &str) -> Result<Node<'a>, GoogleError> {
        self.child(key)?.ok_or_else(|| self.missing(key))
    }

    /// An error for a required `key` that is absent.
    pub(super) fn missing(&self, key: &str) -> GoogleError {
        let field = self.field(key);
        GoogleError::invalid(field.clone(), format!("Missing required field '{field}'."))
    }

    /// The list at `key` as nodes (each element must be an object), if present.
    pub(super) fn objects(&self, key: &str) -> Result<Option<Vec<Node<'a>>>, GoogleError> {
        let Some(v) = self.obj.get(key) else { return Ok(None) };
        let Value::Array(items) = v else { return Err(self.wrong(&self.raw_path(key), "a list", v)) };
        let nodes = items
            .iter()
            .enumerate()
            .map(|(i, item)| Node::at(item, format!("{}[{i}]", self.raw_path(key)), self.naming))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(nodes))
    }

    /// The list of strings at `key`, if present.
    pub(super) fn strings(&self, key: &str) -> Result<Option<Vec<&'a str>>, GoogleError> {
        let Some(v) = self.obj.get(key) else { return Ok(None) };
        let Value::Array(items) = v else { return Err(self.wrong(&self.raw_path(key), "a list", v)) };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str().ok_or_else(|| self.wrong(&format!("{}[{i}]", self.raw_path(key)), "a string", item))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The string at `key`, if present.
    pub(super) fn string(&self, key: &str) -> Result<Option<&'a str>, GoogleError> {
        match self.obj.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(&self.raw_path(key), "a string", v)),
        }
    }

    /// The boolean at `key`, if present.
    pub(super) fn boolean(&self, key: &str) -> Result<Option<bool>, GoogleError> {
        match self.obj.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(&self.raw_path(key), "a boolean", v)),
        }
    }

    /// The integer at `key`, if present, within `min..=max`.
    pub(super) fn int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, GoogleError> {
        let Some(v) = self.obj.get(key) else { return Ok(None) };
        let n = v.as_i64().ok_or_else(|| self.wrong(&self.raw_path(key), "an integer", v))?;
        if !(min..=max).contains(&n) {
            return Err(self.invalid(key, format!("{n} is out of range; it must be between {min} and {max}.")));
        }
        Ok(Some(n))
    }

    /// The number at `key`, if present, within `min..=max`.
    pub(super) fn number(&self, key: &str, min: f64, max: f64) -> Result<Option<f64>, GoogleError> {
        let Some(v) = self.obj.get(key) else { return Ok(None) };
        let n = v.as_f64().ok_or_else(|| self.wrong(&self.raw_path(key), "a number", v))?;
        if !(min..=max).contains(&n) {
            return Err(self.invalid(key, format!("{n} is out of range; it must be between {min} and {max}.")));
        }
        Ok(Some(n))
    }

    /// The string at `key`, if present, which must be one of `allowed`.
    pub(super) fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<&'a str>, GoogleError> {
        let Some(s) = self.string(key)? else { return Ok(None) };
        if allowed.contains(&s) {
            return Ok(Some(s));
        }
        Err(self.invalid(key, format!("\"{s}\" is not one of {}.", allowed.join(", "))))
    }
}

/// `labels` (a sibling of the request's main fields in both APIs): a map of strings.
pub(super) fn labels(root: &Node) -> Result<(), GoogleError> {
    let Some(l) = root.child("labels")? else { return Ok(()) };
    for k in l.obj.keys() {
        l.string(k)?;
    }
    Ok(())
}

fn spell(naming: Naming, p: &str) -> String {
    match naming {
        Naming::Json => p.to_owned(),
        Naming::Proto => snake(p),
    }
}

/// A value of the wrong JSON type at `raw` (the path as sent).
fn wrong(naming: Naming, raw: &str, expected: &str, got: &Value) -> GoogleError {
    let field = spell(naming, raw);
    let shown = if field.is_empty() { "the request body".to_owned() } else { format!("'{field}'") };
    // A wrongly typed field may hold an image; never echo more than a glimpse of it.
    let mut glimpse = got.to_string();
    if glimpse.len() > 40 {
        glimpse = format!("{}…", glimpse.chars().take(40).collect::<String>());
    }
    GoogleError::invalid(
        field,
        format!("Invalid value at {shown}: expected {expected}, got {} ({glimpse})", type_name(got)),
    )
}
