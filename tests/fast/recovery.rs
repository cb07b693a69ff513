//! A retry never pays twice: a call's outputs are checkpointed as soon as they are written.
//! A job whose attempt dies (out of memory, Lambda's timeout, a crash) must not die the
//! same way forever, and must never pay the model twice. Each test kills the job right after
//! it enters a stage (every further call of the dead attempt hangs and the job is dropped,
//! which leaves the bucket exactly as a killed process does), then delivers the event again
//! as Lambda or SQS would. In memory: milliseconds per test, no moto.

use crate::fakes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fakes::{Kill, MemoryStore, ScriptedModel};
use serde_json::{json, Value};
use tryon::config::Config;
use tryon::core::status::stage;
use tryon::entry::trigger::ObjectCreated;
use tryon::pipeline::{Outcome, Service};

const JOB: &str = "uploads/j1/job.json";
const STATUS: &str = "outputs/j1/status.json";

fn service(manifest: Value) -> (Service<MemoryStore, ScriptedModel>, Arc<Kill>) {
    let kill = Arc::new(Kill::default());
    let storage = MemoryStore::with_kill(kill.clone());
    let person = tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(420, 560), 6).unwrap();
    storage.insert("uploads/j1/person.jpg", person);
    storage.insert("uploads/j1/garment.png", tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(400)));
    storage.insert("uploads/j1/top.png", tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(300)));
    storage.insert(JOB, serde_json::to_vec(&manifest).unwrap());
    let config = Config { emit_metrics: false, lease_margin: Duration::ZERO, ..tryon_tools::wiring::nova_config() };
    (
        Service { storage, model: ScriptedModel::new(kill.clone()), events: tryon::adapters::events::NoEvents, config },
        kill,
    )
}

fn plain() -> Value {
    json!({"source": "person.jpg", "garment": "garment.png"})
}

fn event() -> ObjectCreated {
    ObjectCreated { bucket: "b".into(), key: JOB.into(), etag: None, version_id: None, raw_key: None }
}

/// Runs a delivery that dies right after `status.json` reaches `at`.
async fn die_at(svc: &Service<MemoryStore, ScriptedModel>, kill: &Kill, at: &str, request: &str, deadline: Instant) {
    kill.at(at);
    let obj = event();
    tokio::select! {
        r = svc.run_job(&obj, request, deadline) => panic!("the delivery should have died at {at:?}, it ended: {r:?}"),
        _ = kill.died() => {}
    }
    kill.revive();
    assert_eq!(svc.storage.json(STATUS)["stage"], at, "the dead attempt left its stage behind");
}

async fn deliver(svc: &Service<MemoryStore, ScriptedModel>, request: &str) -> Outcome {
    svc.run_job(&event(), request, Instant::now() + Duration::from_secs(300)).await.expect("no transient failure")
}

fn long() -> Instant {
    Instant::now() + Duration::from_secs(300)
}

#[tokio::test]
async fn one_death_while_preparing_is_retried_and_the_job_succeeds() {
    let (svc, kill) = service(plain());
    die_at(&svc, &kill, stage::PREPARING, "req-1", long()).await;
    // Lambda retries a died invocation with the same request id.
    assert!(matches!(deliver(&svc, "req-1").await, Outcome::Succeeded { images: 1, .. }));
    let s = svc.storage.json(STATUS);
    assert_eq!(s["interruptions"], json!([{"attempt": 1, "stage": "preparing", "owner": "req-1"}]));
    assert_eq!(s["attempts"], 2);
    assert_eq!(svc.model.calls(), 1);
}

#[tokio::test]
async fn dying_twice_while_preparing_fails_the_job_instead_of_dying_forever() {
    let (svc, kill) = service(plain());
    die_at(&svc, &kill, stage::PREPARING, "req-1", long()).await;
    die_at(&svc, &kill, stage::PREPARING, "req-1", long()).await;
    let outcome = deliver(&svc, "req-1").await;
    assert!(matches!(outcome, Outcome::Failed { code: tryon::core::error::ErrorCode::Crashed, .. }), "{outcome:?}");
    let s = svc.storage.json(STATUS);
    assert_eq!((s["state"].as_str(), s["error"]["code"].as_str()), (Some("failed"), Some("crashed")));
    assert_eq!(s["error"]["retryable"], false);
    assert!(s["error"]["message"].as_str().unwrap().contains("2 times while preparing the images"), "{s}");
    assert_eq!(svc.model.calls(), 0, "nothing was paid");
    // Further deliveries of the same manifest version are duplicates.
    assert!(matches!(deliver(&svc, "req-2").await, Outcome::Duplicate { .. }));
}

