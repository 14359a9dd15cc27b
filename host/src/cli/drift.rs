//! `logpipe drift`: one drift report between a reference and a current side.

use super::exit::{self, ExitError};
use crate::config::{DatasetSpec, Environment, EsAddress, EsEnvironment, StoredSpec};
use crate::drift::dataset::Dataset;
use crate::drift::html::value_text;
use crate::drift::report::{self, Options, Report};
use crate::drift::rows::RowCounter;
use crate::drift::select::Test;
use crate::drift::{html, parquet, store};
use crate::es::{EsClient, EsConfig};
use crate::export::read::{MessageReader, Range};
use crate::export::rows::type_row;
use crate::store::StoreReader;
use clap::{Args, ValueEnum};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Compares the model's inputs and outputs between a reference (usually the
/// training set) and a current side, column by column, with the tests and
/// thresholds of Evidently's DataDriftPreset (evidently 0.7): the column's
/// kind is inferred from the current side (floats numerical; integers
/// categorical up to 10 distinct values); with at most 1,000 reference
/// values, K-S (numerical), Z (two values) or chi-square (more values),
/// drifting at p < 0.05; with more, normalised Wasserstein (numerical) or
/// Jensen-Shannon distance, drifting at >= 0.1. The dataset drifts when at
/// least half the tested columns drift.
///
/// Columns: the 15 features under their training names (GENDER, AGE, ...
/// CHEST PAIN), `prediction` and `probability`. A column missing from a side,
/// or without values, is reported and not tested.
///
/// Exit status 0 whatever the verdict (4 with --fail-on-drift when the dataset
/// drifted), 2 for bad input (a missing file, an empty side).
#[derive(Debug, Args)]
pub struct DriftCommand {
    /// The reference: FILE.parquet (`export parquet`'s columns, or a training
    /// set with the same names), sqlite:PATH or es:URL.
    #[arg(long)]
    reference: DatasetSpec,
    /// The current side, spelled as --reference.
    #[arg(long)]
    current: DatasetSpec,
    /// Time range of the reference in a store or Elasticsearch: `FROM..TO`
    /// (RFC 3339 times or YYYY-MM-DD dates, either end may be left out; TO
    /// excluded) or `last:DURATION` (e.g. last:24h, last:7d).
    #[arg(long, value_name = "RANGE")]
    reference_range: Option<Range>,
    /// Time range of the current side, as --reference-range.
    #[arg(long, value_name = "RANGE")]
    current_range: Option<Range>,
    /// The index read from a store or Elasticsearch.
    #[arg(long, default_value = "ml-api-message")]
    index: String,
    /// A test instead of the default: TEST for every column, or COLUMN=TEST
    /// (repeatable). Tests: ks, z, chisquare, wasserstein, jensenshannon, psi.
    #[arg(long = "test", value_name = "[COLUMN=]TEST")]
    tests: Vec<String>,
    /// A threshold instead of the test's default: VALUE for every column, or
    /// COLUMN=VALUE (repeatable).
    #[arg(long = "threshold", value_name = "[COLUMN=]VALUE")]
    thresholds: Vec<String>,
    /// Share of drifted columns from which the dataset drifts.
    #[arg(long, default_value_t = report::DEFAULT_DRIFT_SHARE)]
    drift_share: f64,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write a self-contained HTML report (distributions side by side).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Exit with status 4 when the dataset drifted (for cron jobs and CI).
    #[arg(long)]
    fail_on_drift: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table for people.
    Table,
    /// One JSON object.
    Json,
}

impl DriftCommand {
    /// Reads both sides, compares them and prints the report.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let options = self.options()?;
        let es = Environment::read()?.elasticsearch;
        let started = std::time::Instant::now();
        let reference = read_side(
            ("--reference", "--reference-range"),
            &self.reference,
            self.reference_range.as_ref(),
            &self.index,
            &es,
        )?;
        let current = read_side(
            ("--current", "--current-range"),
            &self.current,
            self.current_range.as_ref(),
            &self.index,
            &es,
        )?;
        let read = started.elapsed();
        let started = std::time::Instant::now();
        let report = report::compare(&reference, &current, &options).map_err(|e| {
            let bad = matches!(
                e,
                crate::drift::DriftError::Empty { .. }
                    | crate::drift::DriftError::NoColumns { .. }
                    | crate::drift::DriftError::TestKind { .. }
            );
            if bad {
                anyhow::Error::new(ExitError::bad_input(e.to_string()))
            } else {
                anyhow::Error::new(e)
            }
        })?;
        tracing::debug!(
            reference_rows = reference.rows,
            current_rows = current.rows,
            read_ms = read.as_secs_f64() * 1e3,
            compare_ms = started.elapsed().as_secs_f64() * 1e3,
            "drift computed"
        );
        match self.format {
            Format::Json => println!("{}", serde_json::to_string(&report)?),
            Format::Table => print_table(&report),
        }
        if let Some(path) = &self.html {
            let title = format!("Drift: {} against {}", self.current, self.reference);
            std::fs::write(path, html::render(&report, &reference, &current, &title))
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            eprintln!("HTML report written to {}", path.display());
        }
        if self.fail_on_drift && report.dataset_drift {
            return Ok(ExitCode::from(exit::DRIFTED));
        }
        Ok(ExitCode::from(exit::OK))
    }

    fn options(&self) -> Result<Options, ExitError> {
        let mut options = Options {
            drift_share: self.drift_share,
            ..Options::default()
        };
        if !(0.0..=1.0).contains(&self.drift_share) {
            return Err(ExitError::bad_input(format!(
                "--drift-share {}: a share is between 0 and 1",
                self.drift_share
            )));
        }
        let columns: Vec<&str> = crate::drift::dataset::model_columns().collect();
        let split = |flag: &str, text: &str| -> Result<(Option<String>, String), ExitError> {
            match text.rsplit_once('=') {
                Some((column, value)) => {
                    if !columns.contains(&column) {
                        return Err(ExitError::bad_input(format!(
                            "{flag} {text}: `{column}` is not a model column; the columns are {}",
                            columns.join(", ")
                        )));
                    }
                    Ok((Some(column.to_string()), value.to_string()))
                }
                None => Ok((None, text.to_string())),
            }
        };
        for text in &self.tests {
            let (column, name) = split("--test", text)?;
            let test: Test = name
                .parse()
                .map_err(|e| ExitError::bad_input(format!("--test {text}: {e}")))?;
            match column {
                Some(c) => {
                    options.column_tests.insert(c, test);
                }
                None => options.test = Some(test),
            }
        }
        let mut thresholds = BTreeMap::new();
        for text in &self.thresholds {
            let (column, value) = split("--threshold", text)?;
            let value: f64 = value
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    ExitError::bad_input(format!("--threshold {text}: `{value}` is not a number"))
                })?;
            match column {
                Some(c) => {
                    thresholds.insert(c, value);
                }
                None => options.threshold = Some(value),
            }
        }
        options.column_thresholds = thresholds;
        Ok(options)
    }
}

