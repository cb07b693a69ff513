//! The Lambda entry: one invocation's event in, every record handled, one result out.
//! Transient failures fail the invocation (so Lambda retries it, and the jobs already done
//! are skipped as duplicates); everything else returns a summary.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;
use tracing::{error, warn};

use crate::error::{ErrorCode, JobError};
use crate::event::{self, Record, Source};
use crate::job::{Outcome, Service};
use crate::ports::{Model, Storage};

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
    /// succeeded | failed | skipped | duplicate | retry
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
    /// For SQS batches: the messages to redeliver (transient failures only).
    #[serde(skip)]
    pub batch_item_failures: Option<Vec<String>>,
}

impl Summary {
    /// The invocation's result: `{"batchItemFailures": [...]}` for SQS batches (so only the
    /// failed messages are redelivered), the per-record summary otherwise.
    pub fn response(&self) -> Value {
        match &self.batch_item_failures {
            Some(ids) => serde_json::json!({
                "batchItemFailures": ids.iter().map(|id| serde_json::json!({ "itemIdentifier": id })).collect::<Vec<_>>()
            }),
            None => serde_json::json!({ "records": self.records }),
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

/// Handles a whole event. S3 and EventBridge invocations fail when any record failed
/// transiently (Lambda retries them; finished jobs are then skipped as duplicates). SQS
/// batches always succeed and name the messages to redeliver.
pub async fn handle<S: Storage, M: Model>(
    svc: &Service<S, M>,
    payload: Value,
    inv: &Invocation,
) -> Result<Summary, InvocationError> {
    let incoming = match event::parse_event(payload) {
        Ok(i) => i,
        Err(e) => {
            // Retrying an event we cannot read would fail the same way.
            warn!(error = %e, "event ignored");
            let skipped = RecordResult {
                key: String::new(),
                outcome: "skipped",
                job_id: None,
                code: None,
                detail: Some(e.to_string()),
            };
            return Ok(Summary { records: vec![skipped], batch_item_failures: None });
        }
    };
    let mut results = Vec::new();
    let mut transient: Vec<JobError> = Vec::new();
    let mut failed_messages = Vec::new();
    for message in incoming.messages {
        let mut message_failed = false;
        for record in message.records {
            let obj = match record {
                Record::Ignored { what, reason } => {
                    warn!(key = %what, %reason, "record ignored");
                    results.push(RecordResult {
                        key: what,
                        outcome: "skipped",
                        job_id: None,
                        code: None,
                        detail: Some(reason),
                    });
                    continue;
                }
                Record::Created(obj) => obj,
            };
            let r = match svc.handle(&obj, &inv.request_id, inv.deadline).await {
                Ok(Outcome::Succeeded { job_id, .. }) => {
                    RecordResult { key: obj.key, outcome: "succeeded", job_id: Some(job_id), code: None, detail: None }
                }
                Ok(Outcome::Failed { job_id, code }) => RecordResult {
                    key: obj.key,
                    outcome: "failed",
                    job_id: Some(job_id),
                    code: Some(code.as_str()),
                    detail: None,
                },
                Ok(Outcome::Skipped { reason }) => {
                    RecordResult { key: obj.key, outcome: "skipped", job_id: None, code: None, detail: Some(reason) }
                }
                Ok(Outcome::Duplicate { job_id, reason }) => RecordResult {
                    key: obj.key,
                    outcome: "duplicate",
                    job_id: Some(job_id),
                    code: None,
                    detail: Some(reason),
                },
                Err(e) => {
                    error!(key = %obj.key, code = %e.code, message = %e.message, "record needs a retry");
                    let r = RecordResult {
                        key: obj.key,
                        outcome: "retry",
                        job_id: None,
                        code: Some(e.code.as_str()),
                        detail: Some(e.message.clone()),
                    };
                    transient.push(e);
                    message_failed = true;
                    r
                }
            };
            results.push(r);
        }
        if message_failed {
            failed_messages.push(message.id);
        }
    }
    if incoming.source == Source::Sqs && failed_messages.iter().all(Option::is_some) {
        let ids: Vec<String> = failed_messages.into_iter().flatten().collect();
        if !ids.is_empty() {
            warn!(failed = ids.len(), "reporting partial batch failures");
        }
        return Ok(Summary { records: results, batch_item_failures: Some(ids) });
    }
    match transient.first() {
        None => Ok(Summary { records: results, batch_item_failures: None }),
        Some(first) => Err(InvocationError {
            code: first.code,
            message: format!("{} of {} records failed transiently; first: {}", transient.len(), results.len(), first),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_come_from_the_runtime_unless_implausible() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let fallback = Duration::from_secs(1000);
        let real = Invocation::new("r", now_ms + 30_000, fallback);
        let left = real.deadline.saturating_duration_since(Instant::now());
        assert!(left <= Duration::from_secs(30) && left > Duration::from_secs(28), "{left:?}");
        let past = Invocation::new("r", now_ms - 5_000, fallback);
        assert!(past.deadline <= Instant::now(), "a deadline just passed stays passed");
        let bogus = Invocation::new("r", 600_000, fallback);
        assert!(bogus.deadline.saturating_duration_since(Instant::now()) > Duration::from_secs(990));
    }
}
