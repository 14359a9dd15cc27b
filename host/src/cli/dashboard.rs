//! `logpipe dashboard`: the monitoring pages over the embedded store or
//! Elasticsearch.

use super::common::StorageArgs;
use super::exit::ExitError;
use crate::config::{DatasetSpec, StoredSpec};
use crate::dashboard::search_panels::{Indices, SearchPanels};
use crate::dashboard::server::{self, Backend, Dashboard};
use crate::drift::dataset::Dataset;
use crate::es::EsClient;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Serves monitoring pages over the embedded store or Elasticsearch until SIGINT: predictions
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
    /// What to read: sqlite:PATH, or es:URL (the same spelling and credentials
    /// as the sink; aggregations only) [default: the first sqlite: or es: sink of
    /// the configuration or --sink].
    #[arg(long, value_name = "sqlite:PATH|es:URL")]
    store: Option<StoredSpec>,
    /// Address to listen on (loopback by default; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The drift reference: FILE.parquet, sqlite:PATH or es:URL (default: the
    /// configuration's `[drift] reference`).
    #[arg(long)]
    reference: Option<DatasetSpec>,
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
        let (spec, backend) = backend(&settings, self.store.as_ref())?;
        let reference = reference(self.reference.as_ref(), &settings)?;
        super::runtime()?.block_on(async {
            let addr = server::serve(
                self.listen,
                Dashboard {
                    backend,
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

/// What the dashboard reads: `spec` (`sqlite:PATH` or `es:URL`), else the
/// first such sink of the configuration. A store is opened once now, so that a
/// wrong path is said at start, not on the page.
pub fn backend(
    settings: &crate::config::Config,
    spec: Option<&StoredSpec>,
) -> anyhow::Result<(String, Backend)> {
    let spec = match spec {
        Some(s) => s.clone(),
        None => settings.stored().ok_or_else(|| {
            ExitError::bad_input(
                "nothing to read: give --store sqlite:PATH or es:URL (or a sqlite: or es: sink)",
            )
        })?,
    };
    match &spec {
        StoredSpec::Sqlite(path) => {
            crate::store::StoreReader::open(path).map_err(|e| {
                ExitError::bad_input(format!("--store {spec}: {}", super::exit::chain(&e)))
            })?;
            Ok((spec.to_string(), Backend::Store(path.clone())))
        }
        StoredSpec::Es(address) => {
            let config = crate::pipeline::open::es_config(settings, address);
            let service = EsClient::connect(&config)?;
            let panels = SearchPanels::new(Arc::new(service), indices(settings));
            Ok((spec.to_string(), Backend::Search(Arc::new(panels))))
        }
    }
}

/// The indices the configured stages write predictions and performance
/// documents to (the message parser's `prediction` channel, the perf parser's
/// `metrics`), and the line index.
fn indices(settings: &crate::config::Config) -> Indices {
    let mut indices = Indices {
        logs: settings.line_index.clone(),
        ..Indices::default()
    };
    let stages = settings
        .file
        .stages
        .clone()
        .unwrap_or_else(crate::config::default_stages);
    for stage in stages {
        let output = |channel: &str| {
            stage
                .outputs
                .get(channel)
                .filter(|index| !index.starts_with('@'))
                .cloned()
        };
        match stage.plugin.as_str() {
            "message" => indices.message = output("prediction").unwrap_or(indices.message),
            "perf" => indices.perfs = output("metrics").unwrap_or(indices.perfs),
            _ => {}
        }
    }
    indices
}

/// The drift reference from a flag, else from `[drift]`; none if neither.
pub fn reference(
    flag: Option<&DatasetSpec>,
    settings: &crate::config::Config,
) -> anyhow::Result<Option<Arc<Dataset>>> {
    let (spec, range, names) = match (flag, &settings.drift) {
        (Some(spec), _) => (spec, None, ("--reference", "--reference-range")),
        (None, Some(d)) => (
            &d.reference,
            d.reference_range.as_ref(),
            ("drift.reference", "drift.reference_range"),
        ),
        (None, None) => return Ok(None),
    };
    let dataset = super::drift::read_side(
        names,
        spec,
        range,
        crate::store::schema::MESSAGE_INDEX,
        &settings.env.elasticsearch,
    )?;
    Ok(Some(Arc::new(dataset)))
}
