//! `logpipe run`: polls the source continuously.

use super::common::PipelineArgs;
use super::exit::{self, ExitError};
use crate::ids::StateLock;
use crate::ops::metrics::bump;
use crate::ops::reload::{self, SharedPlan};
use crate::ops::{self, Metrics};
use crate::pipeline::Worker;
use crate::pipeline::poll::{PollError, PollReport};
use anyhow::Context;
use clap::Args;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Polls the source at the configured interval (default 10 s) until SIGINT or
/// SIGTERM, then finishes the poll in flight, writes the checkpoint and exits 0
/// (1 if the checkpoint could not be written). Source and sink failures are
/// logged and retried with capped exponential backoff and jitter; they never
/// end the run. A checkpoint that cannot be written does not slow polling: the
/// lines are remembered in memory and the write is tried at every poll. One
/// process at a time uses a state directory.
#[derive(Debug, Args)]
pub struct RunCommand {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Serve `/metrics` (Prometheus text) and `/health` on this address.
    #[arg(long, env = "LOGPIPE_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Serve the dashboard (`logpipe dashboard`'s pages, with the pipeline's
    /// figures) on this address, over the run's sqlite: sink; the drift tab
    /// uses `[drift] reference`. Use a loopback address unless the pages are
    /// behind your own access control.
    #[arg(long, env = "LOGPIPE_DASHBOARD_LISTEN", value_name = "ADDR")]
    dashboard_listen: Option<std::net::SocketAddr>,
}

/// Between two polls after failures: 1 s, 2 s, 4 s … 60 s.
const RETRY: crate::backoff::Backoff = crate::backoff::Backoff {
    first: Duration::from_secs(1),
    max: Duration::from_secs(60),
};

