//! Sinks: where documents go. `dir:` (NDJSON files), `sqlite:` (the embedded
//! store), `es:` (Elasticsearch), `null:` (benchmarks). A sink's `write` returns
//! only when the documents are stored (or dead-lettered), which is what lets the
//! checkpoint advance.
//!
//! Opening and writing are async (Elasticsearch's client is); the local sinks
//! do their work on the calling thread when polled, so synchronous callers
//! drive them with [`wait`], which also keeps a runtime's own threads free.

pub mod bulk;
pub mod dir;
pub mod drift;
pub mod elasticsearch;
pub mod null;

use crate::config::SinkSpec;
use crate::document::Document;
use std::collections::BTreeMap;

/// What one write did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// Documents newly stored, per index.
    pub stored: BTreeMap<String, u64>,
    /// Documents that were already there (same index and `_id`).
    pub already_present: u64,
    /// Documents sent to the dead-letter file.
    pub dead_letters: u64,
    /// Documents sent again after a retryable failure.
    pub retries: u64,
}

impl From<crate::store::writer::Written> for WriteReport {
    fn from(w: crate::store::writer::Written) -> Self {
        WriteReport {
            stored: w.stored,
            already_present: w.already_present,
            ..WriteReport::default()
        }
    }
}

impl WriteReport {
    /// Adds another report to this one.
    pub fn absorb(&mut self, other: WriteReport) {
        for (k, v) in other.stored {
            *self.stored.entry(k).or_default() += v;
        }
        self.already_present += other.already_present;
        self.dead_letters += other.dead_letters;
        self.retries += other.retries;
    }
}

/// A sink's failure: the documents are not known to be stored.
#[derive(Debug, thiserror::Error)]
#[error("{sink}: {failure}")]
pub struct SinkError {
    /// The sink, as configured (passwords masked).
    pub sink: String,
    /// What went wrong.
    pub failure: SinkFailure,
}

/// What went wrong, by sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkFailure {
    /// A file of a `dir:` sink.
    #[error("{path}: {error}")]
    Dir {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The OS's reason.
        error: std::io::Error,
    },
    /// The embedded store (its causes on the same line).
    #[error("{}", crate::chain::causes(.0))]
    Store(crate::store::StoreError),
    /// Elasticsearch (the sink's label names the nodes).
    #[error("{}", .0.detail())]
    Elasticsearch(crate::es::EsError),
    /// Documents whose text the workers dropped for the embedded store
    /// ([`crate::pipeline::Plan::store_only`]) came to a sink that reads it:
    /// refused rather than written empty.
    #[error(
        "documents without their text (the pipeline was prepared for the embedded store alone)"
    )]
    SourcesDropped,
}

impl SinkError {
    /// Whether what the user gave is wrong (a path that cannot be written, a
    /// file that is not a store), rather than a server that may come back.
    pub fn is_bad_input(&self) -> bool {
        match &self.failure {
            SinkFailure::Dir { .. } | SinkFailure::Store(_) => true,
            SinkFailure::Elasticsearch(_) | SinkFailure::SourcesDropped => false,
        }
    }

    /// Whether a server never answered (down, unreachable).
    pub fn is_unreachable(&self) -> bool {
        matches!(&self.failure, SinkFailure::Elasticsearch(e) if e.is_unreachable())
    }
}

/// A configured sink.
pub enum Sink {
    /// NDJSON files.
    Dir(dir::DirSink),
    /// The embedded store.
    Sqlite(Box<crate::store::StoreWriter>),
    /// Elasticsearch.
    Elasticsearch(elasticsearch::EsSink),
    /// Encodes documents for bulk, then discards them (benchmarks, dry runs).
    Null(null::NullSink),
    /// Continuous drift: watches predictions, stores nothing.
    Drift(drift::DriftSink),
}

/// What opening a sink may need besides its address.
#[derive(Debug, Clone, Default)]
pub struct SinkContext {
    /// The state directory (default dead-letter file).
    pub state_dir: std::path::PathBuf,
    /// Indices the pipeline writes, for mapping installation.
    pub indices: Vec<String>,
    /// The line index.
    pub line_index: String,
    /// What the embedded store keeps.
    pub retention: crate::store::Retention,
    /// Elasticsearch's credentials and options from the environment.
    pub es: crate::config::EsEnvironment,
    /// Written by an import (`once`), which can wait for readers: the
    /// embedded store takes its rollback journal ([`crate::store::journal`]).
    pub import: bool,
}

impl Sink {
    /// Opens the sink `spec` names.
    pub async fn open(spec: &SinkSpec, context: &SinkContext) -> Result<Self, SinkError> {
        let err = |failure: SinkFailure| SinkError {
            sink: spec.to_string(),
            failure,
        };
        match spec {
            SinkSpec::Dir(path) => dir::DirSink::open(path).map(Sink::Dir).map_err(|error| {
                err(SinkFailure::Dir {
                    path: path.clone(),
                    error,
                })
            }),
            SinkSpec::Sqlite(path) => if context.import {
                crate::store::StoreWriter::import(path, context.retention)
            } else {
                crate::store::StoreWriter::open(path, context.retention)
            }
            .map(|store| Sink::Sqlite(Box::new(store)))
            .map_err(|e| err(SinkFailure::Store(e))),
            SinkSpec::Null => Ok(Sink::Null(null::NullSink::default())),
            SinkSpec::Es(address) => elasticsearch::open(
                address,
                &context.es,
                &context.state_dir,
                &context.indices,
                &context.line_index,
            )
            .await
            .map(Sink::Elasticsearch)
            .map_err(|e| err(SinkFailure::Elasticsearch(e))),
        }
    }

