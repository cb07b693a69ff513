//! The Lambda entry: one invocation's event in, every record handled, one result out.
//! Transient failures fail the invocation (so Lambda retries it, and the jobs already done
//! are skipped as duplicates); everything else returns a summary. A malformed record never
//! fails an S3 or EventBridge invocation (a retry reads the same bytes); in an SQS batch its
//! message is redelivered, so that it ends in the dead-letter queue where someone sees it.
//! S3 Batch Operations invocations are answered task by task ([`batch_operations`]).

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use tracing::warn;

use crate::adapters::events::Events;
use crate::adapters::model::Model;
use crate::adapters::storage::Storage;
use crate::core::error::{ErrorCode, JobError};
use crate::pipeline::{Outcome, Service};
use trigger::{Incoming, ObjectCreated, Source};

mod batch_answer;
pub mod memory;
mod summary;
mod triage;
pub mod trigger;

pub use summary::{BatchAnswer, Invocation, InvocationError, RecordResult, Reply, ResultCode, Summary, TaskResult};
use triage::{job_result, settled, triage, Triage};

/// Handles a whole event. S3 and EventBridge invocations fail when any record failed
/// transiently (Lambda retries them; finished jobs are then skipped as duplicates). SQS
/// batches succeed and name the messages to redeliver (transient failures, malformed
/// bodies), unless one of those has no `messageId`: then the whole batch fails.
pub async fn handle<S: Storage, M: Model, E: Events>(
    svc: &Service<S, M, E>,
    payload: Value,
    inv: &Invocation,
) -> Result<Summary, InvocationError> {
    let incoming = match trigger::parse_event(payload) {
        Ok(i) => i,
        Err(e) => {
            // Retrying an event we cannot read would fail the same way.
            warn!(error = %e, "event ignored");
            let skipped = settled(String::new(), "skipped", e.to_string());
            return Ok(Summary { records: vec![skipped], reply: Reply::Records });
        }
    };
    if let Source::BatchOperations(invocation) = incoming.source {
        // Answered, never failed: a failed invocation would fail every task it carries.
        return Ok(batch_answer::answer(svc, invocation, incoming.messages, inv).await);
    }
    run_batch(incoming, |obj| Box::pin(async move { svc.run_job(&obj, &inv.request_id, inv.deadline).await })).await
}

/// One job's run, boxed: the runtime's future stays shallow (one more level of generic
/// futures here overflowed the compiler's query depth limit), and tests need no AWS.
type JobRun<'a> = Pin<Box<dyn Future<Output = Result<Outcome, JobError>> + Send + 'a>>;

/// Runs the jobs of every record in order through `run` and builds the invocation's result:
/// the rules of [`handle`] without the AWS clients.
async fn run_batch<'a>(
    incoming: Incoming,
    mut run: impl FnMut(ObjectCreated) -> JobRun<'a>,
) -> Result<Summary, InvocationError> {
    let mut results = Vec::new();
    let mut transient: Vec<JobError> = Vec::new();
    let mut failed_messages = Vec::new();
    for message in incoming.messages {
        let mut message_failed = false;
        for record in message.records {
            let obj = match triage(record, &incoming.source, message.id.as_deref()) {
                Triage::Run(obj) => obj,
                Triage::Settled { result, redeliver } => {
                    message_failed |= redeliver;
                    results.push(result);
                    continue;
                }
            };
            let key = obj.key.clone();
            let (result, failure) = job_result(key, run(obj).await);
            if let Some(e) = failure {
                transient.push(e);
                message_failed = true;
            }
            results.push(result);
        }
        if message_failed {
            failed_messages.push(message.id);
        }
    }
    finish(incoming.source, results, transient, failed_messages)
}

