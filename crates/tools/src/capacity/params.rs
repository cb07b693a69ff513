//! Every setting of the model. Defaults are the deployed ones: template.yaml (trigger
//! settings, timeout, memory), the function's configuration table (`MAX_ATTEMPTS`,
//! `MODEL_TIMEOUT_SECONDS`, `DEADLINE_RESERVE_SECONDS`), the SDK's standard retry strategy,
//! and the Nova Canvas quota and price (docs/capacity.md names each source).

use super::sizing::concurrency_for;

/// The template's `MaximumEventAgeInSeconds`: an event the function's concurrency cannot take
/// within 15 minutes moves to the overflow queue, where it waits as long as it must.
pub const ASYNC_MAX_EVENT_AGE: f64 = 900.0;

/// The queues' `maxReceiveCount`. A job the function cannot finish is recorded `failed` by its
/// `MAX_ATTEMPTS`-th claim and its later receives are duplicates that succeed, so receives
/// beyond that are spent only by Lambda throttling the mapping (the function's concurrency
/// taken by asynchronous or Batch Operations invocations): each costs a visibility timeout
/// (42 min), so 100 tolerate about 70 hours of a full function before a message is
/// dead-lettered. AWS advises at least 5.
pub const MAX_RECEIVE_COUNT: u32 = 100;

/// How uploads reach the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// S3 (or EventBridge) invokes the function asynchronously: Lambda's own event queue.
    Async,
    /// S3 sends to an SQS queue; an event source mapping invokes the function.
    Sqs,
    /// S3 Batch Operations invokes the function synchronously, one task per invocation, and
    /// retries the tasks answered `TemporaryFailure` and the invocations Lambda throttled.
    BatchOperations,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Async => "async",
            Trigger::Sqs => "sqs",
            Trigger::BatchOperations => "batch-operations",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Params {
    pub trigger: Trigger,
    /// Jobs in the burst.
    pub jobs: u64,
    /// Seconds over which the uploads arrive, evenly spread (0: all at once).
    pub upload_window: f64,
    pub seed: u64,

    /// Concurrent executions the function may have (reserved concurrency, else the account's
    /// unreserved limit).
    pub function_concurrency: u64,
    /// `Timeout`, seconds.
    pub function_timeout: f64,
    /// `MemorySize`, MB.
    pub memory_mb: f64,

    /// `EventInvokeConfig.MaximumRetryAttempts` (0–2).
    pub async_retry_attempts: u32,
    /// `EventInvokeConfig.MaximumEventAgeInSeconds` (60–21600).
    pub async_max_event_age: f64,
    /// Waits before the first and second retry of a function error (documented: 1 and 2 min).
    pub async_retry_delays: [f64; 2],
    /// A throttled event waits 1 s, then twice as long each time, at most this many seconds.
    pub async_throttle_backoff_max: f64,
    /// Each throttle wait is drawn uniformly from [1 − jitter, 1] times its nominal length.
    pub async_throttle_jitter: f64,
    /// An event that ran out of retries or age goes to the overflow queue (the on-failure
    /// destination), which the function consumes through an SQS mapping with the `sqs_*`
    /// settings below; otherwise it is dead-lettered there.
    pub async_overflow: bool,

    /// The queue's `VisibilityTimeout`, seconds.
    pub sqs_visibility_timeout: f64,
    /// The redrive policy's `maxReceiveCount`.
    pub sqs_max_receive_count: u32,
    /// The event source mapping's `ScalingConfig.MaximumConcurrency`.
    pub sqs_max_concurrency: u64,
    /// `MessageRetentionPeriod`, seconds.
    pub sqs_retention: f64,

    /// S3 Batch Operations: tasks it runs at once (undocumented; assumed).
    pub batch_concurrency: u64,
    /// S3 Batch Operations: attempts per task before it reports the task failed (0: no limit;
    /// undocumented, assumed).
    pub batch_max_attempts: u32,
    /// S3 Batch Operations: a retried task waits 1 s, doubling, at most this many seconds
    /// (undocumented; assumed like Lambda's own throttle backoff).
    pub batch_backoff_max: f64,

    /// `MAX_ATTEMPTS`: the invocation that reaches it records `failed`.
    pub max_attempts: u32,
    /// `MODEL_TIMEOUT_SECONDS`: one model call, the SDK's retries included.
    pub model_timeout: f64,
    /// `DEADLINE_RESERVE_SECONDS`.
    pub deadline_reserve: f64,
    /// `THROTTLE_WAIT_SECONDS`: a call whose SDK attempts were all throttled is sent again
    /// after a full-jitter backoff (`throttle_backoff_first` doubling to `throttle_backoff_max`)
    /// while this long has not passed and the call's bound leaves a second.
    pub throttle_wait: f64,
    pub throttle_backoff_first: f64,
    pub throttle_backoff_max: f64,
    /// Reading the manifest and images, preparing them, claiming the job (seconds).
    pub prepare_seconds: f64,
    /// Writing the outputs and the final status (seconds).
    pub record_seconds: f64,

    /// The SDK's attempts per model call (standard retry mode: 3).
    pub sdk_attempts: u32,
    /// The SDK's first backoff and its cap, seconds (exponential, full jitter).
    pub sdk_initial_backoff: f64,
    pub sdk_max_backoff: f64,

    /// The model's quota, requests per minute.
    pub quota_per_minute: f64,
    /// Requests the quota admits at once after a quiet spell.
    pub quota_burst: f64,
    /// Model latency of an admitted call: median and 99th percentile, seconds (log-normal).
    pub latency_median: f64,
    pub latency_p99: f64,
    /// How long a refused (429) call takes to answer, seconds.
    pub throttle_reply_seconds: f64,

    /// USD per paid model call (one image, standard quality, ≤ 1024²).
    pub price_per_call: f64,
    /// USD per GB-second (arm64) and per million requests.
    pub price_per_gb_second: f64,
    pub price_per_million_requests: f64,
}

