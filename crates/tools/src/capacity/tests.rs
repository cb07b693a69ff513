//! Properties the model must keep whatever its settings.

use super::*;

fn run(trigger: Trigger, jobs: u64, tweak: impl FnOnce(&mut Params)) -> Figures {
    let mut p = Params::deployed(trigger, jobs);
    tweak(&mut p);
    p.check().unwrap();
    simulate(&p)
}

fn assert_conserved(f: &Figures) {
    assert_eq!(f.left, f.jobs, "every event leaves the system exactly once: {f:?}");
    assert_eq!(f.succeeded + f.failed + f.unrecorded, f.jobs, "one terminal bucket per job: {f:?}");
    assert!(f.dead_lettered <= f.jobs, "{f:?}");
}

#[test]
fn every_job_ends_in_exactly_one_bucket() {
    let cases: Vec<Figures> = vec![
        run(Trigger::Async, 3000, |_| {}),
        run(Trigger::Async, 3000, |p| {
            p.function_concurrency = 2;
            p.async_max_event_age = 120.0;
            p.async_overflow = false;
        }),
        run(Trigger::Sqs, 3000, |_| {}),
        // Calls cut off before the model answers: transient, `failed` on the last attempt.
        run(Trigger::Sqs, 1000, |p| p.model_timeout = 14.0),
        run(Trigger::Sqs, 3000, |p| {
            p.sqs_max_concurrency = 200;
            p.function_concurrency = 50;
            p.sqs_visibility_timeout = 30.0;
            p.sqs_retention = 3600.0;
            p.sqs_max_receive_count = 3;
            p.throttle_wait = 0.0;
        }),
        run(Trigger::BatchOperations, 3000, |_| {}),
        run(Trigger::BatchOperations, 3000, |p| p.batch_max_attempts = 3),
    ];
    for f in &cases {
        assert_conserved(f);
    }
    // The cases reach every bucket between them.
    assert!(cases.iter().any(|f| f.failed > 0));
    assert!(cases.iter().any(|f| f.unrecorded > 0));
    assert!(cases.iter().any(|f| f.expired > 0));
    assert!(cases.iter().any(|f| f.overflowed > 0));
}

#[test]
fn a_burst_under_the_quota_all_succeeds_and_drains_at_the_upload_rate() {
    // 1,000 uploads at 90 a minute against 100 a minute.
    for trigger in [Trigger::Async, Trigger::Sqs, Trigger::BatchOperations] {
        let f = run(trigger, 1000, |p| {
            p.upload_window = 999.0 * 60.0 / 90.0;
            p.quota_burst = 1.0;
            p.sqs_max_concurrency = 100;
        });
        assert_conserved(&f);
        assert_eq!(f.succeeded, 1000, "{f:?}");
        assert_eq!(f.paid_calls, 1000, "{f:?}");
        let expected = 1000.0 * 60.0 / 90.0;
        assert!((f.drain_seconds - expected).abs() < 60.0, "drain {} vs {expected}", f.drain_seconds);
    }
}

#[test]
fn the_quota_sets_the_drain_time_of_a_burst_it_can_absorb() {
    // 25 in flight at ~14 s each want ~107 calls a minute; 100 are admitted. Calls the SDK's
    // retries cannot place fail the invocation and come back after a short visibility
    // timeout, so the quota, seldom idle, sets the drain time: about N / quota.
    let f = run(Trigger::Sqs, 2000, |p| {
        p.sqs_max_concurrency = 25;
        p.sqs_visibility_timeout = 30.0;
        p.quota_burst = 1.0;
        p.latency_p99 = p.latency_median;
        p.max_attempts = 10;
        p.sqs_max_receive_count = 10;
    });
    assert_conserved(&f);
    assert_eq!(f.succeeded, 2000, "{f:?}");
    let expected = 2000.0 * 60.0 / 100.0;
    assert!(f.drain_seconds >= expected * 0.99 && f.drain_seconds < expected * 1.2, "{f:?}");
    assert!(f.throttled_calls > 0, "the quota was the limit: {f:?}");
}

/// The settings before the quota drove them: the account's 1,000 executions, no throttle
/// wait, a 6-hour event age and a dead end after it.
fn before_sizing(p: &mut Params) {
    p.function_concurrency = 1000;
    p.throttle_wait = 0.0;
    p.async_max_event_age = 21_600.0;
    p.async_overflow = false;
}

#[test]
fn async_far_above_the_quota_without_the_sizing_loses_most_jobs() {
    let f = run(Trigger::Async, 10_000, before_sizing);
    assert_conserved(&f);
    // Only what the quota admits during the retries succeeds; the rest are throttled through
    // their three invocations and reach the on-failure destination, never `failed`.
    assert!(f.succeeded < 1500, "{f:?}");
    assert_eq!(f.failed, 0, "throttled is never final: {f:?}");
    assert_eq!(f.dead_lettered, f.unrecorded, "{f:?}");
    assert!(f.unrecorded > 8000, "{f:?}");
    assert!(f.throttled_calls > 10 * f.paid_calls, "{f:?}");
    assert_eq!(f.paid_calls, f.succeeded + f.model_timeouts, "{f:?}");
}

