//! The real function's wait for the model's quota (`THROTTLE_WAIT_SECONDS`), through the
//! Bedrock client against the emulator: a call whose SDK attempts are all throttled is sent
//! again inside the same invocation, and `throttled` never ends a job `failed`.

use crate::support;

use std::time::Duration;

use serde_json::json;
use support::*;
use tryon::config::Config;
use tryon_emulators::Fault;

fn files() -> Vec<(&'static str, Vec<u8>)> {
    vec![("person.jpg", person_jpeg()), ("hoodie.png", garment_png())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttles_past_the_sdks_attempts_are_waited_out_in_one_invocation() {
    let config =
        Config { throttle_wait: Duration::from_secs(60), emit_metrics: false, ..tryon_tools::wiring::nova_config() };
    let w = World::with_config(config).await;
    // Four 429s: the SDK's three attempts, then the first attempt of the resend.
    for _ in 0..4 {
        w.emulator.push_fault(Fault::Throttling);
    }
    w.upload_job("q", &files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    w.deliver("uploads/q/job.json").await.expect("one invocation absorbs the throttles");
    let s = w.status("q").await;
    assert_eq!((s["state"].as_str(), s["attempts"].as_u64()), (Some("succeeded"), Some(1)));
    let statuses: Vec<u16> = w.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [429, 429, 429, 429, 200], "paid once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_only_throttled_stays_processing_past_max_attempts() {
    // No wait, one attempt allowed: a transient error would be final; a throttle is not.
    let config = Config { max_attempts: 1, emit_metrics: false, ..tryon_tools::wiring::nova_config() };
    let w = World::with_config(config).await;
    for _ in 0..3 {
        w.emulator.push_fault(Fault::Throttling);
    }
    w.upload_job("t", &files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    let err = w.deliver("uploads/t/job.json").await.expect_err("the trigger must deliver it again");
    assert_eq!(err.code.as_str(), "throttled");
    let s = w.status("t").await;
    assert_eq!((s["state"].as_str(), s["error"]["code"].as_str()), (Some("processing"), Some("throttled")));
    // The next delivery, past MAX_ATTEMPTS, still runs the job and pays once.
    w.deliver_as("uploads/t/job.json", "req-2", Duration::from_secs(300)).await.expect("succeeds");
    let s = w.status("t").await;
    assert_eq!((s["state"].as_str(), s["attempts"].as_u64()), (Some("succeeded"), Some(2)));
    assert_eq!(w.calls().iter().filter(|c| c.status == 200).count(), 1);
}
