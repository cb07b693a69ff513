//! A strict offline FASHN API (`api.fashn.ai`), written from `shared/reference/fashn-api.md`
//! apart from the client. A client reaches it by pointing its base URL (the SDKs'
//! `FASHN_BASE_URL`) at the emulator's root.
//!
//! - `POST /v1/run` (`Authorization: Bearer <key>`, JSON `{"model_name", "inputs"}`,
//!   optional `?webhook_url=`) answers `{"id": …, "error": null}` (§1, §11). Models:
//!   `tryon-v1.6`, `tryon-max`, legacy `tryon-v1.5` (`inputs`).
//! - `GET /v1/status/{id}` answers `{"id","status","output","error"}`, moving `starting` →
//!   `in_queue` → `processing` → `completed` | `failed` (thirds of the prediction time,
//!   [`FashnSettings::prediction_time`], default 300 ms), with `x-fashn-credits-used` on
//!   `completed` (§6). Outputs are `data:image/png;base64,…` (or jpeg) when `return_base64`
//!   was asked, else URLs `http://<emulator host>/fashn-cdn/<id>/output_<n>.png` that
//!   `GET /fashn-cdn/…` serves (the real CDN is `https://cdn.fashn.ai/<id>/output_0.png`).
//!   **The function should ask `return_base64: true`**: one call fewer, nothing stored on
//!   FASHN's servers (F4), and the 60-minute expiry does not matter to a caller that
//!   reads the output at once.
//! - `GET /v1/credits` answers `{"credits":{"total","subscription","on_demand"}}` (F10).
//!
//! Checked in this order: the bearer key (401); the body (JSON, `model_name`, `inputs`);
//! a model configured as retired (400, before any limit or fault counts, see
//! `inputs::retired`); the per-key rate limit (429); the queued fault; every input
//! (400 naming the field); then, atomically, the concurrency limit and the credits (429).
//! Image contents fail the prediction (`ImageLoadError`), not the run.
//!
//! Choices where the reference is silent (NOT FOUND): the body must be `application/json`;
//! a body over 64 MiB is the 500 FASHN documents for oversized payloads (F9); limits are
//! sliding windows; a 429 carries no `Retry-After`; a prediction stays queryable until
//! lost (fault, or `DELETE /_emulator/fashn/predictions/{id}`) or `reset`, and only with the
//! key that created it (another key gets 404); webhooks are validated and logged, never
//! delivered (the emulator is offline); CDN URLs of another key are served (the CDN is public).
//!
//! Every `/v1/run`, `/v1/status`, `/v1/credits` and CDN call is logged in
//! `GET /_emulator/calls` with `backend: "fashn"`, `method`, `path`, the masked key, the
//! model, the prediction id, the fault, the HTTP status, the prediction's `state` and
//! the error; images are summarised, never base64.

mod control;
mod faults;
mod images;
mod inputs;

#[cfg(test)]
mod tests;
mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::fashn_store::{Endpoint, Outcome, Prediction, Render, Stage};
pub use crate::fashn_store::{FashnSettings, RateLimit, DEFAULT_CREDITS};
use crate::keys::masked;
use crate::state::Emulator;
pub use faults::FashnFault;
use faults::On;
use inputs::Job;
use wire::FashnError;

/// The backend name of the fault queue and the call log.
const BACKEND: &str = "fashn";
/// Bodies above this answer FASHN's oversized-payload 500 (threshold NOT FOUND).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v1/run", post(run))
        .route("/v1/status/{id}", get(status))
        .route("/v1/credits", get(credits))
        .route("/fashn-cdn/{id}/{file}", get(cdn))
        .merge(control::routes())
        // Room above MAX_BODY_BYTES so an oversized body gets FASHN's answer, not axum's.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 32 * 1024 * 1024))
}

/// One call's entry in the backend call log, filled in as the call goes.
struct Log(Map<String, Value>);

impl Log {
    fn new(method: &str, path: &str) -> Log {
        let mut m = Map::new();
        m.insert("backend".into(), BACKEND.into());
        m.insert("method".into(), method.into());
        m.insert("path".into(), path.into());
        Log(m)
    }

    fn set(&mut self, key: &str, v: impl Into<Value>) {
        self.0.insert(key.into(), v.into());
    }

    fn finish(mut self, emu: &Emulator, status: u16, error: Option<&FashnError>) {
        self.set("status", status);
        let error = error.map(|e| json!({ "name": e.name, "message": e.message }));
        self.set("error", error.unwrap_or(Value::Null));
        emu.log_backend_call(Value::Object(self.0));
    }

