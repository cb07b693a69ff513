//! The wire protocol: axum routes, `InvokeModel` paths and headers, `x-amzn-ErrorType`,
//! status codes and JSON error bodies, and the control API under `/_emulator`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::bedrock::{hv, Rejection};
use super::faults::{Fault, INPUT_BLOCKED};
use super::log::{auth_kind, summarise, RecordedRequest};
use super::render::{render, Output};
use super::state::Emulator;
use super::validate::validate;

impl Emulator {
    pub fn router(&self) -> Router {
        Router::new()
            .route("/model/{model_id}/invoke", post(invoke))
            .route("/_emulator/faults", post(add_faults))
            .route("/_emulator/faults/{backend}", post(add_backend_faults))
            .route("/_emulator/calls", get(list_backend_calls))
            .route("/_emulator/tokens/expire", post(expire_tokens))
            .merge(super::retired::routes())
            .merge(super::google_auth::routes())
            .merge(super::google::routes())
            .merge(super::converse::routes())
            .merge(super::fashn::routes())
            .route("/_emulator/requests", get(list_requests))
            .route("/_emulator/reset", post(reset))
            .route("/_emulator/health", get(|| async { "ok" }))
            // Bodies over Bedrock's 25 MB cap must reach the handler to be refused properly.
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(self.clone())
    }

    /// Serves on `listener` until the task is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Binds `addr` (port 0 for any) and serves in the background.
    pub async fn spawn(
        self,
        addr: SocketAddr,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        Ok((local, tokio::spawn(self.serve(listener))))
    }
}

async fn add_faults(State(emu): State<Emulator>, Json(v): Json<Value>) -> Response {
    let faults: Result<Vec<Fault>, _> =
        if v.is_array() { serde_json::from_value(v) } else { serde_json::from_value(v).map(|f| vec![f]) };
    match faults {
        Ok(fs) => {
            let n = fs.len();
            emu.lock().faults.extend(fs);
            (StatusCode::OK, Json(json!({ "queued": n }))).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({ "message": e.to_string() }))).into_response(),
    }
}

/// Queues faults (one object or an array) for another backend's emulator; each emulator
/// refuses, at the call, a fault it does not know.
async fn add_backend_faults(
    State(emu): State<Emulator>,
    Path(backend): Path<String>,
    Json(v): Json<Value>,
) -> Response {
    let faults = match v {
        Value::Array(fs) => fs,
        one => vec![one],
    };
    let n = faults.len();
    for f in faults {
        emu.push_backend_fault(&backend, f);
    }
    (StatusCode::OK, Json(json!({ "queued": n }))).into_response()
}

async fn list_backend_calls(State(emu): State<Emulator>) -> Json<Vec<Value>> {
    Json(emu.backend_calls())
}

async fn expire_tokens(State(emu): State<Emulator>) -> StatusCode {
    emu.expire_tokens();
    StatusCode::NO_CONTENT
}

async fn list_requests(State(emu): State<Emulator>) -> Json<Vec<RecordedRequest>> {
    Json(emu.requests())
}

async fn reset(State(emu): State<Emulator>) -> StatusCode {
    emu.reset();
    StatusCode::NO_CONTENT
}

/// One `InvokeModel` call in flight: its slot in the request log and its fault.
struct Call {
    emu: Emulator,
    index: usize,
    request_id: String,
    fault: Option<Fault>,
}

impl Call {
    fn begin(emu: Emulator, model_id: &str, headers: &HeaderMap, body_bytes: usize, take_fault: bool) -> Call {
        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (index, request_id, fault) = emu.begin(
            RecordedRequest {
                request_id: String::new(),
                model_id: model_id.to_owned(),
                content_type: header("content-type"),
                accept: header("accept"),
                auth: auth_kind(header("authorization").as_deref()).into(),
                sdk_request: header("amz-sdk-request"),
                body_bytes,
                body: Value::Null,
                status: 0,
                fault: None,
                error: None,
            },
            take_fault,
        );
        Call { emu, index, request_id, fault }
    }

    /// Logs the answer and returns it.
    fn finish(&self, resp: Response, summary: Value, error: Option<String>) -> Response {
        self.emu.finish(self.index, resp.status().as_u16(), summary, error);
        resp
    }

