//! `logpipe once`: one collect-filter-parse-index cycle, then exit.

use super::common::PipelineArgs;
use super::exit::{self, ExitError};
use super::progress::Progress;
use crate::config::SourceSpec;
use crate::pipeline::{RunSummary, Worker, run_file};
use crate::source::FileSource;
use anyhow::Context;
use clap::Args;
use std::process::ExitCode;

/// Runs one cycle. With `--source file:PATH` it replays or backfills a file.
#[derive(Debug, Args)]
pub struct OnceCommand {
    #[command(flatten)]
    pipeline: PipelineArgs,
}

impl OnceCommand {
    /// Runs the cycle and prints a summary; exit status 1 if anything failed.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let settings = self.pipeline.resolve()?;
        let source = settings.source.clone().ok_or_else(|| {
            ExitError::bad_input(
                "no source: give --source, GRADIO_URL or `source` in the configuration",
            )
        })?;
        let engine = crate::pipeline::open::config_engine(&settings)?;
        let mut plan = crate::pipeline::open::plan(&settings, &engine)?;
        // Sinks open and write on it (Elasticsearch's client is async), and
        // window sources poll on it.
        let runtime = super::runtime()?;
        let mut sinks = runtime.block_on(crate::pipeline::open::sinks(&settings, &plan, true))?;
        plan.prepare_for(&sinks);
        let mut checkpoint_failed = false;
        let summary = if let SourceSpec::File(path) = &source {
            let file = FileSource::open(path)
                .map_err(|e| ExitError::bad_input(crate::chain::chain(&e)))?;
            let mut progress = Progress::new("once", "lines", file.position().total);
            let summary = run_file(
                file,
                &plan,
                &mut sinks,
                runtime.handle(),
                &crate::pipeline::open::run_options(&settings),
                &mut |s, at| progress.update(s.lines, at.done),
            )?;
            progress.finish();
            summary
        } else {
            let _state_lock = crate::ids::StateLock::acquire(&settings.state_dir)
                .map_err(|e| ExitError::bad_input(crate::chain::chain(&e)))?;
            let mut window = crate::pipeline::open::window_source(&settings, &source)?
                .expect("a source other than a file is a window");
            let mut worker = Worker::new(&plan, settings.timestamps.clone())?;
            let report = runtime
                .block_on(window.poll(&mut worker, &mut sinks, settings.batch_lines))
                .with_context(|| format!("polling {source}"))?;
            if let Some(e) = &report.checkpoint_error {
                // The lines are written: the next cycle sends them again,
                // which the sinks that keep one document per `_id` absorb.
                eprintln!(
                    "error: the lines were written but the checkpoint was not: {}",
                    exit::chain(e)
                );
                checkpoint_failed = true;
            }
            if let Some(gap) = report.gap {
                println!(
                    "gap: none of the {} lines in the window continue the {} remembered: lines may have been lost before collection",
                    gap.window_entries, gap.remembered
                );
            }
            report.summary
        };
        print_summary(&summary);
        let failed = checkpoint_failed
            || !summary.plugin_failures.is_empty()
            || !summary.plugin_skipped.is_empty()
            || summary.written.dead_letters > 0;
        Ok(ExitCode::from(if failed {
            exit::FAILURE
        } else {
            exit::OK
        }))
    }
}

/// Prints a run's summary on stdout.
pub fn print_summary(s: &RunSummary) {
    println!("lines: {}  kept by filters: {}", s.lines, s.accepted);
    for (index, n) in &s.written.stored {
        println!("  {index}: {n} stored");
    }
    if s.written.already_present > 0 {
        println!("  already present (replay): {}", s.written.already_present);
    }
    if s.written.dead_letters > 0 {
        println!("  dead letters: {}", s.written.dead_letters);
    }
    for (plugin, n) in &s.plugin_errors {
        println!("  plugin {plugin}: {n} line(s) it could not handle (kept in the line index)");
    }
    for (plugin, n) in &s.plugin_failures {
        println!(
            "  plugin {plugin}: {n} line(s) failed (trap, timeout, memory or an answer over its caps)"
        );
    }
    for (plugin, n) in &s.plugin_skipped {
        println!(
            "  plugin {plugin}: {n} line(s) skipped, the plugin paused after failing too often in a row (kept in the line index)"
        );
    }
}
