//! The sandbox limits of every plugin instance, and the caps on what a plugin
//! may answer. Everything a plugin controls is bounded here: its time, its
//! memory, its output, and the host's work and memory on its answers.

use std::time::Duration;

/// Memory cap of an instance by default, MiB.
pub const DEFAULT_MEMORY_MIB: usize = 64;
/// Time limit of a batch call by default, milliseconds.
pub const DEFAULT_BATCH_TIMEOUT_MS: u64 = 200;

/// Resource limits applied to each plugin instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory an instance may grow to, in bytes, all its memories together.
    pub memory_bytes: usize,
    /// Wall-clock time one batch call may take before it is interrupted. It
    /// fires within one epoch tick ([`super::engine::EPOCH_TICK`], 5 ms) after
    /// the limit when the host has a core for its ticker thread.
    pub batch_timeout: Duration,
    /// Bytes of stdout and of stderr kept per call; the rest is counted and dropped.
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: DEFAULT_MEMORY_MIB << 20,
            batch_timeout: Duration::from_millis(DEFAULT_BATCH_TIMEOUT_MS),
            output_bytes: 16 << 10,
        }
    }
}

/// Caps on one plugin answer (one call). An answer over a cap fails the call,
/// which the runner then isolates event by event like a trap: only the events
/// that go over a cap on their own fail, and their lines are still indexed.
/// Every check on an answer is linear in its size.
pub mod answer {
    /// Bytes of a parser's answer text (all its documents together).
    pub const MAX_TEXT_BYTES: usize = 16 << 20;
    /// Bytes of one document.
    pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
    /// Documents in one answer.
    pub const MAX_DOCUMENTS: usize = 65_536;
    /// Documents for one event.
    pub const MAX_DOCUMENTS_PER_EVENT: usize = 256;
    /// Bytes of an error's reason kept; the rest is cut and its length said.
    pub const MAX_REASON_BYTES: usize = 1024;
}

/// When a plugin keeps failing, the runner stops calling it for a while.
pub mod breaker {
    use std::time::Duration;
    /// Failed calls in a row (batches or single events) that open the breaker.
    pub const FAILURES: u32 = 5;
    /// First pause; it doubles each time the plugin fails again after one.
    pub const FIRST_PAUSE: Duration = Duration::from_secs(10);
    /// Longest pause.
    pub const MAX_PAUSE: Duration = Duration::from_secs(300);
}

/// `reason` cut to [`answer::MAX_REASON_BYTES`] on a character boundary, saying
/// how much was cut.
pub fn bounded_reason(mut reason: String) -> String {
    if reason.len() <= answer::MAX_REASON_BYTES {
        return reason;
    }
    let total = reason.len();
    let mut end = answer::MAX_REASON_BYTES;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason.truncate(end);
    reason.push_str(&format!("… ({} more bytes cut)", total - end));
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_on_a_character_boundary() {
        assert_eq!(bounded_reason("short".into()), "short");
        let long = "é".repeat(answer::MAX_REASON_BYTES);
        let cut = bounded_reason(long);
        assert!(cut.len() < answer::MAX_REASON_BYTES + 40, "{}", cut.len());
        assert!(cut.ends_with(&format!("({} more bytes cut)", answer::MAX_REASON_BYTES)));
    }
}
