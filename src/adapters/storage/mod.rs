//! Object storage: the port the pipeline reads inputs and writes outputs through (plain
//! types, so fakes stay trivial and the SDK can change underneath), and its S3 adapter.

pub mod s3;

use std::future::Future;

/// An object read from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub bytes: Vec<u8>,
    pub etag: String,
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("no such object")]
    NotFound,
    #[error("object is {size} bytes")]
    TooLarge { size: u64 },
    /// The object is in an archive storage class and must be restored before it can be read
    /// (S3's `InvalidObjectState`): permanent until someone restores it.
    #[error("object is archived ({})", storage_class.as_deref().unwrap_or("an archive storage class"))]
    Archived { storage_class: Option<String> },
    /// A conditional write lost: the object exists (`IfAbsent`) or changed (`IfMatch`).
    #[error("precondition failed")]
    PreconditionFailed,
    /// Any other failure: the service's answer (HTTP status and error code, as fields) or
    /// none (the network, the body).
    #[error("{message}")]
    Other {
        message: String,
        /// The HTTP status S3 answered with, if it answered.
        status: Option<u16>,
        /// S3's error code (`AccessDenied`, `InvalidObjectState`, `SlowDown`, …), if any.
        code: Option<String>,
    },
}

impl StorageError {
    /// A failure with no answer from the service behind it.
    pub fn other(message: impl Into<String>) -> Self {
        StorageError::Other { message: message.into(), status: None, code: None }
    }
}

/// Conditions for a write, as S3 conditional writes express them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutCondition<'a> {
    Always,
    /// `If-None-Match: *`: only create.
    IfAbsent,
    /// `If-Match: <etag>`: only replace this version.
    IfMatch(&'a str),
}

/// Object storage (S3, or a local folder for `tryon run`).
pub trait Storage: Send + Sync {
    /// Reads an object, refusing (before downloading it) one larger than `max_bytes`.
    fn get(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> impl Future<Output = Result<StoredObject, StorageError>> + Send;

    /// Writes an object; returns its new ETag.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: PutCondition<'_>,
    ) -> impl Future<Output = Result<String, StorageError>> + Send;

    /// Deletes an object; one that does not exist is already deleted.
    fn delete(&self, bucket: &str, key: &str) -> impl Future<Output = Result<(), StorageError>> + Send;
}
