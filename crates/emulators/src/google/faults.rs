//! The faults a test queues for the Google emulators (`POST /_emulator/faults/vertex-vto`,
//! `/gemini-image` or `/gemini-api`), each used by one call: canned errors with Google's
//! status and wording, a delay, and 200 answers a client must survive (filtered samples,
//! refusals, malformed images). The Gemini API answers its canned errors in its own words
//! (`gemini_api::errors`).

use serde::Deserialize;
use serde_json::Value;

use super::wire::{Backend, GoogleError, Target};

/// One queued fault.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub(super) enum Fault {
    /// 429 RESOURCE_EXHAUSTED (quota, or the shared pool busy). The Gemini API adds
    /// `QuotaFailure` (`quotaId`), `Help` and `RetryInfo` (`retryDelay`, default "22s").
    ResourceExhausted {
        #[serde(default, rename = "retryDelay")]
        retry_delay: Option<String>,
        #[serde(default, rename = "quotaId")]
        quota_id: Option<String>,
    },
    /// Gemini API: 402 RESOURCE_EXHAUSTED, the prepay credit is depleted.
    PrepayDepleted,
    /// 503 UNAVAILABLE.
    Unavailable,
    /// 500 INTERNAL.
    Internal,
    /// 400 INVALID_ARGUMENT with this message.
    InvalidArgument {
        #[serde(default)]
        message: Option<String>,
    },
    /// 403 PERMISSION_DENIED.
    PermissionDenied,
    /// 504 DEADLINE_EXCEEDED.
    DeadlineExceeded,
    /// Wait, then answer normally.
    Delay { ms: u64 },
    /// VTO: `keep` images, the other samples as `raiFilteredReason` entries.
    Filtered {
        #[serde(default)]
        keep: u32,
    },
    /// VTO: a 200 with no predictions at all.
    EmptyPredictions,
    /// Gemini: a refusal in text, `finishReason: STOP`, no image.
    TextOnly {
        #[serde(default)]
        text: Option<String>,
    },
    /// Gemini: `finishReason: IMAGE_SAFETY`, no image.
    ImageSafety,
    /// Gemini: `finishReason: NO_IMAGE`.
    NoImage,
    /// Gemini: no candidates, `promptFeedback.blockReason` (`SAFETY` unless `reason`).
    PromptBlocked {
        #[serde(default)]
        reason: Option<String>,
    },
    /// Gemini: a `thought: true` image part before the real one.
    ThoughtImage,
    /// The image's base64 is not base64.
    BadBase64,
    /// The image is labelled `text/plain`.
    WrongMime,
    /// A tiny PNG whose header claims 20000×20000 pixels.
    OversizedImage,
}

/// The queued JSON as a fault for `backend`; a fault the emulator does not know, or one
/// that makes no sense for this backend, fails the call with a 500 naming it.
pub(super) fn parse(raw: &Value, backend: Backend) -> Result<Fault, GoogleError> {
    let fault: Fault = serde_json::from_value(raw.clone()).map_err(|e| {
        GoogleError::new(500, "INTERNAL", format!("emulator: unknown fault {raw} queued for {}: {e}", backend.name()))
    })?;
    let fits = match fault {
        Fault::Filtered { .. } | Fault::EmptyPredictions => backend == Backend::Vto,
        Fault::TextOnly { .. }
        | Fault::ImageSafety
        | Fault::NoImage
        | Fault::PromptBlocked { .. }
        | Fault::ThoughtImage => backend != Backend::Vto,
        Fault::PrepayDepleted => backend == Backend::GeminiApi,
        _ => true,
    };
    if !fits {
        return Err(GoogleError::new(
            500,
            "INTERNAL",
            format!("emulator: fault {raw} does not apply to {}", backend.name()),
        ));
    }
    Ok(fault)
}

/// The error a fault answers instead of the model, or `None` if the call goes on.
pub(super) fn canned(fault: &Fault, target: &Target) -> Option<GoogleError> {
    let resource = format!(
        "//aiplatform.googleapis.com/projects/{}/locations/{}/publishers/google/models/{}",
        target.project, target.location, target.model
    );
    Some(match fault {
        // VTO has a per-region quota (reference §5); Gemini a shared pool (Gemini §6, V10).
        Fault::ResourceExhausted { .. } if target.backend == Backend::Vto => GoogleError::new(
            429,
            "RESOURCE_EXHAUSTED",
            format!("Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: {}. Please submit a quota increase request. https://cloud.google.com/vertex-ai/docs/generative-ai/quotas-genai.", target.model),
        ),
        Fault::ResourceExhausted { .. } => {
            GoogleError::new(429, "RESOURCE_EXHAUSTED", "Resource exhausted, please try again later.")
        }
        Fault::Unavailable => GoogleError::new(503, "UNAVAILABLE", "The service is currently unavailable."),
        Fault::Internal => GoogleError::new(500, "INTERNAL", "Internal error encountered."),
        Fault::InvalidArgument { message } => GoogleError::new(
            400,
            "INVALID_ARGUMENT",
            message.clone().unwrap_or_else(|| "Request contains an invalid argument.".into()),
        ),
        Fault::PermissionDenied => GoogleError::new(
            403,
            "PERMISSION_DENIED",
            format!("Permission 'aiplatform.endpoints.predict' denied on resource '{resource}' (or it may not exist)."),
        ),
        Fault::DeadlineExceeded => GoogleError::new(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
        _ => return None,
    })
}
