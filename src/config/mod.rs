//! Configuration: one struct read once from the environment at init, failing fast with the
//! variable's name. The same names appear in `template.yaml` and the configuration table of docs/operations.md,
//! rendered from [`table`].

use std::collections::HashMap;
use std::time::Duration;

use crate::core::backend::{Backend, Backends, Platform};
use crate::core::budget::MemoryBudget;
use crate::core::catalog::{Catalog, Price};
use crate::core::input_limits::{default_budget, Limits, RequestEncoding};
use crate::core::manifest::CacheMode;

pub mod table;

pub use table::ConfigError;
use table::{invalid, Vars};

mod backends;
pub use backends::{GoogleConfig, GoogleCredentials};

/// Everything the function reads from its environment (except the AWS SDK's own variables,
/// such as `AWS_REGION` and `AWS_ENDPOINT_URL_S3`, which the SDK reads itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Prefix whose `…/job.json` objects start jobs. Always ends with `/`.
    pub uploads_prefix: String,
    /// Prefix the function writes results under. Always ends with `/`, never overlaps uploads.
    pub outputs_prefix: String,
    /// Nova Canvas' Bedrock model id (`MODEL_ID`; the catalog has no live default).
    pub model_id: String,
    /// Region of the Bedrock client; `None` means the function's own region.
    pub bedrock_region: Option<String>,
    /// Path-style S3 addressing (for local S3 servers reached by host name).
    pub s3_force_path_style: bool,
    pub limits: Limits,
    /// Upper bound of one model call (all SDK attempts together).
    pub model_timeout: Duration,
    /// Time kept back before the Lambda deadline to record the outcome.
    pub deadline_reserve: Duration,
    /// How long one model call keeps waiting for the quota after the SDK's attempts were all
    /// throttled (zero: not at all), within the call's own bound.
    pub throttle_wait: Duration,
    /// Invocation attempts Lambda makes (1 + the async retry count): on the last one a
    /// transient failure is recorded as `failed`.
    pub max_attempts: u32,
    /// How long past the invocation deadline a `processing` claim is honoured before another
    /// delivery may take the job over.
    pub lease_margin: Duration,
    /// How request images are encoded.
    pub request_encoding: RequestEncoding,
    /// Prepare the source and the garment at the same time (faster with two or more vCPUs,
    /// higher peak memory).
    pub parallel_prepare: bool,
    /// Print a CloudWatch EMF metrics line per job on stdout.
    pub emit_metrics: bool,
    /// Most model calls one manifest may ask for (variants or outfit steps).
    pub max_model_calls_per_job: u32,
    /// Variants of one job called at the same time.
    pub variant_concurrency: u32,
    /// What the function's memory leaves for images (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    pub memory: MemoryBudget,
    /// `TRYON_BACKEND` and `ENABLED_BACKENDS`.
    pub backends: Backends,
    /// The Bedrock `Converse` model of `bedrock-converse` (`CONVERSE_MODEL_ID`).
    pub converse_model_id: String,
    /// Region of the `Converse` client (`CONVERSE_REGION`); `None` means `bedrock_region`.
    pub converse_region: Option<String>,
    /// Vertex AI: project, locations, models, endpoint and credentials.
    pub google: GoogleConfig,
    /// The EventBridge bus (name or ARN) completion events go to (`EVENT_BUS_NAME`); `None`:
    /// events off.
    pub event_bus_name: Option<String>,
    /// `RESULT_CACHE`: whether reproducible requests are answered from the result cache.
    pub result_cache: CacheMode,
    /// `models.toml` with `MODEL_CATALOG_JSON` merged over it.
    pub catalog: Catalog,
    /// `RETIREMENT_WARNING_DAYS`: how long before a model's shutdown jobs are warned.
    pub retirement_warning_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            uploads_prefix: "uploads/".into(),
            outputs_prefix: "outputs/".into(),
            model_id: String::new(),
            bedrock_region: None,
            s3_force_path_style: false,
            limits: Limits::default(),
            model_timeout: Duration::from_secs(300),
            deadline_reserve: Duration::from_secs(15),
            throttle_wait: Duration::ZERO,
            max_attempts: 3,
            lease_margin: Duration::from_secs(60),
            request_encoding: RequestEncoding::Auto,
            parallel_prepare: false,
            emit_metrics: true,
            max_model_calls_per_job: 10,
            variant_concurrency: 2,
            memory: default_budget(),
            backends: Backends::only(Backend::BedrockConverse),
            converse_model_id: backends::catalog_default(Backend::BedrockConverse),
            converse_region: None,
            google: GoogleConfig::default(),
            event_bus_name: None,
            result_cache: CacheMode::Auto,
            catalog: Catalog::compiled().clone(),
            retirement_warning_days: 30,
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads the given variables; unset or empty variables take the table's defaults
    /// ([`table::VARIABLES`]).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let v = Vars(vars);
        let memory = memory_budget(&v)?;
        let catalog = catalog(&v)?;
        let model = |name, b: Backend| model_id(&v, name, &catalog, b);
        let cfg = Config {
            memory,
            uploads_prefix: prefix(&v, "UPLOADS_PREFIX")?,
            outputs_prefix: prefix(&v, "OUTPUTS_PREFIX")?,
            model_id: model("MODEL_ID", Backend::NovaCanvas),
            bedrock_region: region(&v, "BEDROCK_REGION")?,
            converse_region: region(&v, "CONVERSE_REGION")?,
            s3_force_path_style: v.boolean("S3_FORCE_PATH_STYLE")?,
            limits: limits(&v, &memory)?,
            model_timeout: Duration::from_secs(v.required_number("MODEL_TIMEOUT_SECONDS")?),
            deadline_reserve: Duration::from_secs(v.required_number("DEADLINE_RESERVE_SECONDS")?),
            throttle_wait: Duration::from_secs(v.required_number("THROTTLE_WAIT_SECONDS")?),
            max_attempts: v.required_number("MAX_ATTEMPTS")? as u32,
            lease_margin: Duration::from_secs(v.required_number("LEASE_MARGIN_SECONDS")?),
            request_encoding: request_encoding(&v)?,
            parallel_prepare: v.boolean("PARALLEL_PREPARE")?,
            emit_metrics: v.boolean("EMIT_METRICS")?,
            max_model_calls_per_job: v.required_number("MAX_MODEL_CALLS_PER_JOB")? as u32,
            variant_concurrency: v.required_number("VARIANT_CONCURRENCY")? as u32,
            backends: backends::backends(&v)?,
            converse_model_id: model("CONVERSE_MODEL_ID", Backend::BedrockConverse),
            google: backends::google(
                &v,
                model("VERTEX_MODEL", Backend::VertexVto),
                model("GEMINI_MODEL", Backend::GeminiImage),
            )?,
            event_bus_name: event_bus(&v)?,
            result_cache: result_cache(&v)?,
            retirement_warning_days: v.required_number("RETIREMENT_WARNING_DAYS")? as u32,
            catalog,
        };
        backends::check_google_backends(&cfg.backends, &cfg.google)?;
        check_models(&cfg)?;
        if cfg.uploads_prefix.starts_with(&cfg.outputs_prefix) || cfg.outputs_prefix.starts_with(&cfg.uploads_prefix) {
            return Err(invalid(
                "OUTPUTS_PREFIX",
                &cfg.outputs_prefix,
                "must not overlap UPLOADS_PREFIX: writing results into the trigger prefix would start jobs recursively",
            ));
        }
        Ok(cfg)
    }
}

