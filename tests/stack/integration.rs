//! The real handler against moto's S3 server and the Nova Canvas emulator over HTTP, through
//! the real SDK clients. Each test has its own bucket and emulator.

use crate::support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use tryon_emulators::Fault;

fn decode_png(bytes: &[u8]) -> image::RgbImage {
    assert_eq!(image::guess_format(bytes).unwrap(), image::ImageFormat::Png);
    image::load_from_memory(bytes).unwrap().to_rgb8()
}

fn standard_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![("person.jpg", person_jpeg()), ("hoodie.png", garment_png())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garment_mask_job_writes_result_mask_and_status() {
    let w = World::new().await;
    let manifest = json!({
        "source": "person.jpg", "garment": "hoodie.png",
        "virtualTryOnParams": {"garmentBasedMask": {"garmentClass": "UPPER_BODY", "garmentStyling": {"outerLayerStyle": "OPEN"}},
            "maskExclusions": {"preserveFace": "ON"}, "mergeStyle": "SEAMLESS"},
        "imageGenerationConfig": {"quality": "premium", "seed": 42}
    });
    w.upload_job("j1", &standard_files(), &manifest).await;
    let summary = w.deliver("uploads/j1/job.json").await.expect("success");
    assert_eq!(summary.records[0].outcome, "succeeded");

    assert_eq!(
        w.keys("outputs/j1/").await,
        ["outputs/j1/mask.png", "outputs/j1/result.png", "outputs/j1/sheet.jpg", "outputs/j1/status.json"]
    );
    let sheet = image::load_from_memory(&w.get("outputs/j1/sheet.jpg").await.unwrap()).unwrap();
    assert_eq!(sheet.height(), 2 * 16 + 30 + 320, "one row of tiles");
    assert!(sheet.width() > 3 * 200, "source, garment, mask and result side by side");
    let result = decode_png(&w.get("outputs/j1/result.png").await.unwrap());
    assert_eq!(result.dimensions(), (420, 560), "upright, as displayed");
    let mask = decode_png(&w.get("outputs/j1/mask.png").await.unwrap());
    assert_eq!(mask.dimensions(), (420, 560));

    let s = w.status("j1").await;
    assert_eq!(s["jobId"], "j1");
    assert_eq!(s["state"], "succeeded");
    assert_eq!(s["manifest"]["key"], "uploads/j1/job.json");
    assert!(s["manifest"]["etag"].as_str().unwrap().len() > 2);
    assert_eq!(s["outputs"]["images"], json!(["outputs/j1/result.png"]));
    assert_eq!(s["outputs"]["mask"], "outputs/j1/mask.png");
    assert_eq!(s["outputs"]["sheet"], "outputs/j1/sheet.jpg");
    assert_eq!(s["error"], Value::Null);
    assert!(humantime::parse_rfc3339(s["updatedAt"].as_str().unwrap()).is_ok());
    let d = &s["diagnostics"];
    assert_eq!(d["modelId"], "amazon.nova-canvas-v1:0");
    assert_eq!(d["bedrockRequestId"], w.calls()[0].request_id.as_str());
    assert_eq!(d["images"]["source"]["input"]["orientation"], 6);
    assert_eq!(d["images"]["source"]["input"]["width"], 420);
    assert_eq!(d["images"]["source"]["prepared"]["encoding"], "jpeg");
    assert_eq!(d["images"]["garment"]["input"]["hadAlpha"], true);
    assert_eq!(d["images"]["garment"]["prepared"]["encoding"], "png");
    assert_eq!(d["estimatedCostUsd"], 0.06);
    for stage in ["readManifest", "claim", "readImages", "prepare", "model", "writeOutputs", "total"] {
        assert!(d["timingsMs"][stage].is_u64(), "timing {stage}");
    }

    // The request as Bedrock received it.
    let calls = w.calls();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(c.model_id, "amazon.nova-canvas-v1:0");
    assert_eq!(c.content_type.as_deref(), Some("application/json"));
    assert_eq!(c.auth, "sigv4");
    assert_eq!(c.status, 200);
    let p = &c.body["virtualTryOnParams"];
    assert_eq!(c.body["taskType"], "VIRTUAL_TRY_ON");
    assert_eq!(p["maskType"], "GARMENT");
    assert_eq!(
        p["garmentBasedMask"],
        json!({"garmentClass": "UPPER_BODY", "garmentStyling": {"outerLayerStyle": "OPEN"}})
    );
    assert_eq!(p["maskExclusions"], json!({"preserveFace": "ON"}));
    assert_eq!(p["mergeStyle"], "SEAMLESS");
    assert_eq!(p["returnMask"], true);
    assert_eq!(p["sourceImage"]["format"], "jpeg");
    assert_eq!((p["sourceImage"]["width"].as_u64(), p["sourceImage"]["height"].as_u64()), (Some(420), Some(560)));
    assert_eq!(p["referenceImage"]["format"], "png");
    assert_eq!(c.body["imageGenerationConfig"], json!({"quality": "premium", "seed": 42}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_mask_with_three_images() {
    let w = World::new().await;
    let manifest = json!({
        "source": "person.jpg", "garment": "hoodie.png",
        "virtualTryOnParams": {"maskType": "PROMPT", "promptBasedMask": {"maskPrompt": "the grey shirt", "maskShape": "BOUNDING_BOX"}},
        "imageGenerationConfig": {"numberOfImages": 3}
    });
    w.upload_job("p", &standard_files(), &manifest).await;
    w.deliver("uploads/p/job.json").await.expect("success");
    assert_eq!(
        w.keys("outputs/p/").await,
        [
            "outputs/p/mask.png",
            "outputs/p/result-2.png",
            "outputs/p/result-3.png",
            "outputs/p/result.png",
            "outputs/p/sheet.jpg",
            "outputs/p/status.json"
        ]
    );
    let s = w.status("p").await;
    assert_eq!(
        s["outputs"]["images"],
        json!(["outputs/p/result.png", "outputs/p/result-2.png", "outputs/p/result-3.png"])
    );
    assert_eq!(s["diagnostics"]["imagesRequested"], 3);
    assert_eq!(s["diagnostics"]["imagesReturned"], 3);
    assert_eq!(s["diagnostics"]["estimatedCostUsd"], 0.12);
    let a = w.get("outputs/p/result.png").await.unwrap();
    let b = w.get("outputs/p/result-2.png").await.unwrap();
    assert_ne!(a, b, "each image differs");
    let p = &w.calls()[0].body["virtualTryOnParams"];
    assert_eq!(p["maskType"], "PROMPT");
    assert_eq!(p["promptBasedMask"], json!({"maskPrompt": "the grey shirt", "maskShape": "BOUNDING_BOX"}));
    assert!(p.get("garmentBasedMask").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_mask_is_sent_black_and_white_at_the_source_size() {
    let w = World::new().await;
    let manifest = json!({
        "source": "person.jpg", "garment": "hoodie.png",
        "virtualTryOnParams": {"maskType": "IMAGE", "imageBasedMask": {"maskImage": "masks/torso.png"}, "returnMask": false}
    });
    let mut files = standard_files();
    files.push(("masks/torso.png", mask_png()));
    w.upload_job("m", &files, &manifest).await;
    w.deliver("uploads/m/job.json").await.expect("success");
    assert_eq!(w.keys("outputs/m/").await, ["outputs/m/result.png", "outputs/m/sheet.jpg", "outputs/m/status.json"]);
    let s = w.status("m").await;
    assert_eq!(s["outputs"]["mask"], Value::Null);
    let p = &w.calls()[0].body["virtualTryOnParams"];
    assert_eq!(p["maskType"], "IMAGE");
    let m = &p["imageBasedMask"]["maskImage"];
    assert_eq!((m["format"].as_str(), m["width"].as_u64(), m["height"].as_u64()), (Some("png"), Some(420), Some(560)));
    // The emulator enforces pure black/white at the source size; a 200 proves it passed.
    assert_eq!(w.calls()[0].status, 200);
    // The garment was drawn inside the mask only.
    let result = decode_png(&w.get("outputs/m/result.png").await.unwrap());
    let near = |a: &image::Rgb<u8>, b: &image::Rgb<u8>| a.0.iter().zip(b.0).all(|(x, y)| x.abs_diff(y) <= 6);
    let original = tryon_tools::samples::person(420, 560);
    assert!(near(result.get_pixel(5, 5), original.get_pixel(5, 5)), "outside the mask the photo is kept");
    assert!(!near(result.get_pixel(210, 300), original.get_pixel(210, 300)), "inside the mask the garment is drawn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_keys_with_spaces_and_non_ascii_are_decoded() {
    let w = World::new().await;
    let job = "shop 1/été sale/ジョブ+1";
    let manifest = json!({"source": "my person.jpg", "garment": "hoodie.png"});
    w.upload_job(job, &[("my person.jpg", person_jpeg()), ("hoodie.png", garment_png())], &manifest).await;
    let summary = w.deliver(&format!("uploads/{job}/job.json")).await.expect("success");
    assert_eq!(summary.records[0].outcome, "succeeded");
    assert_eq!(summary.records[0].job_id.as_deref(), Some(job));
    let s = w.status(job).await;
    assert_eq!(s["state"], "succeeded");
    assert_eq!(s["outputs"]["images"], json!([format!("outputs/{job}/result.png")]));
    assert!(w.get(&format!("outputs/{job}/result.png")).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_garment_fails_permanently_without_a_model_call() {
    let w = World::new().await;
    w.upload_job("g", &[("person.jpg", person_jpeg())], &json!({"source": "person.jpg", "garment": "nope.png"})).await;
    let summary = w.deliver("uploads/g/job.json").await.expect("permanent failures return success");
    assert_eq!(summary.records[0].outcome, "failed");
    assert_eq!(summary.records[0].code, Some("missing_object"));
    let s = w.status("g").await;
    assert_eq!(s["state"], "failed");
    assert_eq!(s["error"]["code"], "missing_object");
    assert_eq!(s["error"]["retryable"], false);
    assert!(s["error"]["message"].as_str().unwrap().contains("uploads/g/nope.png"));
    assert!(w.calls().is_empty());
    assert_eq!(w.keys("outputs/g/").await, ["outputs/g/status.json"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_field_is_named_in_the_status() {
    let w = World::new().await;
    let manifest =
        json!({"source": "person.jpg", "garment": "hoodie.png", "virtualTryOnParams": {"mergStyle": "SEAMLESS"}});
    w.upload_job("u", &standard_files(), &manifest).await;
    w.deliver("uploads/u/job.json").await.expect("success");
    let s = w.status("u").await;
    assert_eq!(s["state"], "failed");
    assert_eq!(s["error"]["code"], "invalid_manifest");
    let msg = s["error"]["message"].as_str().unwrap();
    assert!(msg.contains("virtualTryOnParams") && msg.contains("`mergStyle`"), "{msg}");
    assert!(w.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderated_input_and_output_are_permanent() {
    let w = World::new().await;
    // Input moderation: a 400 ValidationException, queued through the HTTP control API. Its
    // only sign is its wording, so it is a refused request (never classified by text), and
    // the message says what Bedrock said.
    let (code, _) = http_post(&w.emulator_url, "/_emulator/faults", r#"{"type":"inputModeration"}"#).await;
    assert_eq!(code, 200);
    w.upload_job("c1", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    w.deliver("uploads/c1/job.json").await.expect("permanent");
    let s = w.status("c1").await;
    assert_eq!((s["state"].as_str(), s["error"]["code"].as_str()), (Some("failed"), Some("model_rejected")));
    assert!(s["error"]["message"].as_str().unwrap().contains("content filters"), "{s}");
    assert!(s["diagnostics"]["bedrockRequestId"].is_string());

    // Output moderation: a 200 with `error` and no images.
    w.emulator.push_fault(Fault::OutputModeration { images: 0 });
    w.upload_job("c2", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    w.deliver("uploads/c2/job.json").await.expect("permanent");
    let s = w.status("c2").await;
    assert_eq!((s["state"].as_str(), s["error"]["code"].as_str()), (Some("failed"), Some("content_filtered")));
    assert_eq!(w.keys("outputs/c2/").await, ["outputs/c2/status.json"]);

    // Some blocked: the job succeeds with the images that came, and says so.
    w.emulator.push_fault(Fault::OutputModeration { images: 1 });
    let m = json!({"source": "person.jpg", "garment": "hoodie.png", "imageGenerationConfig": {"numberOfImages": 3}});
    w.upload_job("c3", &standard_files(), &m).await;
    w.deliver("uploads/c3/job.json").await.expect("success");
    let s = w.status("c3").await;
    assert_eq!(s["state"], "succeeded");
    assert_eq!(s["outputs"]["images"], json!(["outputs/c3/result.png"]));
    assert_eq!(s["warnings"][0]["code"], "content_filtered");
    assert_eq!(s["diagnostics"]["imagesReturned"], 1);
    assert_eq!(w.calls().len(), 3, "one call per job, never a retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_manifest_keys_are_skipped_and_nothing_is_written() {
    let w = World::new().await;
    w.put("uploads/j/person.jpg", person_jpeg()).await;
    for key in ["uploads/j/person.jpg", "outputs/j/job.json", "uploads/job.json", "other/j/job.json"] {
        let s = w.deliver(key).await.expect("skips are not errors");
        assert_eq!(s.records[0].outcome, "skipped", "{key}");
    }
    assert!(w.keys("outputs/").await.is_empty());
    assert!(w.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_deliveries_cost_one_call_and_reuploads_one_more() {
    let w = World::new().await;
    w.upload_job("d", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    w.deliver("uploads/d/job.json").await.unwrap();
    let again = w.deliver_as("uploads/d/job.json", "req-2", Duration::from_secs(300)).await.unwrap();
    assert_eq!(again.records[0].outcome, "duplicate");
    assert_eq!(w.calls().len(), 1);
    // A new upload of the manifest (new ETag) is a new run.
    w.put(
        "uploads/d/job.json",
        serde_json::to_vec(
            &json!({"source": "person.jpg", "garment": "hoodie.png", "imageGenerationConfig": {"seed": 1}}),
        )
        .unwrap(),
    )
    .await;
    w.deliver_as("uploads/d/job.json", "req-3", Duration::from_secs(300)).await.unwrap();
    assert_eq!(w.calls().len(), 2);
    assert_eq!(w.status("d").await["attempts"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_claim_the_job_once() {
    let w = std::sync::Arc::new(World::new().await);
    w.upload_job("race", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let w = w.clone();
            tokio::spawn(async move {
                w.deliver_as("uploads/race/job.json", &format!("req-{i}"), Duration::from_secs(300)).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().expect("no transient failures").records[0].outcome);
    }
    let succeeded = outcomes.iter().filter(|o| **o == "succeeded").count();
    let duplicates = outcomes.iter().filter(|o| **o == "duplicate").count();
    println!(
        "20 concurrent deliveries: {succeeded} succeeded, {duplicates} duplicates, {} model calls",
        w.calls().len()
    );
    assert_eq!((succeeded, duplicates), (1, 19));
    assert_eq!(w.calls().len(), 1);
    assert_eq!(w.status("race").await["state"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_fails_the_invocation_then_the_retry_succeeds() {
    let w = World::new().await;
    // The SDK makes 3 attempts; all throttled.
    for _ in 0..3 {
        w.emulator.push_fault(Fault::Throttling);
    }
    w.upload_job("t", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    let err = w.deliver("uploads/t/job.json").await.expect_err("transient: Lambda must retry");
    assert_eq!(err.code.as_str(), "throttled");
    let s = w.status("t").await;
    assert_eq!(s["state"], "processing");
    assert_eq!(s["error"]["code"], "throttled");
    assert_eq!(s["error"]["retryable"], true);
    assert_eq!(s["lease"], Value::Null);
    assert_eq!(w.calls().len(), 3);
    assert!(w.calls().iter().all(|c| c.status == 429));
    // Lambda's retry (same request id) takes the job over and succeeds.
    w.deliver("uploads/t/job.json").await.expect("retry succeeds");
    let s = w.status("t").await;
    assert_eq!(s["state"], "succeeded");
    assert_eq!(s["attempts"], 2);
    assert_eq!(s["error"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_of_life_model_is_reported_plainly() {
    let w = World::new().await;
    w.emulator.push_fault(Fault::EndOfLife);
    w.upload_job("e", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    w.deliver("uploads/e/job.json").await.expect("permanent");
    let s = w.status("e").await;
    assert_eq!(s["error"]["code"], "model_unavailable");
    assert!(s["error"]["message"].as_str().unwrap().contains("end of its life"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_slower_than_the_deadline_is_cut_off_in_time_to_record_it() {
    let w = World::new().await;
    w.emulator.push_fault(Fault::Delay { ms: 20_000 });
    // The same request as "ok": kept out of the result cache so that its call is made (and throttled).
    let uncached = json!({"source": "person.jpg", "garment": "hoodie.png", "resultCache": "off"});
    w.upload_job("slow", &standard_files(), &uncached).await;
    // 18 s left, 15 s reserved: the model gets about 3 s.
    let started = std::time::Instant::now();
    let err = w.deliver_as("uploads/slow/job.json", "req-slow", Duration::from_secs(18)).await.expect_err("transient");
    let took = started.elapsed();
    println!("slow reply cut off after {:.1} s", took.as_secs_f64());
    assert_eq!(err.code.as_str(), "model_timeout");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let s = w.status("slow").await;
    assert_eq!((s["state"].as_str(), s["error"]["code"].as_str()), (Some("processing"), Some("model_timeout")));
    assert_eq!(s["error"]["retryable"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failure_on_the_last_attempt_is_recorded_as_failed() {
    let w = World::with_config(tryon::config::Config {
        max_attempts: 1,
        emit_metrics: false,
        ..tryon_tools::wiring::nova_config()
    })
    .await;
    w.emulator.push_fault(Fault::ModelError);
    w.upload_job("last", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    let err =
        w.deliver("uploads/last/job.json").await.expect_err("still fails so it reaches the on-failure destination");
    assert_eq!(err.code.as_str(), "model_error");
    let s = w.status("last").await;
    assert_eq!((s["state"].as_str(), s["error"]["retryable"].as_bool()), (Some("failed"), Some(true)));
    // A redelivery of the same manifest version does not pay again.
    let again = w.deliver_as("uploads/last/job.json", "req-9", Duration::from_secs(300)).await.unwrap();
    assert_eq!(again.records[0].outcome, "duplicate");
    assert_eq!(w.calls().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_speaks_the_bedrock_wire_protocol() {
    let w = World::new().await;
    // Unknown model id: 404 ResourceNotFoundException with the standard headers.
    let (status, body) = http_post(&w.emulator_url, "/model/amazon.nova-canvas-v9%3A0/invoke", "{}").await;
    assert_eq!(status, 404);
    assert!(body.contains("model identifier is invalid"), "{body}");
    // Not JSON content: 400 ValidationException.
    let (status, body) = http_post(&w.emulator_url, "/model/amazon.nova-canvas-v1%3A0/invoke", "not json").await;
    assert_eq!(status, 400);
    assert!(body.contains("Malformed input request: the body is not valid JSON"), "{body}");
    // Faults are validated; a bad one is refused.
    let (status, body) = http_post(&w.emulator_url, "/_emulator/faults", r#"{"type":"meteorStrike"}"#).await;
    assert_eq!(status, 400);
    assert!(body.contains("unknown variant `meteorStrike`"), "{body}");
    let (status, body) =
        http_post(&w.emulator_url, "/_emulator/faults", r#"[{"type":"throttling"},{"type":"delay","ms":5}]"#).await;
    assert_eq!((status, body.as_str()), (200, r#"{"queued":2}"#));
    let (status, _) = http_post(&w.emulator_url, "/_emulator/reset", "").await;
    assert_eq!(status, 204);
    assert!(w.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panorama_is_padded_for_nova_and_cropped_back() {
    let w = World::new().await;
    let wide = tryon_tools::samples::png_rgb(&tryon_tools::samples::person(2000, 400));
    w.upload_job(
        "wide",
        &[("pano.png", wide), ("hoodie.png", garment_png())],
        &json!({"source": "pano.png", "garment": "hoodie.png"}),
    )
    .await;
    w.deliver("uploads/wide/job.json").await.expect("success");
    let sent = &w.calls()[0].body["virtualTryOnParams"]["sourceImage"];
    assert_eq!((sent["width"].as_u64(), sent["height"].as_u64()), (Some(2000), Some(500)), "padded to 4:1");
    let result = decode_png(&w.get("outputs/wide/result.png").await.unwrap());
    assert_eq!(result.dimensions(), (2000, 400), "padding cropped off");
    let mask = decode_png(&w.get("outputs/wide/mask.png").await.unwrap());
    assert_eq!(mask.dimensions(), (2000, 400));
    let s = w.status("wide").await;
    assert_eq!(
        s["diagnostics"]["images"]["source"]["prepared"]["content"],
        json!({"x": 0, "y": 50, "width": 2000, "height": 400})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_batches_report_only_the_failed_messages() {
    let w = World::new().await;
    w.upload_job("ok", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    // The same request as "ok": kept out of the result cache so that its call is made (and throttled).
    let uncached = json!({"source": "person.jpg", "garment": "hoodie.png", "resultCache": "off"});
    w.upload_job("slow", &standard_files(), &uncached).await;
    w.upload_job("bad", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png", "x": 1})).await;
    let mut batch =
        tryon_tools::sample_events::sample_sqs_event(&w.bucket, "uploads/ok/job.json", "\"e\"", "us-east-1", "m-ok");
    let mut add = |key: &str, id: &str| {
        let mut m = tryon_tools::sample_events::sample_sqs_event(&w.bucket, key, "\"e\"", "us-east-1", id)["Records"]
            [0]
        .clone();
        m["messageId"] = id.into();
        batch["Records"].as_array_mut().unwrap().push(m);
    };
    add("uploads/slow/job.json", "m-throttled");
    add("uploads/bad/job.json", "m-bad");
    let mut test_event = batch["Records"][0].clone();
    test_event["messageId"] = "m-test".into();
    test_event["body"] =
        json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": w.bucket}).to_string().into();
    batch["Records"].as_array_mut().unwrap().push(test_event);
    // The first job succeeds; the second is throttled on all three SDK attempts.
    w.emulator.push_fault(Fault::Delay { ms: 0 });
    for _ in 0..3 {
        w.emulator.push_fault(Fault::Throttling);
    }
    let summary = w.deliver_payload(batch, "req-sqs").await.expect("SQS batches never fail as a whole");
    assert_eq!(summary.response(), json!({"batchItemFailures": [{"itemIdentifier": "m-throttled"}]}));
    let outcomes: Vec<_> = summary.records.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, ["succeeded", "retry", "failed", "skipped"]);
    assert_eq!(w.status("ok").await["state"], "succeeded");
    assert_eq!(w.status("slow").await["error"]["code"], "throttled");
    assert_eq!(w.status("bad").await["error"]["code"], "invalid_manifest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventbridge_object_created_runs_the_job() {
    let w = World::new().await;
    w.upload_job("eb job+1", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    let ev = tryon_tools::sample_events::sample_eventbridge_event(
        &w.bucket,
        "uploads/eb job+1/job.json",
        "\"e\"",
        "us-east-1",
    );
    let summary = w.deliver_payload(ev, "req-eb").await.expect("success");
    assert_eq!(summary.records[0].outcome, "succeeded");
    assert_eq!(w.status("eb job+1").await["state"], "succeeded");
    // A key delivered unencoded (the encoding of EventBridge keys is undocumented) works too.
    w.upload_job("plain+key", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    let mut ev = tryon_tools::sample_events::sample_eventbridge_event(&w.bucket, "x", "\"e\"", "us-east-1");
    ev["detail"]["object"]["key"] = "uploads/plain+key/job.json".into();
    let summary = w.deliver_payload(ev, "req-eb2").await.expect("success");
    assert_eq!(summary.records[0].outcome, "succeeded", "{:?}", summary.records);
    assert_eq!(w.status("plain+key").await["state"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_then_success_within_one_invocation() {
    let w = World::new().await;
    w.emulator.push_fault(Fault::Throttling);
    w.emulator.push_fault(Fault::Throttling);
    w.upload_job("ts", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    w.deliver("uploads/ts/job.json").await.expect("the SDK's retries absorb two throttles");
    assert_eq!(w.status("ts").await["state"], "succeeded");
    let attempts: Vec<_> = w.calls().iter().map(|c| (c.status, c.sdk_request.clone().unwrap_or_default())).collect();
    assert_eq!(attempts.iter().map(|a| a.0).collect::<Vec<_>>(), [429, 429, 200]);
    assert!(attempts[2].1.starts_with("attempt=3"), "{attempts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_faults_end_in_their_documented_status() {
    // (faults, code, SDK attempts)
    let cases: [(Vec<Fault>, &str, usize); 3] = [
        (vec![Fault::ServiceUnavailable; 3], "model_error", 3),
        (vec![Fault::ModelTimeout], "model_timeout", 1),
        (vec![Fault::ModelError], "model_error", 1),
    ];
    for (i, (faults, code, attempts)) in cases.into_iter().enumerate() {
        let w = World::new().await;
        for f in faults {
            w.emulator.push_fault(f);
        }
        let job = format!("f{i}");
        w.upload_job(&job, &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
        let err = w.deliver(&format!("uploads/{job}/job.json")).await.expect_err("transient: the invocation fails");
        assert_eq!(err.code.as_str(), code);
        let s = w.status(&job).await;
        assert_eq!(
            (s["state"].as_str(), s["error"]["code"].as_str(), s["error"]["retryable"].as_bool()),
            (Some("processing"), Some(code), Some(true))
        );
        assert_eq!(w.calls().len(), attempts, "{code}");
        // Lambda's retry succeeds.
        w.deliver(&format!("uploads/{job}/job.json")).await.expect("retry");
        assert_eq!(w.status(&job).await["state"], "succeeded");
    }
}

/// The real S3 adapter with writes to matching keys failing, as when S3 has an outage.
struct FlakyStorage {
    inner: tryon::adapters::storage::s3::S3Storage,
    fail_puts_containing: std::sync::Mutex<Option<&'static str>>,
}

impl tryon::adapters::storage::Storage for FlakyStorage {
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), tryon::adapters::storage::StorageError> {
        self.inner.delete(bucket, key).await
    }
    async fn get(
        &self,
        bucket: &str,
        key: &str,
        max: u64,
    ) -> Result<tryon::adapters::storage::StoredObject, tryon::adapters::storage::StorageError> {
        self.inner.get(bucket, key, max).await
    }
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: tryon::adapters::storage::PutCondition<'_>,
    ) -> Result<String, tryon::adapters::storage::StorageError> {
        let pattern = *self.fail_puts_containing.lock().unwrap();
        if pattern.is_some_and(|p| key.contains(p)) {
            return Err(tryon::adapters::storage::StorageError::other("injected: ServiceUnavailable (HTTP 503)"));
        }
        self.inner.put(bucket, key, body, content_type, condition).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_failure_writing_outputs_is_transient_and_never_claims_success() {
    let w = World::new().await;
    let flaky = tryon::pipeline::Service {
        storage: FlakyStorage {
            inner: w.svc.storage.clone(),
            fail_puts_containing: std::sync::Mutex::new(Some("result")),
        },
        model: w.svc.model.clone(),
        events: tryon::adapters::events::NoEvents,
        config: w.svc.config.clone(),
    };
    w.upload_job("s3", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    let obj = tryon::entry::trigger::ObjectCreated {
        bucket: w.bucket.clone(),
        key: "uploads/s3/job.json".into(),
        etag: None,
        version_id: None,
        raw_key: None,
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let err = flaky.run_job(&obj, "req-1", deadline).await.expect_err("transient");
    assert_eq!(err.code.as_str(), "storage_error");
    let s = w.status("s3").await;
    assert_eq!((s["state"].as_str(), s["error"]["code"].as_str()), (Some("processing"), Some("storage_error")));
    assert_eq!(s["outputs"]["images"], json!([]), "no success claimed without outputs");
    // S3 recovers; Lambda's retry finishes the job. The first call's images were never
    // stored, but its reply was: the result cache answers the retry, which pays nothing.
    *flaky.storage.fail_puts_containing.lock().unwrap() = None;
    flaky.run_job(&obj, "req-1", deadline).await.expect("retry succeeds");
    let s = w.status("s3").await;
    assert_eq!(s["state"], "succeeded");
    assert_eq!(s["attempts"], 2);
    assert!(w.get("outputs/s3/result.png").await.is_some());
    assert_eq!(w.calls().len(), 1);
    assert_eq!((s["diagnostics"]["cache"].as_str(), s["diagnostics"]["costUsd"].as_f64()), (Some("hit"), Some(0.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_invocations_lease_is_respected_until_it_expires() {
    let w = World::new().await;
    w.upload_job("lease", &standard_files(), &json!({"source": "person.jpg", "garment": "hoodie.png"})).await;
    let etag =
        w.s3.head_object()
            .bucket(&w.bucket)
            .key("uploads/lease/job.json")
            .send()
            .await
            .unwrap()
            .e_tag()
            .unwrap()
            .to_owned();
    let status = |expires: std::time::SystemTime| {
        json!({
            "jobId": "lease", "state": "processing",
            "manifest": {"bucket": w.bucket, "key": "uploads/lease/job.json", "etag": etag, "versionId": null},
            "attempts": 1,
            "lease": {"owner": "crashed-invocation", "expiresAt": tryon::core::status::timestamp(expires)},
            "updatedAt": tryon::core::status::timestamp(std::time::SystemTime::now())
        })
    };
    let now = std::time::SystemTime::now();
    w.put("outputs/lease/status.json", serde_json::to_vec(&status(now + Duration::from_secs(600))).unwrap()).await;
    let s = w.deliver("uploads/lease/job.json").await.unwrap();
    assert_eq!(s.records[0].outcome, "duplicate", "a live lease of another invocation is respected");
    assert!(w.calls().is_empty());
    w.put("outputs/lease/status.json", serde_json::to_vec(&status(now - Duration::from_secs(1))).unwrap()).await;
    let s = w.deliver("uploads/lease/job.json").await.unwrap();
    assert_eq!(s.records[0].outcome, "succeeded", "an expired lease is taken over");
    let st = w.status("lease").await;
    assert_eq!((st["attempts"].as_u64(), st["lease"].is_null()), (Some(2), true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_shows_the_stage_and_estimated_cost_before_the_model_answers() {
    let w = std::sync::Arc::new(World::new().await);
    w.emulator.push_fault(Fault::Delay { ms: 3000 });
    let m = json!({"source": "person.jpg", "garment": "hoodie.png", "imageGenerationConfig": {"numberOfImages": 2, "quality": "premium"}});
    w.upload_job("stage", &standard_files(), &m).await;
    let worker = {
        let w = w.clone();
        tokio::spawn(async move { w.deliver("uploads/stage/job.json").await })
    };
    let mut seen = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(bytes) = w.get("outputs/stage/status.json").await {
            let s: Value = serde_json::from_slice(&bytes).unwrap();
            if s["stage"] == "calling the model" {
                seen = Some(s);
                break;
            }
        }
    }
    let s = seen.expect("the status said 'calling the model' while the model worked");
    assert_eq!(s["state"], "processing");
    assert_eq!(s["diagnostics"]["estimatedCostUsd"], 0.12);
    assert!(s["diagnostics"]["requestBytes"].as_u64().unwrap() > 0);
    worker.await.unwrap().unwrap();
    let s = w.status("stage").await;
    assert_eq!((s["state"].as_str(), s["stage"].as_str()), (Some("succeeded"), Some("done")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_input_fails_for_good_naming_its_storage_class_and_the_remedy() {
    let w = World::new().await;
    w.put("uploads/cold/person.jpg", person_jpeg()).await;
    w.s3.put_object()
        .bucket(&w.bucket)
        .key("uploads/cold/garment.png")
        .storage_class(aws_sdk_s3::types::StorageClass::DeepArchive)
        .body(aws_sdk_s3::primitives::ByteStream::from(garment_png()))
        .send()
        .await
        .expect("put");
    w.put(
        "uploads/cold/job.json",
        serde_json::to_vec(&json!({"source": "person.jpg", "garment": "garment.png"})).unwrap(),
    )
    .await;
    w.deliver("uploads/cold/job.json").await.expect("a permanent failure is recorded, not retried");
    let s = w.status("cold").await;
    assert_eq!((s["state"].as_str(), s["error"]["code"].as_str()), (Some("failed"), Some("input_archived")), "{s}");
    let message = s["error"]["message"].as_str().unwrap();
    assert!(message.contains("DEEP_ARCHIVE") && message.contains("restore"), "{message}");
    assert!(w.calls().is_empty(), "nothing was paid");
}
