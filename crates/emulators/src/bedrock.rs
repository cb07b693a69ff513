//! Bedrock's error answer, shared by the `InvokeModel` and `Converse` emulators: the status,
//! `x-amzn-ErrorType` (the exception name with Bedrock's suffix), `x-amzn-RequestId` and a
//! JSON `message`, as the SDK reads them.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

const ERROR_TYPE_SUFFIX: &str = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

/// What Bedrock answers (404 ResourceNotFoundException) for a model past its end of life
/// (Nova Canvas reference §6, [I4]).
pub(super) const END_OF_LIFE: &str =
    "This model version has reached the end of its life. Please refer to the AWS documentation for more details.";

/// A Bedrock error answer: status, exception name and message.
#[derive(Debug)]
pub(super) struct Rejection {
    pub(super) status: u16,
    pub(super) kind: &'static str,
    pub(super) message: String,
}

impl Rejection {
    pub(super) fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Rejection { status, kind, message: message.into() }
    }

    pub(super) fn validation(message: impl Into<String>) -> Self {
        Rejection::new(400, "ValidationException", message)
    }

    /// 404 ResourceNotFoundException: the model reached its end of life.
    pub(super) fn end_of_life() -> Self {
        Rejection::new(404, "ResourceNotFoundException", END_OF_LIFE)
    }

    /// The answer, with `request_id` as `x-amzn-RequestId`.
    pub(super) fn response(&self, request_id: &str) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = (status, Json(json!({ "message": self.message }))).into_response();
        let h = r.headers_mut();
        h.insert("x-amzn-RequestId", hv(request_id));
        h.insert("x-amzn-ErrorType", hv(&format!("{}{ERROR_TYPE_SUFFIX}", self.kind)));
        r
    }
}

/// A header value; one that could not be a header says so instead of failing the answer.
pub(super) fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}
