//! Jobs of several model calls against moto and the emulator: variants, outfits, partial
//! failures, retries that redo only what is missing, and the per-job call limit.

use crate::support;

use serde_json::{json, Value};
use support::*;
use tryon_emulators::Fault;

fn files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("person.jpg", person_jpeg()),
        ("top.png", garment_png()),
        ("jeans.png", garment_png()),
        ("boots.png", garment_png()),
    ]
}

fn variants_manifest() -> Value {
    json!({
        "source": "person.jpg", "garment": "top.png",
        "virtualTryOnParams": {"garmentBasedMask": {"garmentClass": "UPPER_BODY"}},
        "imageGenerationConfig": {"seed": 5, "quality": "premium"},
        "variants": [
            {"name": "seamless", "virtualTryOnParams": {"mergeStyle": "SEAMLESS"}},
            {"name": "box", "virtualTryOnParams": {"garmentBasedMask": {"maskShape": "BOUNDING_BOX"}}},
            {"name": "two", "imageGenerationConfig": {"numberOfImages": 2, "quality": "standard"}}
        ]
    })
}

fn outfit_manifest() -> Value {
    json!({
        "source": "person.jpg",
        "garments": [
            {"image": "top.png", "garmentClass": "UPPER_BODY"},
            {"image": "jeans.png", "garmentClass": "LOWER_BODY", "virtualTryOnParams": {"mergeStyle": "DETAILED"}},
            {"image": "boots.png", "garmentClass": "FOOTWEAR"}
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_variants_write_their_own_folders() {
    let w = World::new().await;
    w.upload_job("v", &files(), &variants_manifest()).await;
    w.deliver("uploads/v/job.json").await.expect("success");
    let s = w.status("v").await;
    assert_eq!(s["state"], "succeeded");
    let keys = w.keys("outputs/v/").await;
    for k in [
        "outputs/v/seamless/result.png",
        "outputs/v/box/result.png",
        "outputs/v/two/result.png",
        "outputs/v/two/result-2.png",
        "outputs/v/sheet.jpg",
    ] {
        assert!(keys.contains(&k.to_string()), "{k} in {keys:?}");
    }
    let items = s["items"].as_array().unwrap();
    assert_eq!(items.iter().map(|i| i["name"].as_str().unwrap()).collect::<Vec<_>>(), ["seamless", "box", "two"]);
    assert!(items.iter().all(|i| i["state"] == "succeeded"));
    // The whole job's price was known before the first call: 1 + 1 premium, 2 standard (320x427 is small).
    assert_eq!(s["diagnostics"]["estimatedCostUsd"], 0.2);
    assert_eq!(s["diagnostics"]["costUsd"], 0.2);
    // Each call carried its variant's parameters over the base.
    let calls = w.calls();
    assert_eq!(calls.len(), 3);
    let merge: Vec<Value> = calls.iter().map(|c| c.body["virtualTryOnParams"]["mergeStyle"].clone()).collect();
    assert!(merge.contains(&json!("SEAMLESS")));
    assert!(calls.iter().any(|c| c.body["virtualTryOnParams"]["garmentBasedMask"]["maskShape"] == "BOUNDING_BOX"));
    assert!(calls.iter().all(|c| c.body["imageGenerationConfig"]["seed"] == 5));
    let sheet = image::load_from_memory(&w.get("outputs/v/sheet.jpg").await.unwrap()).unwrap();
    assert!(sheet.width() > 4 * 200, "source, garment and three variants side by side");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_step_outfit_chains_results() {
    let w = World::new().await;
    w.upload_job("o", &files(), &outfit_manifest()).await;
    w.deliver("uploads/o/job.json").await.expect("success");
    let s = w.status("o").await;
    assert_eq!(s["state"], "succeeded", "{s}");
    for k in ["steps/1/result.png", "steps/2/result.png", "steps/3/result.png", "result.png", "mask.png", "sheet.jpg"] {
        assert!(w.get(&format!("outputs/o/{k}")).await.is_some(), "{k}");
    }
    assert_eq!(
        w.get("outputs/o/result.png").await,
        w.get("outputs/o/steps/3/result.png").await,
        "the final step is the job's result"
    );
    let calls = w.calls();
    assert_eq!(calls.len(), 3);
    let classes: Vec<&str> = calls
        .iter()
        .map(|c| c.body["virtualTryOnParams"]["garmentBasedMask"]["garmentClass"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["UPPER_BODY", "LOWER_BODY", "FOOTWEAR"], "steps in order");
    assert_eq!(calls[1].body["virtualTryOnParams"]["mergeStyle"], "DETAILED");
    // Step 2's source is step 1's result (a PNG now), not the original JPEG.
    assert_eq!(calls[0].body["virtualTryOnParams"]["sourceImage"]["format"], "jpeg");
    assert_eq!(calls[1].body["virtualTryOnParams"]["sourceImage"]["format"], "png");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_filtered_variant_leaves_the_others() {
    let w = World::new().await;
    // Variants run two at a time; whichever call takes the fault is filtered.
    w.emulator.push_fault(Fault::InputModeration);
    w.upload_job("f", &files(), &variants_manifest()).await;
    w.deliver("uploads/f/job.json").await.expect("permanent failures do not fail the invocation");
    let s = w.status("f").await;
    assert_eq!(s["state"], "succeeded", "two of three succeeded");
    let items = s["items"].as_array().unwrap();
    let failed: Vec<&Value> = items.iter().filter(|i| i["state"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"]["code"], "model_rejected", "input moderation is a refused request");
    assert_eq!(s["warnings"][0]["code"], "partial_failure");
    assert!(s["warnings"][0]["message"].as_str().unwrap().contains("1 of 3 variants failed"));
    assert_eq!(w.calls().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_fault_in_step_two_reuses_step_one() {
    let w = World::new().await;
    w.emulator.push_fault(Fault::Delay { ms: 0 }); // step 1 succeeds
    w.emulator.push_fault(Fault::ModelError); // step 2: 424, transient
    w.upload_job("r", &files(), &outfit_manifest()).await;
    let err = w.deliver("uploads/r/job.json").await.expect_err("transient: Lambda retries");
    assert_eq!(err.code.as_str(), "model_error");
    let s = w.status("r").await;
    assert_eq!(s["state"], "processing");
    assert_eq!(s["items"][0]["state"], "succeeded");
    assert_eq!(s["items"][1]["state"], "processing");
    assert_eq!(s["items"][1]["error"]["code"], "model_error");
    assert_eq!(w.calls().len(), 2);
    // Lambda's retry: step 1 is not called again.
    w.deliver("uploads/r/job.json").await.expect("retry succeeds");
    let s = w.status("r").await;
    assert_eq!(s["state"], "succeeded");
    let calls = w.calls();
    let classes: Vec<&str> = calls
        .iter()
        .map(|c| c.body["virtualTryOnParams"]["garmentBasedMask"]["garmentClass"].as_str().unwrap())
        .collect();
    println!("model calls: {classes:?}");
    assert_eq!(classes, ["UPPER_BODY", "LOWER_BODY", "LOWER_BODY", "FOOTWEAR"], "step 1 was paid for once");
    assert_eq!(calls.iter().filter(|c| c.status == 200).count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_limit_refuses_a_manifest_before_any_call() {
    let w = World::with_config(tryon::config::Config {
        max_model_calls_per_job: 2,
        emit_metrics: false,
        ..tryon_tools::wiring::nova_config()
    })
    .await;
    w.upload_job("l", &files(), &variants_manifest()).await;
    w.deliver("uploads/l/job.json").await.expect("permanent");
    let s = w.status("l").await;
    assert_eq!(s["error"]["code"], "invalid_manifest");
    assert!(s["error"]["message"].as_str().unwrap().contains("3 model calls; at most 2"));
    assert!(w.calls().is_empty());
}
