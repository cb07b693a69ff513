//! No retry pays twice (fast tier): every paid reply is durable before anything is derived
//! from it, in the result cache when the call is cached, else as the job's own copy; a
//! retry after S3 failed on an output replays it instead of calling again, for every
//! backend, with the cache on and off. The copies go once the job is final. And no call is
//! made before every input of the job is known good.

use crate::fakes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fakes::{Kill, MemoryStore, ScriptedModel};
use serde_json::{json, Value};
use tryon::config::Config;
use tryon::core::backend::{Backend, Backends};
use tryon::core::manifest::CacheMode;
use tryon::entry::trigger::ObjectCreated;
use tryon::pipeline::{Outcome, Service};

const JOB: &str = "uploads/r/job.json";
const STATUS: &str = "outputs/r/status.json";

fn service(manifest: Value, cache: CacheMode) -> Service<MemoryStore, ScriptedModel> {
    let storage = MemoryStore::with_kill(Arc::new(Kill::default()));
    let person = tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(420, 560), 6).unwrap();
    storage.insert("uploads/r/person.jpg", person);
    storage.insert("uploads/r/top.png", tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(300)));
    storage.insert(JOB, serde_json::to_vec(&manifest).unwrap());
    let backends = Backends { chain: vec![Backend::NovaCanvas], enabled: Backend::ALL.to_vec() };
    let config = Config { emit_metrics: false, result_cache: cache, backends, ..tryon_tools::wiring::nova_config() };
    let model = ScriptedModel::new(storage.kill.clone());
    Service { storage, model, events: tryon::adapters::events::NoEvents, config }
}

async fn deliver(svc: &Service<MemoryStore, ScriptedModel>) -> Result<Outcome, tryon::core::error::JobError> {
    let obj = ObjectCreated { bucket: "b".into(), key: JOB.into(), etag: None, version_id: None, raw_key: None };
    svc.run_job(&obj, "r", Instant::now() + Duration::from_secs(300)).await
}

#[tokio::test]
async fn s3_failing_on_an_output_never_costs_a_second_call_with_the_cache_on_or_off() {
    for backend in Backend::ALL {
        for (cache, seed) in [(CacheMode::Off, json!(5)), (CacheMode::Auto, json!(5)), (CacheMode::Auto, Value::Null)] {
            // Converse takes no seed: its calls are never reproducible, so never cached.
            let seeded = seed.is_number() && backend.takes_seed();
            let mut manifest = json!({"source": "person.jpg", "garment": "top.png", "backend": backend.name()});
            if seeded {
                manifest["imageGenerationConfig"] = json!({"seed": seed});
            }
            let case = format!("{backend}, cache {cache:?}, seeded {seeded}");
            let svc = service(manifest, cache);
            let outputs =
                if backend == Backend::NovaCanvas { vec!["result.png", "mask.png"] } else { vec!["result.png"] };
            for failing in outputs {
                svc.storage.fail_next_put(&format!("r/{failing}"));
                assert!(deliver(&svc).await.is_err(), "{case}: S3 failing on {failing} is transient");
            }
            assert!(matches!(deliver(&svc).await, Ok(Outcome::Succeeded { .. })), "{case}");
            assert_eq!(svc.model.calls(), 1, "{case}: one paid call in all");
            let st = svc.storage.json(STATUS);
            assert_eq!(
                svc.storage.keys("outputs/r/_replies"),
                Vec::<String>::new(),
                "{case}: the job's copies are gone"
            );
            let reproducible = backend.takes_seed() && (seeded || backend == Backend::NovaCanvas);
            if cache == CacheMode::Auto && reproducible {
                // The shared cache kept the reply: the retry was a hit.
                assert_eq!(st["diagnostics"]["cache"], "hit", "{case}: {st}");
            } else {
                // The job's own copy was replayed: no call now, the paid call's cost stands.
                assert_eq!(st["diagnostics"]["cache"], "off", "{case}: {st}");
                assert!(st["diagnostics"]["costUsd"].as_f64().unwrap() > 0.0, "{case}: {st}");
                assert_eq!(st["diagnostics"]["modelCalls"], 0, "{case}: this delivery replayed, it did not call");
            }
            assert!(st["diagnostics"].get("replyKey").is_none(), "{case}: a final record names no copy: {st}");
        }
    }
}

#[tokio::test]
async fn an_outfit_or_variants_with_a_bad_input_pay_for_nothing_and_name_every_problem() {
    // An outfit whose third garment was never uploaded: nothing is paid for.
    let outfit = json!({"source": "person.jpg", "garments": [{"image": "top.png"}, {"image": "top.png"}, {"image": "boots.png"}]});
    let svc = service(outfit, CacheMode::Off);
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Failed { .. })));
    assert_eq!(svc.model.calls(), 0, "steps one and two were not paid for");
    let st = svc.storage.json(STATUS);
    assert_eq!(st["error"]["code"], "missing_object");
    assert!(st["error"]["message"].as_str().unwrap().contains("uploads/r/boots.png"), "{st}");

    // Variants: one garment missing, another not an image: both named in one message.
    let variants = json!({"source": "person.jpg", "garment": "top.png", "variants": [
        {"name": "a"}, {"name": "b", "garment": "gone.png"}, {"name": "c", "garment": "notes.png"}]});
    let svc = service(variants, CacheMode::Off);
    svc.storage.insert("uploads/r/notes.png", b"these are not pixels".to_vec());
    assert!(matches!(deliver(&svc).await, Ok(Outcome::Failed { .. })));
    assert_eq!(svc.model.calls(), 0);
    let st = svc.storage.json(STATUS);
    let message = st["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("2 inputs cannot be used, nothing was paid for"), "{message}");
    assert!(message.contains("gone.png") && message.contains("notes.png"), "{message}");
}
