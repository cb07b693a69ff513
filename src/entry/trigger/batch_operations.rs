//! S3 Batch Operations `LambdaInvoke` events: one task per object of a manifest (a CSV list or
//! an S3 Inventory report), for backfills over objects that already exist.
//!
//! Schema 1.0 names the bucket by ARN (`s3BucketArn`), 2.0 by name (`s3Bucket`) and adds
//! `job.userArguments`. Keys are URL-encoded as in S3 notifications. Each task is judged on
//! its own; its `taskId` is the message id, which the answer must echo.
//!
//! `aws_lambda_events::s3::batch_job` (1.2) models only schema 1.0 (no `s3Bucket`, no
//! `userArguments`), so the fields are read here from the documented schema.

use serde_json::Value;

use super::keys::decode_key;
use super::records::{BatchInvocation, EventError, Incoming, Message, ObjectCreated, Record, Source};

/// The schema versions this function answers.
pub const SCHEMA_VERSIONS: [&str; 2] = ["1.0", "2.0"];

/// Whether a payload is a Batch Operations invocation (its two top-level fields).
pub(super) fn is_batch_operations(v: &Value) -> bool {
    v.get("invocationSchemaVersion").is_some() && v.get("tasks").is_some()
}

/// Parses an invocation; `Err` only when it cannot be answered at all (no invocation id, no
/// schema version, no task list).
pub(super) fn parse(v: &Value) -> Result<Incoming, EventError> {
    let text = |field: &str| v.get(field).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let (Some(schema_version), Some(invocation_id)) = (text("invocationSchemaVersion"), text("invocationId")) else {
        return Err(EventError("S3 Batch Operations event without invocationSchemaVersion or invocationId".into()));
    };
    let Some(tasks) = v.get("tasks").and_then(Value::as_array) else {
        return Err(EventError("S3 Batch Operations event whose tasks is not a list".into()));
    };
    let job = &v["job"];
    let user_arguments = job["userArguments"]
        .as_object()
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default();
    let known = SCHEMA_VERSIONS.contains(&schema_version.as_str());
    let messages = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let id = t.get("taskId").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
            let record = if known {
                task(i, t)
            } else {
                Record::Malformed {
                    what: format!("tasks[{i}]"),
                    reason: format!(
                        "invocationSchemaVersion {schema_version:?} is not supported (only {})",
                        SCHEMA_VERSIONS.join(" and ")
                    ),
                }
            };
            Message { id, records: vec![record] }
        })
        .collect();
    let invocation = BatchInvocation {
        schema_version,
        invocation_id,
        job_id: job["id"].as_str().map(str::to_owned),
        user_arguments,
    };
    Ok(Incoming { source: Source::BatchOperations(invocation), messages })
}

/// One task: the object it names, or why it cannot name one.
fn task(index: usize, t: &Value) -> Record {
    let raw_key = t.get("s3Key").and_then(Value::as_str).filter(|k| !k.is_empty());
    let what = raw_key.map_or_else(|| format!("tasks[{index}]"), str::to_owned);
    let malformed = |reason: String| Record::Malformed { what: what.clone(), reason };
    if !t.is_object() {
        return malformed("the task is not an object".into());
    }
    if t.get("taskId").and_then(Value::as_str).is_none_or(str::is_empty) {
        return malformed("the task has no taskId".into());
    }
    let Some(raw_key) = raw_key else { return malformed("the task has no s3Key".into()) };
    let bucket = match (t.get("s3Bucket").and_then(Value::as_str), t.get("s3BucketArn").and_then(Value::as_str)) {
        (Some(name), _) if !name.is_empty() => name.to_owned(),
        (_, Some(arn)) => match bucket_of_arn(arn) {
            Some(name) => name.to_owned(),
            None => return malformed(format!("s3BucketArn {arn:?} is not an S3 bucket ARN")),
        },
        _ => return malformed("the task has neither s3Bucket nor s3BucketArn".into()),
    };
    let version_id = match t.get("s3VersionId") {
        None | Some(Value::Null) => None,
        Some(Value::String(v)) if v.is_empty() => None,
        Some(Value::String(v)) => Some(v.clone()),
        Some(_) => return malformed("s3VersionId is neither text nor null".into()),
    };
    match decode_key(raw_key) {
        Ok(key) => Record::Created(ObjectCreated { bucket, key, etag: None, version_id, raw_key: None }),
        Err(reason) => malformed(reason),
    }
}

/// `arn:<partition>:s3:::<bucket>` → the bucket.
fn bucket_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("s3"), Some(""), Some(""), Some(bucket)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    (!bucket.is_empty() && !bucket.contains('/')).then_some(bucket)
}

#[cfg(test)]
mod tests {
    use super::super::parse_event;
    use super::*;
    use serde_json::json;
    use tryon_tools::sample_events::sample_batch_event;

    fn invocation(incoming: &Incoming) -> &BatchInvocation {
        match &incoming.source {
            Source::BatchOperations(b) => b,
            other => panic!("{other:?}"),
        }
    }

    fn only(incoming: &Incoming) -> (&str, &Record) {
        assert_eq!(incoming.messages.len(), 1);
        let m = &incoming.messages[0];
        assert_eq!(m.records.len(), 1, "one record per task");
        (m.id.as_deref().unwrap_or_default(), &m.records[0])
    }