impl RunCommand {
    /// Runs until a stop signal.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        super::runtime()?.block_on(self.run())
    }

    async fn run(self) -> anyhow::Result<ExitCode> {
        let metrics = Arc::new(Metrics::default());
        let settings = self.pipeline.resolve()?;
        // Held for the life of the process, across configuration reloads.
        let _state_lock = StateLock::acquire(&settings.state_dir)
            .map_err(|e| ExitError::bad_input(crate::chain::chain(&e)))?;
        // One engine (compiled code, epoch ticker) for the life of the process;
        // a reload gives it the new configuration's limits.
        let engine = crate::pipeline::open::config_engine(&settings)?;
        // Handlers are installed now, so a signal during start-up or the first poll
        // is not fatal.
        let mut stop = StopSignal::install()?;
        let mut hangup = Hangup::install()?;
        let mut running = {
            // A service often starts before its Elasticsearch: wait for it. What the
            // user must fix (configuration, plugins) ends the run at once.
            let mut attempt = 0u32;
            loop {
                match Running::start(&self.pipeline, &engine, &metrics).await {
                    Ok(r) => break r,
                    Err(e) if exit::code_for(&e) != ExitCode::from(exit::FAILURE) => return Err(e),
                    Err(e) => {
                        attempt += 1;
                        let wait = RETRY.delay(attempt);
                        tracing::warn!(
                            retry_in_ms = wait.as_millis() as u64,
                            "cannot start yet, retrying: {}",
                            crate::redact::mask_url_password(&format!("{e:#}"))
                        );
                        tokio::select! {
                            _ = stop.received() => return Ok(ExitCode::SUCCESS),
                            _ = tokio::time::sleep(wait) => {}
                        }
                    }
                }
            }
        };
        if let Some(addr) = self.metrics_listen.or(running.settings.metrics_listen) {
            let bound = ops::server::serve(addr, metrics.clone())
                .await
                .with_context(|| format!("serving metrics on {addr}"))?;
            tracing::info!(%bound, "metrics on /metrics, health on /health");
        }
        if let Some(addr) = self.dashboard_listen {
            let (_, backend) =
                super::dashboard::backend(&running.settings, None).context("--dashboard-listen")?;
            let reference = running.drift_reference.clone();
            let history = Arc::new(crate::dashboard::pipeline::History::default());
            history.clone().sample_forever(metrics.clone());
            let bound = crate::dashboard::server::serve(
                addr,
                crate::dashboard::server::Dashboard {
                    backend,
                    reference,
                    pipeline: Some(history),
                },
            )
            .await
            .with_context(|| format!("serving the dashboard on {addr}"))?;
            tracing::info!(url = %format!("http://{bound}/"), "dashboard");
        }
        let (reload_tx, mut reload_rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
        let _config_watcher = match &self.pipeline.config {
            Some(path) => Some(watch_config(path, reload_tx.clone())?),
            None => None,
        };
        tracing::info!(
            source = %crate::redact::mask_url_password(&running.spec),
            sinks = ?running.settings.sinks.iter().map(ToString::to_string).collect::<Vec<_>>(),
            remembered = running.source.remembered(),
            "logpipe run started"
        );
        let mut failures = 0u32;
        // Polls since the checkpoint was last saved, when its saves fail.
        let mut unsaved_polls = 0u64;
        loop {
            metrics.stale_after.store(
                stale_after(running.settings.poll_interval).as_secs(),
                Ordering::Relaxed,
            );
            if running.shared.generation() != running.generation {
                running.generation = running.shared.generation();
                for e in running.worker.sync(&running.shared.plan()) {
                    tracing::error!(
                        "a worker could not switch plugin versions, it keeps the old one: {e}"
                    );
                }
            }
            let started = std::time::Instant::now();
            let polled = running
                .source
                .poll(
                    &mut running.worker,
                    &mut running.sinks,
                    running.settings.batch_lines,
                )
                .await;
            metrics.poll_latency.observe(started.elapsed());
            let wait = match polled {
                Ok(report) => {
                    failures = 0;
                    record(&metrics, &report);
                    match &report.checkpoint_error {
                        None => unsaved_polls = 0,
                        Some(e) => {
                            unsaved_polls += 1;
                            metrics.checkpoint_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::error!(
                                polls_unsaved = unsaved_polls,
                                "the lines were written but the checkpoint was not: {}; polling goes on and the save is tried again at the next poll",
                                exit::chain(e)
                            );
                        }
                    }
                    running
                        .shared
                        .remember(report.recent_messages.iter().rev().cloned());
                    write_verdicts(&metrics.drift, &mut running.sinks);
                    let s = &report.summary;
                    tracing::info!(
                        lines = s.lines,
                        kept = s.accepted,
                        stored = s.written.stored.values().sum::<u64>(),
                        already_present = s.written.already_present,
                        dead_letters = s.written.dead_letters,
                        plugin_errors = s.plugin_errors.values().sum::<u64>(),
                        plugin_failures = s.plugin_failures.values().sum::<u64>(),
                        requests = report.requests,
                        gap = report.gap.is_some(),
                        "poll"
                    );
                    running.settings.poll_interval
                }
                Err(e) => {
                    failures += 1;
                    let wait = RETRY.delay(failures);
                    let kind = match &e {
                        PollError::Source(s) => s.kind.name(),
                        PollError::Pipeline(_) => "pipeline",
                    };
                    bump(&metrics.source_errors, kind, 1);
                    match &e {
                        PollError::Source(s) => {
                            tracing::warn!(kind = s.kind.name(), url = %crate::redact::mask_url_password(&s.url), retry_in_ms = wait.as_millis() as u64, "source failed: {}", crate::redact::mask_url_password(&e.to_string()))
                        }
                        PollError::Pipeline(_) => tracing::error!(
                            retry_in_ms = wait.as_millis() as u64,
                            "poll failed, its lines will come again: {}",
                            crate::redact::mask_url_password(&format!("{e:#}"))
                        ),
                    }
                    wait
                }
            };
            let trigger = tokio::select! {
                _ = stop.received() => break,
                _ = tokio::time::sleep(wait) => None,
                _ = hangup.received() => Some("SIGHUP"),
                Some(why) = reload_rx.recv() => Some(why),
            };
            if let Some(why) = trigger {
                // One save can raise several events: take them as one reload.
                tokio::time::sleep(Duration::from_millis(200)).await;
                while reload_rx.try_recv().is_ok() {}
                // Start-up and reload share one code path; a configuration that does
                // not start leaves the running one in place.
                match Running::start(&self.pipeline, &engine, &metrics).await {
                    Ok(new) => {
                        running = new;
                        metrics.config_reloads.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(trigger = why, source = %crate::redact::mask_url_password(&running.spec), "configuration reloaded");
                    }
                    Err(e) => {
                        metrics
                            .config_reload_failures
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::error!(
                            trigger = why,
                            "new configuration refused, the running one stays: {}",
                            crate::redact::mask_url_password(&format!("{e:#}"))
                        );
                    }
                }
            }
        }
        if unsaved_polls > 0
            && let Err(e) = running.source.save_checkpoint()
        {
            tracing::error!(
                "stopped, but the checkpoint could not be written: {:#}. The lines delivered since the last save will be delivered again at the next start (harmless for es: and sqlite:, appended again by dir:)",
                anyhow::Error::new(e)
            );
            return Ok(ExitCode::from(exit::FAILURE));
        }
        tracing::info!("stopped; checkpoint is up to date");
        Ok(ExitCode::SUCCESS)
    }
}

