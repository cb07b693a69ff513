//! Completion events. In memory (fast tier): published once, after the final status and the
//! outputs it names; a refused publication fails the invocation transiently and the retry
//! publishes without calling the model; duplicates do nothing; failed jobs, variants and
//! outfits. Against moto (EventBridge → rule → SQS, the real SDK adapters and the emulator):
//! a burst with duplicate deliveries yields one event per job after dropping repeats by
//! `eventId`, each naming outputs that exist.

use crate::fakes;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fakes::events::EventRecorder;
use fakes::{Kill, MemoryStore, ScriptedModel};
use serde_json::{json, Value};
use tryon::adapters::model::ModelFailureKind;
use tryon::config::Config;
use tryon::core::completion_event::event_id;
use tryon::core::error::ErrorCode;
use tryon::entry::trigger::ObjectCreated;
use tryon::entry::{self, Invocation};
use tryon::pipeline::{Outcome, Service};

const JOB: &str = "uploads/j/job.json";
const STATUS: &str = "outputs/j/status.json";

type Svc = Service<MemoryStore, ScriptedModel, EventRecorder>;

fn service_with(manifest: Value, config: Config) -> Arc<Svc> {
    let storage = MemoryStore::with_kill(Arc::new(Kill::default()));
    storage.insert(
        "uploads/j/person.jpg",
        tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(420, 560), 1).unwrap(),
    );
    for (name, size) in [("top.png", 400), ("jeans.png", 300)] {
        storage
            .insert(&format!("uploads/j/{name}"), tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(size)));
    }
    storage.insert(JOB, serde_json::to_vec(&manifest).unwrap());
    let model = ScriptedModel::new(storage.kill.clone());
    let events = EventRecorder::new(storage.clone());
    Arc::new(Service { storage, model, events, config })
}

fn service(manifest: Value) -> Arc<Svc> {
    service_with(manifest, Config { emit_metrics: false, ..tryon_tools::wiring::nova_config() })
}

fn one_call() -> Value {
    json!({"source": "person.jpg", "garment": "top.png"})
}

async fn deliver(svc: &Svc, request: &str) -> Result<Outcome, tryon::core::error::JobError> {
    let obj = ObjectCreated { bucket: "b".into(), key: JOB.into(), etag: None, version_id: None, raw_key: None };
    svc.run_job(&obj, request, Instant::now() + Duration::from_secs(300)).await
}

