//! The request log: one [`RecordedRequest`] per call, with images summarised.

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use image::ImageReader;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::faults::Fault;

/// One call as the emulator saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    pub request_id: String,
    pub model_id: String,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    /// `sigv4`, `bearer` or `none`.
    pub auth: String,
    /// The SDK's `amz-sdk-request` header (`attempt=N; max=M`).
    pub sdk_request: Option<String>,
    pub body_bytes: usize,
    /// The body with every image replaced by `{format, width, height, bytes}`.
    pub body: Value,
    /// HTTP status answered (0 while the call is in flight).
    pub status: u16,
    pub fault: Option<Fault>,
    pub error: Option<String>,
}

/// The kind of credentials an `authorization` header carries.
pub(super) fn auth_kind(authorization: Option<&str>) -> &'static str {
    match authorization {
        Some(a) if a.starts_with("AWS4-HMAC-SHA256") => "sigv4",
        Some(a) if a.starts_with("Bearer ") => "bearer",
        _ => "none",
    }
}

/// The body with images replaced by descriptors, for the request log.
pub(super) fn summarise(body: &[u8]) -> Value {
    let Ok(mut v) = serde_json::from_slice::<Value>(body) else { return json!({ "unparseable": true }) };
    if let Some(p) = v.get_mut("virtualTryOnParams").and_then(Value::as_object_mut) {
        for field in ["sourceImage", "referenceImage"] {
            if let Some(s) = p.get_mut(field) {
                *s = describe(s);
            }
        }
        if let Some(s) = p.get_mut("imageBasedMask").and_then(|m| m.get_mut("maskImage")) {
            *s = describe(s);
        }
    }
    v
}

fn describe(v: &Value) -> Value {
    let Some(s) = v.as_str() else { return json!({ "notAString": true }) };
    let Ok(bytes) = B64.decode(s) else { return json!({ "invalidBase64": true, "chars": s.len() }) };
    let format = image::guess_format(&bytes).ok().map(|f| format!("{f:?}").to_lowercase());
    let dims = ImageReader::new(Cursor::new(&bytes)).with_guessed_format().ok().and_then(|r| r.into_dimensions().ok());
    json!({ "format": format, "width": dims.map(|d| d.0), "height": dims.map(|d| d.1), "bytes": bytes.len() })
}
