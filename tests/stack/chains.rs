//! Backend chains on the wire: the real handler, the real SDK clients, moto, and the emulators
//! answering a retired model as each platform does (Bedrock's 404 end of life, Google's 404
//! NOT_FOUND). The first backend's "gone" answer hands the job to the second, both recorded;
//! a model the catalog already says is retired is not called at all.

use crate::support;

use serde_json::{json, Value};
use support::*;
use tryon::config::Config;
use tryon::core::backend::{Backend, Backends};
use tryon::core::catalog::{Catalog, Date};

fn files() -> Vec<(&'static str, Vec<u8>)> {
    vec![("person.jpg", person_jpeg()), ("top.png", garment_png())]
}

/// A world whose chain is `chain`, every transport at the emulator, with `catalog` merged
/// over the kept-Nova catalog.
async fn world(chain: &[Backend], catalog: Value) -> World {
    let mut overrides: serde_json::Map<String, Value> =
        serde_json::from_str(tryon_tools::wiring::KEPT_NOVA_CATALOG_JSON).unwrap();
    overrides.extend(catalog.as_object().unwrap().clone());
    let config = Config {
        emit_metrics: false,
        backends: Backends { chain: chain.to_vec(), enabled: chain.to_vec() },
        catalog: Catalog::with_overrides(Some(&Value::Object(overrides).to_string())).unwrap(),
        ..tryon_tools::wiring::nova_config()
    };
    let mut w = World::with_config(config).await;
    w.svc.model = tryon_tools::wiring::emulator_models(&w.svc.config, &w.emulator_url).await;
    w
}

fn walk(status: &Value) -> Vec<(String, String)> {
    let attempts = status["diagnostics"]["backendAttempts"].as_array().unwrap();
    attempts.iter().map(|a| (a["backend"].as_str().unwrap().into(), a["outcome"].as_str().unwrap().into())).collect()
}

fn step(b: &str, outcome: &str) -> (String, String) {
    (b.into(), outcome.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bedrocks_end_of_life_answer_falls_back_to_the_next_backend() {
    let w = world(&[Backend::NovaCanvas, Backend::BedrockConverse], json!({})).await;
    w.emulator.retire_model("amazon.nova-canvas-v1:0");
    w.upload_job("eol", &files(), &json!({"source": "person.jpg", "garment": "top.png"})).await;
    w.deliver("uploads/eol/job.json").await.expect("served by the second backend");
    let s = w.status("eol").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    assert_eq!(walk(&s), [step("nova-canvas", "moved-on"), step("bedrock-converse", "succeeded")]);
    let first = &s["diagnostics"]["backendAttempts"][0];
    assert_eq!(first["code"], "model_unavailable");
    assert!(first["message"].as_str().unwrap().contains("end of its life"), "{first}");
    let nova: Vec<_> = w.calls().into_iter().filter(|c| c.model_id == "amazon.nova-canvas-v1:0").collect();
    assert_eq!(nova.len(), 1, "one unbilled 404, never retried");
    assert_eq!(nova[0].status, 404);
    assert!(w.get("outputs/eol/result.png").await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn googles_not_found_for_a_retired_publisher_model_falls_back_to_gemini() {
    let w = world(&[Backend::VertexVto, Backend::GeminiImage], json!({})).await;
    w.emulator.retire_model("virtual-try-on-001");
    let manifest = json!({"source": "person.jpg", "garment": "top.png", "imageGenerationConfig": {"seed": 3}});
    w.upload_job("g", &files(), &manifest).await;
    w.deliver("uploads/g/job.json").await.expect("served by gemini-image");
    let s = w.status("g").await;
    assert_eq!(walk(&s), [step("vertex-vto", "moved-on"), step("gemini-image", "succeeded")], "{s}");
    let calls = w.emulator.backend_calls();
    let statuses: Vec<(Value, Value)> = calls.iter().map(|c| (c["backend"].clone(), c["status"].clone())).collect();
    assert_eq!(statuses, [(json!("vertex-vto"), json!(404)), (json!("gemini-image"), json!(200))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_the_catalog_retired_is_never_called() {
    let yesterday = Date::today().plus_days(-1).to_string();
    let w = world(
        &[Backend::NovaCanvas, Backend::BedrockConverse],
        json!({"amazon.nova-canvas-v1:0": {"shutdown": yesterday}}),
    )
    .await;
    w.upload_job("skip", &files(), &json!({"source": "person.jpg", "garment": "top.png"})).await;
    w.deliver("uploads/skip/job.json").await.expect("served by the second backend");
    let s = w.status("skip").await;
    assert_eq!(walk(&s), [step("nova-canvas", "skipped"), step("bedrock-converse", "succeeded")]);
    assert!(w.calls().iter().all(|c| c.model_id != "amazon.nova-canvas-v1:0"), "zero calls to the retired model");
}
