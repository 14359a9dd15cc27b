//! Precedence (flags > environment > file > defaults) and validation: the
//! raw layers in, one typed [`Config`] out, each setting with its origin.

use super::ConfigError;
use super::environment::{self, Environment};
use super::file::{RawConfig, RawDrift, RawStage, default_stages};
use super::origin::{ConfigEntry, Listed, Origin, Origins};
use super::spec::{DatasetSpec, SinkSpec, SourceSpec, StoredSpec};
use crate::document::TimestampConverter;
use crate::drift::monitor::{MAX_WINDOW_PREDICTIONS, Window};
use crate::plugin::Limits;
use crate::store::retention::{self, Retention};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Lines per plugin call by default. Per line, a call's fixed cost is gone at
/// 64 lines already; bigger batches only grow what each stage copies in and out
/// of the sandbox, and past the core's cache that costs more than it saves:
/// one worker ran the simulator's traffic about 25 % faster with batches of 128
/// lines than of 1,024 (BENCHMARKS.md).
pub const DEFAULT_BATCH_LINES: usize = 128;

/// Seconds between two polls of `run` by default.
pub const DEFAULT_POLL_INTERVAL_SECS: f64 = 10.0;

/// Cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What the command line gave (clap's types stay in `cli`); `None` is "not
/// given", so that the layers below decide.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--source`.
    pub source: Option<String>,
    /// `--sink`, repeated.
    pub sinks: Vec<String>,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--plugins`.
    pub plugins_dir: Option<PathBuf>,
    /// `--workers`.
    pub workers: Option<usize>,
    /// `--batch-lines`.
    pub batch_lines: Option<usize>,
    /// `--source-time-zone`.
    pub source_time_zone: Option<String>,
}

/// The configuration after precedence and validation.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file as written, for what is read from it as a whole (stages).
    pub file: RawConfig,
    /// The environment, read once.
    pub env: Environment,
    /// Where lines come from.
    pub source: Option<SourceSpec>,
    /// Where documents go.
    pub sinks: Vec<SinkSpec>,
    /// State directory (checkpoints, the default store, dead letters).
    pub state_dir: PathBuf,
    /// Plugin directory.
    pub plugins_dir: Option<PathBuf>,
    /// Plugin worker threads (a number of cores when 0 was given).
    pub workers: usize,
    /// Lines per plugin call.
    pub batch_lines: usize,
    /// The source's time zone.
    pub timestamps: TimestampConverter,
    /// Sandbox limits.
    pub limits: Limits,
    /// What the embedded store keeps.
    pub retention: Retention,
    /// The line index.
    pub line_index: String,
    /// Pattern of the reference filter.
    pub filter_pattern: Option<String>,
    /// Time between polls.
    pub poll_interval: Duration,
    /// Gradio API name of the logs endpoint.
    pub gradio_api: String,
    /// Address of `/metrics` and `/health`, from the configuration file.
    pub metrics_listen: Option<SocketAddr>,
    /// Continuous drift in `run`, if configured.
    pub drift: Option<DriftSettings>,
    /// Every effective setting with its origin, for `config show`.
    pub origins: Vec<ConfigEntry>,
}

/// Continuous drift, validated (the reference is read when `run` starts).
#[derive(Debug, Clone)]
pub struct DriftSettings {
    /// `FILE.parquet`, `sqlite:PATH` or `es:URL`.
    pub reference: DatasetSpec,
    /// Its time range in a store or Elasticsearch.
    pub reference_range: Option<crate::export::read::Range>,
    /// The current window.
    pub window: Window,
    /// How often the verdicts are recomputed.
    pub every: Duration,
    /// Share of drifted columns from which the dataset drifts.
    pub drift_share: f64,
}

impl DriftSettings {
    /// Validates `[drift]`.
    pub fn from_raw(raw: &RawDrift) -> Result<Self, ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: format!("drift.{key}"),
            message,
        };
        let duration = |key: &str, text: &str| {
            retention::parse_age(text)
                .map_err(|e| invalid(key, e.to_string()))?
                .ok_or_else(|| invalid(key, "`off` is not a duration here".into()))
        };
        let window_text = raw.window.as_deref().unwrap_or("24h").trim();
        let window = match window_text.parse::<u64>() {
            Ok(0) => return Err(invalid("window", "a window of 0 predictions".into())),
            Ok(n) if n > MAX_WINDOW_PREDICTIONS => {
                return Err(invalid(
                    "window",
                    format!(
                        "at most {MAX_WINDOW_PREDICTIONS} predictions (or a duration such as 24h)"
                    ),
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
            return Err(invalid(
                "drift_share",
                format!("{drift_share} is not a share between 0 and 1"),
            ));
        }
        let reference = raw.reference.parse().map_err(|e: super::SpecError| {
            invalid(
                "reference",
                format!("{e} (FILE.parquet, sqlite:PATH or es:URL)"),
            )
        })?;
        let reference_range = raw
            .reference_range
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: crate::export::read::RangeError| {
                invalid("reference_range", e.to_string())
            })?;
        Ok(Self {
            reference,
            reference_range,
            window,
            every,
            drift_share,
        })
    }
}

impl Config {
    /// Reads the file and the environment and applies precedence.
    pub fn resolve(flags: &Flags) -> Result<Config, ConfigError> {
        let file = match &flags.config {
            Some(p) => RawConfig::from_file(p)?,
            None => RawConfig::default(),
        };
        Self::from_layers(flags, Environment::read()?, file)
    }

    /// Applies precedence to layers already read.
    pub fn from_layers(
        flags: &Flags,
        env: Environment,
        file: RawConfig,
    ) -> Result<Config, ConfigError> {
        let from_file = || match &flags.config {
            Some(p) => Origin::File(p.clone()),
            None => Origin::Default,
        };
        let mut o = Origins::default();
        let source = o.pick(
            "source",
            [
                (flags.source.clone(), Origin::Flag("--source")),
                (
                    env.gradio_url.as_ref().map(|u| format!("gradio:{u}")),
                    Origin::Env("GRADIO_URL"),
                ),
                (file.source.clone(), from_file()),
            ],
        );
        let source = source
            .map(|text| {
                text.parse::<SourceSpec>().map_err(|e| ConfigError::Spec {
                    key: "source".into(),
                    origin: o.origin_of("source"),
                    error: e,
                })
            })
            .transpose()?;
        let state_dir = o.pick_or(
            "state_dir",
            [
                (flags.state_dir.clone(), Origin::Flag("--state-dir")),
                (env.state_dir.clone(), Origin::Env("LOGPIPE_STATE_DIR")),
                (file.state_dir.clone(), from_file()),
            ],
            environment::default_state_dir,
        );
        let sinks = o
            .pick_or(
                "sinks",
                [
                    (
                        (!flags.sinks.is_empty()).then(|| Listed(flags.sinks.clone())),
                        Origin::Flag("--sink"),
                    ),
                    (
                        env.elasticsearch_sink
                            .as_ref()
                            .map(|(u, _)| Listed(vec![format!("es:{u}")])),
                        Origin::Env(
                            env.elasticsearch_sink
                                .as_ref()
                                .map_or("ELASTICSEARCH_URL", |(_, var)| var),
                        ),
                    ),
                    (file.sinks.clone().map(Listed), from_file()),
                ],
                || {
                    Listed(vec![format!(
                        "sqlite:{}",
                        state_dir.join("store.db").display()
                    )])
                },
            )
            .0;
        let sinks = sinks
            .iter()
            .map(|text| {
                text.parse::<SinkSpec>().map_err(|e| ConfigError::Spec {
                    key: "sinks".into(),
                    origin: o.origin_of("sinks"),
                    error: e,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let workers = o.pick_or(
            "workers",
            [
                (flags.workers, Origin::Flag("--workers")),
                (file.workers, from_file()),
            ],
            || 0,
        );
        let workers = if workers == 0 { cores() } else { workers };
        let zone = o.pick_or(
            "source_time_zone",
            [
                (
                    flags.source_time_zone.clone(),
                    Origin::Flag("--source-time-zone"),
                ),
                (file.source_time_zone.clone(), from_file()),
            ],
            || "UTC".to_string(),
        );
        let timestamps = TimestampConverter::in_zone(&zone).map_err(|e| ConfigError::Invalid {
            key: "source_time_zone".into(),
            message: e.to_string(),
        })?;
        let poll = o.pick_or(
            "poll_interval_secs",
            [
                (
                    env.poll_interval_secs,
                    Origin::Env("PIPELINE_POLL_INTERVAL"),
                ),
                (file.poll_interval_secs, from_file()),
            ],
            || DEFAULT_POLL_INTERVAL_SECS,
        );
        if !(poll.is_finite() && poll > 0.0) {
            return Err(ConfigError::Invalid {
                key: "poll_interval_secs".into(),
                message: format!("{poll} is not a positive number of seconds"),
            });
        }
        let raw_limits = file.limits.clone().unwrap_or_default();
        let defaults = Limits::default();
        let memory_mib = o.pick_or(
            "limits.memory_mib",
            [(raw_limits.memory_mib, from_file())],
            || defaults.memory_bytes >> 20,
        );
        let timeout_ms = o.pick_or(
            "limits.batch_timeout_ms",
            [(raw_limits.batch_timeout_ms, from_file())],
            || defaults.batch_timeout.as_millis() as u64,
        );
        let limits = Limits {
            memory_bytes: memory_mib << 20,
            batch_timeout: Duration::from_millis(timeout_ms),
            ..defaults
        };
        let plugins_dir = o.pick(
            "plugins_dir",
            [
                (flags.plugins_dir.clone(), Origin::Flag("--plugins")),
                (file.plugins_dir.clone(), from_file()),
            ],
        );
        let batch_lines = o
            .pick_or(
                "batch_lines",
                [
                    (flags.batch_lines, Origin::Flag("--batch-lines")),
                    (file.batch_lines, from_file()),
                ],
                || DEFAULT_BATCH_LINES,
            )
            .clamp(1, 65536);
        let line_index = o.pick_or(
            "line_index",
            [
                (env.line_index.clone(), Origin::Env("ELASTICSEARCH_INDEX")),
                (file.line_index.clone(), from_file()),
            ],
            || crate::store::schema::LINE_INDEX.to_string(),
        );
        let filter_pattern = o.pick(
            "filter_pattern",
            [
                (
                    env.filter_pattern.clone(),
                    Origin::Env("PIPELINE_FILTER_PATTERN"),
                ),
                (file.filter_pattern.clone(), from_file()),
            ],
        );
        let gradio_api = o.pick_or(
            "gradio_api",
            [(file.gradio_api.clone(), from_file())],
            || "logs_api".to_string(),
        );
        if env.hf_token.is_some() {
            o.secret("hf_token", Origin::Env("HF_TOKEN"));
        }
        // Elasticsearch credentials are read by the sink; say which were found.
        if sinks.iter().any(|s| matches!(s, SinkSpec::Es(_))) {
            let es = &env.elasticsearch;
            for (key, var, set) in [
                (
                    "elasticsearch_username",
                    "ELASTICSEARCH_USERNAME",
                    es.username.is_some(),
                ),
                (
                    "elasticsearch_password",
                    "ELASTICSEARCH_PASSWORD",
                    es.password.is_some(),
                ),
                (
                    "elasticsearch_api_key",
                    "ELASTICSEARCH_API_KEY",
                    es.api_key.is_some(),
                ),
            ] {
                if set {
                    o.secret(key, Origin::Env(var));
                }
            }
            if sinks
                .iter()
                .any(|s| matches!(s, SinkSpec::Es(a) if a.basic.is_some()))
            {
                // In the sink's URL: wherever the sinks came from.
                let origin = o.origin_of("sinks");
                o.secret("elasticsearch_url_credentials", origin);
            }
        }
        let metrics_listen = match o.pick(
            "metrics_listen",
            [(file.metrics_listen.clone(), from_file())],
        ) {
            Some(a) => Some(a.parse().map_err(|e| ConfigError::Invalid {
                key: "metrics_listen".into(),
                message: format!("`{a}` is not an address: {e}"),
            })?),
            None => None,
        };
        let raw_store = file.store.clone().unwrap_or_default();
        let age = o.pick_or(
            "store.retention_age",
            [(raw_store.retention_age, from_file())],
            || "30d".to_string(),
        );
        let size = o.pick_or(
            "store.retention_size",
            [(raw_store.retention_size, from_file())],
            || "10GiB".to_string(),
        );
        let invalid = |key: &str, e: retention::ParseError| ConfigError::Invalid {
            key: key.into(),
            message: e.to_string(),
        };
        let retention = Retention {
            max_age: retention::parse_age(&age).map_err(|e| invalid("store.retention_age", e))?,
            max_bytes: retention::parse_size(&size)
                .map_err(|e| invalid("store.retention_size", e))?,
            ..Retention::default()
        };
        o.entries.push(ConfigEntry {
            key: "stages".into(),
            value: describe_stages(file.stages.as_deref().unwrap_or(&default_stages())),
            origin: if file.stages.is_some() {
                from_file()
            } else {
                Origin::Default
            },
        });
        let drift = file
            .drift
            .as_ref()
            .map(DriftSettings::from_raw)
            .transpose()?;
        Ok(Config {
            drift,
            source,
            sinks,
            plugins_dir,
            workers,
            batch_lines,
            timestamps,
            limits,
            retention,
            line_index,
            filter_pattern,
            poll_interval: Duration::from_secs_f64(poll),
            gradio_api,
            metrics_listen,
            state_dir,
            file,
            env,
            origins: o.entries,
        })
    }

    /// The stages of the file, or the default ones.
    pub fn stages(&self) -> Vec<RawStage> {
        self.file.stages.clone().unwrap_or_else(default_stages)
    }

    /// The first sink that can be read back (`trace`, `export`, the
    /// dashboard): the embedded store or Elasticsearch.
    pub fn stored(&self) -> Option<StoredSpec> {
        self.sinks.iter().find_map(SinkSpec::stored)
    }

    /// The sinks that are Elasticsearch.
    pub fn es_sinks(&self) -> impl Iterator<Item = &super::EsAddress> {
        self.sinks.iter().filter_map(|s| match s {
            SinkSpec::Es(address) => Some(address),
            _ => None,
        })
    }
}

/// The stages on one line, in order: `message (fields -> @line, prediction ->
/// ml-api-message); filter; perf (...)`, with each stage's configuration.
fn describe_stages(stages: &[RawStage]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_environment_and_the_file() {
        let env = Environment {
            state_dir: Some("/env/state".into()),
            gradio_url: Some("http://env:7860".into()),
            ..Environment::default()
        };
        let file: RawConfig =
            toml::from_str("source = \"file:from-file.log\"\nsinks = [\"dir:out\"]\nworkers = 3\n")
                .unwrap();
        let flags = Flags {
            config: Some("c.toml".into()),
            sinks: vec!["null:".into()],
            ..Flags::default()
        };
        let config = Config::from_layers(&flags, env, file).unwrap();
        assert_eq!(config.sinks, vec![SinkSpec::Null]);
        assert_eq!(
            config.source,
            Some(SourceSpec::Gradio("http://env:7860".into()))
        );
        assert_eq!(config.state_dir, PathBuf::from("/env/state"));
        assert_eq!(config.workers, 3);
        let origin = |key: &str| {
            config
                .origins
                .iter()
                .find(|e| e.key == key)
                .map(|e| e.origin.to_string())
                .unwrap()
        };
        assert_eq!(origin("sinks"), "flag --sink");
        assert_eq!(origin("source"), "environment GRADIO_URL");
        assert_eq!(origin("workers"), "file c.toml");
        assert_eq!(origin("batch_lines"), "default");
    }

    #[test]
    fn a_bad_spec_names_the_setting_and_where_it_came_from() {
        let file: RawConfig = toml::from_str("sinks = [\"sqlite:s.db\", \"kafka:x\"]\n").unwrap();
        let flags = Flags {
            config: Some("c.toml".into()),
            ..Flags::default()
        };
        let err = Config::from_layers(&flags, Environment::default(), file)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sinks") && err.contains("c.toml") && err.contains("kafka"),
            "{err}"
        );
    }
}