/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (set by Lambda) as a budget for images.
fn memory_budget(v: &Vars<'_>) -> Result<MemoryBudget, ConfigError> {
    let name = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
    let mb = v.required_number(name)?;
    MemoryBudget::for_function(mb).ok_or_else(|| {
        let reason = format!("must be at least {} (MB): less leaves no memory for images", MemoryBudget::minimum_mb());
        invalid(name, &mb.to_string(), &reason)
    })
}

fn limits(v: &Vars<'_>, memory: &MemoryBudget) -> Result<Limits, ConfigError> {
    let name = "MAX_DECODE_ALLOC_BYTES";
    let max_decode_alloc = v.number(name)?.unwrap_or(memory.bytes);
    if max_decode_alloc > memory.bytes {
        let reason = format!(
            "must be at most {} (the memory budget for images: AWS_LAMBDA_FUNCTION_MEMORY_SIZE={} MB less {} MiB for the process); a larger cap lets one upload exhaust the function's memory",
            memory.bytes,
            memory.function_mb,
            crate::core::limits::MEMORY_RESERVE_BYTES >> 20
        );
        return Err(invalid(name, &max_decode_alloc.to_string(), &reason));
    }
    Ok(Limits {
        max_manifest_bytes: v.required_number("MAX_MANIFEST_BYTES")?,
        max_image_bytes: v.required_number("MAX_IMAGE_BYTES")?,
        max_input_pixels: v.required_number("MAX_INPUT_PIXELS")?,
        max_input_side: v.required_number("MAX_INPUT_SIDE")? as u32,
        max_decode_alloc,
        canvas: Backend::NovaCanvas.canvas(),
    })
}

