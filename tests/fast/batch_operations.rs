//! S3 Batch Operations through the real handler: the answer per outcome in memory (a store
//! with S3's conditional writes and a scripted model), then exactly-once across Batch
//! Operations tasks and S3 notifications against moto and the Nova Canvas emulator.

use crate::fakes::{self, only, results};

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fakes::{Kill, MemoryStore, ScriptedModel};
use serde_json::{json, Value};
use tryon::adapters::model::ModelFailureKind;
use tryon::config::Config;
use tryon::entry::trigger::{parse_event, Record, Source};
use tryon::entry::{self, Invocation, Summary};
use tryon::pipeline::Service;
use tryon_tools::sample_events::{sample_batch_event, sample_put_event};

const JOB: &str = "uploads/j/job.json";
const STATUS: &str = "outputs/j/status.json";

type Svc = Service<MemoryStore, ScriptedModel>;

fn service(manifest: Value) -> Arc<Svc> {
    let storage = MemoryStore::with_kill(Arc::new(Kill::default()));
    storage.insert(
        "uploads/j/person.jpg",
        tryon_tools::samples::phone_jpeg(&tryon_tools::samples::person(420, 560), 1).unwrap(),
    );
    storage.insert("uploads/j/top.png", tryon_tools::samples::png_rgba(&tryon_tools::samples::garment(400)));
    storage.insert(JOB, serde_json::to_vec(&manifest).unwrap());
    let model = ScriptedModel::new(storage.kill.clone());
    Arc::new(Service {
        storage,
        model,
        events: tryon::adapters::events::NoEvents,
        config: Config { emit_metrics: false, ..tryon_tools::wiring::nova_config() },
    })
}

fn good_manifest() -> Value {
    json!({"source": "person.jpg", "garment": "top.png"})
}

fn invocation(request: &str) -> Invocation {
    let deadline_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 + 300_000;
    Invocation::new(request, deadline_ms, Duration::from_secs(300))
}

async fn invoke<S: tryon::adapters::storage::Storage, M: tryon::adapters::model::Model>(
    svc: &Service<S, M>,
    payload: Value,
    request: &str,
) -> Summary {
    entry::handle(svc, payload, &invocation(request)).await.expect("Batch Operations invocations are answered")
}

/// A task for `key` in schema 2.0.
fn task(key: &str, task_id: &str) -> Value {
    sample_batch_event("2.0", "b", key, None, task_id)
}

#[tokio::test]
async fn both_schemas_run_the_job_and_echo_the_invocation() {
    for version in ["1.0", "2.0"] {
        let svc = service(good_manifest());
        let event = sample_batch_event(version, "b", JOB, None, "task-1");
        let summary = invoke(&*svc, event.clone(), "req-1").await;
        let r = summary.response();
        assert_eq!(r["invocationSchemaVersion"], version);
        assert_eq!(r["invocationId"], event["invocationId"]);
        assert_eq!(r["treatMissingKeysAs"], "PermanentFailure");
        assert_eq!(results(&summary), [("task-1".into(), "Succeeded".into(), "succeeded".into())], "{version}");
        assert_eq!(svc.storage.json(STATUS)["state"], "succeeded");
        assert_eq!(svc.model.calls(), 1);
        assert_eq!(summary.records[0].outcome, "succeeded", "the log summary says what happened");
    }
}

#[tokio::test]
async fn a_finished_job_answers_from_its_status_without_calling_the_model() {
    let svc = service(good_manifest());
    invoke(&*svc, task(JOB, "t1"), "req-1").await;
    let again = invoke(&*svc, task(JOB, "t1"), "req-2").await;
    assert_eq!(only(&again), ("Succeeded".into(), "succeeded".into()));
    assert_eq!(again.records[0].outcome, "duplicate");
    assert_eq!(svc.model.calls(), 1);
}

#[tokio::test]
async fn a_failed_job_is_a_task_that_succeeded_with_its_code() {
    let svc = service(json!({"source": "person.jpg"}));
    let first = invoke(&*svc, task(JOB, "t1"), "req-1").await;
    assert_eq!(only(&first), ("Succeeded".into(), "failed: invalid_manifest".into()));
    let again = invoke(&*svc, task(JOB, "t1"), "req-2").await;
    assert_eq!(only(&again), ("Succeeded".into(), "failed: invalid_manifest".into()), "from status.json");
    assert_eq!(again.records[0].outcome, "duplicate");
    assert_eq!(svc.model.calls(), 0);
}

