//! The answer to an S3 Batch Operations invocation: one result per task.
//!
//! | the task's job | `resultCode` | `resultString` |
//! |---|---|---|
//! | ran (or had run) to its final state | `Succeeded` | `succeeded`, or `failed: <code>` |
//! | failed transiently (throttled, S3 down, …) | `TemporaryFailure` | `<code>: <message>` |
//! | is being run by another invocation | `TemporaryFailure` | `processing: <why>` |
//! | is no job (another key), a superseded version, a malformed task | `PermanentFailure` | `skipped: …`, `superseded: …`, `malformed: …` |
//!
//! A job that ended `failed` is a task that succeeded: the job's record says why, and running
//! it again would fail the same way. S3 Batch Operations retries `TemporaryFailure` tasks; the
//! retry claims the same manifest version as any S3 notification of it, so the model is paid
//! once however the job is delivered. A task for a job already finished answers from its
//! `status.json` without calling the model.

use tracing::{info, warn};

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::Storage;
use crate::core::error::JobError;
use crate::core::limits::MAX_STATUS_BYTES;
use crate::core::status::{State, Status};
use crate::entry::trigger::{BatchInvocation, Message, ObjectCreated, Source};
use crate::pipeline::{JobPaths, Outcome, Service};

use super::summary::{BatchAnswer, Invocation, RecordResult, Reply, ResultCode, Summary, TaskResult};
use super::triage::{clip, job_result, settled, triage, Triage, MAX_REASON_CHARS};

/// Runs every task and answers. Never an invocation error: that would fail every task alike.
pub(super) async fn answer<S: Storage, M: Model, E: Events>(
    svc: &Service<S, M, E>,
    invocation: BatchInvocation,
    tasks: Vec<Message>,
    inv: &Invocation,
) -> Summary {
    info!(
        batch_job = invocation.job_id.as_deref(),
        schema = %invocation.schema_version,
        tasks = tasks.len(),
        user_arguments = ?invocation.user_arguments,
        "S3 Batch Operations invocation"
    );
    let source = Source::BatchOperations(invocation.clone());
    let mut records = Vec::new();
    let mut results = Vec::new();
    for task in tasks {
        for record in task.records {
            let (line, code, text) = match triage(record, &source, task.id.as_deref()) {
                Triage::Settled { result, .. } => {
                    let text = format!("{}: {}", result.outcome, result.detail.as_deref().unwrap_or_default());
                    (result, ResultCode::PermanentFailure, text)
                }
                Triage::Run(obj) => run_task(svc, obj, inv).await,
            };
            match &task.id {
                Some(id) => results.push(TaskResult {
                    task_id: id.clone(),
                    result_code: code,
                    result_string: clip(text, MAX_REASON_CHARS),
                }),
                None => warn!(key = %line.key, "a task without a taskId gets no result (treated as PermanentFailure)"),
            }
            records.push(line);
        }
    }
    let answer = BatchAnswer {
        invocation_schema_version: invocation.schema_version,
        treat_missing_keys_as: ResultCode::PermanentFailure,
        invocation_id: invocation.invocation_id,
        results,
    };
    Summary { records, reply: Reply::BatchOperations(answer) }
}

/// Runs one task's job and says how the task ended.
async fn run_task<S: Storage, M: Model, E: Events>(
    svc: &Service<S, M, E>,
    obj: ObjectCreated,
    inv: &Invocation,
) -> (RecordResult, ResultCode, String) {
    if let Some(reason) = superseded(svc, &obj).await {
        warn!(key = %obj.key, %reason, "task skipped");
        return (
            settled(obj.key, "skipped", reason.clone()),
            ResultCode::PermanentFailure,
            format!("superseded: {reason}"),
        );
    }
    let outcome = svc.run_job(&obj, &inv.request_id, inv.deadline).await;
    let (line, _) = job_result(obj.key.clone(), outcome.clone());
    let (code, text) = match outcome {
        Ok(Outcome::Duplicate { job_id, reason }) => recorded(svc, &obj.bucket, &job_id, &reason).await,
        other => task_answer(other),
    };
    (line, code, text)
}

/// How a job's run answers its task; duplicates are answered from their record instead.
fn task_answer(outcome: Result<Outcome, JobError>) -> (ResultCode, String) {
    match outcome {
        Ok(Outcome::Succeeded { .. }) => (ResultCode::Succeeded, "succeeded".into()),
        Ok(Outcome::Failed { code, .. }) => (ResultCode::Succeeded, format!("failed: {code}")),
        Ok(Outcome::Skipped { reason }) => (ResultCode::PermanentFailure, format!("skipped: {reason}")),
        Ok(Outcome::Duplicate { reason, .. }) => (ResultCode::TemporaryFailure, format!("processing: {reason}")),
        Err(e) if e.retryable() => (ResultCode::TemporaryFailure, e.to_string()),
        Err(e) => (ResultCode::PermanentFailure, e.to_string()),
    }
}

