//! Flags shared by the pipeline commands, and their resolution against the
//! environment, the configuration file and the defaults.

use super::exit::ExitError;
use crate::config::{RawConfig, default_stages, default_state_dir};
use crate::document::TimestampConverter;
use crate::ids::Checkpoint;
use crate::ids::checkpoint::CheckpointError;
use crate::pipeline::poll::WindowSource;
use crate::pipeline::{Plan, RunOptions, build::build_plan};
use crate::plugin::{Limits, PluginEngine};
pub use crate::redact::mask_url_password;
use crate::sink::{Sink, SinkContext};
use crate::source::collector::Collector;
use crate::source::http::{Endpoint, PageFetcher};
use crate::store::retention::{self, Retention};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Lines per plugin call by default. Per line, a call's fixed cost is gone at
/// 64 lines already; bigger batches only grow what each stage copies in and out
/// of the sandbox, and past the core's cache that costs more than it saves:
/// one worker ran the simulator's traffic about 25 % faster with batches of 128
/// lines than of 1,024 (BENCHMARKS.md).
pub const DEFAULT_BATCH_LINES: usize = 128;

/// Cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

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
    /// es: and sqlite: keep one document per index and id (a replay adds
    /// nothing); dir: is an append-only log (a replay appends again: keep the
    /// last line per `_id`, e.g. `jq -s 'unique_by(._id)'`).
    #[arg(long = "sink")]
    pub sinks: Vec<String>,
    /// State directory (checkpoint, default store) [env: LOGPIPE_STATE_DIR].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Plugin directory: `<name>.wasm` files override or add to the embedded plugins.
    #[arg(long = "plugins")]
    pub plugins_dir: Option<PathBuf>,
    /// Plugin worker threads for files and benchmarks (0: one per core); a poll of
    /// `run` (at most a window, 1000 lines) is processed by one worker.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Lines per plugin call.
    #[arg(long)]
    pub batch_lines: Option<usize>,
    /// Time zone of the source's timestamps (IANA name).
    #[arg(long)]
    pub source_time_zone: Option<String>,
}

/// The flags of commands that read or write what was stored (`trace`,
/// `export`, `store`, `dashboard`, `dead-letters`): where the configuration,
/// the sinks and the state are; none of the pipeline's own flags, which would
/// do nothing there.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Configuration file (TOML; see logpipe.example.toml).
    #[arg(long, env = "LOGPIPE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Sink: es:URL, sqlite:PATH or dir:PATH. Repeat for several.
    #[arg(long = "sink")]
    pub sinks: Vec<String>,
    /// State directory (checkpoint, default store, dead letters) [env: LOGPIPE_STATE_DIR].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

impl StorageArgs {
    /// Applies precedence as [`PipelineArgs::resolve`] does.
    pub fn resolve(&self) -> anyhow::Result<Settings> {
        PipelineArgs {
            config: self.config.clone(),
            source: None,
            sinks: self.sinks.clone(),
            state_dir: self.state_dir.clone(),
            plugins_dir: None,
            workers: None,
            batch_lines: None,
            source_time_zone: None,
        }
        .resolve()
    }
}

/// The flags of commands that run the plugins on lines of their own (`demo`,
/// `bench`): the configuration and the plugins, not a source or sinks.
#[derive(Debug, Clone, Args)]
pub struct PluginArgs {
    /// Configuration file (TOML; see logpipe.example.toml).
    #[arg(long, env = "LOGPIPE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Plugin directory: `<name>.wasm` files override or add to the embedded plugins.
    #[arg(long = "plugins")]
    pub plugins_dir: Option<PathBuf>,
    /// Lines per plugin call.
    #[arg(long)]
    pub batch_lines: Option<usize>,
    /// Time zone of the source's timestamps (IANA name).
    #[arg(long)]
    pub source_time_zone: Option<String>,
}