impl Params {
    /// The deployed defaults for this trigger (template.yaml with `ModelRequestsPerMinute`
    /// 100: the concurrency comes from [`concurrency_for`]).
    pub fn deployed(trigger: Trigger, jobs: u64) -> Self {
        let concurrency = concurrency_for(100.0);
        Params {
            trigger,
            jobs,
            upload_window: 0.0,
            seed: 1,
            function_concurrency: concurrency,
            function_timeout: 420.0,
            memory_mb: 256.0,
            async_retry_attempts: 2,
            async_max_event_age: ASYNC_MAX_EVENT_AGE,
            async_retry_delays: [60.0, 120.0],
            async_throttle_backoff_max: 300.0,
            async_throttle_jitter: 0.5,
            async_overflow: true,
            sqs_visibility_timeout: 2520.0,
            sqs_max_receive_count: MAX_RECEIVE_COUNT,
            sqs_max_concurrency: concurrency,
            sqs_retention: 345_600.0,
            batch_concurrency: 1000,
            batch_max_attempts: 0,
            batch_backoff_max: 300.0,
            max_attempts: 3,
            model_timeout: 300.0,
            deadline_reserve: 15.0,
            throttle_wait: 300.0,
            throttle_backoff_first: tryon::adapters::model::quota_wait::FIRST_BACKOFF.as_secs_f64(),
            throttle_backoff_max: tryon::adapters::model::quota_wait::MAX_BACKOFF.as_secs_f64(),
            prepare_seconds: 1.5,
            record_seconds: 0.5,
            sdk_attempts: 3,
            sdk_initial_backoff: 1.0,
            sdk_max_backoff: 20.0,
            quota_per_minute: 100.0,
            quota_burst: 100.0,
            latency_median: 12.0,
            latency_p99: 30.0,
            throttle_reply_seconds: 0.1,
            price_per_call: 0.04,
            price_per_gb_second: 0.000_013_333_4,
            price_per_million_requests: 0.20,
        }
    }

    /// Settings the model cannot run with, named.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("function timeout", self.function_timeout),
            ("memory", self.memory_mb),
            ("quota per minute", self.quota_per_minute),
            ("latency median", self.latency_median),
            ("model timeout", self.model_timeout),
            ("SDK initial backoff", self.sdk_initial_backoff),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| !(*v > 0.0 && v.is_finite())) {
            return Err(format!("{name} must be a positive number"));
        }
        if self.function_concurrency == 0 || self.sqs_max_concurrency == 0 || self.batch_concurrency == 0 {
            return Err("concurrency limits must be at least 1".into());
        }
        if self.async_retry_attempts > 2 {
            return Err("Lambda allows at most 2 asynchronous retry attempts".into());
        }
        if self.max_attempts == 0 || self.sdk_attempts == 0 || self.sqs_max_receive_count == 0 {
            return Err("attempt counts must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.async_throttle_jitter) {
            return Err("throttle jitter must be between 0 and 1".into());
        }
        Ok(())
    }
}