/// Everything a run needs, built from the configuration by one code path at
/// start-up and on every reload.
struct Running {
    settings: crate::config::Config,
    spec: String,
    source: crate::pipeline::poll::WindowSource,
    worker: Worker,
    sinks: Vec<crate::sink::Sink>,
    shared: Arc<SharedPlan>,
    generation: u64,
    /// The reference of `[drift]`, read once for the monitor and the dashboard.
    drift_reference: Option<Arc<crate::drift::dataset::Dataset>>,
    _plugin_watcher: Option<notify::RecommendedWatcher>,
}

impl Running {
    async fn start(
        args: &PipelineArgs,
        engine: &crate::plugin::PluginEngine,
        metrics: &Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let settings = args.resolve()?;
        let spec = settings.source.clone().ok_or_else(|| {
            ExitError::bad_input(
                "no source: give --source, GRADIO_URL or `source` in the configuration",
            )
        })?;
        let source = crate::pipeline::open::window_source(&settings, &spec)?.ok_or_else(|| {
            ExitError::bad_input(format!(
                "source `{spec}`: `run` polls gradio: or rest: sources; use `once` for files"
            ))
        })?;
        let engine = engine.with_limits(settings.limits);
        let mut plan = crate::pipeline::open::plan(&settings, &engine)?;
        let mut sinks = crate::pipeline::open::sinks(&settings, &plan, false).await?;
        let mut drift_reference = None;
        if let Some(drift) = &settings.drift {
            let (sink, reference) = drift_sink(drift, &settings.env.elasticsearch, metrics)?;
            sinks.push(sink);
            drift_reference = Some(reference);
            plan.predictions = Some(DRIFT_WATCHES.into());
        }
        plan.prepare_for(&sinks);
        let worker = Worker::new(&plan, settings.timestamps.clone())?;
        let shared = SharedPlan::new(plan);
        let plugin_watcher = match &settings.plugins_dir {
            Some(dir) => Some(
                reload::watch(dir.clone(), engine.clone(), shared.clone(), metrics.clone())
                    .with_context(|| format!("watching the plugin directory {}", dir.display()))?,
            ),
            None => None,
        };
        Ok(Self {
            generation: shared.generation(),
            settings,
            spec: spec.to_string(),
            source,
            worker,
            sinks,
            shared,
            drift_reference,
            _plugin_watcher: plugin_watcher,
        })
    }
}

/// The index the drift monitor of `[drift]` watches.
const DRIFT_WATCHES: &str = crate::store::schema::MESSAGE_INDEX;

