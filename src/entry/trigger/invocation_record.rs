//! Lambda's asynchronous invocation records: what Lambda sends to an on-failure destination
//! when an event's retries ran out (`RetriesExhausted`) or it waited longer than its maximum
//! age (`EventAgeExceeded`). The template makes that destination an SQS queue the function
//! itself consumes (the overflow queue), so an S3 or EventBridge event Lambda gave up on comes
//! back through SQS, still carrying the original event in `requestPayload`:
//!
//! ```json
//! {"version": "1.0", "timestamp": "…",
//!  "requestContext": {"requestId": "…", "functionArn": "…", "condition": "EventAgeExceeded",
//!                     "approximateInvokeCount": 0},
//!  "requestPayload": { …the S3 notification or EventBridge event… },
//!  "responseContext": {…}, "responsePayload": {…}}
//! ```
//!
//! Source: AWS Lambda Developer Guide, "Capturing records of Lambda asynchronous invocations"
//! (the invocation record's fields and conditions).

use serde_json::Value;

/// Why Lambda gave the event up, as the record says.
pub fn condition(record: &Value) -> Option<&str> {
    record.pointer("/requestContext/condition").and_then(Value::as_str)
}

/// Whether `v` is an asynchronous invocation record (its two defining fields are present).
pub fn is_invocation_record(v: &Value) -> bool {
    v.get("requestContext").is_some_and(Value::is_object) && v.get("requestPayload").is_some()
}

/// The original event of an invocation record, or what is wrong with the record.
pub fn original_event(mut record: Value) -> Result<Value, String> {
    match record.get_mut("requestPayload").map(Value::take) {
        Some(p @ Value::Object(_)) => Ok(p),
        Some(Value::Null) | None => Err("the invocation record has no requestPayload".into()),
        Some(_) => Err("the invocation record's requestPayload is not a JSON object".into()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn record(payload: Value, condition: &str) -> Value {
        json!({
            "version": "1.0",
            "timestamp": "2026-12-02T10:00:00.000Z",
            "requestContext": {
                "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:tryon:$LATEST",
                "condition": condition,
                "approximateInvokeCount": 3
            },
            "requestPayload": payload,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "throttled", "errorMessage": "throttled: …"}
        })
    }

    #[test]
    fn recognises_records_and_returns_the_original_event() {
        let r = record(json!({"Records": []}), "RetriesExhausted");
        assert!(is_invocation_record(&r));
        assert_eq!(condition(&r), Some("RetriesExhausted"));
        assert_eq!(original_event(r).unwrap(), json!({"Records": []}));
        // S3 notifications and EventBridge events are not records.
        assert!(!is_invocation_record(&json!({"Records": []})));
        assert!(!is_invocation_record(&json!({"requestContext": "x", "requestPayload": {}})));
    }

    #[test]
    fn a_record_without_a_usable_payload_says_so() {
        let r = record(json!(null), "EventAgeExceeded");
        assert_eq!(original_event(r).unwrap_err(), "the invocation record has no requestPayload");
        let r = record(json!("text"), "EventAgeExceeded");
        assert_eq!(original_event(r).unwrap_err(), "the invocation record's requestPayload is not a JSON object");
    }
}
