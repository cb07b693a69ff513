//! Completion events against moto (EventBridge → rule → SQS, the real SDK adapters and the
//! emulator): a burst with duplicate deliveries yields one event per job after dropping
//! repeats by `eventId`, each naming outputs that exist; a missing bus fails transiently and
//! the retry publishes. The in-memory cases are in `tests/fast/events.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tryon::core::completion_event::{event_id, DETAIL_TYPE, SOURCE};
use tryon::core::error::ErrorCode;
use tryon::pipeline::Outcome;

use crate::support::{self, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moto_a_burst_with_duplicates_yields_one_event_per_job_naming_existing_outputs() {
    let w = World::new().await;
    let (bus, queue) = support::bus::bus_to_queue(&unique("tryon-done")).await;
    let svc = Arc::new(support::bus::with_events(&w, &bus).await);
    let files = support::bus::files();
    let jobs: Vec<String> = (0..20).map(|i| format!("burst-{i:02}")).collect();
    // Identical requests: the result cache is off so that every job pays its own call.
    let manifest = json!({"source": "person.jpg", "garment": "hoodie.png", "resultCache": "off"});
    for job in &jobs {
        w.upload_job(job, &files, &manifest).await;
    }
    // Every job delivered once, every third one twice more (at the same time and after).
    let mut runs = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let copies = if i % 3 == 0 { 3 } else { 1 };
        for c in 0..copies {
            let (svc, bucket, job) = (svc.clone(), w.bucket.clone(), job.clone());
            runs.push(tokio::spawn(async move {
                let obj = support::bus::object(&bucket, &job);
                svc.run_job(&obj, &format!("req-{job}-{c}"), Instant::now() + Duration::from_secs(300)).await
            }));
        }
    }
    for r in runs {
        r.await.unwrap().expect("every delivery succeeds");
    }
    // A late duplicate of every fifth job: published already, so nothing more.
    for job in jobs.iter().step_by(5) {
        let late =
            svc.run_job(&support::bus::object(&w.bucket, job), "late", Instant::now() + Duration::from_secs(300)).await;
        assert!(matches!(late, Ok(Outcome::Duplicate { .. })), "{late:?}");
    }
    // Every fourth job as an invocation leaves it when it dies after PutEvents but before the
    // mark: its redelivery publishes the event a second time.
    let republished: Vec<&String> = jobs.iter().step_by(4).collect();
    for job in &republished {
        let mut status = w.status(job).await;
        status["completionEvent"]["published"] = json!(false);
        w.put(&format!("outputs/{job}/status.json"), serde_json::to_vec(&status).unwrap()).await;
        let again =
            svc.run_job(&support::bus::object(&w.bucket, job), "redo", Instant::now() + Duration::from_secs(300)).await;
        assert!(matches!(again, Ok(Outcome::Duplicate { .. })), "{again:?}");
    }
    let received = support::bus::drain(&queue).await;
    assert_eq!(received.len(), jobs.len() + republished.len(), "each publication reached the queue");
    let distinct = one_event_per_job(&w, &received, &jobs).await;
    assert_eq!(w.calls().len(), jobs.len(), "one paid call per job");
    eprintln!("{} jobs, {} events received, {distinct} distinct by eventId", jobs.len(), received.len());
}

/// Dropping repeats by `eventId` leaves one event per job, whose outputs exist and whose
/// status records it published; returns the number of distinct events.
async fn one_event_per_job(w: &World, received: &[Value], jobs: &[String]) -> usize {
    let mut by_id: BTreeMap<String, Value> = BTreeMap::new();
    for e in received {
        assert_eq!((e["source"].as_str(), e["detail-type"].as_str()), (Some(SOURCE), Some(DETAIL_TYPE)));
        by_id.insert(e["detail"]["eventId"].as_str().unwrap().to_owned(), e["detail"].clone());
    }
    let per_job: HashMap<String, usize> = by_id.values().fold(HashMap::new(), |mut m, d| {
        *m.entry(d["jobId"].as_str().unwrap().to_owned()).or_default() += 1;
        m
    });
    assert_eq!(per_job.len(), jobs.len(), "every job produced its event: {per_job:?}");
    assert!(per_job.values().all(|n| *n == 1), "one event per job after dropping repeats: {per_job:?}");
    for d in by_id.values() {
        let job = d["jobId"].as_str().unwrap();
        assert_eq!(d["state"], "succeeded");
        let status = w.status(job).await;
        assert_eq!(d["eventId"], event_id(&w.bucket, job, status["manifest"]["etag"].as_str().unwrap()));
        assert_eq!(status["completionEvent"]["published"], true);
        for key in
            d["outputs"]["images"].as_array().unwrap().iter().chain([&d["outputs"]["sheet"], &d["outputs"]["status"]])
        {
            assert!(w.get(key.as_str().unwrap()).await.is_some(), "{key} exists");
        }
    }
    by_id.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_a_missing_bus_fails_transiently_and_the_retry_publishes_once_it_exists() {
    let w = World::new().await;
    let bus = unique("tryon-later");
    let svc = support::bus::with_events(&w, &bus).await;
    w.upload_job("late-bus", &support::bus::files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    let obj = support::bus::object(&w.bucket, "late-bus");
    let deadline = Instant::now() + Duration::from_secs(300);
    let e = svc.run_job(&obj, "r1", deadline).await.expect_err("no such bus");
    assert_eq!(e.code, ErrorCode::EventNotPublished, "{e}");
    let status = w.status("late-bus").await;
    assert_eq!(
        (status["state"].as_str(), status["completionEvent"]["published"].as_bool()),
        (Some("succeeded"), Some(false))
    );
    let (_, queue) = support::bus::bus_to_queue(&bus).await;
    assert!(matches!(svc.run_job(&obj, "r2", deadline).await.unwrap(), Outcome::Duplicate { .. }));
    let received = support::bus::drain(&queue).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["detail"]["jobId"], "late-bus");
    assert_eq!(w.status("late-bus").await["completionEvent"]["published"], true);
    assert_eq!(w.calls().len(), 1, "the retry only published");
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}
