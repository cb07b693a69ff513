//! The only ways out of the core: object storage, the model and the completion events. Plain
//! types, so fakes stay trivial and the SDKs can change underneath.

use std::future::Future;
use std::time::Duration;

use crate::catalog::Backend;
use crate::completion::CompletionEvent;

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
    /// A conditional write lost: the object exists (`IfAbsent`) or changed (`IfMatch`).
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("{0}")]
    Other(String),
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
}

/// The raw model reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelResponse {
    pub body: Vec<u8>,
    pub request_id: Option<String>,
}

/// How a model call failed, as the service reports it (after the client's own retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFailureKind {
    /// 400 ValidationException (bad input or input moderation).
    Validation,
    /// 404 ResourceNotFoundException (unknown model, end of life, legacy access lost).
    NotFound,
    /// 403 AccessDeniedException / PERMISSION_DENIED.
    AccessDenied,
    /// The credentials could not be obtained, or were refused (401 UNAUTHENTICATED).
    Unauthenticated,
    /// 429 ThrottlingException / ModelNotReady, or a quota.
    Throttled,
    /// 408 ModelTimeoutException, or the operation timeout ran out.
    Timeout,
    /// 424 ModelErrorException.
    ModelError,
    /// 5xx, or the service could not be reached.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct ModelCallError {
    pub kind: ModelFailureKind,
    pub message: String,
    pub request_id: Option<String>,
}

/// The try-on models: sends a backend's request body to the model that backend calls
/// (Bedrock `InvokeModel` or `Converse`, Vertex AI `:predict` or `:generateContent`), with
/// that backend's credentials.
pub trait Model: Send + Sync {
    /// The model `backend` calls (for messages and `status.json`).
    fn model_id(&self, backend: Backend) -> &str;

    /// Whether this deployment can call `backend` (configured, with credentials).
    fn serves(&self, backend: Backend) -> bool;

    /// Sends one request body; `timeout` bounds the whole call including client retries.
    fn invoke(
        &self,
        backend: Backend,
        body: Vec<u8>,
        timeout: Duration,
    ) -> impl Future<Output = Result<ModelResponse, ModelCallError>> + Send;
}

/// Why a completion event was not accepted (the SDK failed, or the bus refused the entry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventsError(pub String);

/// Where completion events go (an EventBridge bus), or nowhere.
pub trait Events: Send + Sync {
    /// Whether events are published at all. When `false`, nothing about events is recorded
    /// and [`Events::publish`] is never called.
    fn enabled(&self) -> bool;

    /// Puts one event; `Ok` only once the bus accepted it.
    fn publish(&self, event: &CompletionEvent) -> impl Future<Output = Result<(), EventsError>> + Send;
}

/// Events switched off (`EVENT_BUS_NAME` unset or empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoEvents;

impl Events for NoEvents {
    fn enabled(&self) -> bool {
        false
    }

    async fn publish(&self, _event: &CompletionEvent) -> Result<(), EventsError> {
        Err(EventsError("completion events are switched off".into()))
    }
}

/// An adapter that may be absent: `None` is events off.
impl<E: Events> Events for Option<E> {
    fn enabled(&self) -> bool {
        self.as_ref().is_some_and(Events::enabled)
    }

    async fn publish(&self, event: &CompletionEvent) -> Result<(), EventsError> {
        match self {
            Some(e) => e.publish(event).await,
            None => NoEvents.publish(event).await,
        }
    }
}
