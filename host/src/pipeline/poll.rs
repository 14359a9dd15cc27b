//! One poll of a window source through the pipeline: collect what is new,
//! process it, write it, and only then remember it in the checkpoint.

use super::collect::{Collector, Gap};
use super::run::RunSummary;
use super::worker::{Line, Worker};
use crate::ids::{Checkpoint, CheckpointError, Seen, WindowTracker};
use crate::sink::Sink;
use crate::source::error::SourceError;
use anyhow::Context;

/// A window source with its delivered-lines memory.
pub struct WindowSource {
    collector: Collector,
    tracker: WindowTracker,
    checkpoint: Checkpoint,
    /// The last poll found the window empty (cleared, or the API's store down).
    empty: bool,
}

/// What one poll did.
#[derive(Debug, Default)]
pub struct PollReport {
    /// The pipeline's figures for the new lines.
    pub summary: RunSummary,
    /// Pages requested.
    pub requests: u32,
    /// A detected gap.
    pub gap: Option<Gap>,
    /// Entries read again and recognised as already delivered.
    pub duplicates: u64,
    /// The newest messages, for smoke runs of reloaded plugins.
    pub recent_messages: Vec<String>,
    /// Time spent writing to the sinks.
    pub write_time: std::time::Duration,
    /// The lines were written but the checkpoint could not be saved: they are
    /// remembered in memory (not sent again by this process) and the save is
    /// tried again at the next poll. Not a failed poll.
    pub checkpoint_error: Option<CheckpointError>,
}

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The source failed; nothing was delivered, the poll can be retried.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Processing or writing failed; nothing was remembered, the lines come again.
    #[error(transparent)]
    Pipeline(#[from] anyhow::Error),
}

impl WindowSource {
    /// A source resuming from its checkpoint.
    pub fn open(collector: Collector, checkpoint: Checkpoint) -> anyhow::Result<Self> {
        let tracker = checkpoint.load()?;
        Ok(Self {
            collector,
            tracker,
            checkpoint,
            empty: false,
        })
    }

    /// Lines remembered from earlier polls.
    pub fn remembered(&self) -> usize {
        self.tracker.len()
    }

    /// Polls, processes and writes; remembers the lines once written.
    pub async fn poll(
        &mut self,
        worker: &mut Worker,
        sinks: &mut [Sink],
        batch_lines: usize,
    ) -> Result<PollReport, PollError> {
        let poll = self.collector.poll(&self.tracker).await?;
        // The API answers an empty window both when its log was cleared and when
        // its store is down (docs/source-api.md §2.1): say it once, when it starts.
        let empty = poll.read == 0;
        if empty && !self.empty && !self.tracker.is_empty() {
            tracing::warn!(
                window_total = poll.window_total,
                "the window is empty although lines were delivered before: it was cleared, or the API's log store is down"
            );
        }
        self.empty = empty;
        if let Some(gap) = poll.gap {
            tracing::warn!(
                window_entries = gap.window_entries,
                remembered = gap.remembered,
                window_total = poll.window_total,
                "gap: nothing in the window continues what was delivered; lines may have fallen out of the window before collection (or it was cleared)"
            );
        }
        let mut seen: Vec<Seen> = Vec::with_capacity(poll.lines.len());
        let lines: Vec<Line> = poll
            .lines
            .into_iter()
            .map(|(id, s, record)| {
                seen.push(s);
                Line { id, record }
            })
            .collect();
        let mut report = PollReport {
            requests: poll.requests,
            gap: poll.gap,
            duplicates: (poll.read - lines.len()) as u64,
            // The whole poll (at most a window): smoke runs keep the last
            // lines of each shape.
            recent_messages: lines
                .iter()
                .rev()
                .take(1000)
                .map(|l| l.record.message().to_string())
                .collect(),
            ..PollReport::default()
        };
        // The workers' plugins and the local sinks take this thread: the
        // runtime's other tasks move to its other threads meanwhile.
        let runtime = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| -> anyhow::Result<()> {
            for batch in lines.chunks(batch_lines.max(1)) {
                let output = worker.process(batch);
                report.summary.absorb_batch(&output, true);
                let started = std::time::Instant::now();
                let written = runtime
                    .block_on(crate::sink::write_all(sinks, &output.documents))
                    .context("writing documents")?;
                report.summary.written.absorb(written);
                report.write_time += started.elapsed();
            }
            Ok(())
        })?;
        self.tracker.remember(seen);
        report.checkpoint_error = self.save_checkpoint().err();
        Ok(report)
    }

    /// Saves what was delivered (also at shutdown, after failed saves).
    pub fn save_checkpoint(&self) -> Result<(), CheckpointError> {
        self.checkpoint.save(&self.tracker)
    }
}
