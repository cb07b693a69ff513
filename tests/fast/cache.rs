//! The result cache (issue 14), in two tiers. In memory (a store with S3's conditional
//! writes, a scripted model whose picture can be changed between runs, so an answer from the
//! cache and one from the model can be told apart): what is a hit, what is not, damaged
//! entries, variants, outfits and the call cap. Against moto and the Nova Canvas emulator:
//! identical jobs at the same time.

use crate::fakes;

use std::time::{Duration, Instant};

use fakes::{Kill, MemoryStore, ScriptedModel};
use serde_json::{json, Value};
use tryon::config::Config;
use tryon::core::backend::{Backend, Backends};
use tryon::core::manifest::CacheMode;
use tryon::entry::trigger::ObjectCreated;
use tryon::pipeline::{Outcome, Service};

type Svc = Service<MemoryStore, ScriptedModel>;

fn config() -> Config {
    let backends = Backends { chain: vec![Backend::NovaCanvas], enabled: Backend::ALL.to_vec() };
    Config { emit_metrics: false, backends, ..tryon_tools::wiring::nova_config() }
}

fn service_with(config: Config) -> Svc {
    let storage = MemoryStore::with_kill(std::sync::Arc::new(Kill::default()));
    let model = ScriptedModel::new(storage.kill.clone());
    Service { storage, model, events: tryon::adapters::events::NoEvents, config }
}

fn service() -> Svc {
    service_with(config())
}

/// Uploads the images of a job under `job`, then its manifest (a new ETag each time).
fn upload(svc: &Svc, job: &str, manifest: &Value) {
    let s = &svc.storage;
    s.insert(
        &format!("uploads/{job}/person.jpg"),
        tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(420, 560), 1).unwrap(),
    );
    for (name, size) in [("top.png", 400), ("jeans.png", 300)] {
        s.insert(
            &format!("uploads/{job}/{name}"),
            tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(size)),
        );
    }
    s.insert(&format!("uploads/{job}/job.json"), serde_json::to_vec(manifest).unwrap());
}

async fn run(svc: &Svc, job: &str) -> Outcome {
    let key = format!("uploads/{job}/job.json");
    let obj = ObjectCreated { bucket: "b".into(), key, etag: None, version_id: None, raw_key: None };
    svc.run_job(&obj, "req", Instant::now() + Duration::from_secs(300)).await.expect("no transient failure")
}

/// Uploads and runs a job; it must succeed.
async fn job(svc: &Svc, job: &str, manifest: &Value) -> Value {
    upload(svc, job, manifest);
    let outcome = run(svc, job).await;
    assert!(matches!(outcome, Outcome::Succeeded { .. }), "{job}: {outcome:?}");
    svc.storage.json(&format!("outputs/{job}/status.json"))
}

/// The model answers with a picture of this colour from now on.
fn repaint(svc: &mut Svc, rgb: [u8; 3]) {
    let img = image::RgbImage::from_pixel(400, 600, image::Rgb(rgb));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    svc.model.reply_png = png;
}

/// Every object of a job's outputs but its status, by name within the job.
fn outputs(svc: &Svc, job: &str) -> Vec<(String, Vec<u8>)> {
    let prefix = format!("outputs/{job}/");
    let keys = svc.storage.keys(&prefix);
    let names = keys.iter().filter(|k| !k.ends_with("status.json"));
    names.map(|k| (k[prefix.len()..].to_owned(), svc.storage.object(k).unwrap())).collect()
}

fn entries(svc: &Svc) -> Vec<String> {
    svc.storage.keys("outputs/_cache/")
}

fn single() -> Value {
    json!({"source": "person.jpg", "garment": "top.png"})
}

