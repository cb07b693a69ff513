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
            p.function_concurrency = 20;
            p.async_max_event_age = 600.0;
        }),
        run(Trigger::Sqs, 3000, |_| {}),
        run(Trigger::Sqs, 3000, |p| {
            p.sqs_max_concurrency = 200;
            p.function_concurrency = 50;
            p.sqs_visibility_timeout = 30.0;
            p.sqs_retention = 3600.0;
        }),
        run(Trigger::Sqs, 500, |p| {
            p.max_attempts = 5;
            p.sqs_max_concurrency = 300;
        }),
    ];
    for f in &cases {
        assert_conserved(f);
    }
    // The cases reach every bucket between them.
    assert!(cases.iter().any(|f| f.failed > 0));
    assert!(cases.iter().any(|f| f.unrecorded > 0));
    assert!(cases.iter().any(|f| f.expired > 0));
}

#[test]
fn a_burst_under_the_quota_all_succeeds_and_drains_at_the_upload_rate() {
    // 1,000 uploads at 90 a minute against 100 a minute.
    for trigger in [Trigger::Async, Trigger::Sqs] {
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

#[test]
fn async_far_above_the_quota_fails_most_jobs_after_three_attempts() {
    let f = run(Trigger::Async, 10_000, |_| {});
    assert_conserved(&f);
    // Only what the quota admits during the retries succeeds; the rest record `failed`
    // on their third invocation and go to the on-failure destination.
    assert!(f.succeeded < 1500, "{f:?}");
    assert!(f.failed > 8000, "{f:?}");
    assert_eq!(f.dead_lettered, f.failed + f.unrecorded, "{f:?}");
    assert!(f.throttled_calls > 10 * f.paid_calls, "{f:?}");
    assert_eq!(f.paid_calls, f.succeeded + f.model_timeouts, "{f:?}");
    assert!(f.invocations >= 3 * f.failed, "{f:?}");
}

#[test]
fn the_same_seed_gives_the_same_figures() {
    for trigger in [Trigger::Async, Trigger::Sqs] {
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
fn sqs_with_the_deployed_settings_succeeds_at_its_own_pace() {
    let f = run(Trigger::Sqs, 2000, |_| {});
    assert_conserved(&f);
    assert_eq!(f.succeeded, 2000, "{f:?}");
    assert_eq!(f.throttled_calls, 0, "10 in flight stay under 100 a minute: {f:?}");
    // ~14 s a job, 10 at a time.
    let per_job = f.drain_seconds * 10.0 / 2000.0;
    assert!((12.0..18.0).contains(&per_job), "{per_job}");
}

#[test]
fn async_events_past_their_maximum_age_are_discarded() {
    let f = run(Trigger::Async, 2000, |p| {
        p.function_concurrency = 2;
        p.async_max_event_age = 120.0;
    });
    assert_conserved(&f);
    assert!(f.expired > 1500, "{f:?}");
    assert_eq!(f.dead_lettered, f.expired + f.failed, "{f:?}");
}

/// The defaults are the deployed settings: read from template.yaml, so they cannot drift.
#[test]
fn the_defaults_are_the_templates_settings() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    let t: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let number = |v: &serde_yaml::Value| -> f64 {
        v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).unwrap_or_else(|| panic!("not a number: {v:?}"))
    };
    let function = &t["Resources"]["TryOnFunction"]["Properties"];
    let env = &function["Environment"]["Variables"];
    let queue = &t["Resources"]["JobQueue"]["Properties"];
    for trigger in [Trigger::Async, Trigger::Sqs] {
        let p = Params::deployed(trigger, 1);
        assert_eq!(p.function_timeout, number(&t["Globals"]["Function"]["Timeout"]));
        assert_eq!(p.memory_mb, number(&t["Globals"]["Function"]["MemorySize"]));
        assert_eq!(p.async_retry_attempts as f64, number(&function["EventInvokeConfig"]["MaximumRetryAttempts"]));
        assert_eq!(p.async_max_event_age, number(&function["EventInvokeConfig"]["MaximumEventAgeInSeconds"]));
        assert_eq!(p.max_attempts as f64, number(&env["MAX_ATTEMPTS"]));
        assert_eq!(p.model_timeout, number(&env["MODEL_TIMEOUT_SECONDS"]));
        assert_eq!(p.deadline_reserve, number(&env["DEADLINE_RESERVE_SECONDS"]));
        assert_eq!(p.sqs_visibility_timeout, number(&queue["VisibilityTimeout"]));
        assert_eq!(p.sqs_max_receive_count as f64, number(&queue["RedrivePolicy"]["maxReceiveCount"]));
        assert_eq!(p.sqs_retention, number(&queue["MessageRetentionPeriod"]));
        assert_eq!(p.sqs_max_concurrency as f64, number(&t["Parameters"]["MaxConcurrency"]["Default"]));
        assert_eq!(
            t["Resources"]["JobQueueMapping"]["Properties"]["BatchSize"].as_u64(),
            Some(1),
            "the model runs one job per invocation"
        );
        assert!(function.get("ReservedConcurrentExecutions").is_none(), "the model assumes the account's limit");
    }
}
