//! Every variable the function reads, with its default, its allowed range and what it
//! means: the one table that drives parsing (defaults and ranges come from here), the
//! README's configuration table (rendered from it, checked by a test) and the Cargo
//! metadata `cargo lambda watch` uses (checked against it).

use std::collections::HashMap;
use std::ops::RangeInclusive;

/// A variable's default: a value parsed like any other, or a description of what applies
/// when it is unset (the value then comes from elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    Value(&'static str),
    Described(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub default: DefaultValue,
    /// Allowed values of a whole number.
    pub range: Option<RangeInclusive<u64>>,
    pub meaning: &'static str,
}

const fn var(
    name: &'static str,
    default: DefaultValue,
    range: Option<RangeInclusive<u64>>,
    meaning: &'static str,
) -> Variable {
    Variable { name, default, range, meaning }
}

use DefaultValue::{Described, Value};

/// A variable that is set but unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration variable {name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

const GIB: u64 = 1 << 30;

/// The table, in the README's order.
pub const VARIABLES: &[Variable] = &[
    var("TRYON_BACKEND", Value("bedrock-converse"), None, "the backend a job calls when its manifest names none, or an ordered chain of them (`vertex-vto,gemini-image`): a backend whose model the catalog says is retired is skipped, one answering `model_unavailable` or `auth_failed` hands the job to the next; names: `nova-canvas`, `vertex-vto`, `gemini-image`, `bedrock-converse`"),
    var("ENABLED_BACKENDS", Described("the backends of `TRYON_BACKEND`"), None, "comma-separated further backends a manifest may name with `\"backend\"` (each needs its own configuration and credentials)"),
    var("UPLOADS_PREFIX", Value("uploads/"), None, "prefix whose `<jobId>/job.json` objects start jobs"),
    var("OUTPUTS_PREFIX", Value("outputs/"), None, "prefix results are written under; must not overlap the uploads prefix"),
    var("MODEL_ID", Described("none: Nova Canvas has no live model (end of life 2026-09-30)"), None, "the Bedrock model of `nova-canvas`, for accounts that kept access (record it as live in `MODEL_CATALOG_JSON`)"),
    var("BEDROCK_REGION", Described("the function's region"), None, "region of the Bedrock client (Nova Canvas try-on: `us-east-1`, `eu-west-1`, `ap-northeast-1`)"),
    var("CONVERSE_MODEL_ID", Described("the catalog's default (`models.toml`)"), None, "the Bedrock `Converse` model of `bedrock-converse` (Nova 2 Omni, preview access)"),
    var("CONVERSE_REGION", Described("`BEDROCK_REGION`, else the function's region"), None, "region of the `Converse` client (Nova 2 Omni's samples use `us-west-2`)"),
    var("VERTEX_PROJECT", Described("none; required for `vertex-vto` and `gemini-image`"), None, "Google Cloud project id of the Vertex AI calls"),
    var("VERTEX_LOCATION", Value("us-central1"), None, "region of Vertex AI Virtual Try-On"),
    var("VERTEX_MODEL", Described("the catalog's default (`models.toml`)"), None, "the Virtual Try-On model of `vertex-vto`"),
    var("GEMINI_MODEL", Described("the catalog's default (`models.toml`)"), None, "the Gemini image model of `gemini-image`"),
    var("GEMINI_LOCATION", Value("global"), None, "location of the Gemini image model (`global` has the most capacity)"),
    var("VERTEX_ENDPOINT_URL", Described("Google's endpoints"), None, "base URL replacing `https://{location}-aiplatform.googleapis.com` and the global host, for both Google backends"),
    var("GOOGLE_CREDENTIALS_JSON", Described("none"), None, "Google credentials as a value: the Workload Identity Federation `external_account` configuration (no key)"),
    var("GOOGLE_APPLICATION_CREDENTIALS", Described("none"), None, "path of a Google credentials file: the `external_account` configuration packaged with the function, or a local key file"),
    var("GOOGLE_CREDENTIALS_SECRET_ARN", Described("none"), None, "Secrets Manager secret holding a service-account key JSON, read once at start"),
    var("S3_FORCE_PATH_STYLE", Value("false"), None, "path-style S3 addressing (local S3 servers reached by host name)"),
    var("MAX_MANIFEST_BYTES", Value("65536"), Some(2..=16_777_216), "largest `job.json`"),
    var("MAX_IMAGE_BYTES", Value("41943040"), Some(1..=GIB), "largest image file (40 MiB), refused before download"),
    var("MAX_INPUT_PIXELS", Value("50000000"), Some(1..=1_000_000_000), "largest decoded image (pixels)"),
    var("MAX_INPUT_SIDE", Value("16384"), Some(1..=65_535), "largest decoded width or height"),
    var("MAX_DECODE_ALLOC_BYTES", Described("the memory budget (`201326592` at 256 MB)"), Some(1..=10 * GIB), "cap on preparing one image; at most the memory budget"),
    var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Value("256"), Some(96..=10_240), "the function's memory in MB, set by Lambda from `MemorySize`; less 64 MiB, the budget for images"),
    var("MODEL_TIMEOUT_SECONDS", Value("300"), Some(1..=900), "upper bound of one model call, SDK retries included (AWS recommends ≥ 300 s)"),
    var("DEADLINE_RESERVE_SECONDS", Value("15"), Some(0..=300), "time kept before the Lambda deadline to record the outcome"),
    var("THROTTLE_WAIT_SECONDS", Value("0"), Some(0..=900), "how long one model call keeps waiting for the quota once the SDK's attempts were all throttled (throttles are not charged), within the call's bound above and only while a resend keeps 60 s of it; `0` reports `throttled` at once (the template sets `300`)"),
    var("MAX_ATTEMPTS", Value("3"), Some(1..=10), "invocation attempts (1 + async retries); the last records `failed` (never for `throttled`, which stays `processing`)"),
    var("LEASE_MARGIN_SECONDS", Value("60"), Some(0..=3_600), "how long past an invocation's deadline its claim is honoured"),
    var("REQUEST_ENCODING", Value("auto"), None, "request images: `auto` (JPEG q95 for JPEG uploads, 4:2:0 when they were; fast PNG for PNG/WebP), `jpeg` (every image JPEG q95 4:2:0) or `png` (every image PNG)"),
    var("PARALLEL_PREPARE", Value("false"), None, "prepare the source and the garment at the same time: faster with two vCPUs, higher peak memory"),
    var("EVENT_BUS_NAME", Described("none: events off (the template sets `default`)"), None, "EventBridge bus (name or ARN) that gets one completion event per finished job (README, Completion events); empty: off"),
    var("EMIT_METRICS", Value("true"), None, "print one CloudWatch EMF metrics line per job"),
    var("MAX_MODEL_CALLS_PER_JOB", Value("10"), Some(1..=1_000), "most model calls one manifest may ask for (variants or outfit steps)"),
    var("VARIANT_CONCURRENCY", Value("2"), Some(1..=16), "variants of one job called at the same time (fewer when their replies would not fit the memory budget)"),
    var("RESULT_CACHE", Value("auto"), None, "the result cache: `auto` answers a reproducible request (a seed, or Nova Canvas' fixed default) seen before from `<OUTPUTS_PREFIX>_cache/` without a model call; `off` calls the model every time"),
    var("MODEL_CATALOG_JSON", Described("none: `models.toml` as built"), None, "corrections and private entries merged over the model catalog: a JSON object keyed by model id with the catalog's field names (`stage`, `shutdown` as `\"YYYY-MM-DD\"` or `null`, `replacement`, `price`, …, and per platform `bedrock`, `vertex-ai`, `gemini-api`); a bad one stops the function at start, naming the field"),
    var("RETIREMENT_WARNING_DAYS", Value("30"), Some(0..=365), "a model that is deprecated or this many days or fewer from its shutdown gets a `model_retiring` warning in `status.json`, a log line at start and the `DaysToShutdown` metric"),
];

