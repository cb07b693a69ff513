//! A faithful offline Nova Canvas: Bedrock Runtime `InvokeModel` for `VIRTUAL_TRY_ON` with
//! the real wire protocol (percent-encoded model id in the path, `x-amzn-RequestId`,
//! `x-amzn-ErrorType`, JSON error bodies, status codes), validation as strict as the
//! reference, deterministic output, and a control API for tests:
//!
//! - `POST /_emulator/faults` queues faults (one object or an array), each used by one call;
//! - `GET /_emulator/requests` lists the calls received (images summarised, never base64);
//! - `POST /_emulator/reset` clears both.
//!
//! Tooling only: the Lambda binary never uses it.

use std::collections::VecDeque;
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use image::{DynamicImage, ExtendedColorType, GrayImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::image::encode_png_rgb;
use crate::limits::{MAX_ASPECT, MAX_PIXELS, MAX_SIDE, MIN_SIDE};
use crate::manifest::{BodyRegion, GarmentClass};

/// A fault for the next call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum Fault {
    /// 429 ThrottlingException (the SDK retries it).
    Throttling,
    /// 429 ModelNotReadyException (the SDK retries it).
    ModelNotReady,
    /// 503 ServiceUnavailableException (the SDK retries it).
    ServiceUnavailable,
    /// 500 InternalServerException (the SDK retries it).
    InternalServer,
    /// 408 ModelTimeoutException (not retried by the SDK).
    ModelTimeout,
    /// 424 ModelErrorException.
    ModelError,
    /// 400 ValidationException: input moderation.
    InputModeration,
    /// 200 with `error` and only `images` of the requested images.
    OutputModeration {
        #[serde(default)]
        images: u32,
    },
    /// 404 ResourceNotFoundException: the model reached end of life.
    EndOfLife,
    /// 403 AccessDeniedException.
    AccessDenied,
    /// Wait this long, then answer normally.
    Delay { ms: u64 },
}

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

#[derive(Default)]
struct Shared {
    faults: VecDeque<Fault>,
    requests: Vec<RecordedRequest>,
    counter: u64,
}

/// The emulator's state; clone it to share.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Mutex<Shared>>,
    model_ids: Arc<Vec<String>>,
}

impl Default for Emulator {
    fn default() -> Self {
        Emulator::new(vec!["amazon.nova-canvas-v1:0".into()])
    }
}