/// The manifest version's ETag, as the store reports it.
fn manifest_etag(svc: &Svc) -> String {
    svc.storage.json(STATUS)["manifest"]["etag"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_finished_job_publishes_one_event_after_its_status_and_outputs() {
    let svc = service(one_call());
    assert!(matches!(deliver(&svc, "r1").await.unwrap(), Outcome::Succeeded { images: 1, .. }));
    let events = svc.events.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(svc.events.violations(), Vec::<String>::new());
    let e = &events[0];
    let id = event_id("b", "j", &manifest_etag(&svc));
    assert_eq!(e["eventId"], id);
    assert_eq!((e["jobId"].as_str(), e["state"].as_str()), (Some("j"), Some("succeeded")));
    assert_eq!(e["outputs"]["images"], json!(["outputs/j/result.png"]));
    assert_eq!(e["outputs"]["status"], STATUS);
    assert_eq!(e["outputs"]["sheet"], "outputs/j/sheet.jpg");
    assert_eq!(e["manifest"]["key"], JOB);
    assert!(e["costUsd"].as_f64().is_some() && e["estimatedCostUsd"].as_f64().is_some(), "{e}");
    assert!(e["timingsMs"]["total"].as_u64().is_some(), "{e}");
    assert_eq!(svc.storage.json(STATUS)["completionEvent"], json!({"eventId": id, "published": true}));

    for request in ["r2", "r1", "r3"] {
        assert!(matches!(deliver(&svc, request).await.unwrap(), Outcome::Duplicate { .. }));
    }
    assert_eq!(svc.events.events().len(), 1, "duplicates of a published job publish nothing");
    assert_eq!(svc.events.tries.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(svc.model.calls(), 1);
}

#[tokio::test]
async fn a_refused_event_fails_the_invocation_and_the_retry_publishes_without_the_model() {
    let svc = service(one_call());
    svc.events.refuse_next(2);
    let e = deliver(&svc, "r1").await.expect_err("the invocation fails so Lambda retries");
    assert_eq!(e.code, ErrorCode::EventNotPublished);
    assert!(e.retryable());
    assert!(e.message.contains("outputs and status.json are stored"), "{}", e.message);
    let s = svc.storage.json(STATUS);
    assert_eq!(s["state"], "succeeded", "the outcome stays recorded");
    assert!(s["error"].is_null(), "{s}");
    assert_eq!(s["completionEvent"]["published"], false);
    assert!(svc.storage.object("outputs/j/result.png").is_some());
    let before = svc.storage.json(STATUS);

    let again = deliver(&svc, "r1").await.expect_err("the bus is still down");
    assert_eq!(again.code, ErrorCode::EventNotPublished);
    let mut unchanged = svc.storage.json(STATUS);
    unchanged["updatedAt"] = before["updatedAt"].clone();
    assert_eq!(unchanged, before, "a refused retry changes nothing");

    assert!(matches!(deliver(&svc, "r2").await.unwrap(), Outcome::Duplicate { .. }));
    assert_eq!(svc.model.calls(), 1, "publishing needed no model call");
    assert_eq!(svc.events.events().len(), 1);
    assert_eq!(svc.events.violations(), Vec::<String>::new());
    let s = svc.storage.json(STATUS);
    assert_eq!(s["completionEvent"]["published"], true);
    assert_eq!((s["state"].clone(), s["outputs"].clone()), (before["state"].clone(), before["outputs"].clone()));
    assert!(matches!(deliver(&svc, "r3").await.unwrap(), Outcome::Duplicate { .. }));
    assert_eq!(svc.events.events().len(), 1);
}

#[tokio::test]
async fn a_permanent_failure_publishes_failed_with_its_code_and_class() {
    let svc = service(json!({"source": "person.jpg", "garment": "missing.png"}));
    assert!(matches!(deliver(&svc, "r").await.unwrap(), Outcome::Failed { code: ErrorCode::MissingObject, .. }));
    let events = svc.events.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["state"], "failed");
    assert_eq!(events[0]["error"]["code"], "missing_object");
    assert_eq!(events[0]["error"]["class"], "permanent");
    assert!(events[0]["error"]["message"].as_str().unwrap().contains("missing.png"));
    assert_eq!(events[0]["outputs"]["images"], json!([]));
    assert_eq!(svc.model.calls(), 0);
}

#[tokio::test]
async fn a_transient_failure_waits_and_only_the_final_outcome_is_announced() {
    let svc = service(one_call());
    svc.model.fail_once("", ModelFailureKind::Throttled);
    assert_eq!(deliver(&svc, "r").await.unwrap_err().code, ErrorCode::Throttled);
    assert!(svc.events.events().is_empty(), "processing is not an end");
    assert!(svc.storage.json(STATUS).get("completionEvent").is_none());
    assert!(matches!(deliver(&svc, "r").await.unwrap(), Outcome::Succeeded { .. }));
    assert_eq!(svc.events.events().len(), 1);

    // Throttles are never final (they are unbilled and wait for the quota): the last attempt
    // stays processing and announces nothing.
    let throttled =
        service_with(one_call(), Config { emit_metrics: false, max_attempts: 1, ..tryon_tools::wiring::nova_config() });
    throttled.model.fail_once("", ModelFailureKind::Throttled);
    assert_eq!(deliver(&throttled, "r").await.unwrap_err().code, ErrorCode::Throttled);
    assert!(throttled.events.events().is_empty(), "a throttled last attempt is not an end");
    assert_eq!(throttled.storage.json(STATUS)["state"], "processing");

    let last =
        service_with(one_call(), Config { emit_metrics: false, max_attempts: 1, ..tryon_tools::wiring::nova_config() });
    last.model.fail_once("", ModelFailureKind::Timeout);
    assert_eq!(deliver(&last, "r").await.unwrap_err().code, ErrorCode::ModelTimeout);
    let events = last.events.events();
    assert_eq!(events.len(), 1, "the last attempt records failed and announces it");
    assert_eq!(
        (events[0]["state"].as_str(), events[0]["error"]["class"].as_str()),
        (Some("failed"), Some("transient"))
    );
    assert_eq!(events[0]["error"]["code"], "model_timeout");
}

#[tokio::test]
async fn variants_and_outfits_publish_one_event_per_job() {
    let svc = service(json!({
        "source": "person.jpg", "garment": "top.png",
        "variants": [
            {"name": "balanced", "virtualTryOnParams": {"mergeStyle": "BALANCED"}},
            {"name": "seamless", "virtualTryOnParams": {"mergeStyle": "SEAMLESS"}}
        ]
    }));
    svc.model.fail_once("SEAMLESS", ModelFailureKind::Throttled);
    assert!(deliver(&svc, "r").await.is_err());
    assert!(svc.events.events().is_empty());
    assert!(matches!(deliver(&svc, "r").await.unwrap(), Outcome::Succeeded { images: 2, .. }));
    let events = svc.events.events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["outputs"]["images"],
        json!(["outputs/j/balanced/result.png", "outputs/j/seamless/result.png"])
    );

    let outfit = service(json!({
        "source": "person.jpg",
        "garments": [
            {"image": "top.png", "garmentClass": "UPPER_BODY"},
            {"image": "jeans.png", "garmentClass": "LOWER_BODY"}
        ]
    }));
    assert!(matches!(deliver(&outfit, "r").await.unwrap(), Outcome::Succeeded { .. }));
    let events = outfit.events.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["outputs"]["images"], json!(["outputs/j/result.png"]));
    for svc in [&svc, &outfit] {
        assert_eq!(svc.events.violations(), Vec::<String>::new());
    }
}

