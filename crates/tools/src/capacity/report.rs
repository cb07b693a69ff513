//! The figures of one run and their table.

use super::params::Params;

#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub trigger: &'static str,
    pub jobs: u64,
    /// Jobs whose status ended `succeeded`.
    pub succeeded: u64,
    /// Jobs whose status ended `failed` (recorded by the function's last attempt).
    pub failed: u64,
    /// Jobs that never recorded an outcome: their event was discarded (too old, or retention)
    /// or dead-lettered before an attempt could record `failed`.
    pub unrecorded: u64,
    /// Events that reached a dead end: the DLQ (SQS, overflow queue), the on-failure
    /// destination when it is not the overflow queue, Batch Operations tasks it gave up on.
    pub dead_lettered: u64,
    /// Events discarded for age (async) or retention (SQS).
    pub expired: u64,
    /// Async events moved to the overflow queue (retries or age ran out).
    pub overflowed: u64,
    /// Jobs whose event left the system (a check: equals `jobs`).
    pub left: u64,
    /// Model calls the quota admitted: each one is billed.
    pub paid_calls: u64,
    /// Model calls refused by the quota (429 ThrottlingException).
    pub throttled_calls: u64,
    /// Model calls cut off by the call's deadline.
    pub model_timeouts: u64,
    /// Times a call whose SDK attempts were all throttled was sent again by the function.
    pub throttle_waits: u64,
    /// Invocations refused because the function's concurrency was used up.
    pub function_throttles: u64,
    pub invocations: u64,
    pub peak_concurrency: u64,
    /// From the first upload until the last event left the system.
    pub drain_seconds: f64,
    /// Upload to `succeeded`, over the jobs that succeeded.
    pub p50_seconds: f64,
    pub p99_seconds: f64,
    pub gb_seconds: f64,
    pub lambda_usd: f64,
    pub model_usd: f64,
}

impl Figures {
    pub(super) fn new(p: &Params) -> Self {
        Figures {
            trigger: p.trigger.as_str(),
            jobs: p.jobs,
            succeeded: 0,
            failed: 0,
            unrecorded: 0,
            dead_lettered: 0,
            expired: 0,
            overflowed: 0,
            left: 0,
            paid_calls: 0,
            throttled_calls: 0,
            model_timeouts: 0,
            throttle_waits: 0,
            function_throttles: 0,
            invocations: 0,
            peak_concurrency: 0,
            drain_seconds: 0.0,
            p50_seconds: 0.0,
            p99_seconds: 0.0,
            gb_seconds: 0.0,
            lambda_usd: 0.0,
            model_usd: 0.0,
        }
    }

    /// `sorted`: upload-to-result times of the jobs that succeeded, ascending.
    pub(super) fn set_times(&mut self, sorted: &[f64]) {
        let at = |q: f64| {
            if sorted.is_empty() {
                0.0
            } else {
                sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
            }
        };
        self.p50_seconds = at(0.50);
        self.p99_seconds = at(0.99);
    }

    pub(super) fn price(&mut self, p: &Params) {
        self.lambda_usd = self.gb_seconds * p.price_per_gb_second
            + self.invocations as f64 * p.price_per_million_requests / 1_000_000.0;
        self.model_usd = self.paid_calls as f64 * p.price_per_call;
    }
}

/// Seconds as people read them: `42 s`, `12.5 min`, `41.7 h`.
pub fn duration(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// One column per run, one row per figure (Markdown).
pub fn table(runs: &[Figures]) -> String {
    type Row = (&'static str, fn(&Figures) -> String);
    let rows: &[Row] = &[
        ("jobs", |f| f.jobs.to_string()),
        ("succeeded", |f| f.succeeded.to_string()),
        ("failed (recorded)", |f| f.failed.to_string()),
        ("no outcome recorded", |f| f.unrecorded.to_string()),
        ("dead-lettered", |f| f.dead_lettered.to_string()),
        ("past max age or retention", |f| f.expired.to_string()),
        ("moved to the overflow queue", |f| f.overflowed.to_string()),
        ("paid model calls", |f| f.paid_calls.to_string()),
        ("throttled model calls (429)", |f| f.throttled_calls.to_string()),
        ("model calls timed out", |f| f.model_timeouts.to_string()),
        ("calls sent again after throttles", |f| f.throttle_waits.to_string()),
        ("function throttles", |f| f.function_throttles.to_string()),
        ("invocations", |f| f.invocations.to_string()),
        ("peak concurrency", |f| f.peak_concurrency.to_string()),
        ("drain time", |f| duration(f.drain_seconds)),
        ("p50 upload → result", |f| duration(f.p50_seconds)),
        ("p99 upload → result", |f| duration(f.p99_seconds)),
        ("GB-seconds", |f| format!("{:.0}", f.gb_seconds)),
        ("Lambda cost", |f| format!("${:.2}", f.lambda_usd)),
        ("model cost", |f| format!("${:.2}", f.model_usd)),
        ("total cost", |f| format!("${:.2}", f.lambda_usd + f.model_usd)),
    ];
    let mut out = String::from("| |");
    for f in runs {
        out.push_str(&format!(" {} |", f.trigger));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(runs.len()));
    out.push('\n');
    for (name, value) in rows {
        out.push_str(&format!("| {name} |"));
        for f in runs {
            out.push_str(&format!(" {} |", value(f)));
        }
        out.push('\n');
    }
    out
}
