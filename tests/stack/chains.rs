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

/// The built function with `vars`, behind a runtime API address nothing listens on: its exit
/// code (`None`: still running after 20 s, past its configuration) and what it printed.
fn start_function(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tryon-lambda"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .envs(vars.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the function runs");
    let started = std::time::Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (code, stderr)
}

#[test]
fn the_built_function_refuses_a_bad_catalog_override_at_start_naming_the_field() {
    let (code, stderr) =
        start_function(&[("MODEL_CATALOG_JSON", r#"{"virtual-try-on-001": {"shutdown": "2027-02-30"}}"#)]);
    assert!(code.is_some_and(|c| c != 0), "it stops at start: {code:?}");
    assert!(
        stderr.contains("MODEL_CATALOG_JSON") && stderr.contains("virtual-try-on-001.vertex-ai.shutdown"),
        "{stderr}"
    );
    // A good override passes the configuration: the function gets as far as the runtime API.
    let (code, stderr) =
        start_function(&[("MODEL_CATALOG_JSON", r#"{"virtual-try-on-001": {"shutdown": "2027-02-28"}}"#)]);
    assert_ne!(code, Some(0), "nothing serves the runtime API here, so it never succeeds");
    assert!(!stderr.contains("MODEL_CATALOG_JSON"), "{stderr}");
}