    /// Logs and answers a rejection; canned fault errors log their kind, the others their message.
    fn reject(&self, r: Rejection, summary: Value, log_kind: bool) -> Response {
        let logged = if log_kind { r.kind.to_owned() } else { r.message.clone() };
        self.finish(r.response(&self.request_id), summary, Some(logged))
    }
}

/// What the wire layer checks before the body: the model id, the content type, the size.
fn check_envelope(emu: &Emulator, model_id: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), Rejection> {
    if !emu.serves(model_id) {
        return Err(Rejection::new(404, "ResourceNotFoundException", "The provided model identifier is invalid."));
    }
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if ct.split(';').next().map(str::trim) != Some("application/json") {
        return Err(Rejection::validation(format!("Malformed input request: the content type must be application/json, not {ct:?}, please reformat your input and try again.")));
    }
    if body.len() > crate::reference::MAX_BODY_BYTES {
        return Err(Rejection::validation(format!(
            "Input is too long: the request body is {} bytes, the limit is {}.",
            body.len(),
            crate::reference::MAX_BODY_BYTES
        )));
    }
    Ok(())
}

async fn invoke(
    State(emu): State<Emulator>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    // A retired model is refused first: no fault used, no quota counted, no body read.
    let retired = emu.is_retired(&model_id);
    let call = Call::begin(emu.clone(), &model_id, &headers, body.len(), !retired);
    if retired {
        let summary = tokio::task::spawn_blocking(move || summarise(&body)).await.unwrap_or(Value::Null);
        return call.reject(Rejection::end_of_life(), summary, false);
    }
    // Over the quota (`tryon emulator --requests-per-minute`): Bedrock's throttling answer.
    if let (false, Some((status, kind, message))) = (emu.admit(), Fault::Throttling.canned()) {
        return call.reject(Rejection::new(status, kind, message), Value::Null, true);
    }
    if let Some(Fault::Delay { ms }) = &call.fault {
        tokio::time::sleep(Duration::from_millis(*ms)).await;
    }
    // Every call is logged with what it carried, faulted or not.
    let logged = body.clone();
    let summary = tokio::task::spawn_blocking(move || summarise(&logged)).await.unwrap_or(Value::Null);
    if let Some((status, kind, message)) = call.fault.as_ref().and_then(Fault::canned) {
        return call.reject(Rejection::new(status, kind, message), summary, true);
    }
    if let Err(r) = check_envelope(&emu, &model_id, &headers, &body) {
        return call.reject(r, summary, false);
    }
    let work = tokio::task::spawn_blocking(move || {
        let summary = summarise(&body);
        (validate(&body).map(|v| render(&v)), summary)
    })
    .await;
    let (result, summary) = match work {
        Ok(x) => x,
        Err(e) => {
            let r = Rejection::new(500, "InternalServerException", format!("emulator crashed: {e}"));
            return call.finish(r.response(&call.request_id), Value::Null, Some("crash".into()));
        }
    };
    let output = match result {
        Err(msg) => return call.reject(Rejection::validation(msg), summary, false),
        Ok(o) => o,
    };
    if let Some(Fault::InputModeration) = call.fault {
        return call.reject(Rejection::validation(INPUT_BLOCKED), summary, false);
    }
    let resp = success(output, call.fault.as_ref(), &call.request_id, started);
    call.finish(resp, summary, None)
}

/// The 200 answer: base64 images (fewer under output moderation) and the optional mask.
fn success(output: Output, fault: Option<&Fault>, request_id: &str, started: Instant) -> Response {
    let mut reply = Map::new();
    let mut images = output.images;
    if let Some(Fault::OutputModeration { images: keep }) = fault {
        images.truncate(*keep as usize);
        reply.insert("error".into(), Fault::output_blocked(*keep).into());
    }
    reply.insert("images".into(), Value::Array(images.into_iter().map(|b| Value::String(B64.encode(b))).collect()));
    if let Some(m) = output.mask {
        reply.insert("maskImage".into(), B64.encode(m).into());
    }
    let mut resp = (StatusCode::OK, Json(Value::Object(reply))).into_response();
    let h = resp.headers_mut();
    h.insert("x-amzn-RequestId", hv(request_id));
    h.insert("X-Amzn-Bedrock-Invocation-Latency", hv(&started.elapsed().as_millis().to_string()));
    resp
}
