//! `tryon capacity`: simulate a burst of jobs through the deployed system in virtual time and
//! print what would happen (docs/capacity.md). Every flag defaults to the deployed setting.

use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};
use tryon_tools::capacity::{report, simulate, sizing, Params, Trigger};

use crate::common::fail;

#[derive(Clone, Copy, ValueEnum)]
pub enum Triggers {
    Async,
    Sqs,
    BatchOperations,
    All,
}

/// Each option left out takes the deployed value (template.yaml, the function's table).
#[derive(Args)]
pub struct CapacityArgs {
    /// Jobs in the burst.
    #[arg(long, default_value_t = 100_000)]
    jobs: u64,
    /// async (S3 or EventBridge → Lambda's asynchronous queue → overflow queue), sqs (S3 →
    /// SQS → function), batch-operations (S3 Batch Operations), or all three.
    #[arg(long, value_enum, default_value = "all")]
    trigger: Triggers,
    /// Print the template's Mappings table (quota → concurrency) from the formula and stop.
    #[arg(long)]
    mapping: bool,
    /// Seconds over which the uploads arrive, evenly spread [0: all at once].
    #[arg(long)]
    upload_window: Option<f64>,
    /// Seed of the generator [1].
    #[arg(long)]
    seed: Option<u64>,

    /// The function's reserved concurrency [from the quota: the template's mapping, 30 at 100/min].
    #[arg(long)]
    function_concurrency: Option<u64>,
    /// Function `Timeout`, seconds [420].
    #[arg(long)]
    function_timeout: Option<f64>,
    /// Function `MemorySize`, MB [256].
    #[arg(long)]
    memory_mb: Option<f64>,

    /// Async: `MaximumRetryAttempts` [2].
    #[arg(long)]
    async_retry_attempts: Option<u32>,
    /// Async: `MaximumEventAgeInSeconds` [900].
    #[arg(long)]
    async_max_event_age: Option<f64>,
    /// Async: waits before the first and second retry of a function error, seconds
    /// (documented: 60,120) [60,120].
    #[arg(long, value_delimiter = ',')]
    async_retry_delays: Option<Vec<f64>>,
    /// Async: the cap of the throttle backoff, seconds (documented: 300) [300].
    #[arg(long)]
    async_throttle_backoff_max: Option<f64>,
    /// Async: each throttle wait is drawn from [1 − jitter, 1] × its nominal length [0.5].
    #[arg(long)]
    async_throttle_jitter: Option<f64>,
    /// Async: where events go when their retries or age run out: the overflow queue the
    /// function consumes (true), or a dead end (false) [true].
    #[arg(long)]
    async_overflow: Option<bool>,

    /// SQS: the queue's `VisibilityTimeout`, seconds [2520].
    #[arg(long)]
    visibility_timeout: Option<f64>,
    /// SQS: the redrive policy's `maxReceiveCount` [5].
    #[arg(long)]
    max_receive_count: Option<u32>,
    /// SQS (and the overflow queue): the mapping's `MaximumConcurrency` [from the quota, as the
    /// function's concurrency].
    #[arg(long)]
    max_concurrency: Option<u64>,
    /// SQS: `MessageRetentionPeriod`, seconds [345600].
    #[arg(long)]
    retention: Option<f64>,

    /// Batch Operations: tasks run at once (undocumented; assumed) [1000].
    #[arg(long)]
    batch_concurrency: Option<u64>,
    /// Batch Operations: attempts per task, 0 for no limit (undocumented; assumed) [0].
    #[arg(long)]
    batch_max_attempts: Option<u32>,
    /// Batch Operations: the cap of a retried task's backoff, seconds (assumed) [300].
    #[arg(long)]
    batch_backoff_max: Option<f64>,

    /// `MAX_ATTEMPTS`: the invocation that reaches it records `failed` [3].
    #[arg(long)]
    max_attempts: Option<u32>,
    /// `MODEL_TIMEOUT_SECONDS` [300].
    #[arg(long)]
    model_timeout: Option<f64>,
    /// `DEADLINE_RESERVE_SECONDS` [15].
    #[arg(long)]
    deadline_reserve: Option<f64>,
    /// `THROTTLE_WAIT_SECONDS`: how long a call keeps being sent again after throttles [300].
    #[arg(long)]
    throttle_wait: Option<f64>,
    /// Seconds of reading and preparing before the model call [1.5].
    #[arg(long)]
    prepare_seconds: Option<f64>,
    /// Seconds of writing the outputs and status after it [0.5].
    #[arg(long)]
    record_seconds: Option<f64>,

    /// The SDK's attempts per model call [3].
    #[arg(long)]
    sdk_attempts: Option<u32>,
    /// The SDK's first backoff, seconds (exponential, full jitter) [1].
    #[arg(long)]
    sdk_initial_backoff: Option<f64>,
    /// The SDK's longest backoff, seconds [20].
    #[arg(long)]
    sdk_max_backoff: Option<f64>,

    /// The model's quota, requests per minute (Nova Canvas 100, Vertex VTO 50) [100].
    #[arg(long)]
    requests_per_minute: Option<f64>,
    /// Requests the quota admits at once after a quiet spell [= requests per minute].
    #[arg(long)]
    quota_burst: Option<f64>,
    /// Median model latency, seconds [12].
    #[arg(long)]
    latency_median: Option<f64>,
    /// 99th-percentile model latency, seconds [30].
    #[arg(long)]
    latency_p99: Option<f64>,
    /// Seconds a refused (429) call takes to answer [0.1].
    #[arg(long)]
    throttle_reply: Option<f64>,

