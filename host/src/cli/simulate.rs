//! `logpipe simulate`: serves a realistic, growing window like the source API.

use crate::simulate::{Knobs, Simulator};
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::process::ExitCode;

/// Serves a growing 1000-line window of generated API logs through Gradio's call
/// protocol (`POST /gradio_api/call/logs_api`, then the event stream) and the REST
/// route (`GET /logs?limit=&offset=`), until interrupted. Every line produced is
/// listed at `GET /_simulator/ledger`.
#[derive(Debug, Args)]
pub struct SimulateCommand {
    /// Address to listen on (port 0 picks a free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:7860")]
    listen: SocketAddr,
    /// New log lines per second.
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Lines already in the window at start.
    #[arg(long, default_value_t = 300)]
    initial_lines: usize,
    /// Share of events that are prediction calls (0..1).
    #[arg(long, default_value_t = 0.4)]
    prediction_share: f64,
    /// Do not write performance lines (ENABLE_PERFORMANCE_MONITORING=false).
    #[arg(long)]
    no_performance: bool,
    /// Share of prediction calls that fail (422, 400, 500).
    #[arg(long, default_value_t = 0.05)]
    error_rate: f64,
    /// Time of the first line (RFC 3339 or YYYY-MM-DD), for a log in the
    /// past. Default: the lines at start end now and new lines carry the
    /// clock's time.
    #[arg(long)]
    start: Option<String>,
    /// Random seed.
    #[arg(long, default_value_t = 20251121)]
    seed: u64,
    #[command(flatten)]
    drift: DriftArgs,
}

/// Simulated data drift (the original simulator's knobs).
#[derive(Debug, Clone, Args)]
pub struct DriftArgs {
    /// Drift AGE toward this mean (without drift: uniform 20-90, mean 55).
    #[arg(long, value_name = "MEAN")]
    pub drift_age: Option<f64>,
    /// Drift the share of smokers toward this (without drift: 0.5).
    #[arg(long, value_name = "SHARE")]
    pub drift_smokers: Option<f64>,
    /// Drift the share of positive predictions toward this (without drift: 0.5).
    #[arg(long, value_name = "SHARE")]
    pub drift_positive: Option<f64>,
    /// Predictions before the drift starts.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub drift_after: u64,
    /// Predictions over which the drift reaches its targets.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub drift_over: u64,
}

impl DriftArgs {
    /// The knobs, shares clamped to 0..1 and AGE to 20..90.
    pub fn knobs(&self) -> crate::simulate::Drift {
        crate::simulate::Drift {
            age_mean: self.drift_age.map(|a| a.clamp(20.0, 90.0)),
            smokers: self.drift_smokers.map(|s| s.clamp(0.0, 1.0)),
            positive_rate: self.drift_positive.map(|s| s.clamp(0.0, 1.0)),
            after: self.drift_after,
            over: self.drift_over.max(1),
        }
    }
}

impl SimulateCommand {
    /// Serves until SIGINT.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let runtime = super::runtime()?;
        runtime.block_on(async {
            let knobs = Knobs {
                seed: self.seed,
                prediction_share: self.prediction_share.clamp(0.0, 1.0),
                performance_monitoring: !self.no_performance,
                error_rate: self.error_rate.clamp(0.0, 1.0),
                start: self
                    .start
                    .as_deref()
                    .map(|t| {
                        crate::export::read::parse_time(t).map(|t| {
                            t.parse::<jiff::Timestamp>()
                                .expect("parse_time writes RFC 3339")
                                .as_second()
                        })
                    })
                    .transpose()
                    .map_err(|e| super::exit::ExitError::bad_input(format!("--start: {e}")))?,
                drift: self.drift.knobs(),
            };
            let sim = Simulator::start(self.listen, knobs, self.initial_lines)
                .await
                .with_context(|| format!("listening on {}", self.listen))?;
            if self.rate > 0.0 {
                sim.grow(self.rate);
            }
            println!("simulator listening on http://{}", sim.addr());
            println!(
                "  gradio: logpipe run --source gradio:http://{}",
                sim.addr()
            );
            println!(
                "  rest:   logpipe run --source rest:http://{}/logs",
                sim.addr()
            );
            tokio::signal::ctrl_c().await.ok();
            Ok(ExitCode::SUCCESS)
        })
    }
}
