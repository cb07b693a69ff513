//! Waiting for the model's quota inside one invocation. A throttled call (429: the quota
//! refused it before the model ran) is not charged, so trying it again costs nothing but
//! time. When the SDK's own attempts all end throttled, the call is sent again after a
//! capped exponential backoff with full jitter, for as long as `THROTTLE_WAIT_SECONDS`
//! and the call's own time bound (`MODEL_TIMEOUT_SECONDS`, `DEADLINE_RESERVE_SECONDS`
//! before the deadline) allow; only then does the call report `throttled`.
//!
//! Backoff and jitter follow the AWS SDKs' standard retry strategy (first wait up to 1 s,
//! doubling, at most 20 s, each drawn uniformly from zero to that cap), so the capacity
//! model (`src/capacity/`) simulates the same waits from the same constants.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use tracing::info;

use crate::adapters::model::{ModelCallError, ModelFailureKind};

/// The cap of the first wait, doubled for each further one.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The largest cap.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// A throttled call is sent again only while at least this much of its bound is left: the
/// model takes about 12 s (p99 30 s), and a resend the quota admits too late would be cut off
/// mid-call, after the model may have run (and billed), and end `model_timeout` instead of
/// `throttled`.
pub const RESEND_WINDOW: Duration = Duration::from_secs(60);

/// The cap of the wait before resend `n` (1-based): `FIRST_BACKOFF × 2ⁿ⁻¹`, at most `MAX_BACKOFF`.
pub fn backoff_cap(n: u32) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX));
    doubled.min(MAX_BACKOFF)
}

/// A wait drawn uniformly from `[0, cap]` ("full jitter"), `unit` being uniform in `[0, 1)`.
pub fn full_jitter(cap: Duration, unit: f64) -> Duration {
    cap.mul_f64(unit.clamp(0.0, 1.0))
}

/// Uniform in `[0, 1)`, from the standard library's randomly keyed hasher (no RNG crate in
/// the function).
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    h.write_u128(nanos.as_nanos());
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs `call` (given the time it may take) until it answers anything but a throttle, or
/// until waiting longer would pass `wait_for` or leave the resend less than
/// [`RESEND_WINDOW`] within `timeout`; then the last answer (`throttled`) is returned.
/// `wait_for` zero: one call.
pub async fn call<T, F, Fut>(timeout: Duration, wait_for: Duration, mut call: F) -> Result<T, ModelCallError>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, ModelCallError>>,
{
    let started = Instant::now();
    let end = started + timeout;
    let waiting_ends = started + wait_for.min(timeout);
    let mut resend = 0;
    loop {
        let result = call(end.saturating_duration_since(Instant::now())).await;
        match &result {
            Err(e) if e.kind == ModelFailureKind::Throttled => {}
            _ => return result,
        }
        resend += 1;
        let now = Instant::now();
        let room = waiting_ends.min(end.checked_sub(RESEND_WINDOW).unwrap_or(started)).saturating_duration_since(now);
        if room.is_zero() {
            return result;
        }
        let wait = full_jitter(backoff_cap(resend), random_unit()).min(room);
        info!(
            resend,
            wait_ms = wait.as_millis() as u64,
            waited_ms = now.duration_since(started).as_millis() as u64,
            "model throttled after the SDK's attempts; waiting for the quota (throttles are not charged)"
        );
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn throttled() -> ModelCallError {
        ModelCallError::new(ModelFailureKind::Throttled, "429")
    }

    #[test]
    fn the_cap_doubles_from_one_second_to_twenty() {
        let caps: Vec<u64> = (1..=7).map(|n| backoff_cap(n).as_secs()).collect();
        assert_eq!(caps, [1, 2, 4, 8, 16, 20, 20]);
        assert_eq!(backoff_cap(200), MAX_BACKOFF);
        assert_eq!(full_jitter(Duration::from_secs(8), 0.25), Duration::from_secs(2));
        assert!((0..100).map(|_| random_unit()).all(|u| (0.0..1.0).contains(&u)));
    }

    #[tokio::test(start_paused = true)]
    async fn throttles_are_sent_again_until_the_quota_admits_the_call() {
        let calls = AtomicU32::new(0);
        let r = call(Duration::from_secs(300), Duration::from_secs(300), |_| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    Err(throttled())
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn other_failures_and_zero_wait_end_at_once() {
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = call(Duration::from_secs(60), Duration::from_secs(60), |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(ModelCallError::new(ModelFailureKind::Unavailable, "503")) }
        })
        .await;
        assert_eq!(r.unwrap_err().kind, ModelFailureKind::Unavailable);
        let r: Result<(), _> = call(Duration::from_secs(60), Duration::ZERO, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(throttled()) }
        })
        .await;
        assert_eq!(r.unwrap_err().kind, ModelFailureKind::Throttled);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one call each");
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_stops_while_a_resend_still_has_its_window_and_each_call_gets_what_is_left() {
        let started = Instant::now();
        let given = std::sync::Mutex::new(vec![]);
        // A 100 s bound: resends only while at least RESEND_WINDOW (60 s) is left.
        let r: Result<(), _> = call(Duration::from_secs(100), Duration::from_secs(300), |left| {
            given.lock().unwrap().push(left);
            async { Err(throttled()) }
        })
        .await;
        assert_eq!(r.unwrap_err().kind, ModelFailureKind::Throttled);
        assert!(started.elapsed() <= Duration::from_secs(40), "{:?}", started.elapsed());
        let given = given.into_inner().unwrap();
        assert!(given.len() >= 3, "sent again while there was time: {given:?}");
        assert!(given.windows(2).all(|w| w[1] <= w[0]), "each call gets the time left: {given:?}");
        assert!(given[1..].iter().all(|g| *g >= RESEND_WINDOW), "no resend without its window: {given:?}");
    }
}
