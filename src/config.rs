//! Configuration: one struct read once from the environment at init, failing fast with the
//! variable's name. The same names appear in `template.yaml` and the README's table.

use std::collections::HashMap;
use std::time::Duration;

use crate::budget::MemoryBudget;
use crate::limits::DEFAULT_MEMORY_MB;

/// Everything the function reads from its environment (except the AWS SDK's own variables,
/// such as `AWS_REGION` and `AWS_ENDPOINT_URL_S3`, which the SDK reads itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Prefix whose `…/job.json` objects start jobs. Always ends with `/`.
    pub uploads_prefix: String,
    /// Prefix the function writes results under. Always ends with `/`, never overlaps uploads.
    pub outputs_prefix: String,
    /// Bedrock model id.
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
    /// Nova Canvas prices, for the estimated cost.
    pub prices: Prices,
    /// Most model calls one manifest may ask for (variants or outfit steps).
    pub max_model_calls_per_job: u32,
    /// Variants of one job called at the same time.
    pub variant_concurrency: u32,
    /// What the function's memory leaves for images (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    pub memory: MemoryBudget,
}

/// `PRICE_TABLE`: USD per generated image by quality and output size band (up to
/// 1024×1024, and larger). Defaults: the on-demand prices of the Nova Canvas reference.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub standard: [f64; 2],
    pub premium: [f64; 2],
}

impl Default for Prices {
    fn default() -> Self {
        Prices { standard: [0.04, 0.06], premium: [0.06, 0.08] }
    }
}

/// `REQUEST_ENCODING`: how images are encoded in the model request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestEncoding {
    /// JPEG q95 for JPEG uploads (4:2:0 when they were), fast PNG for PNG and WebP uploads.
    Auto,
    /// Every image as JPEG q95 4:2:0: size and speed first.
    Jpeg,
    /// Every image as PNG: nothing lost beyond the resize.
    Png,
}

/// Caps on untrusted input, all configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_manifest_bytes: u64,
    pub max_image_bytes: u64,
    /// Decoded pixels (width × height) of one input image.
    pub max_input_pixels: u64,
    /// Decoded width or height of one input image.
    pub max_input_side: u32,
    /// Bytes the image decoder may allocate for one image; at most the memory budget (its
    /// default), and lowered per image to what the job leaves available.
    pub max_decode_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_manifest_bytes: 64 * 1024,
            max_image_bytes: 40 * 1024 * 1024,
            max_input_pixels: 50_000_000,
            max_input_side: 16_384,
            max_decode_alloc: default_budget().bytes,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            uploads_prefix: "uploads/".into(),
            outputs_prefix: "outputs/".into(),
            model_id: "amazon.nova-canvas-v1:0".into(),
            bedrock_region: None,
            s3_force_path_style: false,
            limits: Limits::default(),
            model_timeout: Duration::from_secs(300),
            deadline_reserve: Duration::from_secs(15),
            max_attempts: 3,
            lease_margin: Duration::from_secs(60),
            request_encoding: RequestEncoding::Auto,
            parallel_prepare: false,
            emit_metrics: true,
            prices: Prices::default(),
            max_model_calls_per_job: 10,
            variant_concurrency: 2,
            memory: default_budget(),
        }
    }
}

fn default_budget() -> MemoryBudget {
    MemoryBudget::for_function(DEFAULT_MEMORY_MB).unwrap_or(MemoryBudget { function_mb: DEFAULT_MEMORY_MB, bytes: 0 })
}

