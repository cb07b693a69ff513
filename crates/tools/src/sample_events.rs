//! Sample Lambda events for one object key, encoded as S3 encodes keys: what `tryon event`
//! prints for `sam local invoke` and `cargo lambda invoke`, and what the tests deliver. Each
//! has the shape AWS documents for its source (S3 notification, SQS, EventBridge, S3 Batch
//! Operations); `events/` holds the same shapes as files.

use serde_json::Value;
use tryon::entry::trigger::encode_key;

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

/// The same object announced through an SQS queue (body = the S3 notification).
pub fn sample_sqs_event(bucket: &str, key: &str, etag: &str, region: &str, message_id: &str) -> Value {
    serde_json::json!({
        "Records": [{
            "messageId": message_id,
            "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
            "body": sample_put_event(bucket, key, etag, 1024, region).to_string(),
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1764417600000",
                "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                "ApproximateFirstReceiveTimestamp": "1764417600001"
            },
            "messageAttributes": {},
            "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
            "eventSource": "aws:sqs",
            "eventSourceARN": format!("arn:aws:sqs:{region}:123456789012:tryon-jobs"),
            "awsRegion": region
        }]
    })
}

/// The same object announced through an SNS topic subscribed straight to the function
/// (S3 → SNS → Lambda): the S3 notification is the SNS message.
pub fn sample_sns_event(bucket: &str, key: &str, etag: &str, region: &str) -> Value {
    let topic = format!("arn:aws:sns:{region}:123456789012:tryon-uploads");
    serde_json::json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": format!("{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"),
            "Sns": {
                "Type": "Notification",
                "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "TopicArn": topic,
                "Subject": "Amazon S3 Notification",
                "Message": sample_put_event(bucket, key, etag, 1024, region).to_string(),
                "Timestamp": "2026-11-29T12:00:00.000Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "EXAMPLE",
                "UnsubscribeUrl": "EXAMPLE",
                "MessageAttributes": {}
            }
        }]
    })
}

/// The same object announced by EventBridge (S3 "Object Created"); the key as S3 sends it.
pub fn sample_eventbridge_event(bucket: &str, key: &str, etag: &str, region: &str) -> Value {
    serde_json::json!({
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-29T12:00:00Z",
        "region": region,
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": {
            "version": "0",
            "bucket": { "name": bucket },
            "object": { "key": encode_key(key), "size": 1024, "etag": etag.trim_matches('"'), "sequencer": "617f08299329d189" },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject"
        }
    })
}

/// A Batch Operations invocation with one task for `key` (encoded as S3 encodes it), in
/// schema `version` (`1.0` names the bucket by ARN, `2.0` by name).
pub fn sample_batch_event(version: &str, bucket: &str, key: &str, version_id: Option<&str>, task_id: &str) -> Value {
    let mut task = serde_json::json!({
        "taskId": task_id,
        "s3Key": encode_key(key),
        "s3VersionId": version_id,
    });
    let mut job = serde_json::json!({ "id": "f3cc4f60-61f6-4a2b-8a21-d07600c373ce" });
    if version == "1.0" {
        task["s3BucketArn"] = format!("arn:aws:s3:::{bucket}").into();
    } else {
        task["s3Bucket"] = bucket.into();
        job["userArguments"] = serde_json::json!({ "reason": "backfill" });
    }
    serde_json::json!({
        "invocationSchemaVersion": version,
        "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
        "job": job,
        "tasks": [task]
    })
}
