//! FASHN's wire: the request-level error body `{"error": "<Name>", "message": "…"}` with its
//! HTTP status (reference §7.1, OpenAPI `ErrorResponse`), and the bearer check.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::keys::KeyVerdict;
use crate::state::Emulator;

/// A request-level FASHN error: no prediction id is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FashnError {
    pub(super) status: u16,
    pub(super) name: &'static str,
    pub(super) message: String,
}

impl FashnError {
    pub(super) fn new(status: u16, name: &'static str, message: impl Into<String>) -> Self {
        FashnError { status, name, message: message.into() }
    }

    /// 400 `BadRequest`: "Invalid request body", then what is wrong (naming the field).
    pub(super) fn bad_request(detail: impl std::fmt::Display) -> Self {
        FashnError::new(400, "BadRequest", format!("Invalid request body: {detail}"))
    }

    /// 401 `UnauthorizedAccess` with one of the two documented messages.
    pub(super) fn unauthorized(message: &str) -> Self {
        FashnError::new(401, "UnauthorizedAccess", message)
    }

    /// 404 `NotFound` "Prediction not found": unknown, lost or no longer tracked ids.
    pub(super) fn prediction_not_found() -> Self {
        FashnError::new(404, "NotFound", "Prediction not found")
    }

    /// 429 `RateLimitExceeded` "Too many requests".
    pub(super) fn rate_limited() -> Self {
        FashnError::new(429, "RateLimitExceeded", "Too many requests")
    }

    /// 429 `ConcurrencyLimitExceeded`; the reference gives no message (NOT FOUND), so the
    /// emulator writes one.
    pub(super) fn concurrency(limit: u32) -> Self {
        FashnError::new(
            429,
            "ConcurrencyLimitExceeded",
            format!("Concurrency limit exceeded: at most {limit} predictions may run at once; wait for one to finish."),
        )
    }

    /// 429 `OutOfCredits`; message NOT FOUND, the emulator's.
    pub(super) fn out_of_credits(needed: u64, left: u64) -> Self {
        FashnError::new(
            429,
            "OutOfCredits",
            format!("Insufficient API credits: this prediction needs {needed}, {left} left. Top up to continue."),
        )
    }

    /// 5xx `InternalServerError` (the one server error name FASHN documents).
    pub(super) fn server(status: u16, message: impl Into<String>) -> Self {
        FashnError::new(status, "InternalServerError", message)
    }

    pub(super) fn body(&self) -> Value {
        json!({ "error": self.name, "message": self.message })
    }

    pub(super) fn response(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.body())).into_response()
    }
}

/// The bearer key of a call, checked against the emulator's FASHN key policy. A missing or
/// malformed `Authorization` header is "Unauthorized: Invalid token"; a key the policy
/// refuses is "Invalid or inactive API key" (both 401 texts of §7.1; which text goes with
/// which case is NOT FOUND, this is the emulator's choice).
pub(super) fn authorize(emu: &Emulator, headers: &HeaderMap) -> Result<String, FashnError> {
    let header = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let key = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| FashnError::unauthorized("Unauthorized: Invalid token"))?;
    match emu.lock().fashn_keys.verdict(key) {
        KeyVerdict::Valid => Ok(key.to_owned()),
        KeyVerdict::Invalid | KeyVerdict::Standard => Err(FashnError::unauthorized("Invalid or inactive API key")),
    }
}
