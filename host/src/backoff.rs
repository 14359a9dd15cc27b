//! Waiting between retries: capped exponential backoff with ±25 % jitter, so
//! that many clients failing together do not retry together.

use std::time::Duration;

/// A retry schedule: `first`, twice that, … up to `max`, each with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Backoff {
    /// The wait after `failures` consecutive failures (1 for the first).
    pub fn delay(&self, failures: u32) -> Duration {
        // 2^16 × first is past any cap in use; the shift cannot overflow.
        let base = self
            .first
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
            .min(self.max);
        base.mul_f64(0.75 + fastrand::f64() * 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_within_the_jitter() {
        let b = Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        assert!(b.delay(1) <= Duration::from_millis(1250));
        assert!(b.delay(3) >= Duration::from_secs(3) && b.delay(3) <= Duration::from_secs(5));
        assert!(b.delay(u32::MAX) <= Duration::from_secs(75));
        assert!(b.delay(0) >= Duration::from_millis(750));
    }
}