fn prefix(v: &Vars<'_>, name: &'static str) -> Result<String, ConfigError> {
    let p = v.text(name).unwrap_or_default();
    if p.starts_with('/') || p.split('/').any(|s| s == "..") {
        return Err(invalid(name, p, "must be a relative key prefix such as uploads/"));
    }
    Ok(if p.ends_with('/') { p.to_owned() } else { format!("{p}/") })
}

fn region(v: &Vars<'_>, name: &'static str) -> Result<Option<String>, ConfigError> {
    let Some(r) = v.set(name) else { return Ok(None) };
    if !r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err(invalid(name, r, "expected a region name such as us-east-1"));
    }
    Ok(Some(r.to_owned()))
}

/// `EVENT_BUS_NAME`: a bus name or ARN, as EventBridge accepts them (1-256 characters of
/// letters, digits and `._-/`, or an event-bus ARN).
fn event_bus(v: &Vars<'_>) -> Result<Option<String>, ConfigError> {
    let name = "EVENT_BUS_NAME";
    let Some(bus) = v.set(name) else { return Ok(None) };
    let arn = bus.starts_with("arn:") && bus.contains(":event-bus/");
    let bare = bus.rsplit(":event-bus/").next().unwrap_or_default();
    let valid = (1..=256).contains(&bare.len())
        && bare.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
        && (arn || !bus.contains(':'));
    if !valid {
        return Err(invalid(
            name,
            bus,
            "expected an EventBridge bus name (letters, digits, ._-/; at most 256) or an event-bus ARN; leave it empty to switch events off",
        ));
    }
    Ok(Some(bus.to_owned()))
}

fn request_encoding(v: &Vars<'_>) -> Result<RequestEncoding, ConfigError> {
    let raw = v.text("REQUEST_ENCODING").unwrap_or_default();
    match raw.to_ascii_lowercase().as_str() {
        "auto" => Ok(RequestEncoding::Auto),
        "jpeg" => Ok(RequestEncoding::Jpeg),
        "png" => Ok(RequestEncoding::Png),
        _ => Err(invalid("REQUEST_ENCODING", raw, "expected auto, jpeg or png")),
    }
}

fn result_cache(v: &Vars<'_>) -> Result<CacheMode, ConfigError> {
    let raw = v.text("RESULT_CACHE").unwrap_or_default();
    CacheMode::parse(raw).ok_or_else(|| invalid("RESULT_CACHE", raw, "expected auto or off"))
}