    /// Logs the answer and returns it.
    fn answer(self, emu: &Emulator, result: Result<Response, FashnError>) -> Response {
        match result {
            Ok(r) => {
                self.finish(emu, r.status().as_u16(), None);
                r
            }
            Err(e) => {
                self.finish(emu, e.status, Some(&e));
                e.response()
            }
        }
    }
}

/// The bearer key, logged masked.
fn authorize(emu: &Emulator, headers: &HeaderMap, log: &mut Log) -> Result<String, FashnError> {
    let key = wire::authorize(emu, headers)?;
    log.set("key", masked(&key));
    Ok(key)
}

/// Counts the call against `endpoint`'s limit for `key`: 429 over it.
fn admit(emu: &Emulator, endpoint: Endpoint, key: &str) -> Result<(), FashnError> {
    if emu.lock().fashn.admit(endpoint, key, Instant::now()) {
        Ok(())
    } else {
        Err(FashnError::rate_limited())
    }
}

/// Takes the first fault queued for this kind of call: waits for a delay, answers a canned
/// error, returns a prediction fault.
async fn take_fault(emu: &Emulator, call: On, log: &mut Log) -> Result<Option<FashnFault>, FashnError> {
    let Some(raw) = emu.take_backend_fault_where(BACKEND, |v| faults::on(v) == call) else { return Ok(None) };
    log.set("fault", raw.clone());
    let fault = faults::parse(&raw, call)?;
    if let FashnFault::Delay { ms } = fault {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match faults::canned(&fault, call) {
        Some(e) => Err(e),
        None => Ok(Some(fault)),
    }
}

async fn run(State(emu): State<Emulator>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let mut log = Log::new("POST", uri.path());
    let result = run_call(&emu, uri.query(), &headers, &body, &mut log).await;
    let summary = tokio::task::spawn_blocking(move || images::summarise(&body)).await.unwrap_or(Value::Null);
    log.set("body", summary);
    let result = result.map(|id| {
        log.set("predictionId", id.clone());
        (StatusCode::OK, Json(json!({ "id": id, "error": null }))).into_response()
    });
    log.answer(&emu, result)
}

async fn run_call(
    emu: &Emulator,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    log: &mut Log,
) -> Result<String, FashnError> {
    let key = authorize(emu, headers, log)?;
    if body.len() > MAX_BODY_BYTES {
        return Err(FashnError::server(500, "Server error"));
    }
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if ct.split(';').next().map(str::trim) != Some("application/json") {
        return Err(FashnError::bad_request(format!("the Content-Type must be application/json, not {ct:?}")));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| FashnError::bad_request(format!("not JSON ({e})")))?;
    let (name, inputs) = inputs::envelope(&v)?;
    log.set("model", name);
    if emu.is_retired_on(BACKEND, name) {
        return Err(inputs::retired(name));
    }
    let model = inputs::model(name)?;
    admit(emu, Endpoint::Run, &key)?;
    let fault = take_fault(emu, On::Run, log).await?;
    if let Some(url) = webhook_url(query)? {
        log.set("webhookUrl", url);
    }
    let job = inputs::validate(model, inputs)?;
    let work = job.clone();
    let outcome = tokio::task::spawn_blocking(move || match images::prepare(&work) {
        Ok(render) => Outcome::Completed { render: Arc::new(render), images: None },
        Err(message) => Outcome::Failed { name: "ImageLoadError".into(), message },
    })
    .await
    .map_err(|e| FashnError::server(500, format!("emulator: the prediction panicked: {e}")))?;
    register(emu, key, &job, outcome, fault)
}

/// `?webhook_url=` (F3): an absolute http(s) URL if present. Recorded, not delivered.
fn webhook_url(query: Option<&str>) -> Result<Option<String>, FashnError> {
    let Some(q) = query else { return Ok(None) };
    let Some((_, url)) = form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "webhook_url") else {
        return Ok(None);
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
        return Err(FashnError::bad_request(format!("webhook_url must be an absolute http(s) URL, got {url:?}")));
    }
    Ok(Some(url.into_owned()))
}

