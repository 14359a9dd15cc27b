//! `logpipe dashboard`: monitoring pages served by logpipe over the embedded
//! store: predictions, drift, performance, the pipeline (when served by
//! `run`) and traces. The page ([`assets`]) is a thin client of a small JSON
//! API ([`server`]) whose answers [`panels`] computes from the store's typed
//! columns; charts are drawn by plotly.js, served from the copy the `plotly`
//! crate embeds (nothing is fetched from the network).

pub mod assets;
pub mod grafana;
pub mod panels;
pub mod pipeline;
pub mod search_panels;
pub mod server;
pub mod store_panels;

/// Why a panel could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The drift side could not be read.
    #[error(transparent)]
    Drift(#[from] crate::drift::DriftError),
    /// Elasticsearch could not be searched, or refused the search.
    #[error("{0}")]
    Search(String),
}