impl Emulator {
    pub fn new(model_ids: Vec<String>) -> Self {
        Emulator { shared: Arc::default(), model_ids: Arc::new(model_ids) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push_fault(&self, f: Fault) {
        self.lock().faults.push_back(f);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn reset(&self) {
        let mut s = self.lock();
        s.faults.clear();
        s.requests.clear();
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/model/{model_id}/invoke", post(invoke))
            .route("/_emulator/faults", post(add_faults))
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

async fn list_requests(State(emu): State<Emulator>) -> Json<Vec<RecordedRequest>> {
    Json(emu.requests())
}

async fn reset(State(emu): State<Emulator>) -> StatusCode {
    emu.reset();
    StatusCode::NO_CONTENT
}

const ERROR_TYPE_SUFFIX: &str = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

fn error(status: u16, error_type: &str, message: &str, request_id: &str) -> Response {
    let mut r = (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), Json(json!({ "message": message })))
        .into_response();
    let h = r.headers_mut();
    h.insert("x-amzn-RequestId", hv(request_id));
    h.insert("x-amzn-ErrorType", hv(&format!("{error_type}{ERROR_TYPE_SUFFIX}")));
    r
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

async fn invoke(
    State(emu): State<Emulator>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (index, request_id, fault) = {
        let mut s = emu.lock();
        s.counter += 1;
        let request_id = format!("{:08x}-e111-4a7e-8000-{:012x}", s.counter, std::process::id());
        let fault = s.faults.pop_front();
        let auth = match header("authorization") {
            Some(a) if a.starts_with("AWS4-HMAC-SHA256") => "sigv4",
            Some(a) if a.starts_with("Bearer ") => "bearer",
            _ => "none",
        };
        s.requests.push(RecordedRequest {
            request_id: request_id.clone(),
            model_id: model_id.clone(),
            content_type: header("content-type"),
            accept: header("accept"),
            auth: auth.into(),
            sdk_request: header("amz-sdk-request"),
            body_bytes: body.len(),
            body: Value::Null,
            status: 0,
            fault: fault.clone(),
            error: None,
        });
        (s.requests.len() - 1, request_id, fault)
    };
    let finish = |resp: Response, summary: Value, err: Option<String>| {
        let mut s = emu.lock();
        if let Some(r) = s.requests.get_mut(index) {
            r.status = resp.status().as_u16();
            r.body = summary;
            r.error = err;
        }
        resp
    };

    if let Some(Fault::Delay { ms }) = &fault {
        tokio::time::sleep(Duration::from_millis(*ms)).await;
    }
    // Every call is logged with what it carried, faulted or not.
    let logged = body.clone();
    let summary = tokio::task::spawn_blocking(move || summarise(&logged)).await.unwrap_or(Value::Null);
    let canned = match &fault {
        Some(Fault::Throttling) => Some((429, "ThrottlingException", "Too many requests, please wait before trying again.")),
        Some(Fault::ModelNotReady) => Some((429, "ModelNotReadyException", "Model is not ready to serve inference requests.")),
        Some(Fault::ServiceUnavailable) => Some((503, "ServiceUnavailableException", "Service is temporarily unavailable.")),
        Some(Fault::InternalServer) => Some((500, "InternalServerException", "The server encountered an internal error.")),
        Some(Fault::ModelTimeout) => Some((408, "ModelTimeoutException", "Model has timed out in processing the request. Try your request again.")),
        Some(Fault::ModelError) => Some((424, "ModelErrorException", "The model failed to process the request.")),
        Some(Fault::EndOfLife) => Some((404, "ResourceNotFoundException", "This model version has reached the end of its life. Please refer to the AWS documentation for more details.")),
        Some(Fault::AccessDenied) => Some((403, "AccessDeniedException", "You don't have access to the model with the specified model ID.")),
        _ => None,
    };
    if let Some((status, kind, message)) = canned {
        return finish(error(status, kind, message, &request_id), summary, Some(kind.into()));
    }
    if !emu.model_ids.iter().any(|m| m == &model_id) {
        let msg = "The provided model identifier is invalid.";
        return finish(error(404, "ResourceNotFoundException", msg, &request_id), summary, Some(msg.into()));
    }
    let ct = header("content-type").unwrap_or_default();
    if ct.split(';').next().map(str::trim) != Some("application/json") {
        let msg = format!("Malformed input request: the content type must be application/json, not {ct:?}, please reformat your input and try again.");
        return finish(error(400, "ValidationException", &msg, &request_id), summary, Some(msg));
    }
    if body.len() > crate::nova::MAX_BODY_BYTES {
        let msg = format!(
            "Input is too long: the request body is {} bytes, the limit is {}.",
            body.len(),
            crate::nova::MAX_BODY_BYTES
        );
        return finish(error(400, "ValidationException", &msg, &request_id), summary, Some(msg));
    }

    let work = tokio::task::spawn_blocking(move || {
        let summary = summarise(&body);
        (validate(&body).map(|v| render(&v)), summary)
    })
    .await;
    let (result, summary) = match work {
        Ok(x) => x,
        Err(e) => {
            return finish(
                error(500, "InternalServerException", &format!("emulator crashed: {e}"), &request_id),
                Value::Null,
                Some("crash".into()),
            )
        }
    };
    let output = match result {
        Err(msg) => return finish(error(400, "ValidationException", &msg, &request_id), summary, Some(msg)),
        Ok(o) => o,
    };
    if let Some(Fault::InputModeration) = fault {
        let msg = "This request has been blocked by our content filters. Please adjust your input image to submit a new request.";
        return finish(error(400, "ValidationException", msg, &request_id), summary, Some(msg.into()));
    }
    let mut reply = Map::new();
    let mut images = output.images;
    if let Some(Fault::OutputModeration { images: keep }) = fault {
        images.truncate(keep as usize);
        let msg = if keep == 0 {
            "All of the generated images have been blocked by our content filters."
        } else {
            "Some of the generated images have been blocked by our content filters."
        };
        reply.insert("error".into(), msg.into());
    }
    reply.insert("images".into(), Value::Array(images.into_iter().map(|b| Value::String(B64.encode(b))).collect()));
    if let Some(m) = output.mask {
        reply.insert("maskImage".into(), B64.encode(m).into());
    }
    let mut resp = (StatusCode::OK, Json(Value::Object(reply))).into_response();
    let h = resp.headers_mut();
    h.insert("x-amzn-RequestId", hv(&request_id));
    h.insert("X-Amzn-Bedrock-Invocation-Latency", hv(&started.elapsed().as_millis().to_string()));
    finish(resp, summary, None)
}

/// The body with images replaced by descriptors, for the request log.
fn summarise(body: &[u8]) -> Value {
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

/// A request that passed validation.
struct Valid {
    source: RgbImage,
    reference: RgbImage,
    mask: Region,
    number_of_images: u32,
    seed: u64,
    return_mask: bool,
}

/// Where the emulator paints: from the garment class, the prompt box or the given mask.
enum Region {
    Garment { region: BodyRegion, shape: String, preserve_face: bool },
    Prompt { shape: String, preserve_face: bool },
    Image(GrayImage),
}

struct Output {
    images: Vec<Vec<u8>>,
    mask: Option<Vec<u8>>,
}

fn schema(path: &str, what: &str) -> String {
    format!("Malformed input request: #/{path}: {what}, please reformat your input and try again.")
}

fn check_keys(obj: &Map<String, Value>, path: &str, allowed: &[&str]) -> Result<(), String> {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(schema(path, &format!("extraneous key [{k}] is not permitted")));
        }
    }
    Ok(())
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object().ok_or_else(|| schema(path, &format!("expected type: JSONObject, found: {}", type_name(v))))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

fn enum_value<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
    allowed: &[&str],
    required: bool,
) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None if required => Err(schema(path, &format!("required key [{key}] not found"))),
        None => Ok(None),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s)),
        Some(v) => Err(schema(&format!("{path}/{key}"), &format!("{v} is not a valid enum value"))),
    }
}