/// Reads one side; errors name it as `side` and its range as `range_name`.
pub fn read_side(
    (side, range_name): (&str, &str),
    spec: &DatasetSpec,
    range: Option<&Range>,
    index: &str,
    es: &EsEnvironment,
) -> anyhow::Result<Dataset> {
    let bad = |e: &(dyn std::error::Error + 'static)| {
        ExitError::bad_input(format!("{side} {}", exit::chain(e)))
    };
    let range = range.cloned();
    match spec {
        DatasetSpec::Stored(StoredSpec::Sqlite(path)) => {
            let reader = StoreReader::open(path).map_err(|e| bad(&e))?;
            let millis = range.unwrap_or_default().millis();
            Ok(store::read(&reader, index, millis)?)
        }
        DatasetSpec::Stored(StoredSpec::Es(address)) => {
            read_elasticsearch(address, es, range.unwrap_or_default(), index)
        }
        DatasetSpec::Parquet(path) => {
            if range.is_some() {
                return Err(ExitError::bad_input(format!(
                    "{range_name} applies to a store or Elasticsearch, not to the file {}",
                    path.display()
                ))
                .into());
            }
            if !path.exists() {
                return Err(ExitError::bad_input(format!(
                    "{side} {spec}: no such file (expected FILE.parquet, sqlite:PATH or es:URL)"
                ))
                .into());
            }
            parquet::read(path).map_err(|e| bad(&e).into())
        }
    }
}

/// Reads the predictions of `index` from Elasticsearch page by page.
fn read_elasticsearch(
    address: &EsAddress,
    es: &EsEnvironment,
    range: Range,
    index: &str,
) -> anyhow::Result<Dataset> {
    // Reading sends nothing to the dead-letter file this names.
    let config = EsConfig::new(address, es, &std::env::temp_dir());
    let mut reader = MessageReader::Es {
        service: Box::new(EsClient::connect(&config)?),
        runtime: super::runtime()?,
        index: index.to_string(),
        range,
        scroll: None,
        done: false,
    };
    let mut counter = RowCounter::default();
    loop {
        let page = reader.next_page()?;
        if page.is_empty() {
            break;
        }
        for doc in &page {
            // Documents that cannot be typed are left out, as `export` does.
            if let Ok(Some(row)) = type_row(doc, false) {
                counter.add(&row);
            }
        }
    }
    Ok(counter.finish())
}

/// The report as a table; drifted rows in red at a terminal.
pub fn print_table(report: &Report) {
    let colour = std::io::stdout().is_terminal() && !crate::config::environment::no_color();
    let width = report
        .columns
        .iter()
        .map(|c| c.column.len())
        .chain([6])
        .max()
        .unwrap_or(6);
    println!(
        "{:width$}  {:11}  {:13}  {:>12}  {:>9}  {:7}  {:>15}",
        "column", "kind", "test", "value", "threshold", "drifted", "missing ref/cur"
    );
    for c in &report.columns {
        let line = format!(
            "{:width$}  {:11}  {:13}  {:>12}  {:>9}  {:7}  {:>15}",
            c.column,
            c.kind,
            c.test,
            c.value.map_or_else(|| "n/a".to_string(), value_text),
            c.threshold,
            if c.drifted { "YES" } else { "no" },
            format!("{}/{}", c.reference_missing, c.current_missing),
        );
        if c.drifted && colour {
            println!("\x1b[1;31m{line}\x1b[0m");
        } else {
            println!("{line}");
        }
    }
    for u in &report.untested {
        println!("{:width$}  not tested: {}", u.column, u.reason);
    }
    println!(
        "\n{}: {} of {} columns drifted (share {:.3}, threshold {}); reference {} rows, current {} rows",
        if report.dataset_drift {
            "DATASET DRIFT"
        } else {
            "no dataset drift"
        },
        report.drifted_columns,
        report.columns.len(),
        report.share_of_drifted_columns,
        report.drift_share,
        report.reference_rows,
        report.current_rows,
    );
}