    /// Whether fewer, larger writes cost this sink much less than many small
    /// ones (the embedded store: each write is a transaction with an fsync).
    /// Others are written batch by batch, while the documents are in cache.
    pub fn prefers_large_writes(&self) -> bool {
        matches!(self, Sink::Sqlite(_))
    }

    /// Stores documents; returns when they are durable in the sink.
    pub async fn write(&mut self, docs: &[Document]) -> Result<WriteReport, SinkError> {
        let reads_sources = !matches!(self, Sink::Sqlite(_) | Sink::Drift(_));
        if reads_sources
            && docs
                .iter()
                .any(|d| d.block.as_ref().is_some_and(|b| b.dropped))
        {
            return Err(SinkError {
                sink: match self {
                    Sink::Dir(_) => "dir:",
                    Sink::Elasticsearch(_) => "es:",
                    _ => "null:",
                }
                .to_string(),
                failure: SinkFailure::SourcesDropped,
            });
        }
        match self {
            Sink::Dir(s) => s.write(docs),
            Sink::Sqlite(s) => s.write(docs).map(WriteReport::from).map_err(|e| SinkError {
                sink: format!("sqlite:{}", s.path().display()),
                failure: SinkFailure::Store(e),
            }),
            Sink::Elasticsearch(s) => s.write(docs).await,
            Sink::Null(s) => Ok(s.write(docs)),
            Sink::Drift(s) => Ok(s.write(docs)),
        }
    }
}

/// Writes documents to every sink, in order, and returns the first sink's
/// report (the others hold the same documents: counting them again would
/// count each document once per sink).
pub async fn write_all(sinks: &mut [Sink], docs: &[Document]) -> Result<WriteReport, SinkError> {
    let mut first = None;
    for sink in sinks {
        let report = sink.write(docs).await?;
        first.get_or_insert(report);
    }
    Ok(first.unwrap_or_default())
}

/// Runs a sink's future (an open, a write) to its end from synchronous code,
/// on `runtime`. On one of a runtime's own threads, its other tasks move to
/// the others meanwhile (a local sink's write blocks the thread it runs on),
/// which needs a multi-threaded runtime (as `cli::runtime` makes).
pub fn wait<T>(runtime: &tokio::runtime::Handle, work: impl Future<Output = T>) -> T {
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::task::block_in_place(|| runtime.block_on(work))
    } else {
        runtime.block_on(work)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write through `wait` from every kind of thread a caller may be on:
    /// a plain one, one inside the runtime (`enter`), and a runtime task.
    #[test]
    fn waiting_for_a_write_works_on_and_off_the_runtime() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut sinks = vec![Sink::Dir(dir::DirSink::open(dir.path()).unwrap())];
        let docs = [Document {
            index: "logs".into(),
            id: "id-1".into(),
            source: r#"{"message":"a"}"#.into(),
            line_time: 0,
            prediction: None,
            columns: None,
            block: None,
        }];
        let handle = runtime.handle().clone();
        let written = wait(&handle, write_all(&mut sinks, &docs)).unwrap();
        assert_eq!(written.stored["logs"], 1);
        {
            let _inside = runtime.enter();
            let written = wait(&handle, write_all(&mut sinks, &docs)).unwrap();
            assert_eq!(written.stored["logs"], 1);
        }
        let written = runtime
            .block_on(async {
                tokio::spawn(async move {
                    let handle = tokio::runtime::Handle::current();
                    wait(&handle, write_all(&mut sinks, &docs))
                })
                .await
            })
            .unwrap()
            .unwrap();
        assert_eq!(written.stored["logs"], 1);
        let text = std::fs::read_to_string(dir.path().join("logs.ndjson")).unwrap();
        assert_eq!(text.lines().count(), 3);
    }

    /// Documents whose text was dropped for the store alone are refused by a
    /// sink that reads it (not written empty), and taken by the store.
    #[test]
    fn documents_packed_for_the_store_alone_are_refused_by_other_sinks() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut docs: Vec<Document> = (0..2000)
            .map(|n| Document {
                index: "logs".into(),
                id: format!("id-{n}"),
                source: format!(r#"{{"message":"{}"}}"#, "x".repeat(300)),
                line_time: 20251121091203,
                prediction: None,
                columns: None,
                block: None,
            })
            .collect();
        crate::store::blocks::PackedSources::pack_blocks(
            &mut docs,
            &[],
            &mut Default::default(),
            true,
        );
        assert!(docs.iter().any(|d| d.source.is_empty()));
        let mut files = Sink::Dir(dir::DirSink::open(&dir.path().join("out")).unwrap());
        let refused = runtime.block_on(files.write(&docs)).unwrap_err();
        assert!(
            matches!(refused.failure, SinkFailure::SourcesDropped),
            "{refused}"
        );
        assert!(!dir.path().join("out/logs.ndjson").exists());
        let store = crate::store::StoreWriter::open(
            &dir.path().join("s.db"),
            crate::store::Retention::keep_all(),
        )
        .unwrap();
        let mut store = Sink::Sqlite(Box::new(store));
        assert_eq!(
            runtime.block_on(store.write(&docs)).unwrap().stored["logs"],
            2000
        );
    }
}
