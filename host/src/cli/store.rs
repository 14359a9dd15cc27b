//! `logpipe store`: look at the embedded store.

use super::common::StorageArgs;
use super::exit::ExitError;
use crate::store::StoreError;
use crate::store::retention::{self, Pruned};
use crate::store::{IndexStats, StoreReader};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
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
    /// Runs an SQL query on the store (read-only) and prints its rows, one per
    /// line, columns separated by tabs. `source(seq)` gives a document's JSON:
    /// `logpipe store sql "SELECT source(seq) FROM documents WHERE transaction_id = 'T'"`.
    Sql(SqlArgs),
    /// Applies the retention settings now (`run` does it in the background)
    /// and prints what was deleted.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
struct SqlArgs {
    /// The query (one statement).
    query: String,
    #[command(flatten)]
    pipeline: StorageArgs,
}

#[derive(Debug, Args)]
struct PruneArgs {
    #[command(flatten)]
    pipeline: StorageArgs,
}

#[derive(Debug, Args)]
struct StatsArgs {
    #[command(flatten)]
    pipeline: StorageArgs,
    /// `text` (a table) or `json` (one object on stdout).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
}

impl StoreCommand {
    /// Runs the action.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self.action {
            Action::Stats(args) => args.execute(),
            Action::Sql(args) => args.execute(),
            Action::Prune(args) => args.execute(),
        }
    }
}

/// The first `sqlite:` sink of the settings.
fn store_path(pipeline: StorageArgs) -> anyhow::Result<(PathBuf, crate::config::Config)> {
    let settings = pipeline.resolve()?;
    let path = settings
        .sinks
        .iter()
        .find_map(|s| match s {
            crate::config::SinkSpec::Sqlite(path) => Some(path.clone()),
            _ => None,
        })
        .ok_or_else(|| {
            ExitError::bad_input("no sqlite: sink configured: give --sink sqlite:PATH")
        })?;
    Ok((path, settings))
}

/// Opens the store read-only; a missing or foreign store is bad input.
fn open(path: &Path) -> anyhow::Result<StoreReader> {
    StoreReader::open(path).map_err(|e| match e {
        StoreError::Missing { .. } | StoreError::Schema { .. } => {
            ExitError::bad_input(super::exit::chain(&e)).into()
        }
        e => anyhow::Error::new(e),
    })
}

impl StatsArgs {
    fn execute(self) -> anyhow::Result<ExitCode> {
        let (path, _) = store_path(self.pipeline)?;
        let path = path.as_path();
        let indices = open(path)?.stats()?;
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

impl SqlArgs {
    fn execute(self) -> anyhow::Result<ExitCode> {
        let (path, _) = store_path(self.pipeline)?;
        let reader = open(&path)?;
        let conn = crate::store::reader::open_read_only(&path)?;
        reader.load_documents_into(&conn, Default::default(), None)?;
        reader.install_source_function(&conn)?;
        let mut stmt = conn
            .prepare(&self.query)
            .map_err(|e| ExitError::bad_input(format!("the query: {e}")))?;
        let columns = stmt.column_count();
        let mut rows = stmt.query([])?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        while let Some(row) = rows.next()? {
            let mut line = String::new();
            for i in 0..columns {
                if i > 0 {
                    line.push('\t');
                }
                match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => {}
                    rusqlite::types::ValueRef::Integer(n) => line.push_str(&n.to_string()),
                    rusqlite::types::ValueRef::Real(x) => line.push_str(&x.to_string()),
                    rusqlite::types::ValueRef::Text(t) => {
                        line.push_str(&String::from_utf8_lossy(t))
                    }
                    rusqlite::types::ValueRef::Blob(b) => {
                        line.push_str(&format!("<{} bytes>", b.len()))
                    }
                }
            }
            line.push('\n');
            if std::io::Write::write_all(&mut out, line.as_bytes()).is_err() {
                break; // a closed pipe (`| head`) ends the output
            }
        }
        let _ = std::io::Write::flush(&mut out);
        Ok(ExitCode::SUCCESS)
    }
}

impl PruneArgs {
    fn execute(self) -> anyhow::Result<ExitCode> {
        let (path, settings) = store_path(self.pipeline)?;
        drop(open(&path)?);
        let mut conn = crate::store::writer::connect(&path)?;
        let before = retention::live_bytes(&conn)?;
        let Pruned { by_age, by_size } =
            retention::prune(&mut conn, &settings.retention, &|| false)?;
        let after = retention::live_bytes(&conn)?;
        println!(
            "{}: {by_age} documents deleted for their age, {by_size} for the size; {:.1} MiB -> {:.1} MiB",
            path.display(),
            before as f64 / (1 << 20) as f64,
            after as f64 / (1 << 20) as f64
        );
        Ok(ExitCode::SUCCESS)
    }
}
