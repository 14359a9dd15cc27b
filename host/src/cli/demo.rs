//! `logpipe demo`: the whole pipeline on simulated traffic, into the embedded
//! store, with no server to install.

use super::common::PluginArgs;
use crate::ids::Checkpoint;
use crate::pipeline::Worker;
use crate::pipeline::collect::Collector;
use crate::pipeline::poll::WindowSource;
use crate::pipeline::run::RunSummary;
use crate::simulate::{Knobs, Simulator};
use crate::sink::Sink;
use crate::source::http::{Endpoint, PageFetcher};
use crate::store::schema::MESSAGE_INDEX;
use crate::store::{Retention, StoreReader, StoreWriter};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Starts the simulator in-process on a free loopback port (start-up lines,
/// predictions with their performance lines, health checks, GET calls, failed
/// calls), runs the pipeline against it through Gradio's protocol into the
/// embedded store, then prints what it did and traces one prediction across
/// the indices.
#[derive(Debug, Args)]
pub struct DemoCommand {
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Simulated log lines per second.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Random seed of the traffic.
    #[arg(long, default_value_t = 20251121)]
    seed: u64,
    /// The embedded store to write (default: a new one in a temporary directory).
    #[arg(long)]
    store: Option<PathBuf>,
    /// Simulate data drift: AGE toward 70, 80 % smokers and 70 % positive
    /// predictions after the first third of the run, then compare the last
    /// third with the first (`logpipe drift`) and show the verdicts.
    #[arg(long)]
    drift: bool,
    /// Then keep the simulator and the pipeline running and serve the
    /// dashboard on the store until Ctrl-C (the drift reference is the
    /// predictions collected so far; with --drift the drift starts after them).
    #[arg(long)]
    dashboard: bool,
    /// Where the dashboard listens (loopback by default; port 0 picks one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    dashboard_listen: std::net::SocketAddr,
    #[command(flatten)]
    pipeline: PluginArgs,
}

impl DemoCommand {
    /// Runs the demo.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        super::runtime()?.block_on(self.run())
    }

    async fn run(self) -> anyhow::Result<ExitCode> {
        let settings = self.pipeline.resolve(None)?;
        let dir = tempfile::Builder::new().prefix("logpipe-demo-").tempdir()?;
        let temporary = self.store.is_none();
        let store = self.store.unwrap_or_else(|| dir.path().join("store.db"));
        let mut knobs = Knobs {
            seed: self.seed,
            ..Knobs::default()
        };
        if self.drift {
            // About 0.27 predictions per line (the 300 lines at start
            // included); the drift starts after the first third of the
            // predictions and is complete soon after.
            // With the dashboard, the timed part is the reference: the
            // drift starts after it.
            let predictions = ((self.duration.max(0.5) * self.rate + 300.0) * 0.27) as u64;
            let after = if self.dashboard {
                predictions
            } else {
                predictions / 3
            };
            knobs.drift = crate::simulate::Drift {
                age_mean: Some(70.0),
                smokers: Some(0.8),
                positive_rate: Some(0.7),
                after,
                over: (predictions / 12).max(1),
            };
        }
        let sim = Simulator::start("127.0.0.1:0".parse().expect("address"), knobs, 300)
            .await
            .context("starting the simulator")?;
        sim.grow(self.rate);
        let url = format!("http://{}", sim.addr());
        println!(
            "logpipe demo: simulated API on {url}, {} s, embedded store {}",
            self.duration,
            store.display()
        );

        let engine = crate::pipeline::open::config_engine(&settings)?;
        let mut plan = crate::pipeline::open::plan(&settings, &engine)?;
        if self.dashboard {
            // The drift monitor below watches it.
            plan.predictions = Some(MESSAGE_INDEX.into());
        }
        let mut sinks = vec![Sink::Sqlite(Box::new(
            StoreWriter::open(&store, Retention::keep_all()).context("opening the store")?,
        ))];
        plan.prepare_for(&sinks);
        let mut worker = Worker::new(&plan, settings.timestamps.clone())?;
        let collector = Collector::new(PageFetcher::new(
            Endpoint::Gradio {
                base: url.clone(),
                api: "logs_api".into(),
            },
            None,
        ));
        let mut source = WindowSource::open(collector, Checkpoint::new(dir.path(), &url))?;
        let mut total = RunSummary::default();
        let (mut polls, mut requests) = (0u32, 0u32);
        let deadline = Instant::now() + Duration::from_secs_f64(self.duration.max(0.5));
        let mut last = false;
        let metrics = std::sync::Arc::new(crate::ops::metrics::Metrics::default());
        loop {
            if Instant::now() >= deadline && !self.dashboard {
                // Stop the traffic, then one last poll collects what is left.
                sim.stop_growing();
                last = true;
            }
            let report = source
                .poll(&mut worker, &mut sinks, settings.batch_lines)
                .await?;
            polls += 1;
            requests += report.requests;
            super::run::record(&metrics, &report);
            total.absorb(report.summary);
            if last || (self.dashboard && Instant::now() >= deadline) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!(
            "{polls} polls, {requests} page requests; the simulator logged {} lines",
            sim.ledger().len()
        );
        super::once::print_summary(&total);
        println!("  dead letters: {}", total.written.dead_letters);

        let mut reader = StoreReader::open(&store)?;
        let tx: Option<String> = reader
            .documents(Default::default(), None)?
            .query_row(
                "SELECT m.transaction_id FROM documents m JOIN documents p
                   ON p.transaction_key = m.transaction_key AND p.transaction_id = m.transaction_id
                  AND p.index_name = 'ml-api-perfs'
                 WHERE m.index_name = 'ml-api-message' LIMIT 1",
                [],
                |r| r.get(0),
            )
            .ok();
        if let Some(tx) = tx {
            println!("\none transaction across the indices (logpipe trace {tx}):");
            for (index, id, source) in reader.trace(&tx)? {
                let shown: String = source.chars().take(150).collect();
                println!("  {index:<15} {id}  {shown}…");
            }
        }
        if self.drift && !self.dashboard {
            show_drift(&reader)?;
        }
        if self.dashboard {
            let reference = crate::drift::store::read(
                &reader,
                MESSAGE_INDEX,
                crate::store::reader::TimeRange::default(),
            )?;
            let reference = std::sync::Arc::new(reference);
            // Verdicts every 10 s over the last 300 predictions, stored as in
            // `run` with `[drift]`, so that the drift tab draws them over time.
            sinks.push(Sink::Drift(crate::sink::drift::DriftSink::new(
                crate::drift::monitor::Monitor::new(crate::drift::monitor::MonitorSettings {
                    reference: reference.clone(),
                    window: crate::drift::monitor::Window::Predictions(300),
                    every: Duration::from_secs(10),
                    options: Default::default(),
                }),
                MESSAGE_INDEX.into(),
                metrics.drift.clone(),
            )));
            let history = std::sync::Arc::new(crate::dashboard::pipeline::History::default());
            history.clone().sample_forever(metrics.clone());
            let addr = crate::dashboard::server::serve(
                self.dashboard_listen,
                crate::dashboard::server::Dashboard {
                    backend: crate::dashboard::server::Backend::Store(store.clone()),
                    reference: Some(reference),
                    pipeline: Some(history),
                },
            )
            .await
            .with_context(|| format!("serving the dashboard on {}", self.dashboard_listen))?;
            println!(
                "\ndashboard on http://{addr}/ (the simulator and the pipeline go on{}); Ctrl-C stops",
                if self.drift {
                    ", drifting from now"
                } else {
                    ""
                }
            );
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                match source
                    .poll(&mut worker, &mut sinks, settings.batch_lines)
                    .await
                {
                    Ok(report) => super::run::record(&metrics, &report),
                    Err(e) => tracing::warn!("poll failed: {e}"),
                }
                super::run::write_verdicts(&metrics.drift, &mut sinks);
            }
            sim.stop_growing();
        }
        if temporary {
            println!(
                "\n(the store was temporary; keep one with --store PATH and read it with `logpipe store sql` or sqlite3)"
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Compares the last third of the predictions with the first (before the
/// simulated drift) and prints the verdicts.
fn show_drift(reader: &StoreReader) -> anyhow::Result<()> {
    use crate::drift::{report, store};
    let seqs: Vec<i64> = reader
        .documents(Default::default(), None)?
        .prepare(
            "SELECT seq FROM documents WHERE index_name = 'ml-api-message'
               AND prediction IS NOT NULL ORDER BY seq",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if seqs.len() < 30 {
        println!(
            "\ntoo few predictions for a drift report ({}): run longer",
            seqs.len()
        );
        return Ok(());
    }
    let third = seqs.len() / 3;
    let range = crate::store::reader::TimeRange::default();
    let first = store::read_slice(reader, "ml-api-message", range, Some(seqs[0]..seqs[third]))?;
    let last = store::read_slice(
        reader,
        "ml-api-message",
        range,
        Some(seqs[seqs.len() - third]..i64::MAX),
    )?;
    let report = report::compare(&first, &last, &report::Options::default())?;
    println!("\ndrift of the last {third} predictions against the first {third} (logpipe drift):");
    super::drift::print_table(&report);
    Ok(())
}
