//! A circuit breaker per plugin runner: a plugin that fails call after call
//! (every batch and every line timing out, say) would otherwise cost a whole
//! time limit per line. After [`breaker::FAILURES`] failed calls in a row the
//! runner stops calling it for a pause, during which its lines are still
//! indexed, marked as skipped by that plugin. After the pause one call is
//! tried: success closes the breaker, failure pauses again for twice as long
//! (up to [`breaker::MAX_PAUSE`]).

use super::limits::breaker;
use std::time::{Duration, Instant};

/// The state of one runner's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    /// Failed calls in a row.
    failures: u32,
    /// Paused until then.
    until: Option<Instant>,
    /// The pause the next opening takes.
    pause: Duration,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            failures: 0,
            until: None,
            pause: breaker::FIRST_PAUSE,
        }
    }
}

/// What a recorded result changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Nothing to report.
    None,
    /// The breaker opened: no calls for this long.
    Opened(Duration),
    /// A call succeeded after the breaker had opened.
    Closed,
}

impl Breaker {
    /// When calls are paused, until when.
    pub fn paused(&self, now: Instant) -> Option<Instant> {
        self.until.filter(|until| now < *until)
    }

    /// Failed calls in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A call succeeded.
    pub fn succeeded(&mut self) -> Change {
        self.failures = 0;
        self.pause = breaker::FIRST_PAUSE;
        match self.until.take() {
            Some(_) => Change::Closed,
            None => Change::None,
        }
    }

    /// A call failed at `now`.
    pub fn failed(&mut self, now: Instant) -> Change {
        self.failures = self.failures.saturating_add(1);
        // The first call after a pause is a trial: one failure pauses again.
        let trial_failed = self.until.is_some();
        if self.failures < breaker::FAILURES && !trial_failed {
            return Change::None;
        }
        let pause = self.pause;
        self.until = Some(now + pause);
        self.pause = (pause * 2).min(breaker::MAX_PAUSE);
        Change::Opened(pause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_and_doubles_its_pause() {
        let mut b = Breaker::default();
        let t0 = Instant::now();
        for _ in 1..breaker::FAILURES {
            assert_eq!(b.failed(t0), Change::None);
        }
        assert_eq!(b.failed(t0), Change::Opened(breaker::FIRST_PAUSE));
        assert!(b.paused(t0).is_some());
        let after = t0 + breaker::FIRST_PAUSE;
        assert!(b.paused(after).is_none(), "a trial call after the pause");
        assert_eq!(b.failed(after), Change::Opened(breaker::FIRST_PAUSE * 2));
        let later = after + breaker::FIRST_PAUSE * 2;
        assert!(b.paused(later).is_none());
        assert_eq!(b.succeeded(), Change::Closed);
        assert_eq!(b.failures(), 0);
        for _ in 1..breaker::FAILURES {
            assert_eq!(b.failed(later), Change::None, "counts start again");
        }
    }

    #[test]
    fn a_success_resets_the_count() {
        let mut b = Breaker::default();
        let t0 = Instant::now();
        for _ in 0..10 {
            for _ in 1..breaker::FAILURES {
                b.failed(t0);
            }
            assert_eq!(b.succeeded(), Change::None);
        }
        assert!(b.paused(t0).is_none());
    }

    #[test]
    fn the_pause_is_capped() {
        let mut b = Breaker::default();
        let mut now = Instant::now();
        for _ in 0..breaker::FAILURES {
            b.failed(now);
        }
        for _ in 0..20 {
            now += breaker::MAX_PAUSE;
            b.failed(now);
        }
        assert!(b.paused(now).unwrap() <= now + breaker::MAX_PAUSE);
    }
}
