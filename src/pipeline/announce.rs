//! The completion event of a finished job, published after its final `status.json` (and so
//! after its outputs) is stored.
//!
//! The final status is written with `completionEvent: {eventId, published: false}`; once the
//! bus accepts the event, a conditional write marks it `published: true`. When the bus
//! refuses, the invocation fails as transient (`event_not_published`) with the job's state
//! and outputs untouched; the redelivery finds the finished job with its event unpublished
//! and publishes it without calling the model. Publication is therefore at least once:
//! consumers drop repeats by `eventId`. With events off, nothing about them is recorded.

use tracing::{info, warn};

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::{PutCondition, Storage, StorageError};
use crate::core::completion_event::{self, CompletionEvent};
use crate::core::error::{ErrorCode, JobError};
use crate::core::status::{CompletionRecord, State, Status};

use super::claim::{to_json, Checkpoint};
use super::objects::storage_error;
use super::service::{Outcome, Service};

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    /// Notes, in a final status about to be written, the event that will announce it.
    pub(crate) fn note_completion(&self, status: &mut Status) {
        if self.events.enabled() && status.state != State::Processing {
            let m = &status.manifest;
            let event_id = completion_event::event_id(&m.bucket, &status.job_id, &m.etag);
            status.completion_event = Some(CompletionRecord { event_id, published: false });
        }
    }

    /// Publishes the event of the finished `status`, stored at `at`, then marks it published.
    /// A refused event is a transient failure that leaves the stored status as it is.
    pub(crate) async fn announce(&self, mut status: Status, at: &Checkpoint<'_>) -> Result<(), JobError> {
        let Some(event) = CompletionEvent::of(&status, &at.key) else { return Ok(()) };
        if let Err(e) = self.events.publish(&event).await {
            warn!(event_id = event.event_id(), error = %e, "completion event not published; the retry publishes it");
            return Err(JobError::new(
                ErrorCode::EventNotPublished,
                format!(
                    "the job ended {} and its outputs and status.json are stored, but its completion event {} was not published ({e}); the retry publishes it without running the job again",
                    state_name(status.state),
                    event.event_id()
                ),
            ));
        }
        status.completion_event = Some(CompletionRecord { event_id: event.event_id().to_owned(), published: true });
        let body = to_json(&status)?;
        match self.storage.put(at.bucket, &at.key, body, "application/json", PutCondition::IfMatch(&at.etag)).await {
            Ok(_) => Ok(()),
            // Another delivery wrote since (it marked the same event, or a new manifest
            // version started): the event is out either way.
            Err(StorageError::PreconditionFailed) => {
                info!(event_id = event.event_id(), "status.json changed while publishing; left as it is");
                Ok(())
            }
            Err(e) => Err(storage_error("marking the completion event in status.json", &e)),
        }
    }

    /// A delivery for a finished job whose event is still unpublished: publishes it, with no
    /// model call, and reports the delivery as a duplicate.
    pub(crate) async fn announce_found(&self, found: Status, at: Checkpoint<'_>) -> Result<Outcome, JobError> {
        let job_id = found.job_id.clone();
        let state = state_name(found.state);
        info!(state, "the job ended before; publishing its completion event");
        self.announce(found, &at).await?;
        let reason =
            format!("duplicate delivery: this manifest version already {state}; its completion event is now published");
        Ok(Outcome::Duplicate { job_id, reason })
    }
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Processing => "processing",
        State::Succeeded => "succeeded",
        State::Failed => "failed",
    }
}
