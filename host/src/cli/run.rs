//! `logpipe run`: polls the source continuously.

use super::common::PipelineArgs;
use super::exit::ExitError;
use crate::pipeline::Worker;
use crate::pipeline::poll::PollError;
use anyhow::Context;
use clap::Args;
use std::process::ExitCode;
use std::time::Duration;

/// Polls the source at the configured interval (default 10 s) until SIGINT or
/// SIGTERM, then finishes the poll in flight, writes the checkpoint and exits 0.
/// Source and sink failures are logged and retried with capped exponential
/// backoff and jitter; they never end the run.
#[derive(Debug, Args)]
pub struct RunCommand {
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// Longest wait between two attempts after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl RunCommand {
    /// Runs until a stop signal.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?;
        runtime.block_on(self.run())
    }

    async fn run(self) -> anyhow::Result<ExitCode> {
        let settings = self.pipeline.resolve()?;
        let spec = settings.source.clone().ok_or_else(|| {
            ExitError::bad_input(
                "no source: give --source, GRADIO_URL or `source` in the configuration",
            )
        })?;
        let mut source = settings.window_source(&spec)?.ok_or_else(|| {
            ExitError::bad_input(format!(
                "source `{spec}`: `run` polls gradio: or rest: sources; use `once` for files"
            ))
        })?;
        let engine = settings.engine()?;
        let plan = settings.plan(&engine)?;
        let mut worker = Worker::new(&plan, settings.run.timestamps.clone())?;
        let mut sinks = settings.open_sinks(&plan)?;
        tracing::info!(source = %spec, sinks = ?settings.sinks, remembered = source.remembered(), "logpipe run started");

        let mut stop = Box::pin(stop_signal());
        let mut failures = 0u32;
        loop {
            let wait = match source
                .poll(&mut worker, &mut sinks, settings.run.batch_lines)
                .await
            {
                Ok(report) => {
                    failures = 0;
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
                    settings.poll_interval
                }
                Err(e) => {
                    failures += 1;
                    let wait = backoff(failures);
                    match &e {
                        PollError::Source(s) => {
                            tracing::warn!(kind = s.kind.name(), url = %s.url, retry_in_ms = wait.as_millis() as u64, "source failed: {e}")
                        }
                        PollError::Pipeline(_) => tracing::error!(
                            retry_in_ms = wait.as_millis() as u64,
                            "poll failed, its lines will come again: {e:#}"
                        ),
                    }
                    wait
                }
            };
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!("stopped; checkpoint is up to date");
        Ok(ExitCode::SUCCESS)
    }
}

/// Capped exponential backoff with ±25 % jitter: 1 s, 2 s, 4 s … 60 s.
pub fn backoff(failures: u32) -> Duration {
    let base = Duration::from_secs(1).saturating_mul(1 << failures.saturating_sub(1).min(6));
    let base = base.min(MAX_BACKOFF);
    let jitter = 0.75 + fastrand::f64() * 0.5;
    base.mul_f64(jitter)
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(1) <= Duration::from_millis(1250));
        assert!(backoff(3) >= Duration::from_secs(3));
        assert!(backoff(50) <= MAX_BACKOFF.mul_f64(1.25));
    }
}
