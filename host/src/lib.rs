//! logpipe: moves the logs of an ML prediction API into Elasticsearch.
//!
//! Data flows one way: [`source`] → [`ids`] → [`plugin`]s (run by the
//! [`pipeline`]) → [`document`]s → [`sink`]s, with acknowledgements flowing back
//! to the checkpoint.

pub mod backoff;
pub mod chain;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod document;
pub mod drift;
pub mod es;
pub mod export;
pub mod fsutil;
pub mod ids;
pub mod ops;
pub mod pipeline;
pub mod plugin;
pub mod redact;
pub mod simulate;
pub mod sink;
pub mod source;
pub mod store;