impl PluginArgs {
    /// Applies precedence as [`PipelineArgs::resolve`] does, with `state_dir`.
    pub fn resolve(&self, state_dir: Option<PathBuf>) -> anyhow::Result<Settings> {
        PipelineArgs {
            config: self.config.clone(),
            source: None,
            sinks: Vec::new(),
            state_dir,
            plugins_dir: self.plugins_dir.clone(),
            workers: None,
            batch_lines: self.batch_lines,
            source_time_zone: self.source_time_zone.clone(),
        }
        .resolve()
    }
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
    /// What the embedded store keeps.
    pub retention: Retention,
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
    /// Continuous drift in `run`, if configured.
    pub drift: Option<DriftSettings>,
    /// Every effective setting with its origin, for `config show`.
    pub origins: Vec<ConfigEntry>,
}

/// Continuous drift, validated (the reference is read when `run` starts).
#[derive(Debug, Clone)]
pub struct DriftSettings {
    /// `FILE.parquet`, `sqlite:PATH` or `es:URL`.
    pub reference: String,
    /// Its time range in a store or Elasticsearch.
    pub reference_range: Option<String>,
    /// The current window.
    pub window: crate::drift::monitor::Window,
    /// How often the verdicts are recomputed.
    pub every: Duration,
    /// Share of drifted columns from which the dataset drifts.
    pub drift_share: f64,
}

