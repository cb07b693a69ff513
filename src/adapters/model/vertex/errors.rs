//! Vertex AI failures on the model port: Google's error body
//! (`{"error":{"code","message","status"}}`, reference §6), the failure kind by HTTP status,
//! which statuses are worth retrying, and transport failures.

use std::time::Duration;

use serde::Deserialize;

use crate::adapters::model::{ModelCallError, ModelFailureKind};

#[derive(Deserialize)]
struct Envelope {
    error: GoogleError,
}

#[derive(Deserialize)]
struct GoogleError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

/// The failure kind for an HTTP status from Vertex AI.
pub(crate) fn kind_for_status(status: u16) -> ModelFailureKind {
    use ModelFailureKind as K;
    match status {
        401 => K::Unauthenticated,
        403 => K::AccessDenied,
        404 => K::NotFound,
        429 => K::Throttled,
        408 | 504 => K::Timeout,
        400..=499 => K::Validation,
        _ => K::Unavailable,
    }
}

/// Google's advice (reference §6): retry quota and overload answers, nothing else.
pub(crate) fn retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 503)
}

/// The canonical status name Google pairs with an HTTP status, for bodies that carry none.
fn canonical_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

/// An error answer: `"{STATUS} (HTTP {code}): {message}"`. A body that is not Google's JSON
/// is described by its size only: it may be a proxy's HTML page, and bodies are not logged.
pub(crate) fn http_error(status: u16, body: &[u8]) -> ModelCallError {
    let parsed = serde_json::from_slice::<Envelope>(body).ok().map(|e| e.error);
    let (name, message) = match parsed {
        Some(e) => {
            let name = if e.status.is_empty() { canonical_status(status).to_owned() } else { e.status };
            let message = if e.message.is_empty() { "(no message)".to_owned() } else { e.message };
            (name, message)
        }
        None => (canonical_status(status).to_owned(), format!("no Google error body ({} bytes)", body.len())),
    };
    ModelCallError::new(kind_for_status(status), format!("{name} (HTTP {status}): {message}")).answered(status, name)
}

/// A request that got no HTTP answer: timed out, or could not connect.
pub(crate) fn transport_error(e: &reqwest::Error, timeout: Duration) -> ModelCallError {
    let (kind, what) = if e.is_timeout() {
        (ModelFailureKind::Timeout, format!("no answer within the call's {} s", timeout.as_secs_f32()))
    } else if e.is_connect() {
        (ModelFailureKind::Unavailable, "could not connect".to_owned())
    } else {
        (ModelFailureKind::Unavailable, "the request failed".to_owned())
    };
    ModelCallError::new(kind, format!("Vertex AI: {what}: {}", chain(e)))
}

/// The call's time ran out between attempts (waiting for a token or a backoff).
pub(crate) fn out_of_time(timeout: Duration, doing: &str) -> ModelCallError {
    ModelCallError::new(
        ModelFailureKind::Timeout,
        format!("Vertex AI: the call's {} s ran out {doing}", timeout.as_secs_f32()),
    )
}

/// An error with its sources, for messages (`Display` alone often says only "error sending request").
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ModelFailureKind as K;

    #[test]
    fn google_error_bodies_give_status_code_and_message() {
        let body =
            br#"{"error":{"code":400,"message":"Image is too large.","status":"INVALID_ARGUMENT","details":[]}}"#;
        let e = http_error(400, body);
        assert_eq!(e.kind, K::Validation);
        assert_eq!(e.message, "INVALID_ARGUMENT (HTTP 400): Image is too large.");

        let body = br#"{"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.","status":"RESOURCE_EXHAUSTED"}}"#;
        let e = http_error(429, body);
        assert_eq!(e.kind, K::Throttled);
        assert!(e.message.starts_with("RESOURCE_EXHAUSTED (HTTP 429): Quota exceeded"), "{}", e.message);

        let e = http_error(
            400,
            br#"{"error":{"code":400,"message":"Model is not allowlisted.","status":"FAILED_PRECONDITION"}}"#,
        );
        assert_eq!(
            (e.kind, e.message.as_str()),
            (K::Validation, "FAILED_PRECONDITION (HTTP 400): Model is not allowlisted.")
        );
        assert_eq!((e.status, e.code.as_deref()), (Some(400), Some("FAILED_PRECONDITION")), "the cause as fields");
    }

    #[test]
    fn kinds_follow_the_http_status() {
        let cases = [
            (400, K::Validation),
            (401, K::Unauthenticated),
            (403, K::AccessDenied),
            (404, K::NotFound),
            (429, K::Throttled),
            (500, K::Unavailable),
            (503, K::Unavailable),
            (504, K::Timeout),
            (502, K::Unavailable),
        ];
        for (status, kind) in cases {
            assert_eq!(kind_for_status(status), kind, "HTTP {status}");
        }
    }

    #[test]
    fn bodies_that_are_not_googles_are_not_quoted() {
        let e = http_error(503, b"<html>secret proxy page</html>");
        assert_eq!(e.kind, K::Unavailable);
        assert_eq!(e.message, "UNAVAILABLE (HTTP 503): no Google error body (30 bytes)");
        let e = http_error(504, b"");
        assert_eq!(
            (e.kind, e.message.as_str()),
            (K::Timeout, "DEADLINE_EXCEEDED (HTTP 504): no Google error body (0 bytes)")
        );
        // A Google body without a status takes the canonical one.
        let e = http_error(403, br#"{"error":{"code":403,"message":"denied"}}"#);
        assert_eq!(e.message, "PERMISSION_DENIED (HTTP 403): denied");
        assert_eq!((e.status, e.code.as_deref()), (Some(403), Some("PERMISSION_DENIED")));
    }

    #[test]
    fn only_quota_and_overload_are_retried() {
        let retried: Vec<u16> = (400..600).filter(|s| retryable(*s)).collect();
        assert_eq!(retried, [429, 500, 503]);
    }
}
