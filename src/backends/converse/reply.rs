//! Reading a Converse reply (reference §3): the image block of the assistant's message, the
//! stop reason (content filtering is a 200 with `stopReason: content_filtered`), the usage
//! billed. A reply without a usable image is an error, never a success.

use serde::Deserialize;

use crate::backends::body::decode_base64;
use crate::backends::try_on::Reply;
use crate::core::error::{ErrorCode, JobError};

/// The most text of a text-only answer quoted in the error.
const QUOTED_CHARS: usize = 300;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawReply {
    output: Option<RawOutput>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<RawUsage>,
}

#[derive(Deserialize)]
struct RawOutput {
    message: Option<RawMessage>,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(default)]
    content: Vec<RawBlock>,
}

/// One content block; blocks of other kinds (`reasoningContent`, …) have neither field.
#[derive(Deserialize)]
struct RawBlock {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    image: Option<RawImage>,
}

#[derive(Deserialize)]
struct RawImage {
    #[serde(default)]
    source: Option<RawSource>,
    #[serde(default)]
    error: Option<RawError>,
}

#[derive(Deserialize)]
struct RawSource {
    #[serde(default)]
    bytes: Option<String>,
}

#[derive(Deserialize)]
struct RawError {
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Parses a 200 Converse reply: the first image block is the result ("for generated images,
/// the format is always PNG", reference §3).
pub fn parse_reply(body: &[u8]) -> Result<Reply, JobError> {
    let internal = |m: String| JobError::new(ErrorCode::Internal, m);
    let raw: RawReply = serde_json::from_slice(body)
        .map_err(|e| internal(format!("the Converse reply is not the expected JSON ({e})")))?;
    let stop = raw.stop_reason.unwrap_or_default();
    if matches!(stop.as_str(), "content_filtered" | "guardrail_intervened") {
        return Err(JobError::new(
            ErrorCode::ContentFiltered,
            format!("the model's content filters stopped the answer (stopReason {stop}); use other photos or another instruction"),
        ));
    }
    let message = raw
        .output
        .and_then(|o| o.message)
        .ok_or_else(|| internal("the Converse reply has no output.message".into()))?;
    let (input_tokens, output_tokens) = raw.usage.map_or((None, None), |u| (u.input_tokens, u.output_tokens));
    let mut text = String::new();
    for block in message.content {
        if let Some(t) = block.text {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(t.trim());
        }
        let Some(image) = block.image else { continue };
        if let Some(bytes) = image.source.and_then(|s| s.bytes) {
            let png = decode_base64(&bytes, "image", "Converse")?;
            if !png.starts_with(PNG_SIGNATURE) {
                return Err(internal("the Converse reply's image is not a PNG".into()));
            }
            return Ok(Reply { images: vec![png], input_tokens, output_tokens, ..Reply::default() });
        }
        let Some(error) = image.error else {
            return Err(internal("the Converse reply's image block has neither bytes nor an error".into()));
        };
        let why = error.message.unwrap_or_else(|| "no message".into());
        return Err(JobError::new(
            ErrorCode::ModelError,
            format!("the model could not produce the image (\"{}\")", quote(&why)),
        ));
    }
    let budget = match stop.as_str() {
        "max_tokens" => " It ran out of output tokens: raise converseParams.maxTokens.",
        _ => "",
    };
    Err(JobError::new(
        ErrorCode::NoImage,
        match text.is_empty() {
            true => format!("the model answered without an image or text (stopReason {stop}).{budget}"),
            false => format!(
                "the model answered with text instead of an image: \"{}\".{budget} Try a more explicit instruction.prompt",
                quote(&text)
            ),
        },
    ))
}

/// At most [`QUOTED_CHARS`] characters of `s`, marked when cut.
fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTED_CHARS) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}
