//! `logpipe store`: look at the embedded store.

use super::common::PipelineArgs;
use super::exit::ExitError;
use crate::sink::sqlite::{IndexStats, SqliteSink, stats};
use clap::{Args, Subcommand};
use std::path::Path;
use std::process::ExitCode;

/// The embedded store (`sqlite:` sink; by default `<state dir>/store.db`).
#[derive(Debug, Args)]
pub struct StoreCommand {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Documents per index, the time span they cover, and the size on disk.
    Stats(StatsArgs),
}

#[derive(Debug, Args)]
struct StatsArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// `text` (a table) or `json` (one object on stdout).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
}

impl StoreCommand {
    /// Runs the action.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self.action {
            Action::Stats(args) => args.execute(),
        }
    }
}

impl StatsArgs {
    fn execute(self) -> anyhow::Result<ExitCode> {
        let settings = self.pipeline.resolve()?;
        let path = settings
            .sinks
            .iter()
            .find_map(|s| s.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                ExitError::bad_input("no sqlite: sink configured: give --sink sqlite:PATH")
            })?;
        let path = Path::new(path);
        if !path.exists() {
            return Err(ExitError::bad_input(format!(
                "{}: no store there (it is made by `run`, `once` or `demo` with this sink)",
                path.display()
            ))
            .into());
        }
        let conn = SqliteSink::open_read_only(path)
            .map_err(|e| ExitError::bad_input(format!("{}: {e}", path.display())))?;
        let indices = stats(&conn).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        // The database and its write-ahead log, as they take room on disk.
        let bytes: u64 = ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                std::fs::metadata(p).ok().map(|m| m.len())
            })
            .sum();
        if self.format == "json" {
            let value = serde_json::json!({
                "path": path.display().to_string(),
                "bytes": bytes,
                "indices": indices.iter().map(|i| serde_json::json!({
                    "index": i.index,
                    "documents": i.documents,
                    "oldest": i.oldest,
                    "newest": i.newest,
                })).collect::<Vec<_>>(),
            });
            println!("{value}");
        } else {
            print_table(path, bytes, &indices);
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn print_table(path: &Path, bytes: u64, indices: &[IndexStats]) {
    println!(
        "{}: {:.1} MiB on disk",
        path.display(),
        bytes as f64 / (1 << 20) as f64
    );
    if indices.is_empty() {
        println!(
            "no documents yet: fill it with `logpipe run` or `logpipe once --sink sqlite:PATH`"
        );
        return;
    }
    println!(
        "{:<20} {:>12}  {:<20}  {:<20}",
        "index", "documents", "oldest", "newest"
    );
    for i in indices {
        println!(
            "{:<20} {:>12}  {:<20}  {:<20}",
            i.index,
            i.documents,
            i.oldest.as_deref().unwrap_or("-"),
            i.newest.as_deref().unwrap_or("-")
        );
    }
}