impl DriftSettings {
    /// Validates `[drift]`.
    pub fn from_raw(raw: &crate::config::RawDrift) -> Result<Self, String> {
        use crate::drift::monitor::{MAX_WINDOW_PREDICTIONS, Window};
        let duration = |key: &str, text: &str| {
            retention::parse_age(text)
                .map_err(|e| format!("drift.{key}: {e}"))?
                .ok_or_else(|| format!("drift.{key}: `off` is not a duration here"))
        };
        let window_text = raw.window.as_deref().unwrap_or("24h").trim();
        let window = match window_text.parse::<u64>() {
            Ok(0) => return Err("drift.window: a window of 0 predictions".into()),
            Ok(n) if n > MAX_WINDOW_PREDICTIONS => {
                return Err(format!(
                    "drift.window: at most {MAX_WINDOW_PREDICTIONS} predictions (or a duration such as 24h)"
                ));
            }
            Ok(n) => Window::Predictions(n),
            Err(_) => Window::Span(duration("window", window_text)?),
        };
        let every = duration("every", raw.every.as_deref().unwrap_or("1m"))?;
        let drift_share = raw
            .drift_share
            .unwrap_or(crate::drift::report::DEFAULT_DRIFT_SHARE);
        if !(0.0..=1.0).contains(&drift_share) {
            return Err(format!(
                "drift.drift_share: {drift_share} is not a share between 0 and 1"
            ));
        }
        if raw.reference.trim().is_empty() {
            return Err("drift.reference: empty (FILE.parquet, sqlite:PATH or es:URL)".into());
        }
        Ok(Self {
            reference: raw.reference.clone(),
            reference_range: raw.reference_range.clone(),
            window,
            every,
            drift_share,
        })
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl PipelineArgs {
    /// Applies precedence: flags > environment > file > defaults.
    pub fn resolve(&self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(p) => RawConfig::from_file(p)
                .map_err(|e| ExitError::bad_input(crate::chain::chain(&e)))?,
            None => RawConfig::default(),
        };
        let from_file = || match &self.config {
            Some(p) => Origin::File(p.clone()),
            None => Origin::Default,
        };
        let mut o = Origins::default();
        let source = o.pick(
            "source",
            [
                (self.source.clone(), Origin::Flag("--source")),
                (
                    env("GRADIO_URL").map(|u| format!("gradio:{u}")),
                    Origin::Env("GRADIO_URL"),
                ),
                (file.source.clone(), from_file()),
            ],
        );
        let state_dir = o
            .pick(
                "state_dir",
                [
                    (self.state_dir.clone(), Origin::Flag("--state-dir")),
                    (
                        env("LOGPIPE_STATE_DIR").map(PathBuf::from),
                        Origin::Env("LOGPIPE_STATE_DIR"),
                    ),
                    (file.state_dir.clone(), from_file()),
                    (Some(default_state_dir()), Origin::Default),
                ],
            )
            .expect("has a default");
        let (es_env, es_var) = match env("ELASTICSEARCH_URL") {
            Some(u) => (Some(u), "ELASTICSEARCH_URL"),
            None => {
                let host = env("ELASTICSEARCH_HOST");
                let port = env("ELASTICSEARCH_PORT");
                let url = (host.is_some() || port.is_some()).then(|| {
                    format!(
                        "http://{}:{}",
                        host.unwrap_or_else(|| "localhost".into()),
                        port.unwrap_or_else(|| "9200".into())
                    )
                });
                (url, "ELASTICSEARCH_HOST/ELASTICSEARCH_PORT")
            }
        };
        let sinks = o
            .pick(
                "sinks",
                [
                    (
                        (!self.sinks.is_empty()).then(|| Listed(self.sinks.clone())),
                        Origin::Flag("--sink"),
                    ),
                    (
                        es_env.map(|u| Listed(vec![format!("es:{u}")])),
                        Origin::Env(es_var),
                    ),
                    (file.sinks.clone().map(Listed), from_file()),
                    (
                        Some(Listed(vec![format!(
                            "sqlite:{}",
                            state_dir.join("store.db").display()
                        )])),
                        Origin::Default,
                    ),
                ],
            )
            .expect("has a default")
            .0;
        let workers = o
            .pick(
                "workers",
                [
                    (self.workers, Origin::Flag("--workers")),
                    (file.workers, from_file()),
                    (Some(0), Origin::Default),
                ],
            )
            .expect("has a default");
        let workers = if workers == 0 { cores() } else { workers };
        let zone = o
            .pick(
                "source_time_zone",
                [
                    (
                        self.source_time_zone.clone(),
                        Origin::Flag("--source-time-zone"),
                    ),
                    (file.source_time_zone.clone(), from_file()),
                    (Some("UTC".to_string()), Origin::Default),
                ],
            )
            .expect("has a default");
        let timestamps = TimestampConverter::in_zone(&zone)
            .map_err(|e| ExitError::bad_input(format!("source_time_zone: {e}")))?;
        let poll_env = match env("PIPELINE_POLL_INTERVAL") {
            Some(v) => Some(v.parse::<f64>().map_err(|_| {
                ExitError::bad_input(format!(
                    "PIPELINE_POLL_INTERVAL: `{v}` is not a number of seconds"
                ))
            })?),
            None => None,
        };
        let poll = o
            .pick(
                "poll_interval_secs",
                [
                    (poll_env, Origin::Env("PIPELINE_POLL_INTERVAL")),
                    (file.poll_interval_secs, from_file()),
                    (Some(10.0), Origin::Default),
                ],
            )
            .expect("has a default");
        if !(poll.is_finite() && poll > 0.0) {
            return Err(
                ExitError::bad_input("poll interval must be a positive number of seconds").into(),
            );
        }
        let raw_limits = file.limits.clone().unwrap_or_default();
        let defaults = Limits::default();
        let memory_mib = o
            .pick(
                "limits.memory_mib",
                [
                    (raw_limits.memory_mib, from_file()),
                    (Some(defaults.memory_bytes >> 20), Origin::Default),
                ],
            )
            .expect("has a default");
        let timeout_ms = o
            .pick(
                "limits.batch_timeout_ms",
                [
                    (raw_limits.batch_timeout_ms, from_file()),
                    (
                        Some(defaults.batch_timeout.as_millis() as u64),
                        Origin::Default,
                    ),
                ],
            )
            .expect("has a default");
        let limits = Limits {
            memory_bytes: memory_mib << 20,
            batch_timeout: Duration::from_millis(timeout_ms),
            ..defaults
        };
        let plugins_dir = o.pick(
            "plugins_dir",
            [
                (self.plugins_dir.clone(), Origin::Flag("--plugins")),
                (file.plugins_dir.clone(), from_file()),
            ],
        );
        let batch_lines = o
            .pick(
                "batch_lines",
                [
                    (self.batch_lines, Origin::Flag("--batch-lines")),
                    (file.batch_lines, from_file()),
                    (Some(DEFAULT_BATCH_LINES), Origin::Default),
                ],
            )
            .expect("has a default")
            .clamp(1, 65536);
        let line_index = o
            .pick(
                "line_index",
                [
                    (
                        env("ELASTICSEARCH_INDEX"),
                        Origin::Env("ELASTICSEARCH_INDEX"),
                    ),
                    (file.line_index.clone(), from_file()),
                    (Some("ml-api-logs".to_string()), Origin::Default),
                ],
            )
            .expect("has a default");
        let filter_pattern = o.pick(
            "filter_pattern",
            [
                (
                    env("PIPELINE_FILTER_PATTERN"),
                    Origin::Env("PIPELINE_FILTER_PATTERN"),
                ),
                (file.filter_pattern.clone(), from_file()),
            ],
        );
        let gradio_api = o
            .pick(
                "gradio_api",
                [
                    (file.gradio_api.clone(), from_file()),
                    (Some("logs_api".to_string()), Origin::Default),
                ],
            )
            .expect("has a default");
        let token = env("HF_TOKEN");
        if token.is_some() {
            o.secret("hf_token", Origin::Env("HF_TOKEN"));
        }
        // Elasticsearch credentials are read by the sink; say which were found.
        if sinks.iter().any(|s| s.starts_with("es:")) {
            for (key, var) in [
                ("elasticsearch_username", "ELASTICSEARCH_USERNAME"),
                ("elasticsearch_password", "ELASTICSEARCH_PASSWORD"),
                ("elasticsearch_api_key", "ELASTICSEARCH_API_KEY"),
            ] {
                if env(var).is_some() {
                    o.secret(key, Origin::Env(var));
                }
            }
            if sinks
                .iter()
                .any(|s| s.strip_prefix("es:").is_some_and(|u| u.contains('@')))
            {
                // In the sink's URL: wherever the sinks came from.
                let origin = o
                    .entries
                    .iter()
                    .find(|e| e.key == "sinks")
                    .map_or(Origin::Default, |e| e.origin.clone());
                o.secret("elasticsearch_url_credentials", origin);
            }
        }
        let metrics_listen = match o.pick(
            "metrics_listen",
            [(file.metrics_listen.clone(), from_file())],
        ) {
            Some(a) => Some(a.parse().map_err(|e| {
                ExitError::bad_input(format!("metrics_listen: `{a}` is not an address: {e}"))
            })?),
            None => None,
        };
        let raw_store = file.store.clone().unwrap_or_default();
        let age = o
            .pick(
                "store.retention_age",
                [
                    (raw_store.retention_age, from_file()),
                    (Some("30d".to_string()), Origin::Default),
                ],
            )
            .expect("has a default");
        let size = o
            .pick(
                "store.retention_size",
                [
                    (raw_store.retention_size, from_file()),
                    (Some("10GiB".to_string()), Origin::Default),
                ],
            )
            .expect("has a default");
        let retention = Retention {
            max_age: retention::parse_age(&age)
                .map_err(|e| ExitError::bad_input(format!("store.retention_age: {e}")))?,
            max_bytes: retention::parse_size(&size)
                .map_err(|e| ExitError::bad_input(format!("store.retention_size: {e}")))?,
            ..Retention::default()
        };
        let stages = file.stages.is_some();
        o.entries.push(ConfigEntry {
            key: "stages".into(),
            value: describe_stages(
                &file
                    .stages
                    .clone()
                    .unwrap_or_else(crate::config::default_stages),
            ),
            origin: if stages { from_file() } else { Origin::Default },
        });
        let drift = file
            .drift
            .as_ref()
            .map(DriftSettings::from_raw)
            .transpose()
            .map_err(ExitError::bad_input)?;
        Ok(Settings {
            drift,
            source,
            sinks,
            plugins_dir,
            run: RunOptions {
                workers,
                batch_lines,
                timestamps,
                execution: crate::pipeline::Execution::Wasm,
                // One core: reader, worker and sinks take turns on it anyway.
                one_thread: workers == 1 && cores() == 1,
                log_problems: true,
            },
            limits,
            retention,
            line_index,
            filter_pattern,
            poll_interval: Duration::from_secs_f64(poll),
            gradio_api,
            token,
            metrics_listen,
            state_dir,
            file,
            origins: o.entries,
        })
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// The configuration file.
    File(PathBuf),
    /// The built-in default.
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(n) => write!(f, "flag {n}"),
            Origin::Env(n) => write!(f, "environment {n}"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// One effective setting, for `config show`.
#[derive(Debug, Clone)]
pub struct ConfigEntry {
    /// The key, as in the configuration file.
    pub key: String,
    /// The value, secrets masked.
    pub value: String,
    /// Where it came from.
    pub origin: Origin,
}

/// A list shown comma-separated.
#[derive(Debug, Clone)]
struct Listed(Vec<String>);

/// How a setting's value is shown by `config show`.
trait Show {
    fn show(&self) -> String;
}

impl Show for Listed {
    fn show(&self) -> String {
        self.0.join(", ")
    }
}

impl Show for PathBuf {
    fn show(&self) -> String {
        self.display().to_string()
    }
}

macro_rules! show_display {
    ($($t:ty),*) => {$(impl Show for $t { fn show(&self) -> String { self.to_string() } })*};
}
show_display!(String, usize, u64, f64);

#[derive(Default)]
struct Origins {
    entries: Vec<ConfigEntry>,
}

impl Origins {
    /// The first value present, highest precedence first, remembering where it came from.
    fn pick<T: Show, const N: usize>(
        &mut self,
        key: &str,
        layers: [(Option<T>, Origin); N],
    ) -> Option<T> {
        for (value, origin) in layers {
            if let Some(v) = value {
                self.entries.push(ConfigEntry {
                    key: key.into(),
                    value: mask_url_password(&v.show()),
                    origin,
                });
                return Some(v);
            }
        }
        None
    }

    fn secret(&mut self, key: &str, origin: Origin) {
        self.entries.push(ConfigEntry {
            key: key.into(),
            value: "******".into(),
            origin,
        });
    }
}

impl Settings {
    /// The plugin engine for these settings.
    pub fn engine(&self) -> anyhow::Result<PluginEngine> {
        super::plugin_engine(self.limits)
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
        // A corrupt checkpoint is for the operator to look at, not to retry.
        let source = WindowSource::open(collector, checkpoint).map_err(|e| match e
            .downcast::<CheckpointError>()
        {
            Ok(c @ CheckpointError::Corrupt { .. }) => {
                ExitError::bad_input(crate::chain::chain(&c)).into()
            }
            Ok(other) => anyhow::Error::new(other),
            Err(other) => other,
        })?;
        Ok(Some(source))
    }

    /// Opens the sinks (installing Elasticsearch mappings for the plan's indices).
    pub fn open_sinks(&self, plan: &Plan) -> anyhow::Result<Vec<Sink>> {
        let context = SinkContext {
            state_dir: self.state_dir.clone(),
            indices: plan.indices().iter().map(|i| i.to_string()).collect(),
            line_index: plan.line_index.to_string(),
            retention: self.retention,
        };
        self.sinks
            .iter()
            .map(|s| {
                Sink::open(s, &context).map_err(|e| {
                    if s.starts_with("es:") {
                        anyhow::Error::new(e)
                    } else {
                        ExitError::bad_input(crate::chain::chain(&e)).into()
                    }
                })
            })
            .collect()
    }
}

/// The stages on one line, in order: `message (fields -> @line, prediction ->
/// ml-api-message); filter; perf (...)`, with each stage's configuration.
fn describe_stages(stages: &[crate::config::RawStage]) -> String {
    stages
        .iter()
        .map(|stage| {
            let mut parts: Vec<String> = stage
                .outputs
                .iter()
                .map(|(channel, to)| format!("{channel} -> {to}"))
                .collect();
            parts.extend(
                stage
                    .config
                    .iter()
                    .map(|(key, value)| format!("{key} = {value:?}")),
            );
            if parts.is_empty() {
                stage.plugin.clone()
            } else {
                format!("{} ({})", stage.plugin, parts.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