/// The invocation's result. `failed_messages`: the messages to redeliver, by `messageId`.
fn finish(
    source: Source,
    records: Vec<RecordResult>,
    transient: Vec<JobError>,
    failed_messages: Vec<Option<String>>,
) -> Result<Summary, InvocationError> {
    if source == Source::Sqs && failed_messages.iter().all(Option::is_some) {
        let ids: Vec<String> = failed_messages.into_iter().flatten().collect();
        if !ids.is_empty() {
            warn!(failed = ids.len(), "reporting partial batch failures");
        }
        return Ok(Summary { records, reply: Reply::BatchItemFailures(ids) });
    }
    match transient.first() {
        Some(first) => Err(InvocationError {
            code: first.code,
            message: format!("{} of {} records failed transiently; first: {}", transient.len(), records.len(), first),
        }),
        // An SQS message to redeliver that cannot be named: only failing the batch brings it back.
        None if source == Source::Sqs => Err(InvocationError {
            code: ErrorCode::Internal,
            message: format!(
                "{} SQS messages are malformed and at least one has no messageId; failing the whole batch",
                failed_messages.len()
            ),
        }),
        None => Ok(Summary { records, reply: Reply::Records }),
    }
}

#[cfg(test)]
mod tests {
    use super::triage::{clip, MAX_KEY_CHARS, MAX_REASON_CHARS};
    use super::*;
    use crate::entry::trigger::{Message, Record};
    use serde_json::json;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
    use tryon_tools::sample_events::{sample_put_event, sample_sqs_event};

    fn created(key: &str) -> Record {
        Record::Created(ObjectCreated {
            bucket: "b".into(),
            key: key.into(),
            etag: None,
            version_id: None,
            raw_key: None,
        })
    }

    fn bad(what: &str) -> Record {
        Record::Malformed { what: what.into(), reason: "s3.object.size: invalid type".into() }
    }

    fn ignored(what: &str) -> Record {
        Record::Ignored { what: what.into(), reason: "not ObjectCreated".into() }
    }

    /// Runs a batch with jobs that succeed, except keys containing `throttle` (transient).
    async fn run(source: Source, messages: Vec<(Option<&str>, Vec<Record>)>) -> Result<Summary, InvocationError> {
        let messages =
            messages.into_iter().map(|(id, records)| Message { id: id.map(str::to_owned), records }).collect();
        run_batch(Incoming { source, messages }, |obj| {
            Box::pin(async move {
                if obj.key.contains("throttle") {
                    Err(JobError::new(ErrorCode::Throttled, "slow down"))
                } else {
                    Ok(Outcome::Succeeded { job_id: obj.key, images: 1 })
                }
            })
        })
        .await
    }

    fn outcomes(s: &Summary) -> Vec<&str> {
        s.records.iter().map(|r| r.outcome).collect()
    }

    #[test]
    fn malformed_records_are_reported_and_redelivered_only_from_sqs() {
        for source in [Source::S3, Source::EventBridge, Source::Sqs] {
            let Triage::Settled { result, redeliver } = triage(bad("uploads/j/job.json"), &source, Some("m1")) else {
                panic!("a malformed record runs no job")
            };
            assert_eq!(redeliver, source == Source::Sqs, "{source:?}");
            assert_eq!(
                result,
                RecordResult {
                    key: "uploads/j/job.json".into(),
                    outcome: "malformed",
                    job_id: None,
                    code: None,
                    detail: Some("s3.object.size: invalid type".into()),
                }
            );
            let Triage::Settled { result, redeliver } = triage(ignored("k"), &source, Some("m1")) else { panic!() };
            assert_eq!((result.outcome, redeliver), ("skipped", false), "not for us is never a failure");
            assert!(matches!(triage(created("k"), &source, None), Triage::Run(_)));
        }
    }

    #[test]
    fn reported_keys_and_reasons_are_clipped() {
        let huge = Record::Malformed { what: "k".repeat(5000), reason: "é".repeat(5000) };
        let Triage::Settled { result, .. } = triage(huge, &Source::S3, None) else { panic!() };
        assert_eq!(result.key.chars().count(), MAX_KEY_CHARS + 1);
        assert_eq!(result.detail.unwrap().chars().count(), MAX_REASON_CHARS + 1);
        assert_eq!(clip("short".into(), 10), "short");
    }

