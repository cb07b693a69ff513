//! FASHN's limits and the life of a prediction: the status rate limit, the concurrency
//! limit, credits, slow and lost predictions, the settings route.

use std::time::Duration;

use serde_json::json;

use super::{v16, World, KEY};
use crate::FashnFault;

/// 50 status requests per 10 s per key; the 51st is 429 RateLimitExceeded.
#[tokio::test(flavor = "multi_thread")]
async fn the_status_rate_limit_is_fifty_per_ten_seconds_per_key() {
    let w = World::start().await;
    let id = w.start_prediction(&v16(json!({}))).await;
    for n in 0..50 {
        assert_eq!(w.status(&id).await.status, 200, "poll {n}");
    }
    let r = w.status(&id).await;
    assert_eq!((r.status, r.json()), (429, json!({ "error": "RateLimitExceeded", "message": "Too many requests" })));
    assert_eq!(w.status_as("fa-other-key", "unknown").await.status, 404, "another key has its own window");
    assert_eq!(w.run(&v16(json!({}))).await.status, 200, "runs have their own window");
    // A short window shows it slides.
    let mut s = w.emu.fashn_settings();
    s.status_limit = crate::RateLimit { requests: 2, window: Duration::from_millis(300) };
    w.emu.set_fashn_settings(s);
    w.emu.reset();
    let id = w.start_prediction(&v16(json!({}))).await;
    assert_eq!([w.status(&id).await.status, w.status(&id).await.status, w.status(&id).await.status], [200, 200, 429]);
    tokio::time::sleep(Duration::from_millis(320)).await;
    assert_eq!(w.status(&id).await.status, 200);
}

/// Six predictions in flight per key; the seventh run is 429 ConcurrencyLimitExceeded.
#[tokio::test(flavor = "multi_thread")]
async fn the_seventh_concurrent_prediction_is_refused() {
    let w = World::start().await;
    let put = json!({ "predictionMs": 1500 }).to_string();
    let r =
        w.http.send("PUT", "/_emulator/fashn/settings", &[("content-type", "application/json")], put.as_bytes()).await;
    assert_eq!(
        (r.status, r.json()["predictionMs"].as_u64(), r.json()["concurrency"].as_u64()),
        (200, Some(1500), Some(6))
    );
    for _ in 0..6 {
        w.start_prediction(&v16(json!({}))).await;
    }
    let r = w.run(&v16(json!({}))).await;
    assert_eq!((r.status, r.json()["error"].as_str()), (429, Some("ConcurrencyLimitExceeded")), "{}", r.json());
    assert_eq!(w.run_as(Some("fa-second"), &v16(json!({}))).await.status, 200, "per key");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(w.run(&v16(json!({}))).await.status, 200, "finished predictions free their slots");
}

#[tokio::test(flavor = "multi_thread")]
async fn running_out_of_credits_is_a_429() {
    let w = World::start().await;
    w.emu.set_fashn_credits(1);
    let r = w.run(&v16(json!({ "num_samples": 2 }))).await;
    assert_eq!((r.status, r.json()["error"].as_str()), (429, Some("OutOfCredits")));
    let id = w.start_prediction(&v16(json!({}))).await;
    assert_eq!(w.until_terminal(&id).await.1.header("x-fashn-credits-used"), "1");
    assert_eq!(w.run(&v16(json!({}))).await.json()["error"], "OutOfCredits");
    let r = w.http.send("GET", "/_emulator/fashn/settings", &[], b"").await;
    assert_eq!(r.json()["credits"], 0);
}

/// A slow prediction stays in progress for its seconds; the others keep the default.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_fault_makes_one_prediction_take_its_seconds() {
    let w = World::start().await;
    w.emu.push_fashn_fault(FashnFault::Slow { seconds: 2.0 });
    let slow = w.start_prediction(&v16(json!({}))).await;
    let fast = w.start_prediction(&v16(json!({}))).await;
    assert_eq!(w.until_terminal(&fast).await.1.json()["status"], "completed");
    let state = w.status(&slow).await.json()["status"].clone();
    assert!(["starting", "in_queue"].contains(&state.as_str().unwrap()), "{state}");
    let (states, done) = w.until_terminal(&slow).await;
    assert_eq!(done.json()["status"], "completed", "{states:?}");
    assert!(states.contains(&"processing".to_owned()), "{states:?}");
}

/// A lost prediction answers 404 NotFound; so do ids never issued.
#[tokio::test(flavor = "multi_thread")]
async fn lost_predictions_are_not_found() {
    let w = World::start().await;
    let not_found = json!({ "error": "NotFound", "message": "Prediction not found" });
    let r = w.status("123a87r9-4129-4bb3-be18-9c9fb5bd7fc1-u1").await;
    assert_eq!((r.status, r.json()), (404, not_found.clone()));
    w.emu.push_backend_fault("fashn", json!({ "type": "lost", "afterPolls": 1 }));
    let id = w.start_prediction(&v16(json!({}))).await;
    assert_eq!(w.status(&id).await.status, 200);
    for _ in 0..2 {
        let r = w.status(&id).await;
        assert_eq!((r.status, r.json()), (404, not_found.clone()));
    }
    w.emu.push_fashn_fault(FashnFault::Lost { after_polls: 0 });
    let id = w.start_prediction(&v16(json!({}))).await;
    assert_eq!(w.status(&id).await.status, 404, "lost at once");
    let id = w.start_prediction(&v16(json!({}))).await;
    assert_eq!(w.http.send("DELETE", &format!("/_emulator/fashn/predictions/{id}"), &[], b"").await.status, 204);
    assert_eq!(w.status(&id).await.json(), not_found);
    assert_eq!(w.http.send("DELETE", &format!("/_emulator/fashn/predictions/{id}"), &[], b"").await.status, 404);
    let polls = w.calls("/v1/status/");
    assert!(polls.iter().filter(|c| c["status"] == 404).all(|c| c["error"]["name"] == "NotFound"));
    let _ = KEY;
}