#[tokio::test]
async fn the_same_job_uploaded_again_is_answered_by_the_cache_with_identical_outputs() {
    let mut svc = service();
    let first = job(&svc, "j", &single()).await;
    let d = &first["diagnostics"];
    assert_eq!(
        (d["cache"].as_str(), d["modelCalls"].as_u64(), d["cacheHits"].as_u64()),
        (Some("miss"), Some(1), Some(0))
    );
    let key = d["cacheKey"].as_str().expect("the miss names the entry it wrote").to_owned();
    assert_eq!(entries(&svc), std::slice::from_ref(&key));
    assert!(
        key.starts_with("outputs/_cache/v1/nova-canvas/") && key.len() == "outputs/_cache/v1/nova-canvas/".len() + 64
    );
    let before = outputs(&svc, "j");
    assert_eq!(before.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["mask.png", "result.png", "sheet.jpg"]);
    // A call now would answer another picture: identical outputs can only come from the cache.
    repaint(&mut svc, [200, 30, 30]);
    let second = job(&svc, "j", &single()).await;
    assert_eq!(svc.model.calls(), 1, "the re-upload made no model call");
    let d = &second["diagnostics"];
    assert_eq!((d["cache"].as_str(), d["cacheKey"].as_str()), (Some("hit"), Some(key.as_str())));
    assert_eq!(
        (d["costUsd"].as_f64(), d["modelCalls"].as_u64(), d["cacheHits"].as_u64()),
        (Some(0.0), Some(0), Some(1))
    );
    assert_eq!(second["outputs"], first["outputs"]);
    assert!(outputs(&svc, "j") == before, "a hit writes byte-identical images and sheet");
    // An uncached run of the same job would have differed: the test can tell.
    let off = json!({"source": "person.jpg", "garment": "top.png", "resultCache": "off"});
    job(&svc, "j", &off).await;
    assert_eq!(svc.model.calls(), 2);
    assert!(outputs(&svc, "j") != before);
}

#[tokio::test]
async fn the_same_images_under_two_job_ids_make_one_call() {
    let svc = service();
    let a = job(&svc, "alice", &single()).await;
    let b = job(&svc, "bob", &single()).await;
    assert_eq!(svc.model.calls(), 1);
    assert_eq!(a["diagnostics"]["cacheKey"], b["diagnostics"]["cacheKey"]);
    assert_eq!(b["diagnostics"]["cache"], "hit");
    assert_eq!(svc.storage.object("outputs/alice/result.png"), svc.storage.object("outputs/bob/result.png"));
}

#[tokio::test]
async fn one_option_changed_is_another_request() {
    let svc = service();
    job(&svc, "j", &single()).await;
    for (i, changed) in [
        json!({"source": "person.jpg", "garment": "top.png", "virtualTryOnParams": {"mergeStyle": "SEAMLESS"}}),
        json!({"source": "person.jpg", "garment": "top.png", "imageGenerationConfig": {"seed": 13}}),
        json!({"source": "person.jpg", "garment": "jeans.png"}),
    ]
    .iter()
    .enumerate()
    {
        let s = job(&svc, "j", changed).await;
        assert_eq!(svc.model.calls(), i + 2, "{changed}");
        assert_eq!(s["diagnostics"]["cache"], "miss");
    }
    assert_eq!(entries(&svc).len(), 4);
}

#[tokio::test]
async fn only_a_reproducible_seed_is_cached() {
    let svc = service();
    for backend in ["vertex-vto", "gemini-image", "bedrock-converse"] {
        let unseeded = json!({"source": "person.jpg", "garment": "top.png", "backend": backend});
        let before = svc.model.calls();
        for _ in 0..2 {
            let s = job(&svc, backend, &unseeded).await;
            assert_eq!(s["diagnostics"]["cache"], "off", "{backend}");
            assert!(s["diagnostics"].get("cacheKey").is_none());
        }
        assert_eq!(svc.model.calls(), before + 2, "{backend} without a seed is called every time");
    }
    assert!(entries(&svc).is_empty());
    for backend in ["vertex-vto", "gemini-image"] {
        let seeded = json!({"source": "person.jpg", "garment": "top.png", "backend": backend,
            "imageGenerationConfig": {"seed": 9}});
        let before = svc.model.calls();
        job(&svc, backend, &seeded).await;
        let s = job(&svc, backend, &seeded).await;
        assert_eq!(svc.model.calls(), before + 1, "{backend} with a seed is cached");
        assert!(s["diagnostics"]["cacheKey"].as_str().unwrap().contains(&format!("/_cache/v1/{backend}/")));
    }
}