    #[tokio::test]
    async fn a_malformed_record_does_not_fail_an_s3_invocation() {
        let summary =
            run(Source::S3, vec![(None, vec![created("uploads/a/job.json"), bad("Records[1]"), ignored("x")])])
                .await
                .expect("retrying cannot fix a malformed record");
        assert_eq!(outcomes(&summary), ["succeeded", "malformed", "skipped"]);
        assert_eq!(summary.reply, Reply::Records);
        assert_eq!(summary.response()["records"][1]["detail"], "s3.object.size: invalid type");
        assert!(summary.response()["records"][1].get("code").is_none());
        let e = run(Source::EventBridge, vec![(None, vec![bad("k"), created("uploads/throttle/job.json")])])
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Throttled, "transient failures still fail the invocation");
    }

    #[tokio::test]
    async fn sqs_redelivers_malformed_messages_and_runs_the_good_ones() {
        let summary = run(
            Source::Sqs,
            vec![
                (Some("m-good"), vec![created("uploads/a/job.json")]),
                (Some("m-bad"), vec![bad("SQS message")]),
                (Some("m-mixed"), vec![created("uploads/b/job.json"), bad("Records[1]")]),
                (Some("m-test"), vec![ignored("SQS message")]),
                (Some("m-slow"), vec![created("uploads/throttle/job.json")]),
            ],
        )
        .await
        .expect("SQS batches name their failures");
        assert_eq!(outcomes(&summary), ["succeeded", "malformed", "succeeded", "malformed", "skipped", "retry"]);
        assert_eq!(
            summary.response(),
            json!({"batchItemFailures": [{"itemIdentifier": "m-bad"}, {"itemIdentifier": "m-mixed"}, {"itemIdentifier": "m-slow"}]})
        );
    }

    #[tokio::test]
    async fn sqs_fails_the_whole_batch_when_a_message_to_redeliver_has_no_id() {
        let e = run(Source::Sqs, vec![(Some("m1"), vec![created("uploads/a/job.json")]), (None, vec![bad("x")])])
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Internal);
        assert!(e.message.contains("no messageId"), "{}", e.message);
        let e = run(Source::Sqs, vec![(None, vec![bad("x")]), (None, vec![created("uploads/throttle/job.json")])])
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Throttled, "a transient failure names the error");
        let ok = run(Source::Sqs, vec![(None, vec![created("uploads/a/job.json"), ignored("x")])]).await.unwrap();
        assert_eq!(ok.response(), json!({"batchItemFailures": []}), "nothing to redeliver, no id needed");
    }

    #[tokio::test]
    async fn parsed_events_flow_through_the_batch_rules() {
        let mut s3 = sample_put_event("b", "uploads/a/job.json", "\"e\"", 1, "us-east-1");
        let mut broken = s3["Records"][0].clone();
        broken["s3"]["object"]["size"] = "big".into();
        s3["Records"].as_array_mut().unwrap().push(broken);
        let incoming = trigger::parse_event(s3).unwrap();
        let summary =
            run_batch(incoming, |obj| Box::pin(async move { Ok(Outcome::Succeeded { job_id: obj.key, images: 1 }) }))
                .await
                .unwrap();
        assert_eq!(outcomes(&summary), ["succeeded", "malformed"]);
        assert!(summary.records[1].detail.as_deref().unwrap().contains("s3.object.size"));

        let mut sqs = sample_sqs_event("b", "uploads/a/job.json", "\"e\"", "us-east-1", "m1");
        let mut garbage = sqs["Records"][0].clone();
        garbage["messageId"] = "m2".into();
        garbage["body"] = "{not json".into();
        sqs["Records"].as_array_mut().unwrap().push(garbage);
        let incoming = trigger::parse_event(sqs).unwrap();
        let summary =
            run_batch(incoming, |obj| Box::pin(async move { Ok(Outcome::Succeeded { job_id: obj.key, images: 1 }) }))
                .await
                .unwrap();
        assert_eq!(summary.response(), json!({"batchItemFailures": [{"itemIdentifier": "m2"}]}));
    }

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
