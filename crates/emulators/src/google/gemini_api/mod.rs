//! A strict offline Gemini Developer API (API key, `generativelanguage.googleapis.com`)
//! for the Gemini image models, written from `shared/reference/gemini-api-key.md`. A client
//! reaches it by pointing its base URL at the emulator's root:
//! `POST /v1beta/models/{model}:generateContent`.
//!
//! A call is checked in this order (§10):
//!
//! 1. the credential: exactly one of `x-goog-api-key` or `?key=` (`auth`): none → 403
//!    PERMISSION_DENIED; a key the policy refuses → 400 INVALID_ARGUMENT `API_KEY_INVALID`;
//!    a key configured *standard* → 401 UNAUTHENTICATED `ACCESS_TOKEN_TYPE_UNSUPPORTED`;
//! 2. the body size: over 100 MB (read as 100,000,000 bytes, the stricter reading; §5) →
//!    400 "Request payload size exceeds the limit";
//! 3. the model: not in the table, `RETIRED` there, or retired (`{model}` or
//!    `gemini-api/{model}` in the retired set) → 404 NOT_FOUND "models/{model} is not found
//!    for API version v1beta, or is not supported for generateContent. Call ListModels…"
//!    (Google's text, I5); a method other than `generateContent` → the same 404 naming it;
//! 4. the queued fault (`POST /_emulator/faults/gemini-api`): the content faults of Vertex's
//!    Gemini (`textOnly`, `imageSafety`, `noImage`, `promptBlocked` with `reason`,
//!    `thoughtImage`, `badBase64`, `wrongMime`, `oversizedImage`, `delay`) and the errors
//!    in the Gemini API's words (`errors`: `resourceExhausted` 429 with `retryDelay` and
//!    `quotaId`, `prepayDepleted` 402, `unavailable` 503, `internal`, `invalidArgument`,
//!    `permissionDenied`, `deadlineExceeded`);
//! 5. the content type and the body, by the one validation Vertex uses, with the Gemini
//!    API's differences (`dialect`: Vertex-only fields refused with 400).
//!
//! A 200 answers one JPEG `inlineData` picture (and a text part unless only IMAGE is
//! asked), `usageMetadata` (§3, §6), `modelVersion`, `responseId` and `modelStatus` from the
//! model table (`catalog`). `/v1/models/…` answers the same 404 for API version v1 (image
//! models on v1: NOT FOUND). Every call is logged in `GET /_emulator/calls` with
//! `backend: "gemini-api"`, the key's source (`header`/`query`) and its masked form.

mod auth;
mod control;
mod errors;
#[cfg(test)]
mod tests;

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::dialect::GEMINI_API;
use super::faults::{self, Fault};
use super::wire::{self, Backend, GoogleError};
use super::{gemini, inline, models};
use crate::gemini_api_models::{self as catalog, ModelStatus};
use crate::keys::masked;
use crate::state::Emulator;

const BACKEND: &str = "gemini-api";
/// The request payload cap (§5: raised from 20 MB to 100 MB in January 2026).
const MAX_BODY_BYTES: usize = 100_000_000;

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v1beta/models/{model_action}", post(call))
        .route("/v1/models/{model_action}", post(v1))
        .merge(control::routes())
}

/// What a call came to.
struct Outcome {
    model: Option<String>,
    caller: Option<auth::Caller>,
    fault: Option<Value>,
    result: Result<Value, GoogleError>,
}

impl Outcome {
    fn refused(model: Option<String>, caller: Option<auth::Caller>, e: GoogleError) -> Outcome {
        Outcome { model, caller, fault: None, result: Err(e) }
    }
}

