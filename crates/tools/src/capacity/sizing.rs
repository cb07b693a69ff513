//! The one formula that turns the model's quota into the template's concurrency settings, and
//! the quotas the template offers. CloudFormation has no arithmetic, so template.yaml carries
//! the formula's values as a `Mappings` table keyed by `ModelRequestsPerMinute`; a test
//! checks the table against [`concurrency_for`] for every allowed value, and
//! `tryon capacity --mapping` prints the table.
//!
//! Concurrency = ⌈quota per second × seconds a job holds an execution × headroom⌉, at least 2
//! (the least `ScalingConfig.MaximumConcurrency` accepts). A job holds an execution for about
//! [`SECONDS_PER_JOB`] (preparation 1.5 s, the model's median 12 s, recording 0.5 s); the
//! model's mean latency is above its median (a log-normal with p99 30 s has its mean at
//! 13 s), and a call that finds the quota spent waits inside its invocation at no charge
//! (`THROTTLE_WAIT_SECONDS`), so [`HEADROOM`] keeps the quota busy rather than the
//! executions: too few executions leave the quota idle, a few too many only wait.

/// Seconds one job holds an execution at the model's median latency.
pub const SECONDS_PER_JOB: f64 = 14.0;
/// Executions above what the quota keeps busy at the median.
pub const HEADROOM: f64 = 1.25;
/// The `ModelRequestsPerMinute` values the template offers (its `AllowedValues`).
pub const QUOTAS: [u32; 11] = [10, 20, 25, 50, 60, 100, 150, 200, 250, 500, 1000];

/// Executions (reserved concurrency, and each SQS mapping's `MaximumConcurrency`) for a quota.
pub fn concurrency_for(quota_per_minute: f64) -> u64 {
    ((quota_per_minute / 60.0 * SECONDS_PER_JOB * HEADROOM).ceil() as u64).max(2)
}

/// The template's `Mappings` table, as YAML.
pub fn mapping_yaml() -> String {
    let mut out = String::from("  QuotaSizing:\n");
    for q in QUOTAS {
        out.push_str(&format!("    \"{q}\":\n      Concurrency: {}\n", concurrency_for(q as f64)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_formula_keeps_the_quota_busy_with_a_quarter_to_spare() {
        assert_eq!(concurrency_for(100.0), 30); // 100/60 × 14 × 1.25 = 29.2
        assert_eq!(concurrency_for(50.0), 15);
        assert_eq!(concurrency_for(1.0), 2, "never below the mapping's minimum");
        assert!(QUOTAS.windows(2).all(|w| w[0] < w[1]));
        assert!(mapping_yaml().contains("    \"100\":\n      Concurrency: 30\n"));
    }
}