/// Every enabled backend has a model to call. The catalog names none for Nova Canvas (end
/// of life): an account that kept access names it, and records it as live.
fn check_models(cfg: &Config) -> Result<(), ConfigError> {
    for b in &cfg.backends.enabled {
        if !cfg.model_of(*b).is_empty() {
            continue;
        }
        let (name, why) = match b {
            Backend::NovaCanvas => ("MODEL_ID", "nova-canvas is enabled, but Nova Canvas reached end of life on 2026-09-30 and the catalog has no live model for it: choose another backend (README, When a model retires), or, for an account that kept access, set MODEL_ID=amazon.nova-canvas-v1:0 and MODEL_CATALOG_JSON={\"amazon.nova-canvas-v1:0\": {\"stage\": \"ga\", \"shutdown\": null}}"),
            Backend::BedrockConverse => ("CONVERSE_MODEL_ID", "bedrock-converse is enabled but the catalog names no default model for it: set one"),
            Backend::VertexVto => ("VERTEX_MODEL", "vertex-vto is enabled but the catalog names no default model for it: set one"),
            Backend::GeminiImage => ("GEMINI_MODEL", "gemini-image is enabled but the catalog names no default model for it: set one"),
        };
        return Err(invalid(name, "", why));
    }
    Ok(())
}

/// `MODEL_CATALOG_JSON` merged over `models.toml`; a bad override stops the function,
/// naming the field.
fn catalog(v: &Vars<'_>) -> Result<Catalog, ConfigError> {
    let Some(raw) = v.set("MODEL_CATALOG_JSON") else { return Ok(Catalog::compiled().clone()) };
    Catalog::with_overrides(Some(raw)).map_err(|e| invalid("MODEL_CATALOG_JSON", raw, &e.to_string()))
}

/// The model a backend calls: the variable, else the catalog's default on its platform
/// (empty when the catalog has none: enabling that backend then needs the variable).
fn model_id(v: &Vars<'_>, name: &'static str, catalog: &Catalog, b: Backend) -> String {
    v.set(name).or_else(|| catalog.default_model(b, b.platform())).unwrap_or_default().to_owned()
}

/// What a deployment's variables say about its models, without the rest of the
/// configuration (no credentials needed): for `tryon models`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelsView {
    pub catalog: Catalog,
    pub backends: Backends,
    /// Every backend with the model id it would call (empty when none is configured).
    pub models: Vec<(Backend, String)>,
    pub retirement_warning_days: u32,
}

impl ModelsView {
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<ModelsView, ConfigError> {
        let v = Vars(vars);
        let catalog = catalog(&v)?;
        let names = [
            (Backend::NovaCanvas, "MODEL_ID"),
            (Backend::VertexVto, "VERTEX_MODEL"),
            (Backend::GeminiImage, "GEMINI_MODEL"),
            (Backend::BedrockConverse, "CONVERSE_MODEL_ID"),
        ];
        Ok(ModelsView {
            models: names.into_iter().map(|(b, name)| (b, model_id(&v, name, &catalog, b))).collect(),
            backends: backends::backends(&v)?,
            retirement_warning_days: v.required_number("RETIREMENT_WARNING_DAYS")? as u32,
            catalog,
        })
    }
}

impl Config {
    /// The model id `b` calls in this deployment.
    pub fn model_of(&self, b: Backend) -> &str {
        match b {
            Backend::NovaCanvas => &self.model_id,
            Backend::BedrockConverse => &self.converse_model_id,
            Backend::VertexVto => &self.google.vto_model,
            Backend::GeminiImage => &self.google.gemini_model,
        }
    }

    /// The platform `b` is called on.
    pub fn platform_of(&self, b: Backend) -> Platform {
        b.platform()
    }