/// A variable that is set but unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration variable {name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads the given variables; unset or empty variables take their defaults.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let d = Config::default();
        let memory = memory_budget(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))?;
        let cfg = Config {
            memory,
            uploads_prefix: prefix(get("UPLOADS_PREFIX"), "UPLOADS_PREFIX", &d.uploads_prefix)?,
            outputs_prefix: prefix(get("OUTPUTS_PREFIX"), "OUTPUTS_PREFIX", &d.outputs_prefix)?,
            model_id: get("MODEL_ID").map_or(d.model_id, str::to_owned),
            bedrock_region: get("BEDROCK_REGION").map(str::to_owned),
            s3_force_path_style: boolean(get("S3_FORCE_PATH_STYLE"), "S3_FORCE_PATH_STYLE", false)?,
            limits: Limits {
                max_manifest_bytes: number(
                    get("MAX_MANIFEST_BYTES"),
                    "MAX_MANIFEST_BYTES",
                    d.limits.max_manifest_bytes,
                )?,
                max_image_bytes: number(get("MAX_IMAGE_BYTES"), "MAX_IMAGE_BYTES", d.limits.max_image_bytes)?,
                max_input_pixels: number(get("MAX_INPUT_PIXELS"), "MAX_INPUT_PIXELS", d.limits.max_input_pixels)?,
                max_input_side: number(get("MAX_INPUT_SIDE"), "MAX_INPUT_SIDE", d.limits.max_input_side as u64)?
                    .try_into()
                    .map_err(|_| invalid("MAX_INPUT_SIDE", get("MAX_INPUT_SIDE"), "must fit in 32 bits"))?,
                max_decode_alloc: number(get("MAX_DECODE_ALLOC_BYTES"), "MAX_DECODE_ALLOC_BYTES", memory.bytes)?,
            },
            model_timeout: Duration::from_secs(number(
                get("MODEL_TIMEOUT_SECONDS"),
                "MODEL_TIMEOUT_SECONDS",
                d.model_timeout.as_secs(),
            )?),
            deadline_reserve: Duration::from_secs(number(
                get("DEADLINE_RESERVE_SECONDS"),
                "DEADLINE_RESERVE_SECONDS",
                d.deadline_reserve.as_secs(),
            )?),
            max_attempts: number(get("MAX_ATTEMPTS"), "MAX_ATTEMPTS", d.max_attempts as u64)?
                .try_into()
                .map_err(|_| invalid("MAX_ATTEMPTS", get("MAX_ATTEMPTS"), "too large"))?,
            lease_margin: Duration::from_secs(number(
                get("LEASE_MARGIN_SECONDS"),
                "LEASE_MARGIN_SECONDS",
                d.lease_margin.as_secs(),
            )?),
            request_encoding: match get("REQUEST_ENCODING").map(str::to_ascii_lowercase).as_deref() {
                None | Some("auto") => RequestEncoding::Auto,
                Some("jpeg") => RequestEncoding::Jpeg,
                Some("png") => RequestEncoding::Png,
                Some(_) => {
                    return Err(invalid("REQUEST_ENCODING", get("REQUEST_ENCODING"), "expected auto, jpeg or png"))
                }
            },
            parallel_prepare: boolean(get("PARALLEL_PREPARE"), "PARALLEL_PREPARE", d.parallel_prepare)?,
            emit_metrics: boolean(get("EMIT_METRICS"), "EMIT_METRICS", d.emit_metrics)?,
            max_model_calls_per_job: ranged(
                get("MAX_MODEL_CALLS_PER_JOB"),
                "MAX_MODEL_CALLS_PER_JOB",
                d.max_model_calls_per_job,
                1..=1000,
            )?,
            variant_concurrency: ranged(
                get("VARIANT_CONCURRENCY"),
                "VARIANT_CONCURRENCY",
                d.variant_concurrency,
                1..=16,
            )?,
            prices: match get("PRICE_TABLE") {
                None => d.prices,
                Some(v) => serde_json::from_str::<Prices>(v)
                    .ok()
                    .filter(|p| p.standard.iter().chain(&p.premium).all(|x| x.is_finite() && *x >= 0.0))
                    .ok_or_else(|| {
                        invalid(
                            "PRICE_TABLE",
                            Some(v),
                            r#"expected {"standard": [small, large], "premium": [small, large]} in USD"#,
                        )
                    })?,
            },
        };
        if cfg.uploads_prefix.starts_with(&cfg.outputs_prefix) || cfg.outputs_prefix.starts_with(&cfg.uploads_prefix) {
            return Err(invalid(
                "OUTPUTS_PREFIX",
                Some(&cfg.outputs_prefix),
                "must not overlap UPLOADS_PREFIX: writing results into the trigger prefix would start jobs recursively",
            ));
        }
        if cfg.limits.max_decode_alloc > memory.bytes {
            return Err(invalid(
                "MAX_DECODE_ALLOC_BYTES",
                get("MAX_DECODE_ALLOC_BYTES"),
                &format!(
                    "must be at most {} (the memory budget for images: AWS_LAMBDA_FUNCTION_MEMORY_SIZE={} MB less {} MiB for the process); a larger cap lets one upload exhaust the function's memory",
                    memory.bytes,
                    memory.function_mb,
                    crate::limits::MEMORY_RESERVE_BYTES >> 20
                ),
            ));
        }
        if cfg.max_attempts == 0 {
            return Err(invalid("MAX_ATTEMPTS", get("MAX_ATTEMPTS"), "must be at least 1"));
        }
        if cfg.model_timeout.is_zero() {
            return Err(invalid("MODEL_TIMEOUT_SECONDS", get("MODEL_TIMEOUT_SECONDS"), "must be at least 1"));
        }
        if let Some(r) = &cfg.bedrock_region {
            if !r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                return Err(invalid("BEDROCK_REGION", Some(r), "expected a region name such as us-east-1"));
            }
        }
        Ok(cfg)
    }
}

