//! `logpipe dashboard`: monitoring pages served by logpipe over the embedded
//! store or Elasticsearch: predictions, drift, performance, the pipeline (when
//! served by `run`) and traces. The page ([`assets`]) is a thin client of a
//! small JSON API ([`server`]); each answer's figures ([`panels`]) come from
//! the rows of the store's blocks ([`store_panels`]) or from Elasticsearch's
//! aggregations ([`search_panels`]), drawn by plotly.js, served from the copy
//! the `plotly` crate embeds (nothing is fetched from the network).

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
    /// A panel's thread ended without an answer (it panicked).
    #[error("the panel failed: {0}")]
    Panel(#[from] tokio::task::JoinError),
    /// Elasticsearch could not be searched, or refused the search.
    #[error(transparent)]
    Search(crate::es::EsError),
}
