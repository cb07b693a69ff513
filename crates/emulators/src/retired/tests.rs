//! Retired model ids over real HTTP, on each of the four model routes: the platform's 404,
//! no fault used, no quota counted, the call logged; the same id served once unretired;
//! unknown ids answered as before.

use std::io::{Read, Write};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::bedrock::END_OF_LIFE;
use crate::state::parse_ids;
use crate::{Emulator, Fault};

const CANVAS: &str = "amazon.nova-canvas-v1:0";
const OMNI: &str = "us.amazon.nova-2-omni-v1:0";
const VTO: &str = "virtual-try-on-001";
const GEMINI: &str = "gemini-3-pro-image";
const INVALID_ID: &str = "The provided model identifier is invalid.";

/// One HTTP answer: status, headers (names lowercased) and the body as JSON.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }

    /// Bedrock's error: status, the exception of `x-amzn-ErrorType` and the message.
    fn bedrock(&self) -> (u16, &str, &str) {
        let kind = self.header("x-amzn-errortype").split(':').next().unwrap_or_default();
        (self.status, kind, self.body["message"].as_str().unwrap_or_default())
    }
}

/// An emulator on a free port, with a Google token.
struct World {
    emu: Emulator,
    host: String,
    token: String,
}

impl World {
    async fn start(emu: Emulator) -> World {
        let (addr, _task) = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let token = emu.issue_token(Duration::from_secs(600));
        World { emu, host: addr.to_string(), token }
    }

    async fn send(&self, method: &str, path: &str, auth: bool, body: &[u8]) -> Reply {
        let auth = if auth { format!("authorization: Bearer {}\r\n", self.token) } else { String::new() };
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\n{auth}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            self.host,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        let host = self.host.clone();
        // Blocking std I/O (tokio's io-util is not a dependency), off the async workers.
        let text = tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(host).unwrap();
            s.write_all(&request).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        })
        .await
        .unwrap();
        parse_reply(&text)
    }

    async fn post(&self, path: &str, body: &[u8]) -> Reply {
        self.send("POST", path, true, body).await
    }
}

fn parse_reply(text: &str) -> Reply {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply { status, headers, body: serde_json::from_str(body).unwrap_or(Value::Null) }
}

fn png(w: u32, h: u32) -> String {
    B64.encode(crate::reference::png(&image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 90]))))
}

fn invoke_path(model: &str) -> String {
    format!("/model/{}/invoke", model.replace(':', "%3A"))
}

fn converse_path(model: &str) -> String {
    format!("/model/{}/converse", model.replace(':', "%3A"))
}

fn google_path(location: &str, model: &str, method: &str) -> String {
    format!("/v1/projects/p1/locations/{location}/publishers/google/models/{model}:{method}")
}

fn canvas_body() -> Vec<u8> {
    let mask = json!({"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY"}});
    crate::validate::tests::body(mask, None)
}

fn converse_body() -> Vec<u8> {
    let image = |b64: String| json!({"image": {"format": "png", "source": {"bytes": b64}}});
    let content = json!([image(png(64, 96)), image(png(32, 32)), {"text": "Dress the person."}]);
    serde_json::to_vec(&json!({"messages": [{"role": "user", "content": content}]})).unwrap()
}

fn vto_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "instances": [{
            "personImage": {"image": {"bytesBase64Encoded": png(300, 400), "mimeType": "image/png"}},
            "productImages": [{"image": {"bytesBase64Encoded": png(160, 160)}}],
        }],
        "parameters": {"sampleCount": 1},
    }))
    .unwrap()
}

fn gemini_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "contents": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": png(420, 560)}},
            {"inlineData": {"mimeType": "image/png", "data": png(160, 160)}},
            {"text": "Place the garment of the second image on the person of the first."},
        ]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]},
    }))
    .unwrap()
}

/// Google's retired-model body, exactly.
fn google_retired(location: &str, model: &str) -> Value {
    json!({"error": {
        "code": 404,
        "message": format!("Publisher Model `projects/p1/locations/{location}/publishers/google/models/{model}` was not found or your project does not have access to it. Please ensure you are using a valid model version. For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"),
        "status": "NOT_FOUND",
    }})
}

#[test]
fn the_env_list_is_comma_separated_and_trimmed() {
    let ids: Vec<String> = parse_ids(" amazon.nova-canvas-v1:0, ,virtual-try-on-001,").collect();
    assert_eq!(ids, [CANVAS, VTO]);
    assert_eq!(parse_ids("").count(), 0);
    let emu = Emulator::default().with_retired_models([VTO, CANVAS]);
    assert_eq!(emu.retired_models(), [CANVAS, VTO]);
    assert!(emu.unretire_model(VTO) && !emu.unretire_model(VTO));
}

/// `InvokeModel`: the end-of-life 404 before quota, fault and body; then served again.
#[tokio::test(flavor = "multi_thread")]
async fn invoke_model_answers_a_retired_id_end_of_life() {
    let w = World::start(Emulator::default()).await;
    w.emu.retire_model(CANVAS);
    w.emu.set_requests_per_minute(Some(1.0));
    w.emu.push_fault(Fault::ModelError);
    for _ in 0..2 {
        let r = w.post(&invoke_path(CANVAS), b"{}").await;
        assert_eq!(r.bedrock(), (404, "ResourceNotFoundException", END_OF_LIFE), "{}", r.body);
        assert!(!r.header("x-amzn-requestid").is_empty());
    }
    let log = w.emu.requests();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|c| c.status == 404 && c.fault.is_none() && c.error.as_deref() == Some(END_OF_LIFE)));
    w.emu.unretire_model(CANVAS);
    // Neither the quota (1 a minute) nor the queued fault was used by the retired calls.
    assert_eq!(w.post(&invoke_path(CANVAS), &canvas_body()).await.status, 424);
    w.emu.set_requests_per_minute(None);
    let ok = w.post(&invoke_path(CANVAS), &canvas_body()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["images"].as_array().map(Vec::len), Some(1));
    let unknown = w.post(&invoke_path("amazon.nova-canvas-v9:0"), &canvas_body()).await;
    assert_eq!(unknown.bedrock(), (404, "ResourceNotFoundException", INVALID_ID));
}

