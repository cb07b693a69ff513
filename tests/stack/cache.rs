//! The result cache against moto's atomic conditional writes and the emulator: a burst of
//! identical jobs, each job's record agreeing with the calls the model received, and a later
//! burst answered by the cache alone. The in-memory cases are in `tests/fast/cache.rs`.

use std::time::Duration;

use serde_json::json;

use crate::support;

/// 20 identical jobs at once against moto's atomic conditional writes: every job succeeds,
/// every entry verifies, and the emulator's log says how many calls were paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moto_twenty_identical_jobs_at_once_all_succeed_and_the_entries_stay_intact() {
    const JOBS: usize = 20;
    let w = std::sync::Arc::new(support::World::new().await);
    let files = [("person.jpg", support::person_jpeg()), ("hoodie.png", support::garment_png())];
    let manifest = json!({"source": "person.jpg", "garment": "hoodie.png"});
    for i in 0..JOBS {
        w.upload_job(&format!("same-{i}"), &files, &manifest).await;
    }
    let runs: Vec<_> = (0..JOBS)
        .map(|i| {
            let w = w.clone();
            tokio::spawn(async move {
                w.deliver_as(&format!("uploads/same-{i}/job.json"), &format!("req-{i}"), Duration::from_secs(300)).await
            })
        })
        .collect();
    for r in runs {
        let summary = r.await.expect("task").expect("no transient failure");
        assert_eq!(summary.records[0].outcome, "succeeded");
    }
    let calls = w.calls().len();
    let entries = w.keys("outputs/_cache/").await;
    assert_eq!(entries.len(), 1, "one request, one entry: {entries:?}");
    let entry = w.get(&entries[0]).await.unwrap();
    tryon::core::result_cache::open(entry).expect("the entry verifies");
    // Concurrent misses may each pay (the entry is written once, after a call): every job's
    // own record says which it was, and the paid ones are exactly the calls the model saw.
    let mut paid = 0;
    for i in 0..JOBS {
        let s = w.status(&format!("same-{i}")).await;
        assert_eq!(s["state"], "succeeded");
        let served = s["diagnostics"]["cache"].as_str().unwrap_or_default().to_owned();
        assert!(served == "hit" || served == "miss", "job {i}: {s}");
        paid += usize::from(served == "miss");
        let cost = s["diagnostics"]["costUsd"].as_f64().expect("the cost is recorded");
        assert_eq!(cost == 0.0, served == "hit", "a hit costs nothing, a paid call something: {s}");
    }
    assert_eq!(paid, calls, "the jobs that say they paid are the calls the model received");
    println!("{JOBS} identical concurrent jobs served with {calls} model calls ({} cache hits)", JOBS - calls);
    // Once the entry exists, a second burst of identical jobs pays nothing at all.
    let again: Vec<_> = (0..JOBS)
        .map(|i| {
            let w = w.clone();
            let (job, files, manifest) = (format!("again-{i}"), files.clone(), manifest.clone());
            tokio::spawn(async move {
                w.upload_job(&job, &files, &manifest).await;
                w.deliver_as(&format!("uploads/{job}/job.json"), &format!("again-{i}"), Duration::from_secs(300)).await
            })
        })
        .collect();
    for r in again {
        assert_eq!(r.await.expect("task").expect("no transient failure").records[0].outcome, "succeeded");
    }
    assert_eq!(w.calls().len(), calls, "the second burst was answered by the cache alone");
    for i in 0..JOBS {
        assert_eq!(w.status(&format!("again-{i}")).await["diagnostics"]["cache"], "hit");
    }
    // Once written, the entry answers every later identical job.
    w.upload_job("later", &files, &manifest).await;
    w.deliver("uploads/later/job.json").await.unwrap();
    assert_eq!(w.calls().len(), calls);
    assert_eq!(w.status("later").await["diagnostics"]["cache"], "hit");
    for name in ["result.png", "mask.png", "sheet.jpg"] {
        let (ours, theirs) =
            (w.get(&format!("outputs/later/{name}")).await, w.get(&format!("outputs/same-0/{name}")).await);
        assert!(ours.is_some() && ours == theirs, "{name} is identical to the paid job's");
    }
}