    /// What a call to `b` costs, from the catalog.
    pub fn price_of(&self, b: Backend) -> Price {
        self.catalog.price(b, self.model_of(b), self.platform_of(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_event_bus_is_a_name_or_an_arn_and_empty_is_off() {
        let bus = |v: &str| Config::from_vars(&vars(&[("EVENT_BUS_NAME", v)])).map(|c| c.event_bus_name);
        assert_eq!(bus(""), Ok(None));
        assert_eq!(bus("  "), Ok(None));
        assert_eq!(bus("default"), Ok(Some("default".into())));
        assert_eq!(bus("shop/orders_1.x-y"), Ok(Some("shop/orders_1.x-y".into())));
        let arn = "arn:aws:events:eu-west-1:123456789012:event-bus/tryon";
        assert_eq!(bus(arn), Ok(Some(arn.into())));
        for bad in ["my bus", "a:b", "arn:aws:events:eu-west-1:1:rule/x", &"b".repeat(257)] {
            let e = bus(bad).unwrap_err();
            assert_eq!(e.name, "EVENT_BUS_NAME", "{bad}");
            assert!(e.reason.contains("leave it empty"), "{}", e.reason);
        }
    }

    #[test]
    fn the_tables_defaults_are_the_configs_defaults() {
        // Config::default() is written by hand for tests and tools; the table drives the
        // function. They must agree.
        let c = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.uploads_prefix, "uploads/");
        assert_eq!(c.outputs_prefix, "outputs/");
        // Nova Canvas reached end of life: it has no default model; the default backend is live.
        assert_eq!(c.model_id, "");
        assert_eq!(c.backends, Backends::only(Backend::BedrockConverse));
        assert_eq!(c.converse_model_id, "us.amazon.nova-2-omni-v1:0");
        assert_eq!(
            (c.google.vto_model.as_str(), c.google.gemini_model.as_str()),
            ("virtual-try-on-001", "gemini-3.1-flash-image")
        );
        assert_eq!(c.bedrock_region, None);
        assert!(!c.s3_force_path_style);
    }

    #[test]
    fn reads_every_variable() {
        let c = Config::from_vars(&vars(&[
            ("UPLOADS_PREFIX", "in"),
            ("OUTPUTS_PREFIX", "out/"),
            ("MODEL_ID", "m"),
            ("BEDROCK_REGION", "eu-west-1"),
            ("S3_FORCE_PATH_STYLE", "true"),
            ("MAX_MANIFEST_BYTES", "1000"),
            ("MAX_IMAGE_BYTES", "2_000"),
            ("MAX_INPUT_PIXELS", "3000"),
            ("MAX_INPUT_SIDE", "4000"),
            ("MAX_DECODE_ALLOC_BYTES", "5000"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
            ("MAX_MODEL_CALLS_PER_JOB", "20"),
            ("VARIANT_CONCURRENCY", "4"),
            ("MODEL_TIMEOUT_SECONDS", "60"),
            ("DEADLINE_RESERVE_SECONDS", "5"),
            ("MAX_ATTEMPTS", "2"),
            ("LEASE_MARGIN_SECONDS", "7"),
            ("REQUEST_ENCODING", "PNG"),
            ("PARALLEL_PREPARE", "true"),
            ("EMIT_METRICS", "false"),
            ("RESULT_CACHE", "Off"),
            ("MODEL_CATALOG_JSON", r#"{"m": {"backend": "nova-canvas", "stage": "ga", "price": {"perImage": 0.05}}}"#),
            ("RETIREMENT_WARNING_DAYS", "45"),
        ]))
        .unwrap();
        assert_eq!(c.uploads_prefix, "in/");
        assert_eq!(c.outputs_prefix, "out/");
        assert_eq!(c.model_id, "m");
        assert_eq!(c.bedrock_region.as_deref(), Some("eu-west-1"));
        assert!(c.s3_force_path_style);
        assert_eq!(
            c.limits,
            Limits {
                max_manifest_bytes: 1000,
                max_image_bytes: 2000,
                max_input_pixels: 3000,
                max_input_side: 4000,
                max_decode_alloc: 5000,
                canvas: Backend::NovaCanvas.canvas(),
            }
        );
        assert_eq!(c.model_timeout, Duration::from_secs(60));
        assert_eq!(c.deadline_reserve, Duration::from_secs(5));
        assert_eq!(c.max_attempts, 2);
        assert_eq!(c.lease_margin, Duration::from_secs(7));
        assert_eq!(c.request_encoding, RequestEncoding::Png);
        assert!(c.parallel_prepare);
        assert!(!c.emit_metrics);
        assert_eq!(c.result_cache, CacheMode::Off);
        assert_eq!(c.price_of(Backend::NovaCanvas).per_image, 0.05);
        assert_eq!(c.retirement_warning_days, 45);
        assert_eq!(c.memory, MemoryBudget::for_function(1024).unwrap());
        assert_eq!((c.max_model_calls_per_job, c.variant_concurrency), (20, 4));
    }

    #[test]
    fn backend_chains_and_the_models_they_need() {
        let c =
            Config::from_vars(&vars(&[("TRYON_BACKEND", "bedrock-converse, nova-canvas"), ("MODEL_ID", "m")])).unwrap();
        assert_eq!(c.backends.chain, [Backend::BedrockConverse, Backend::NovaCanvas]);
        assert_eq!(c.model_of(Backend::NovaCanvas), "m");
        // Nova Canvas has no live default: enabling it names what to set, remedy included.
        let e = Config::from_vars(&vars(&[("ENABLED_BACKENDS", "nova-canvas")])).unwrap_err();
        assert_eq!(e.name, "MODEL_ID");
        assert!(e.reason.contains("end of life on 2026-09-30") && e.reason.contains("MODEL_CATALOG_JSON"), "{e}");
        let e = Config::from_vars(&vars(&[("MODEL_CATALOG_JSON", r#"{"virtual-try-on-001": {"stage": "gone"}}"#)]))
            .unwrap_err();
        assert!(e.to_string().contains("virtual-try-on-001.vertex-ai.stage"), "{e}");
    }

    #[test]
    fn the_decode_cap_follows_the_function_memory() {
        let c = Config::from_vars(&vars(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")])).unwrap();
        assert_eq!(c.limits.max_decode_alloc, (512 - 64) << 20);
        let e = Config::from_vars(&vars(&[("MAX_DECODE_ALLOC_BYTES", "268435456")])).unwrap_err();
        assert!(e.reason.contains("at most 201326592") && e.reason.contains("256 MB"), "{e}");
        let e = Config::from_vars(&vars(&[("VARIANT_CONCURRENCY", "0")])).unwrap_err();
        assert!(e.reason.contains("between 1 and 16"), "{e}");
    }

    #[test]
    fn rejects_bad_values_naming_the_variable() {
        for (k, v) in [
            ("S3_FORCE_PATH_STYLE", "maybe"),
            ("MAX_IMAGE_BYTES", "ten"),
            ("UPLOADS_PREFIX", "/abs"),
            ("OUTPUTS_PREFIX", "uploads/results/"),
            ("MAX_ATTEMPTS", "0"),
            ("BEDROCK_REGION", "US East"),
            ("REQUEST_ENCODING", "webp"),
            ("RESULT_CACHE", "on"),
            ("PARALLEL_PREPARE", "sometimes"),
            ("MODEL_CATALOG_JSON", "cheap"),
            ("MODEL_CATALOG_JSON", r#"{"virtual-try-on-001": {"shutdown": "soon"}}"#),
            ("RETIREMENT_WARNING_DAYS", "400"),
            ("TRYON_BACKEND", "vertex-vto, gemini-image,vertex-vto"),
            ("TRYON_BACKEND", "gemini-image,dall-e"),
            ("MAX_MODEL_CALLS_PER_JOB", "0"),
            ("MAX_MODEL_CALLS_PER_JOB", "1001"),
            ("VARIANT_CONCURRENCY", "17"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "64"),
            ("MAX_DECODE_ALLOC_BYTES", "268435456"),
        ] {
            let err = Config::from_vars(&vars(&[(k, v)])).unwrap_err();
            assert!(err.to_string().contains(err.name), "{err}");
            assert!(k == err.name || k == "OUTPUTS_PREFIX", "{k}: {err}");
        }
    }
}
