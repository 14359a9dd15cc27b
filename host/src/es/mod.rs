//! Elasticsearch as logpipe reaches it: the settings of an `es:` address
//! ([`config`]), the connected client ([`client`]) and what can go wrong
//! ([`error`]). The `es:` sink writes through it; `trace`, `export`, drift
//! and the dashboard read through it.

pub mod client;
pub mod config;
pub mod error;

pub use client::EsClient;
pub use config::EsConfig;
pub use error::EsError;
