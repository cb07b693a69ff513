//! The checked-in fixtures and documents agree with the code: events/ decode to the keys they
//! are meant to carry, and every configuration variable is documented and deployed.

use std::path::Path;

use tryon::event::{parse_event, Record};

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn created_key(file: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(&read(file)).unwrap();
    match parse_event(v).unwrap().messages.pop().unwrap().records.pop().unwrap() {
        Record::Created(o) => (o.bucket, o.key),
        other => panic!("{file}: {other:?}"),
    }
}

#[test]
fn events_decode_to_their_keys() {
    assert_eq!(created_key("events/s3-put-job.json").1, "uploads/demo/job.json");
    assert_eq!(created_key("events/s3-put-job-encoded-key.json").1, "uploads/summer sale/café 1/job.json");
    assert_eq!(created_key("events/s3-put-image.json").1, "uploads/demo/person.jpg");
    assert!(read("events/s3-put-job-encoded-key.json").contains("uploads/summer+sale/caf%C3%A9+1/job.json"));
    assert_eq!(created_key("events/sqs-s3-put-job.json").1, "uploads/queued/job.json");
    assert_eq!(created_key("events/eventbridge-object-created.json").1, "uploads/bridged/job.json");
    for f in [
        "events/s3-put-job.json",
        "events/s3-put-job-encoded-key.json",
        "events/s3-put-image.json",
        "events/sqs-s3-put-job.json",
        "events/eventbridge-object-created.json",
    ] {
        assert_eq!(created_key(f).0, "tryon-example-bucket");
    }
}

/// Variables the function reads (config.rs).
const VARIABLES: &[&str] = &[
    "UPLOADS_PREFIX",
    "OUTPUTS_PREFIX",
    "MODEL_ID",
    "BEDROCK_REGION",
    "S3_FORCE_PATH_STYLE",
    "MAX_MANIFEST_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_INPUT_PIXELS",
    "MAX_INPUT_SIDE",
    "MAX_DECODE_ALLOC_BYTES",
    "MODEL_TIMEOUT_SECONDS",
    "DEADLINE_RESERVE_SECONDS",
    "MAX_ATTEMPTS",
    "LEASE_MARGIN_SECONDS",
    "REQUEST_ENCODING",
    "PARALLEL_PREPARE",
    "EMIT_METRICS",
    "PRICE_TABLE",
    "MAX_MODEL_CALLS_PER_JOB",
    "VARIANT_CONCURRENCY",
];

#[test]
fn every_variable_is_read_documented_and_the_deployed_ones_are_in_the_template() {
    let config = read("src/config/mod.rs");
    let readme = read("README.md");
    let template = read("template.yaml");
    for v in VARIABLES {
        assert!(config.contains(&format!("\"{v}\"")), "config.rs does not read {v}");
        assert!(readme.contains(&format!("`{v}`")), "README's configuration table lacks {v}");
    }
    for v in [
        "UPLOADS_PREFIX",
        "OUTPUTS_PREFIX",
        "MODEL_ID",
        "BEDROCK_REGION",
        "MODEL_TIMEOUT_SECONDS",
        "DEADLINE_RESERVE_SECONDS",
        "MAX_ATTEMPTS",
    ] {
        assert!(template.contains(&format!("{v}:")), "template.yaml does not set {v}");
    }
}

#[test]
fn every_error_code_is_documented() {
    let readme = read("README.md");
    for code in tryon::error::ErrorCode::ALL {
        assert!(readme.contains(&format!("`{}`", code.as_str())), "README lacks error code {code}");
    }
}

#[test]
fn template_timeout_leaves_room_for_the_model_call_and_the_record() {
    let template = read("template.yaml");
    let num = |key: &str| -> u64 {
        template
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().trim_matches('"').parse().unwrap())
            .unwrap()
    };
    let timeout = num("Timeout:");
    let model = num("MODEL_TIMEOUT_SECONDS:");
    let reserve = num("DEADLINE_RESERVE_SECONDS:");
    assert!(model >= 300, "AWS recommends at least 300 s for Nova Canvas");
    assert!(
        timeout >= model + reserve + 30,
        "Timeout {timeout} must exceed the model timeout {model} + reserve {reserve} + reading and preparing"
    );
    let cargo = read("Cargo.toml");
    assert!(
        cargo.contains(&format!("timeout = {timeout}")),
        "Cargo.toml's lambda metadata must match the template's Timeout"
    );
}
