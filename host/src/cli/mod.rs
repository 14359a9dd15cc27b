//! The command line: one subcommand per file, each with `execute`.

pub mod bench;
pub mod check;
pub mod common;
pub mod config;
pub mod dashboard;
pub mod dead_letters;
pub mod demo;
pub mod drift;
pub mod exit;
pub mod export;
pub mod once;
pub mod plugin;
pub mod progress;
pub mod run;
pub mod simulate;
pub mod store;
pub mod trace;

use clap::{Parser, Subcommand, ValueEnum};

/// logpipe moves the logs of an ML prediction API into Elasticsearch, parsing and
/// filtering them with sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(
    name = "logpipe",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Log format of logpipe's own messages (on stderr).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "LOGPIPE_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// Log filter, in `tracing` syntax (e.g. `info`, `logpipe=debug`).
    #[arg(long, global = true, default_value = "info", env = "LOGPIPE_LOG")]
    pub log: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Format of logpipe's own log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure plugins (component against native) and the whole pipeline on a corpus.
    Bench(bench::BenchCommand),
    /// Verify the configuration, plugins, source and sinks, and say how to fix problems.
    Check(check::CheckCommand),
    /// Show the effective configuration.
    Config(config::ConfigCommand),
    /// Monitoring pages over the embedded store or Elasticsearch: predictions, drift,
    /// performance, traces.
    Dashboard(dashboard::DashboardCommand),
    /// Look at and re-send the documents Elasticsearch refused.
    DeadLetters(dead_letters::DeadLettersCommand),
    /// The pipeline on simulated traffic into the embedded store; no server needed.
    Demo(demo::DemoCommand),
    /// Data drift of the model's inputs and outputs, as Evidently's DataDriftPreset.
    Drift(drift::DriftCommand),
    /// Export predictions (to Parquet, for drift analysis).
    Export(export::ExportCommand),
    /// One collect-filter-parse-index cycle, then exit (with --source file: a replay).
    Once(once::OnceCommand),
    /// Check, run and inspect plugins (for plugin authors).
    Plugin(plugin::PluginCommand),
    /// Poll the source continuously (default every 10 s) until SIGINT/SIGTERM.
    Run(run::RunCommand),
    /// Serve a simulated, growing log window (Gradio protocol and REST route).
    Simulate(simulate::SimulateCommand),
    /// Look at the embedded store (documents per index, time span, size).
    Store(store::StoreCommand),
    /// Show one transaction across the indices.
    Trace(trace::TraceCommand),
    /// Internal: compiles a component read on stdin (the bounded compiler's child).
    #[command(name = "__compile-component", hide = true)]
    CompileComponent,
}

impl Command {
    /// Runs the command.
    pub fn execute(self) -> anyhow::Result<std::process::ExitCode> {
        match self {
            Command::Bench(cmd) => cmd.execute(),
            Command::Check(cmd) => cmd.execute(),
            Command::Config(cmd) => cmd.execute(),
            Command::Dashboard(cmd) => cmd.execute(),
            Command::DeadLetters(cmd) => cmd.execute(),
            Command::Demo(cmd) => cmd.execute(),
            Command::Drift(cmd) => cmd.execute(),
            Command::Export(cmd) => cmd.execute(),
            Command::Once(cmd) => cmd.execute(),
            Command::Plugin(cmd) => cmd.execute(),
            Command::Run(cmd) => cmd.execute(),
            Command::Simulate(cmd) => cmd.execute(),
            Command::Store(cmd) => cmd.execute(),
            Command::Trace(cmd) => cmd.execute(),
            Command::CompileComponent => {
                crate::plugin::compiler::serve_child()?;
                Ok(std::process::ExitCode::SUCCESS)
            }
        }
    }
}

/// The async runtime of a command (HTTP sources, sinks and servers).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    /// Commands over what was stored list no pipeline flag in their help.
    #[test]
    fn reading_commands_offer_only_the_flags_they_use() {
        let mut cli = Cli::command();
        for name in ["trace", "export", "dashboard", "dead-letters", "store"] {
            let command = cli.find_subcommand_mut(name).expect(name);
            let mut help = Vec::new();
            command.write_long_help(&mut help).unwrap();
            let mut text = String::from_utf8(help).unwrap();
            for sub in command.get_subcommands_mut() {
                let mut help = Vec::new();
                sub.write_long_help(&mut help).unwrap();
                text.push_str(&String::from_utf8(help).unwrap());
            }
            for flag in [
                "--workers",
                "--batch-lines",
                "--plugins",
                "--source-time-zone",
            ] {
                assert!(!text.contains(flag), "{name} --help lists {flag}");
            }
            assert!(text.contains("--sink") || name == "dashboard", "{name}");
        }
        for name in ["demo", "bench"] {
            let mut help = Vec::new();
            cli.find_subcommand_mut(name)
                .unwrap()
                .write_long_help(&mut help)
                .unwrap();
            let text = String::from_utf8(help).unwrap();
            for flag in ["--source <", "--workers", "--sink <"] {
                assert!(!text.contains(flag), "{name} --help lists {flag}");
            }
        }
        let once = cli.find_subcommand_mut("once").unwrap();
        let mut help = Vec::new();
        once.write_long_help(&mut help).unwrap();
        assert!(String::from_utf8(help).unwrap().contains("--workers"));
    }
}
