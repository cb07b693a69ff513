//! Every backend through the one pipeline, in memory (fast tier): the pipeline does not know
//! which backend ran, each backend's request fits that backend's limits, a job compares
//! backends as variants with each one's cost, and what a prompt-based backend was told is
//! recorded. The scripted model answers in each backend's own reply shape.

use crate::fakes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fakes::{Kill, MemoryStore, ScriptedModel};
use serde_json::{json, Value};
use tryon::config::Config;
use tryon::core::backend::{Backend, Backends};
use tryon::entry::trigger::ObjectCreated;
use tryon::pipeline::{Outcome, Service};

const JOB: &str = "uploads/j/job.json";
const STATUS: &str = "outputs/j/status.json";

fn service(manifest: Value, person: (u32, u32)) -> Service<MemoryStore, ScriptedModel> {
    let storage = MemoryStore::with_kill(Arc::new(Kill::default()));
    let (w, h) = person;
    storage.insert(
        "uploads/j/person.jpg",
        tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(w, h), 1).unwrap(),
    );
    storage.insert("uploads/j/top.png", tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(600)));
    storage.insert(JOB, serde_json::to_vec(&manifest).unwrap());
    let model = ScriptedModel::new(storage.kill.clone());
    let backends = Backends { chain: vec![Backend::NovaCanvas], enabled: Backend::ALL.to_vec() };
    let config = Config { emit_metrics: false, backends, ..tryon_tools::wiring::nova_config() };
    Service { storage, model, events: tryon::adapters::events::NoEvents, config }
}

async fn deliver(svc: &Service<MemoryStore, ScriptedModel>) -> Outcome {
    let obj = ObjectCreated { bucket: "b".into(), key: JOB.into(), etag: None, version_id: None, raw_key: None };
    svc.run_job(&obj, "req", Instant::now() + Duration::from_secs(300)).await.expect("no transient failure")
}

/// The request images of a body in `backend`'s shape, decoded: (width, height, bytes).
fn request_images(backend: Backend, body: &[u8]) -> Vec<(u32, u32, usize)> {
    let v: Value = serde_json::from_slice(body).unwrap();
    let b64: Vec<&str> = match backend {
        Backend::NovaCanvas => {
            vec![&v["virtualTryOnParams"]["sourceImage"], &v["virtualTryOnParams"]["referenceImage"]]
                .into_iter()
                .filter_map(Value::as_str)
                .collect()
        }
        Backend::VertexVto => vec![
            &v["instances"][0]["personImage"]["image"]["bytesBase64Encoded"],
            &v["instances"][0]["productImages"][0]["image"]["bytesBase64Encoded"],
        ]
        .into_iter()
        .filter_map(Value::as_str)
        .collect(),
        Backend::GeminiImage => v["contents"][0]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["inlineData"]["data"].as_str())
            .collect(),
        Backend::BedrockConverse => v["messages"][0]["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["image"]["source"]["bytes"].as_str())
            .collect(),
    };
    b64.into_iter()
        .map(|s| {
            let bytes = base64_simd::STANDARD.decode_to_vec(s.as_bytes()).unwrap();
            let img = image::load_from_memory(&bytes).unwrap();
            (img.width(), img.height(), bytes.len())
        })
        .collect()
}

#[tokio::test]
async fn every_backend_runs_the_same_pipeline_and_records_what_ran() {
    for backend in Backend::ALL {
        let svc =
            service(json!({"source": "person.jpg", "garment": "top.png", "backend": backend.name()}), (900, 1200));
        assert!(matches!(deliver(&svc).await, Outcome::Succeeded { images: 1, .. }), "{backend}");
        let s = svc.storage.json(STATUS);
        assert_eq!(s["state"], "succeeded", "{backend}: {s}");
        let d = &s["diagnostics"];
        assert_eq!(d["backend"], backend.name());
        assert_eq!(d["modelId"], svc.model.model_id_of(backend));
        assert!(
            d["costUsd"].as_f64().unwrap() > 0.0 && d["estimatedCostUsd"].as_f64().unwrap() > 0.0,
            "{backend}: {d}"
        );
        assert_eq!(d["instruction"].is_string(), backend.prompt_based(), "{backend}: {d}");
        assert_eq!(s["outputs"]["images"], json!(["outputs/j/result.png"]));
        assert!(svc.storage.object("outputs/j/sheet.jpg").is_some());
        let sent = svc.model.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, backend);
    }
}

#[tokio::test]
async fn each_backends_request_fits_its_limits_at_and_just_past_them() {
    for backend in Backend::ALL {
        let c = backend.canvas();
        for long in [c.max_side, c.max_side + 1] {
            let svc = service(
                json!({"source": "person.jpg", "garment": "top.png", "backend": backend.name()}),
                (long * 3 / 4, long),
            );
            assert!(matches!(deliver(&svc).await, Outcome::Succeeded { .. }), "{backend} {long}");
            let sent = svc.model.sent.lock().unwrap();
            for (w, h, bytes) in request_images(backend, &sent[0].1) {
                assert!(w.max(h) <= c.max_side && w.min(h) >= c.min_side, "{backend} {long}: {w}x{h}");
                assert!(w as u64 * h as u64 <= c.max_pixels, "{backend} {long}: {w}x{h}");
                assert!(bytes <= c.max_image_bytes, "{backend} {long}: {bytes} bytes");
            }
        }
    }
}

#[tokio::test]
async fn one_job_compares_every_backend_side_by_side_each_with_its_cost() {
    let svc = service(
        json!({
            "source": "person.jpg", "garment": "top.png",
            "variants": [
                {"name": "nova"},
                {"name": "vertex", "backend": "vertex-vto"},
                {"name": "gemini", "backend": "gemini-image", "instruction": {"garmentClass": "UPPER_BODY"}},
                {"name": "omni", "backend": "bedrock-converse"}
            ]
        }),
        (900, 1200),
    );
    assert!(matches!(deliver(&svc).await, Outcome::Succeeded { images: 4, .. }));
    let s = svc.storage.json(STATUS);
    let items = s["items"].as_array().unwrap();
    let backends: Vec<&str> = items.iter().map(|i| i["backend"].as_str().unwrap()).collect();
    assert_eq!(backends, ["nova-canvas", "vertex-vto", "gemini-image", "bedrock-converse"]);
    assert!(items.iter().all(|i| i["state"] == "succeeded" && i["costUsd"].as_f64().unwrap() > 0.0), "{s}");
    assert!(items[2]["instruction"].as_str().unwrap().contains("upper body"), "{s}");
    assert!(items[0].get("instruction").is_none());
    // Every call got the same source, prepared once within every backend's limits.
    let sent = svc.model.sent.lock().unwrap();
    let sources: Vec<(u32, u32)> =
        sent.iter().map(|(b, body)| request_images(*b, body)[0]).map(|(w, h, _)| (w, h)).collect();
    assert!(sources.windows(2).all(|p| p[0] == p[1]), "{sources:?}");
    let all = tryon::core::backend::Canvas::common(Backend::ALL.map(Backend::canvas));
    assert!(sources[0].0 as u64 * sources[0].1 as u64 <= all.max_pixels);
    assert!(svc.storage.object("outputs/j/sheet.jpg").is_some());
}
