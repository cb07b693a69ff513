//! The model's requests-per-minute quota as a token bucket: `burst` tokens at most, refilled
//! at `per_minute / 60` a second; a call takes one token or is refused (429) and takes none.
//! The emulator's `--requests-per-minute` enforces the same rule on real calls.

#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate_per_second: f64,
    burst: f64,
    tokens: f64,
    updated: f64,
}

impl TokenBucket {
    /// A full bucket at time 0.
    pub fn new(per_minute: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        TokenBucket { rate_per_second: per_minute / 60.0, burst, tokens: burst, updated: 0.0 }
    }

    /// Takes a token at `now` (seconds; never earlier than the last call), if one is there.
    pub fn try_take(&mut self, now: f64) -> bool {
        let elapsed = (now - self.updated).max(0.0);
        self.tokens = (self.tokens + elapsed * self.rate_per_second).min(self.burst);
        self.updated = self.updated.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_the_burst_then_the_rate() {
        let mut q = TokenBucket::new(60.0, 5.0);
        assert_eq!((0..10).filter(|_| q.try_take(0.0)).count(), 5);
        assert!(!q.try_take(0.5));
        assert!(q.try_take(1.0));
        assert!(!q.try_take(1.0));
        // A long idle refills to the burst, not beyond.
        assert_eq!((0..10).filter(|_| q.try_take(100.0)).count(), 5);
    }
}
