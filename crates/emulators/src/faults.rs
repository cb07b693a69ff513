//! The faults a test can queue, and the canned Bedrock error each one answers.

use serde::{Deserialize, Serialize};

use super::bedrock::END_OF_LIFE;

/// A fault for the next call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum Fault {
    /// 429 ThrottlingException (the SDK retries it).
    Throttling,
    /// 429 ModelNotReadyException (the SDK retries it).
    ModelNotReady,
    /// 503 ServiceUnavailableException (the SDK retries it).
    ServiceUnavailable,
    /// 500 InternalServerException (the SDK retries it).
    InternalServer,
    /// 408 ModelTimeoutException (not retried by the SDK).
    ModelTimeout,
    /// 424 ModelErrorException.
    ModelError,
    /// 400 ValidationException: input moderation.
    InputModeration,
    /// 200 with `error` and only `images` of the requested images.
    OutputModeration {
        #[serde(default)]
        images: u32,
    },
    /// 404 ResourceNotFoundException: the model reached end of life.
    EndOfLife,
    /// 403 AccessDeniedException.
    AccessDenied,
    /// Wait this long, then answer normally.
    Delay { ms: u64 },
}

/// The message Nova gives when input moderation blocks a request.
pub(super) const INPUT_BLOCKED: &str =
    "This request has been blocked by our content filters. Please adjust your input image to submit a new request.";

impl Fault {
    /// The error answered instead of a model call: (status, `x-amzn-ErrorType`, message).
    /// `None` for faults that let the call proceed (delay, moderation).
    pub(super) fn canned(&self) -> Option<(u16, &'static str, &'static str)> {
        Some(match self {
            Fault::Throttling => (429, "ThrottlingException", "Too many requests, please wait before trying again."),
            Fault::ModelNotReady => (429, "ModelNotReadyException", "Model is not ready to serve inference requests."),
            Fault::ServiceUnavailable => (503, "ServiceUnavailableException", "Service is temporarily unavailable."),
            Fault::InternalServer => (500, "InternalServerException", "The server encountered an internal error."),
            Fault::ModelTimeout => {
                (408, "ModelTimeoutException", "Model has timed out in processing the request. Try your request again.")
            }
            Fault::ModelError => (424, "ModelErrorException", "The model failed to process the request."),
            Fault::EndOfLife => (404, "ResourceNotFoundException", END_OF_LIFE),
            Fault::AccessDenied => {
                (403, "AccessDeniedException", "You don't have access to the model with the specified model ID.")
            }
            Fault::InputModeration | Fault::OutputModeration { .. } | Fault::Delay { .. } => return None,
        })
    }

    /// The `error` field of a 200 reply that kept only some images.
    pub(super) fn output_blocked(keep: u32) -> &'static str {
        if keep == 0 {
            "All of the generated images have been blocked by our content filters."
        } else {
            "Some of the generated images have been blocked by our content filters."
        }
    }
}
