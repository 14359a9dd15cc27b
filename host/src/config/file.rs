//! The configuration file as written: TOML, unknown keys rejected with their
//! place. Every key is documented in `logpipe.example.toml` at the
//! repository root; [`super::resolve`] validates it.

use super::ConfigError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The configuration file, as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `gradio:URL`, `rest:URL` or `file:PATH`.
    pub source: Option<String>,
    /// Sinks: `es:URL`, `sqlite:PATH`, `dir:PATH`, `null:`.
    pub sinks: Option<Vec<String>>,
    /// Directory of the checkpoint and the default embedded store.
    pub state_dir: Option<PathBuf>,
    /// Directory of plugin files overriding or adding to the embedded ones.
    pub plugins_dir: Option<PathBuf>,
    /// Seconds between polls in `run`.
    pub poll_interval_secs: Option<f64>,
    /// Time zone of the source's timestamps (IANA name), default UTC.
    pub source_time_zone: Option<String>,
    /// Plugin worker threads; 0 means one per core.
    pub workers: Option<usize>,
    /// Lines per plugin call.
    pub batch_lines: Option<usize>,
    /// The index every line goes to.
    pub line_index: Option<String>,
    /// Pattern of the reference filter.
    pub filter_pattern: Option<String>,
    /// Address of `/metrics` and `/health` in `run` (e.g. `127.0.0.1:9898`).
    pub metrics_listen: Option<String>,
    /// Gradio API name of the logs endpoint (default `logs_api`).
    pub gradio_api: Option<String>,
    /// Sandbox limits.
    pub limits: Option<RawLimits>,
    /// The embedded store's retention.
    pub store: Option<RawStore>,
    /// Continuous drift in `run`.
    pub drift: Option<RawDrift>,
    /// The stages; the default is [`default_stages`].
    pub stages: Option<Vec<RawStage>>,
}

/// Sandbox limits, as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Memory cap per instance, MiB.
    pub memory_mib: Option<usize>,
    /// Time limit per batch call, milliseconds.
    pub batch_timeout_ms: Option<u64>,
}

/// The embedded store's retention, as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// Age kept before the newest document (`30d`, `12h`, `off`).
    pub retention_age: Option<String>,
    /// Size the store is cut back to (`10GiB`, `500MB`, `off`).
    pub retention_size: Option<String>,
}

/// Continuous drift, as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDrift {
    /// The reference: `FILE.parquet`, `sqlite:PATH` or `es:URL`.
    pub reference: String,
    /// Its time range in a store or Elasticsearch (`FROM..TO`, `last:7d`).
    pub reference_range: Option<String>,
    /// The current window: a duration (`24h`) or a number of predictions (`5000`).
    pub window: Option<String>,
    /// How often the verdicts are recomputed (`1m`).
    pub every: Option<String>,
    /// Share of drifted columns from which the dataset drifts (0.5).
    pub drift_share: Option<f64>,
}

/// One stage, as written.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// Plugin name: an embedded plugin or `<plugins_dir>/<name>.wasm`.
    pub plugin: String,
    /// Configuration given to the plugin.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Channel name → `@line` or an index name.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

impl RawConfig {
    /// Reads a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// The default stages: message parser on every line (fields into the line's
/// document, predictions to `ml-api-message`), the filter, then the performance
/// parser to `ml-api-perfs` (and its `transaction_id` into the line's document).
pub fn default_stages() -> Vec<RawStage> {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    vec![
        RawStage {
            plugin: "message".into(),
            config: BTreeMap::new(),
            outputs: map(&[("fields", "@line"), ("prediction", "ml-api-message")]),
        },
        RawStage {
            plugin: "filter".into(),
            config: BTreeMap::new(),
            outputs: BTreeMap::new(),
        },
        RawStage {
            plugin: "perf".into(),
            config: BTreeMap::new(),
            outputs: map(&[("metrics", "ml-api-perfs"), ("fields", "@line")]),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected_with_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "source = \"file:x\"\nsinks = [\"dir:out\"]\n\n[limits]\nmemory_mb = 3\n",
        )
        .unwrap();
        let err = RawConfig::from_file(&p).unwrap_err().to_string();
        assert!(err.contains("memory_mb") && err.contains("c.toml"), "{err}");
    }

    #[test]
    fn example_file_is_valid() {
        let text = include_str!("../../../logpipe.example.toml");
        let c: RawConfig = toml::from_str(text).unwrap();
        assert_eq!(c.stages.unwrap(), default_stages());
    }
}
