//! One record of an invocation sorted before any work: a job to run, or a line of the
//! summary already (skipped, malformed), and a job's outcome turned into its line.

use tracing::{error, warn};

use super::summary::RecordResult;
use super::trigger::{Record, Source};
use crate::core::error::JobError;
use crate::pipeline::{ObjectCreated, Outcome};

/// What a record asks for before any I/O.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Triage {
    /// A job to try.
    Run(ObjectCreated),
    /// Decided already. `redeliver`: its SQS message must come back.
    Settled { result: RecordResult, redeliver: bool },
}

/// Longest `what` and reason reported for a record that runs no job: both can come from
/// anyone allowed to send to the queue, and an error message may quote a whole value.
pub(super) const MAX_KEY_CHARS: usize = 1024;

pub(super) const MAX_REASON_CHARS: usize = 512;

/// Decides the records that run no job, and logs them.
pub(super) fn triage(record: Record, source: &Source, message_id: Option<&str>) -> Triage {
    match record {
        Record::Created(obj) => Triage::Run(obj),
        Record::Ignored { what, reason } => {
            let (what, reason) = (clip(what, MAX_KEY_CHARS), clip(reason, MAX_REASON_CHARS));
            warn!(key = %what, %reason, "record ignored");
            Triage::Settled { result: settled(what, "skipped", reason), redeliver: false }
        }
        Record::Malformed { what, reason } => {
            let (what, reason) = (clip(what, MAX_KEY_CHARS), clip(reason, MAX_REASON_CHARS));
            // Only SQS can hand a record back: elsewhere a retry would read the same bytes.
            let redeliver = *source == Source::Sqs;
            error!(key = %what, %reason, source = ?source, message_id, redeliver, "malformed record");
            Triage::Settled { result: settled(what, "malformed", reason), redeliver }
        }
    }
}

pub(super) fn settled(key: String, outcome: &'static str, detail: String) -> RecordResult {
    RecordResult { key, outcome, job_id: None, code: None, detail: Some(detail) }
}

pub(super) fn clip(mut s: String, max_chars: usize) -> String {
    if let Some((at, _)) = s.char_indices().nth(max_chars) {
        s.truncate(at);
        s.push('…');
    }
    s
}

/// The summary line of a job that ran, and its error when a retry could help.
pub(super) fn job_result(key: String, outcome: Result<Outcome, JobError>) -> (RecordResult, Option<JobError>) {
    let line = |outcome, job_id, code, detail| RecordResult { key: key.clone(), outcome, job_id, code, detail };
    match outcome {
        Ok(Outcome::Succeeded { job_id, .. }) => (line("succeeded", Some(job_id), None, None), None),
        Ok(Outcome::Failed { job_id, code }) => (line("failed", Some(job_id), Some(code.as_str()), None), None),
        Ok(Outcome::Skipped { reason }) => (line("skipped", None, None, Some(reason)), None),
        Ok(Outcome::Duplicate { job_id, reason }) => (line("duplicate", Some(job_id), None, Some(reason)), None),
        Err(e) => {
            error!(key = %key, code = %e.code, message = %e.message, "record needs a retry");
            (line("retry", None, Some(e.code.as_str()), Some(e.message.clone())), Some(e))
        }
    }
}
