//! `status.json`: the job's state and everything a consumer needs, always written under
//! `outputs/<jobId>/`. Also read back to deduplicate deliveries.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::core::error::{ErrorCode, JobError};
use crate::core::image::{Encoding, InputInfo, Rect};

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
    /// The backend of a one-call job (for a job of several calls, each item says its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    pub model_id: String,
    pub bedrock_request_id: Option<String>,
    /// What a prompt-based backend was told (one-call jobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
    pub images: BTreeMap<String, ImageDiagnostics>,
    pub request_bytes: Option<u64>,
    pub images_requested: Option<u32>,
    pub images_returned: Option<u32>,
    /// Milliseconds per stage: readManifest, claim, readImages, prepare, model, writeOutputs, total.
    pub timings_ms: BTreeMap<String, u64>,
    /// The price of the images requested (each backend's own price: Nova Canvas by quality and
    /// output size band, Gemini and Converse by tokens); for a job of several calls, of all of
    /// them, written before the first call.
    pub estimated_cost_usd: Option<f64>,
    /// The price of the images actually returned, once the calls are done (0 for the
    /// calls the result cache answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// A one-call job's use of the result cache (each item says its own otherwise).
    #[serde(flatten)]
    pub cache: CacheRecord,
    /// Model calls this delivery made (failed ones included; items kept from an earlier
    /// attempt are not counted again), and calls the result cache answered instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_calls: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_hits: Option<u32>,
    /// A one-call job's walk along its backend chain (each item says its own otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_attempts: Vec<BackendAttempt>,
    /// Days until the shutdown the catalog gives for each backend's model the job used.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub days_to_shutdown: BTreeMap<String, i64>,
}

/// One backend of a chain, as it fared: skipped with no call (its model is retired in the
/// catalog), moved on from (it answered `model_unavailable` or `auth_failed`), failed, or
/// the one that served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendAttempt {
    pub backend: String,
    pub model_id: String,
    pub outcome: AttemptOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttemptOutcome {
    /// Not called: the catalog says its model is retired.
    Skipped,
    /// Called, answered that the model or access is gone: the next backend was tried.
    MovedOn,
    /// Called and failed in a way another backend would share (or would be retried here).
    Failed,
    Succeeded,
}

impl AttemptOutcome {
    /// Whether the chain has gone past this backend (a retry resumes after it).
    pub fn passed(self) -> bool {
        matches!(self, AttemptOutcome::Skipped | AttemptOutcome::MovedOn)
    }
}

/// How a call used the result cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheUse {
    /// Answered from the cache: no model call, cost 0.
    Hit,
    /// The model was called and its answer stored.
    Miss,
    /// Not cached: turned off, or the answer is not reproducible (no seed).
    Off,
}

impl CacheUse {
    /// The name `status.json` and the logs use.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheUse::Hit => "hit",
            CacheUse::Miss => "miss",
            CacheUse::Off => "off",
        }
    }
}

/// `cache` and `cacheKey` of a call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CacheRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheUse>,
    /// The entry's key in the bucket (`<outputs>_cache/v1/<backend>/<sha256>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_key: Option<String>,
    /// The job's own copy of the paid reply (a call the cache does not keep), until the job
    /// is final: a retry replays it instead of paying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_key: Option<String>,
}

/// One call of a job with `variants` or `garments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatus {
    /// The variant's name, or `step-<n>`.
    pub name: String,
    /// The backend and model the call went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// What a prompt-based backend was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
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
    #[serde(flatten)]
    pub cache: CacheRecord,
    /// The item's walk along its backend chain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_attempts: Vec<BackendAttempt>,
}

/// Stages of a `processing` job, written to `status.json` as it moves. A delivery that
/// finds a job still `processing` in a stage other than `done`, with the lease passed or
/// held by the same Lambda request (Lambda's retry of an invocation that died), knows that
/// the attempt before it died in that stage without recording its outcome.
pub mod stage {
    /// Reading and preparing the images (the claim is written with this stage).
    pub const PREPARING: &str = "preparing";
    /// The paid part: from the checkpoint before the first model call until the outputs
    /// are written.
    pub const CALLING_MODEL: &str = "calling the model";
    /// A backend answered that its model is gone and nothing was paid for: the next backend
    /// of the chain is about to be called. An attempt that died here is retried, from that
    /// backend.
    pub const NEXT_BACKEND: &str = "moving to the next backend";
    /// The outcome is recorded.
    pub const DONE: &str = "done";
}

/// An attempt that died (out of memory, Lambda's timeout, a crash) without recording its
/// outcome, as the next delivery found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interruption {
    pub attempt: u32,
    pub stage: String,
    /// The Lambda request id of the attempt that died (its logs say why).
    #[serde(default)]
    pub owner: Option<String>,
}