/// The goal: a burst far above the quota ends with every job succeeded, nothing
/// dead-lettered, each job paid once, in about N / quota, whatever the trigger.
fn assert_drained_at_the_quota(f: &Figures, jobs: u64) {
    assert_conserved(f);
    assert_eq!((f.succeeded, f.dead_lettered, f.paid_calls), (jobs, 0, jobs), "{f:?}");
    let ideal = (jobs as f64 - 100.0) * 60.0 / 100.0;
    assert!(f.drain_seconds > ideal && f.drain_seconds < ideal * 1.05, "drain {} vs {ideal}: {f:?}", f.drain_seconds);
}

#[test]
fn the_deployed_settings_drain_a_burst_at_the_quota_in_every_trigger_mode() {
    for trigger in [Trigger::Async, Trigger::Sqs, Trigger::BatchOperations] {
        let f = run(trigger, 20_000, |_| {});
        assert_drained_at_the_quota(&f, 20_000);
        assert!(f.throttled_calls > 0 && f.throttle_waits > 0, "the quota was the limit: {f:?}");
    }
    // Async: the reserved concurrency holds what it can; the rest overflows and still runs.
    let f = run(Trigger::Async, 20_000, |_| {});
    assert!(f.overflowed > 15_000 && f.function_throttles > 0, "{f:?}");
    // Uploads spread over two hours compete with the overflow queue for the executions.
    let f = run(Trigger::Async, 20_000, |p| p.upload_window = 7200.0);
    assert_drained_at_the_quota(&f, 20_000);
}

#[test]
fn each_part_of_the_sizing_is_needed() {
    // No overflow queue: the event age is a wall.
    let f = run(Trigger::Async, 5000, |p| p.async_overflow = false);
    assert!(f.unrecorded > 3000 && f.dead_lettered == f.unrecorded, "{f:?}");
    // AWS's minimum maxReceiveCount: overflow messages throttled while uploads keep arriving
    // are dead-lettered.
    // (40,000 over 4 hours: 167 a minute, above the quota the whole time.)
    let spread = |p: &mut Params| p.upload_window = 4.0 * 3600.0;
    let f = run(Trigger::Async, 40_000, |p| {
        spread(p);
        p.sqs_max_receive_count = 5;
    });
    assert!(f.dead_lettered > 1000, "{f:?}");
    assert_drained_at_the_quota(&run(Trigger::Async, 40_000, spread), 40_000);
    // Too few executions leave the quota idle: slower than N / quota.
    let f = run(Trigger::Sqs, 5000, |p| {
        p.function_concurrency = 10;
        p.sqs_max_concurrency = 10;
    });
    assert!(f.drain_seconds > 5000.0 * 60.0 / 100.0 * 1.5, "{f:?}");
    // Batch Operations running far more tasks than the function's concurrency, giving each
    // a few attempts, fails most of them (its real limits are undocumented).
    let f = run(Trigger::BatchOperations, 5000, |p| p.batch_max_attempts = 10);
    assert!(f.dead_lettered > 2500, "{f:?}");
}

#[test]
fn the_same_seed_gives_the_same_figures() {
    for trigger in [Trigger::Async, Trigger::Sqs, Trigger::BatchOperations] {
        let a = run(trigger, 2000, |p| p.seed = 42);
        let b = run(trigger, 2000, |p| p.seed = 42);
        assert_eq!(a, b);
        let c = run(trigger, 2000, |p| p.seed = 43);
        assert_ne!(a.p50_seconds, c.p50_seconds, "the seed matters");
    }
}

#[test]
fn sqs_maximum_concurrency_bounds_calls_in_flight() {
    let f = run(Trigger::Sqs, 2000, |p| p.sqs_max_concurrency = 7);
    assert_conserved(&f);
    assert!(f.peak_concurrency <= 7, "{f:?}");
    assert_eq!(f.peak_concurrency, 7, "{f:?}");
    assert_eq!(f.function_throttles, 0, "{f:?}");

    // A function limit below the mapping's: the surplus receives are throttled and count.
    let f = run(Trigger::Sqs, 500, |p| {
        p.sqs_max_concurrency = 20;
        p.function_concurrency = 5;
        p.sqs_visibility_timeout = 60.0;
    });
    assert_conserved(&f);
    assert!(f.peak_concurrency <= 5, "{f:?}");
    assert!(f.function_throttles > 0, "{f:?}");
}

