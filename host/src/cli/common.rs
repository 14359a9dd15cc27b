//! The flags shared by the commands, turned into [`Flags`] for
//! [`Config::resolve`]: the command line only, no precedence or validation.

use crate::config::{Config, ConfigError, Flags};
use clap::Args;
use std::path::PathBuf;

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
    /// The configuration with these flags.
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        Config::resolve(&Flags {
            config: self.config.clone(),
            sinks: self.sinks.clone(),
            state_dir: self.state_dir.clone(),
            ..Flags::default()
        })
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
    /// The configuration with these flags and `state_dir`.
    pub fn resolve(&self, state_dir: Option<PathBuf>) -> Result<Config, ConfigError> {
        Config::resolve(&Flags {
            config: self.config.clone(),
            state_dir,
            plugins_dir: self.plugins_dir.clone(),
            batch_lines: self.batch_lines,
            source_time_zone: self.source_time_zone.clone(),
            ..Flags::default()
        })
    }
}

impl PipelineArgs {
    /// The configuration with these flags.
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        Config::resolve(&Flags {
            config: self.config.clone(),
            source: self.source.clone(),
            sinks: self.sinks.clone(),
            state_dir: self.state_dir.clone(),
            plugins_dir: self.plugins_dir.clone(),
            workers: self.workers,
            batch_lines: self.batch_lines,
            source_time_zone: self.source_time_zone.clone(),
        })
    }
}