#[tokio::test]
async fn a_transient_failure_is_temporary_and_the_retry_finishes_the_job() {
    let svc = service(good_manifest());
    svc.model.fail_once("VIRTUAL_TRY_ON", ModelFailureKind::Throttled);
    let first = invoke(&*svc, task(JOB, "t1"), "req-1").await;
    let (code, text) = only(&first);
    assert_eq!(code, "TemporaryFailure");
    assert!(text.starts_with("throttled: "), "{text}");
    assert_eq!(svc.storage.json(STATUS)["state"], "processing");
    // Batch Operations retries the task in a new invocation.
    let retry = invoke(&*svc, task(JOB, "t1"), "req-2").await;
    assert_eq!(only(&retry), ("Succeeded".into(), "succeeded".into()));
    assert_eq!(svc.model.calls(), 2);
}

#[tokio::test]
async fn a_permanent_model_failure_answers_succeeded_with_its_code() {
    let svc = service(good_manifest());
    svc.model.fail_once("VIRTUAL_TRY_ON", ModelFailureKind::Validation);
    let summary = invoke(&*svc, task(JOB, "t1"), "req-1").await;
    let (code, text) = only(&summary);
    assert_eq!(code, "Succeeded");
    assert!(text.starts_with("failed: "), "{text}");
    assert_eq!(text, format!("failed: {}", svc.storage.json(STATUS)["error"]["code"].as_str().unwrap()));
}

#[tokio::test]
async fn tasks_that_start_no_job_fail_permanently_and_alone() {
    let svc = service(good_manifest());
    let mut event = task("uploads/j/person.jpg", "t-image");
    let base = event["tasks"][0].clone();
    let mut outside = base.clone();
    outside["taskId"] = "t-outside".into();
    outside["s3Key"] = "outputs/j/job.json".into();
    let mut no_key = base.clone();
    no_key["taskId"] = "t-no-key".into();
    no_key.as_object_mut().unwrap().remove("s3Key");
    let mut no_id = base.clone();
    no_id.as_object_mut().unwrap().remove("taskId");
    no_id["s3Key"] = JOB.into();
    let mut good = base.clone();
    good["taskId"] = "t-good".into();
    good["s3Key"] = JOB.into();
    event["tasks"].as_array_mut().unwrap().extend([outside, no_key, no_id, good]);
    let summary = invoke(&*svc, event, "req-1").await;
    let r = results(&summary);
    let ids: Vec<_> = r.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, ["t-image", "t-outside", "t-no-key", "t-good"], "a task without a taskId has no result");
    for (id, code, text) in &r[..3] {
        assert_eq!(code, "PermanentFailure", "{id}");
        assert!(!text.is_empty(), "{id}");
    }
    assert!(r[0].2.starts_with("skipped: not a job manifest"), "{}", r[0].2);
    assert!(r[1].2.starts_with("skipped: key is outside the uploads prefix"), "{}", r[1].2);
    assert_eq!(r[2].2, "malformed: the task has no s3Key");
    assert_eq!((r[3].1.as_str(), r[3].2.as_str()), ("Succeeded", "succeeded"));
    assert_eq!(svc.model.calls(), 1);
}