#[tokio::test]
async fn a_new_manifest_version_is_a_new_event() {
    let svc = service(one_call());
    deliver(&svc, "r").await.unwrap();
    svc.storage.insert(JOB, svc.storage.object(JOB).unwrap());
    deliver(&svc, "r").await.unwrap();
    let ids: Vec<Value> = svc.events.events().iter().map(|e| e["eventId"].clone()).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn with_events_off_nothing_about_them_is_recorded() {
    let storage = MemoryStore::with_kill(Arc::new(Kill::default()));
    storage.insert(
        "uploads/j/person.jpg",
        tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(420, 560), 1).unwrap(),
    );
    storage.insert("uploads/j/top.png", tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(400)));
    storage.insert(JOB, serde_json::to_vec(&one_call()).unwrap());
    let model = ScriptedModel::new(storage.kill.clone());
    let config = Config { emit_metrics: false, ..tryon_tools::wiring::nova_config() };
    let off = Service { storage, model, events: tryon::adapters::events::NoEvents, config };
    let obj = ObjectCreated { bucket: "b".into(), key: JOB.into(), etag: None, version_id: None, raw_key: None };
    assert!(matches!(
        off.run_job(&obj, "r", Instant::now() + Duration::from_secs(60)).await.unwrap(),
        Outcome::Succeeded { .. }
    ));
    assert!(off.storage.json(STATUS).get("completionEvent").is_none());
}

fn invocation(request: &str) -> Invocation {
    let deadline_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 + 300_000;
    Invocation::new(request, deadline_ms, Duration::from_secs(300))
}

#[tokio::test]
async fn a_batch_operations_task_retried_for_its_event_answers_from_the_status() {
    let svc = service(one_call());
    svc.events.refuse_next(1);
    let task = tryon_tools::sample_events::sample_batch_event("2.0", "b", JOB, None, "t1");
    let first = entry::handle(&*svc, task.clone(), &invocation("b1")).await.unwrap().response();
    assert_eq!(first["results"][0]["resultCode"], "TemporaryFailure", "{first}");
    assert!(first["results"][0]["resultString"].as_str().unwrap().starts_with("event_not_published"), "{first}");
    let retry = entry::handle(&*svc, task, &invocation("b2")).await.unwrap().response();
    assert_eq!(retry["results"][0]["resultCode"], "Succeeded", "{retry}");
    assert_eq!(retry["results"][0]["resultString"], "succeeded");
    assert_eq!((svc.model.calls(), svc.events.events().len()), (1, 1));
}

// --- Against moto: EventBridge → rule → SQS, the real adapters, the emulator. ---

#[tokio::test]
async fn the_documented_detail_is_what_the_function_sends() {
    let contract = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/contract.md")).unwrap();
    let section = contract.split("### Completion events").nth(1).expect("the events section");
    let example = section.split("```json").nth(1).and_then(|b| b.split("```").next()).expect("a json example");
    // The documented job is `hoodie` in `my-bucket`; this one is `j` in `b`.
    let example = example.replace("my-bucket", "b").replace("hoodie", "j");
    let mut documented: Value = serde_json::from_str(&example).expect("the example is JSON");
    let svc = service(one_call());
    deliver(&svc, "r").await.unwrap();
    let mut sent = svc.events.events().pop().unwrap();
    let status = svc.storage.json(STATUS);
    // What differs between runs is checked for what it must be, then set aside.
    let etag = status["manifest"]["etag"].as_str().unwrap().to_owned();
    assert_eq!(sent["eventId"], event_id("b", "j", &etag), "the id names the manifest version");
    assert_eq!(sent["manifest"]["etag"], etag.as_str());
    let d = &status["diagnostics"];
    assert_eq!((&sent["costUsd"], &sent["estimatedCostUsd"]), (&d["costUsd"], &d["estimatedCostUsd"]));
    assert_eq!(sent["timingsMs"], d["timingsMs"]);
    assert!(sent["costUsd"].as_f64().is_some_and(|c| c > 0.0), "{sent}");
    assert_eq!(sent["finishedAt"], status["updatedAt"], "when the final status was written");
    assert!(sent["finishedAt"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 24), "{sent}");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<std::collections::BTreeSet<_>>();
    assert_eq!(keys(&documented["timingsMs"]), keys(&sent["timingsMs"]), "the same timings, by name");
    assert!(sent["timingsMs"].as_object().unwrap().values().all(|ms| ms.as_u64().is_some()), "{sent}");
    for field in ["eventId", "costUsd", "estimatedCostUsd", "finishedAt", "timingsMs"] {
        documented[field] = Value::Null;
        sent[field] = Value::Null;
    }
    documented["manifest"]["etag"] = Value::Null;
    sent["manifest"]["etag"] = Value::Null;
    // Everything else is exactly as documented: names, values, nesting.
    assert_eq!(documented, sent);
}
