//! Exit codes, and errors that choose them.

use std::process::ExitCode;

/// Success.
pub const OK: u8 = 0;
/// Something failed while running (indexing, I/O, a source that never answered).
pub const FAILURE: u8 = 1;
/// The input or the configuration is wrong (what the user gave).
pub const BAD_INPUT: u8 = 2;
/// A plugin could not be loaded, refused its configuration, or failed while running.
pub const PLUGIN_FAILURE: u8 = 3;
/// `drift --fail-on-drift`: the dataset drifted.
pub const DRIFTED: u8 = 4;

/// An error that knows its exit code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitError {
    /// The exit code.
    pub code: u8,
    /// What to tell the user.
    pub message: String,
}

impl ExitError {
    /// Bad input or configuration.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self {
            code: BAD_INPUT,
            message: message.into(),
        }
    }

    /// A plugin problem.
    pub fn plugin(message: impl Into<String>) -> Self {
        Self {
            code: PLUGIN_FAILURE,
            message: message.into(),
        }
    }
}

pub use crate::chain::chain;

/// The exit code for an error: the first [`ExitError`], configuration error,
/// opening error or plugin load error in its chain decides, anything else is a
/// runtime failure.
pub fn code_for(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<ExitError>() {
            return ExitCode::from(e.code);
        }
        if cause.downcast_ref::<crate::config::ConfigError>().is_some()
            || cause.downcast_ref::<crate::config::SpecError>().is_some()
        {
            return ExitCode::from(BAD_INPUT);
        }
        if let Some(e) = cause.downcast_ref::<crate::pipeline::open::OpenError>() {
            return ExitCode::from(if e.is_bad_input() { BAD_INPUT } else { FAILURE });
        }
        if cause.downcast_ref::<crate::plugin::LoadError>().is_some() {
            return ExitCode::from(PLUGIN_FAILURE);
        }
    }
    ExitCode::from(FAILURE)
}