/// `Converse`: the same answer, logged with its outcome; the fault waits for a served call.
#[tokio::test(flavor = "multi_thread")]
async fn converse_answers_a_retired_id_end_of_life() {
    let w = World::start(Emulator::default().with_retired_models([OMNI])).await;
    w.emu.push_backend_fault("bedrock-converse", json!({"type": "modelError"}));
    let r = w.post(&converse_path(OMNI), b"{").await;
    assert_eq!(r.bedrock(), (404, "ResourceNotFoundException", END_OF_LIFE), "{}", r.body);
    let calls = w.emu.backend_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0]["status"].clone(), calls[0]["fault"].clone()), (json!(404), Value::Null));
    assert_eq!(calls[0]["error"], format!("ResourceNotFoundException: {END_OF_LIFE}"));
    w.emu.unretire_model(OMNI);
    assert_eq!(w.post(&converse_path(OMNI), &converse_body()).await.status, 424);
    let ok = w.post(&converse_path(OMNI), &converse_body()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["stopReason"], "end_turn");
    let unknown = w.post(&converse_path("us.amazon.nova-9-omni-v1:0"), &converse_body()).await;
    assert_eq!(unknown.bedrock(), (404, "ResourceNotFoundException", INVALID_ID));
}

/// One Google route: the bearer check first, then Google's exact 404 for the retired id
/// (no fault used, logged), then the queued fault and a 200 once unretired.
async fn google_route_answers_a_retired_id_not_found(backend: &str, location: &str, model: &str, method: &str) {
    let w = World::start(Emulator::default()).await;
    let (path, body) =
        (google_path(location, model, method), if method == "predict" { vto_body() } else { gemini_body() });
    w.emu.retire_model(model);
    w.emu.push_backend_fault(backend, json!({"type": "internal"}));
    assert_eq!(w.send("POST", &path, false, &body).await.status, 401, "authentication comes first");
    let r = w.post(&path, b"{").await;
    assert_eq!((r.status, &r.body), (404, &google_retired(location, model)));
    let call = w.emu.backend_calls().pop().unwrap();
    assert_eq!((call["backend"].as_str(), call["model"].as_str()), (Some(backend), Some(model)));
    assert_eq!((call["status"].clone(), call["fault"].clone()), (json!(404), Value::Null));
    assert_eq!(call["error"]["status"], "NOT_FOUND");
    w.emu.unretire_model(model);
    assert_eq!(w.post(&path, &body).await.status, 500, "the fault was kept for a served call");
    let ok = w.post(&path, &body).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    // An unknown id keeps today's answer (with the emulator's reason); a retired id Google's
    // table does not serve gets the plain text.
    let unknown = w.post(&google_path(location, "no-such-model", method), &body).await;
    let message = unknown.body["error"]["message"].as_str().unwrap_or_default();
    assert_eq!((unknown.status, unknown.body["error"]["status"].as_str()), (404, Some("NOT_FOUND")));
    assert!(message.starts_with("Publisher Model `") && message.ends_with(')'), "{message}");
    w.emu.retire_model("no-such-model");
    let gone = w.post(&google_path(location, "no-such-model", method), &body).await;
    assert_eq!(gone.body, google_retired(location, "no-such-model"));
}

#[tokio::test(flavor = "multi_thread")]
async fn predict_answers_a_retired_id_not_found() {
    google_route_answers_a_retired_id_not_found("vertex-vto", "us-central1", VTO, "predict").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_content_answers_a_retired_id_not_found() {
    google_route_answers_a_retired_id_not_found("gemini-image", "global", GEMINI, "generateContent").await;
}

/// The control route retires, lists and serves again.
#[tokio::test(flavor = "multi_thread")]
async fn the_control_route_retires_and_restores() {
    let w = World::start(Emulator::default()).await;
    let r = w.post("/_emulator/retired", json!([OMNI, GEMINI]).to_string().as_bytes()).await;
    assert_eq!((r.status, r.body), (200, json!({"retired": [GEMINI, OMNI]})));
    let r = w.post("/_emulator/retired", json!(CANVAS).to_string().as_bytes()).await;
    assert_eq!(r.body["retired"].as_array().map(Vec::len), Some(3));
    assert_eq!(w.post(&converse_path(OMNI), b"{}").await.bedrock().2, END_OF_LIFE);
    assert_eq!(
        w.send("DELETE", &format!("/_emulator/retired/{}", OMNI.replace(':', "%3A")), false, b"").await.status,
        204
    );
    assert_eq!(w.send("DELETE", "/_emulator/retired/never-retired", false, b"").await.status, 404);
    let r = w.send("GET", "/_emulator/retired", false, b"").await;
    assert_eq!(r.body, json!({"retired": [CANVAS, GEMINI]}));
    assert_eq!(w.post("/_emulator/retired", b"{\"model\": 1}").await.status, 400);
}