/// What to do once attempts died: `None` to try again, or the failure to record. An attempt
/// that died in the paid stage is not retried (the model may have been paid for that call);
/// one that died twice in the same stage would die there again, forever.
pub fn after_interruptions(list: &[Interruption]) -> Option<JobError> {
    let last = list.last()?;
    let who = last.owner.as_deref().map(|o| format!(" (Lambda request {o})")).unwrap_or_default();
    if last.stage == stage::CALLING_MODEL {
        return Some(JobError::new(
            ErrorCode::Crashed,
            format!(
                "attempt {} died while calling the model{who}, before recording the result; it is not retried because the call may already have been paid. Check that attempt's logs (out of memory or the function's timeout), then upload job.json again to rerun the job",
                last.attempt
            ),
        ));
    }
    let same = list.iter().filter(|i| i.stage == last.stage).count();
    (same >= 2).then(|| {
        JobError::new(
            ErrorCode::Crashed,
            format!(
                "attempts died {same} times while {}{who} (out of memory, the function's timeout, or a crash); it would die there again. Raise the function's MemorySize or Timeout, or upload smaller images, then upload job.json again",
                if last.stage == stage::PREPARING { "preparing the images" } else { last.stage.as_str() }
            ),
        )
    })
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
    /// Of those attempts, the ones that ended throttled: they do not count towards
    /// `MAX_ATTEMPTS` (a throttle is unbilled and never final, so a job that waited for the
    /// quota keeps its retries for other transient failures).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub throttled_attempts: u32,
    #[serde(default)]
    pub lease: Option<Lease>,
    /// Where a `processing` job is: `claimed`, `calling the model`; `done` once it ended.
    #[serde(default)]
    pub stage: Option<String>,
    /// Attempts of this manifest version that died without recording their outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interruptions: Vec<Interruption>,
    /// Per call, for jobs with `variants` or `garments`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemStatus>,
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
    pub diagnostics: Diagnostics,
    /// The completion event of a finished job, when events are on: written with the final
    /// state (`published: false`), then marked once the bus accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_event: Option<CompletionRecord>,
}

/// Whether a finished job's completion event reached the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletionRecord {
    pub event_id: String,
    pub published: bool,
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
    /// The backends that served the job's calls (of a one-call job, its backend once it
    /// succeeded), each once.
    pub fn served_by(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if self.state == State::Succeeded {
            out.extend(self.diagnostics.backend.iter().cloned());
        }
        for item in self.items.iter().filter(|i| i.state == State::Succeeded) {
            if let Some(b) = item.backend.as_ref().filter(|b| !out.contains(b)) {
                out.push(b.clone());
            }
        }
        out
    }

    /// Records the error this attempt ended with, and whether the job is now `failed` or
    /// stays `processing` for a retry. Throttled attempts are counted apart and do not use up
    /// `max_attempts` (a throttle is unbilled and never final: [`JobError::final_after`]).
    pub fn record_failure(&mut self, e: &JobError, max_attempts: u32) {
        self.error = Some(StatusError::from(e));
        if e.code == ErrorCode::Throttled {
            self.throttled_attempts += 1;
        }
        let counted = self.attempts.saturating_sub(self.throttled_attempts);
        self.state = if e.final_after(counted, max_attempts) { State::Failed } else { State::Processing };
    }

    /// The stage the last attempt died in, when it died without recording its outcome.
    /// Only meaningful for a delivery that may take the job over ([`Status::claim`]).
    pub fn died_in(&self) -> Option<&str> {
        match (self.state, self.stage.as_deref()) {
            (State::Processing, Some(s)) if s != stage::DONE => Some(s),
            _ => None,
        }
    }

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

fn is_zero(n: &u32) -> bool {
    *n == 0
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
            interruptions: vec![],
            items: vec![],
            updated_at: timestamp(SystemTime::now()),
            diagnostics: Diagnostics::default(),
            completion_event: None,
            throttled_attempts: 0,
        }
    }

    #[test]
    fn cache_uses_serialise_as_their_names() {
        for u in [CacheUse::Hit, CacheUse::Miss, CacheUse::Off] {
            assert_eq!(serde_json::to_value(u).unwrap(), u.as_str());
        }
        let none = serde_json::to_value(CacheRecord::default()).unwrap();
        assert_eq!(none, serde_json::json!({}), "no cache fields on a status written before the call");
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

    fn died(attempt: u32, stage: &str) -> Interruption {
        Interruption { attempt, stage: stage.into(), owner: Some(format!("req-{attempt}")) }
    }

    #[test]
    fn a_dead_attempt_is_retried_once_per_stage_and_never_in_the_paid_one() {
        assert_eq!(after_interruptions(&[]), None);
        assert_eq!(after_interruptions(&[died(1, stage::PREPARING)]), None, "one death may be bad luck");
        let twice = after_interruptions(&[died(1, stage::PREPARING), died(2, stage::PREPARING)]).unwrap();
        assert_eq!(twice.code, ErrorCode::Crashed);
        assert!(
            twice.message.contains("2 times while preparing the images") && twice.message.contains("req-2"),
            "{}",
            twice.message
        );
        let paid = after_interruptions(&[died(1, stage::CALLING_MODEL)]).unwrap();
        assert!(paid.message.contains("may already have been paid"), "{}", paid.message);
        assert!(!paid.retryable());
    }

    #[test]
    fn only_an_unfinished_stage_means_the_attempt_died() {
        let mut s = status(State::Processing, "a", 1, None);
        assert_eq!(s.died_in(), None, "no stage: written by an older version");
        s.stage = Some(stage::PREPARING.into());
        assert_eq!(s.died_in(), Some(stage::PREPARING));
        s.stage = Some(stage::DONE.into());
        assert_eq!(s.died_in(), None, "a recorded transient failure is not a death");
        s.stage = Some(stage::CALLING_MODEL.into());
        s.state = State::Succeeded;
        assert_eq!(s.died_in(), None);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = timestamp(SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123));
        assert_eq!(t, "2023-11-14T22:13:20.123Z");
        assert!(humantime::parse_rfc3339(&t).is_ok());
    }
}
