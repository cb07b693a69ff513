//! The faults a test scripts for the FASHN emulator: `POST /_emulator/faults/fashn` with one
//! JSON object or an array (or [`Emulator::push_fashn_fault`](crate::Emulator::push_fashn_fault)
//! in code), each used by one call. A fault is for `/v1/run` unless its JSON says
//! `"on": "status"` ([`Emulator::push_fashn_status_fault`](crate::Emulator::push_fashn_status_fault)):
//! then the next `/v1/status/{id}` takes it, and runs pass it by.
//!
//! Request-level errors answer FASHN's `{"error","message"}` with their status instead of the
//! call (§7.1). Prediction faults let `/v1/run` answer its id and shape that prediction: how
//! it fails (`status: failed`, `error{name,message}`, §7.2), how long it takes, whether it
//! gets lost (404 on status) or ends `canceled`/`time_out`, or whether its base64 outputs
//! read as expired.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::wire::FashnError;

/// One scripted FASHN fault. JSON: `{"type": "<camelCase variant>", …fields}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum FashnFault {
    /// 400 `BadRequest` ("Invalid request body" unless `message`).
    BadRequest {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// 401 `UnauthorizedAccess` "Invalid or inactive API key".
    Unauthorized,
    /// 429 `RateLimitExceeded` "Too many requests".
    RateLimited,
    /// 429 `ConcurrencyLimitExceeded`.
    ConcurrencyLimited,
    /// 429 `OutOfCredits` (the SDKs retry it although it cannot succeed, reference §9).
    OutOfCredits,
    /// A 5xx `InternalServerError` (`status` 500 unless given; "Server error" on run,
    /// "Failed to fetch prediction status" on status, unless `message`).
    ServerError {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// 404 `NotFound` "Prediction not found" for this one call (status).
    NotFound,
    /// Wait `ms`, then answer normally.
    Delay {
        ms: u64,
    },
    /// The prediction ends `failed` with `error: {name, message}`. `name` is FASHN's
    /// (`ImageLoadError`, `ContentModerationError`, `PoseError`, `InputValidationError`,
    /// `ThirdPartyError`, `UnavailableError`, `PipelineError`, `3rdPartyProviderError`,
    /// `InternalServerError`, `LoRALoadError`, legacy `NSFWError`, `PhotoTypeError`) or any
    /// other string (a client must keep an unknown arm, §7.2); `message` defaults per name.
    Fail {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The prediction takes `seconds` instead of the configured prediction time.
    Slow {
        seconds: f64,
    },
    /// The prediction is lost after `afterPolls` answered polls (0: at once): from then on
    /// `/v1/status/{id}` answers 404 `NotFound` "Prediction not found".
    Lost {
        #[serde(default, rename = "afterPolls")]
        after_polls: u32,
    },
    /// The prediction ends `canceled` (or `time_out`): OpenAPI/SDK states whose cause is
    /// NOT FOUND; answered with `output: null, error: null`.
    Canceled,
    TimeOut,
    /// `return_base64` outputs read `<base64>_expired`, as after their 60 minutes (F4).
    ExpiredBase64,
}

/// Which call a queued fault is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum On {
    Run,
    Status,
}

/// The call a queued fault JSON is for (`"on": "status"`, else run).
pub(super) fn on(raw: &Value) -> On {
    if raw.get("on").and_then(Value::as_str) == Some("status") {
        On::Status
    } else {
        On::Run
    }
}

/// The queued JSON as a fault for `call`; an unknown fault, or one that cannot apply to
/// this call, fails the call with a 500 naming it.
pub(super) fn parse(raw: &Value, call: On) -> Result<FashnFault, FashnError> {
    let mut v = raw.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("on");
    }
    let fault: FashnFault = serde_json::from_value(v)
        .map_err(|e| FashnError::server(500, format!("emulator: unknown fault {raw} queued for fashn: {e}")))?;
    let run_only = matches!(
        fault,
        FashnFault::Fail { .. }
            | FashnFault::Slow { .. }
            | FashnFault::Lost { .. }
            | FashnFault::Canceled
            | FashnFault::TimeOut
            | FashnFault::ExpiredBase64
    );
    if call == On::Status && run_only {
        return Err(FashnError::server(
            500,
            format!("emulator: fault {raw} shapes a prediction; queue it for /v1/run"),
        ));
    }
    if let FashnFault::Slow { seconds } = fault {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(FashnError::server(500, format!("emulator: fault {raw}: seconds must be ≥ 0")));
        }
    }
    Ok(fault)
}

/// The request-level error a fault answers instead of the call, if it is one.
pub(super) fn canned(fault: &FashnFault, call: On) -> Option<FashnError> {
    Some(match fault {
        FashnFault::BadRequest { message } => {
            FashnError::new(400, "BadRequest", message.clone().unwrap_or_else(|| "Invalid request body".into()))
        }
        FashnFault::Unauthorized => FashnError::unauthorized("Invalid or inactive API key"),
        FashnFault::RateLimited => FashnError::rate_limited(),
        FashnFault::ConcurrencyLimited => FashnError::concurrency(6),
        FashnFault::OutOfCredits => FashnError::out_of_credits(1, 0),
        FashnFault::ServerError { status, message } => {
            let default = if call == On::Run { "Server error" } else { "Failed to fetch prediction status" };
            let status = status.filter(|s| (500..=599).contains(s)).unwrap_or(500);
            FashnError::server(status, message.clone().unwrap_or_else(|| default.into()))
        }
        FashnFault::NotFound => FashnError::prediction_not_found(),
        _ => return None,
    })
}

/// The default message of a runtime error name (FASHN's texts where the reference quotes
/// one, §11 and F6; the emulator's wording otherwise, as the messages are NOT FOUND).
pub(super) fn failure_message(name: &str) -> &'static str {
    match name {
        "ImageLoadError" => {
            "Error loading model image: The URL's Content-Type is not an image. Content-Type: text/plain;charset=UTF-8"
        }
        "ContentModerationError" => {
            "The input was flagged by content moderation. Change the input or moderation_level."
        }
        "PoseError" => "Could not detect a body pose in the model image.",
        "InputValidationError" => "Invalid or inconsistent input parameters.",
        "ThirdPartyError" => "A third-party processor refused or failed the request.",
        "UnavailableError" => "A service needed for this prediction is temporarily overloaded. Please retry.",
        "PipelineError" => "An unexpected error occurred in the pipeline. You were not charged; please retry.",
        "3rdPartyProviderError" => "An unclassified provider error occurred.",
        "InternalServerError" => "Internal server error.",
        "LoRALoadError" => "The LoRA weights could not be loaded.",
        "NSFWError" => "NSFW content detected.",
        "PhotoTypeError" => "The photo type could not be determined.",
        _ => "emulator: scripted failure",
    }
}
