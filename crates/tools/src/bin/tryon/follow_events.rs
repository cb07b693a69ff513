//! `tryon submit --wait --events-queue <url>`: waits for the job's completion event on an SQS
//! queue that an EventBridge rule on the function's bus targets (README, Completion events),
//! instead of polling status.json.
//!
//! The event is recognised by its `eventId`, which the submitter computes from the bucket, the
//! job id and the ETag of the manifest it uploaded: an earlier run of the same job, or another
//! job, never matches. Long polling; only this job's messages (its event and any repeat of it)
//! are deleted. Other messages are made visible again at once, for their own consumers.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::Message;
use aws_sdk_sqs::Client;
use aws_smithy_types::error::display::DisplayErrorContext;
use serde_json::Value;
use tryon::core::completion_event::{self, SOURCE};

/// SQS's longest long poll.
const MAX_WAIT_SECONDS: u64 = 20;

/// The job `job_id`'s manifest version `etag` in `bucket`.
pub struct Awaited<'a> {
    pub bucket: &'a str,
    pub job_id: &'a str,
    pub etag: &'a str,
}

/// Receives from `queue_url` until this job's completion event arrives; returns its detail.
pub async fn wait_for_event(
    sdk: &aws_config::SdkConfig,
    queue_url: &str,
    job: Awaited<'_>,
    started: Instant,
    timeout: Duration,
) -> Result<Value, String> {
    let sqs = Client::new(sdk);
    let wanted = completion_event::event_id(job.bucket, job.job_id, job.etag);
    eprintln!("[{:>5.1} s] waiting for event {wanted} on {queue_url}", started.elapsed().as_secs_f64());
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(format!(
                "no completion event for job {} within {} s on {queue_url}; is a rule on the function's bus targeting this queue?",
                job.job_id,
                timeout.as_secs()
            ));
        }
        let wait = left.as_secs().clamp(1, MAX_WAIT_SECONDS) as i32;
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .send()
            .await
            .map_err(|e| format!("receiving from {queue_url}: {}", DisplayErrorContext(&e)))?;
        let (ours, others): (Vec<&Message>, Vec<&Message>) =
            out.messages().iter().partition(|m| detail_if_ours(m, &wanted).is_some());
        release(&sqs, queue_url, &others).await;
        let found = ours.first().and_then(|m| detail_if_ours(m, &wanted));
        for m in &ours {
            delete(&sqs, queue_url, m).await?;
        }
        if let Some(detail) = found {
            eprintln!(
                "[{:>5.1} s] completion event received: {}",
                started.elapsed().as_secs_f64(),
                detail["state"].as_str().unwrap_or("?")
            );
            return Ok(detail);
        }
        if !others.is_empty() && ours.is_empty() {
            // Only other jobs' events: give their consumers a moment before polling again.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The detail of a message that carries this job's completion event.
fn detail_if_ours(message: &Message, wanted: &str) -> Option<Value> {
    let event: Value = serde_json::from_str(message.body()?).ok()?;
    let ours = event["source"] == SOURCE && event["detail"]["eventId"] == wanted;
    ours.then(|| event["detail"].clone())
}

async fn delete(sqs: &Client, queue_url: &str, m: &Message) -> Result<(), String> {
    let Some(handle) = m.receipt_handle() else { return Ok(()) };
    sqs.delete_message()
        .queue_url(queue_url)
        .receipt_handle(handle)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("deleting this job's event from {queue_url}: {}", DisplayErrorContext(&e)))
}

/// Makes other consumers' messages visible again; a failure only delays them.
async fn release(sqs: &Client, queue_url: &str, messages: &[&Message]) {
    for handle in messages.iter().filter_map(|m| m.receipt_handle()) {
        let _ = sqs
            .change_message_visibility()
            .queue_url(queue_url)
            .receipt_handle(handle)
            .visibility_timeout(0)
            .send()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Message {
        Message::builder().body(body).receipt_handle("h").build()
    }

    #[test]
    fn only_this_jobs_event_is_ours() {
        let id = completion_event::event_id("b", "j", "\"e\"");
        let event = |source: &str, id: &str| {
            serde_json::json!({"source": source, "detail-type": completion_event::DETAIL_TYPE, "detail": {"eventId": id, "state": "failed"}})
                .to_string()
        };
        assert_eq!(detail_if_ours(&message(&event(SOURCE, &id)), &id).unwrap()["state"], "failed");
        assert!(detail_if_ours(&message(&event(SOURCE, "other")), &id).is_none());
        assert!(detail_if_ours(&message(&event("someone.else", &id)), &id).is_none());
        assert!(detail_if_ours(&message("not json"), &id).is_none());
    }
}