const PRESERVE: &[&str] = &["ON", "OFF", "DEFAULT"];
const SHAPES: &[&str] = &["CONTOUR", "BOUNDING_BOX", "DEFAULT"];

fn validate(body: &[u8]) -> Result<Valid, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!("Malformed input request: the body is not valid JSON ({e}), please reformat your input and try again.")
    })?;
    let top = object(&v, "")?;
    check_keys(top, "", &["taskType", "virtualTryOnParams", "imageGenerationConfig"])?;
    match top.get("taskType") {
        Some(Value::String(t)) if t == "VIRTUAL_TRY_ON" => {}
        Some(Value::String(t))
            if [
                "TEXT_IMAGE",
                "INPAINTING",
                "OUTPAINTING",
                "IMAGE_VARIATION",
                "COLOR_GUIDED_GENERATION",
                "BACKGROUND_REMOVAL",
            ]
            .contains(&t.as_str()) =>
        {
            return Err(format!("The emulator serves VIRTUAL_TRY_ON only, not {t}."))
        }
        Some(other) => return Err(schema("taskType", &format!("{other} is not a valid enum value"))),
        None => return Err(schema("", "required key [taskType] not found")),
    }
    let p = object(
        top.get("virtualTryOnParams").ok_or_else(|| schema("", "required key [virtualTryOnParams] not found"))?,
        "virtualTryOnParams",
    )?;
    let vp = "virtualTryOnParams";
    check_keys(
        p,
        vp,
        &[
            "sourceImage",
            "referenceImage",
            "maskType",
            "imageBasedMask",
            "garmentBasedMask",
            "promptBasedMask",
            "maskExclusions",
            "mergeStyle",
            "returnMask",
        ],
    )?;
    let mask_type = enum_value(p, "maskType", vp, &["IMAGE", "GARMENT", "PROMPT"], true)?.unwrap_or_default();
    for (key, wanted) in [("imageBasedMask", "IMAGE"), ("garmentBasedMask", "GARMENT"), ("promptBasedMask", "PROMPT")] {
        match (p.contains_key(key), mask_type == wanted) {
            (false, true) => {
                return Err(schema(vp, &format!("required key [{key}] not found (maskType is {mask_type})")))
            }
            (true, false) => {
                return Err(schema(
                    vp,
                    &format!("extraneous key [{key}] is not permitted when maskType is {mask_type}"),
                ))
            }
            _ => {}
        }
    }
    let mut preserve_face = false;
    if let Some(ex) = p.get("maskExclusions") {
        let path = format!("{vp}/maskExclusions");
        let ex = object(ex, &path)?;
        check_keys(ex, &path, &["preserveBodyPose", "preserveHands", "preserveFace"])?;
        for k in ["preserveBodyPose", "preserveHands", "preserveFace"] {
            let value = enum_value(ex, k, &path, PRESERVE, false)?;
            if k == "preserveFace" {
                preserve_face = value == Some("ON");
            }
        }
    }
    enum_value(p, "mergeStyle", vp, &["BALANCED", "SEAMLESS", "DETAILED"], false)?;
    let return_mask = match p.get("returnMask") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(schema(
                &format!("{vp}/returnMask"),
                &format!("expected type: Boolean, found: {}", type_name(other)),
            ))
        }
    };

    let g = match top.get("imageGenerationConfig") {
        Some(g) => Some(object(g, "imageGenerationConfig")?),
        None => None,
    };
    let mut number_of_images = 1;
    let mut seed = 12;
    if let Some(g) = g {
        let gp = "imageGenerationConfig";
        if g.contains_key("width") || g.contains_key("height") {
            return Err(
                "width and height are not supported for VIRTUAL_TRY_ON: the output takes the source image's size."
                    .into(),
            );
        }
        check_keys(g, gp, &["numberOfImages", "quality", "cfgScale", "seed"])?;
        if let Some(n) = g.get("numberOfImages") {
            number_of_images =
                n.as_u64().filter(|n| (1..=5).contains(n)).ok_or_else(|| {
                    schema(&format!("{gp}/numberOfImages"), &format!("{n} is not in the range 1 to 5"))
                })? as u32;
        }
        enum_value(g, "quality", gp, &["standard", "premium"], false)?;
        if let Some(c) = g.get("cfgScale") {
            c.as_f64()
                .filter(|c| (1.1..=10.0).contains(c))
                .ok_or_else(|| schema(&format!("{gp}/cfgScale"), &format!("{c} is not in the range 1.1 to 10.0")))?;
        }
        if let Some(s) = g.get("seed") {
            seed = s
                .as_u64()
                .filter(|s| *s <= 2_147_483_646)
                .ok_or_else(|| schema(&format!("{gp}/seed"), &format!("{s} is not in the range 0 to 2147483646")))?;
        }
    }

    let source = input_image(p.get("sourceImage"), "sourceImage")?;
    let reference = input_image(p.get("referenceImage"), "referenceImage")?;
    let mask = match mask_type {
        "GARMENT" => {
            let path = format!("{vp}/garmentBasedMask");
            let gm = object(&p["garmentBasedMask"], &path)?;
            check_keys(gm, &path, &["garmentClass", "maskShape", "garmentStyling"])?;
            let class_names: Vec<&str> = GarmentClass::ALL.iter().map(|c| c.as_str()).collect();
            let class = enum_value(gm, "garmentClass", &path, &class_names, true)?.unwrap_or_default();
            let class =
                GarmentClass::ALL.iter().find(|c| c.as_str() == class).copied().unwrap_or(GarmentClass::UpperBody);
            let shape = enum_value(gm, "maskShape", &path, SHAPES, false)?.unwrap_or("DEFAULT").to_owned();
            if let Some(st) = gm.get("garmentStyling") {
                let sp = format!("{path}/garmentStyling");
                let st = object(st, &sp)?;
                check_keys(st, &sp, &["longSleeveStyle", "tuckingStyle", "outerLayerStyle"])?;
                enum_value(st, "longSleeveStyle", &sp, &["SLEEVE_DOWN", "SLEEVE_UP"], false)?;
                enum_value(st, "tuckingStyle", &sp, &["UNTUCKED", "TUCKED"], false)?;
                enum_value(st, "outerLayerStyle", &sp, &["CLOSED", "OPEN"], false)?;
            }
            Region::Garment { region: class.region(), shape, preserve_face }
        }
        "PROMPT" => {
            let path = format!("{vp}/promptBasedMask");
            let pm = object(&p["promptBasedMask"], &path)?;
            check_keys(pm, &path, &["maskPrompt", "maskShape"])?;
            match pm.get("maskPrompt") {
                Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 1024 => {}
                Some(Value::String(_)) => {
                    return Err(schema(&format!("{path}/maskPrompt"), "expected a string of 1 to 1024 characters"))
                }
                Some(other) => {
                    return Err(schema(
                        &format!("{path}/maskPrompt"),
                        &format!("expected type: String, found: {}", type_name(other)),
                    ))
                }
                None => return Err(schema(&path, "required key [maskPrompt] not found")),
            }
            let shape = enum_value(pm, "maskShape", &path, SHAPES, false)?.unwrap_or("BOUNDING_BOX").to_owned();
            Region::Prompt { shape, preserve_face }
        }
        _ => {
            let path = format!("{vp}/imageBasedMask");
            let im = object(&p["imageBasedMask"], &path)?;
            check_keys(im, &path, &["maskImage"])?;
            let m = input_image(im.get("maskImage"), "maskImage")?;
            if m.dimensions() != source.dimensions() {
                return Err(format!(
                    "The mask image must be the same size as the source image: maskImage is {}x{}, sourceImage is {}x{}.",
                    m.width(),
                    m.height(),
                    source.width(),
                    source.height()
                ));
            }
            if let Some(p) = m.pixels().find(|p| !(p.0 == [0, 0, 0] || p.0 == [255, 255, 255])) {
                return Err(format!("The mask image must contain only pure black (0,0,0) and pure white (255,255,255) pixels; found {:?}.", p.0));
            }
            Region::Image(GrayImage::from_fn(m.width(), m.height(), |x, y| image::Luma([m.get_pixel(x, y)[0]])))
        }
    };
    Ok(Valid { source, reference, mask, number_of_images, seed, return_mask })
}

