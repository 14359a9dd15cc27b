//! Flags shared by the pipeline commands, and their resolution against the
//! environment, the configuration file and the defaults.

use super::exit::ExitError;
use crate::config::{RawConfig, default_stages, default_state_dir};
use crate::document::TimestampConverter;
use crate::ids::Checkpoint;
use crate::pipeline::poll::WindowSource;
use crate::pipeline::{Plan, RunOptions, build::build_plan};
use crate::plugin::{Limits, PluginEngine};
use crate::sink::{Sink, SinkContext};
use crate::source::collector::Collector;
use crate::source::http::{Endpoint, PageFetcher};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Flags of the pipeline commands.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// Configuration file (TOML; see logpipe.example.toml).
    #[arg(long, env = "LOGPIPE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Source: gradio:URL, rest:URL or file:PATH (`file:-` for stdin).
    #[arg(long)]
    pub source: Option<String>,
    /// Sink: es:URL, sqlite:PATH, dir:PATH or null:. Repeat for several.
    #[arg(long = "sink")]
    pub sinks: Vec<String>,
    /// State directory (checkpoint, default store) [env: LOGPIPE_STATE_DIR].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Plugin directory: `<name>.wasm` files override or add to the embedded plugins.
    #[arg(long = "plugins")]
    pub plugins_dir: Option<PathBuf>,
    /// Plugin worker threads (0: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Lines per plugin call.
    #[arg(long)]
    pub batch_lines: Option<usize>,
    /// Time zone of the source's timestamps (IANA name).
    #[arg(long)]
    pub source_time_zone: Option<String>,
}

/// Settings after precedence and validation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The raw file, for what is not overridden elsewhere.
    pub file: RawConfig,
    /// Source spec.
    pub source: Option<String>,
    /// Sink specs.
    pub sinks: Vec<String>,
    /// State directory.
    pub state_dir: PathBuf,
    /// Plugin directory.
    pub plugins_dir: Option<PathBuf>,
    /// Run options.
    pub run: RunOptions,
    /// Sandbox limits.
    pub limits: Limits,
    /// The line index.
    pub line_index: String,
    /// Pattern of the reference filter.
    pub filter_pattern: Option<String>,
    /// Seconds between polls.
    pub poll_interval: Duration,
    /// Gradio API name.
    pub gradio_api: String,
    /// `HF_TOKEN`, sent as a bearer token.
    pub token: Option<String>,
    /// Address of `/metrics` and `/health`, from the configuration file.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl PipelineArgs {
    /// Applies precedence: flags > environment > file > defaults.
    pub fn resolve(&self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(p) => RawConfig::from_file(p).map_err(|e| ExitError::bad_input(e.to_string()))?,
            None => RawConfig::default(),
        };
        let source = self
            .source
            .clone()
            .or_else(|| env("GRADIO_URL").map(|u| format!("gradio:{u}")))
            .or_else(|| file.source.clone());
        let state_dir = self
            .state_dir
            .clone()
            .or_else(|| env("LOGPIPE_STATE_DIR").map(PathBuf::from))
            .or_else(|| file.state_dir.clone())
            .unwrap_or_else(default_state_dir);
        let es_env = env("ELASTICSEARCH_URL").or_else(|| {
            let host = env("ELASTICSEARCH_HOST");
            let port = env("ELASTICSEARCH_PORT");
            (host.is_some() || port.is_some()).then(|| {
                format!(
                    "http://{}:{}",
                    host.unwrap_or_else(|| "localhost".into()),
                    port.unwrap_or_else(|| "9200".into())
                )
            })
        });
        let sinks = if !self.sinks.is_empty() {
            self.sinks.clone()
        } else if let Some(url) = es_env {
            vec![format!("es:{url}")]
        } else if let Some(s) = &file.sinks {
            s.clone()
        } else {
            vec![format!("sqlite:{}", state_dir.join("store.db").display())]
        };
        let workers = self.workers.or(file.workers).unwrap_or(0);
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            workers
        };
        let zone = self
            .source_time_zone
            .clone()
            .or_else(|| file.source_time_zone.clone())
            .unwrap_or_else(|| "UTC".into());
        let timestamps = TimestampConverter::in_zone(&zone)
            .map_err(|e| ExitError::bad_input(format!("source_time_zone: {e}")))?;
        let poll = match env("PIPELINE_POLL_INTERVAL") {
            Some(v) => v.parse::<f64>().map_err(|_| {
                ExitError::bad_input(format!(
                    "PIPELINE_POLL_INTERVAL: `{v}` is not a number of seconds"
                ))
            })?,
            None => file.poll_interval_secs.unwrap_or(10.0),
        };
        if !(poll.is_finite() && poll > 0.0) {
            return Err(
                ExitError::bad_input("poll interval must be a positive number of seconds").into(),
            );
        }
        let raw_limits = file.limits.clone().unwrap_or_default();
        let defaults = Limits::default();
        let limits = Limits {
            memory_bytes: raw_limits
                .memory_mib
                .map_or(defaults.memory_bytes, |m| m << 20),
            batch_timeout: raw_limits
                .batch_timeout_ms
                .map_or(defaults.batch_timeout, Duration::from_millis),
            ..defaults
        };
        Ok(Settings {
            source,
            sinks,
            plugins_dir: self
                .plugins_dir
                .clone()
                .or_else(|| file.plugins_dir.clone()),
            run: RunOptions {
                workers,
                batch_lines: self
                    .batch_lines
                    .or(file.batch_lines)
                    .unwrap_or(1024)
                    .clamp(1, 65536),
                timestamps,
                execution: crate::pipeline::Execution::Wasm,
            },
            limits,
            line_index: env("ELASTICSEARCH_INDEX")
                .or_else(|| file.line_index.clone())
                .unwrap_or_else(|| "ml-api-logs".into()),
            filter_pattern: env("PIPELINE_FILTER_PATTERN").or_else(|| file.filter_pattern.clone()),
            poll_interval: Duration::from_secs_f64(poll),
            gradio_api: file.gradio_api.clone().unwrap_or_else(|| "logs_api".into()),
            token: env("HF_TOKEN"),
            metrics_listen: match &file.metrics_listen {
                Some(a) => Some(a.parse().map_err(|e| {
                    ExitError::bad_input(format!("metrics_listen: `{a}` is not an address: {e}"))
                })?),
                None => None,
            },
            state_dir,
            file,
        })
    }
}