    /// USD per paid model call [0.04: Nova Canvas, one standard image ≤ 1024²].
    #[arg(long)]
    price_per_call: Option<f64>,
    /// USD per GB-second [0.0000133334: arm64].
    #[arg(long)]
    price_per_gb_second: Option<f64>,
}

impl CapacityArgs {
    fn params(&self, trigger: Trigger) -> Params {
        let mut p = Params::deployed(trigger, self.jobs);
        if let Some(rpm) = self.requests_per_minute {
            // The template derives both from the quota; a flag below may still override them.
            p.function_concurrency = sizing::concurrency_for(rpm);
            p.sqs_max_concurrency = p.function_concurrency;
        }
        macro_rules! set {
            ($($flag:ident => $field:ident),* $(,)?) => {
                $(if let Some(v) = self.$flag { p.$field = v; })*
            };
        }
        set!(
            upload_window => upload_window, seed => seed,
            function_concurrency => function_concurrency, function_timeout => function_timeout,
            memory_mb => memory_mb, async_retry_attempts => async_retry_attempts,
            async_max_event_age => async_max_event_age,
            async_throttle_backoff_max => async_throttle_backoff_max,
            async_throttle_jitter => async_throttle_jitter, async_overflow => async_overflow,
            batch_concurrency => batch_concurrency, batch_max_attempts => batch_max_attempts,
            batch_backoff_max => batch_backoff_max, throttle_wait => throttle_wait,
            visibility_timeout => sqs_visibility_timeout, max_receive_count => sqs_max_receive_count,
            max_concurrency => sqs_max_concurrency, retention => sqs_retention,
            max_attempts => max_attempts, model_timeout => model_timeout,
            deadline_reserve => deadline_reserve, prepare_seconds => prepare_seconds,
            record_seconds => record_seconds, sdk_attempts => sdk_attempts,
            sdk_initial_backoff => sdk_initial_backoff, sdk_max_backoff => sdk_max_backoff,
            latency_median => latency_median, latency_p99 => latency_p99,
            throttle_reply => throttle_reply_seconds, price_per_call => price_per_call,
            price_per_gb_second => price_per_gb_second,
        );
        if let Some([first, second]) = self.async_retry_delays.as_deref() {
            p.async_retry_delays = [*first, *second];
        }
        if let Some(rpm) = self.requests_per_minute {
            p.quota_per_minute = rpm;
            p.quota_burst = rpm;
        }
        if let Some(b) = self.quota_burst {
            p.quota_burst = b;
        }
        p
    }
}

pub fn capacity(args: &CapacityArgs) -> ExitCode {
    if args.mapping {
        print!("{}", sizing::mapping_yaml());
        return ExitCode::SUCCESS;
    }
    let triggers: &[Trigger] = match args.trigger {
        Triggers::Async => &[Trigger::Async],
        Triggers::Sqs => &[Trigger::Sqs],
        Triggers::BatchOperations => &[Trigger::BatchOperations],
        Triggers::All => &[Trigger::Async, Trigger::Sqs, Trigger::BatchOperations],
    };
    if args.async_retry_delays.as_ref().is_some_and(|d| d.len() != 2) {
        return fail("--async-retry-delays takes two values: FIRST,SECOND");
    }
    let mut runs = Vec::new();
    let started = Instant::now();
    for &t in triggers {
        let p = args.params(t);
        if let Err(e) = p.check() {
            return fail(&e);
        }
        runs.push(simulate(&p));
    }
    let p = args.params(triggers[0]);
    print_settings(&p, triggers);
    println!();
    print!("{}", report::table(&runs));
    eprintln!("simulated in {:.2} s (seed {})", started.elapsed().as_secs_f64(), p.seed);
    ExitCode::SUCCESS
}

/// The settings the runs share, and each trigger's own.
fn print_settings(p: &Params, triggers: &[Trigger]) {
    println!(
        "{} jobs uploaded over {}; quota {}/min (burst {}), latency median {} s, p99 {} s; \
         function concurrency {}, timeout {} s, {} MB; MAX_ATTEMPTS {}, SDK attempts {}, \
         THROTTLE_WAIT_SECONDS {}",
        p.jobs,
        report::duration(p.upload_window),
        p.quota_per_minute,
        p.quota_burst,
        p.latency_median,
        p.latency_p99,
        p.function_concurrency,
        p.function_timeout,
        p.memory_mb,
        p.max_attempts,
        p.sdk_attempts,
        p.throttle_wait,
    );
    if triggers.contains(&Trigger::Async) {
        println!(
            "async: {} retries after {} s and {} s, max event age {} s, throttle backoff 1 s doubling to {} s, \
             then {}",
            p.async_retry_attempts,
            p.async_retry_delays[0],
            p.async_retry_delays[1],
            p.async_max_event_age,
            p.async_throttle_backoff_max,
            if p.async_overflow { "the overflow queue (SQS settings below)" } else { "a dead end" }
        );
    }
    if triggers.contains(&Trigger::BatchOperations) {
        println!(
            "batch-operations (assumed, undocumented): {} tasks at once, attempts {}, backoff 1 s doubling to {} s",
            p.batch_concurrency,
            if p.batch_max_attempts == 0 { "unlimited".to_owned() } else { p.batch_max_attempts.to_string() },
            p.batch_backoff_max
        );
    }
    if triggers.iter().any(|t| *t != Trigger::BatchOperations) {
        println!(
            "sqs: visibility timeout {} s, maxReceiveCount {}, maximum concurrency {}, retention {} s",
            p.sqs_visibility_timeout, p.sqs_max_receive_count, p.sqs_max_concurrency, p.sqs_retention
        );
    }
}
