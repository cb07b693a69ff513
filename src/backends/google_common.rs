//! What the two Google backends (`vertex-vto`, `gemini-image`) share: typed options blocks
//! that report every problem, the body cap for two inline images, Google's status names in
//! the transport's messages, input moderation told apart from a malformed request, and reply
//! images and JSON errors that never quote image data. Pure.

use serde::de::DeserializeOwned;

use super::body::decode_base64;
use crate::adapters::model::{ModelCallError, ModelFailureKind};
use crate::core::backend::Backend;
use crate::core::error::{ErrorCode, JobError};

/// The request body's cap: two inline images of at most 7 MB each (reference §4: "7 MB per
/// file for inline data", the stricter of the two sizes Google states), base64-encoded,
/// plus room for the parameters and the text of the manifest. Google states no
/// whole-request limit. `backend`'s canvas holds the same 7 MB, so a prepared pair fits.
pub(super) fn max_body_bytes(backend: Backend) -> usize {
    const PARAMETERS_AND_TEXT: usize = 64 * 1024;
    2 * super::body::base64_len(backend.canvas().max_image_bytes) + PARAMETERS_AND_TEXT
}

/// Reads an options block into `T` (all fields optional, unknown ones refused), reporting
/// every problem, each as `block.field: what to fix`. serde stops at the first problem, so
/// each field is read alone and `T` is made of the fields that read well: the ranges of
/// those can then be checked too, and one upload shows every reason it was refused.
pub(super) fn typed_block<T: DeserializeOwned + Default>(
    block: &str,
    value: Option<&serde_json::Value>,
    problems: &mut Vec<String>,
) -> T {
    let Some(value) = value.filter(|v| !v.is_null()) else { return T::default() };
    let Some(map) = value.as_object() else {
        problems.push(format!("{block}: must be a JSON object of options, e.g. {{}}"));
        return T::default();
    };
    let mut good = serde_json::Map::new();
    for (key, v) in map {
        let one = serde_json::Value::Object(serde_json::Map::from_iter([(key.clone(), v.clone())]));
        match serde_json::from_value::<T>(one) {
            Ok(_) => {
                good.insert(key.clone(), v.clone());
            }
            Err(e) => problems.push(format!("{block}.{key}: {e}")),
        }
    }
    // Fields that read alone read together (none depends on another); should serde think
    // otherwise, say so rather than drop the block.
    serde_json::from_value(serde_json::Value::Object(good)).unwrap_or_else(|e| {
        problems.push(format!("{block}: {e}"));
        T::default()
    })
}

/// The options of a block that [`TryOn::check_options`] passed; a problem here means the
/// pipeline skipped that check.
pub(super) fn checked_block<T: DeserializeOwned + Default>(
    block: &str,
    value: Option<&serde_json::Value>,
) -> Result<T, JobError> {
    let mut problems = Vec::new();
    let t = typed_block(block, value, &mut problems);
    if !problems.is_empty() {
        return Err(JobError::new(ErrorCode::Internal, format!("unchecked options: {}", problems.join("; "))));
    }
    Ok(t)
}

/// Decodes an image of a Google reply: a declared MIME type other than PNG or JPEG, bad
/// base64, or bytes that are neither PNG nor JPEG are `internal` (we ask for PNG, and the
/// writers downstream take only these two). Never quotes the bytes.
pub(super) fn reply_image(b64: &str, mime: Option<&str>, what: &str, title: &str) -> Result<Vec<u8>, JobError> {
    if let Some(m) = mime.filter(|m| !matches!(*m, "image/png" | "image/jpeg")) {
        return Err(JobError::new(
            ErrorCode::Internal,
            format!("the {title} reply's {what} is of type {m:?}; only image/png and image/jpeg are expected"),
        ));
    }
    let bytes = decode_base64(b64, what, title)?;
    match crate::core::image::format::sniff(&bytes) {
        Ok(crate::core::image::format::InputFormat::Png | crate::core::image::format::InputFormat::Jpeg) => Ok(bytes),
        _ => Err(JobError::new(
            ErrorCode::Internal,
            format!("the {title} reply's {what} is not a PNG or JPEG image ({} bytes)", bytes.len()),
        )),
    }
}

