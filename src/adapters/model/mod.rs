//! The try-on models: the port a paid call goes through, and its transports: Bedrock
//! `InvokeModel` ([`bedrock`]) and `Converse` ([`converse`]), Vertex AI ([`vertex`]), one
//! dispatch over them ([`transports`]) that waits out throttles within the call's time
//! ([`quota_wait`]).

pub mod bedrock;
pub mod converse;
pub mod quota_wait;
pub mod transports;
pub mod vertex;

use std::future::Future;
use std::time::Duration;

use crate::core::backend::Backend;

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

/// A failed call, with its cause as the service gave it: the failure kind is derived by the
/// transport from the HTTP status and the vendor's code, and backends classify by those
/// fields, never by the message (vendors reword messages; codes are their contract).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct ModelCallError {
    pub kind: ModelFailureKind,
    /// For people: the vendor's code, status and message as one line.
    pub message: String,
    pub request_id: Option<String>,
    /// The HTTP status the service answered with (`None`: no answer).
    pub status: Option<u16>,
    /// The vendor's error code: Bedrock's exception name (`ValidationException`), Google's
    /// `status` (`FAILED_PRECONDITION`).
    pub code: Option<String>,
}

impl ModelCallError {
    /// A failure with no service answer behind it (a timeout, no credentials, a bad body).
    pub fn new(kind: ModelFailureKind, message: impl Into<String>) -> Self {
        ModelCallError { kind, message: message.into(), request_id: None, status: None, code: None }
    }

    /// The service's own answer: its HTTP status and error code.
    pub fn answered(mut self, status: u16, code: impl Into<String>) -> Self {
        self.status = Some(status);
        self.code = Some(code.into());
        self
    }

    /// Whether the vendor's code is `code`.
    pub fn code_is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
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