/// The entry of `name`; every name the parser asks for is in the table (a test checks).
fn lookup(name: &'static str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// The environment as the parser reads it: set values (trimmed, empty means unset), then
/// the table's defaults.
pub struct Vars<'a>(pub &'a HashMap<String, String>);

impl Vars<'_> {
    /// The value set for `name`, if any.
    pub fn set(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// The value set, else the table's default value (`None` for a described default).
    pub fn text(&self, name: &'static str) -> Option<&str> {
        self.set(name).or_else(|| match lookup(name)?.default {
            Value(v) => Some(v),
            Described(_) => None,
        })
    }

    /// A whole number within the table's range (`_` separators allowed); `None` when unset
    /// with a described default.
    pub fn number(&self, name: &'static str) -> Result<Option<u64>, ConfigError> {
        let Some(raw) = self.text(name) else { return Ok(None) };
        let n: u64 = raw.replace('_', "").parse().map_err(|_| invalid(name, raw, "expected a whole number"))?;
        match lookup(name).and_then(|v| v.range.clone()) {
            Some(r) if !r.contains(&n) => {
                Err(invalid(name, raw, &format!("must be between {} and {}", r.start(), r.end())))
            }
            _ => Ok(Some(n)),
        }
    }

    /// A number whose default is a value in the table.
    pub fn required_number(&self, name: &'static str) -> Result<u64, ConfigError> {
        self.number(name)?.ok_or_else(|| invalid(name, "", "has no default; set it"))
    }

    pub fn boolean(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self.text(name).map(str::to_ascii_lowercase).as_deref() {
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            other => Err(invalid(name, other.unwrap_or_default(), "expected true or false")),
        }
    }
}

