//! Counters of a running pipeline, rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A latency summary: count and sum of seconds.
#[derive(Debug, Default)]
pub struct Timing {
    count: AtomicU64,
    micros: AtomicU64,
}

impl Timing {
    /// Records one duration.
    pub fn observe(&self, d: std::time::Duration) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

/// Every counter logpipe exposes at `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// New lines collected.
    pub lines_collected: AtomicU64,
    /// Lines read again from the window and recognised as already delivered.
    pub duplicates: AtomicU64,
    /// Lines kept by the filters.
    pub lines_kept: AtomicU64,
    /// Gaps detected in the window.
    pub gaps: AtomicU64,
    /// Documents stored, per index.
    pub documents: Mutex<BTreeMap<String, u64>>,
    /// Documents already present when sent.
    pub already_present: AtomicU64,
    /// Documents dead-lettered.
    pub dead_letters: AtomicU64,
    /// Documents sent again after a retryable failure.
    pub retries: AtomicU64,
    /// Source failures, per kind.
    pub source_errors: Mutex<BTreeMap<String, u64>>,
    /// Per-line plugin errors, per plugin.
    pub plugin_errors: Mutex<BTreeMap<String, u64>>,
    /// Per-line plugin failures (trap, timeout, memory), per plugin.
    pub plugin_failures: Mutex<BTreeMap<String, u64>>,
    /// Lines a paused plugin was not called on, per plugin.
    pub plugin_skipped: Mutex<BTreeMap<String, u64>>,
    /// Checkpoint writes that failed (the lines were written; retried next poll).
    pub checkpoint_failures: AtomicU64,
    /// Successful plugin reloads, per plugin.
    pub reloads: Mutex<BTreeMap<String, u64>>,
    /// Refused plugin files, per plugin.
    pub reload_failures: Mutex<BTreeMap<String, u64>>,
    /// Time from a file change to the new version being live.
    pub reload_latency: Timing,
    /// Duration of polls.
    pub poll_latency: Timing,
    /// Duration of sink writes.
    pub write_latency: Timing,
    /// Configuration reloads applied.
    pub config_reloads: AtomicU64,
    /// New configurations refused (the running one kept).
    pub config_reload_failures: AtomicU64,
    /// Unix time of the last successful poll.
    pub last_success: AtomicU64,
    /// Seconds after which a run without a successful poll is stale (`/health`).
    pub stale_after: AtomicU64,
    /// The latest drift verdicts (continuous drift).
    pub drift: std::sync::Arc<crate::sink::drift::DriftBoard>,
}

/// Adds `n` to `map[key]`.
pub fn bump(map: &Mutex<BTreeMap<String, u64>>, key: &str, n: u64) {
    if n > 0 {
        *map.lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default() += n;
    }
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

fn labelled(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    map: &Mutex<BTreeMap<String, u64>>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (k, v) in map.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {v}", label_value(k));
    }
}

