//! Security promises: logs carry no image bytes, base64 or credentials (checked at DEBUG,
//! stricter than the deployed INFO), and the template grants least privilege.

use crate::support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;
use serde_yaml::Value as Yaml;
use support::*;
use tryon_emulators::Fault;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn longest_base64_run(text: &str) -> usize {
    let mut best = 0;
    let mut cur = 0;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=' {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_images_base64_or_credentials() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt().with_max_level(tracing::Level::DEBUG).json().with_writer(move || writer.clone()).init();
    let w = World::new().await;
    w.upload_job(
        "logged",
        &[("person.jpg", person_jpeg()), ("g.png", garment_png())],
        &json!({"source": "person.jpg", "garment": "g.png"}),
    )
    .await;
    w.deliver("uploads/logged/job.json").await.unwrap();
    // Error paths log too: a throttled call, a bad manifest, a content filter.
    for _ in 0..3 {
        w.emulator.push_fault(Fault::Throttling);
    }
    w.upload_job(
        "t",
        &[("person.jpg", person_jpeg()), ("g.png", garment_png())],
        &json!({"source": "person.jpg", "garment": "g.png"}),
    )
    .await;
    let _ = w.deliver("uploads/t/job.json").await;
    w.emulator.push_fault(Fault::InputModeration);
    w.deliver_as("uploads/t/job.json", "req-1", std::time::Duration::from_secs(300)).await.unwrap();
    w.upload_job("bad", &[], &json!({"source": "../x.jpg", "garment": "g.png"})).await;
    w.deliver("uploads/bad/job.json").await.unwrap();

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines = logs.lines().count();
    println!(
        "security: {lines} log lines ({} bytes) at DEBUG; longest base64-like run {} chars",
        logs.len(),
        longest_base64_run(&logs)
    );
    assert!(logs.contains("job finished") && logs.contains("\"job\":\"logged\""), "the job's logs carry its id");
    assert!(!logs.contains("iVBORw0KGgo"), "base64 PNG in logs");
    assert!(!logs.contains("/9j/"), "base64 JPEG in logs");
    assert!(longest_base64_run(&logs) < 120, "a long base64-like run is in the logs");
    for secret in ["AWS4-HMAC-SHA256 Credential", "Signature=", "x-amz-security-token"] {
        assert!(!logs.contains(secret), "{secret} in logs");
    }
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The plain text of a scalar or a CloudFormation intrinsic (`!Sub`, `!Ref`, ...).
fn text(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Tagged(t) => format!("{} {}", t.tag, text(&t.value)),
        Yaml::Sequence(s) => s.iter().map(text).collect::<Vec<_>>().join(" "),
        Yaml::Mapping(m) => m.iter().map(|(k, v)| format!("{}={}", text(k), text(v))).collect::<Vec<_>>().join(" "),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_owned(),
    }
}

/// Every IAM statement under `Policies` of every function, through `!If` branches.
fn function_statements(t: &Yaml) -> Vec<Yaml> {
    fn collect(v: &Yaml, out: &mut Vec<Yaml>) {
        match v {
            Yaml::Mapping(m) => {
                if let Some(s) = m.get("Statement") {
                    if let Yaml::Sequence(items) = s {
                        out.extend(items.iter().cloned());
                    }
                } else {
                    m.values().for_each(|x| collect(x, out));
                }
            }
            Yaml::Sequence(s) => s.iter().for_each(|x| collect(x, out)),
            Yaml::Tagged(tv) => collect(&tv.value, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (_, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"] == "AWS::Serverless::Function" {
            collect(&r["Properties"]["Policies"], &mut out);
        }
    }
    out
}

#[test]
fn template_grants_least_privilege() {
    let t = template();
    let statements = function_statements(&t);
    assert!(statements.len() >= 4, "found {} statements", statements.len());
    for s in &statements {
        let actions = text(&s["Action"]);
        let resources = text(&s["Resource"]);
        assert_eq!(text(&s["Effect"]), "Allow");
        assert!(!actions.split_whitespace().any(|a| a == "*" || a.ends_with(":*")), "wildcard action: {actions}");
        assert!(!resources.split_whitespace().any(|r| r == "*"), "wildcard resource for {actions}");
        for a in actions.split_whitespace() {
            match a {
                "s3:GetObject" | "s3:PutObject" => assert!(
                    resources.contains("${UploadsPrefix}*") || resources.contains("${OutputsPrefix}*"),
                    "{a} must be limited to the two prefixes: {resources}"
                ),
                // Only the job's own copies of paid replies, never an input or an output.
                "s3:DeleteObject" => {
                    assert!(
                        resources.contains("${OutputsPrefix}*/_replies/*"),
                        "DeleteObject on reply copies only: {resources}"
                    )
                }
                "s3:ListBucket" => {
                    assert!(text(&s["Condition"]).contains("s3:prefix"), "ListBucket must be limited by prefix")
                }
                // Nova Canvas on its one model; Converse on its one inference profile, and on
                // its one foundation model only through that profile.
                "bedrock:InvokeModel" => assert!(
                    resources.contains("foundation-model/${ModelId}")
                        || resources.contains("inference-profile/${ConverseModelId}")
                        || (resources.contains("foundation-model/${ConverseFoundationModelId}")
                            && text(&s["Condition"]).contains("bedrock:InferenceProfileArn")),
                    "{resources}"
                ),
                "secretsmanager:GetSecretValue" => {
                    assert!(resources.ends_with("Ref GoogleCredentialsSecretArn"), "the one secret only: {resources}")
                }
                // The job queue (SQS buffer) and the overflow queue of events Lambda gave up on.
                a if a.starts_with("sqs:") => assert!(
                    resources.contains("JobQueue") || resources.contains("FailedEventsQueue"),
                    "{a} on {resources}"
                ),
                // Completion events: the one bus EventBusName names.
                "events:PutEvents" => {
                    assert!(resources.ends_with(":event-bus/${EventBusName}"), "the one bus only: {resources}")
                }
                other => panic!("undocumented permission {other}"),
            }
        }
        if actions.contains("s3:PutObject") {
            assert!(!resources.contains("${UploadsPrefix}"), "the function must never write under the uploads prefix");
        }
    }
    let bucket = &t["Resources"]["TryOnBucket"]["Properties"];
    let pab = &bucket["PublicAccessBlockConfiguration"];
    for k in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(pab[k], Yaml::Bool(true), "{k}");
    }
    assert!(text(&bucket["BucketEncryption"]).contains("SSEAlgorithm"));
    let policy = &t["Resources"]["TryOnBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(text(&policy["Effect"]), "Deny");
    assert!(text(&policy["Condition"]).contains("aws:SecureTransport=false"), "{}", text(&policy["Condition"]));
}
