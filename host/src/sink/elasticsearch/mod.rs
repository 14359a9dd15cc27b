//! `es:URL`: Elasticsearch through the official client. Documents carry
//! deterministic `_id`s and are sent with `create`, so a second run over the same
//! lines changes nothing (409 counts as already indexed).
//!
//! Writes are async and run on the caller's runtime: the client's requests
//! go out while the caller waits, with no thread or runtime of the sink's own
//! and no copy of the documents.

pub mod dead_letter;
pub mod mappings;
pub mod retry;
pub mod service;

use super::{SinkError, WriteReport};
use crate::document::Document;
use crate::es::{EsConfig, EsError};
use service::EsService;

/// The Elasticsearch sink.
pub struct EsSink {
    label: String,
    // Boxed: the client's configuration is large, and a `Sink` moves by value.
    service: Box<EsService>,
}

impl EsSink {
    /// Connects and installs the mappings of `indices`.
    pub async fn open(
        config: EsConfig,
        indices: &[String],
        line_index: &str,
    ) -> Result<Self, EsError> {
        let service = EsService::new(config)?.with_line_index(line_index);
        service.install_mappings(indices, line_index).await?;
        Ok(Self {
            label: format!("es:{}", service.label()),
            service: Box::new(service),
        })
    }

    /// Indexes documents; returns once every one is stored, already present or dead-lettered.
    pub async fn write(&mut self, docs: &[Document]) -> Result<WriteReport, SinkError> {
        self.service.write(docs).await.map_err(|e| SinkError {
            sink: self.label.clone(),
            failure: super::SinkFailure::Elasticsearch(e),
        })
    }
}

/// Opens Elasticsearch at `address` for the given indices.
pub async fn open(
    address: &crate::config::EsAddress,
    env: &crate::config::EsEnvironment,
    state_dir: &std::path::Path,
    indices: &[String],
    line_index: &str,
) -> Result<EsSink, EsError> {
    EsSink::open(EsConfig::new(address, env, state_dir), indices, line_index).await
}
