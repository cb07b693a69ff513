//! Event adapter: turns an incoming Lambda payload into the objects it announces, and an
//! object key into a job. Pure: no I/O, no AWS clients.

use aws_lambda_events::s3::S3Event;
use serde_json::Value;

/// One announced object that may start a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    /// The decoded key (S3 sends keys form-encoded).
    pub key: String,
    pub etag: Option<String>,
    pub version_id: Option<String>,
}

/// What one record of an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Created(ObjectCreated),
    /// Not for us (another event type, an undecodable key): logged, never an error.
    Ignored {
        what: String,
        reason: String,
    },
}

/// The payload is not an event this function understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unrecognised event: {0}")]
pub struct EventError(pub String);

/// Parses an S3 notification event (`Records[].s3`).
pub fn parse_event(payload: Value) -> Result<Vec<Record>, EventError> {
    if payload.get("Records").is_none() {
        return Err(EventError("expected an S3 notification with a Records array".into()));
    }
    let event: S3Event =
        serde_json::from_value(payload).map_err(|e| EventError(format!("not an S3 notification: {e}")))?;
    Ok(event.records.into_iter().map(record).collect())
}

fn record(r: aws_lambda_events::s3::S3EventRecord) -> Record {
    let raw_key = r.s3.object.key.unwrap_or_default();
    let event_name = r.event_name.unwrap_or_default();
    if !event_name.starts_with("ObjectCreated:") {
        return Record::Ignored { what: raw_key, reason: format!("event {event_name:?} is not ObjectCreated") };
    }
    let Some(bucket) = r.s3.bucket.name.filter(|b| !b.is_empty()) else {
        return Record::Ignored { what: raw_key, reason: "record has no bucket name".into() };
    };
    match decode_key(&raw_key) {
        Ok(key) => Record::Created(ObjectCreated {
            bucket,
            key,
            etag: r.s3.object.e_tag.filter(|e| !e.is_empty()),
            version_id: r.s3.object.version_id.filter(|v| !v.is_empty()),
        }),
        Err(reason) => Record::Ignored { what: raw_key, reason },
    }
}

/// Decodes a key as S3 writes it into notifications: form encoding, so `+` is a space and
/// `%XX` a byte (a literal `+` arrives as `%2B`). The order matters: `+` first, then `%`.
pub fn decode_key(raw: &str) -> Result<String, String> {
    let spaced = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    let key = String::from_utf8(bytes).map_err(|_| format!("key {raw:?} does not decode to UTF-8"))?;
    if key.is_empty() {
        return Err("empty key".into());
    }
    Ok(key)
}

/// Encodes a key the way S3 does in notifications (the inverse of [`decode_key`]), for
/// building test and sample events.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'*' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The manifest file name that starts a job.
pub const MANIFEST_NAME: &str = "job.json";

/// The job id of a manifest key (`<uploads>/<jobId>/job.json`), or why the key starts no job.
pub fn job_id<'k>(key: &'k str, uploads_prefix: &str) -> Result<&'k str, String> {
    let Some(rest) = key.strip_prefix(uploads_prefix) else {
        return Err(format!("key is outside the uploads prefix {uploads_prefix:?}"));
    };
    let Some(job) = rest.strip_suffix(MANIFEST_NAME).and_then(|j| j.strip_suffix('/')) else {
        return Err(format!("not a job manifest (only keys ending in /{MANIFEST_NAME} start jobs)"));
    };
    if job.is_empty() || job.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return Err(format!("job id {job:?} is empty or has an empty, '.' or '..' path segment"));
    }
    Ok(job)
}

/// Builds an S3 `ObjectCreated:Put` notification for one key, encoded as S3 encodes it.
pub fn sample_put_event(bucket: &str, key: &str, etag: &str, size: u64, region: &str) -> Value {
    serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": region,
            "eventTime": "2026-11-29T12:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": { "principalId": "EXAMPLE" },
            "requestParameters": { "sourceIPAddress": "127.0.0.1" },
            "responseElements": {
                "x-amz-request-id": "EXAMPLE123456789",
                "x-amz-id-2": "EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH"
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "tryon-job-manifest",
                "bucket": {
                    "name": bucket,
                    "ownerIdentity": { "principalId": "EXAMPLE" },
                    "arn": format!("arn:aws:s3:::{bucket}")
                },
                "object": {
                    "key": encode_key(key),
                    "size": size,
                    "eTag": etag,
                    "sequencer": "0A1B2C3D4E5F678901"
                }
            }
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_before_percent() {
        assert_eq!(decode_key("uploads/red+flower/job.json").unwrap(), "uploads/red flower/job.json");
        assert_eq!(decode_key("uploads/a%2Bb/job.json").unwrap(), "uploads/a+b/job.json");
        assert_eq!(decode_key("uploads/caf%C3%A9+%E6%97%A5/job.json").unwrap(), "uploads/café 日/job.json");
        assert_eq!(decode_key("uploads/100%25/job.json").unwrap(), "uploads/100%/job.json");
        assert!(decode_key("uploads/%FF/job.json").is_err());
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
    fn only_manifests_under_the_prefix_are_jobs() {
        assert_eq!(job_id("uploads/j1/job.json", "uploads/"), Ok("j1"));
        assert_eq!(job_id("uploads/shop/2026/j 1/job.json", "uploads/"), Ok("shop/2026/j 1"));
        for key in [
            "uploads/job.json",
            "uploads/j1/person.jpg",
            "uploads/j1/job.json.bak",
            "uploads/j1/xjob.json",
            "outputs/j1/job.json",
            "uploads//job.json",
            "uploads/a//b/job.json",
            "uploads/../x/job.json",
        ] {
            assert!(job_id(key, "uploads/").is_err(), "{key}");
        }
    }

    #[test]
    fn parses_every_record_and_ignores_non_create_events() {
        let mut ev = sample_put_event("b", "uploads/a b/job.json", "\"e1\"", 10, "us-east-1");
        let mut second = ev["Records"][0].clone();
        second["eventName"] = "ObjectRemoved:Delete".into();
        ev["Records"].as_array_mut().unwrap().push(second);
        let records = parse_event(ev).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0],
            Record::Created(ObjectCreated {
                bucket: "b".into(),
                key: "uploads/a b/job.json".into(),
                etag: Some("\"e1\"".into()),
                version_id: None
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
}
