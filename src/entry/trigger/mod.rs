//! The triggers: turns an incoming Lambda payload into the objects it announces
//! (`records`), keys decoded as S3 encodes them (`keys`). Which key is a job is the
//! pipeline's rule (`crate::pipeline::job_id`). Pure: no I/O, no AWS clients.
//!
//! Accepted payloads: S3 notifications (direct, or wrapped in SNS by a topic subscribed to
//! the function), SQS batches whose bodies are S3 notifications (also wrapped in SNS, or
//! EventBridge events; `s3:TestEvent` is skipped),
//! EventBridge "Object Created" events from S3, S3 Batch Operations invocations
//! ([`batch_operations`]), and SQS messages that are Lambda's asynchronous invocation records
//! of either S3 or EventBridge event ([`invocation_record`]: the overflow queue).
//!
//! Each record is judged on its own: one malformed record never hides the valid ones
//! delivered beside it.

use aws_lambda_events::s3::S3EventRecord;
use serde_json::Value;

pub mod batch_operations;
pub mod invocation_record;

mod keys;
mod records;

pub use keys::{decode_key, encode_key};
pub use records::{BatchInvocation, EventError, Incoming, Message, ObjectCreated, Record, Source};

/// Parses any accepted payload.
pub fn parse_event(mut payload: Value) -> Result<Incoming, EventError> {
    if is_eventbridge(&payload) {
        return Ok(Incoming {
            source: Source::EventBridge,
            messages: vec![Message { id: None, records: vec![eventbridge(&payload)] }],
        });
    }
    if batch_operations::is_batch_operations(&payload) {
        return batch_operations::parse(&payload);
    }
    let Some(Value::Array(records)) = payload.get_mut("Records").map(Value::take) else {
        return Err(EventError(
            "expected an S3 notification, an SQS batch, an EventBridge Object Created event or an S3 Batch Operations invocation"
                .into(),
        ));
    };
    // Any record, not the first: a batch whose first record is broken is still a batch,
    // and its messages must be redelivered rather than read as S3 records and dropped.
    // S3 → SNS → Lambda: each record carries one SNS notification whose message is the S3
    // notification, as it is inside SQS.
    if records.iter().any(|r| r.get("EventSource").and_then(Value::as_str) == Some("aws:sns")) {
        let records = records.iter().flat_map(sns_record).collect();
        return Ok(Incoming { source: Source::Sns, messages: vec![Message { id: None, records }] });
    }
    if records.iter().any(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")) {
        let messages = records.iter().map(sqs_message).collect();
        return Ok(Incoming { source: Source::Sqs, messages });
    }
    Ok(Incoming { source: Source::S3, messages: vec![Message { id: None, records: records_of(records) }] })
}

/// Parses an S3 notification (`Records[].s3`); a malformed record becomes [`Record::Malformed`].
pub fn s3_records(mut payload: Value) -> Result<Vec<Record>, EventError> {
    match payload.get_mut("Records").map(Value::take) {
        Some(Value::Array(records)) => Ok(records_of(records)),
        _ => Err(EventError("not an S3 notification: expected a Records list".into())),
    }
}

fn records_of(records: Vec<Value>) -> Vec<Record> {
    records.into_iter().enumerate().map(|(i, r)| s3_record(i, r)).collect()
}

/// One element of `Records`, parsed alone so that its problems stay its own.
fn s3_record(index: usize, raw: Value) -> Record {
    let what = match raw.pointer("/s3/object/key").and_then(Value::as_str) {
        Some(key) if !key.is_empty() => key.to_owned(),
        _ => format!("Records[{index}]"),
    };
    match serde_path_to_error::deserialize::<_, S3EventRecord>(raw) {
        Ok(r) => record(r, what),
        Err(e) => {
            let path = e.path().to_string();
            let at = if path == "." { String::new() } else { format!("{path}: ") };
            Record::Malformed { what, reason: format!("not an S3 event record: {at}{}", e.into_inner()) }
        }
    }
}

/// One record of an SNS delivery: its notification's message, read as an SQS body is.
fn sns_record(r: &Value) -> Vec<Record> {
    match r.pointer("/Sns/Message").and_then(Value::as_str) {
        Some(message) => message_body(message, "SNS message"),
        None => vec![Record::Malformed {
            what: "SNS record".into(),
            reason: "the SNS record has no Sns.Message text".into(),
        }],
    }
}

