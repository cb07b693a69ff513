//! The one error type of a job: a stable code, a message that says what to fix, and
//! whether a retry could ever succeed.
//!
//! Permanent failures are recorded as `failed` and the invocation succeeds (a retry would
//! fail the same way and might pay for a second model call). Transient ones are recorded and
//! the invocation fails, so Lambda retries it.

use serde::Serialize;
use std::fmt;

/// Stable snake_case codes, written to `status.json` and used as the Lambda `errorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The manifest is not valid JSON, has unknown fields, or breaks a Nova Canvas rule.
    InvalidManifest,
    /// The manifest or an image it names does not exist.
    MissingObject,
    /// An object is bigger than the configured byte cap.
    InputTooLarge,
    /// An input is in an archive storage class (S3 Glacier Flexible Retrieval, Deep Archive,
    /// an archive tier of Intelligent-Tiering): unreadable until it is restored.
    InputArchived,
    /// The bytes are not an accepted image format (JPEG, PNG, WebP).
    UnsupportedImage,
    /// The bytes claim an accepted format but cannot be decoded.
    InvalidImage,
    /// The decoded image is larger than the configured pixel or dimension caps.
    ImageTooLarge,
    /// The `imageBasedMask` image is not a usable black-and-white mask for the source.
    InvalidMask,
    /// The model's content filters blocked the input or every output, and said so as data
    /// (a finish reason, a filtered-reason field, an `error` beside fewer images).
    ContentFiltered,
    /// The model rejected the request (a validation error; input moderation the vendor
    /// reports only in words is one).
    ModelRejected,
    /// A prompt-based model answered without an image (text only, `NO_IMAGE`).
    NoImage,
    /// The backend's credentials could not be obtained, or the service refused them.
    AuthFailed,
    /// The model cannot be used: end of life, no access, wrong id or region.
    ModelUnavailable,
    /// The model did not answer before the deadline, or answered 408.
    ModelTimeout,
    /// Bedrock throttled the call and the SDK's retries ran out.
    Throttled,
    /// Bedrock or the model failed on its side (5xx, 424, network).
    ModelError,
    /// S3 failed while reading or writing (other than a missing object).
    StorageError,
    /// An earlier attempt died (out of memory, timeout, crash) where a retry would die again
    /// or pay twice.
    Crashed,
    /// The job ended and its outcome is recorded, but the bus did not accept its completion
    /// event: the retry publishes it without running the job again.
    EventNotPublished,
    /// Anything the function did not expect (a malformed model reply, a bug).
    Internal,
}

impl ErrorCode {
    /// Every code, for documentation tests.
    pub const ALL: [ErrorCode; 20] = [
        ErrorCode::InvalidManifest,
        ErrorCode::MissingObject,
        ErrorCode::InputTooLarge,
        ErrorCode::InputArchived,
        ErrorCode::UnsupportedImage,
        ErrorCode::InvalidImage,
        ErrorCode::ImageTooLarge,
        ErrorCode::InvalidMask,
        ErrorCode::ContentFiltered,
        ErrorCode::ModelRejected,
        ErrorCode::NoImage,
        ErrorCode::AuthFailed,
        ErrorCode::ModelUnavailable,
        ErrorCode::ModelTimeout,
        ErrorCode::Throttled,
        ErrorCode::ModelError,
        ErrorCode::StorageError,
        ErrorCode::Crashed,
        ErrorCode::EventNotPublished,
        ErrorCode::Internal,
    ];

    /// The stable wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidManifest => "invalid_manifest",
            ErrorCode::MissingObject => "missing_object",
            ErrorCode::InputTooLarge => "input_too_large",
            ErrorCode::InputArchived => "input_archived",
            ErrorCode::UnsupportedImage => "unsupported_image",
            ErrorCode::InvalidImage => "invalid_image",
            ErrorCode::ImageTooLarge => "image_too_large",
            ErrorCode::InvalidMask => "invalid_mask",
            ErrorCode::ContentFiltered => "content_filtered",
            ErrorCode::ModelRejected => "model_rejected",
            ErrorCode::NoImage => "no_image",
            ErrorCode::AuthFailed => "auth_failed",
            ErrorCode::ModelUnavailable => "model_unavailable",
            ErrorCode::ModelTimeout => "model_timeout",
            ErrorCode::Throttled => "throttled",
            ErrorCode::ModelError => "model_error",
            ErrorCode::StorageError => "storage_error",
            ErrorCode::Crashed => "crashed",
            ErrorCode::EventNotPublished => "event_not_published",
            ErrorCode::Internal => "internal",
        }
    }

    /// Whether a later attempt of the same job could succeed. `internal` is not retried:
    /// an unexpected state is as likely to repeat, and a retry may pay for another model call.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::ModelTimeout
                | ErrorCode::Throttled
                | ErrorCode::ModelError
                | ErrorCode::StorageError
                | ErrorCode::EventNotPublished
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job failure: what went wrong (stable code) and what to do about it (message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct JobError {
    pub code: ErrorCode,
    pub message: String,
}

impl JobError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        JobError { code, message: message.into() }
    }

    pub fn retryable(&self) -> bool {
        self.code.retryable()
    }

    /// Whether the attempt numbered `attempt` (1-based, `status.attempts`) that ended with
    /// this error records the job `failed`, given `MAX_ATTEMPTS`. A permanent error is final
    /// at once. A transient one is final on the last attempt, except `throttled`: a throttle
    /// is refused before the model runs and is not charged, so waiting for the quota costs
    /// nothing but time, and a job that was only throttled stays `processing` however often
    /// it was tried, its event kept by the trigger (the overflow queue, SQS, S3 Batch
    /// Operations) until the quota admits it (docs/capacity.md, "Defaults that drain any burst").
    pub fn final_after(&self, attempt: u32, max_attempts: u32) -> bool {
        match self.code {
            ErrorCode::Throttled => false,
            _ => !self.retryable() || attempt >= max_attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_serialise_as_their_names() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(s));
        }
    }

    #[test]
    fn only_infrastructure_failures_are_retryable() {
        let retryable: Vec<_> = ErrorCode::ALL.iter().filter(|c| c.retryable()).map(|c| c.as_str()).collect();
        assert_eq!(retryable, ["model_timeout", "throttled", "model_error", "storage_error", "event_not_published"]);
    }

    #[test]
    fn only_throttles_are_never_final() {
        let e = |code| JobError::new(code, "x");
        // Permanent: final on the first attempt.
        assert!(e(ErrorCode::InvalidManifest).final_after(1, 3));
        // Transient: final on the last attempt and after it, not before.
        for code in [ErrorCode::ModelTimeout, ErrorCode::ModelError, ErrorCode::StorageError] {
            assert!(!e(code).final_after(2, 3), "{code}");
            assert!(e(code).final_after(3, 3), "{code}");
            assert!(e(code).final_after(9, 3), "{code}");
        }
        // Throttled: never, however many attempts.
        for attempt in [1, 3, 100] {
            assert!(!e(ErrorCode::Throttled).final_after(attempt, 3));
        }
    }
}