/// Waits until a delivery has claimed the job.
async fn claimed(svc: &Svc) {
    for _ in 0..200 {
        if svc.storage.object(STATUS).is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the job was never claimed");
}

#[tokio::test]
async fn a_task_for_a_job_in_flight_is_retried_then_answered_from_its_status() {
    let svc = service(good_manifest());
    svc.model.delay("VIRTUAL_TRY_ON", 400);
    let notified = {
        let svc = svc.clone();
        tokio::spawn(async move { invoke(&*svc, sample_put_event("b", JOB, "\"e\"", 10, "us-east-1"), "req-s3").await })
    };
    claimed(&svc).await;
    let during = invoke(&*svc, task(JOB, "t1"), "req-batch").await;
    let (code, text) = only(&during);
    assert_eq!(code, "TemporaryFailure", "S3 Batch Operations must ask again");
    assert!(text.starts_with("processing: in progress under another invocation"), "{text}");
    assert_eq!(notified.await.unwrap().records[0].outcome, "succeeded");
    let after = invoke(&*svc, task(JOB, "t1"), "req-batch-retry").await;
    assert_eq!(only(&after), ("Succeeded".into(), "succeeded".into()));
    assert_eq!(svc.model.calls(), 1);
}

#[tokio::test]
async fn a_notification_for_a_job_a_task_is_running_is_a_duplicate() {
    let svc = service(good_manifest());
    svc.model.delay("VIRTUAL_TRY_ON", 400);
    let batch = {
        let svc = svc.clone();
        tokio::spawn(async move { invoke(&*svc, task(JOB, "t1"), "req-batch").await })
    };
    claimed(&svc).await;
    let notified = invoke(&*svc, sample_put_event("b", JOB, "\"e\"", 10, "us-east-1"), "req-s3").await;
    assert_eq!(notified.records[0].outcome, "duplicate");
    assert_eq!(only(&batch.await.unwrap()), ("Succeeded".into(), "succeeded".into()));
    assert_eq!(svc.model.calls(), 1);
}

#[test]
fn sample_events_decode_to_their_tasks() {
    for (file, version) in [("events/s3-batch-v1.json", "1.0"), ("events/s3-batch-v2.json", "2.0")] {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        assert!(text.contains("uploads/summer+sale/caf%C3%A9+1/job.json"), "{file}: the key as S3 encodes it");
        let incoming = parse_event(serde_json::from_str(&text).unwrap()).unwrap();
        let Source::BatchOperations(b) = &incoming.source else { panic!("{file}: {:?}", incoming.source) };
        assert_eq!(b.schema_version, version);
        let Record::Created(o) = &incoming.messages[0].records[0] else { panic!("{file}") };
        assert_eq!(
            (o.bucket.as_str(), o.key.as_str(), o.version_id.as_deref()),
            ("tryon-example-bucket", "uploads/summer sale/café 1/job.json", None),
            "{file}"
        );
    }
}

// Against moto and the emulator: the real S3 client, real conditional writes, real versions.

/// The plain text of a template value, CloudFormation tags included (`!Sub …`).
fn yaml_text(v: &serde_yaml::Value) -> String {
    use serde_yaml::Value as Y;
    match v {
        Y::String(s) => s.clone(),
        Y::Tagged(t) => format!("{} {}", t.tag, yaml_text(&t.value)),
        Y::Sequence(s) => s.iter().map(yaml_text).collect::<Vec<_>>().join(" "),
        Y::Mapping(m) => {
            m.iter().map(|(k, v)| format!("{}={}", yaml_text(k), yaml_text(v))).collect::<Vec<_>>().join(" ")
        }
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_owned(),
    }
}

#[test]
fn the_batch_operations_role_can_only_invoke_the_function_and_use_its_prefix() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let role = &t["Resources"]["BatchOperationsRole"]["Properties"];
    let trust = &role["AssumeRolePolicyDocument"]["Statement"];
    assert_eq!(trust.as_sequence().map(Vec::len), Some(1));
    assert_eq!(yaml_text(&trust[0]["Principal"]["Service"]), "batchoperations.s3.amazonaws.com");
    assert!(yaml_text(&trust[0]["Condition"]).contains("aws:SourceAccount"), "confused-deputy protection");
    let statements = role["Policies"][0]["PolicyDocument"]["Statement"].as_sequence().unwrap();
    let mut actions = Vec::new();
    for s in statements {
        let resources = yaml_text(&s["Resource"]);
        assert!(!resources.split_whitespace().any(|r| r == "*"), "{resources}");
        for a in yaml_text(&s["Action"]).split_whitespace() {
            match a {
                "lambda:InvokeFunction" => assert!(resources.contains("TryOnFunction.Arn"), "{resources}"),
                "s3:GetObject" | "s3:GetObjectVersion" | "s3:PutObject" => {
                    assert!(resources.contains("/${BatchOperationsPrefix}*"), "{a} on {resources}")
                }
                "s3:GetBucketLocation" => assert!(!resources.contains('/'), "{resources}"),
                other => panic!("unexpected permission {other}"),
            }
            actions.push(a.to_owned());
        }
    }
    actions.sort();
    assert_eq!(
        actions,
        ["lambda:InvokeFunction", "s3:GetBucketLocation", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    );
    for output in ["BatchOperationsRoleArn", "BatchOperationsFunctionArn", "BatchOperationsLocation"] {
        assert!(t["Outputs"][output]["Value"] != serde_yaml::Value::Null, "output {output}");
    }
}