/// The drift monitor of `[drift]`, and its reference, read now.
fn drift_sink(
    drift: &crate::config::DriftSettings,
    es: &crate::config::EsEnvironment,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<(crate::sink::Sink, Arc<crate::drift::dataset::Dataset>)> {
    use crate::drift::monitor::{Monitor, MonitorSettings};
    let index = DRIFT_WATCHES;
    let started = std::time::Instant::now();
    let reference = super::drift::read_side(
        ("drift.reference", "drift.reference_range"),
        &drift.reference,
        drift.reference_range.as_ref(),
        index,
        es,
    )?;
    if reference.rows == 0 {
        return Err(ExitError::bad_input(format!(
            "drift.reference {}: no rows to compare with",
            drift.reference
        ))
        .into());
    }
    tracing::info!(
        reference = %drift.reference,
        rows = reference.rows,
        window = ?drift.window,
        every_s = drift.every.as_secs_f64(),
        read_ms = started.elapsed().as_millis() as u64,
        "drift monitor started"
    );
    let reference = Arc::new(reference);
    let monitor = Monitor::new(MonitorSettings {
        reference: reference.clone(),
        window: drift.window,
        every: drift.every,
        options: crate::drift::report::Options {
            drift_share: drift.drift_share,
            ..Default::default()
        },
    });
    let sink = crate::sink::Sink::Drift(crate::sink::drift::DriftSink::new(
        monitor,
        index.to_string(),
        metrics.drift.clone(),
    ));
    Ok((sink, reference))
}

/// Writes the drift verdicts made during the poll to the storing sinks (as
/// documents of `ml-api-drift`) and says when the dataset starts or stops
/// drifting.
pub(crate) fn write_verdicts(
    board: &crate::sink::drift::DriftBoard,
    sinks: &mut [crate::sink::Sink],
) {
    use crate::drift::monitor::Change;
    use crate::sink::Sink;
    for (at, report, change) in board.take_unwritten() {
        let drifted: Vec<&str> = report
            .columns
            .iter()
            .filter(|c| c.drifted)
            .map(|c| c.column.as_str())
            .collect();
        match change {
            Change::Started => tracing::warn!(
                share = report.share_of_drifted_columns,
                columns = ?drifted,
                current_rows = report.current_rows,
                "data drift: the dataset started drifting"
            ),
            Change::Stopped => tracing::warn!(
                share = report.share_of_drifted_columns,
                current_rows = report.current_rows,
                "data drift: the dataset stopped drifting"
            ),
            Change::None => tracing::debug!(
                share = report.share_of_drifted_columns,
                columns = ?drifted,
                "drift verdicts"
            ),
        }
        let docs = crate::sink::drift::verdict_documents(at, &report);
        for sink in sinks.iter_mut().filter(|s| !matches!(s, Sink::Drift(_))) {
            // On the runtime's thread: a local sink's write blocks it.
            let written = crate::sink::wait(&tokio::runtime::Handle::current(), sink.write(&docs));
            if let Err(e) = written {
                // Verdicts are recomputed every interval; one lost is not data lost.
                tracing::warn!("drift verdicts not stored: {e}");
            }
        }
    }
}

/// Sends a reload request when the configuration file changes.
fn watch_config(
    path: &std::path::Path,
    tx: tokio::sync::mpsc::UnboundedSender<&'static str>,
) -> anyhow::Result<notify::RecommendedWatcher> {
    let path = std::fs::canonicalize(path)
        .with_context(|| format!("configuration file {}", path.display()))?;
    let dir = path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let name = path.file_name().map(|n| n.to_os_string());
    let watcher = crate::ops::watch::watch_dir(
        &dir,
        move |p| p.file_name().map(|n| n.to_os_string()) == name,
        move |_| {
            let _ = tx.send("configuration file changed");
        },
    )?;
    Ok(watcher)
}

/// SIGHUP: reload the configuration.
struct Hangup {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Hangup {
    fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                signal: signal(SignalKind::hangup()).context("installing the SIGHUP handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn received(&mut self) {
        #[cfg(unix)]
        {
            self.signal.recv().await;
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}

/// Adds a poll's figures to the metrics.
pub(crate) fn record(metrics: &Metrics, report: &PollReport) {
    let s = &report.summary;
    metrics
        .lines_collected
        .fetch_add(s.lines, Ordering::Relaxed);
    metrics.write_latency.observe(report.write_time);
    metrics
        .duplicates
        .fetch_add(report.duplicates, Ordering::Relaxed);
    metrics.lines_kept.fetch_add(s.accepted, Ordering::Relaxed);
    metrics
        .gaps
        .fetch_add(u64::from(report.gap.is_some()), Ordering::Relaxed);
    for (index, n) in &s.written.stored {
        bump(&metrics.documents, index, *n);
    }
    metrics
        .already_present
        .fetch_add(s.written.already_present, Ordering::Relaxed);
    metrics
        .dead_letters
        .fetch_add(s.written.dead_letters, Ordering::Relaxed);
    metrics
        .retries
        .fetch_add(s.written.retries, Ordering::Relaxed);
    for (plugin, n) in &s.plugin_errors {
        bump(&metrics.plugin_errors, plugin, *n);
    }
    for (plugin, n) in &s.plugin_failures {
        bump(&metrics.plugin_failures, plugin, *n);
    }
    for (plugin, n) in &s.plugin_skipped {
        bump(&metrics.plugin_skipped, plugin, *n);
    }
    let now = jiff::Timestamp::now().as_second().max(0) as u64;
    metrics.last_success.store(now, Ordering::Relaxed);
}

/// How old the last successful poll may be before `/health` says the run is
/// stale: several poll intervals, and never less than a minute of backoff.
fn stale_after(poll_interval: Duration) -> Duration {
    (poll_interval * 3).max(RETRY.max) + Duration::from_secs(30)
}

/// SIGINT and SIGTERM.
struct StopSignal {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
                int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Resolves when a stop signal has arrived (immediately if one already did).
    async fn received(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