fn sqs_message(r: &Value) -> Message {
    let id = r.get("messageId").and_then(Value::as_str).map(str::to_owned);
    let records = match r.get("body").and_then(Value::as_str) {
        Some(body) => message_body(body, "SQS message"),
        None => vec![malformed_message("SQS message", "the SQS record has no body text")],
    };
    Message { id, records }
}

fn malformed_message(what: &str, reason: impl Into<String>) -> Record {
    Record::Malformed { what: what.into(), reason: reason.into() }
}

/// The records of one SQS message body: an S3 notification, the same wrapped in an SNS
/// envelope, an EventBridge event, or Lambda's invocation record of either (the overflow queue). Events of other kinds are ignored (not jobs); a body
/// that is none of these is malformed.
fn message_body(body: &str, what: &str) -> Vec<Record> {
    let ignored = |reason: String| vec![Record::Ignored { what: what.into(), reason }];
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return vec![malformed_message(what, "the message body is not JSON")];
    };
    if v.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return ignored("s3:TestEvent (sent when notifications are configured)".into());
    }
    match v.get("Type").and_then(Value::as_str) {
        Some("Notification") => {
            return match v.get("Message").and_then(Value::as_str) {
                Some(inner) => message_body(inner, what),
                None => vec![malformed_message(what, "the SNS notification has no Message text")],
            }
        }
        // SubscriptionConfirmation and the like: SNS talking about itself.
        Some(kind) if v.get("TopicArn").is_some() => return ignored(format!("SNS {kind} message")),
        _ => {}
    }
    if invocation_record::is_invocation_record(&v) {
        return match invocation_record::original_event(v) {
            Ok(event) => event_body(event, what),
            Err(reason) => vec![malformed_message(what, reason)],
        };
    }
    event_body(v, what)
}

/// An S3 notification or EventBridge event carried by a message (directly, or as the original
/// event of an invocation record).
fn event_body(v: Value, what: &str) -> Vec<Record> {
    let ignored = |reason: String| vec![Record::Ignored { what: what.into(), reason }];
    if is_eventbridge(&v) {
        return vec![eventbridge(&v)];
    }
    if let (Some(_), Some(source)) = (v.get("detail-type"), v.get("source").and_then(Value::as_str)) {
        return ignored(format!("EventBridge event from {source:?}, not aws.s3"));
    }
    if v.get("Records").is_some() {
        return s3_records(v).unwrap_or_else(|e| vec![malformed_message(what, e.0)]);
    }
    vec![malformed_message(what, "the message body is not an S3 notification, an SNS notification, an EventBridge event or an invocation record of one")]
}

fn is_eventbridge(v: &Value) -> bool {
    v.get("detail-type").is_some() && v.get("source").and_then(Value::as_str) == Some("aws.s3")
}

fn eventbridge(v: &Value) -> Record {
    let detail = &v["detail"];
    let raw_key = detail["object"]["key"].as_str().unwrap_or_default();
    let what = if raw_key.is_empty() { "EventBridge event".to_owned() } else { raw_key.to_owned() };
    let malformed = |reason: &str| Record::Malformed { what: what.clone(), reason: reason.into() };
    let Some(kind) = v["detail-type"].as_str() else { return malformed("detail-type is not text") };
    if kind != "Object Created" {
        return Record::Ignored { what, reason: format!("EventBridge {kind:?} is not Object Created") };
    }
    let Some(bucket) = detail["bucket"]["name"].as_str().filter(|b| !b.is_empty()) else {
        return malformed("Object Created event has no detail.bucket.name");
    };
    if raw_key.is_empty() {
        return malformed("Object Created event has no detail.object.key");
    }
    let opt = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(|s| s.to_owned());
    // S3 documents form encoding for its notifications but not for EventBridge: decode the
    // same way, and keep the raw key to try if the decoded one does not exist.
    let key = decode_key(raw_key).unwrap_or_else(|_| raw_key.to_owned());
    Record::Created(ObjectCreated {
        bucket: bucket.to_owned(),
        raw_key: (key != raw_key).then(|| raw_key.to_owned()),
        key,
        etag: opt(&detail["object"]["etag"]),
        version_id: opt(&detail["object"]["version-id"]),
    })
}

