//! A small seeded generator (xorshift64*), so a run is repeatable from its seed without a
//! dependency, and the draws the model needs: uniform, and log-normal latencies given by
//! their median and 99th percentile.

/// The 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874;

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // Zero is xorshift's one fixed point; spread small seeds over the state.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// A log-normal draw with this median and 99th percentile (equal: always the median).
    pub fn log_normal(&mut self, median: f64, p99: f64) -> f64 {
        let sigma = if p99 > median { (p99 / median).ln() / Z99 } else { 0.0 };
        median * (sigma * self.normal()).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_normal_hits_its_median_and_p99() {
        let mut rng = Rng::new(7);
        let mut v: Vec<f64> = (0..200_000).map(|_| rng.log_normal(12.0, 30.0)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[v.len() / 2];
        let p99 = v[v.len() * 99 / 100];
        assert!((median - 12.0).abs() < 0.2, "{median}");
        assert!((p99 - 30.0).abs() < 1.0, "{p99}");
    }

    #[test]
    fn uniform_stays_in_range() {
        let mut rng = Rng::new(0);
        assert!((0..10_000).map(|_| rng.uniform()).all(|u| (0.0..1.0).contains(&u)));
    }
}
