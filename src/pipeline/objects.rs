//! Reading a job's inputs and writing its outputs, with the job's rules: sizes refused
//! before download, storage failures as `storage_error`, and nothing ever written under
//! the uploads prefix (that would start jobs recursively).

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::{PutCondition, Storage, StorageError};
use crate::core::error::{ErrorCode, JobError};

use super::service::Service;

/// An input in an archive storage class: permanent until restored, and what to do.
pub(crate) fn archived(what: &str, storage_class: Option<String>) -> JobError {
    let class = storage_class.unwrap_or_else(|| "an archive storage class".into());
    JobError::new(
        ErrorCode::InputArchived,
        format!(
            "{what} is in the {class} storage class and cannot be read until it is restored: restore it (S3 RestoreObject, or copy it to STANDARD), then upload job.json again"
        ),
    )
}

impl<S: Storage, M: Model, E: Events> Service<S, M, E> {
    /// Reads an input image, refusing one over `max` bytes before downloading it.
    pub(crate) async fn read_image(&self, bucket: &str, key: &str, what: &str, max: u64) -> Result<Vec<u8>, JobError> {
        match self.storage.get(bucket, key, max).await {
            Ok(o) => Ok(o.bytes),
            Err(StorageError::NotFound) => Err(JobError::new(
                ErrorCode::MissingObject,
                format!("the {what} {key} does not exist; upload the images before job.json, and check the name in the manifest"),
            )),
            Err(StorageError::TooLarge { size }) => Err(JobError::new(
                ErrorCode::InputTooLarge,
                format!("the {what} {key} is {size} bytes; at most {max} bytes are accepted"),
            )),
            Err(StorageError::Archived { storage_class }) => Err(archived(&format!("the {what} {key}"), storage_class)),
            Err(e) => Err(storage_error(&format!("reading the {what}"), &e)),
        }
    }

    /// Reads an output this job wrote earlier (a checkpointed call's result).
    pub(crate) async fn read_output(&self, bucket: &str, key: &str) -> Result<Vec<u8>, JobError> {
        let max = self.config.limits.max_image_bytes.max(64 << 20);
        self.read_image(bucket, key, "earlier result", max).await.map_err(|e| match e.code {
            // Our own output vanished (a lifecycle rule, a person): the call must be made again.
            ErrorCode::MissingObject => JobError::new(ErrorCode::StorageError, e.message),
            _ => e,
        })
    }

    pub(crate) async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), JobError> {
        if key.starts_with(&self.config.uploads_prefix) {
            return Err(JobError::new(
                ErrorCode::Internal,
                format!("refusing to write {key} under the uploads prefix"),
            ));
        }
        self.storage
            .put(bucket, key, body, content_type, PutCondition::Always)
            .await
            .map(|_| ())
            .map_err(|e| storage_error(&format!("writing {key}"), &e))
    }
}

pub(crate) fn storage_error(doing: &str, e: &StorageError) -> JobError {
    JobError::new(ErrorCode::StorageError, format!("S3 failed while {doing}: {e}"))
}

/// Runs CPU-bound image work off the async threads; a panic in a decoder becomes `internal`.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, JobError> + Send + 'static,
) -> Result<T, JobError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(JobError::new(ErrorCode::Internal, format!("image processing crashed: {e}"))))
}
