//! The rules of `status.json`: the claim that makes one manifest version cost one model call
//! however often its event is delivered, the checkpoints that move it on, what a delivery
//! does when the attempt before it died or when a finished job's completion event is still
//! unpublished ([`super::announce`]), and the final record.
//!
//! The status is created with `If-None-Match: *` and moved on with `If-Match: <etag>`: a
//! write that loses means another delivery took the job over, and this one stops.

use std::time::SystemTime;

use tracing::{info, warn};

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::{PutCondition, Storage, StorageError};
use crate::core::error::{ErrorCode, JobError};
use crate::core::limits::MAX_STATUS_BYTES;
use crate::core::status::{self, Claim, State, Status};

use super::objects::storage_error;
use super::service::Service;

/// Where `status.json` is and the version this delivery last wrote.
pub(crate) struct Checkpoint<'a> {
    pub(crate) bucket: &'a str,
    pub(crate) key: String,
    pub(crate) etag: String,
}

/// Why work stopped early.
pub(crate) enum Stop {
    Failed(JobError),
    /// Another delivery took the job over: leave everything to it.
    LostLease,
}

impl From<JobError> for Stop {
    fn from(e: JobError) -> Self {
        Stop::Failed(e)
    }
}

/// What the claim decided.
pub(crate) enum Claimed<'a> {
    /// This delivery owns the job. `verdict` is set when earlier attempts died so that the job
    /// must now fail instead of dying again.
    Taken { checkpoint: Checkpoint<'a>, verdict: Option<JobError> },
    /// Someone else has it, or it already ended.
    Duplicate(String),
    /// It already ended, but its completion event has not gone out: `found` is stored at `at`.
    Unannounced { found: Box<Status>, at: Checkpoint<'a> },
}

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    /// Claims the job for `status` (a fresh `processing` status of this delivery): reads the
    /// status found, decides with [`Status::claim`], and writes conditionally.
    pub(crate) async fn claim<'a>(
        &self,
        bucket: &'a str,
        key: String,
        status: &mut Status,
        owner: &str,
    ) -> Result<Claimed<'a>, JobError> {
        let mut verdict = None;
        let found = match self.storage.get(bucket, &key, MAX_STATUS_BYTES).await {
            Err(StorageError::NotFound) => None,
            Err(e) => return Err(storage_error("reading status.json", &e)),
            Ok(found) => Some(found),
        };
        if let Some(found) = &found {
            match serde_json::from_slice::<Status>(&found.bytes) {
                Ok(previous) => match previous.claim(&status.manifest.etag, owner, SystemTime::now()) {
                    Claim::Skip(_) if self.events.enabled() && unannounced(&previous, &status.manifest.etag) => {
                        let at = Checkpoint { bucket, key, etag: found.etag.clone() };
                        return Ok(Claimed::Unannounced { found: Box::new(previous), at });
                    }
                    Claim::Skip(reason) => return Ok(Claimed::Duplicate(reason)),
                    Claim::Take { attempt } => {
                        status.attempts = attempt;
                        // A retry of the same manifest version keeps the calls already made
                        // and what is known of the attempts that died.
                        if previous.manifest.etag == status.manifest.etag {
                            verdict = record_death(&previous, status);
                            status.items = previous.items;
                            status.throttled_attempts = previous.throttled_attempts;
                        }
                    }
                },
                Err(e) => warn!(error = %e, "status.json is unreadable; replacing it"),
            }
        }
        let condition = match &found {
            None => PutCondition::IfAbsent,
            Some(f) => PutCondition::IfMatch(&f.etag),
        };
        match self.storage.put(bucket, &key, to_json(status)?, "application/json", condition).await {
            Ok(etag) => Ok(Claimed::Taken { checkpoint: Checkpoint { bucket, key, etag }, verdict }),
            Err(StorageError::PreconditionFailed) => {
                Ok(Claimed::Duplicate("another delivery claimed the job first".into()))
            }
            Err(e) => Err(storage_error("claiming status.json", &e)),
        }
    }

    /// Writes the status as it stands, conditional on the last version this delivery wrote.
    pub(crate) async fn checkpoint(&self, status: &Status, cp: &mut Checkpoint<'_>) -> Result<(), Stop> {
        let body = to_json(status)?;
        match self.storage.put(cp.bucket, &cp.key, body, "application/json", PutCondition::IfMatch(&cp.etag)).await {
            Ok(e) => {
                cp.etag = e;
                Ok(())
            }
            Err(StorageError::PreconditionFailed) => Err(Stop::LostLease),
            Err(e) => Err(Stop::Failed(storage_error("updating status.json", &e))),
        }
    }
}

/// Notes in `status` that the previous attempt died, if it did, and says whether the job
/// must now fail instead of dying the same way again ([`status::after_interruptions`]).
fn record_death(previous: &Status, status: &mut Status) -> Option<JobError> {
    status.interruptions = previous.interruptions.clone();
    let stage = previous.died_in()?;
    warn!(stage, attempt = previous.attempts, "the previous attempt died without recording its outcome");
    status.interruptions.push(status::Interruption {
        attempt: previous.attempts,
        stage: stage.to_owned(),
        owner: previous.lease.as_ref().map(|l| l.owner.clone()),
    });
    let verdict = status::after_interruptions(&status.interruptions);
    if verdict.is_none() {
        info!(stage, "trying again after one death in this stage");
    }
    verdict
}

/// The status as JSON. Our own types always serialise; if one ever did not, writing an empty
/// status would lose the job's record, so it is an error.
pub(crate) fn to_json(status: &Status) -> Result<Vec<u8>, JobError> {
    serde_json::to_vec_pretty(status)
        .map_err(|e| JobError::new(ErrorCode::Internal, format!("status.json could not be serialised: {e}")))
}

/// Whether `found` is a finished run of manifest version `etag` whose event has not gone out.
pub(crate) fn unannounced(found: &Status, etag: &str) -> bool {
    found.manifest.etag == etag
        && found.state != State::Processing
        && found.completion_event.as_ref().is_some_and(|c| !c.published)
}
