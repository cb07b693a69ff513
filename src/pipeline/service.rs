//! The function's dependencies and its entry for one announced object.

use std::time::Instant;

use tracing::{info, warn, Instrument};

use crate::adapters::events::{Events, NoEvents};
use crate::adapters::model::Model;
use crate::adapters::storage::{Storage, StorageError};
use crate::config::Config;
use crate::core::error::{ErrorCode, JobError};

/// One announced object that may start a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    /// The decoded key (S3 sends keys form-encoded).
    pub key: String,
    pub etag: Option<String>,
    pub version_id: Option<String>,
    /// The key exactly as the event carried it, when that differs from `key` and the source
    /// does not document its encoding (EventBridge): tried if `key` does not exist.
    pub raw_key: Option<String>,
}

/// The function's dependencies, built once at init. `events` is where completion events go
/// ([`NoEvents`] when they are off, the default).
pub struct Service<S, M, E = NoEvents> {
    pub storage: S,
    pub model: M,
    pub events: E,
    pub config: Config,
}

/// How a delivery ended, when it needs no retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        job_id: String,
        images: usize,
    },
    /// A permanent failure, recorded in `status.json`.
    Failed {
        job_id: String,
        code: ErrorCode,
    },
    /// Not a job (another key, another event type).
    Skipped {
        reason: String,
    },
    /// The job was done, failed for good, or is being worked on by another invocation.
    Duplicate {
        job_id: String,
        reason: String,
    },
}

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    /// Runs the job an announced object starts. `Ok` means no retry is needed (success, a
    /// recorded permanent failure, a skip or a duplicate). `Err` is a transient failure,
    /// already recorded where storage allowed: the invocation must fail so Lambda retries it.
    pub async fn run_job(&self, obj: &ObjectCreated, invocation: &str, deadline: Instant) -> Result<Outcome, JobError> {
        let job_id = match super::keys::job_id(&obj.key, &self.config.uploads_prefix) {
            Ok(id) => id.to_owned(),
            Err(reason) => {
                info!(key = %obj.key, %reason, "skipped object");
                return Ok(Outcome::Skipped { reason });
            }
        };
        let span = tracing::info_span!("job", job = %job_id);
        let obj = match &obj.raw_key {
            Some(raw) => self.pick_key(obj, raw).await,
            None => obj.clone(),
        };
        let job_id = super::keys::job_id(&obj.key, &self.config.uploads_prefix).unwrap_or(&job_id).to_owned();
        // The cache's key space holds its entries and nothing else: a manifest there is
        // refused before anything (a claim, a status.json) is written for it.
        if let Err(e) = super::keys::check_job_id(&job_id) {
            warn!(key = %obj.key, reason = %e.message, "refused: a reserved job id");
            return Ok(Outcome::Skipped { reason: e.message });
        }
        self.run(&obj, &job_id, invocation, deadline).instrument(span).await
    }

    /// For sources whose key encoding is undocumented: the decoded key unless only the raw
    /// one exists.
    async fn pick_key(&self, obj: &ObjectCreated, raw: &str) -> ObjectCreated {
        let max = self.config.limits.max_manifest_bytes;
        let decoded_missing = matches!(self.storage.get(&obj.bucket, &obj.key, max).await, Err(StorageError::NotFound));
        let mut chosen = obj.clone();
        chosen.raw_key = None;
        if decoded_missing
            && super::keys::job_id(raw, &self.config.uploads_prefix).is_ok()
            && !matches!(self.storage.get(&obj.bucket, raw, max).await, Err(StorageError::NotFound))
        {
            info!(key = %raw, "using the key as the event carried it");
            chosen.key = raw.to_owned();
        }
        chosen
    }
}
