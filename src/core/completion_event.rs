//! The completion event: what the function puts on EventBridge when a job ends (`succeeded`
//! or `failed`), built from the final `status.json` alone. Pure: no AWS types; the adapter
//! (`crate::adapters::events::eventbridge`) only sends what is built here.
//!
//! The detail uses `status.json`'s names. Its `eventId` is derived from the bucket, the job id
//! and the manifest's ETag, so every publication of one manifest version carries the same id
//! (publication is at least once: a consumer drops the repeats by `eventId`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::status::{ManifestRef, State, Status, Warning};

/// The event's `source`.
pub const SOURCE: &str = "tryon-lambda";
/// The event's `detail-type`, one for both outcomes: rules filter on `detail.state`.
pub const DETAIL_TYPE: &str = "Try-On Job Completed";
/// The detail's schema version, raised when a field changes meaning or disappears.
pub const DETAIL_VERSION: u32 = 1;
/// Longest error message carried (the whole message stays in `status.json`).
const MAX_MESSAGE_CHARS: usize = 1024;
/// The detail's budget: EventBridge takes at most 256 KB per entry, source and detail-type
/// included. A job of many calls whose image keys do not fit sends their count instead.
pub const MAX_DETAIL_BYTES: usize = 200 * 1024;

/// One event, ready to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletionEvent {
    pub source: &'static str,
    pub detail_type: &'static str,
    pub detail: Detail,
}

/// The event's `detail`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    pub version: u32,
    /// The same for every publication of this manifest version: the key to drop duplicates by.
    pub event_id: String,
    pub job_id: String,
    /// `succeeded` or `failed`.
    pub state: State,
    /// The manifest version that ran (`bucket`, `key`, `etag`, `versionId`).
    pub manifest: ManifestRef,
    pub outputs: OutputKeys,
    pub error: Option<EventError>,
    pub warnings: Vec<Warning>,
    pub estimated_cost_usd: Option<f64>,
    pub cost_usd: Option<f64>,
    /// The backends that served the job's calls (a chain's member that answered).
    pub backends: Vec<String>,
    pub timings_ms: BTreeMap<String, u64>,
    pub attempts: u32,
    /// When the final status was written (`status.json`'s `updatedAt`).
    pub finished_at: String,
}

/// Where the job's outputs are: keys in `bucket` (the manifest's bucket).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputKeys {
    pub bucket: String,
    /// `status.json`, always present.
    pub status: String,
    pub images: Vec<String>,
    pub mask: Option<String>,
    pub sheet: Option<String>,
    /// Set (to the number of images) when the image keys were left out to fit the event's
    /// size limit; `status.json` lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images_omitted: Option<usize>,
}

/// A failed job's error: its stable code, its message and whether it was transient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventError {
    pub code: String,
    pub message: String,
    /// `permanent` or `transient` (a transient failure that ran out of attempts).
    pub class: &'static str,
}

/// The stable id of a manifest version's completion: SHA-256 of bucket, job id and ETag (each
/// preceded by its length, so no two triples give the same input), first 128 bits in hex.
pub fn event_id(bucket: &str, job_id: &str, etag: &str) -> String {
    let input: String = [bucket, job_id, etag].iter().map(|f| format!("{}:{f}", f.len())).collect();
    crate::core::digest::hex(&crate::core::digest::sha256(input.as_bytes())[..16])
}

impl CompletionEvent {
    /// The event of a finished job whose status is stored at `status_key`. `None` while the
    /// job is still `processing`: only the end of a job is announced.
    pub fn of(status: &Status, status_key: &str) -> Option<CompletionEvent> {
        if status.state == State::Processing {
            return None;
        }
        let m = &status.manifest;
        let d = &status.diagnostics;
        let mut detail = Detail {
            version: DETAIL_VERSION,
            event_id: event_id(&m.bucket, &status.job_id, &m.etag),
            job_id: status.job_id.clone(),
            state: status.state,
            manifest: m.clone(),
            outputs: OutputKeys {
                bucket: m.bucket.clone(),
                status: status_key.to_owned(),
                images: status.outputs.images.clone(),
                mask: status.outputs.mask.clone(),
                sheet: status.outputs.sheet.clone(),
                images_omitted: None,
            },
            error: status.error.as_ref().map(|e| EventError {
                code: e.code.clone(),
                message: e.message.chars().take(MAX_MESSAGE_CHARS).collect(),
                class: if e.retryable { "transient" } else { "permanent" },
            }),
            warnings: status.warnings.clone(),
            estimated_cost_usd: d.estimated_cost_usd,
            cost_usd: d.cost_usd,
            backends: status.served_by(),
            timings_ms: d.timings_ms.clone(),
            attempts: status.attempts,
            finished_at: status.updated_at.clone(),
        };
        if detail_len(&detail) > MAX_DETAIL_BYTES {
            detail.outputs.images_omitted = Some(detail.outputs.images.len());
            detail.outputs.images.clear();
            detail.warnings.truncate(8);
        }
        Some(CompletionEvent { source: SOURCE, detail_type: DETAIL_TYPE, detail })
    }

