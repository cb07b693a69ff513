//! Soak: 500 jobs through the real handler against moto and the emulator at concurrency 32,
//! with duplicate deliveries, model faults and invalid manifests mixed in. A "Lambda" loop
//! redelivers failed invocations with the same request id, like async retries. Prints the
//! figures; asserts that every job ends, or (three deliveries failed transiently, as Lambda
//! gives up on an async event) stays `processing` saying why, and that every manifest version
//! that reached the model was paid for exactly once.
//!
//! A binary of its own: a load test measures nothing while other tests share the machine,
//! and its timings (leases, deadlines) are the point.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use tokio::sync::Semaphore;
use tryon_emulators::Fault;

const JOBS: usize = 500;
const CONCURRENCY: usize = 32;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn soak_500_jobs_with_duplicates_and_faults() {
    let w = Arc::new(World::new().await);
    let person = person_jpeg();
    let garment = garment_png();
    // Upload everything first (as clients would, before the events arrive).
    let uploads = Arc::new(Semaphore::new(CONCURRENCY));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..JOBS {
        let (w, person, garment, permit) =
            (w.clone(), person.clone(), garment.clone(), uploads.clone().acquire_owned().await.unwrap());
        set.spawn(async move {
            // Every 10th manifest is invalid; the seed names the job in the emulator's log.
            let manifest = if i % 10 == 9 {
                json!({"source": "person.jpg", "garment": "g.png", "colour": "red"})
            } else {
                json!({"source": "person.jpg", "garment": "g.png", "imageGenerationConfig": {"seed": i}})
            };
            w.upload_job(&format!("soak/{i}"), &[("person.jpg", person), ("g.png", garment)], &manifest).await;
            drop(permit);
        });
    }
    while set.join_next().await.is_some() {}

    // Faults for whichever calls take them: throttling bursts, 424s, 503s, blocked outputs.
    for _ in 0..12 {
        for _ in 0..3 {
            w.emulator.push_fault(Fault::Throttling);
        }
        w.emulator.push_fault(Fault::ModelError);
        w.emulator.push_fault(Fault::ServiceUnavailable);
        w.emulator.push_fault(Fault::OutputModeration { images: 0 });
        for _ in 0..6 {
            w.emulator.push_fault(Fault::Delay { ms: 5 });
        }
    }

    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut set = tokio::task::JoinSet::new();
    let mut deliveries = 0;
    for i in 0..JOBS {
        // Every 4th job is delivered twice at once (S3's at-least-once delivery).
        let copies = if i % 4 == 0 { 2 } else { 1 };
        for copy in 0..copies {
            deliveries += 1;
            let (w, limit) = (w.clone(), limit.clone());
            set.spawn(async move {
                let _permit = limit.acquire_owned().await.unwrap();
                let key = format!("uploads/soak/{i}/job.json");
                let request_id = format!("req-{i}-{copy}");
                let mut times = Vec::new();
                let mut outcome = "retry".to_string();
                // Lambda's async invoke: the first attempt and two retries, same request id.
                for _attempt in 0..3 {
                    let t = Instant::now();
                    let r = w.deliver_as(&key, &request_id, Duration::from_secs(300)).await;
                    times.push(t.elapsed());
                    match r {
                        Ok(s) => {
                            outcome = s.records[0].outcome.to_string();
                            break;
                        }
                        Err(_) => continue,
                    }
                }
                (outcome, times)
            });
        }
    }
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut times = Vec::new();
    while let Some(r) = set.join_next().await {
        let (outcome, t) = r.unwrap();
        *outcomes.entry(outcome).or_default() += 1;
        times.extend(t);
    }
    let wall = started.elapsed();

    // Redeliver 50 finished jobs: every one must be a duplicate with no model call.
    let calls_before = w.calls().len();
    for i in (0..JOBS).step_by(10) {
        let s =
            w.deliver_as(&format!("uploads/soak/{i}/job.json"), "req-late", Duration::from_secs(300)).await.unwrap();
        assert_eq!(s.records[0].outcome, "duplicate", "job {i}");
    }
    assert_eq!(w.calls().len(), calls_before, "late redeliveries made model calls");

    // Final states.
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut left = Vec::new();
    for i in 0..JOBS {
        let s = w.status(&format!("soak/{i}")).await;
        let state = s["state"].as_str().unwrap().to_string();
        if state == "failed" {
            *codes.entry(s["error"]["code"].as_str().unwrap().to_string()).or_default() += 1;
        }
        if state == "processing" {
            left.push((i as u64, s["error"]["code"].as_str().unwrap_or("none").to_owned()));
        }
        *states.entry(state).or_default() += 1;
    }
    // Paid calls (HTTP 200) per job, identified by the seed in the request.
    let calls = w.calls();
    let mut paid: BTreeMap<u64, usize> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.status == 200) {
        *paid.entry(c.body["imageGenerationConfig"]["seed"].as_u64().unwrap()).or_default() += 1;
    }
    let valid = (0..JOBS).filter(|i| i % 10 != 9).count();
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_millis();
    println!("soak: {JOBS} jobs, {deliveries} deliveries at concurrency {CONCURRENCY} in {:.1} s", wall.as_secs_f64());
    println!("soak: final states {states:?}; failures by code {codes:?}; delivery outcomes {outcomes:?}");
    println!(
        "soak: model calls {} ({} paid for {} valid manifests, {} throttled/failed); handler p50 {} ms, p99 {} ms; peak RSS {:.0} MiB",
        calls.len(),
        paid.values().sum::<usize>(),
        valid,
        calls.len() - paid.values().sum::<usize>(),
        pct(0.5),
        pct(0.99),
        peak_rss_mib()
    );
    // A job stays processing only when each of its deliveries' three attempts failed
    // transiently (the faults are taken by whichever calls come first, so under load one job
    // can draw three): it says why, and Lambda would hand its event to the on-failure queue.
    const TRANSIENT: [&str; 4] = ["throttled", "model_error", "model_timeout", "storage_error"];
    assert!(left.len() <= outcomes.get("retry").copied().unwrap_or(0), "jobs left processing: {left:?}");
    for (i, code) in &left {
        assert!(TRANSIENT.contains(&code.as_str()), "job {i} left processing without a transient error: {code}");
    }
    assert_eq!(states.values().sum::<usize>(), JOBS);
    assert_eq!(codes.get("invalid_manifest"), Some(&(JOBS / 10)));
    assert!(
        paid.values().all(|&n| n == 1),
        "a manifest version was paid for twice: {:?}",
        paid.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    // Every valid job reached the model exactly once, unless its retries ran out first.
    let exhausted = codes
        .iter()
        .filter(|(c, _)| ["throttled", "model_error", "model_timeout"].contains(&c.as_str()))
        .map(|(_, n)| n)
        .sum::<usize>();
    let unpaid_left = left.iter().filter(|(i, _)| !paid.contains_key(i)).count();
    assert_eq!(paid.len() + exhausted + unpaid_left, valid);
}