/// Decodes and checks one input image: base64, PNG or JPEG, 8-bit RGB, no translucent
/// alpha, Nova's size, pixel and aspect limits.
fn input_image(v: Option<&Value>, field: &str) -> Result<RgbImage, String> {
    let s = match v {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(schema(
                &format!("virtualTryOnParams/{field}"),
                &format!("expected type: String, found: {}", type_name(other)),
            ))
        }
        None => return Err(schema("virtualTryOnParams", &format!("required key [{field}] not found"))),
    };
    let bytes = B64.decode(s.as_bytes()).map_err(|e| format!("Invalid base64 in {field}: {e}."))?;
    let format = match image::guess_format(&bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        Ok(f) => {
            return Err(format!("Unsupported image format for {field}: {f:?}. Supported formats are PNG and JPEG."))
        }
        Err(_) => return Err(format!("Unable to read {field}: it is not a PNG or JPEG image.")),
    };
    let mut reader = ImageReader::with_format(Cursor::new(&bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE * 4);
    limits.max_image_height = Some(MAX_SIDE * 4);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|e| format!("Unable to read {field}: {e}."))?;
    let (w, h) = decoder.dimensions();
    if !(MIN_SIDE..=MAX_SIDE).contains(&w) || !(MIN_SIDE..=MAX_SIDE).contains(&h) {
        return Err(format!("{field} is {w}x{h}: each side must be between {MIN_SIDE} and {MAX_SIDE} pixels."));
    }
    if w as u64 * h as u64 > MAX_PIXELS {
        return Err(format!(
            "{field} is {w}x{h} ({} pixels): images must have fewer than 4194304 pixels.",
            w as u64 * h as u64
        ));
    }
    if w > MAX_ASPECT * h || h > MAX_ASPECT * w {
        return Err(format!("{field} is {w}x{h}: the aspect ratio must be between 1:4 and 4:1."));
    }
    let original = decoder.original_color_type();
    if !matches!(original, ExtendedColorType::Rgb8 | ExtendedColorType::Rgba8) {
        return Err(format!("{field} must be an 8-bit RGB image; it is {original:?}."));
    }
    let img = DynamicImage::from_decoder(decoder).map_err(|e| format!("Unable to read {field}: {e}."))?;
    match img {
        DynamicImage::ImageRgb8(i) => Ok(i),
        DynamicImage::ImageRgba8(i) => {
            if i.pixels().any(|p| p[3] != 255) {
                return Err(format!(
                    "{field} has transparent or translucent pixels; the alpha channel must be fully opaque."
                ));
            }
            Ok(DynamicImage::ImageRgba8(i).into_rgb8())
        }
        other => Err(format!("{field} must be an 8-bit RGB image; it is {:?}.", other.color())),
    }
}