#[tokio::test]
async fn a_death_during_the_paid_call_is_never_retried() {
    let (svc, kill) = service(plain());
    die_at(&svc, &kill, stage::CALLING_MODEL, "req-1", long()).await;
    let outcome = deliver(&svc, "req-1").await;
    assert!(matches!(outcome, Outcome::Failed { code: tryon::core::error::ErrorCode::Crashed, .. }), "{outcome:?}");
    let s = svc.storage.json(STATUS);
    assert!(s["error"]["message"].as_str().unwrap().contains("may already have been paid"), "{s}");
    assert_eq!(svc.model.calls(), 0, "the retry made no call");
}

#[tokio::test]
async fn an_sqs_redelivery_takes_over_only_once_the_dead_lease_has_passed() {
    let (svc, kill) = service(plain());
    // The dead attempt's lease ends with its invocation (lease margin 0 here).
    die_at(&svc, &kill, stage::PREPARING, "req-1", Instant::now() + Duration::from_millis(300)).await;
    assert!(matches!(deliver(&svc, "req-2").await, Outcome::Duplicate { .. }), "the lease still holds");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(matches!(deliver(&svc, "req-2").await, Outcome::Succeeded { .. }));
    assert_eq!(svc.storage.json(STATUS)["interruptions"][0]["owner"], "req-1");
    assert_eq!(svc.model.calls(), 1);
}

#[tokio::test]
async fn a_variants_job_killed_in_the_paid_stage_keeps_what_it_wrote_and_pays_no_more() {
    let manifest = json!({
        "source": "person.jpg", "garment": "garment.png",
        "variants": [{"name": "a"}, {"name": "b", "garment": "top.png"}]
    });
    let (svc, kill) = service(manifest);
    die_at(&svc, &kill, stage::CALLING_MODEL, "req-1", long()).await;
    let calls_before = svc.model.calls();
    assert!(matches!(deliver(&svc, "req-1").await, Outcome::Failed { .. }));
    assert_eq!(svc.model.calls(), calls_before, "no call after the death");
    assert_eq!(svc.storage.json(STATUS)["error"]["code"], "crashed");
}

#[tokio::test]
async fn a_new_manifest_version_starts_clean() {
    let (svc, kill) = service(plain());
    die_at(&svc, &kill, stage::CALLING_MODEL, "req-1", long()).await;
    // The user uploads job.json again: a new ETag, a new run.
    svc.storage.insert(JOB, serde_json::to_vec(&plain()).unwrap());
    assert!(matches!(deliver(&svc, "req-2").await, Outcome::Succeeded { .. }));
    let s = svc.storage.json(STATUS);
    assert!(s.get("interruptions").is_none(), "{s}");
    assert_eq!(svc.model.calls(), 1);
}

#[tokio::test]
async fn a_one_call_job_whose_sheet_write_fails_is_finished_by_the_retry_without_a_second_call() {
    let (svc, _kill) = service(plain());
    svc.storage.fail_next_put("sheet.jpg");
    let err = svc.run_job(&event(), "req-1", long()).await.expect_err("a transient storage failure");
    assert_eq!(err.code, tryon::core::error::ErrorCode::StorageError);
    let s = svc.storage.json(STATUS);
    assert_eq!((s["state"].as_str(), s["items"][0]["state"].as_str()), (Some("processing"), Some("succeeded")));
    assert!(matches!(deliver(&svc, "req-1").await, Outcome::Succeeded { images: 1, .. }));
    assert_eq!(svc.model.calls(), 1, "the retry used the checkpointed result");
    let s = svc.storage.json(STATUS);
    assert!(s.get("items").is_none(), "a one-call job's final status has no items: {s}");
    assert_eq!(s["outputs"]["sheet"], "outputs/j1/sheet.jpg");
    assert!(svc.storage.object("outputs/j1/sheet.jpg").is_some());
}

#[tokio::test]
async fn an_outfit_whose_copy_to_the_root_fails_resumes_without_calling_any_step_again() {
    let manifest = json!({
        "source": "person.jpg",
        "garments": [{"image": "garment.png", "garmentClass": "UPPER_BODY"}, {"image": "top.png", "garmentClass": "UPPER_BODY"}]
    });
    let (svc, _kill) = service(manifest);
    svc.storage.fail_next_put("outputs/j1/result.png");
    let e = svc.run_job(&event(), "req-1", long()).await.expect_err("the copy to the root failed");
    assert_eq!(e.code, tryon::core::error::ErrorCode::StorageError, "{e}");
    assert!(e.message.contains("outputs/j1/result.png"), "{e}");
    assert_eq!(svc.model.calls(), 2);
    assert!(matches!(deliver(&svc, "req-1").await, Outcome::Succeeded { .. }));
    assert_eq!(svc.model.calls(), 2, "both steps were checkpointed");
    assert!(svc.storage.object("outputs/j1/result.png").is_some());
}
