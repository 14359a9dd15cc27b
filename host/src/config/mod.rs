//! Configuration, read once: the raw layers (the file as written, the
//! environment, the command line's flags), then one validated [`Config`] with
//! typed source and sink specs, each setting remembering where it came from.
//!
//! - [`file`](mod@file): the TOML file (`logpipe.example.toml` documents every key).
//! - [`environment`]: every environment variable logpipe reads.
//! - [`spec`]: `gradio:`, `file:`, `es:`, `sqlite:`… as enums.
//! - [`resolve`]: precedence (flags > environment > file > defaults) and checks.
//! - [`origin`]: where each setting came from, for `config show`.
//!
//! Building what the configuration names (plugins, sources, sinks) is the
//! pipeline's ([`crate::pipeline::open`]); the command line only turns its
//! flags into [`Flags`].

pub mod environment;
pub mod file;
pub mod origin;
pub mod resolve;
pub mod spec;

pub use environment::{Environment, EsEnvironment};
pub use file::{RawConfig, RawStage, default_stages};
pub use origin::{ConfigEntry, Origin};
pub use resolve::{Config, DEFAULT_BATCH_LINES, DriftSettings, Flags, cores};
pub use spec::{DatasetSpec, EsAddress, SinkSpec, SourceSpec, SpecError, StoredSpec};

use std::path::PathBuf;

/// Why the configuration cannot be used. Every variant names what was wrong
/// and where (a file, a key, a variable).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (the OS's reason in the message, on one
    /// line with the path).
    #[error("cannot read configuration file {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, with line and column.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("{key}: {message}")]
    Invalid {
        /// Which setting, as in the file.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// An environment variable's value does not parse.
    #[error("environment variable {variable}: {message}")]
    Env {
        /// The variable.
        variable: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A source or sink text that is not one.
    #[error("{key} (from {origin}): {error}")]
    Spec {
        /// `source` or `sinks`.
        key: String,
        /// Where the text came from.
        origin: Origin,
        /// What is wrong with it (shown in the message, so not a `source`).
        error: SpecError,
    },
}
