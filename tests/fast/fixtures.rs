//! The checked-in fixtures and documents agree with the code: events/ decode to the keys they
//! are meant to carry, and every configuration variable is documented and deployed.

use std::path::Path;

use tryon::entry::trigger::{parse_event, Record};

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
    assert_eq!(created_key("events/sns-s3-put-job.json").1, "uploads/fanned out/job.json");
    for f in [
        "events/sns-s3-put-job.json",
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
    "MODEL_CATALOG_JSON",
    "RETIREMENT_WARNING_DAYS",
    "MAX_MODEL_CALLS_PER_JOB",
    "VARIANT_CONCURRENCY",
];

#[test]
fn every_variable_is_read_documented_and_the_deployed_ones_are_in_the_template() {
    let config = read("src/config/mod.rs");
    let readme = read("docs/operations.md");
    let template = read("template.yaml");
    for v in VARIABLES {
        assert!(config.contains(&format!("\"{v}\"")), "config.rs does not read {v}");
        assert!(readme.contains(&format!("`{v}`")), "docs/operations.md's configuration table lacks {v}");
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
    let contract = read("docs/contract.md");
    for code in tryon::core::error::ErrorCode::ALL {
        let row = format!("| `{}` |", code.as_str());
        assert!(contract.contains(&row), "docs/contract.md's error table lacks {code}");
    }
}

/// Every key path of a JSON value (`a.b`, array elements as `[]`).
fn key_paths(v: &serde_json::Value, at: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                out.insert(p.clone());
                key_paths(x, &p, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| key_paths(x, &format!("{at}[]"), out)),
        _ => {}
    }
}

#[test]
fn the_documented_status_json_is_what_the_code_writes() {
    let contract = read("docs/contract.md");
    let section = contract.split("### Outputs and `status.json`").nth(1).expect("the status section");
    let example = section.split("```json").nth(1).and_then(|b| b.split("```").next()).expect("a json example");
    let documented: serde_json::Value = serde_json::from_str(example).expect("the example is JSON");
    let status: tryon::core::status::Status =
        serde_json::from_value(documented.clone()).expect("the example is a status");
    let written = serde_json::to_value(&status).unwrap();
    let (mut a, mut b) = (Default::default(), Default::default());
    key_paths(&documented, "", &mut a);
    key_paths(&written, "", &mut b);
    let missing: Vec<_> = b.difference(&a).collect();
    let unknown: Vec<_> = a.difference(&b).collect();
    assert!(missing.is_empty(), "the code writes fields the example lacks: {missing:?}");
    assert!(unknown.is_empty(), "the example shows fields the code does not write: {unknown:?}");
}

#[test]
fn every_template_parameter_is_documented() {
    let template = read("template.yaml");
    let block = template.split("\nParameters:").nth(1).expect("Parameters");
    let docs = read("docs/operations.md");
    let names: Vec<&str> = block
        .lines()
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter_map(|l| l.strip_prefix("  ").and_then(|l| l.strip_suffix(':')))
        .filter(|n| !n.starts_with(' ') && n.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    for n in names {
        assert!(docs.contains(&format!("`{n}`")), "docs/operations.md does not document the template parameter {n}");
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

#[test]
fn the_template_and_the_docs_take_their_default_models_from_the_catalog() {
    use tryon::core::backend::Backend;
    use tryon::core::catalog::{Catalog, Date};
    let template = read("template.yaml");
    let backends_md = read("docs/backends.md");
    let catalog = Catalog::compiled();
    let default_of = |param: &str| -> String {
        let block = template.split(&format!("\n  {param}:\n")).nth(1).unwrap_or_else(|| panic!("{param} in template"));
        let line = block.lines().find_map(|l| l.trim().strip_prefix("Default: ")).unwrap();
        line.trim_matches('"').to_owned()
    };
    for (param, b) in [
        ("VertexModel", Backend::VertexVto),
        ("GeminiModel", Backend::GeminiImage),
        ("ConverseModelId", Backend::BedrockConverse),
    ] {
        let want = catalog.default_model(b, b.platform()).unwrap();
        assert_eq!(default_of(param), want, "template {param}");
        assert!(catalog.verdict(want, b.platform(), Date::today(), 0).callable(), "{want} is retired");
        assert!(backends_md.contains(&format!("`{want}`")), "docs/backends.md names {b}'s default {want}");
    }
    // Nova Canvas has no live model: no default in the template either.
    assert_eq!(default_of("ModelId"), "");
    assert_eq!(default_of("Backend"), tryon::config::Config::default().backends.chain[0].name());
}
