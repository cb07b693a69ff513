//! The job rules in memory (fast tier): claims and duplicates, variants and outfits, partial
//! and transient failures and what a retry calls. A store with S3's conditional-write
//! semantics and a scripted model: milliseconds per test, no moto, no HTTP.

use crate::fakes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fakes::{Kill, LockingStore, MemoryStore, ScriptedModel};
use serde_json::{json, Value};
use tryon::adapters::model::ModelFailureKind;
use tryon::config::Config;
use tryon::core::error::ErrorCode;
use tryon::entry::trigger::ObjectCreated;
use tryon::pipeline::{Outcome, Service};

const JOB: &str = "uploads/j/job.json";
const STATUS: &str = "outputs/j/status.json";

type Svc = Service<MemoryStore, ScriptedModel>;

fn service(manifest: Value) -> Arc<Svc> {
    let storage = job_store(manifest);
    let model = ScriptedModel::new(storage.kill.clone());
    let config = Config { emit_metrics: false, ..tryon_tools::wiring::nova_config() };
    Arc::new(Service { storage, model, events: tryon::adapters::events::NoEvents, config })
}

/// A bucket holding the job's manifest, person and garments.
fn job_store(manifest: Value) -> MemoryStore {
    let storage = MemoryStore::with_kill(Arc::new(Kill::default()));
    storage.insert(
        "uploads/j/person.jpg",
        tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(420, 560), 1).unwrap(),
    );
    for (name, size) in [("top.png", 400), ("jeans.png", 300), ("boots.png", 200)] {
        storage
            .insert(&format!("uploads/j/{name}"), tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(size)));
    }
    storage.insert(JOB, serde_json::to_vec(&manifest).unwrap());
    storage
}

async fn deliver<S: tryon::adapters::storage::Storage>(
    svc: &Service<S, ScriptedModel>,
    request: &str,
) -> Result<Outcome, tryon::core::error::JobError> {
    let obj = ObjectCreated { bucket: "b".into(), key: JOB.into(), etag: None, version_id: None, raw_key: None };
    svc.run_job(&obj, request, Instant::now() + Duration::from_secs(300)).await
}

fn variants() -> Value {
    json!({
        "source": "person.jpg", "garment": "top.png",
        "variants": [
            {"name": "balanced", "virtualTryOnParams": {"mergeStyle": "BALANCED"}},
            {"name": "detailed", "virtualTryOnParams": {"mergeStyle": "DETAILED"}},
            {"name": "seamless", "virtualTryOnParams": {"mergeStyle": "SEAMLESS"}}
        ]
    })
}

#[tokio::test]
async fn concurrent_and_repeated_deliveries_pay_once() {
    let svc = service(json!({"source": "person.jpg", "garment": "top.png"}));
    let runs = (0..8).map(|i| {
        let svc = svc.clone();
        tokio::spawn(async move { deliver(&svc, &format!("req-{i}")).await })
    });
    let outcomes: Vec<Outcome> = futures_join(runs).await;
    let succeeded = outcomes.iter().filter(|o| matches!(o, Outcome::Succeeded { .. })).count();
    let duplicates = outcomes.iter().filter(|o| matches!(o, Outcome::Duplicate { .. })).count();
    assert_eq!((succeeded, duplicates), (1, 7), "{outcomes:?}");
    assert!(matches!(deliver(&svc, "req-late").await.unwrap(), Outcome::Duplicate { .. }));
    assert_eq!(svc.model.calls(), 1);
    // A new upload of job.json is a new version: it runs again, answered by the result
    // cache (the same request, with Nova Canvas' fixed default seed).
    svc.storage.insert(JOB, svc.storage.object(JOB).unwrap());
    assert!(matches!(deliver(&svc, "req-new").await.unwrap(), Outcome::Succeeded { .. }));
    assert_eq!(svc.model.calls(), 1);
    assert_eq!(svc.storage.json(STATUS)["diagnostics"]["cache"], "hit");
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<T, tryon::core::error::JobError>>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task").expect("no transient failure"));
    }
    out
}