impl Settings {
    /// The plugin engine for these settings.
    pub fn engine(&self) -> anyhow::Result<PluginEngine> {
        PluginEngine::new(
            self.limits,
            super::default_cache_dir().map(|d| d.join("components")),
        )
    }

    /// Loads the plugins and builds the plan.
    pub fn plan(&self, engine: &PluginEngine) -> anyhow::Result<Plan> {
        let stages = self.file.stages.clone().unwrap_or_else(default_stages);
        build_plan(
            engine,
            &stages,
            self.plugins_dir.as_deref(),
            &self.line_index,
            self.filter_pattern.as_deref(),
        )
    }

    /// The window source for an `gradio:` or `rest:` source spec, resuming from its
    /// checkpoint; `None` for other schemes.
    pub fn window_source(&self, spec: &str) -> anyhow::Result<Option<WindowSource>> {
        let Some(endpoint) = Endpoint::parse(spec, &self.gradio_api) else {
            return Ok(None);
        };
        let collector = Collector::new(PageFetcher::new(endpoint, self.token.clone()));
        let checkpoint = Checkpoint::new(&self.state_dir, spec);
        Ok(Some(WindowSource::open(collector, checkpoint)?))
    }

    /// Opens the sinks (installing Elasticsearch mappings for the plan's indices).
    pub fn open_sinks(&self, plan: &Plan) -> anyhow::Result<Vec<Sink>> {
        let context = SinkContext {
            state_dir: self.state_dir.clone(),
            indices: plan.indices().iter().map(|i| i.to_string()).collect(),
            line_index: plan.line_index.to_string(),
        };
        self.sinks
            .iter()
            .map(|s| {
                Sink::open(s, &context).map_err(|e| {
                    if s.starts_with("es:") {
                        anyhow::Error::new(e)
                    } else {
                        ExitError::bad_input(e.to_string()).into()
                    }
                })
            })
            .collect()
    }
}
