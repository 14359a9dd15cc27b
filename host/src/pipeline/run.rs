//! Running the pipeline over a finite source: reader → workers → sinks.
//!
//! The reader assigns line ids in order and hands numbered batches to the worker
//! threads (one instance of every plugin each); the sinks receive the batches
//! back in their original order, so acknowledgements follow the source's order.
//! With one core, the same steps take turns on one thread (`one_thread`).

use super::plan::Plan;
use super::worker::{BatchOutput, Execution, Line, Worker};
use crate::document::TimestampConverter;
use crate::ids::{IdHasher, Ranker};
use crate::sink::{Sink, WriteReport};
use crate::source::FileSource;
use crate::source::file::Position;
use anyhow::Context;
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::runtime::Handle;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads.
    pub workers: usize,
    /// Lines per batch.
    pub batch_lines: usize,
    /// Source time zone.
    pub timestamps: TimestampConverter,
    /// Components (always, in production) or native reference logic (benchmarks).
    pub execution: Execution,
    /// Read, process and write on the calling thread, one batch after the
    /// other: on a single core the reader and sink threads would only add
    /// switches between them.
    pub one_thread: bool,
    /// Log the first plugin problems as warnings (benchmarks count them and
    /// say so once instead).
    pub log_problems: bool,
}

/// What a run did.
#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    /// Lines read.
    pub lines: u64,
    /// Lines kept by the filters.
    pub accepted: u64,
    /// What the sinks stored (of the first sink).
    pub written: WriteReport,
    /// Per-line problems reported by plugins (errors for one event).
    pub plugin_errors: BTreeMap<String, u64>,
    /// Per-line failures (trap, timeout, memory) by plugin.
    pub plugin_failures: BTreeMap<String, u64>,
    /// Lines a paused plugin (circuit breaker) was not called on, by plugin.
    pub plugin_skipped: BTreeMap<String, u64>,
}

/// Assigns ids to records in source order.
#[derive(Debug)]
pub struct IdAssigner {
    hasher: IdHasher,
    ranker: Ranker,
}

impl Default for IdAssigner {
    fn default() -> Self {
        Self {
            hasher: IdHasher::default(),
            ranker: Ranker::new(1 << 16),
        }
    }
}

impl IdAssigner {
    /// Gives each record its line id.
    pub fn assign(&mut self, records: Vec<crate::source::Record>) -> Vec<Line> {
        records
            .into_iter()
            .map(|record| {
                let key = self.hasher.key(&record);
                let rank = self.ranker.next_rank(key);
                Line {
                    id: self.hasher.id(key, rank),
                    record,
                }
            })
            .collect()
    }
}

/// Plugin problems logged one by one per summary; the rest are counted.
const MAX_LOGGED_PROBLEMS: u64 = 50;

impl RunSummary {
    /// Adds another summary (of a later poll) to this one.
    pub fn absorb(&mut self, other: RunSummary) {
        self.lines += other.lines;
        self.accepted += other.accepted;
        self.written.absorb(other.written);
        for (k, v) in other.plugin_errors {
            *self.plugin_errors.entry(k).or_default() += v;
        }
        for (k, v) in other.plugin_failures {
            *self.plugin_failures.entry(k).or_default() += v;
        }
        for (k, v) in other.plugin_skipped {
            *self.plugin_skipped.entry(k).or_default() += v;
        }
    }

    /// Counts a processed batch's filter decisions and plugin problems, logging
    /// the first problems with the line id, plugin name and version.
    pub fn absorb_batch(&mut self, output: &BatchOutput, log: bool) {
        self.lines += output.lines as u64;
        self.accepted += output.accepted as u64;
        for p in &output.problems {
            let map = if p.skipped {
                &mut self.plugin_skipped
            } else if p.failed {
                &mut self.plugin_failures
            } else {
                &mut self.plugin_errors
            };
            let count = map.entry(p.plugin.clone()).or_default();
            *count += 1;
            if log && *count <= MAX_LOGGED_PROBLEMS {
                tracing::warn!(line = %p.line, plugin = %p.plugin, version = %p.version, failed = p.failed, "plugin problem: {}", p.reason);
            }
        }
    }
}