/// Judges a record that parsed: `what` names it in reports.
fn record(r: S3EventRecord, what: String) -> Record {
    let Some(event_name) = r.event_name else {
        return Record::Malformed { what, reason: "record has no eventName".into() };
    };
    if !event_name.starts_with("ObjectCreated:") {
        return Record::Ignored { what, reason: format!("event {event_name:?} is not ObjectCreated") };
    }
    let Some(bucket) = r.s3.bucket.name.filter(|b| !b.is_empty()) else {
        return Record::Malformed { what, reason: "ObjectCreated record has no s3.bucket.name".into() };
    };
    let Some(raw_key) = r.s3.object.key.filter(|k| !k.is_empty()) else {
        return Record::Malformed { what, reason: "ObjectCreated record has no s3.object.key".into() };
    };
    match decode_key(&raw_key) {
        Ok(key) => Record::Created(ObjectCreated {
            bucket,
            key,
            etag: r.s3.object.e_tag.filter(|e| !e.is_empty()),
            version_id: r.s3.object.version_id.filter(|v| !v.is_empty()),
            raw_key: None,
        }),
        Err(reason) => Record::Ignored { what: raw_key, reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tryon_tools::sample_events::{sample_eventbridge_event, sample_put_event, sample_sns_event, sample_sqs_event};

    #[test]
    fn decodes_plus_before_percent() {
        assert_eq!(decode_key("uploads/red+flower/job.json").unwrap(), "uploads/red flower/job.json");
        assert_eq!(decode_key("uploads/a%2Bb/job.json").unwrap(), "uploads/a+b/job.json");
        assert_eq!(decode_key("uploads/caf%C3%A9+%E6%97%A5/job.json").unwrap(), "uploads/café 日/job.json");
        assert_eq!(decode_key("uploads/100%25/job.json").unwrap(), "uploads/100%/job.json");
        assert!(decode_key("uploads/%FF/job.json").is_err());
        for bad in ["uploads/%ZZ/job.json", "uploads/a%/job.json", "uploads/a/job.json%", "uploads/%2/job.json"] {
            assert!(decode_key(bad).unwrap_err().contains("two hex digits"), "{bad}");
        }
        // A notification naming such a key is skipped with its reason: no job, no status.json.
        let mut ev = sample_put_event("b", "uploads/x/job.json", "\"e\"", 10, "us-east-1");
        ev["Records"][0]["s3"]["object"]["key"] = json!("uploads/%ZZ/job.json");
        let records = parse_event(ev).unwrap().messages.pop().unwrap().records;
        assert!(
            matches!(&records[..], [Record::Ignored { reason, .. }] if reason.contains("not form-encoded")),
            "{records:?}"
        );
        assert!(decode_key("").is_err());
    }

    #[test]
    fn encode_is_the_inverse_of_decode() {
        for k in ["uploads/a b/job.json", "uploads/a+b/job.json", "uploads/café 日本/x/job.json", "uploads/100%/j.json"]
        {
            assert_eq!(decode_key(&encode_key(k)).unwrap(), k);
        }
        assert_eq!(encode_key("uploads/summer sale/café/job.json"), "uploads/summer+sale/caf%C3%A9/job.json");
    }

    #[test]
    fn an_sns_notification_delivered_straight_to_the_function_is_read_like_one_inside_sqs() {
        let ev = sample_sns_event("b", "uploads/a b/job.json", "\"e1\"", "us-east-1");
        let incoming = parse_event(ev.clone()).unwrap();
        assert_eq!(incoming.source, Source::Sns);
        match &incoming.messages[0].records[..] {
            [Record::Created(o)] => assert_eq!((o.bucket.as_str(), o.key.as_str()), ("b", "uploads/a b/job.json")),
            other => panic!("{other:?}"),
        }
        // Two records, one broken and one S3's test event: each judged alone.
        let mut two = ev.clone();
        let mut broken = ev["Records"][0].clone();
        broken["Sns"].as_object_mut().unwrap().remove("Message");
        let mut test_event = ev["Records"][0].clone();
        test_event["Sns"]["Message"] = json!(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#.to_string());
        two["Records"] = json!([broken, test_event, ev["Records"][0].clone()]);
        let records = parse_event(two).unwrap().messages.pop().unwrap().records;
        assert!(
            matches!(&records[0], Record::Malformed { what, reason } if what == "SNS record" && reason.contains("Sns.Message"))
        );
        assert!(matches!(&records[1], Record::Ignored { what, .. } if what == "SNS message"), "{:?}", records[1]);
        assert!(matches!(&records[2], Record::Created(_)));
    }

    #[test]
    fn parses_every_record_and_ignores_non_create_events() {
        let mut ev = sample_put_event("b", "uploads/a b/job.json", "\"e1\"", 10, "us-east-1");
        let mut second = ev["Records"][0].clone();
        second["eventName"] = "ObjectRemoved:Delete".into();
        ev["Records"].as_array_mut().unwrap().push(second);
        let incoming = parse_event(ev).unwrap();
        assert_eq!(incoming.source, Source::S3);
        let records = incoming.messages.into_iter().next().unwrap().records;
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0],
            Record::Created(ObjectCreated {
                bucket: "b".into(),
                key: "uploads/a b/job.json".into(),
                etag: Some("\"e1\"".into()),
                version_id: None,
                raw_key: None,
            })
        );
        assert!(matches!(records[1], Record::Ignored { .. }));
    }

    #[test]
    fn rejects_other_payloads() {
        assert!(parse_event(serde_json::json!({"hello": "world"})).is_err());
        assert!(parse_event(serde_json::json!({"Records": "nope"})).is_err());
        assert!(parse_event(serde_json::json!([1, 2])).is_err());
    }

    fn created(r: &Record) -> &ObjectCreated {
        match r {
            Record::Created(o) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sqs_batches_carry_message_ids_and_skip_test_events() {
        let mut ev = sample_sqs_event("b", "uploads/a b/job.json", "\"e\"", "us-east-1", "m1");
        let mut test_event = ev["Records"][0].clone();
        test_event["messageId"] = "m2".into();
        test_event["body"] =
            serde_json::json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}).to_string().into();
        let mut garbage = ev["Records"][0].clone();
        garbage["messageId"] = "m3".into();
        garbage["body"] = "not json".into();
        let mut sns = ev["Records"][0].clone();
        sns["messageId"] = "m4".into();
        let inner = ev["Records"][0]["body"].as_str().unwrap().to_owned();
        sns["body"] = serde_json::json!({"Type": "Notification", "Message": inner}).to_string().into();
        ev["Records"].as_array_mut().unwrap().extend([test_event, garbage, sns]);
        let incoming = parse_event(ev).unwrap();
        assert_eq!(incoming.source, Source::Sqs);
        let ids: Vec<_> = incoming.messages.iter().map(|m| m.id.clone().unwrap()).collect();
        assert_eq!(ids, ["m1", "m2", "m3", "m4"]);
        assert_eq!(created(&incoming.messages[0].records[0]).key, "uploads/a b/job.json");
        assert!(
            matches!(&incoming.messages[1].records[0], Record::Ignored { reason, .. } if reason.contains("TestEvent"))
        );
        assert!(
            matches!(&incoming.messages[2].records[0], Record::Malformed { reason, .. } if reason.contains("not JSON"))
        );
        assert_eq!(created(&incoming.messages[3].records[0]).key, "uploads/a b/job.json");
    }

    fn malformed(r: &Record) -> (&str, &str) {
        match r {
            Record::Malformed { what, reason } => (what, reason),
            other => panic!("{other:?}"),
        }
    }

    /// A notification of four records: valid, `size` as text, no `s3`, not an object.
    fn mixed_notification() -> Value {
        let mut ev = sample_put_event("b", "uploads/ok/job.json", "\"e\"", 10, "us-east-1");
        let good = ev["Records"][0].clone();
        let mut text_size = good.clone();
        text_size["s3"]["object"]["key"] = "uploads/bad+size/job.json".into();
        text_size["s3"]["object"]["size"] = "12".into();
        let mut no_s3 = good.clone();
        no_s3.as_object_mut().unwrap().remove("s3");
        ev["Records"].as_array_mut().unwrap().extend([text_size, no_s3, json!(7)]);
        ev
    }

    #[test]
    fn one_malformed_record_leaves_the_others_readable() {
        let incoming = parse_event(mixed_notification()).unwrap();
        assert_eq!(incoming.source, Source::S3);
        let records = &incoming.messages[0].records;
        assert_eq!(records.len(), 4);
        assert_eq!(created(&records[0]).key, "uploads/ok/job.json");
        let (what, reason) = malformed(&records[1]);
        assert_eq!(what, "uploads/bad+size/job.json", "the key as the event carried it");
        assert!(reason.contains("s3.object.size: invalid type: string"), "{reason}");
        let (what, reason) = malformed(&records[2]);
        assert_eq!(what, "Records[2]");
        assert!(reason.contains("missing field `s3`"), "{reason}");
        assert_eq!(malformed(&records[3]).0, "Records[3]");
    }

    #[test]
    fn object_created_records_without_bucket_key_or_event_name_are_malformed() {
        let base = sample_put_event("b", "uploads/j/job.json", "\"e\"", 10, "us-east-1")["Records"][0].clone();
        let mut cases = Vec::new();
        for (pointer, expect) in
            [("/s3/bucket/name", "s3.bucket.name"), ("/s3/object/key", "s3.object.key"), ("/eventName", "eventName")]
        {
            let mut r = base.clone();
            *r.pointer_mut(pointer).unwrap() = Value::Null;
            cases.push((r, expect));
        }
        for (r, expect) in cases {
            let records = s3_records(json!({ "Records": [r] })).unwrap();
            let (_, reason) = malformed(&records[0]);
            assert!(reason.contains(expect), "{expect}: {reason}");
        }
        // A removal without a key is still not for us.
        let mut removed = base.clone();
        removed["eventName"] = "ObjectRemoved:Delete".into();
        removed["s3"]["object"]["key"] = Value::Null;
        assert!(matches!(s3_records(json!({ "Records": [removed] })).unwrap()[0], Record::Ignored { .. }));
    }

    fn sqs_batch(bodies: &[(&str, Option<String>)]) -> Value {
        let template = sample_sqs_event("b", "uploads/x/job.json", "\"e\"", "us-east-1", "m")["Records"][0].clone();
        let records: Vec<Value> = bodies
            .iter()
            .map(|(id, body)| {
                let mut m = template.clone();
                m["messageId"] = (*id).into();
                match body {
                    Some(b) => m["body"] = b.clone().into(),
                    None => drop(m.as_object_mut().unwrap().remove("body")),
                }
                m
            })
            .collect();
        json!({ "Records": records })
    }

    #[test]
    fn sqs_bodies_are_judged_record_by_record() {
        let mixed = mixed_notification().to_string();
        let sns =
            json!({"Type": "Notification", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": mixed}).to_string();
        let batch = sqs_batch(&[
            ("m-mixed", Some(mixed.clone())),
            ("m-sns", Some(sns)),
            ("m-no-body", None),
            ("m-other-json", Some(json!({"hello": "world"}).to_string())),
            ("m-records-text", Some(json!({"Records": "x"}).to_string())),
            ("m-sns-empty", Some(json!({"Type": "Notification", "TopicArn": "t"}).to_string())),
        ]);
        let incoming = parse_event(batch).unwrap();
        assert_eq!(incoming.source, Source::Sqs);
        for m in &incoming.messages[..2] {
            assert_eq!(created(&m.records[0]).key, "uploads/ok/job.json", "{:?}", m.id);
            assert_eq!(m.records.iter().filter(|r| matches!(r, Record::Malformed { .. })).count(), 3);
        }
        for (m, expect) in
            incoming.messages[2..].iter().zip(["no body", "not an S3 notification", "Records list", "no Message"])
        {
            assert_eq!(m.records.len(), 1);
            let (what, reason) = malformed(&m.records[0]);
            assert_eq!(what, "SQS message");
            assert!(reason.contains(expect), "{:?}: {reason}", m.id);
        }
    }

    #[test]
    fn sqs_bodies_not_meant_for_us_are_ignored() {
        let other_source = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        let confirmation = json!({"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:us-east-1:1:t"});
        let test_event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"});
        let wrapped_test = json!({"Type": "Notification", "TopicArn": "t", "Message": test_event.to_string()});
        let batch = sqs_batch(&[
            ("a", Some(other_source.to_string())),
            ("b", Some(confirmation.to_string())),
            ("c", Some(test_event.to_string())),
            ("d", Some(wrapped_test.to_string())),
        ]);
        for m in parse_event(batch).unwrap().messages {
            assert!(matches!(m.records[..], [Record::Ignored { .. }]), "{:?}: {:?}", m.id, m.records);
        }
    }

    #[test]
    fn a_batch_whose_first_record_is_broken_is_still_a_batch() {
        let mut batch = sqs_batch(&[("m1", Some("x".into())), ("m2", Some("y".into()))]);
        batch["Records"][0] = json!({"messageId": "m0"});
        let incoming = parse_event(batch).unwrap();
        assert_eq!(incoming.source, Source::Sqs);
        assert_eq!(incoming.messages[0].id.as_deref(), Some("m0"));
        assert!(matches!(incoming.messages[0].records[..], [Record::Malformed { .. }]));
    }

    #[test]
    fn eventbridge_object_created_without_bucket_or_key_is_malformed() {
        let mut no_bucket = sample_eventbridge_event("b", "uploads/x/job.json", "e", "eu-west-1");
        no_bucket["detail"]["bucket"] = json!({});
        let incoming = parse_event(no_bucket).unwrap();
        let (what, reason) = malformed(&incoming.messages[0].records[0]);
        assert_eq!(what, "uploads/x/job.json");
        assert!(reason.contains("detail.bucket.name"), "{reason}");
        let mut no_key = sample_eventbridge_event("b", "uploads/x/job.json", "e", "eu-west-1");
        no_key["detail"]["object"].as_object_mut().unwrap().remove("key");
        let incoming = parse_event(no_key).unwrap();
        let (what, reason) = malformed(&incoming.messages[0].records[0]);
        assert_eq!((what, reason), ("EventBridge event", "Object Created event has no detail.object.key"));
    }

    #[test]
    fn invocation_records_from_the_overflow_queue_carry_their_original_event() {
        use super::invocation_record::tests::record;
        let s3 = sample_put_event("b", "uploads/a+b/job.json", "\"e1\"", 7, "us-east-1");
        let eb = sample_eventbridge_event("b", "uploads/c/job.json", "\"e2\"", "us-east-1");
        let bodies = [
            (record(s3, "EventAgeExceeded").to_string(), Some("uploads/a+b/job.json")),
            (record(eb, "RetriesExhausted").to_string(), Some("uploads/c/job.json")),
            (record(json!({"Records": [{"eventName": "ObjectCreated:Put"}]}), "RetriesExhausted").to_string(), None),
            (record(json!(null), "EventAgeExceeded").to_string(), None),
        ];
        for (i, (body, want)) in bodies.iter().enumerate() {
            let records = message_body(body, "SQS message");
            assert_eq!(records.len(), 1, "{i}");
            match (want, &records[0]) {
                (Some(key), Record::Created(o)) => assert_eq!((o.bucket.as_str(), o.key.as_str()), ("b", *key)),
                (None, Record::Malformed { .. }) => {}
                (_, other) => panic!("body {i}: {other:?}"),
            }
        }
    }

    #[test]
    fn eventbridge_object_created_is_decoded_with_the_raw_key_kept() {
        let ev = sample_eventbridge_event("b", "uploads/a b/job.json", "\"e\"", "eu-west-1");
        let incoming = parse_event(ev).unwrap();
        assert_eq!(incoming.source, Source::EventBridge);
        let o = created(&incoming.messages[0].records[0]).clone();
        assert_eq!((o.bucket.as_str(), o.key.as_str()), ("b", "uploads/a b/job.json"));
        assert_eq!(o.raw_key.as_deref(), Some("uploads/a+b/job.json"));
        assert_eq!(o.etag.as_deref(), Some("e"));
        let mut deleted = sample_eventbridge_event("b", "uploads/x/job.json", "e", "eu-west-1");
        deleted["detail-type"] = "Object Deleted".into();
        assert!(matches!(parse_event(deleted).unwrap().messages[0].records[0], Record::Ignored { .. }));
    }
}
