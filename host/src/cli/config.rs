//! `logpipe config show`: the effective configuration and where each value came from.

use super::common::PipelineArgs;
use clap::{Args, Subcommand};
use std::process::ExitCode;

/// Inspect the configuration.
#[derive(Debug, Args)]
pub struct ConfigCommand {
    #[command(subcommand)]
    action: ConfigAction,
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Prints every effective setting with its origin (flag, environment, file or
    /// default); secrets are masked.
    Show {
        #[command(flatten)]
        pipeline: PipelineArgs,
    },
}

impl ConfigCommand {
    /// Runs the subcommand.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let ConfigAction::Show { pipeline } = self.action;
        let settings = pipeline.resolve()?;
        let width = settings
            .origins
            .iter()
            .map(|e| e.key.len())
            .max()
            .unwrap_or(0);
        for e in &settings.origins {
            println!("{:<width$}  {}  ({})", e.key, e.value, e.origin);
        }
        Ok(ExitCode::SUCCESS)
    }
}