/// Runs every line of `source` through `plan` into `sinks`, whose writes run
/// on `runtime`; `on_progress` is called after each write with the summary so
/// far and how far the source was read for what is written.
pub fn run_file(
    mut source: FileSource,
    plan: &Plan,
    sinks: &mut [Sink],
    runtime: &Handle,
    options: &RunOptions,
    on_progress: &mut dyn FnMut(&RunSummary, Position),
) -> anyhow::Result<RunSummary> {
    if options.one_thread {
        return run_file_on_this_thread(source, plan, sinks, runtime, options, on_progress);
    }
    let workers = options.workers.max(1);
    let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Vec<Line>, Position)>(workers * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::sync_channel::<anyhow::Result<(u64, BatchOutput, Position)>>(
        workers * 2 + DONE_BATCHES,
    );

    std::thread::scope(|scope| -> anyhow::Result<RunSummary> {
        let batch_lines = options.batch_lines.max(1);
        let reader_done = done_tx.clone();
        scope.spawn(move || {
            let mut ids = IdAssigner::default();
            let mut seq = 0u64;
            loop {
                match source.next_batch(batch_lines) {
                    Ok(records) if records.is_empty() => break,
                    Ok(records) => {
                        let lines = ids.assign(records);
                        if work_tx.send((seq, lines, source.position())).is_err() {
                            break;
                        }
                        seq += 1;
                    }
                    Err(e) => {
                        let _ = reader_done.send(Err(e.into()));
                        break;
                    }
                }
            }
        });
        for _ in 0..workers {
            let rx = work_rx.clone();
            let tx = done_tx.clone();
            let timestamps = options.timestamps.clone();
            scope.spawn(move || {
                let mut worker = match Worker::with_execution(plan, timestamps, options.execution) {
                    Ok(w) => w,
                    Err(e) => {
                        let _ = tx.send(Err(anyhow::Error::new(e).context("starting a worker")));
                        return;
                    }
                };
                loop {
                    let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((seq, lines, position)) = next else {
                        break;
                    };
                    if tx
                        .send(Ok((seq, worker.process(&lines), position)))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        drop(work_rx);

        let mut summary = RunSummary::default();
        let mut pending: BTreeMap<u64, (BatchOutput, Position)> = BTreeMap::new();
        let mut next = 0u64;
        let mut position = Position::default();
        while let Ok(result) = done_rx.recv() {
            let (seq, output, read) = result?;
            pending.insert(seq, (output, read));
            // Batches that finished while the sinks were writing go out
            // together: one write (one transaction in the embedded store)
            // instead of one each.
            while let Ok(result) = done_rx.try_recv() {
                let (seq, output, read) = result?;
                pending.insert(seq, (output, read));
            }
            let mut ready = Vec::new();
            let mut documents = 0;
            while let Some((output, read)) = pending.remove(&next) {
                next += 1;
                documents += output.documents.len();
                ready.push(output);
                position = read;
                if documents >= MAX_WRITE_DOCUMENTS {
                    documents = 0;
                    deliver_together(
                        std::mem::take(&mut ready),
                        sinks,
                        runtime,
                        &mut summary,
                        options.log_problems,
                    )?;
                    on_progress(&summary, position);
                }
            }
            if !ready.is_empty() {
                deliver_together(ready, sinks, runtime, &mut summary, options.log_problems)?;
                on_progress(&summary, position);
            }
        }
        Ok(summary)
    })
}

/// [`run_file`] without threads: each batch is read, processed and written
/// before the next is read.
fn run_file_on_this_thread(
    mut source: FileSource,
    plan: &Plan,
    sinks: &mut [Sink],
    runtime: &Handle,
    options: &RunOptions,
    on_progress: &mut dyn FnMut(&RunSummary, Position),
) -> anyhow::Result<RunSummary> {
    let mut worker = Worker::with_execution(plan, options.timestamps.clone(), options.execution)
        .context("starting a worker")?;
    let mut ids = IdAssigner::default();
    let mut summary = RunSummary::default();
    // Batches go together to sinks that prefer large writes, as the threaded
    // run's do when the sinks are the slower stage.
    let gather = if !sinks.iter().any(Sink::prefers_large_writes) {
        0
    } else if plan.store_only {
        ONE_THREAD_STORE_WRITE_DOCUMENTS
    } else {
        ONE_THREAD_WRITE_DOCUMENTS
    };
    let mut ready: Vec<BatchOutput> = Vec::new();
    let mut documents = 0;
    loop {
        let records = source.next_batch(options.batch_lines.max(1))?;
        let end = records.is_empty();
        if !end {
            let output = worker.process(&ids.assign(records));
            documents += output.documents.len();
            ready.push(output);
        }
        if end || documents >= gather {
            deliver_together(
                std::mem::take(&mut ready),
                sinks,
                runtime,
                &mut summary,
                options.log_problems,
            )?;
            documents = 0;
            on_progress(&summary, source.position());
        }
        if end {
            return Ok(summary);
        }
    }
}

/// Documents gathered on one thread before they are written to a sink that
/// prefers large writes: as many as a coalesced write of the threaded run
/// (half as many cost the store up to 5 % more, a transaction and a sync
/// each; twice as many, 50 MB more memory for nothing: BENCHMARKS.md).
const ONE_THREAD_WRITE_DOCUMENTS: usize = MAX_WRITE_DOCUMENTS;

/// [`ONE_THREAD_WRITE_DOCUMENTS`] when the embedded store is the only sink
/// ([`Plan::store_only`]): documents then hold their packed blocks, not
/// their text, so twice as many take less memory than the others do, for
/// half the transactions, each waiting on the disk for its syncs (about
/// 5 % of a one-core import of 100,000 lines; four times as many gained no
/// more: BENCHMARKS.md).
const ONE_THREAD_STORE_WRITE_DOCUMENTS: usize = 2 * MAX_WRITE_DOCUMENTS;

/// Batches that finished while the sinks write, beyond two per worker, that
/// can wait for the next write (a slow sink then gets fewer, larger writes).
const DONE_BATCHES: usize = 64;

/// Most documents in one coalesced write.
const MAX_WRITE_DOCUMENTS: usize = 16_384;

/// [`deliver`] for consecutive batches, their documents in one write.
fn deliver_together(
    outputs: Vec<BatchOutput>,
    sinks: &mut [Sink],
    runtime: &Handle,
    summary: &mut RunSummary,
    log: bool,
) -> anyhow::Result<()> {
    match outputs.as_slice() {
        [] => return Ok(()),
        [output] => return deliver(output, sinks, runtime, summary, log),
        _ => {}
    }
    let mut documents = Vec::with_capacity(outputs.iter().map(|o| o.documents.len()).sum());
    for output in outputs {
        summary.absorb_batch(&output, log);
        documents.extend(output.documents);
    }
    let written = crate::sink::wait(runtime, crate::sink::write_all(sinks, &documents))
        .context("writing documents")?;
    summary.written.absorb(written);
    Ok(())
}

/// Counts a processed batch and writes its documents to every sink, in order.
fn deliver(
    output: &BatchOutput,
    sinks: &mut [Sink],
    runtime: &Handle,
    summary: &mut RunSummary,
    log: bool,
) -> anyhow::Result<()> {
    summary.absorb_batch(output, log);
    let written = crate::sink::wait(runtime, crate::sink::write_all(sinks, &output.documents))
        .context("writing documents")?;
    summary.written.absorb(written);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::dir::DirSink;

    /// The same documents, in the same order, whatever the threads.
    #[test]
    fn one_thread_and_worker_threads_write_the_same_documents() {
        let plan = super::super::build::default_plan();
        let sample = super::super::build::SAMPLE;
        let tmp = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut written = Vec::new();
        for (name, one_thread, workers) in [("one", true, 1), ("threads", false, 3)] {
            let dir = tmp.path().join(name);
            let options = RunOptions {
                workers,
                // Small batches, so that the threaded run has several in flight.
                batch_lines: 16,
                timestamps: TimestampConverter::utc(),
                execution: Execution::Wasm,
                one_thread,
                log_problems: true,
            };
            let source = FileSource::open(sample.as_ref()).unwrap();
            let mut sinks = [Sink::Dir(DirSink::open(&dir).unwrap())];
            let summary = run_file(
                source,
                &plan,
                &mut sinks,
                runtime.handle(),
                &options,
                &mut |_, _| {},
            )
            .unwrap();
            assert_eq!(summary.lines, 309, "{name}");
            let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| {
                    let path = e.unwrap().path();
                    let name = path.file_name().unwrap().to_string_lossy().to_string();
                    (name, std::fs::read_to_string(&path).unwrap())
                })
                .collect();
            files.sort();
            written.push(files);
        }
        assert_eq!(written[0].len(), 3, "three indices");
        assert_eq!(written[0], written[1]);
    }
}