pub(super) fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError { name, value: value.to_owned(), reason: reason.to_owned() }
}

/// The README's configuration table.
pub fn markdown() -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for v in VARIABLES {
        let default = match v.default {
            Value(d) => format!("`{d}`"),
            Described(d) => d.to_owned(),
        };
        let range = v.range.as_ref().map(|r| format!(" ({}–{})", r.start(), r.end())).unwrap_or_default();
        out.push_str(&format!("| `{}` | {default} | {}{range} |\n", v.name, v.meaning));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &str) -> String {
        std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn the_readme_shows_the_table_as_the_code_parses_it() {
        let table = markdown();
        assert!(read("docs/operations.md").contains(&table), "docs/operations.md must contain, exactly:\n{table}");
    }

    #[test]
    fn the_cargo_lambda_environment_uses_the_tables_values() {
        let manifest: toml_like::Env = toml_like::lambda_env(&read("Cargo.toml"));
        assert!(!manifest.is_empty());
        for (name, value) in manifest {
            let v = VARIABLES.iter().find(|v| v.name == name).unwrap_or_else(|| panic!("{name} is not in the table"));
            assert!(matches!(v.default, Value(d) if d == value), "{name} = {value:?}, the table says {:?}", v.default);
        }
    }

    #[test]
    fn every_variable_the_parser_reads_is_in_the_table() {
        let source = read("src/config/mod.rs") + &read("src/config/backends.rs");
        for name in source.split('"').skip(1).step_by(2).filter(|s| {
            s.contains('_')
                && s.starts_with(|c: char| c.is_ascii_uppercase())
                && s.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        }) {
            assert!(lookup_str(name).is_some(), "config reads {name}, which the table lacks");
        }
        for v in VARIABLES {
            assert!(source.contains(&format!("\"{}\"", v.name)), "{} is in the table but never read", v.name);
        }
    }

    fn lookup_str(name: &str) -> Option<&'static Variable> {
        VARIABLES.iter().find(|v| v.name == name)
    }

    /// Just enough TOML for `[package.metadata.lambda.env]`: `KEY = "value"` lines.
    mod toml_like {
        pub type Env = Vec<(String, String)>;
        pub fn lambda_env(cargo: &str) -> Env {
            cargo
                .split("[package.metadata.lambda.env]")
                .nth(1)
                .unwrap_or_default()
                .lines()
                .skip(1)
                .take_while(|l| !l.starts_with('['))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
                .filter(|(k, _)| !k.is_empty() && !k.starts_with('#'))
                .collect()
        }
    }
}
