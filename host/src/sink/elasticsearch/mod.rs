//! `es:URL`: Elasticsearch through the official client. Documents carry
//! deterministic `_id`s and are sent with `create`, so a second run over the same
//! lines changes nothing (409 counts as already indexed).
//!
//! The pipeline's stages are synchronous; the client is async. The sink owns a
//! small runtime on its own thread and hands it batches, which works the same
//! from a plain thread and from inside `logpipe run`'s runtime.

pub mod config;
pub mod dead_letter;
pub mod error;
pub mod mappings;
pub mod retry;
pub mod service;

use super::{SinkError, WriteReport};
use crate::document::Document;
use config::EsConfig;
use error::EsError;
use service::EsService;
use std::sync::Arc;
use std::sync::mpsc;

type Job = (Vec<Document>, mpsc::Sender<Result<WriteReport, EsError>>);

/// The sink's runtime. A runtime cannot be dropped from async code (`logpipe run`
/// opens and drops sinks inside its own runtime, also when opening fails), so the
/// last handle hands it to a plain thread.
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl OwnedRuntime {
    fn get(&self) -> &tokio::runtime::Runtime {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            let _ = std::thread::spawn(move || drop(rt)).join();
        }
    }
}

/// The Elasticsearch sink.
pub struct EsSink {
    label: String,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EsSink {
    /// Connects and installs the mappings of `indices`.
    pub fn open(config: EsConfig, indices: &[String], line_index: &str) -> Result<Self, EsError> {
        let service = Arc::new(EsService::new(config)?.with_line_index(line_index));
        let runtime = Arc::new(OwnedRuntime(Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("logpipe-es")
                .enable_all()
                .build()
                .map_err(|e| EsError::Runtime(format!("runtime: {e}")))?,
        )));
        let label = format!("es:{}", service.label());
        {
            let (service, runtime) = (service.clone(), runtime.clone());
            let (indices, line_index) = (indices.to_vec(), line_index.to_string());
            std::thread::spawn(move || {
                runtime
                    .get()
                    .block_on(service.install_mappings(&indices, &line_index))
            })
            .join()
            .map_err(|_| EsError::Runtime("mapping installation panicked".into()))??;
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = {
            let (service, runtime) = (service.clone(), runtime.clone());
            std::thread::Builder::new()
                .name("logpipe-es-sink".into())
                .spawn(move || {
                    for (docs, reply) in rx {
                        let _ = reply.send(runtime.get().block_on(service.write(&docs)));
                    }
                })
                .map_err(|e| EsError::Runtime(format!("thread: {e}")))?
        };
        Ok(Self {
            label,
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    /// Indexes documents; returns once every one is stored, already present or dead-lettered.
    pub fn write(&mut self, docs: &[Document]) -> Result<WriteReport, SinkError> {
        let err = |e: EsError| SinkError {
            sink: self.label.clone(),
            failure: super::SinkFailure::Elasticsearch(e),
        };
        let (reply, answer) = mpsc::channel();
        self.jobs
            .as_ref()
            .expect("open until dropped")
            .send((docs.to_vec(), reply))
            .map_err(|_| err(EsError::Runtime("thread stopped".into())))?;
        answer
            .recv()
            .map_err(|_| err(EsError::Runtime("thread stopped".into())))?
            .map_err(err)
    }
}

impl Drop for EsSink {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Opens Elasticsearch at `address` for the given indices.
pub fn open(
    address: &crate::config::EsAddress,
    env: &crate::config::EsEnvironment,
    state_dir: &std::path::Path,
    indices: &[String],
    line_index: &str,
) -> Result<EsSink, EsError> {
    EsSink::open(EsConfig::new(address, env, state_dir), indices, line_index)
}
