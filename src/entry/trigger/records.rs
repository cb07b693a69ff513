//! What a trigger yields: for each unit of delivery (the whole event, an SQS message, a
//! Batch Operations task) its records, each an object that may start a job, something
//! ignored, or something malformed; and where the event came from.

use std::collections::BTreeMap;

pub use crate::pipeline::ObjectCreated;

/// What one record of an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Created(ObjectCreated),
    /// Not for us (another event type, an undecodable key): logged, never an error.
    Ignored {
        what: String,
        reason: String,
    },
    /// Meant for us but unreadable (a field of the wrong type, a part missing, a message
    /// body that is no notification): a sender's bug that someone must see.
    Malformed {
        /// The object key if the record names one, else where the record sits (`Records[2]`).
        what: String,
        reason: String,
    },
}

/// The payload is not an event this function understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unrecognised event: {0}")]
pub struct EventError(pub String);

/// Where an invocation's event came from; it decides how failures are reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Asynchronous: a failed invocation is retried by Lambda.
    S3,
    /// Asynchronous, like S3.
    EventBridge,
    /// An SNS topic subscribed straight to the function (S3 → SNS → Lambda): asynchronous,
    /// like S3.
    Sns,
    /// A batch: failed messages are reported in `batchItemFailures` and redelivered by SQS.
    Sqs,
    /// Synchronous: the answer has one result per task, and S3 Batch Operations retries the
    /// tasks answered `TemporaryFailure`.
    BatchOperations(BatchInvocation),
}

/// A unit of delivery: the whole event for S3 and EventBridge, one message for SQS, one task
/// for S3 Batch Operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The SQS `messageId`, or the Batch Operations `taskId`.
    pub id: Option<String>,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub source: Source,
    pub messages: Vec<Message>,
}

/// What the answer must echo, and what the job was started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInvocation {
    /// `1.0` or `2.0` (any other value is echoed, and every task fails permanently).
    pub schema_version: String,
    pub invocation_id: String,
    /// The Batch Operations job id, for the logs.
    pub job_id: Option<String>,
    /// `job.userArguments` (2.0): accepted and logged; no argument changes how a job runs.
    pub user_arguments: BTreeMap<String, String>,
}
