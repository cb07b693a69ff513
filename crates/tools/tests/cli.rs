//! The `tryon` command line as a user runs it: submit (against moto, with the real handler
//! playing the Lambda), validate, event, run.

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::*;
use tryon::core::completion_event::{DETAIL_TYPE, SOURCE};
use tryon_emulators::Fault;

fn tryon() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tryon"));
    c.env("RUST_LOG", "warn");
    c
}

fn example(name: &str) -> std::path::PathBuf {
    support::root().join("examples").join(name)
}

/// Runs `tryon submit --wait` while this test delivers the upload event to the real handler.
async fn submit_and_process(w: &World, folder: &Path, job: &str, out: &Path) -> std::process::Output {
    let child = tryon()
        .args([
            "submit",
            &folder.display().to_string(),
            "--bucket",
            &w.bucket,
            "--job-id",
            job,
            "--wait",
            "--timeout",
            "120",
        ])
        .arg("--out")
        .arg(out)
        .env("AWS_ENDPOINT_URL_S3", moto_url())
        .env("S3_FORCE_PATH_STYLE", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let key = format!("uploads/{job}/job.json");
    for _ in 0..200 {
        if w.get(&key).await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = w.deliver(&key).await;
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_waits_and_downloads_the_outputs() {
    let w = World::new().await;
    let out = tempdir("submit");
    let o = submit_and_process(&w, &example("hoodie"), "cli job", &out).await;
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    println!("{stdout}{stderr}");
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("succeeded"));
    assert!(stderr.contains("(the job starts now)"));
    for f in ["result.png", "mask.png", "sheet.jpg", "status.json"] {
        assert!(out.join("cli job").join(f).is_file(), "{f} downloaded");
    }
    // The images went up before the manifest.
    let keys = w.keys("uploads/cli job/").await;
    assert_eq!(keys, ["uploads/cli job/hoodie.png", "uploads/cli job/job.json", "uploads/cli job/person.jpg"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_exits_non_zero_with_the_error_code_when_the_job_fails() {
    let w = World::new().await;
    w.emulator.push_fault(Fault::InputModeration);
    let out = tempdir("submit-fail");
    let o = submit_and_process(&w, &example("hoodie"), "blocked", &out).await;
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("model_rejected"), "{stderr}");
}

#[test]
fn submit_refuses_an_invalid_manifest_before_uploading() {
    let dir = tempdir("bad-job");
    std::fs::write(dir.join("job.json"), br#"{"source": "../other/p.jpg", "garment": "g.png", "colour": 1}"#).unwrap();
    let o = tryon().args(["submit", &dir.display().to_string(), "--bucket", "nowhere"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing was uploaded") && stderr.contains("`colour`"), "{stderr}");
}

#[test]
fn validate_prints_every_problem() {
    let dir = tempdir("validate");
    let bad = json!({"source": "/abs.jpg", "garment": "../g.png", "imageGenerationConfig": {"numberOfImages": 9, "seed": -3}});
    std::fs::write(dir.join("job.json"), serde_json::to_vec(&bad).unwrap()).unwrap();
    let o = tryon().args(["validate", &dir.join("job.json").display().to_string()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout.contains("4 problem(s)"), "{stdout}");
    for needle in ["source:", "garment:", "numberOfImages", "seed"] {
        assert!(stdout.contains(needle), "{needle}: {stdout}");
    }
    let o = tryon().args(["validate", &example("hoodie").join("job.json").display().to_string()]).output().unwrap();
    assert!(o.status.success());
}

#[test]
fn event_prints_events_that_the_handler_reads() {
    for source in ["s3", "sqs", "eventbridge"] {
        let o = tryon().args(["event", "my-bucket", "uploads/a b/café/job.json", "--source", source]).output().unwrap();
        assert!(o.status.success());
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let incoming = tryon::entry::trigger::parse_event(v).unwrap();
        match &incoming.messages[0].records[0] {
            tryon::entry::trigger::Record::Created(obj) => assert_eq!(obj.key, "uploads/a b/café/job.json"),
            other => panic!("{source}: {other:?}"),
        }
    }
}

#[test]
fn run_executes_an_example_offline() {
    let out = tempdir("run");
    let mut run = tryon();
    run.env("RUST_LOG", "info");
    let o = run.args(["run", &example("prompt-mask").display().to_string()]).arg("--out").arg(&out).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("Succeeded"), "{stdout}");
    assert!(out.join("local/outputs/prompt-mask/result-2.png").is_file());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("INFO"), "the run logs to stderr: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "no terminal colour codes when stderr is not a terminal: {stderr}");
}

#[test]
fn validate_reports_structural_and_range_problems_together_and_reads_variants() {
    let dir = tempdir("validate-all");
    let bad = json!({"garment": "g.png", "imageGenerationConfig": {"numberOfImages": 9, "cfgScale": 20}});
    std::fs::write(dir.join("job.json"), serde_json::to_vec(&bad).unwrap()).unwrap();
    let o = tryon().args(["validate", &dir.join("job.json").display().to_string()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("3 problem(s)"), "{stdout}");
    for needle in ["missing field `source`", "numberOfImages: 9", "cfgScale: 20"] {
        assert!(stdout.contains(needle), "{needle}: {stdout}");
    }
    for example_job in ["variants", "outfit"] {
        let o =
            tryon().args(["validate", &example(example_job).join("job.json").display().to_string()]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tryon-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

// --- Completion events: `tryon submit --wait --events-queue` and `tryon run`, against moto. ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_submit_follows_the_event_and_leaves_other_jobs_messages() {
    let w = World::new().await;
    let (bus, queue) = support::bus::bus_to_queue(&unique("tryon-submit")).await;
    let svc = support::bus::with_events(&w, &bus).await;
    let sqs = aws_sdk_sqs::Client::new(&support::bus::sdk().await);
    let foreign =
        json!({"source": SOURCE, "detail-type": DETAIL_TYPE, "detail": {"eventId": "someone-else", "jobId": "other"}});
    sqs.send_message().queue_url(&queue).message_body(foreign.to_string()).send().await.unwrap();

    let folder = support::root().join("examples/hoodie");
    let out = std::env::temp_dir().join(unique("tryon-submit-out"));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tryon"))
        .args(["submit", &folder.display().to_string(), "--bucket", &w.bucket, "--job-id", "by-event", "--wait"])
        .args(["--events-queue", &queue, "--timeout", "120", "--out"])
        .arg(&out)
        .env("RUST_LOG", "warn")
        .env("AWS_ENDPOINT_URL_S3", support::moto_url())
        .env("AWS_ENDPOINT_URL_SQS", support::moto_url())
        .env("S3_FORCE_PATH_STYLE", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let key = "uploads/by-event/job.json";
    for _ in 0..200 {
        if w.get(key).await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The function plays the Lambda: the upload's delivery, then a duplicate of it.
    let obj = support::bus::object(&w.bucket, "by-event");
    for request in ["r1", "r2"] {
        svc.run_job(&obj, request, Instant::now() + Duration::from_secs(300)).await.unwrap();
    }
    let o = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    println!("{stdout}{stderr}");
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("completion event received: succeeded"), "{stderr}");
    assert!(stdout.contains("job by-event: succeeded"), "{stdout}");
    for f in ["result.png", "sheet.jpg", "status.json"] {
        assert!(out.join("by-event").join(f).is_file(), "{f} downloaded");
    }
    let left = support::bus::drain(&queue).await;
    assert_eq!(left.len(), 1, "only the other job's message is left: {left:?}");
    assert_eq!(left[0]["detail"]["eventId"], "someone-else");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn submit_refuses_an_events_queue_without_wait() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tryon"))
        .args(["submit", "examples/hoodie", "--bucket", "b", "--events-queue", "http://q"])
        .current_dir(support::root())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--wait"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `tryon run` (local): no events unless EVENT_BUS_NAME is set; then one, on that bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_tryon_run_publishes_only_when_event_bus_name_is_set() {
    let (bus, queue) = support::bus::bus_to_queue(&unique("tryon-run")).await;
    let folder = support::root().join("examples/hoodie");
    let run = |out: &std::path::Path, bus: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tryon"));
        c.args(["run", &folder.display().to_string(), "--out"]).arg(out).env("RUST_LOG", "warn");
        c.env("AWS_ENDPOINT_URL_EVENTBRIDGE", support::moto_url()).env("AWS_REGION", "us-east-1");
        c.env("AWS_ACCESS_KEY_ID", "test").env("AWS_SECRET_ACCESS_KEY", "test").env_remove("EVENT_BUS_NAME");
        if let Some(b) = bus {
            c.env("EVENT_BUS_NAME", b);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let status = std::fs::read(out.join("local/outputs/hoodie/status.json")).unwrap();
        serde_json::from_slice::<Value>(&status).unwrap()
    };
    let off = std::env::temp_dir().join(unique("tryon-run-off"));
    assert!(run(&off, None).get("completionEvent").is_none());
    assert!(support::bus::drain(&queue).await.is_empty(), "no bus configured, no event");
    let on = std::env::temp_dir().join(unique("tryon-run-on"));
    let status = run(&on, Some(&bus));
    assert_eq!(status["completionEvent"]["published"], true);
    let received = support::bus::drain(&queue).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["detail"]["eventId"], status["completionEvent"]["eventId"]);
    assert_eq!(received[0]["detail"]["outputs"]["bucket"], "local");
    for dir in [off, on] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