/// Issues the prediction: the concurrency limit and the credits checked and charged under
/// one lock (a failed prediction costs nothing, §10), the fault's shape applied.
fn register(
    emu: &Emulator,
    key: String,
    job: &Job,
    outcome: Outcome,
    fault: Option<FashnFault>,
) -> Result<String, FashnError> {
    let now = Instant::now();
    let mut s = emu.lock();
    let settings = s.fashn.settings.clone();
    if s.fashn.in_flight(&key, now) >= settings.concurrency as usize {
        return Err(FashnError::concurrency(settings.concurrency));
    }
    if job.credits > s.fashn.credits {
        return Err(FashnError::out_of_credits(job.credits, s.fashn.credits));
    }
    let mut p = Prediction {
        key,
        model: job.model.name().to_owned(),
        created: now,
        duration: settings.prediction_time,
        outcome,
        return_base64: job.return_base64,
        jpeg: job.jpeg,
        credits: 0,
        polls: 0,
        lost_after: None,
        expired: false,
    };
    shape(&mut p, fault);
    if matches!(p.outcome, Outcome::Completed { .. }) {
        p.credits = job.credits;
        s.fashn.credits -= job.credits;
    }
    s.counter += 1;
    let id = format!("{:08x}-fa5e-4e11-8000-{:012x}-u1", s.counter, std::process::id());
    s.fashn.predictions.insert(id.clone(), p);
    Ok(id)
}

/// Applies a prediction fault.
fn shape(p: &mut Prediction, fault: Option<FashnFault>) {
    match fault {
        Some(FashnFault::Fail { name, message }) => {
            let message = message.unwrap_or_else(|| faults::failure_message(&name).to_owned());
            p.outcome = Outcome::Failed { name, message };
        }
        Some(FashnFault::Slow { seconds }) => p.duration = Duration::from_secs_f64(seconds),
        Some(FashnFault::Lost { after_polls }) => p.lost_after = Some(after_polls),
        Some(FashnFault::Canceled) => p.outcome = Outcome::Ended(Stage::Canceled),
        Some(FashnFault::TimeOut) => p.outcome = Outcome::Ended(Stage::TimeOut),
        Some(FashnFault::ExpiredBase64) => p.expired = true,
        _ => {}
    }
}

async fn status(State(emu): State<Emulator>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut log = Log::new("GET", &format!("/v1/status/{id}"));
    log.set("predictionId", id.clone());
    let result = status_call(&emu, &id, &headers, &mut log).await;
    let result = result.map(|(body, credits_used)| {
        log.set("state", body["status"].clone());
        let mut resp = (StatusCode::OK, Json(body)).into_response();
        if let Some(n) = credits_used {
            resp.headers_mut().insert("x-fashn-credits-used", n.into());
        }
        resp
    });
    log.answer(&emu, result)
}

/// A completed prediction's outputs: painted, or still to paint.
enum Pictures {
    None,
    Ready(Arc<Vec<Vec<u8>>>),
    Paint(Arc<Render>),
}

/// What one poll saw of a prediction.
struct Seen {
    model: String,
    stage: Stage,
    pictures: Pictures,
    error: Option<(String, String)>,
    return_base64: bool,
    jpeg: bool,
    expired: bool,
    credits: u64,
}

