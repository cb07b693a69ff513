//! The Converse body (reference §2): one `user` message holding the person's image, the
//! garment's image and the instruction, after the system text, with the inference settings.
//! `messages` leads so the image placeholders come before any text a manifest gave.

use serde::Serialize;

use super::options::{params, ReasoningEffort, DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, SYSTEM_TEXT};
use crate::backends::body::{body_with_images, image_placeholder};
use crate::backends::try_on::RequestImages;
use crate::core::error::{ErrorCode, JobError};
use crate::core::manifest::JobSpec;

/// The Converse body. `messages` leads so the image placeholders come before any text a
/// manifest gave (the system prompt, the instruction), as [`body_with_images`] requires.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    messages: [Message<'a>; 1],
    system: [Text<'a>; 1],
    inference_config: InferenceConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_model_request_fields: Option<Additional>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: [Content<'a>; 3],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Content<'a> {
    Image { format: &'static str, source: Source },
    Text(&'a str),
}

#[derive(Serialize)]
struct Source {
    bytes: String,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InferenceConfig {
    max_tokens: u32,
    temperature: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Additional {
    reasoning_config: ReasoningConfig,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningConfig {
    r#type: &'static str,
    max_reasoning_effort: ReasoningEffort,
}

/// Converse's `image.format` for the MIME types image preparation produces.
fn format_of(mime: &str) -> Result<&'static str, JobError> {
    match mime {
        "image/jpeg" => Ok("jpeg"),
        "image/png" => Ok("png"),
        other => Err(JobError::new(ErrorCode::Internal, format!("no Converse image format for {other}"))),
    }
}

/// The Converse wire JSON for these images and this instruction (reference §2): the person
/// first, the garment second, then the text. `inferenceConfig` is always sent (the editing
/// lab's values unless the manifest sets them): the model's default output budget is not
/// documented and an image does not fit in a small one.
pub fn request_body(spec: &JobSpec, images: RequestImages<'_>, text: &str) -> Result<Vec<u8>, JobError> {
    let p = params(spec);
    let image = |i: usize, mime: &str| {
        Ok::<_, JobError>(Content::Image { format: format_of(mime)?, source: Source { bytes: image_placeholder(i) } })
    };
    let body = Body {
        messages: [Message {
            role: "user",
            content: [image(0, images.source.mime)?, image(1, images.reference.mime)?, Content::Text(text)],
        }],
        system: [Text { text: p.system_prompt.as_deref().map_or(SYSTEM_TEXT, str::trim) }],
        inference_config: InferenceConfig {
            max_tokens: p.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            temperature: p.temperature.unwrap_or(DEFAULT_TEMPERATURE),
        },
        additional_model_request_fields: p
            .reasoning_effort
            .map(|e| Additional { reasoning_config: ReasoningConfig { r#type: "enabled", max_reasoning_effort: e } }),
    };
    body_with_images(&body, &[images.source.bytes, images.reference.bytes])
}
