//! One job from its manifest to its recorded outcome:
//!
//! 1. Read the manifest (its ETag names the manifest version).
//! 2. Claim the job on `status.json` ([`super::claim`]).
//! 3. Parse the plan and run its calls ([`super::runner`]).
//! 4. Record the outcome. Outputs are written before the status says `succeeded`.
//! 5. Announce a final outcome on the event bus, when events are on ([`super::announce`]).

use std::time::{Instant, SystemTime};

use tracing::{info, warn};

use super::service::ObjectCreated;
use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::{PutCondition, Storage, StorageError, StoredObject};
use crate::core::error::{ErrorCode, JobError};
use crate::core::status::{self, stage, Diagnostics, Lease, ManifestRef, Outputs, State, Status};
use crate::pipeline::plan;

use super::claim::{to_json, Checkpoint, Claimed, Stop};
use super::keys::JobPaths;
use super::measure::ms;
use super::objects::storage_error;
use super::service::{Outcome, Service};

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    pub(crate) async fn run(
        &self,
        obj: &ObjectCreated,
        job_id: &str,
        invocation: &str,
        deadline: Instant,
    ) -> Result<Outcome, JobError> {
        let started = Instant::now();
        let paths = JobPaths::new(&self.config, job_id);
        let t = Instant::now();
        let (manifest, read_error) = self.read_manifest(obj).await?;
        let Some(manifest_ref) = manifest_ref(obj, manifest.as_ref()) else {
            let reason =
                "the manifest is gone and the event names no ETag, so there is no version to record".to_owned();
            warn!(%reason, "delivery skipped");
            return Ok(Outcome::Skipped { reason });
        };
        let mut status = self.fresh_status(job_id, manifest_ref, invocation, deadline);
        status.diagnostics.timings_ms.insert("readManifest".into(), ms(t));
        let t = Instant::now();
        let (mut cp, verdict) = match self.claim(&obj.bucket, paths.status(), &mut status, invocation).await? {
            Claimed::Taken { checkpoint, verdict } => (checkpoint, verdict),
            Claimed::Duplicate(reason) => {
                info!(%reason, "duplicate delivery skipped");
                return Ok(Outcome::Duplicate { job_id: job_id.to_owned(), reason });
            }
            Claimed::Unannounced { found, at } => return self.announce_found(*found, at).await,
        };
        status.diagnostics.timings_ms.insert("claim".into(), ms(t));
        info!(attempt = status.attempts, etag = %status.manifest.etag, "job claimed");
        let work = match (read_error.or(verdict), manifest) {
            (Some(e), _) => Err(Stop::Failed(e)),
            (None, Some(m)) => self.work(&paths, m.bytes, &mut status, &mut cp, deadline).await,
            (None, None) => Err(Stop::Failed(JobError::new(ErrorCode::Internal, "manifest missing without an error"))),
        };
        let result = match work {
            Ok(()) => Ok(()),
            Err(Stop::Failed(e)) => Err(e),
            Err(Stop::LostLease) => return Ok(lost_lease(job_id)),
        };
        status.diagnostics.timings_ms.insert("total".into(), ms(started));
        self.record(status, result, &cp).await
    }

    /// The manifest, or the permanent error that replaces it (gone, too large).
    async fn read_manifest(&self, obj: &ObjectCreated) -> Result<(Option<StoredObject>, Option<JobError>), JobError> {
        let max = self.config.limits.max_manifest_bytes;
        match self.storage.get(&obj.bucket, &obj.key, max).await {
            Ok(o) => Ok((Some(o), None)),
            Err(StorageError::NotFound) => Ok((
                None,
                Some(JobError::new(
                    ErrorCode::MissingObject,
                    format!("the manifest {} was deleted before the job ran; upload it again", obj.key),
                )),
            )),
            Err(StorageError::TooLarge { size }) => Ok((
                None,
                Some(JobError::new(
                    ErrorCode::InputTooLarge,
                    format!("job.json is {size} bytes; at most {max} bytes are accepted"),
                )),
            )),
            Err(StorageError::Archived { storage_class }) => {
                Ok((None, Some(super::objects::archived(&format!("the manifest {}", obj.key), storage_class))))
            }
            Err(e) => Err(storage_error("reading the manifest", &e)),
        }
    }

    fn fresh_status(&self, job_id: &str, manifest: ManifestRef, owner: &str, deadline: Instant) -> Status {
        let now = SystemTime::now();
        let lease_for = deadline.saturating_duration_since(Instant::now()) + self.config.lease_margin;
        Status {
            job_id: job_id.to_owned(),
            state: State::Processing,
            manifest,
            outputs: Outputs::default(),
            error: None,
            warnings: vec![],
            attempts: 1,
            lease: Some(Lease { owner: owner.to_owned(), expires_at: status::timestamp_after(now, lease_for) }),
            stage: Some(stage::PREPARING.into()),
            interruptions: vec![],
            items: vec![],
            updated_at: status::timestamp(now),
            diagnostics: Diagnostics {
                model_id: self.model.model_id(self.config.backends.chain[0]).to_owned(),
                ..Default::default()
            },
            completion_event: None,
            throttled_attempts: 0,
        }
    }

    /// Parses the plan and runs its calls.
    async fn work(
        &self,
        paths: &JobPaths,
        manifest: Vec<u8>,
        status: &mut Status,
        cp: &mut Checkpoint<'_>,
        deadline: Instant,
    ) -> Result<(), Stop> {
        let max_calls = self.config.max_model_calls_per_job as usize;
        let planned =
            plan::parse(&manifest, &paths.folder, max_calls, &self.config.backends).map_err(JobError::from)?;
        drop(manifest);
        self.check_served(&planned)?;
        self.run_plan(paths, planned, status, cp, deadline).await
    }

    /// Writes the final status and says how the delivery ended.
    async fn record(
        &self,
        mut status: Status,
        result: Result<(), JobError>,
        cp: &Checkpoint<'_>,
    ) -> Result<Outcome, JobError> {
        let job_id = status.job_id.clone();
        status.updated_at = status::timestamp(SystemTime::now());
        status.lease = None;
        status.stage = Some(stage::DONE.into());
        let failure = match result {
            Ok(()) => {
                status.state = State::Succeeded;
                None
            }
            Err(e) => {
                status.record_failure(&e, self.config.max_attempts);
                Some(e)
            }
        };
        log_finished(&status, failure.as_ref());
        if self.config.emit_metrics {
            crate::core::metrics::emit(&status);
        }
        self.note_completion(&mut status);
        // A final record names no reply copy: they are deleted once it is written.
        let copies = if status.state == State::Processing { Vec::new() } else { take_reply_keys(&mut status) };
        let body = to_json(&status)?;
        let etag =
            match self.storage.put(cp.bucket, &cp.key, body, "application/json", PutCondition::IfMatch(&cp.etag)).await
            {
                Ok(etag) => etag,
                Err(StorageError::PreconditionFailed) => return Ok(lost_lease(&job_id)),
                Err(e) => return Err(storage_error("recording status.json", &e)),
            };
        // The outcome is durable: the job's own reply copies have served their purpose.
        self.delete_reply_copies(cp.bucket, copies).await;
        let outcome = match failure {
            Some(e) if e.retryable() => {
                warn!(code = %e.code, message = %e.message, "transient failure; the invocation fails so Lambda retries");
                Err(e)
            }
            Some(e) => {
                warn!(code = %e.code, message = %e.message, "job failed");
                Ok(Outcome::Failed { job_id, code: e.code })
            }
            None => Ok(Outcome::Succeeded { job_id, images: status.outputs.images.len() }),
        };
        // Only a final state carries an event; a refused one fails the invocation instead.
        if status.completion_event.is_some() {
            self.announce(status, &Checkpoint { bucket: cp.bucket, key: cp.key.clone(), etag }).await?;
        }
        outcome
    }

    /// Deletes the job's own copies of paid replies, once its final status is written (a
    /// retry before that point replays them). One left behind is only storage: the outputs'
    /// lifecycle rule removes it.
    async fn delete_reply_copies(&self, bucket: &str, keys: Vec<String>) {
        for key in &keys {
            match self.storage.delete(bucket, key).await {
                Ok(()) => info!(key, "deleted the job's copy of a paid reply"),
                Err(e) => warn!(key, error = %e, "the job's copy of a paid reply was not deleted"),
            }
        }
    }

    /// Every backend the plan calls can be called by this deployment: a manifest naming one
    /// that is enabled but has no transport (no credentials where it runs) is refused before
    /// anything is paid.
    fn check_served(&self, planned: &plan::JobPlan) -> Result<(), JobError> {
        match planned.backends().into_iter().find(|b| !self.model.serves(*b)) {
            Some(b) => Err(JobError::new(
                ErrorCode::InvalidManifest,
                format!(
                    "job.json: backend: {b} cannot be called here (its client is not configured; see README, Backends)"
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The job's reply copies, taken out of its record.
fn take_reply_keys(status: &mut Status) -> Vec<String> {
    std::iter::once(&mut status.diagnostics.cache)
        .chain(status.items.iter_mut().map(|i| &mut i.cache))
        .filter_map(|c| c.reply_key.take())
        .collect()
}

/// The manifest version: the object's ETag, else the event's. `None` when neither has one:
/// claiming under an empty version would let two versions share one claim.
fn manifest_ref(obj: &ObjectCreated, read: Option<&StoredObject>) -> Option<ManifestRef> {
    let etag = read.map(|o| o.etag.clone()).or_else(|| obj.etag.clone()).filter(|e| !e.is_empty())?;
    Some(ManifestRef {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        etag,
        version_id: read.and_then(|o| o.version_id.clone()).or_else(|| obj.version_id.clone()),
    })
}

fn lost_lease(job_id: &str) -> Outcome {
    warn!("status.json changed under us (the lease was taken over); leaving the job to the new owner");
    Outcome::Duplicate { job_id: job_id.to_owned(), reason: "lost the lease while working".into() }
}

fn log_finished(status: &Status, failure: Option<&JobError>) {
    let t = &status.diagnostics.timings_ms;
    info!(
        state = ?status.state,
        code = failure.map(|e| e.code.as_str()),
        attempt = status.attempts,
        images = status.outputs.images.len(),
        request_bytes = status.diagnostics.request_bytes,
        bedrock_request_id = status.diagnostics.bedrock_request_id.as_deref(),
        read_ms = t.get("readImages"),
        prepare_ms = t.get("prepare"),
        model_ms = t.get("model"),
        write_ms = t.get("writeOutputs"),
        total_ms = t.get("total"),
        "job finished"
    );
}
