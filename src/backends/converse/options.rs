//! `converseParams`: the options a manifest may give the Converse image-editing model, each
//! checked against the reference (§2, §3), every problem reported at once.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::manifest::JobSpec;

/// What the model is told before the user message when the manifest gives no
/// `converseParams.systemPrompt`. The samples use the system text to force an image answer
/// and to fix the framing (reference §2); the model has no size or aspect parameter.
pub const SYSTEM_TEXT: &str = "Interpret the user message as an image editing request. Output one photorealistic image: the first image, edited as the text asks, with the same framing and aspect ratio.";

/// `inferenceConfig.maxTokens` when the manifest gives none: AWS's editing lab (reference §2,
/// [C1]). An image answer is counted in output tokens, so the budget must hold one image.
pub const DEFAULT_MAX_TOKENS: u32 = 10_000;

/// `inferenceConfig.temperature` when the manifest gives none: the editing lab's value.
pub const DEFAULT_TEMPERATURE: f64 = 0.1;

/// The largest `maxTokens` accepted: the budget every editing sample found works with.
/// Omni's documented output limit was not found (reference §1), so a larger value could
/// only be refused by Bedrock after the images were uploaded.
pub const MAX_TOKENS: std::ops::RangeInclusive<u32> = 1..=DEFAULT_MAX_TOKENS;

/// Nova's temperature range.
pub const TEMPERATURE: std::ops::RangeInclusive<f64> = 0.0..=1.0;

/// Longest `systemPrompt`, as long as the longest `instruction.prompt`.
pub const MAX_SYSTEM_PROMPT_CHARS: usize = crate::core::manifest::MAX_PROMPT_CHARS;

/// `converseParams` of the manifest.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConverseParams {
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub reasoning_effort: Option<ReasoningEffort>,
    pub system_prompt: Option<String>,
}

/// `additionalModelRequestFields.reasoningConfig.maxReasoningEffort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    Low,
    Medium,
    High,
}

/// Reads `converseParams` field by field, so every problem is reported at once; the
/// returned parameters hold the fields that parsed.
pub(super) fn read_params(options: Option<&Value>) -> (ConverseParams, Vec<String>) {
    let mut problems = Vec::new();
    let mut params = ConverseParams::default();
    let Some(options) = options else { return (params, problems) };
    let Some(fields) = options.as_object() else {
        problems.push("converseParams: must be an object".into());
        return (params, problems);
    };
    for (key, value) in fields {
        let one = serde_json::Value::Object([(key.clone(), value.clone())].into_iter().collect());
        match serde_json::from_value::<ConverseParams>(one) {
            Err(e) => problems.push(format!("converseParams.{key}: {e}")),
            Ok(p) => {
                params.temperature = params.temperature.or(p.temperature);
                params.max_tokens = params.max_tokens.or(p.max_tokens);
                params.reasoning_effort = params.reasoning_effort.or(p.reasoning_effort);
                params.system_prompt = params.system_prompt.or(p.system_prompt);
            }
        }
    }
    if let Some(t) = params.temperature {
        if !TEMPERATURE.contains(&t) {
            problems.push(format!("converseParams.temperature: {t} is out of range; use 0.0 to 1.0"));
        }
    }
    if let Some(n) = params.max_tokens {
        if !MAX_TOKENS.contains(&n) {
            problems.push(format!(
                "converseParams.maxTokens: {n} is out of range; use 1 to {} (one image needs several thousand)",
                MAX_TOKENS.end()
            ));
        }
    }
    if let Some(s) = &params.system_prompt {
        if s.trim().is_empty() {
            problems.push("converseParams.systemPrompt: empty; write the system text, or leave it out".into());
        } else if s.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
            problems.push(format!("converseParams.systemPrompt: at most {MAX_SYSTEM_PROMPT_CHARS} characters"));
        }
    }
    (params, problems)
}

/// The parameters of a spec that passed [`TryOn::check_options`].
pub(super) fn params(spec: &JobSpec) -> ConverseParams {
    read_params(spec.options.as_ref()).0
}
