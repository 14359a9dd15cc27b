//! Operating a running pipeline: metrics, health, hot reload.

pub mod metrics;
pub mod reload;
pub mod server;
pub mod watch;

pub use metrics::Metrics;