#[tokio::test]
async fn turned_off_by_the_deployment_or_the_manifest_the_model_is_called_every_time() {
    let svc = service_with(Config { result_cache: CacheMode::Off, ..config() });
    for _ in 0..2 {
        assert_eq!(job(&svc, "j", &single()).await["diagnostics"]["cache"], "off");
    }
    assert_eq!(svc.model.calls(), 2);
    assert!(entries(&svc).is_empty(), "RESULT_CACHE=off neither reads nor writes");
    let svc = service();
    let off = json!({"source": "person.jpg", "garment": "top.png", "resultCache": "off"});
    for _ in 0..2 {
        job(&svc, "j", &off).await;
    }
    assert_eq!(svc.model.calls(), 2);
    assert!(entries(&svc).is_empty());
    upload(&svc, "bad", &json!({"source": "person.jpg", "garment": "top.png", "resultCache": "never"}));
    let outcome = run(&svc, "bad").await;
    assert!(matches!(outcome, Outcome::Failed { code: tryon::core::error::ErrorCode::InvalidManifest, .. }));
    let e = svc.storage.json("outputs/bad/status.json")["error"]["message"].as_str().unwrap().to_owned();
    assert!(e.contains("resultCache") && e.contains("auto") && e.contains("off"), "{e}");
}

#[tokio::test]
async fn a_damaged_entry_is_never_served_and_is_replaced() {
    let mut svc = service();
    let key = job(&svc, "j", &single()).await["diagnostics"]["cacheKey"].as_str().unwrap().to_owned();
    let good = svc.storage.object(&key).unwrap();
    let truncated = good[..good.len() / 2].to_vec();
    let mut flipped = good.clone();
    flipped[good.len() / 3] ^= 0x20;
    let mut calls = 1;
    for (what, damaged) in [("truncated", truncated), ("flipped byte", flipped), ("empty", vec![])] {
        svc.storage.insert(&key, damaged);
        // The damaged entry's picture would be the old one; the model's is new.
        repaint(&mut svc, [10, 200, 10 + calls as u8]);
        let s = job(&svc, "j", &single()).await;
        calls += 1;
        assert_eq!(svc.model.calls(), calls, "{what}: the model was called");
        assert_eq!(s["diagnostics"]["cache"], "miss", "{what}");
        let repaired = svc.storage.object(&key).unwrap();
        let reply = tryon::core::result_cache::open(repaired).expect("the entry was repaired and verifies");
        assert!(!reply.is_empty());
        // The repaired entry answers the next run.
        let hit = job(&svc, "j", &single()).await;
        assert_eq!((svc.model.calls(), hit["diagnostics"]["cache"].as_str()), (calls, Some("hit")), "{what}");
    }
}

