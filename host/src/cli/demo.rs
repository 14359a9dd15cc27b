//! `logpipe demo`: the pipeline on simulated traffic, into the embedded store,
//! with no server to install.

use super::common::PipelineArgs;
use super::once::print_summary;
use crate::pipeline::run_file;
use crate::simulate::{Generator, Knobs};
use crate::sink::Sink;
use crate::sink::sqlite::{SqliteSink, trace};
use crate::source::FileSource;
use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Generates realistic API traffic (start-up, predictions with their performance
/// lines, health checks, GET calls, failed calls), runs it through the reference
/// plugins into the embedded store, prints what happened and traces one
/// prediction across the indices.
#[derive(Debug, Args)]
pub struct DemoCommand {
    /// Lines of traffic to generate.
    #[arg(long, default_value_t = 2000)]
    lines: usize,
    /// Random seed of the traffic.
    #[arg(long, default_value_t = 20251121)]
    seed: u64,
    /// The embedded store to write (default: a new one in a temporary directory).
    #[arg(long)]
    store: Option<PathBuf>,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

impl DemoCommand {
    /// Runs the demo.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let settings = self.pipeline.resolve()?;
        let dir = tempfile::Builder::new().prefix("logpipe-demo-").tempdir()?;
        let traffic = dir.path().join("traffic.log");
        let mut generator = Generator::new(
            Knobs {
                seed: self.seed,
                ..Knobs::default()
            },
            jiff::Timestamp::now().as_second() - 3600,
        );
        let mut file = std::io::BufWriter::new(std::fs::File::create(&traffic)?);
        let mut written = 0;
        while written < self.lines {
            for line in generator.next_event() {
                writeln!(file, "{line}")?;
                written += 1;
            }
        }
        file.flush()?;
        drop(file);

        let temporary = self.store.is_none();
        let store = self.store.unwrap_or_else(|| dir.path().join("store.db"));
        println!(
            "logpipe demo: {written} lines of simulated API traffic -> embedded store {}",
            store.display()
        );
        let engine = settings.engine()?;
        let plan = settings.plan(&engine)?;
        let mut sinks = [Sink::Sqlite(
            SqliteSink::open(&store).context("opening the store")?,
        )];
        let summary = run_file(
            FileSource::open(&traffic)?,
            &plan,
            &mut sinks,
            &settings.run,
        )?;
        print_summary(&summary);

        let conn = SqliteSink::open_read_only(&store)?;
        let tx: Option<String> = conn
            .query_row(
                "SELECT m.transaction_id FROM documents m JOIN documents p
                   ON p.transaction_id = m.transaction_id AND p.index_name = 'ml-api-perfs'
                 WHERE m.index_name = 'ml-api-message' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .ok();
        if let Some(tx) = tx {
            println!("\none transaction across the indices (logpipe trace {tx}):");
            for (index, id, source) in trace(&conn, &tx)? {
                let shown: String = source.chars().take(160).collect();
                println!("  {index:<15} {id}  {shown}…");
            }
        }
        if temporary {
            println!(
                "\n(the store was temporary; keep one with --store PATH and query it with sqlite3)"
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
