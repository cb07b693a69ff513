//! S3 Batch Operations tasks and S3 notifications of the same jobs against moto and the
//! emulator: in either order, and at once, one paid call per job; a versioned task runs only
//! the current version. The in-memory cases are in `tests/fast/batch_operations.rs`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tryon_tools::sample_events::sample_batch_event;

use crate::fakes::only;
use crate::support;

fn standard_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![("person.jpg", support::person_jpeg()), ("hoodie.png", support::garment_png())]
}

fn moto_manifest() -> Value {
    json!({"source": "person.jpg", "garment": "hoodie.png"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moto_notification_then_task_and_task_then_notification_pay_once() {
    let w = support::World::new().await;
    for job in ["by-s3-first", "by-batch-first"] {
        w.upload_job(job, &standard_files(), &moto_manifest()).await;
    }
    let key = |job: &str| format!("uploads/{job}/job.json");
    let task = |job: &str| sample_batch_event("2.0", &w.bucket, &key(job), None, &format!("task-{job}"));

    let s3 = w.deliver_as(&key("by-s3-first"), "req-1", Duration::from_secs(300)).await.unwrap();
    assert_eq!(s3.records[0].outcome, "succeeded");
    let batch = w.deliver_payload(task("by-s3-first"), "req-2").await.unwrap();
    assert_eq!(only(&batch), ("Succeeded".into(), "succeeded".into()));
    assert_eq!(batch.records[0].outcome, "duplicate");

    let batch = w.deliver_payload(task("by-batch-first"), "req-3").await.unwrap();
    assert_eq!(only(&batch), ("Succeeded".into(), "succeeded".into()));
    let s3 = w.deliver_as(&key("by-batch-first"), "req-4", Duration::from_secs(300)).await.unwrap();
    assert_eq!(s3.records[0].outcome, "duplicate");

    // The two jobs make the same request: the second is answered by the result cache.
    assert_eq!(w.calls().len(), 1, "one model call in all");
    for job in ["by-s3-first", "by-batch-first"] {
        let s = w.status(job).await;
        assert_eq!(s["state"], "succeeded");
        let d = &s["diagnostics"];
        assert_eq!(d["modelCalls"].as_u64().unwrap() + d["cacheHits"].as_u64().unwrap(), 1, "one call per job: {d}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moto_concurrent_notifications_and_tasks_pay_once() {
    let w = Arc::new(support::World::new().await);
    w.upload_job("race", &standard_files(), &moto_manifest()).await;
    let key = "uploads/race/job.json";
    let runs: Vec<_> = (0..10)
        .map(|i| {
            let w = w.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    let s = w.deliver_as(key, &format!("req-s3-{i}"), Duration::from_secs(300)).await.unwrap();
                    s.records[0].outcome.to_owned()
                } else {
                    let event = sample_batch_event("1.0", &w.bucket, key, None, &format!("t{i}"));
                    let (code, text) = only(&w.deliver_payload(event, &format!("req-batch-{i}")).await.unwrap());
                    format!("{code} {text}")
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for r in runs {
        answers.push(r.await.unwrap());
    }
    let ran = answers.iter().filter(|a| *a == "succeeded" || *a == "Succeeded succeeded").count();
    println!("5 notifications and 5 tasks at once: {answers:?}");
    assert!(ran >= 1, "{answers:?}");
    for a in &answers {
        assert!(
            ["succeeded", "duplicate", "Succeeded succeeded"].contains(&a.as_str())
                || a.starts_with("TemporaryFailure processing: "),
            "{a}"
        );
    }
    assert_eq!(w.calls().len(), 1, "{answers:?}");
    let late = sample_batch_event("1.0", &w.bucket, key, None, "t-late");
    assert_eq!(only(&w.deliver_payload(late, "req-late").await.unwrap()), ("Succeeded".into(), "succeeded".into()));
    assert_eq!(w.calls().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_a_versioned_task_runs_only_the_current_version() {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let w = support::World::new().await;
    w.s3.put_bucket_versioning()
        .bucket(&w.bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
        .send()
        .await
        .expect("versioning");
    let key = "uploads/v/job.json";
    let version = || async {
        let head = w.s3.head_object().bucket(&w.bucket).key(key).send().await.expect("head");
        head.version_id().expect("a versioned bucket names versions").to_owned()
    };
    w.upload_job("v", &standard_files(), &moto_manifest()).await;
    let v1 = version().await;
    w.put(
        key,
        serde_json::to_vec(
            &json!({"source": "person.jpg", "garment": "hoodie.png", "imageGenerationConfig": {"seed": 7}}),
        )
        .unwrap(),
    )
    .await;
    let v2 = version().await;
    assert_ne!(v1, v2);

    let old = sample_batch_event("2.0", &w.bucket, key, Some(&v1), "t-old");
    let (code, text) = only(&w.deliver_payload(old, "req-1").await.unwrap());
    assert_eq!(code, "PermanentFailure");
    assert!(text.starts_with("superseded: ") && text.contains(&v1) && text.contains(&v2), "{text}");
    assert_eq!(w.calls().len(), 0, "an old version never runs as the new one");

    let current = sample_batch_event("2.0", &w.bucket, key, Some(&v2), "t-new");
    assert_eq!(only(&w.deliver_payload(current, "req-2").await.unwrap()), ("Succeeded".into(), "succeeded".into()));
    let status = w.status("v").await;
    assert_eq!(status["manifest"]["versionId"], v2.as_str());
    assert_eq!(w.deliver_as(key, "req-3", Duration::from_secs(300)).await.unwrap().records[0].outcome, "duplicate");
    assert_eq!(w.calls().len(), 1);
}