/// The answer for a job this delivery did not run: what its `status.json` records.
async fn recorded<S: Storage, M: Model, E: Events>(
    svc: &Service<S, M, E>,
    bucket: &str,
    job_id: &str,
    reason: &str,
) -> (ResultCode, String) {
    let key = JobPaths::new(&svc.config, job_id).status();
    let status = match svc.storage.get(bucket, &key, MAX_STATUS_BYTES).await {
        Ok(found) => serde_json::from_slice::<Status>(&found.bytes).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match status {
        Ok(s) => state_answer(&s, reason),
        Err(e) => (ResultCode::TemporaryFailure, format!("processing: {reason}; status.json unreadable ({e})")),
    }
}

/// A recorded status as a task's answer.
fn state_answer(status: &Status, reason: &str) -> (ResultCode, String) {
    match status.state {
        State::Succeeded => (ResultCode::Succeeded, "succeeded".into()),
        State::Failed => {
            let code = status.error.as_ref().map_or("unknown", |e| e.code.as_str());
            (ResultCode::Succeeded, format!("failed: {code}"))
        }
        State::Processing => (ResultCode::TemporaryFailure, format!("processing: {reason}")),
    }
}

/// Why the task's manifest version is not the one that would run, if it is not: the job runs
/// the current `job.json` (as for S3 notifications), so a task naming an older version must not
/// run the newer one under its name.
async fn superseded<S: Storage, M: Model, E: Events>(svc: &Service<S, M, E>, obj: &ObjectCreated) -> Option<String> {
    let wanted = obj.version_id.as_deref()?;
    crate::pipeline::job_id(&obj.key, &svc.config.uploads_prefix).ok()?;
    match svc.storage.get(&obj.bucket, &obj.key, svc.config.limits.max_manifest_bytes).await {
        Ok(current) if current.version_id.as_deref() != Some(wanted) => Some(format!(
            "the task names version {wanted} of {}, but the current version is {}; only the current job.json runs",
            obj.key,
            current.version_id.as_deref().unwrap_or("unknown")
        )),
        // Gone, too large or unreadable: the job's run reports it.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::{ErrorCode, JobError};
    use crate::core::status::StatusError;

    #[test]
    fn each_outcome_has_its_result_code() {
        let ok = |o: Outcome| task_answer(Ok(o));
        assert_eq!(
            ok(Outcome::Succeeded { job_id: "j".into(), images: 2 }),
            (ResultCode::Succeeded, "succeeded".into())
        );
        assert_eq!(
            ok(Outcome::Failed { job_id: "j".into(), code: ErrorCode::InvalidManifest }),
            (ResultCode::Succeeded, "failed: invalid_manifest".into())
        );
        let (code, text) = ok(Outcome::Skipped { reason: "not a job manifest".into() });
        assert_eq!((code, text.as_str()), (ResultCode::PermanentFailure, "skipped: not a job manifest"));
        let (code, text) = task_answer(Err(JobError::new(ErrorCode::Throttled, "slow down")));
        assert_eq!((code, text.as_str()), (ResultCode::TemporaryFailure, "throttled: slow down"));
        let (code, text) = task_answer(Err(JobError::new(ErrorCode::Internal, "bug")));
        assert_eq!((code, text.as_str()), (ResultCode::PermanentFailure, "internal: bug"));
    }

    #[test]
    fn a_recorded_status_answers_with_its_state() {
        let mut s: Status = serde_json::from_value(serde_json::json!({
            "jobId": "j", "state": "succeeded", "manifest": {"bucket": "b", "key": "k", "etag": "e"},
            "outputs": {"images": []}, "attempts": 1, "updatedAt": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(state_answer(&s, "dup"), (ResultCode::Succeeded, "succeeded".into()));
        s.state = State::Failed;
        s.error = Some(StatusError::from(&JobError::new(ErrorCode::ContentFiltered, "blocked")));
        assert_eq!(state_answer(&s, "dup"), (ResultCode::Succeeded, "failed: content_filtered".into()));
        s.state = State::Processing;
        assert_eq!(state_answer(&s, "in progress").0, ResultCode::TemporaryFailure);
    }

    #[test]
    fn the_answer_has_the_documented_shape() {
        let answer = BatchAnswer {
            invocation_schema_version: "2.0".into(),
            treat_missing_keys_as: ResultCode::PermanentFailure,
            invocation_id: "inv".into(),
            results: vec![TaskResult {
                task_id: "t".into(),
                result_code: ResultCode::TemporaryFailure,
                result_string: "throttled: x".into(),
            }],
        };
        let summary = Summary { records: vec![], reply: Reply::BatchOperations(answer) };
        assert_eq!(
            summary.response(),
            serde_json::json!({
                "invocationSchemaVersion": "2.0", "treatMissingKeysAs": "PermanentFailure", "invocationId": "inv",
                "results": [{"taskId": "t", "resultCode": "TemporaryFailure", "resultString": "throttled: x"}]
            })
        );
    }
}