#[tokio::test]
async fn a_variant_refused_by_the_model_leaves_the_others_and_a_warning() {
    let svc = service(variants());
    svc.model.fail_once("DETAILED", ModelFailureKind::Validation);
    assert!(matches!(deliver(&svc, "r").await.unwrap(), Outcome::Succeeded { images: 2, .. }));
    let s = svc.storage.json(STATUS);
    let states: Vec<&str> = s["items"].as_array().unwrap().iter().map(|i| i["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["succeeded", "failed", "succeeded"]);
    assert_eq!(s["items"][1]["error"]["code"], "model_rejected");
    assert_eq!(s["warnings"][0]["code"], "partial_failure");
    assert_eq!(s["outputs"]["images"], json!(["outputs/j/balanced/result.png", "outputs/j/seamless/result.png"]));
    assert_eq!(svc.model.calls(), 3);
}

#[tokio::test]
async fn a_transient_variant_failure_is_retried_alone() {
    let svc = service(variants());
    svc.model.fail_once("SEAMLESS", ModelFailureKind::Throttled);
    let e = deliver(&svc, "r").await.expect_err("the invocation fails so Lambda retries");
    assert_eq!(e.code, ErrorCode::Throttled);
    assert!(e.message.contains("variants seamless failed transiently"), "{}", e.message);
    assert_eq!(svc.model.calls(), 3);
    assert!(matches!(deliver(&svc, "r").await.unwrap(), Outcome::Succeeded { images: 3, .. }));
    assert_eq!(svc.model.calls(), 4, "only the throttled variant was called again");
}

#[tokio::test]
async fn an_outfit_resumes_at_the_step_that_failed() {
    let svc = service(json!({
        "source": "person.jpg",
        "garments": [
            {"image": "top.png", "garmentClass": "UPPER_BODY"},
            {"image": "jeans.png", "garmentClass": "LOWER_BODY"},
            {"image": "boots.png", "garmentClass": "FOOTWEAR"}
        ]
    }));
    svc.model.fail_once("LOWER_BODY", ModelFailureKind::ModelError);
    let e = deliver(&svc, "r").await.expect_err("transient");
    assert!(e.message.starts_with("step 2 (jeans.png) failed"), "{}", e.message);
    assert_eq!(svc.model.calls(), 2, "steps 1 and 2 were called; step 3 waits");
    assert!(matches!(deliver(&svc, "r").await.unwrap(), Outcome::Succeeded { images: 1, .. }));
    assert_eq!(svc.model.calls(), 4, "the retry called steps 2 and 3 only");
    let s = svc.storage.json(STATUS);
    assert_eq!(s["outputs"]["images"], json!(["outputs/j/result.png"]));
    assert!(svc.storage.object("outputs/j/steps/3/result.png").is_some());
    assert_eq!(svc.storage.object("outputs/j/result.png"), svc.storage.object("outputs/j/steps/3/result.png"));
}

#[tokio::test]
async fn a_permanent_failure_is_recorded_once_and_never_retried() {
    let svc = service(json!({"source": "person.jpg", "garment": "top.png"}));
    svc.model.fail_once("VIRTUAL_TRY_ON", ModelFailureKind::AccessDenied);
    let outcome = deliver(&svc, "r").await.unwrap();
    assert!(matches!(outcome, Outcome::Failed { code: ErrorCode::ModelUnavailable, .. }), "{outcome:?}");
    let s = svc.storage.json(STATUS);
    assert_eq!((s["state"].as_str(), s["error"]["retryable"].as_bool()), (Some("failed"), Some(false)));
    assert!(s.get("items").is_none(), "a one-call job's final status has no items: {s}");
    assert!(matches!(deliver(&svc, "r2").await.unwrap(), Outcome::Duplicate { .. }));
    assert_eq!(svc.model.calls(), 1);
}

#[tokio::test]
async fn a_manifest_gone_before_the_job_ran_with_no_etag_in_the_event_is_not_claimed_under_an_empty_version() {
    let svc = service(json!({"source": "person.jpg", "garment": "top.png"}));
    svc.storage.remove(JOB);
    let outcome = deliver(&svc, "r").await.unwrap();
    assert!(matches!(&outcome, Outcome::Skipped { reason } if reason.contains("no ETag")), "{outcome:?}");
    assert!(svc.storage.object(STATUS).is_none(), "nothing was claimed");
    // With the event's ETag the version is known: the failure is recorded.
    let obj = ObjectCreated {
        bucket: "b".into(),
        key: JOB.into(),
        etag: Some("\"e1\"".into()),
        version_id: None,
        raw_key: None,
    };
    let outcome = svc.run_job(&obj, "r", Instant::now() + Duration::from_secs(300)).await.unwrap();
    assert!(matches!(outcome, Outcome::Failed { code: ErrorCode::MissingObject, .. }), "{outcome:?}");
    assert_eq!(svc.storage.json(STATUS)["manifest"]["etag"], "\"e1\"");
}

/// Calls that end while a finished one is being checkpointed keep going: a variant holding
/// the store's lock mid-write (as the local folder store does) used to be parked while the
/// checkpoint waited for that lock, and the job hung for good.
#[tokio::test]
async fn variants_finishing_during_a_checkpoint_do_not_hang_the_job() {
    // The first variant's write holds the lock for 100 ms; the others' replies arrive
    // during it, so they queue for the lock and one of them holds it when the first
    // variant's checkpoint asks for it.
    let storage = LockingStore::new(job_store(variants()), Duration::from_millis(100));
    let model = ScriptedModel::new(storage.inner.kill.clone());
    model.delay("BALANCED", 0);
    model.delay("DETAILED", 30);
    model.delay("SEAMLESS", 60);
    let config = Config { emit_metrics: false, variant_concurrency: 3, ..tryon_tools::wiring::nova_config() };
    let svc = Service { storage, model, events: tryon::adapters::events::NoEvents, config };
    let run = tokio::time::timeout(Duration::from_secs(20), deliver(&svc, "r")).await;
    let outcome = run.expect("the job ends instead of hanging").unwrap();
    assert!(matches!(outcome, Outcome::Succeeded { images: 3, .. }), "{outcome:?}");
    assert_eq!(svc.model.calls(), 3);
}

#[tokio::test]
async fn throttled_attempts_leave_the_retry_budget_to_other_failures() {
    let svc = service(json!({"source": "person.jpg", "garment": "top.png"}));
    for _ in 0..3 {
        svc.model.fail_once("", ModelFailureKind::Throttled);
    }
    svc.model.fail_once("", ModelFailureKind::ModelError);
    for i in 0..3 {
        assert_eq!(deliver(&svc, &format!("r{i}")).await.unwrap_err().code, ErrorCode::Throttled);
    }
    // Attempt 4 of MAX_ATTEMPTS 3, but only the first that counts: a model error is retried.
    assert_eq!(deliver(&svc, "r3").await.unwrap_err().code, ErrorCode::ModelError);
    let s = svc.storage.json(STATUS);
    assert_eq!(
        (s["state"].as_str(), s["attempts"].as_u64(), s["throttledAttempts"].as_u64()),
        (Some("processing"), Some(4), Some(3))
    );
    assert!(matches!(deliver(&svc, "r4").await.unwrap(), Outcome::Succeeded { .. }));
    assert_eq!(svc.model.calls(), 5, "four unanswered calls (three unbilled throttles, one model error), one result");
}