/// A label value in the text format: backslashes, `"` and line feeds escaped (a
/// plugin's name or a column comes from outside; a raw line feed would end
/// the sample and let the rest pass as another series).
fn label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn summary(out: &mut String, name: &str, help: &str, t: &Timing) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} summary\n{name}_count {}\n{name}_sum {}",
        t.count.load(Ordering::Relaxed),
        t.micros.load(Ordering::Relaxed) as f64 / 1e6
    );
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        counter(
            &mut out,
            "logpipe_lines_collected_total",
            "New lines collected from the source.",
            l(&self.lines_collected),
        );
        counter(
            &mut out,
            "logpipe_duplicate_lines_total",
            "Lines read again and recognised as already delivered.",
            l(&self.duplicates),
        );
        counter(
            &mut out,
            "logpipe_lines_kept_total",
            "Lines kept by the filters.",
            l(&self.lines_kept),
        );
        counter(
            &mut out,
            "logpipe_gaps_total",
            "Polls where lines may have left the window unseen.",
            l(&self.gaps),
        );
        labelled(
            &mut out,
            "logpipe_documents_total",
            "Documents stored, per index.",
            "index",
            &self.documents,
        );
        counter(
            &mut out,
            "logpipe_documents_already_present_total",
            "Documents already indexed when sent.",
            l(&self.already_present),
        );
        counter(
            &mut out,
            "logpipe_dead_letters_total",
            "Documents written to the dead-letter file.",
            l(&self.dead_letters),
        );
        counter(
            &mut out,
            "logpipe_retries_total",
            "Documents sent again after a retryable failure.",
            l(&self.retries),
        );
        labelled(
            &mut out,
            "logpipe_source_errors_total",
            "Failed polls, per kind.",
            "kind",
            &self.source_errors,
        );
        labelled(
            &mut out,
            "logpipe_plugin_errors_total",
            "Lines a plugin reported an error for.",
            "plugin",
            &self.plugin_errors,
        );
        labelled(
            &mut out,
            "logpipe_plugin_failures_total",
            "Lines a plugin trapped, timed out or ran out of memory on.",
            "plugin",
            &self.plugin_failures,
        );
        labelled(
            &mut out,
            "logpipe_plugin_skipped_total",
            "Lines a plugin was not called on because it failed too often in a row (circuit breaker).",
            "plugin",
            &self.plugin_skipped,
        );
        counter(
            &mut out,
            "logpipe_checkpoint_failures_total",
            "Checkpoint writes that failed after the lines were written (retried at the next poll).",
            l(&self.checkpoint_failures),
        );
        labelled(
            &mut out,
            "logpipe_plugin_reloads_total",
            "Plugin files reloaded.",
            "plugin",
            &self.reloads,
        );
        labelled(
            &mut out,
            "logpipe_plugin_reload_failures_total",
            "Plugin files refused (old version kept).",
            "plugin",
            &self.reload_failures,
        );
        counter(
            &mut out,
            "logpipe_config_reloads_total",
            "Configuration reloads applied.",
            l(&self.config_reloads),
        );
        counter(
            &mut out,
            "logpipe_config_reload_failures_total",
            "New configurations refused (the running one kept).",
            l(&self.config_reload_failures),
        );
        summary(
            &mut out,
            "logpipe_plugin_reload_seconds",
            "Time from a file change to the new version being live.",
            &self.reload_latency,
        );
        summary(
            &mut out,
            "logpipe_poll_seconds",
            "Duration of polls.",
            &self.poll_latency,
        );
        summary(
            &mut out,
            "logpipe_write_seconds",
            "Duration of sink writes.",
            &self.write_latency,
        );
        if let Some(report) = self.drift.latest() {
            drift_gauges(&mut out, &report);
        }
        let _ = writeln!(
            out,
            "# HELP logpipe_last_success_timestamp_seconds Unix time of the last successful poll.\n# TYPE logpipe_last_success_timestamp_seconds gauge\nlogpipe_last_success_timestamp_seconds {}",
            l(&self.last_success)
        );
        out
    }
}

/// The drift verdicts as gauges.
fn drift_gauges(out: &mut String, report: &crate::drift::report::Report) {
    let _ = writeln!(
        out,
        "# HELP logpipe_drift_value The latest drift test value per column (p-value or distance).\n# TYPE logpipe_drift_value gauge"
    );
    for c in &report.columns {
        let _ = writeln!(
            out,
            "logpipe_drift_value{{column=\"{}\",test=\"{}\"}} {}",
            label_value(&c.column),
            c.test,
            c.value.unwrap_or(f64::NAN)
        );
    }
    let _ = writeln!(
        out,
        "# HELP logpipe_drift_detected Whether the column drifted at the latest verdict.\n# TYPE logpipe_drift_detected gauge"
    );
    for c in &report.columns {
        let _ = writeln!(
            out,
            "logpipe_drift_detected{{column=\"{}\"}} {}",
            label_value(&c.column),
            u8::from(c.drifted)
        );
    }
    let _ = writeln!(
        out,
        "# HELP logpipe_dataset_drift Whether the dataset drifted at the latest verdict.\n# TYPE logpipe_dataset_drift gauge\nlogpipe_dataset_drift {}",
        u8::from(report.dataset_drift)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_cannot_break_out_of_their_sample() {
        assert_eq!(
            label_value("a\\b\"c\nlogpipe_fake 1"),
            "a\\\\b\\\"c\\nlogpipe_fake 1"
        );
        // Through the whole exposition: a plugin's name cannot forge a sample.
        let m = Metrics::default();
        bump(&m.plugin_errors, "a\\b\"c\nlogpipe_fake 1", 2);
        let text = m.render();
        assert!(
            text.contains("logpipe_plugin_errors_total{plugin=\"a\\\\b\\\"c\\nlogpipe_fake 1\"} 2"),
            "{text}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("logpipe_fake")),
            "{text}"
        );
    }

    #[test]
    fn renders_counters_and_labels() {
        let m = Metrics::default();
        m.lines_collected.fetch_add(3, Ordering::Relaxed);
        bump(&m.documents, "ml-api-logs", 3);
        bump(&m.plugin_errors, "perf", 1);
        m.poll_latency
            .observe(std::time::Duration::from_millis(1500));
        let text = m.render();
        assert!(text.contains("logpipe_lines_collected_total 3"));
        assert!(text.contains("logpipe_documents_total{index=\"ml-api-logs\"} 3"));
        assert!(text.contains("logpipe_plugin_errors_total{plugin=\"perf\"} 1"));
        assert!(text.contains("logpipe_poll_seconds_sum 1.5"));
    }
}