async fn call(
    State(emu): State<Emulator>,
    Path(model_action): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = serve(&emu, &model_action, uri.query(), &headers, body.clone()).await;
    let summary = tokio::task::spawn_blocking(move || inline::summarise(&body)).await.unwrap_or(Value::Null);
    let (status, response) = match &outcome.result {
        Ok(v) => (200, (StatusCode::OK, Json(v)).into_response()),
        Err(e) => (e.code, e.response()),
    };
    let caller = outcome.caller.as_ref();
    emu.log_backend_call(json!({
        "backend": BACKEND,
        "path": uri.path(),
        "model": outcome.model,
        "status": status,
        "fault": outcome.fault,
        "keyVia": caller.map(|c| c.via.name()),
        "key": caller.map(|c| masked(&c.key)),
        "body": summary,
        "error": outcome.result.as_ref().err().map(|e| json!({ "status": e.status, "message": e.message })),
    }));
    response
}

async fn serve(emu: &Emulator, model_action: &str, query: Option<&str>, headers: &HeaderMap, body: Bytes) -> Outcome {
    let (model, method) = model_action.rsplit_once(':').unwrap_or((model_action, ""));
    let model_name = Some(model.to_owned());
    let caller = match auth::check(emu, headers, query) {
        Ok(c) => c,
        Err(e) => return Outcome::refused(model_name, None, e),
    };
    if body.len() > MAX_BODY_BYTES {
        let e = GoogleError::new(
            400,
            "INVALID_ARGUMENT",
            format!("Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes."),
        );
        return Outcome::refused(model_name, Some(caller), e);
    }
    let status = match served(emu, model, method) {
        Ok(s) => s,
        Err(e) => return Outcome::refused(model_name, Some(caller), e),
    };
    let fault = emu.next_backend_fault(BACKEND);
    let response_id = super::next_response_id(emu);
    let result = answer(model, status, fault.as_ref(), headers, body, response_id).await;
    Outcome { model: model_name, caller: Some(caller), fault, result }
}

/// The model's `modelStatus` if the Gemini API serves it for `method`; Google's 404 else.
fn served(emu: &Emulator, model: &str, method: &str) -> Result<ModelStatus, GoogleError> {
    let not_found = |method: &str| GoogleError::new(404, "NOT_FOUND", catalog::not_found(model, method));
    if method != "generateContent" {
        let method = if method.is_empty() { "this method" } else { method };
        return Err(not_found(method));
    }
    if emu.is_retired_on(BACKEND, model) || models::model(model).is_none() {
        return Err(not_found(method));
    }
    match emu.gemini_api_model_status(model) {
        Some(s) if !s.is_retired() => Ok(s),
        _ => Err(not_found(method)),
    }
}

async fn answer(
    model: &str,
    status: ModelStatus,
    raw_fault: Option<&Value>,
    headers: &HeaderMap,
    body: Bytes,
    response_id: String,
) -> Result<Value, GoogleError> {
    let fault = raw_fault.map(|r| faults::parse(r, Backend::GeminiApi)).transpose()?;
    if let Some(Fault::Delay { ms }) = &fault {
        tokio::time::sleep(Duration::from_millis(*ms)).await;
    }
    if let Some(e) = fault.as_ref().and_then(|f| errors::canned(f, model)) {
        return Err(e);
    }
    wire::check_content_type(headers)?;
    let model = model.to_owned();
    let mut reply =
        tokio::task::spawn_blocking(move || gemini::answer(&GEMINI_API, &model, &body, fault.as_ref(), &response_id))
            .await
            .unwrap_or_else(|e| Err(GoogleError::new(500, "INTERNAL", format!("emulator: the call panicked: {e}"))))?;
    reply["modelStatus"] = serde_json::to_value(status).unwrap_or(Value::Null);
    Ok(reply)
}

/// `/v1/models/…`: the image models are served on `v1beta` only (v1: NOT FOUND).
async fn v1(State(emu): State<Emulator>, Path(model_action): Path<String>, uri: Uri) -> Response {
    let model = model_action.rsplit_once(':').map_or(model_action.as_str(), |(m, _)| m);
    let message = catalog::not_found(model, "generateContent").replace("API version v1beta", "API version v1");
    let e = GoogleError::new(404, "NOT_FOUND", message);
    emu.log_backend_call(json!({ "backend": BACKEND, "path": uri.path(), "model": model, "status": 404,
        "error": { "status": e.status, "message": e.message } }));
    e.response()
}
