//! The errors a queued fault answers on the Gemini API, in its words (Gemini reference §4):
//! 429 with `QuotaFailure`, `Help` and `RetryInfo`; 402 for depleted prepay credit; the
//! overloaded 503; and the rest as on Vertex.

use serde_json::json;

use super::super::faults::Fault;
use super::super::wire::GoogleError;

const RATE_LIMITS: &str = "https://ai.google.dev/gemini-api/docs/rate-limits";

/// 429 RESOURCE_EXHAUSTED as X13 captured it: which quota, a help link, when to retry.
/// The project is taken as billed (free-tier image access is NOT FOUND, §6), so the quota
/// is the per-minute paid one unless the fault names another.
fn quota(model: &str, retry_delay: Option<&str>, quota_id: Option<&str>) -> GoogleError {
    let quota_id = quota_id.unwrap_or("GenerateRequestsPerMinutePerProjectPerModel");
    GoogleError::new(
        429,
        "RESOURCE_EXHAUSTED",
        format!("You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: {RATE_LIMITS}."),
    )
    .with_details(vec![
        json!({
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_requests",
                "quotaId": quota_id,
                "quotaDimensions": { "location": "global", "model": model },
                "quotaValue": "10",
            }],
        }),
        json!({
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{ "description": "Learn more about Gemini API quotas", "url": RATE_LIMITS }],
        }),
        json!({ "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay.unwrap_or("22s") }),
    ])
}

/// The error `fault` answers instead of the model on the Gemini API, if it is one.
pub(super) fn canned(fault: &Fault, model: &str) -> Option<GoogleError> {
    Some(match fault {
        Fault::ResourceExhausted { retry_delay, quota_id } => quota(model, retry_delay.as_deref(), quota_id.as_deref()),
        // A8: the 402 that replaced 429 for an empty prepay balance; the text after "AI
        // Studio" is NOT FOUND (the emulator's).
        Fault::PrepayDepleted => GoogleError::new(
            402,
            "RESOURCE_EXHAUSTED",
            "Your prepayment credits are depleted. Please go to AI Studio at https://aistudio.google.com to manage your project and billing.",
        ),
        Fault::Unavailable => GoogleError::new(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        Fault::Internal => GoogleError::new(
            500,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        ),
        Fault::InvalidArgument { message } => GoogleError::new(
            400,
            "INVALID_ARGUMENT",
            message.clone().unwrap_or_else(|| "Request contains an invalid argument.".into()),
        ),
        Fault::PermissionDenied => GoogleError::new(
            403,
            "PERMISSION_DENIED",
            "Generative Language API has not been used in this project before or it is disabled. Enable it, then retry.",
        )
        .with_details(vec![json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "SERVICE_DISABLED",
            "domain": "googleapis.com",
            "metadata": { "service": "generativelanguage.googleapis.com" },
        })]),
        Fault::DeadlineExceeded => {
            GoogleError::new(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.")
        }
        _ => return None,
    })
}