    #[test]
    fn schema_1_0_names_the_bucket_by_arn_and_decodes_the_key() {
        let ev = sample_batch_event("1.0", "shop-bucket", "uploads/summer sale/café+1/job.json", Some("v3"), "t1");
        assert_eq!(ev["tasks"][0]["s3Key"], "uploads/summer+sale/caf%C3%A9%2B1/job.json");
        let incoming = parse_event(ev).unwrap();
        let b = invocation(&incoming);
        assert_eq!(
            (b.schema_version.as_str(), b.invocation_id.as_str()),
            ("1.0", "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo")
        );
        assert!(b.user_arguments.is_empty());
        let (id, record) = only(&incoming);
        assert_eq!(id, "t1");
        assert_eq!(
            record,
            &Record::Created(ObjectCreated {
                bucket: "shop-bucket".into(),
                key: "uploads/summer sale/café+1/job.json".into(),
                etag: None,
                version_id: Some("v3".into()),
                raw_key: None,
            })
        );
    }

    #[test]
    fn schema_2_0_names_the_bucket_and_carries_user_arguments() {
        let mut ev = sample_batch_event("2.0", "shop-bucket", "uploads/j 1/job.json", None, "t2");
        ev["job"]["userArguments"] = json!({"reason": "backfill", "ticket": "OPS-7", "n": 3});
        let incoming = parse_event(ev).unwrap();
        let b = invocation(&incoming);
        assert_eq!(b.schema_version, "2.0");
        assert_eq!(b.job_id.as_deref(), Some("f3cc4f60-61f6-4a2b-8a21-d07600c373ce"));
        let args: Vec<_> = b.user_arguments.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(args, ["reason=backfill", "ticket=OPS-7"], "text values only");
        let Record::Created(o) = only(&incoming).1 else { panic!() };
        assert_eq!(
            (o.bucket.as_str(), o.key.as_str(), o.version_id.as_deref()),
            ("shop-bucket", "uploads/j 1/job.json", None)
        );
    }

    #[test]
    fn every_task_is_judged_alone() {
        let mut ev = sample_batch_event("1.0", "b", "uploads/ok/job.json", None, "t-ok");
        let good = ev["tasks"][0].clone();
        let with = |f: &dyn Fn(&mut Value)| {
            let mut t = good.clone();
            f(&mut t);
            t
        };
        let bad = [
            with(&|t| drop(t.as_object_mut().unwrap().remove("s3Key"))),
            with(&|t| t["s3BucketArn"] = "arn:aws:sqs:us-east-1:1:q".into()),
            with(&|t| drop(t.as_object_mut().unwrap().remove("s3BucketArn"))),
            with(&|t| t["s3Key"] = "uploads/%FF/job.json".into()),
            with(&|t| t["s3VersionId"] = json!(7)),
            with(&|t| drop(t.as_object_mut().unwrap().remove("taskId"))),
            json!("a string"),
        ];
        for (i, t) in bad.into_iter().enumerate() {
            let mut t = t;
            if t.is_object() && t.get("taskId").is_some() {
                t["taskId"] = format!("t-bad-{i}").into();
            }
            ev["tasks"].as_array_mut().unwrap().push(t);
        }
        let incoming = parse_event(ev).unwrap();
        assert_eq!(incoming.messages.len(), 8);
        assert!(matches!(incoming.messages[0].records[0], Record::Created(_)));
        let expect = [
            "no s3Key",
            "not an S3 bucket ARN",
            "neither s3Bucket",
            "UTF-8",
            "s3VersionId",
            "no taskId",
            "not an object",
        ];
        for (m, expect) in incoming.messages[1..].iter().zip(expect) {
            match &m.records[..] {
                [Record::Malformed { reason, .. }] => assert!(reason.contains(expect), "{expect}: {reason}"),
                other => panic!("{expect}: {other:?}"),
            }
        }
        assert_eq!(incoming.messages[1].id.as_deref(), Some("t-bad-0"));
        assert_eq!(incoming.messages[6].id, None, "no id to answer with");
    }

    #[test]
    fn an_unknown_schema_fails_every_task_but_is_still_answered() {
        let mut ev = sample_batch_event("2.0", "b", "uploads/j/job.json", None, "t");
        ev["invocationSchemaVersion"] = "3.0".into();
        let incoming = parse_event(ev).unwrap();
        assert_eq!(invocation(&incoming).schema_version, "3.0");
        assert!(matches!(only(&incoming).1, Record::Malformed { reason, .. } if reason.contains("not supported")));
        for broken in [
            json!({"invocationSchemaVersion": "1.0", "tasks": []}),
            json!({"invocationSchemaVersion": "1.0", "invocationId": "i", "tasks": {}}),
        ] {
            assert!(parse_event(broken).is_err());
        }
    }

    #[test]
    fn bucket_arns() {
        assert_eq!(bucket_of_arn("arn:aws:s3:::b"), Some("b"));
        assert_eq!(bucket_of_arn("arn:aws-cn:s3:::b.c"), Some("b.c"));
        for bad in ["arn:aws:s3:::", "arn:aws:s3:us-east-1::b", "arn:aws:s3:::b/k", "b", "arn:aws:s3express:::b"] {
            assert_eq!(bucket_of_arn(bad), None, "{bad}");
        }
    }
}
