//! Backend chains and the model catalog, in memory (fast tier): a retired backend is skipped
//! with no call, one answering that its model is gone hands the job to the next, content and
//! transient failures stay where they are, a crash between two backends resumes at the
//! second, and models near their shutdown warn inside the window only. Single jobs, variants
//! and outfit steps follow the same rules.

use crate::fakes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fakes::{Kill, MemoryStore, ScriptedModel};
use serde_json::{json, Value};
use tryon::adapters::model::ModelFailureKind;
use tryon::config::Config;
use tryon::core::backend::{Backend, Backends};
use tryon::core::catalog::{Catalog, Date};
use tryon::core::status::stage;
use tryon::entry::trigger::ObjectCreated;
use tryon::pipeline::{Outcome, Service};

const JOB: &str = "uploads/c/job.json";
const STATUS: &str = "outputs/c/status.json";
/// What only a Vertex AI Virtual Try-On request body holds.
const VTO_BODY: &str = "\"instances\"";

type Svc = Service<MemoryStore, ScriptedModel>;

/// `days` from today, as the catalog writes days.
fn day(days: i64) -> String {
    Date::today().plus_days(days).to_string()
}

/// A deployment whose default chain is vertex-vto then gemini-image, with `catalog` merged
/// over the compiled catalog.
fn service(manifest: Value, catalog: Value) -> (Svc, Arc<Kill>) {
    let kill = Arc::new(Kill::default());
    let storage = MemoryStore::with_kill(kill.clone());
    let person = tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(420, 560), 6).unwrap();
    storage.insert("uploads/c/person.jpg", person);
    for g in ["top.png", "jeans.png"] {
        storage.insert(&format!("uploads/c/{g}"), tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(300)));
    }
    storage.insert(JOB, serde_json::to_vec(&manifest).unwrap());
    let catalog = Catalog::with_overrides(Some(&catalog.to_string())).unwrap();
    let backends = Backends { chain: vec![Backend::VertexVto, Backend::GeminiImage], enabled: Backend::ALL.to_vec() };
    let config = Config {
        emit_metrics: false,
        lease_margin: Duration::ZERO,
        backends,
        catalog,
        ..tryon_tools::wiring::nova_config()
    };
    let model = ScriptedModel::new(kill.clone());
    (Service { storage, model, events: tryon::adapters::events::NoEvents, config }, kill)
}

fn plain() -> Value {
    json!({"source": "person.jpg", "garment": "top.png", "imageGenerationConfig": {"seed": 7}})
}

fn event() -> ObjectCreated {
    ObjectCreated { bucket: "b".into(), key: JOB.into(), etag: None, version_id: None, raw_key: None }
}

async fn deliver(svc: &Svc) -> Result<Outcome, tryon::core::error::JobError> {
    svc.run_job(&event(), "r", Instant::now() + Duration::from_secs(300)).await
}

fn calls_to(svc: &Svc, b: Backend) -> usize {
    svc.model.sent.lock().unwrap().iter().filter(|(to, _)| *to == b).count()
}

/// `(backend, outcome, code)` of each recorded attempt.
fn walk(attempts: &Value) -> Vec<(String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    attempts.as_array().unwrap().iter().map(|a| (s(&a["backend"]), s(&a["outcome"]), s(&a["code"]))).collect()
}

fn step(b: &str, outcome: &str, code: &str) -> (String, String, String) {
    (b.into(), outcome.into(), code.into())
}

#[tokio::test]
async fn a_retired_first_backend_is_skipped_with_no_call() {
    let (svc, _) = service(plain(), json!({"virtual-try-on-001": {"shutdown": day(-1)}}));
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Succeeded { .. })));
    assert_eq!((calls_to(&svc, Backend::VertexVto), calls_to(&svc, Backend::GeminiImage)), (0, 1));
    let st = svc.storage.json(STATUS);
    let d = &st["diagnostics"];
    assert_eq!(walk(&d["backendAttempts"]), [step("vertex-vto", "skipped", ""), step("gemini-image", "succeeded", "")]);
    assert!(d["backendAttempts"][0]["message"].as_str().unwrap().contains("shut down on"), "{d}");
    assert_eq!((d["backend"].as_str(), d["modelId"].as_str()), (Some("gemini-image"), Some("gemini-3.1-flash-image")));
}

#[tokio::test]
async fn an_end_of_life_answer_falls_back_and_both_attempts_are_recorded() {
    let (svc, _) = service(plain(), json!({}));
    svc.model.fail_once(VTO_BODY, ModelFailureKind::NotFound);
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Succeeded { .. })));
    assert_eq!((calls_to(&svc, Backend::VertexVto), calls_to(&svc, Backend::GeminiImage)), (1, 1));
    let st = svc.storage.json(STATUS);
    let d = &st["diagnostics"];
    let want = [step("vertex-vto", "moved-on", "model_unavailable"), step("gemini-image", "succeeded", "")];
    assert_eq!(walk(&d["backendAttempts"]), want);
    assert_eq!(d["modelCalls"], 2, "the gone model's call is counted (unbilled) with the one that served");
    assert!(d["backendAttempts"][1]["costUsd"].as_f64().unwrap() > 0.0);
    assert_eq!(st["state"], "succeeded");
}