/// Fractions of the picture (x0, y0, x1, y1) each body region covers.
fn region_box(region: BodyRegion) -> (f64, f64, f64, f64) {
    match region {
        BodyRegion::Upper => (0.18, 0.27, 0.82, 0.66),
        BodyRegion::Lower => (0.3, 0.6, 0.7, 0.95),
        BodyRegion::Full => (0.18, 0.27, 0.82, 0.95),
        BodyRegion::Feet => (0.3, 0.9, 0.7, 0.99),
    }
}

/// The edit mask: `true` where the garment goes.
fn edit_mask(v: &Valid) -> Vec<bool> {
    let (w, h) = v.source.dimensions();
    let shaped = |(x0, y0, x1, y1): (f64, f64, f64, f64), shape: &str, preserve_face: bool| {
        let (cx, cy, rx, ry) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0, (x1 - x0) / 2.0, (y1 - y0) / 2.0);
        let mut m = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = ((x as f64 + 0.5) / w as f64, (y as f64 + 0.5) / h as f64);
                let inside = if shape == "BOUNDING_BOX" {
                    fx >= x0 && fx < x1 && fy >= y0 && fy < y1
                } else {
                    ((fx - cx) / rx).powi(2) + ((fy - cy) / ry).powi(2) <= 1.0
                };
                m.push(inside && !(preserve_face && fy < 0.2));
            }
        }
        m
    };
    match &v.mask {
        Region::Garment { region, shape, preserve_face } => shaped(region_box(*region), shape, *preserve_face),
        Region::Prompt { shape, preserve_face } => shaped((0.25, 0.25, 0.75, 0.75), shape, *preserve_face),
        Region::Image(m) => m.pixels().map(|p| p[0] == 0).collect(),
    }
}

