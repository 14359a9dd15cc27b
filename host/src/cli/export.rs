//! `logpipe export parquet`: predictions for drift analysis.

use super::common::StorageArgs;
use super::exit::ExitError;
use super::progress::Progress;
use crate::config::StoredSpec;
use crate::es::EsClient;
use crate::export::parquet::PredictionWriter;
use crate::export::read::{MessageReader, Range, parse_time};
use crate::export::rows::type_row;
use crate::store::StoreReader;
use crate::store::reader::Cursor;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Export indexed documents.
#[derive(Debug, Args)]
pub struct ExportCommand {
    #[command(subcommand)]
    format: ExportFormat,
}

#[derive(Debug, Subcommand)]
enum ExportFormat {
    /// Writes the predictions of `ml-api-message` to a Parquet file: `@timestamp`,
    /// `transaction_id`, `status_code`, one typed column per patient feature under
    /// its training name (`GENDER`, `AGE`, … `CHEST PAIN`), `prediction`,
    /// `probability`. Reads page by page and writes a row group per page, so
    /// memory stays bounded. Rows that cannot be typed are counted and reported.
    Parquet(ParquetArgs),
}

#[derive(Debug, Args)]
struct ParquetArgs {
    /// The Parquet file to write.
    #[arg(long)]
    out: PathBuf,
    /// Only documents at or after this time (RFC 3339, or YYYY-MM-DD).
    #[arg(long)]
    since: Option<String>,
    /// Only documents before this time (RFC 3339, or YYYY-MM-DD).
    #[arg(long)]
    until: Option<String>,
    /// Include calls without a prediction (failed calls), with empty prediction columns.
    #[arg(long)]
    all: bool,
    /// The index to read.
    #[arg(long, default_value = "ml-api-message")]
    index: String,
    #[command(flatten)]
    pipeline: StorageArgs,
}

impl ExportCommand {
    /// Runs the export.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let ExportFormat::Parquet(args) = self.format;
        let settings = args.pipeline.resolve()?;
        let range = Range {
            since: args
                .since
                .as_deref()
                .map(parse_time)
                .transpose()
                .map_err(|e| ExitError::bad_input(e.to_string()))?,
            until: args
                .until
                .as_deref()
                .map(parse_time)
                .transpose()
                .map_err(|e| ExitError::bad_input(e.to_string()))?,
        };
        let ranged = range.since.is_some() || range.until.is_some();
        let sink = settings.stored().ok_or_else(|| {
            ExitError::bad_input("export reads an sqlite: or es: sink; none is configured")
        })?;
        let mut reader = match &sink {
            StoredSpec::Sqlite(path) => MessageReader::Sqlite {
                store: StoreReader::open(path)
                    .map_err(|e| ExitError::bad_input(super::exit::chain(&e)))?,
                index: args.index.clone(),
                range: range.millis(),
                cursor: Cursor::Start,
            },
            StoredSpec::Es(address) => {
                let config = crate::pipeline::open::es_config(&settings, address);
                MessageReader::Es {
                    service: Box::new(EsClient::connect(&config)?),
                    runtime: super::runtime()?,
                    index: args.index.clone(),
                    range,
                    scroll: None,
                    done: false,
                }
            }
        };
        let mut writer = PredictionWriter::create(&args.out)?;
        let mut progress = Progress::new("export", "rows", None);
        let (mut read, mut written, mut skipped) = (0u64, 0u64, 0u64);
        let mut untypable: Vec<String> = Vec::new();
        loop {
            let page = reader.next_page()?;
            if page.is_empty() {
                break;
            }
            read += page.len() as u64;
            let mut rows = Vec::with_capacity(page.len());
            for doc in &page {
                match type_row(doc, args.all) {
                    Ok(Some(row)) => rows.push(row),
                    Ok(None) => skipped += 1,
                    Err(why) => {
                        let tx = doc["transaction_id"].as_str().unwrap_or("?");
                        untypable.push(format!("{tx}: {}", why.0));
                    }
                }
            }
            written += rows.len() as u64;
            writer.write(&rows)?;
            progress.update(written, read);
        }
        writer.close()?;
        progress.finish();
        println!("{written} rows written to {}", args.out.display());
        println!("{read} documents read from {} in {sink}", args.index);
        if read == 0 {
            eprintln!(
                "warning: {sink} has no {} documents{}: fill it with `logpipe run` or `logpipe once --sink {sink}`",
                args.index,
                if ranged { " in the time range" } else { "" }
            );
        }
        if skipped > 0 {
            println!("{skipped} without a prediction left out (use --all to include them)");
        }
        if !untypable.is_empty() {
            println!("{} could not be typed and were left out:", untypable.len());
            for u in untypable.iter().take(20) {
                println!("  {u}");
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
