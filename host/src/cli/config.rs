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
        // What each stage sees, once its plugin is loaded (a filter is known
        // by its kind); `check` says why a plugin does not load.
        match crate::pipeline::open::config_engine(&settings)
            .map_err(anyhow::Error::new)
            .and_then(|e| crate::pipeline::open::plan(&settings, &e))
        {
            Ok(plan) => {
                for (n, stage) in plan.stages.iter().enumerate() {
                    let reach = plan.reach(n);
                    let sees = if reach.contains("sees only") {
                        ""
                    } else {
                        "; sees every line"
                    };
                    println!(
                        "{:<width$}  {} ({}){sees}{reach}",
                        format!("stage {}", n + 1),
                        stage.plugin.info().name,
                        stage.plugin.info().kind,
                    );
                }
            }
            Err(e) => println!(
                "{:<width$}  not loaded ({}); `logpipe check` says more",
                "stages",
                super::exit::chain(e.as_ref())
            ),
        }
        Ok(ExitCode::SUCCESS)
    }
}