/// Why a reply is not the JSON expected, without the strings serde quotes: those can be
/// image data.
pub(super) fn not_json(title: &str, e: &serde_json::Error) -> String {
    let mut out = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in e.to_string().chars() {
        match (quoted, escaped, c) {
            (true, false, '\\') => escaped = true,
            (true, true, _) => escaped = false,
            (_, false, '"') => {
                quoted = !quoted;
                out.push_str(if quoted { "\"…" } else { "\"" });
            }
            (false, _, c) => out.push(c),
            (true, false, _) => {}
        }
    }
    format!("the {title} reply is not the expected JSON ({out})")
}

/// What a Google backend's failures tell the user to do; the rest of the mapping is shared.
pub(super) struct Hints {
    /// The model family, for messages ("Gemini").
    pub(super) title: &'static str,
    /// Who refuses to run a model that needs allowlisting ("Vertex AI").
    pub(super) refused: &'static str,
    /// The name of the filters that block inputs.
    pub(super) filters: &'static str,
    /// What to do when they did.
    pub(super) filtered: &'static str,
    /// What to check when the request was refused.
    pub(super) rejected: &'static str,
    /// Which variables name the model and where it is offered.
    pub(super) not_found: &'static str,
    /// What a 429 means for this model.
    pub(super) throttled: &'static str,
}

/// Maps a failed Vertex AI call onto the job error users see, by the failure kind and
/// Google's `status` (a field of the error, never read from the message). Google reports input
/// moderation as a plain `INVALID_ARGUMENT` whose only sign is its wording, so it is
/// `model_rejected` (permanent) like any refused request, with both remedies named.
pub(super) fn classify(e: &ModelCallError, model: &str, h: &Hints) -> JobError {
    let msg = e.message.trim();
    let title = h.title;
    let (code, text) = match e.kind {
        ModelFailureKind::Validation if e.code_is("FAILED_PRECONDITION") => (
            ErrorCode::ModelRejected,
            format!("{} refused to run {model} (\"{msg}\"); the model may need allowlisting for project VERTEX_PROJECT, or an organisation policy blocks it", h.refused),
        ),
        ModelFailureKind::Validation => (
            ErrorCode::ModelRejected,
            format!(
                "{title} rejected the request (\"{msg}\"); {}. If it says its {} blocked the input: {}",
                h.rejected, h.filters, h.filtered
            ),
        ),
        ModelFailureKind::NotFound => {
            (ErrorCode::ModelUnavailable, format!("model {model} was not found (\"{msg}\"); {}", h.not_found))
        }
        ModelFailureKind::AccessDenied => (
            ErrorCode::ModelUnavailable,
            format!("access to {model} was denied (\"{msg}\"); grant the function's Google identity roles/aiplatform.user and enable the Vertex AI API (aiplatform.googleapis.com) in VERTEX_PROJECT"),
        ),
        ModelFailureKind::Unauthenticated => (
            ErrorCode::AuthFailed,
            format!("Google refused or could not issue the function's credentials (\"{msg}\"); check the Google credentials setting and the Workload Identity Federation provider"),
        ),
        ModelFailureKind::Throttled => {
            (ErrorCode::Throttled, format!("{title} throttled the call after retries (\"{msg}\"); {}", h.throttled))
        }
        ModelFailureKind::Timeout => (ErrorCode::ModelTimeout, format!("{model} did not answer in time ({msg})")),
        ModelFailureKind::ModelError | ModelFailureKind::Unavailable => {
            (ErrorCode::ModelError, format!("{title} failed on Google's side (\"{msg}\"); the job will be retried"))
        }
    };
    JobError::new(code, text)
}
