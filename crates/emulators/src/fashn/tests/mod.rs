//! The FASHN emulator over real HTTP: runs polled to completion (base64 and URL outputs, at
//! FASHN's sizes, deterministic), the call log, and the models' inputs. Faults, limits and
//! keys are in the sibling files.

mod errors;
mod limits;

use std::io::Cursor;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::test_http::{Http, Reply};
use crate::Emulator;

const KEY: &str = "fa-TEST0001-abcdef";

/// An emulator on a free port.
struct World {
    emu: Emulator,
    http: Http,
}

impl World {
    async fn start() -> World {
        let emu = Emulator::default();
        let http = Http::start(&emu).await;
        World { emu, http }
    }

    async fn run_as(&self, key: Option<&str>, body: &Value) -> Reply {
        let auth = key.map(|k| format!("Bearer {k}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        self.http.send("POST", "/v1/run", &headers, body.to_string().as_bytes()).await
    }

    async fn run(&self, body: &Value) -> Reply {
        self.run_as(Some(KEY), body).await
    }

    /// Runs `body` and returns the prediction id (the run must be accepted).
    async fn start_prediction(&self, body: &Value) -> String {
        let r = self.run(body).await;
        assert_eq!(r.status, 200, "{}", r.json());
        assert_eq!(r.json()["error"], Value::Null);
        r.json()["id"].as_str().unwrap().to_owned()
    }

    async fn status_as(&self, key: &str, id: &str) -> Reply {
        let auth = format!("Bearer {key}");
        self.http.send("GET", &format!("/v1/status/{id}"), &[("authorization", &auth)], b"").await
    }

    async fn status(&self, id: &str) -> Reply {
        self.status_as(KEY, id).await
    }

    /// Polls every 100 ms until a terminal state: the states seen, then the last reply.
    async fn until_terminal(&self, id: &str) -> (Vec<String>, Reply) {
        let mut states = Vec::new();
        for _ in 0..45 {
            let r = self.status(id).await;
            assert_eq!(r.status, 200, "{}", r.json());
            let state = r.json()["status"].as_str().unwrap().to_owned();
            states.push(state.clone());
            if !["starting", "in_queue", "processing"].contains(&state.as_str()) {
                return (states, r);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no terminal state: {states:?}");
    }

    fn calls(&self, path_prefix: &str) -> Vec<Value> {
        let calls = self.emu.backend_calls().into_iter().filter(|c| c["backend"] == "fashn");
        calls.filter(|c| c["path"].as_str().is_some_and(|p| p.starts_with(path_prefix))).collect()
    }
}

fn png(w: u32, h: u32, blue: u8) -> Vec<u8> {
    crate::reference::png(&image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, blue])))
}

fn data_uri(w: u32, h: u32, blue: u8) -> String {
    format!("data:image/png;base64,{}", B64.encode(png(w, h, blue)))
}

/// A `tryon-v1.6` body with `extra` inputs merged in.
fn v16(extra: Value) -> Value {
    let mut inputs = json!({ "model_image": data_uri(200, 300, 10), "garment_image": data_uri(80, 80, 200) });
    inputs.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    json!({ "model_name": "tryon-v1.6", "inputs": inputs })
}

fn max(extra: Value) -> Value {
    let mut inputs = json!({ "model_image": data_uri(200, 300, 10), "product_image": data_uri(80, 80, 200) });
    inputs.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    json!({ "model_name": "tryon-max", "inputs": inputs })
}

/// The bytes and size of a `data:image/<ext>;base64,` output.
fn decode_output(s: &str, ext: &str) -> (Vec<u8>, (u32, u32)) {
    let b64 = s.strip_prefix(&format!("data:image/{ext};base64,")).unwrap_or_else(|| panic!("not a data URI: {s:.60}"));
    let bytes = B64.decode(b64).unwrap();
    let img = image::ImageReader::new(Cursor::new(&bytes)).with_guessed_format().unwrap();
    let dims = img.into_dimensions().unwrap();
    (bytes, dims)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_polls_to_completed_with_base64_outputs() {
    let w = World::start().await;
    let body = v16(json!({ "num_samples": 2, "return_base64": true, "category": "tops", "seed": 7 }));
    let id = w.start_prediction(&body).await;
    let (states, done) = w.until_terminal(&id).await;
    assert_eq!(states.first().map(String::as_str), Some("starting"), "{states:?}");
    let order = ["starting", "in_queue", "processing", "completed"];
    let ranks: Vec<usize> = states.iter().map(|s| order.iter().position(|o| o == s).unwrap()).collect();
    assert!(ranks.windows(2).all(|p| p[0] <= p[1]), "states go forward: {states:?}");
    let reply = done.json();
    assert_eq!(
        (reply["id"].as_str(), &reply["status"], &reply["error"]),
        (Some(id.as_str()), &json!("completed"), &Value::Null)
    );
    assert_eq!(done.header("x-fashn-credits-used"), "2");
    let outputs: Vec<&str> = reply["output"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    assert_eq!(outputs.len(), 2);
    let (first, dims) = decode_output(outputs[0], "png");
    assert_eq!(dims, (864, 1296), "v1.6 answers at its processing resolution");
    assert_ne!(first, decode_output(outputs[1], "png").0, "samples differ");
    // Same inputs and seed, same pixels.
    let again = w.start_prediction(&body).await;
    let (_, done2) = w.until_terminal(&again).await;
    assert_eq!(done2.json()["output"], reply["output"]);
    // Exactly one /v1/run per run, logged with the model and the id; images summarised.
    let runs = w.calls("/v1/run");
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0]["model"].as_str(), runs[0]["predictionId"].as_str()), (Some("tryon-v1.6"), Some(id.as_str())));
    assert_eq!(
        runs[0]["body"]["inputs"]["model_image"],
        json!({"dataUri": "image/png", "width": 200, "height": 300, "bytes": png(200, 300, 10).len()})
    );
    assert!(!runs[0].to_string().contains(KEY), "the key is masked");
    let polls = w.calls(&format!("/v1/status/{id}"));
    assert_eq!(polls.len(), states.len());
    assert_eq!(polls.last().unwrap()["state"], "completed");
    assert_eq!(w.emu.fashn_credits(), crate::fashn_store::DEFAULT_CREDITS - 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn url_outputs_are_served_by_the_emulated_cdn() {
    let w = World::start().await;
    let id = w.start_prediction(&v16(json!({ "output_format": "jpeg" }))).await;
    let (_, done) = w.until_terminal(&id).await;
    let url = done.json()["output"][0].as_str().unwrap().to_owned();
    let path = url.strip_prefix(&format!("http://{}", w.http.host)).unwrap_or_else(|| panic!("{url}"));
    assert_eq!(path, format!("/fashn-cdn/{id}/output_0.jpeg"));
    let image = w.http.send("GET", path, &[], b"").await;
    assert_eq!((image.status, image.header("content-type")), (200, "image/jpeg"));
    assert_eq!(image::load_from_memory(&image.bytes).unwrap().width(), 864);
    assert_eq!(w.http.send("GET", &format!("/fashn-cdn/{id}/output_1.jpeg"), &[], b"").await.status, 404);
    // base64 outputs are not stored on the CDN; expired ones read `<base64>_expired`.
    w.emu.push_fashn_fault(crate::FashnFault::ExpiredBase64);
    let id = w.start_prediction(&v16(json!({ "return_base64": true }))).await;
    let (_, done) = w.until_terminal(&id).await;
    assert_eq!(done.json()["output"], json!(["<base64>_expired"]));
    assert_eq!(w.http.send("GET", &format!("/fashn-cdn/{id}/output_0.png"), &[], b"").await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn tryon_max_and_the_legacy_model_answer_their_sizes_and_prices() {
    let w = World::start().await;
    let body = max(
        json!({ "resolution": "1k", "aspect_ratio": "1:1", "generation_mode": "quality", "num_images": 2, "return_base64": true, "prompt": "tuck in shirt" }),
    );
    let id = w.start_prediction(&body).await;
    let (_, done) = w.until_terminal(&id).await;
    assert_eq!(decode_output(done.json()["output"][1].as_str().unwrap(), "png").1, (1024, 1024));
    assert_eq!(done.header("x-fashn-credits-used"), "6", "quality at 1k is 3 credits an image");
    let legacy = json!({ "model_name": "tryon-v1.5", "inputs": { "model_image": data_uri(200, 300, 1), "garment_image": data_uri(50, 50, 2), "category": "bottoms", "guidance_scale": 2.5, "timesteps": 30, "return_base64": true } });
    let id = w.start_prediction(&legacy).await;
    let (_, done) = w.until_terminal(&id).await;
    assert_eq!(decode_output(done.json()["output"][0].as_str().unwrap(), "png").1, (576, 864));
    let credits = w.http.send("GET", "/v1/credits", &[("authorization", &format!("Bearer {KEY}"))], b"").await;
    let left = crate::fashn_store::DEFAULT_CREDITS - 7;
    assert_eq!(credits.json(), json!({ "credits": { "total": left, "subscription": 0, "on_demand": left } }));
}

/// Bodies with one schema problem each, and the field its message must name.
fn validation_cases() -> Vec<(Value, &'static str)> {
    vec![
        (json!({ "inputs": {} }), "model_name"),
        (json!({ "model_name": "tryon-v1.6" }), "inputs"),
        (json!({ "model_name": "tryon-v9", "inputs": {} }), "model_name"),
        (json!({ "model_name": "tryon-v1.6", "inputs": {}, "webhook": 1 }), "webhook"),
        (json!({ "model_name": "tryon-v1.6", "inputs": { "garment_image": data_uri(8, 8, 1) } }), "inputs.model_image"),
        (v16(json!({ "garment_image": "" })), "inputs.garment_image"),
        (v16(json!({ "model_image": 5 })), "inputs.model_image"),
        (v16(json!({ "category": "shirts" })), "inputs.category"),
        (v16(json!({ "garment_photo_type": "flat_lay" })), "inputs.garment_photo_type"),
        (v16(json!({ "mode": "fast" })), "inputs.mode"),
        (v16(json!({ "moderation_level": "strict" })), "inputs.moderation_level"),
        (v16(json!({ "segmentation_free": "true" })), "inputs.segmentation_free"),
        (v16(json!({ "num_samples": 5 })), "inputs.num_samples"),
        (v16(json!({ "num_samples": 0 })), "inputs.num_samples"),
        (v16(json!({ "seed": 4_294_967_296u64 })), "inputs.seed"),
        (v16(json!({ "seed": -1 })), "inputs.seed"),
        (v16(json!({ "seed": 1.5 })), "inputs.seed"),
        (v16(json!({ "output_format": "webp" })), "inputs.output_format"),
        (v16(json!({ "return_base64": 1 })), "inputs.return_base64"),
        (v16(json!({ "prompt": "tuck in" })), "inputs.prompt"),
        (v16(json!({ "nsfw_filter": true })), "inputs.nsfw_filter"),
        (max(json!({ "garment_image": data_uri(8, 8, 1) })), "inputs.garment_image"),
        (max(json!({ "resolution": "8k" })), "inputs.resolution"),
        (max(json!({ "generation_mode": "fast" })), "inputs.generation_mode"),
        (max(json!({ "num_images": 9 })), "inputs.num_images"),
        (max(json!({ "aspect_ratio": "7:3" })), "inputs.aspect_ratio"),
        (max(json!({ "num_samples": 2 })), "inputs.num_samples"),
        (
            json!({ "model_name": "tryon-v1.5", "inputs": { "model_image": "x", "garment_image": "y" } }),
            "inputs.category",
        ),
        (
            json!({ "model_name": "tryon-v1.5", "inputs": { "model_image": "x", "garment_image": "y", "category": "tops", "timesteps": 60 } }),
            "inputs.timesteps",
        ),
    ]
}

/// Every schema problem is a 400 BadRequest at /v1/run naming its field.
#[tokio::test(flavor = "multi_thread")]
async fn every_validation_error_names_the_field() {
    let w = World::start().await;
    for (body, field) in validation_cases() {
        let r = w.run(&body).await;
        let reply = r.json();
        let message = reply["message"].as_str().unwrap_or_default();
        assert_eq!((r.status, reply["error"].as_str()), (400, Some("BadRequest")), "{body}: {reply}");
        assert!(message.starts_with("Invalid request body: ") && message.contains(field), "{field}: {message}");
    }
    assert!(w.emu.lock().fashn.predictions.is_empty(), "no prediction for a refused run");
}

/// The envelope: JSON, its content type, the webhook URL.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_envelopes_are_bad_requests() {
    let w = World::start().await;
    let auth = format!("Bearer {KEY}");
    let post = |path: &'static str, ct: &'static str, body: Vec<u8>| {
        let auth = auth.clone();
        let http = &w.http;
        async move { http.send("POST", path, &[("authorization", &auth), ("content-type", ct)], &body).await }
    };
    assert_eq!(post("/v1/run", "application/json", b"{".to_vec()).await.json()["error"], "BadRequest");
    let body = v16(json!({})).to_string().into_bytes();
    assert_eq!(post("/v1/run", "text/plain", body.clone()).await.status, 400);
    let webhook = post("/v1/run?webhook_url=ftp%3A%2F%2Fx", "application/json", body.clone()).await;
    assert!(webhook.json()["message"].as_str().unwrap().contains("webhook_url"), "{}", webhook.json());
    assert!(w.emu.lock().fashn.predictions.is_empty(), "no prediction for a refused run");
    let hooked = post("/v1/run?webhook_url=https%3A%2F%2Fhooks.example.com%2Ffashn", "application/json", body).await;
    assert_eq!(hooked.status, 200);
    assert_eq!(w.calls("/v1/run").pop().unwrap()["webhookUrl"], "https://hooks.example.com/fashn");
}

/// An image that cannot be loaded is accepted at /v1/run and fails as ImageLoadError.
#[tokio::test(flavor = "multi_thread")]
async fn unloadable_images_fail_the_prediction_with_image_load_error() {
    let w = World::start().await;
    let cases = [
        ("garment_image", "https://cdn.example.com/tee.jpg", "Error loading garment image: the emulator is offline"),
        ("model_image", "saved:anna", "Error loading model image: saved models"),
        ("model_image", "iVBORw0KGgo", "Error loading model image: it is neither a URL nor a data URI"),
        ("garment_image", "data:image/png;base64,not*base64", "Error loading garment image: the base64"),
        ("model_image", "data:image/png;base64,aGVsbG8=", "Error loading model image: the bytes are not"),
    ];
    for (field, value, message) in cases {
        let id = w.start_prediction(&v16(json!({ field: value }))).await;
        let (_, done) = w.until_terminal(&id).await;
        let reply = done.json();
        assert_eq!(
            (&reply["status"], &reply["error"]["name"]),
            (&json!("failed"), &json!("ImageLoadError")),
            "{reply}"
        );
        assert!(reply["error"]["message"].as_str().unwrap().starts_with(message), "{reply}");
        assert!(reply.get("output").is_none() && done.header("x-fashn-credits-used").is_empty());
    }
    assert_eq!(w.emu.fashn_credits(), crate::fashn_store::DEFAULT_CREDITS, "failures are free");
}
