//! Property-based fuzzing of the three parsers that see untrusted input: events, manifests
//! and images. Bounded: `FUZZ_CASES` (default 1500) cases per property. No input may panic;
//! whatever is accepted must satisfy the invariants. Each property prints how many cases ran.

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500)
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[ -~]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "UPPER_BODY",
            "GARMENT",
            "PROMPT",
            "IMAGE",
            "premium",
            "../x",
            "/abs",
            "a.jpg",
            "ON",
            "s3://b/k"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "source",
                    "garment",
                    "virtualTryOnParams",
                    "imageGenerationConfig",
                    "maskType",
                    "garmentBasedMask",
                    "garmentClass",
                    "promptBasedMask",
                    "maskPrompt",
                    "imageBasedMask",
                    "maskImage",
                    "numberOfImages",
                    "seed",
                    "cfgScale",
                    "Records",
                    "s3",
                    "object",
                    "key",
                    "bucket",
                    "name",
                    "body",
                    "eventSource",
                    "detail",
                    "detail-type",
                    "source",
                    "eventName",
                    "other",
                ])
                .prop_map(String::from),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a random path of `base` with `replacement`.
fn mutate(mut base: Value, path: &[usize], replacement: Value) -> Value {
    fn go(v: &mut Value, path: &[usize], r: Value) {
        match (path.split_first(), v) {
            (Some((&i, rest)), Value::Object(m)) if !m.is_empty() => {
                let k = m.keys().nth(i % m.len()).cloned().unwrap_or_default();
                if let Some(child) = m.get_mut(&k) {
                    go(child, rest, r);
                }
            }
            (Some((&i, rest)), Value::Array(a)) if !a.is_empty() => {
                let n = a.len();
                go(&mut a[i % n], rest, r);
            }
            (_, v) => *v = r,
        }
    }
    go(&mut base, path, replacement);
    base
}

static EVENTS: AtomicUsize = AtomicUsize::new(0);
static MANIFESTS: AtomicUsize = AtomicUsize::new(0);
static IMAGES: AtomicUsize = AtomicUsize::new(0);

fn check_event(v: Value) {
    EVENTS.fetch_add(1, Ordering::Relaxed);
    if let Ok(incoming) = tryon::entry::trigger::parse_event(v) {
        for m in incoming.messages {
            for r in m.records {
                if let tryon::entry::trigger::Record::Created(o) = r {
                    assert!(!o.key.is_empty() && !o.bucket.is_empty());
                    let _ = tryon::pipeline::job_id(&o.key, "uploads/");
                }
            }
        }
    }
}

fn check_manifest(bytes: &[u8]) {
    MANIFESTS.fetch_add(1, Ordering::Relaxed);
    if let Ok(spec) = tryon::core::manifest::parse(bytes, "uploads/job/", &[tryon::core::backend::Backend::NovaCanvas])
    {
        for key in [Some(&spec.source_key), Some(&spec.garment_key), spec.mask_key.as_ref()].into_iter().flatten() {
            let rest = key.strip_prefix("uploads/job/").expect("inside the job folder");
            assert!(!rest.split('/').any(|s| s == ".." || s.is_empty()), "{key}");
        }
        assert!((1..=5).contains(&spec.number_of_images()));
    }
}

fn run<S: Strategy>(
    name: &str,
    counter: &AtomicUsize,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let result = runner.run(&strategy, test);
    println!(
        "fuzz {name}: {} inputs from {} cases, {}",
        counter.load(Ordering::Relaxed),
        cases(),
        if result.is_ok() { "no failure" } else { "FAILED" }
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

#[test]
fn event_parser_never_panics() {
    let strategy = (json_value(), prop::collection::vec(any::<usize>(), 0..6), ".{0,40}");
    run("event parser", &EVENTS, strategy, |(v, path, key)| {
        check_event(v.clone());
        let sample = tryon_tools::sample_events::sample_put_event("b", &key, "\"e\"", 1, "us-east-1");
        check_event(mutate(sample, &path, v.clone()));
        check_event(tryon_tools::sample_events::sample_sqs_event("b", &key, "e", "us-east-1", "m"));
        check_event(mutate(
            tryon_tools::sample_events::sample_eventbridge_event("b", &key, "e", "us-east-1"),
            &path,
            v,
        ));
        let _ = tryon::entry::trigger::decode_key(&key);
        prop_assert_eq!(
            tryon::entry::trigger::decode_key(&tryon::entry::trigger::encode_key(&key)).ok(),
            (!key.is_empty()).then(|| key.clone())
        );
        Ok(())
    });
}

#[test]
fn manifest_parser_never_panics() {
    let strategy =
        (json_value(), prop::collection::vec(any::<usize>(), 0..5), prop::collection::vec(any::<u8>(), 0..200));
    run("manifest parser", &MANIFESTS, strategy, |(v, path, bytes)| {
        check_manifest(&bytes);
        check_manifest(&serde_json::to_vec(&v).unwrap());
        let full = json!({
            "source": "person.jpg", "garment": "g.png",
            "virtualTryOnParams": {"maskType": "GARMENT", "garmentBasedMask": {"garmentClass": "UPPER_BODY", "maskShape": "DEFAULT",
                "garmentStyling": {"outerLayerStyle": "OPEN"}}, "maskExclusions": {"preserveFace": "ON"}, "mergeStyle": "SEAMLESS", "returnMask": true},
            "imageGenerationConfig": {"numberOfImages": 2, "quality": "premium", "cfgScale": 6.5, "seed": 42}
        });
        check_manifest(&serde_json::to_vec(&mutate(full, &path, v)).unwrap());
        Ok(())
    });
}

fn seeds() -> Vec<Vec<u8>> {
    use image::{DynamicImage, ImageFormat};
    let person = tryon_tools::samples::person(80, 100);
    let mut webp = Vec::new();
    DynamicImage::ImageRgb8(person.clone()).write_to(&mut std::io::Cursor::new(&mut webp), ImageFormat::WebP).unwrap();
    vec![
        tryon_tools::samples::phone_jpeg(&person, 6).unwrap(),
        tryon_tools::samples::png_rgb(&person),
        tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(64)),
        webp,
    ]
}

#[test]
fn image_preparation_never_panics() {
    let strategy =
        (0usize..4, prop::collection::vec((any::<usize>(), any::<u8>()), 0..8), any::<usize>(), any::<bool>());
    let seeds = seeds();
    run("image preparation", &IMAGES, strategy, |(which, flips, cut, truncate)| {
        IMAGES.fetch_add(1, Ordering::Relaxed);
        let mut bytes = seeds[which].clone();
        for (pos, val) in flips {
            let n = bytes.len();
            bytes[pos % n] = val;
        }
        if truncate {
            let n = bytes.len();
            bytes.truncate(cut % n);
        }
        let limits = tryon::core::input_limits::Limits {
            max_input_pixels: 4_000_000,
            max_input_side: 4096,
            max_decode_alloc: 64 << 20,
            ..Default::default()
        };
        match tryon::core::image::prepare(&bytes, &limits, "fuzzed") {
            Ok(p) => {
                let (w, h) = p.canvas.dimensions();
                prop_assert!((320..=4096).contains(&w) && (320..=4096).contains(&h));
            }
            Err(e) => prop_assert!(
                matches!(e.code.as_str(), "invalid_image" | "unsupported_image" | "image_too_large"),
                "unexpected code {}",
                e
            ),
        }
        Ok(())
    });
}
