//! What an invocation answers: one result per record ([`Summary`]), shaped by its source
//! (records, SQS `batchItemFailures`, the Batch Operations answer), and the error of an
//! invocation that fails for Lambda to retry it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;
use tracing::warn;

use crate::core::error::ErrorCode;

/// What the runtime tells us about the invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// Lambda's request id; async retries of one event keep it.
    pub request_id: String,
    pub deadline: Instant,
}

impl Invocation {
    /// From the runtime's deadline in milliseconds since the epoch. A deadline more than an
    /// hour in the past is not one Lambda sends (local runtime emulators send a constant such
    /// as 600000): it is treated as unknown and `fallback` from now is used instead.
    pub fn new(request_id: impl Into<String>, deadline_epoch_ms: u64, fallback: Duration) -> Self {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let left = if deadline_epoch_ms.saturating_add(3_600_000) < now_ms {
            warn!(
                deadline_epoch_ms,
                fallback_s = fallback.as_secs(),
                "the invocation deadline is implausible; using the fallback"
            );
            fallback
        } else {
            Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms))
        };
        Invocation { request_id: request_id.into(), deadline: Instant::now() + left }
    }
}

/// One line of the invocation's result per record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordResult {
    pub key: String,
    /// succeeded | failed | skipped | duplicate | retry | malformed
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What the invocation did with every record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub records: Vec<RecordResult>,
    /// What the invocation answers, by source.
    #[serde(skip)]
    pub reply: Reply,
}

/// The shape of an invocation's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// S3 and EventBridge: the per-record summary.
    Records,
    /// SQS: the messages to redeliver (transient failures, malformed messages).
    BatchItemFailures(Vec<String>),
    /// S3 Batch Operations: one result per task.
    BatchOperations(BatchAnswer),
}

impl Summary {
    /// The invocation's result: `{"batchItemFailures": [...]}` for SQS batches (so only the
    /// failed messages are redelivered), the Batch Operations answer for its tasks, the
    /// per-record summary otherwise.
    pub fn response(&self) -> Value {
        match &self.reply {
            Reply::BatchItemFailures(ids) => serde_json::json!({
                "batchItemFailures": ids.iter().map(|id| serde_json::json!({ "itemIdentifier": id })).collect::<Vec<_>>()
            }),
            Reply::BatchOperations(answer) => serde_json::to_value(answer).unwrap_or_default(),
            Reply::Records => serde_json::json!({ "records": self.records }),
        }
    }
}

/// A failed invocation: its `errorType` is the stable code of the first transient failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvocationError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(e: InvocationError) -> Self {
        lambda_runtime::Diagnostic { error_type: e.code.as_str().to_owned(), error_message: e.message }
    }
}

/// A task's result code, as S3 Batch Operations reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResultCode {
    Succeeded,
    /// Retried by S3 Batch Operations.
    TemporaryFailure,
    PermanentFailure,
}

/// One task's line of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    pub task_id: String,
    pub result_code: ResultCode,
    pub result_string: String,
}

/// The whole answer: the invocation's ids echoed, one result per task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchAnswer {
    pub invocation_schema_version: String,
    /// A task left out of `results` (one without a `taskId`) failed for good.
    pub treat_missing_keys_as: ResultCode,
    pub invocation_id: String,
    pub results: Vec<TaskResult>,
}