#[tokio::test]
async fn content_and_transient_failures_do_not_fall_back() {
    let (svc, _) = service(plain(), json!({}));
    svc.model.fail_once(VTO_BODY, ModelFailureKind::Validation);
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Failed { .. })));
    assert_eq!((calls_to(&svc, Backend::VertexVto), calls_to(&svc, Backend::GeminiImage)), (1, 0));
    let st = svc.storage.json(STATUS);
    assert_eq!(st["error"]["code"], "model_rejected");

    let (svc, _) = service(plain(), json!({}));
    svc.model.fail_once(VTO_BODY, ModelFailureKind::Throttled);
    assert!(deliver(&svc).await.is_err(), "transient: Lambda retries the invocation");
    assert_eq!((calls_to(&svc, Backend::VertexVto), calls_to(&svc, Backend::GeminiImage)), (1, 0));
    // The retry calls the same backend again, and it serves.
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Succeeded { .. })));
    assert_eq!((calls_to(&svc, Backend::VertexVto), calls_to(&svc, Backend::GeminiImage)), (2, 0));
}

#[tokio::test]
async fn a_chain_with_nothing_left_fails_before_any_call_naming_each_backend() {
    let gone = json!({"virtual-try-on-001": {"stage": "retired"}, "gemini-3.1-flash-image": {"shutdown": day(0)}});
    let (svc, _) = service(plain(), gone);
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Failed { .. })));
    assert_eq!(svc.model.calls(), 0);
    let st = svc.storage.json(STATUS);
    assert_eq!(st["error"]["code"], "model_unavailable");
    let message = st["error"]["message"].as_str().unwrap();
    assert!(message.contains("vertex-vto (virtual-try-on-001)") && message.contains("gemini-image"), "{message}");

    // Known only from the answers: every backend says its model is gone.
    let (svc, _) = service(plain(), json!({}));
    svc.model.fail_once(VTO_BODY, ModelFailureKind::NotFound);
    svc.model.fail_once("contents", ModelFailureKind::AccessDenied);
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Failed { .. })));
    let st = svc.storage.json(STATUS);
    assert_eq!(st["error"]["code"], "model_unavailable");
    let message = st["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("no backend of the chain can serve this job: vertex-vto"), "{message}");
}

#[tokio::test]
async fn a_crash_between_two_backends_resumes_at_the_second() {
    let (svc, kill) = service(plain(), json!({}));
    svc.model.fail_once(VTO_BODY, ModelFailureKind::NotFound);
    kill.at(stage::NEXT_BACKEND);
    tokio::select! {
        r = deliver(&svc) => panic!("the delivery should have died between the backends: {r:?}"),
        _ = kill.died() => {}
    }
    kill.revive();
    let st = svc.storage.json(STATUS);
    assert_eq!(st["stage"], stage::NEXT_BACKEND);
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Succeeded { .. })));
    assert_eq!((calls_to(&svc, Backend::VertexVto), calls_to(&svc, Backend::GeminiImage)), (1, 1), "no repeat");
    let st = svc.storage.json(STATUS);
    let want = [step("vertex-vto", "moved-on", "model_unavailable"), step("gemini-image", "succeeded", "")];
    assert_eq!(walk(&st["diagnostics"]["backendAttempts"]), want);
}

#[tokio::test]
async fn a_model_near_its_shutdown_warns_inside_the_window_only() {
    let near = json!({"virtual-try-on-001": {"stage": "ga", "shutdown": day(10)}});
    let (svc, _) = service(plain(), near);
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Succeeded { .. })));
    let st = svc.storage.json(STATUS);
    let w = &st["warnings"][0];
    assert_eq!(w["code"], "model_retiring");
    let message = w["message"].as_str().unwrap();
    assert!(message.contains(&day(10)) && message.contains("gemini-3.1-flash-image"), "{message}");
    assert_eq!(st["diagnostics"]["daysToShutdown"]["vertex-vto"], 10);

    let far = json!({"virtual-try-on-001": {"stage": "ga", "shutdown": day(100)}});
    let (svc, _) = service(plain(), far);
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Succeeded { .. })));
    let st = svc.storage.json(STATUS);
    assert_eq!(st["warnings"], json!([]), "{st}");
    assert!(st["diagnostics"].get("daysToShutdown").is_none());
}

#[tokio::test]
async fn variants_and_outfit_steps_walk_their_own_chains() {
    let variants = json!({"source": "person.jpg", "garment": "top.png", "backend": "gemini-image", "variants": [
        {"name": "vto-first", "backend": ["vertex-vto", "gemini-image"]},
        {"name": "gemini"},
    ]});
    let (svc, _) = service(variants, json!({}));
    svc.model.fail_once(VTO_BODY, ModelFailureKind::NotFound);
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Succeeded { .. })));
    let st = svc.storage.json(STATUS);
    let first = st["items"].as_array().unwrap().iter().find(|i| i["name"] == "vto-first").unwrap();
    let want = [step("vertex-vto", "moved-on", "model_unavailable"), step("gemini-image", "succeeded", "")];
    assert_eq!(walk(&first["backendAttempts"]), want);
    assert_eq!(first["backend"], "gemini-image");
    assert_eq!((calls_to(&svc, Backend::VertexVto), calls_to(&svc, Backend::GeminiImage)), (1, 2));

    let outfit = json!({"source": "person.jpg", "garments": [{"image": "top.png"}, {"image": "jeans.png"}]});
    let (svc, _) = service(outfit, json!({"virtual-try-on-001": {"shutdown": day(-3)}}));
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Succeeded { .. })));
    assert_eq!((calls_to(&svc, Backend::VertexVto), calls_to(&svc, Backend::GeminiImage)), (0, 2));
    let st = svc.storage.json(STATUS);
    for item in st["items"].as_array().unwrap() {
        assert_eq!(
            walk(&item["backendAttempts"]),
            [step("vertex-vto", "skipped", ""), step("gemini-image", "succeeded", "")]
        );
    }
}
