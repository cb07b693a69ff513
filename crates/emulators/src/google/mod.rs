//! Faithful offline Vertex AI model APIs: Virtual Try-On `:predict` and Gemini image
//! `:generateContent`, on Google's real paths
//! (`POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}`),
//! and the Gemini Developer API's `POST /v1beta/models/{model}:generateContent` with an API
//! key (`gemini_api`, its own checks and errors, the same validation and pictures),
//! written from the references (`vertex-virtual-try-on.md`, `vertex-gemini-image-editing.md`)
//! apart from the client, so the two cannot share a mistake. A client reaches them through
//! `VERTEX_ENDPOINT_URL`.
//!
//! A call is checked in Google's order: the bearer token (401; Google's front end
//! authenticates before it looks the model up), a model configured as retired (404
//! NOT_FOUND, Google's text alone), the model, method and location (404), then
//! the queued fault, the content type and the body (400, Google's
//! `{"error":{code,message,status,details}}` naming the field). Every call is logged with
//! `Emulator::log_backend_call`, images summarised. Faults are queued with
//! `POST /_emulator/faults/vertex-vto` or `/_emulator/faults/gemini-image`.
//!
//! The rooms (arrows are the only imports between them):
//!
//! - `wire`: path → model and location, Google's error body, bearer and content-type checks;
//! - `fields`: strict field-by-field JSON reading with Google's wording -> `wire`;
//! - `inline`: base64 images in, their limits, and the log's summary of a body -> `wire`;
//! - `paint`: the deterministic pictures and their encoding -> `fields`, `wire`;
//! - `faults`: the fault JSON and the canned errors -> `wire`;
//! - `models`: each Gemini model's sizes, ratios, tokens and output pixels;
//! - `dialect`: what differs between Vertex AI's and the Gemini API's `generateContent`
//!   -> `paint`, `inline`;
//! - `vto`, `gemini`: validate and answer each API -> all the above;
//! - `gemini_api/`: the Gemini API route (keys, model table, errors) -> `gemini`, `dialect`,
//!   `faults`, `wire`, `keys`, `state`.

mod dialect;
mod faults;
mod fields;
mod gemini;
pub(crate) mod gemini_api;
mod inline;
mod models;
pub(crate) mod paint;
mod vto;
mod wire;

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::state::Emulator;
use wire::{Backend, GoogleError, Target};

/// Room for 14 inline images of 7 MB in base64 (Gemini reference §4) and the JSON around
/// them, so an oversized image reaches validation and gets Google's answer.
const MAX_BODY_BYTES: usize = 160 * 1024 * 1024;

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v1/projects/{project}/locations/{location}/publishers/google/models/{model_action}", post(call))
        // The Gemini Developer API (API key) shares the validation and the pictures.
        .merge(gemini_api::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// What a call came to: its target (if the path named one), the fault it used, the answer.
struct Outcome {
    target: Option<Target>,
    fault: Option<Value>,
    result: Result<Value, GoogleError>,
}

async fn call(
    State(emu): State<Emulator>,
    Path((project, location, model_action)): Path<(String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = serve(&emu, (&project, &location, &model_action), &headers, body.clone()).await;
    let summary = tokio::task::spawn_blocking(move || inline::summarise(&body)).await.unwrap_or(Value::Null);
    let (auth, user_project) = wire::auth_summary(&headers);
    let (status, response) = match &outcome.result {
        Ok(v) => (200, (StatusCode::OK, Json(v)).into_response()),
        Err(e) => (e.code, e.response()),
    };
    let target = outcome.target.as_ref();
    emu.log_backend_call(json!({
        "backend": target.map(|t| t.backend.name()),
        "path": uri.path(),
        "model": target.map(|t| t.model.as_str()),
        "location": location,
        "status": status,
        "fault": outcome.fault,
        "auth": auth,
        "userProject": user_project,
        "body": summary,
        "error": outcome.result.as_ref().err().map(|e| json!({ "status": e.status, "message": e.message })),
    }));
    response
}

/// Checks the token, resolves the path, takes the backend's next fault and answers.
async fn serve(emu: &Emulator, path: (&str, &str, &str), headers: &HeaderMap, body: Bytes) -> Outcome {
    let target = wire::resolve(path.0, path.1, path.2);
    if let Err(e) = wire::check_auth(emu, headers) {
        return Outcome { target: target.ok(), fault: None, result: Err(e) };
    }
    // A retired model is Google's 404, before the fault queue and the body are touched.
    if let Some(t) = wire::named(path.0, path.1, path.2).filter(|t| emu.is_retired(&t.model)) {
        let result = Err(wire::retired(&t));
        return Outcome { target: Some(t), fault: None, result };
    }
    let target = match target {
        Ok(t) => t,
        Err(e) => return Outcome { target: None, fault: None, result: Err(e) },
    };
    let fault = emu.next_backend_fault(target.backend.name());
    let response_id = next_response_id(emu);
    let result = answer(&target, fault.as_ref(), headers, body, response_id).await;
    Outcome { target: Some(target), fault, result }
}

/// A `responseId` unique in this emulator's life.
fn next_response_id(emu: &Emulator) -> String {
    let mut s = emu.lock();
    s.counter += 1;
    format!("emu{:08x}{:06x}", s.counter, std::process::id())
}

async fn answer(
    target: &Target,
    raw_fault: Option<&Value>,
    headers: &HeaderMap,
    body: Bytes,
    response_id: String,
) -> Result<Value, GoogleError> {
    let fault = raw_fault.map(|r| faults::parse(r, target.backend)).transpose()?;
    if let Some(faults::Fault::Delay { ms }) = &fault {
        tokio::time::sleep(Duration::from_millis(*ms)).await;
    }
    if let Some(e) = fault.as_ref().and_then(|f| faults::canned(f, target)) {
        return Err(e);
    }
    wire::check_content_type(headers)?;
    let target = target.clone();
    // Decoding and encoding pictures is CPU work; keep it off the async workers.
    tokio::task::spawn_blocking(move || match target.backend {
        Backend::Vto => vto::answer(&body, fault.as_ref()),
        Backend::Gemini | Backend::GeminiApi => {
            gemini::answer(&dialect::VERTEX, &target.model, &body, fault.as_ref(), &response_id)
        }
    })
    .await
    .unwrap_or_else(|e| Err(GoogleError::new(500, "INTERNAL", format!("emulator: the call panicked: {e}"))))
}
