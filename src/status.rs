//! `status.json`: the job's state and everything a consumer needs, always written under
//! `outputs/<jobId>/`. Also read back to deduplicate deliveries.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::JobError;
use crate::prepare::{Encoding, InputInfo, Rect};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Processing,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ManifestRef {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Outputs {
    pub images: Vec<String>,
    pub mask: Option<String>,
    /// The comparison sheet (source, garment, mask and results side by side).
    #[serde(default)]
    pub sheet: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusError {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

impl From<&JobError> for StatusError {
    fn from(e: &JobError) -> Self {
        StatusError { code: e.code.as_str().into(), message: e.message.clone(), retryable: e.retryable() }
    }
}

/// Who is working on the job, and until when the claim holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// The Lambda request id (async retries of one event keep it).
    pub owner: String,
    pub expires_at: String,
}

/// A condition that did not fail the job (some outputs blocked by moderation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreparedInfo {
    pub width: u32,
    pub height: u32,
    pub encoding: Option<Encoding>,
    pub bytes: u64,
    /// Where the picture sits when the canvas was padded to reach Nova's aspect limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Rect>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageDiagnostics {
    #[serde(default)]
    pub input: Option<InputInfo>,
    pub prepared: PreparedInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Diagnostics {
    pub model_id: String,
    pub bedrock_request_id: Option<String>,
    pub images: BTreeMap<String, ImageDiagnostics>,
    pub request_bytes: Option<u64>,
    pub images_requested: Option<u32>,
    pub images_returned: Option<u32>,
    /// Milliseconds per stage: readManifest, claim, readImages, prepare, model, writeOutputs, total.
    pub timings_ms: BTreeMap<String, u64>,
    /// Nova Canvas price of the images requested, by quality and output size band; for a job
    /// of several calls, of all of them, written before the first call.
    pub estimated_cost_usd: Option<f64>,
    /// The price of the images actually returned, once the calls are done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// One call of a job with `variants` or `garments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatus {
    /// The variant's name, or `step-<n>`.
    pub name: String,
    /// `processing` until the item ran (or is waiting for a retry), then `succeeded` or `failed`.
    pub state: State,
    #[serde(default)]
    pub outputs: Outputs,
    #[serde(default)]
    pub error: Option<StatusError>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    #[serde(default)]
    pub bedrock_request_id: Option<String>,
    #[serde(default)]
    pub estimated_cost_usd: Option<f64>,
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// The whole record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub job_id: String,
    pub state: State,
    pub manifest: ManifestRef,
    #[serde(default)]
    pub outputs: Outputs,
    #[serde(default)]
    pub error: Option<StatusError>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// Deliveries that worked on this manifest version (Lambda retries included).
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub lease: Option<Lease>,
    /// Where a `processing` job is: `claimed`, `calling the model`; `done` once it ended.
    #[serde(default)]
    pub stage: Option<String>,
    /// Per call, for jobs with `variants` or `garments`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemStatus>,
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
    pub diagnostics: Diagnostics,
}

/// What a delivery should do given the status it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Start (or restart) the job: this is attempt number `attempt`.
    Take { attempt: u32 },
    /// Leave it: a duplicate delivery, or another invocation holds a live lease.
    Skip(String),
}

impl Status {
    /// Decides whether a delivery for manifest version `etag`, made by invocation `owner` at
    /// `now`, may work on the job.
    pub fn claim(&self, etag: &str, owner: &str, now: SystemTime) -> Claim {
        if self.manifest.etag != etag {
            return Claim::Take { attempt: 1 };
        }
        let next = Claim::Take { attempt: self.attempts + 1 };
        match self.state {
            State::Succeeded => Claim::Skip("duplicate delivery: this manifest version already succeeded".into()),
            State::Failed => Claim::Skip(format!(
                "duplicate delivery: this manifest version already failed ({}); upload job.json again to rerun it",
                self.error.as_ref().map_or("unknown", |e| e.code.as_str())
            )),
            State::Processing => match &self.lease {
                None => next,
                Some(lease) if lease.owner == owner => next,
                Some(lease) => match humantime::parse_rfc3339(&lease.expires_at) {
                    Ok(expiry) if expiry > now => {
                        Claim::Skip(format!("in progress under another invocation until {}", lease.expires_at))
                    }
                    _ => next,
                },
            },
        }
    }
}

/// RFC 3339 with milliseconds, UTC.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// `now + d` as an RFC 3339 timestamp.
pub fn timestamp_after(now: SystemTime, d: Duration) -> String {
    timestamp(now + d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: State, etag: &str, attempts: u32, lease: Option<(&str, SystemTime)>) -> Status {
        Status {
            job_id: "j".into(),
            state,
            manifest: ManifestRef { etag: etag.into(), ..Default::default() },
            outputs: Outputs::default(),
            error: None,
            warnings: vec![],
            attempts,
            lease: lease.map(|(o, t)| Lease { owner: o.into(), expires_at: timestamp(t) }),
            stage: None,
            items: vec![],
            updated_at: timestamp(SystemTime::now()),
            diagnostics: Diagnostics::default(),
        }
    }

    #[test]
    fn claim_rules() {
        let now = SystemTime::now();
        let later = now + Duration::from_secs(600);
        let earlier = now - Duration::from_secs(1);
        assert_eq!(status(State::Succeeded, "a", 1, None).claim("b", "r", now), Claim::Take { attempt: 1 });
        assert!(matches!(status(State::Succeeded, "a", 1, None).claim("a", "r", now), Claim::Skip(_)));
        assert!(matches!(status(State::Failed, "a", 1, None).claim("a", "r", now), Claim::Skip(_)));
        assert!(matches!(
            status(State::Processing, "a", 1, Some(("other", later))).claim("a", "r", now),
            Claim::Skip(_)
        ));
        assert_eq!(
            status(State::Processing, "a", 1, Some(("other", earlier))).claim("a", "r", now),
            Claim::Take { attempt: 2 }
        );
        assert_eq!(
            status(State::Processing, "a", 2, Some(("r", later))).claim("a", "r", now),
            Claim::Take { attempt: 3 }
        );
        assert_eq!(status(State::Processing, "a", 1, None).claim("a", "r", now), Claim::Take { attempt: 2 });
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = timestamp(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
        assert_eq!(t, "2023-11-14T22:13:20.123Z");
        assert!(humantime::parse_rfc3339(&t).is_ok());
    }
}