/// Deterministic output: the source with the garment drawn into the mask's bounding box,
/// its colour channels rotated per image so every image of a call differs.
fn render(v: &Valid) -> Output {
    let (w, h) = v.source.dimensions();
    let mask = edit_mask(v);
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for (i, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
        let (x, y) = (i as u32 % w, i as u32 / w);
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x + 1);
        y1 = y1.max(y + 1);
    }
    let (bw, bh) = (x1.saturating_sub(x0).max(1), y1.saturating_sub(y0).max(1));
    let (rw, rh) = v.reference.dimensions();
    let images = (0..v.number_of_images)
        .map(|n| {
            let rot = ((v.seed + n as u64) % 3) as usize;
            let mut out = v.source.clone();
            for (i, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
                let (x, y) = (i as u32 % w, i as u32 / w);
                let sx = ((x - x0) as u64 * rw as u64 / bw as u64).min(rw as u64 - 1) as u32;
                let sy = ((y - y0) as u64 * rh as u64 / bh as u64).min(rh as u64 - 1) as u32;
                let p = v.reference.get_pixel(sx, sy).0;
                out.put_pixel(x, y, image::Rgb([p[rot], p[(rot + 1) % 3], p[(rot + 2) % 3]]));
            }
            encode_png_rgb(&out).map(|b| b.to_vec()).unwrap_or_default()
        })
        .collect();
    let mask_png = v.return_mask.then(|| {
        let m = RgbImage::from_fn(w, h, |x, y| {
            let c = if mask[(y * w + x) as usize] { 0 } else { 255 };
            image::Rgb([c, c, c])
        });
        encode_png_rgb(&m).unwrap_or_default()
    });
    Output { images, mask: mask_png }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> String {
        B64.encode(encode_png_rgb(&RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]))).unwrap())
    }

    fn body(params: Value, config: Option<Value>) -> Vec<u8> {
        let mut p = json!({"sourceImage": png(400, 600), "referenceImage": png(320, 320)});
        p.as_object_mut().unwrap().extend(params.as_object().unwrap().clone());
        let mut b = json!({"taskType": "VIRTUAL_TRY_ON", "virtualTryOnParams": p});
        if let Some(c) = config {
            b["imageGenerationConfig"] = c;
        }
        serde_json::to_vec(&b).unwrap()
    }

    #[test]
    fn accepts_a_valid_request_and_renders_deterministically() {
        let b = body(
            json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "returnMask": true}),
            Some(json!({"numberOfImages": 2})),
        );
        let v = validate(&b).unwrap();
        let out = render(&v);
        assert_eq!(out.images.len(), 2);
        assert_ne!(out.images[0], out.images[1]);
        let again = render(&validate(&b).unwrap());
        assert_eq!(out.images, again.images);
        let img = image::load_from_memory(&out.images[0]).unwrap();
        assert_eq!((img.width(), img.height()), (400, 600));
        assert!(out.mask.is_some());
    }

    #[test]
    fn rejects_what_nova_rejects() {
        let cases = [
            body(json!({"maskType": "GARMENT"}), None),
            body(json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "HAT"}}), None),
            body(json!({"maskType": "PROMPT", "promptBasedMask": {"maskPrompt": ""}}), None),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "promptBasedMask": {"maskPrompt": "x"}}),
                None,
            ),
            body(json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "extra": 1}), None),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}}),
                Some(json!({"width": 512})),
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}}),
                Some(json!({"numberOfImages": 6})),
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}}),
                Some(json!({"cfgScale": 1.0})),
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}}),
                Some(json!({"seed": 2147483647u64})),
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "mergeStyle": "SMOOTH"}),
                None,
            ),
            body(json!({"maskType": "IMAGE", "imageBasedMask": {"maskImage": png(400, 600)}}), None),
            body(json!({"maskType": "IMAGE", "imageBasedMask": {"maskImage": png(320, 600)}}), None),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "sourceImage": png(300, 600)}),
                None,
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "sourceImage": png(2048, 2048)}),
                None,
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "sourceImage": png(320, 1300)}),
                None,
            ),
            body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "sourceImage": "not base64!"}),
                None,
            ),
        ];
        for (i, b) in cases.iter().enumerate() {
            assert!(validate(b).is_err(), "case {i} was accepted");
        }
    }

    #[test]
    fn rejects_translucent_grey_and_sixteen_bit_inputs() {
        let enc = |img: DynamicImage| {
            let mut out = Vec::new();
            img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
            B64.encode(out)
        };
        let translucent =
            enc(DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(400, 400, image::Rgba([1, 2, 3, 200]))));
        let grey = enc(DynamicImage::ImageLuma8(GrayImage::from_pixel(400, 400, image::Luma([9]))));
        let deep = enc(DynamicImage::ImageRgb16(image::ImageBuffer::from_pixel(400, 400, image::Rgb([9u16, 9, 9]))));
        let opaque = enc(DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(400, 400, image::Rgba([1, 2, 3, 255]))));
        for (img, ok) in [(translucent, false), (grey, false), (deep, false), (opaque, true)] {
            let b = body(
                json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}, "sourceImage": img}),
                None,
            );
            assert_eq!(validate(&b).is_ok(), ok);
        }
    }
}