async fn status_call(
    emu: &Emulator,
    id: &str,
    headers: &HeaderMap,
    log: &mut Log,
) -> Result<(Value, Option<u64>), FashnError> {
    let key = authorize(emu, headers, log)?;
    admit(emu, Endpoint::Status, &key)?;
    take_fault(emu, On::Status, log).await?;
    let mut seen = poll(emu, id, &key)?;
    log.set("model", seen.model.clone());
    if let Pictures::Paint(render) = &seen.pictures {
        seen.pictures = Pictures::Ready(paint(emu, id, render.clone()).await?);
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1").to_owned();
    let credits = (seen.stage == Stage::Completed).then_some(seen.credits);
    Ok((status_body(id, &seen, &host), credits))
}

/// Counts a poll of `id` by `key` and reads its state; 404 for an id never issued, issued
/// to another key, or lost.
fn poll(emu: &Emulator, id: &str, key: &str) -> Result<Seen, FashnError> {
    let now = Instant::now();
    let mut s = emu.lock();
    let base64_retention = s.fashn.settings.base64_retention;
    let p = s.fashn.predictions.get_mut(id).filter(|p| p.key == key).ok_or_else(FashnError::prediction_not_found)?;
    if p.lost_after.is_some_and(|n| p.polls >= n) {
        return Err(FashnError::prediction_not_found());
    }
    p.polls += 1;
    let stage = p.stage(now);
    let (pictures, error) = match (&p.outcome, stage) {
        (Outcome::Completed { images: Some(images), .. }, Stage::Completed) => (Pictures::Ready(images.clone()), None),
        (Outcome::Completed { render, .. }, Stage::Completed) => (Pictures::Paint(render.clone()), None),
        (Outcome::Failed { name, message }, Stage::Failed) => (Pictures::None, Some((name.clone(), message.clone()))),
        _ => (Pictures::None, None),
    };
    let expired = p.expired || now.saturating_duration_since(p.finished_at()) >= base64_retention;
    let (return_base64, jpeg, credits) = (p.return_base64, p.jpeg, p.credits);
    Ok(Seen { model: p.model.clone(), stage, pictures, error, return_base64, jpeg, expired, credits })
}

/// Paints a completed prediction's outputs (off the async workers) and keeps them.
async fn paint(emu: &Emulator, id: &str, render: Arc<Render>) -> Result<Arc<Vec<Vec<u8>>>, FashnError> {
    let painted = tokio::task::spawn_blocking(move || images::paint(&render))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
        .map_err(|e| FashnError::server(500, e))?;
    let painted = Arc::new(painted);
    if let Some(Outcome::Completed { images, .. }) = emu.lock().fashn.predictions.get_mut(id).map(|p| &mut p.outcome) {
        images.get_or_insert_with(|| painted.clone());
    }
    Ok(painted)
}

/// The status object of §6/§11: `output` null while starting, absent while queued or
/// processing, the outputs once completed; `error` `{name, message}` once failed.
fn status_body(id: &str, seen: &Seen, host: &str) -> Value {
    let ext = if seen.jpeg { "jpeg" } else { "png" };
    let mut body = json!({ "id": id, "status": seen.stage.name() });
    match seen.stage {
        Stage::Starting | Stage::Canceled | Stage::TimeOut => body["output"] = Value::Null,
        Stage::InQueue | Stage::Processing => {}
        Stage::Completed => {
            let images: &[Vec<u8>] = match &seen.pictures {
                Pictures::Ready(images) => images,
                _ => &[],
            };
            let output: Vec<String> = (0..images.len())
                .map(|n| match (seen.return_base64, seen.expired) {
                    (true, true) => "<base64>_expired".to_owned(),
                    (true, false) => format!("data:image/{ext};base64,{}", B64.encode(&images[n])),
                    (false, _) => format!("http://{host}/fashn-cdn/{id}/output_{n}.{ext}"),
                })
                .collect();
            body["output"] = json!(output);
        }
        Stage::Failed => {}
    }
    body["error"] = match &seen.error {
        Some((name, message)) => json!({ "name": name, "message": message }),
        None => Value::Null,
    };
    body
}

async fn credits(State(emu): State<Emulator>, headers: HeaderMap) -> Response {
    let mut log = Log::new("GET", "/v1/credits");
    let result = authorize(&emu, &headers, &mut log).and_then(|key| admit(&emu, Endpoint::Credits, &key)).map(|()| {
        let n = emu.lock().fashn.credits;
        let body = json!({ "credits": { "total": n, "subscription": 0, "on_demand": n } });
        (StatusCode::OK, Json(body)).into_response()
    });
    log.answer(&emu, result)
}

/// The emulated CDN: a completed URL-output prediction's `output_<n>.<png|jpeg>` until
/// `url_retention` after completion; 404 otherwise (the CDN's own answer is NOT FOUND).
async fn cdn(State(emu): State<Emulator>, Path((id, file)): Path<(String, String)>) -> Response {
    let log = Log::new("GET", &format!("/fashn-cdn/{id}/{file}"));
    let found = cdn_file(&emu, &id, &file);
    let status = if found.is_some() { 200 } else { 404 };
    log.finish(&emu, status, None);
    match found {
        Some((mime, bytes)) => (StatusCode::OK, [(header::CONTENT_TYPE, mime)], bytes).into_response(),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

fn cdn_file(emu: &Emulator, id: &str, file: &str) -> Option<(&'static str, Vec<u8>)> {
    let (stem, ext) = file.strip_prefix("output_")?.split_once('.')?;
    let n: usize = stem.parse().ok()?;
    let now = Instant::now();
    let s = emu.lock();
    let p = s.fashn.predictions.get(id)?;
    let fresh = now.saturating_duration_since(p.finished_at()) < s.fashn.settings.url_retention;
    let (want_ext, mime) = if p.jpeg { ("jpeg", "image/jpeg") } else { ("png", "image/png") };
    match &p.outcome {
        Outcome::Completed { images: Some(images), .. }
            if !p.return_base64 && fresh && ext == want_ext && p.stage(now) == Stage::Completed =>
        {
            images.get(n).map(|b| (mime, b.clone()))
        }
        _ => None,
    }
}