#[test]
fn async_events_past_their_maximum_age_overflow_or_are_discarded() {
    let f = run(Trigger::Async, 2000, |p| {
        p.function_concurrency = 2;
        p.async_max_event_age = 120.0;
        p.async_overflow = false;
    });
    assert_conserved(&f);
    assert!(f.expired > 1500, "{f:?}");
    assert_eq!(f.dead_lettered, f.expired + f.failed, "{f:?}");
    let f = run(Trigger::Async, 2000, |p| {
        p.function_concurrency = 2;
        p.sqs_max_concurrency = 2;
        p.async_max_event_age = 120.0;
    });
    assert_conserved(&f);
    assert!(f.expired > 1500 && f.overflowed >= f.expired, "{f:?}");
    assert_eq!((f.succeeded, f.dead_lettered), (2000, 0), "{f:?}");
}

/// The defaults are the deployed settings: read from template.yaml, so they cannot drift.
#[test]
fn the_defaults_are_the_templates_settings() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let t: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let number = |v: &serde_yaml::Value| -> f64 {
        v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not a number: {v:?}"))
    };
    let function = &t["Resources"]["TryOnFunction"]["Properties"];
    let env = &function["Environment"]["Variables"];
    let quota = t["Parameters"]["ModelRequestsPerMinute"]["Default"].as_str().unwrap();
    let sized = number(&t["Mappings"]["QuotaSizing"][quota]["Concurrency"]);
    let p = Params::deployed(Trigger::Async, 1);
    assert_eq!(p.quota_per_minute, number(&serde_yaml::Value::from(quota)));
    assert_eq!(p.function_timeout, number(&t["Globals"]["Function"]["Timeout"]));
    assert_eq!(p.memory_mb, number(&t["Globals"]["Function"]["MemorySize"]));
    assert_eq!(p.async_retry_attempts as f64, number(&function["EventInvokeConfig"]["MaximumRetryAttempts"]));
    assert_eq!(p.async_max_event_age, number(&function["EventInvokeConfig"]["MaximumEventAgeInSeconds"]));
    assert_eq!(p.max_attempts as f64, number(&env["MAX_ATTEMPTS"]));
    assert_eq!(p.model_timeout, number(&env["MODEL_TIMEOUT_SECONDS"]));
    assert_eq!(p.deadline_reserve, number(&env["DEADLINE_RESERVE_SECONDS"]));
    assert_eq!(p.throttle_wait, number(&env["THROTTLE_WAIT_SECONDS"]));
    assert_eq!((p.function_concurrency as f64, p.sqs_max_concurrency as f64), (sized, sized));
    // The job queue and the overflow queue, with their mappings, share the SQS settings.
    for (queue, mapping) in [("JobQueue", "JobQueueMapping"), ("FailedEventsQueue", "OverflowQueueMapping")] {
        let q = &t["Resources"][queue]["Properties"];
        assert_eq!(p.sqs_visibility_timeout, number(&q["VisibilityTimeout"]), "{queue}");
        assert_eq!(p.sqs_max_receive_count as f64, number(&q["RedrivePolicy"]["maxReceiveCount"]), "{queue}");
        let m = &t["Resources"][mapping]["Properties"];
        assert_eq!(m["BatchSize"].as_u64(), Some(1), "the model runs one job per invocation");
        sized_by_quota(&m["ScalingConfig"]["MaximumConcurrency"]);
    }
    assert!(p.sqs_visibility_timeout >= 6.0 * p.function_timeout, "AWS: at least six times the timeout");
    assert_eq!(p.sqs_retention, number(&t["Resources"]["JobQueue"]["Properties"]["MessageRetentionPeriod"]));
    sized_by_quota(&function["ReservedConcurrentExecutions"]);
    assert!(p.async_overflow);
    assert!(serde_yaml::to_string(&function["EventInvokeConfig"]["DestinationConfig"])
        .unwrap()
        .contains("FailedEventsQueue"));
}

/// `!FindInMap [QuotaSizing, !Ref ModelRequestsPerMinute, Concurrency]`.
fn sized_by_quota(v: &serde_yaml::Value) {
    let text = serde_yaml::to_string(v).unwrap();
    for part in ["!FindInMap", "QuotaSizing", "ModelRequestsPerMinute", "Concurrency"] {
        assert!(text.contains(part), "{part} missing in {text}");
    }
}

/// The template's table is the formula's, for exactly the quotas it allows.
#[test]
fn the_templates_quota_table_is_the_formulas() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(&sizing::mapping_yaml()), "template.yaml must contain, exactly:\n{}", sizing::mapping_yaml());
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let allowed: Vec<String> = t["Parameters"]["ModelRequestsPerMinute"]["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let keys: Vec<String> =
        t["Mappings"]["QuotaSizing"].as_mapping().unwrap().keys().map(|k| k.as_str().unwrap().to_owned()).collect();
    let quotas: Vec<String> = sizing::QUOTAS.iter().map(u32::to_string).collect();
    assert_eq!((&allowed, &keys), (&quotas, &quotas));
}
