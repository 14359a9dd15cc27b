//! `logpipe dashboard`: the monitoring pages over the embedded store.

use super::common::StorageArgs;
use super::exit::ExitError;
use crate::dashboard::server::{self, Dashboard};
use crate::drift::dataset::Dataset;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Serves monitoring pages over the embedded store until SIGINT: predictions
/// (calls, errors, positive share, probability and feature distributions),
/// drift (Evidently's verdicts for the range against --reference, stored
/// verdicts over time), performance (latency, inference and CPU time
/// percentiles, memory, function calls, most expensive functions) and traces;
/// with a time-range picker and auto-refresh. The page is a thin client of
/// `/api/...` (JSON). Listens on loopback by default: the pages show what the
/// logs hold, so put them behind your own access control before listening
/// elsewhere. The pipeline page needs a running pipeline: `logpipe run
/// --dashboard-listen ADDR` or `logpipe demo --dashboard`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DashboardCommand {
    #[command(subcommand)]
    export: Option<Export>,
    /// The store: sqlite:PATH (default: the first sqlite: sink of the configuration).
    #[arg(long, value_name = "sqlite:PATH")]
    store: Option<String>,
    /// Address to listen on (loopback by default; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The drift reference: FILE.parquet, sqlite:PATH or es:URL (default: the
    /// configuration's `[drift] reference`).
    #[arg(long)]
    reference: Option<String>,
    #[command(flatten)]
    pipeline: StorageArgs,
}

/// Exports of the panels for other tools.
#[derive(Debug, clap::Subcommand)]
enum Export {
    /// Writes the panels as a Grafana dashboard (Grafana 10 and 11, schema 39)
    /// over one Elasticsearch data source with index pattern `ml-api-*` and
    /// time field `@timestamp`; import it with Dashboards → Import.
    Export {
        /// The dashboard JSON to write.
        #[arg(long, value_name = "FILE")]
        grafana: PathBuf,
    },
}

impl DashboardCommand {
    /// Serves until SIGINT, or writes an export.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        if let Some(Export::Export { grafana }) = &self.export {
            let text = serde_json::to_string_pretty(&crate::dashboard::grafana::dashboard())?;
            std::fs::write(grafana, text + "\n")
                .with_context(|| format!("writing {}", grafana.display()))?;
            println!("Grafana dashboard written to {}", grafana.display());
            return Ok(ExitCode::SUCCESS);
        }
        let settings = self.pipeline.resolve()?;
        let spec = match &self.store {
            Some(s) => s.clone(),
            None => settings
                .sinks
                .iter()
                .find(|s| s.starts_with("sqlite:"))
                .cloned()
                .ok_or_else(|| {
                    ExitError::bad_input(
                        "no store: give --store sqlite:PATH (the dashboard reads the embedded store)",
                    )
                })?,
        };
        let Some(path) = spec.strip_prefix("sqlite:") else {
            return Err(ExitError::bad_input(format!(
                "--store {spec}: the dashboard reads the embedded store (sqlite:PATH); Elasticsearch users can use Kibana"
            ))
            .into());
        };
        let path = PathBuf::from(path);
        // Opened once now, so that a wrong path is said at start, not on the page.
        crate::store::StoreReader::open(&path).map_err(|e| {
            ExitError::bad_input(format!("--store {spec}: {}", super::exit::chain(&e)))
        })?;
        let reference = reference(self.reference.as_deref(), settings.drift.as_ref())?;
        super::runtime()?.block_on(async {
            let addr = server::serve(
                self.listen,
                Dashboard {
                    store: path,
                    reference,
                    pipeline: None,
                },
            )
            .await
            .with_context(|| format!("listening on {}", self.listen))?;
            println!("dashboard on http://{addr}/ (store {spec}); Ctrl-C stops it");
            tokio::signal::ctrl_c().await.ok();
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// The drift reference from a flag, else from `[drift]`; none if neither.
pub fn reference(
    flag: Option<&str>,
    drift: Option<&super::common::DriftSettings>,
) -> anyhow::Result<Option<Arc<Dataset>>> {
    let (spec, range, names) = match (flag, drift) {
        (Some(spec), _) => (spec.to_string(), None, ("--reference", "--reference-range")),
        (None, Some(d)) => (
            d.reference.clone(),
            d.reference_range.clone(),
            ("drift.reference", "drift.reference_range"),
        ),
        (None, None) => return Ok(None),
    };
    let dataset = super::drift::read_side(names, &spec, range.as_deref(), "ml-api-message")?;
    Ok(Some(Arc::new(dataset)))
}
