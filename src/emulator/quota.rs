//! A requests-per-minute quota on the emulated `InvokeModel`, as Bedrock keeps one per
//! account, Region and model: a call over it is answered 429 ThrottlingException, exactly the
//! canned throttling fault, before any work. The rule is the capacity model's token bucket
//! (a minute's worth at once, refilled at the rate), so a measured burst and a simulated one
//! meet the same quota.
//!
//! Process-wide: set once by `tryon emulator --requests-per-minute`; unset, every call is
//! admitted, so tests that run emulators in one process never meet it.

use std::sync::Mutex;
use std::time::Instant;

use crate::capacity::TokenBucket;

static QUOTA: Mutex<Option<(Instant, TokenBucket)>> = Mutex::new(None);

/// Limits every emulator of this process to `per_minute` model calls a minute (`None`: no limit).
pub fn set_requests_per_minute(per_minute: Option<f64>) {
    let quota = per_minute.map(|rpm| (Instant::now(), TokenBucket::new(rpm, rpm)));
    *QUOTA.lock().unwrap_or_else(|p| p.into_inner()) = quota;
}

/// Whether a call arriving now is within the quota (it then counts against it).
pub(super) fn admit() -> bool {
    match QUOTA.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        Some((start, bucket)) => bucket.try_take(start.elapsed().as_secs_f64()),
        None => true,
    }
}