    /// The detail as the JSON text EventBridge takes.
    pub fn detail_json(&self) -> String {
        // Plain strings, numbers and maps: serialising cannot fail.
        serde_json::to_string(&self.detail).unwrap_or_default()
    }

    pub fn event_id(&self) -> &str {
        &self.detail.event_id
    }
}

fn detail_len(detail: &Detail) -> usize {
    serde_json::to_vec(detail).map_or(usize::MAX, |v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::status::{Diagnostics, Outputs, StatusError};

    fn finished(state: State) -> Status {
        Status {
            job_id: "shirt-1".into(),
            state,
            manifest: ManifestRef {
                bucket: "b".into(),
                key: "uploads/shirt-1/job.json".into(),
                etag: "\"e1\"".into(),
                version_id: Some("v1".into()),
            },
            outputs: Outputs {
                images: vec!["outputs/shirt-1/result.png".into()],
                mask: Some("outputs/shirt-1/mask.png".into()),
                sheet: Some("outputs/shirt-1/sheet.jpg".into()),
            },
            error: None,
            warnings: vec![],
            attempts: 2,
            lease: None,
            stage: Some("done".into()),
            interruptions: vec![],
            items: vec![],
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            diagnostics: Diagnostics {
                estimated_cost_usd: Some(0.08),
                cost_usd: Some(0.08),
                timings_ms: [("total".to_owned(), 1234)].into(),
                ..Default::default()
            },
            completion_event: None,
            throttled_attempts: 0,
        }
    }

    #[test]
    fn the_id_names_the_manifest_version_and_nothing_else() {
        let a = event_id("b", "j", "\"e1\"");
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, event_id("b", "j", "\"e1\""));
        assert_ne!(a, event_id("b", "j", "\"e2\""));
        assert_ne!(a, event_id("c", "j", "\"e1\""));
        assert_ne!(event_id("b", "j\0x", "y"), event_id("b", "j", "x\0y"), "fields cannot run into each other");
    }

    #[test]
    fn a_succeeded_job_announces_its_outputs_with_status_json_names() {
        let ev = CompletionEvent::of(&finished(State::Succeeded), "outputs/shirt-1/status.json").unwrap();
        assert_eq!((ev.source, ev.detail_type), ("tryon-lambda", "Try-On Job Completed"));
        let v: serde_json::Value = serde_json::from_str(&ev.detail_json()).unwrap();
        assert_eq!(v["jobId"], "shirt-1");
        assert_eq!(v["state"], "succeeded");
        assert_eq!(v["eventId"], event_id("b", "shirt-1", "\"e1\""));
        assert_eq!(v["manifest"]["versionId"], "v1");
        assert_eq!(v["manifest"]["etag"], "\"e1\"");
        assert_eq!(v["outputs"]["status"], "outputs/shirt-1/status.json");
        assert_eq!(v["outputs"]["images"][0], "outputs/shirt-1/result.png");
        assert_eq!(v["outputs"]["sheet"], "outputs/shirt-1/sheet.jpg");
        assert_eq!(v["outputs"]["bucket"], "b");
        assert_eq!(v["costUsd"], 0.08);
        assert_eq!(v["estimatedCostUsd"], 0.08);
        assert_eq!(v["timingsMs"]["total"], 1234);
        assert_eq!(v["attempts"], 2);
        assert!(v["error"].is_null());
        assert!(v["outputs"].get("imagesOmitted").is_none());
    }

    #[test]
    fn a_failed_job_carries_its_code_and_class() {
        let mut s = finished(State::Failed);
        s.outputs = Outputs::default();
        s.error = Some(StatusError { code: "throttled".into(), message: "x".repeat(5000), retryable: true });
        let ev = CompletionEvent::of(&s, "k").unwrap();
        let e = ev.detail.error.as_ref().unwrap();
        assert_eq!((e.code.as_str(), e.class), ("throttled", "transient"));
        assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS);
        s.error = Some(StatusError { code: "invalid_manifest".into(), message: "bad".into(), retryable: false });
        assert_eq!(CompletionEvent::of(&s, "k").unwrap().detail.error.unwrap().class, "permanent");
    }

    #[test]
    fn processing_is_not_announced() {
        assert!(CompletionEvent::of(&finished(State::Processing), "k").is_none());
    }

    #[test]
    fn a_detail_too_large_for_eventbridge_leaves_the_image_keys_to_status_json() {
        let mut s = finished(State::Succeeded);
        s.outputs.images = (0..5000).map(|i| format!("outputs/shirt-1/variants/v{i}/result-{i}.png")).collect();
        let ev = CompletionEvent::of(&s, "k").unwrap();
        assert!(ev.detail_json().len() <= MAX_DETAIL_BYTES);
        assert_eq!(ev.detail.outputs.images_omitted, Some(5000));
        assert!(ev.detail.outputs.images.is_empty());
    }
}