/// An entry that verifies but no longer parses (a parser changed without a new key version)
/// is discarded; the retry calls the model and writes a good entry.
#[tokio::test]
async fn a_verified_entry_that_does_not_parse_is_discarded_and_the_retry_calls_the_model() {
    let svc = service();
    let key = job(&svc, "j", &single()).await["diagnostics"]["cacheKey"].as_str().unwrap().to_owned();
    svc.storage.insert(&key, tryon::core::result_cache::seal(br#"{"images": "not a list"}"#.to_vec()));
    upload(&svc, "j", &single());
    let obj = ObjectCreated {
        bucket: "b".into(),
        key: "uploads/j/job.json".into(),
        etag: None,
        version_id: None,
        raw_key: None,
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    let e = svc.run_job(&obj, "req", deadline).await.expect_err("transient: Lambda retries");
    assert_eq!(e.code, tryon::core::error::ErrorCode::StorageError);
    assert!(e.message.contains("no longer parses") && e.message.contains(&key), "{}", e.message);
    assert_eq!(svc.storage.object(&key), Some(vec![]), "the entry was discarded");
    assert_eq!(svc.model.calls(), 1);
    assert!(matches!(svc.run_job(&obj, "req", deadline).await, Ok(Outcome::Succeeded { .. })));
    assert_eq!(svc.model.calls(), 2);
    tryon::core::result_cache::open(svc.storage.object(&key).unwrap()).expect("a good entry again");
}

#[tokio::test]
async fn variants_look_up_their_own_requests() {
    let svc = service();
    let variants = |seamless_seed: u32| {
        json!({"source": "person.jpg", "garment": "top.png", "variants": [
            {"name": "balanced", "virtualTryOnParams": {"mergeStyle": "BALANCED"}},
            {"name": "seamless", "virtualTryOnParams": {"mergeStyle": "SEAMLESS"}, "imageGenerationConfig": {"seed": seamless_seed}},
            {"name": "uncached", "virtualTryOnParams": {"mergeStyle": "DETAILED"}, "resultCache": "off"}
        ]})
    };
    let first = job(&svc, "v", &variants(1)).await;
    let cache_of = |s: &Value| {
        s["items"].as_array().unwrap().iter().map(|i| i["cache"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(cache_of(&first), ["miss", "miss", "off"]);
    assert_eq!(svc.model.calls(), 3);
    let second = job(&svc, "v", &variants(2)).await;
    assert_eq!(cache_of(&second), ["hit", "miss", "off"]);
    assert_eq!(svc.model.calls(), 5, "only the changed and the uncached variants were called");
    let items = second["items"].as_array().unwrap();
    assert_eq!(items[0]["costUsd"].as_f64(), Some(0.0));
    assert!(items[1]["costUsd"].as_f64().unwrap() > 0.0);
    assert_eq!(items[0]["cacheKey"], first["items"][0]["cacheKey"]);
    let d = &second["diagnostics"];
    assert_eq!((d["modelCalls"].as_u64(), d["cacheHits"].as_u64()), (Some(2), Some(1)));
    assert_eq!(
        d["costUsd"].as_f64(),
        Some(items[1]["costUsd"].as_f64().unwrap() + items[2]["costUsd"].as_f64().unwrap())
    );
}

#[tokio::test]
async fn outfit_steps_look_up_their_own_requests() {
    let mut svc = service();
    let outfit = |second: &str| {
        json!({"source": "person.jpg", "garments": [
            {"image": "top.png", "garmentClass": "UPPER_BODY"},
            {"image": second, "garmentClass": "LOWER_BODY"}
        ]})
    };
    job(&svc, "o", &outfit("jeans.png")).await;
    assert_eq!(svc.model.calls(), 2);
    let before = outputs(&svc, "o");
    repaint(&mut svc, [1, 2, 3]);
    let again = job(&svc, "o", &outfit("jeans.png")).await;
    assert_eq!(svc.model.calls(), 2, "both steps were answered by the cache");
    let states: Vec<&str> = again["items"].as_array().unwrap().iter().map(|i| i["cache"].as_str().unwrap()).collect();
    assert_eq!(states, ["hit", "hit"]);
    assert!(outputs(&svc, "o") == before, "identical steps, result and sheet");
    // Another garment in step 2: step 1 is the same request, step 2 is not.
    let changed = job(&svc, "o", &outfit("top.png")).await;
    let states: Vec<&str> = changed["items"].as_array().unwrap().iter().map(|i| i["cache"].as_str().unwrap()).collect();
    assert_eq!((states.as_slice(), svc.model.calls()), (["hit", "miss"].as_slice(), 3));
}

/// `MAX_MODEL_CALLS_PER_JOB` bounds the calls a manifest may ask for, before anything is
/// looked up; what the job then pays is its misses only.
#[tokio::test]
async fn the_call_cap_and_the_spend_figures_count_paid_calls_only() {
    let svc = service_with(Config { max_model_calls_per_job: 2, ..config() });
    let two = json!({"source": "person.jpg", "garment": "top.png", "variants": [
        {"name": "a", "virtualTryOnParams": {"mergeStyle": "BALANCED"}},
        {"name": "b", "virtualTryOnParams": {"mergeStyle": "SEAMLESS"}}]});
    let first = job(&svc, "cap", &two).await;
    let second = job(&svc, "cap", &two).await;
    assert_eq!(svc.model.calls(), 2);
    let figures = |s: &Value| {
        let d = &s["diagnostics"];
        (d["modelCalls"].as_u64().unwrap(), d["cacheHits"].as_u64().unwrap(), d["costUsd"].as_f64().unwrap())
    };
    assert_eq!(figures(&first).0, 2);
    assert_eq!(figures(&second), (0, 2, 0.0));
    assert!(second["diagnostics"]["estimatedCostUsd"].as_f64().unwrap() > 0.0, "the estimate is made before lookups");
}

#[tokio::test]
async fn a_job_id_in_the_cache_folder_is_refused_and_nothing_but_entries_is_written_there() {
    let svc = service();
    for job in ["_cache", "_cache/v1/nova-canvas"] {
        upload(&svc, job, &single());
        let outcome = run(&svc, job).await;
        assert!(matches!(&outcome, Outcome::Skipped { reason } if reason.contains("reserved")), "{outcome:?}");
    }
    assert_eq!(svc.storage.keys("outputs/_cache"), Vec::<String>::new(), "no status.json in the cache's key space");
    assert_eq!(svc.model.calls(), 0);
}
