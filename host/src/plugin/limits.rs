//! The sandbox limits of every plugin instance.

use std::time::Duration;

/// Resource limits applied to each plugin instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory an instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time one batch call may take before it is interrupted.
    pub batch_timeout: Duration,
    /// Bytes of stdout and of stderr kept per call; the rest is counted and dropped.
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            batch_timeout: Duration::from_millis(200),
            output_bytes: 16 << 10,
        }
    }
}