fn invalid(name: &'static str, value: Option<&str>, reason: &str) -> ConfigError {
    ConfigError { name, value: value.unwrap_or_default().to_owned(), reason: reason.to_owned() }
}

fn prefix(value: Option<&str>, name: &'static str, default: &str) -> Result<String, ConfigError> {
    let Some(v) = value else { return Ok(default.to_owned()) };
    if v.starts_with('/') || v.split('/').any(|s| s == "..") {
        return Err(invalid(name, Some(v), "must be a relative key prefix such as uploads/"));
    }
    Ok(if v.ends_with('/') { v.to_owned() } else { format!("{v}/") })
}

fn boolean(value: Option<&str>, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(_) => Err(invalid(name, value, "expected true or false")),
    }
}

/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (set by Lambda) as a budget for images.
fn memory_budget(value: Option<&str>) -> Result<MemoryBudget, ConfigError> {
    let name = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
    let mb = number(value, name, DEFAULT_MEMORY_MB)?;
    MemoryBudget::for_function(mb).ok_or_else(|| {
        invalid(
            name,
            value,
            &format!("must be at least {} (MB): less leaves no memory for images", MemoryBudget::minimum_mb()),
        )
    })
}

fn ranged(
    value: Option<&str>,
    name: &'static str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let n = number(value, name, default as u64)?;
    u32::try_from(n)
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| invalid(name, value, &format!("must be between {} and {}", range.start(), range.end())))
}

fn number(value: Option<&str>, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v.replace('_', "").parse().map_err(|_| invalid(name, Some(v), "expected a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_match_the_documented_table() {
        let c = Config::from_vars(&HashMap::new()).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.uploads_prefix, "uploads/");
        assert_eq!(c.outputs_prefix, "outputs/");
        assert_eq!(c.model_id, "amazon.nova-canvas-v1:0");
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
            ("PRICE_TABLE", r#"{"standard": [0.05, 0.07], "premium": [0.07, 0.09]}"#),
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
                max_decode_alloc: 5000
            }
        );
        assert_eq!(c.model_timeout, Duration::from_secs(60));
        assert_eq!(c.deadline_reserve, Duration::from_secs(5));
        assert_eq!(c.max_attempts, 2);
        assert_eq!(c.lease_margin, Duration::from_secs(7));
        assert_eq!(c.request_encoding, RequestEncoding::Png);
        assert!(c.parallel_prepare);
        assert!(!c.emit_metrics);
        assert_eq!(c.prices, Prices { standard: [0.05, 0.07], premium: [0.07, 0.09] });
        assert_eq!(c.memory, MemoryBudget::for_function(1024).unwrap());
        assert_eq!((c.max_model_calls_per_job, c.variant_concurrency), (20, 4));
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
            ("PARALLEL_PREPARE", "sometimes"),
            ("PRICE_TABLE", "cheap"),
            ("PRICE_TABLE", r#"{"standard": [-1, 0], "premium": [0, 0]}"#),
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
