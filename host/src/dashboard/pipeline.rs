//! The pipeline page's figures: `run`'s counters (those of `/metrics`),
//! sampled at an interval so that they can be drawn over time.

use crate::ops::metrics::Metrics;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Samples kept (an hour at one every 5 s).
pub const SAMPLES: usize = 720;
/// Time between samples.
pub const EVERY: Duration = Duration::from_secs(5);

/// The counters at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Milliseconds since the epoch.
    pub time: i64,
    /// New lines collected.
    pub lines_collected: u64,
    /// Lines kept by the filters.
    pub lines_kept: u64,
    /// Documents stored, per index.
    pub documents: BTreeMap<String, u64>,
    /// Documents dead-lettered.
    pub dead_letters: u64,
    /// Per-line plugin errors, all plugins.
    pub plugin_errors: u64,
    /// Plugin reloads applied.
    pub reloads: u64,
    /// Gaps detected in the window.
    pub gaps: u64,
}

impl Sample {
    /// The counters now.
    pub fn of(m: &Metrics) -> Self {
        let sum = |map: &Mutex<BTreeMap<String, u64>>| map.lock().map_or(0, |m| m.values().sum());
        Self {
            time: jiff::Timestamp::now().as_millisecond(),
            lines_collected: m.lines_collected.load(Relaxed),
            lines_kept: m.lines_kept.load(Relaxed),
            documents: m.documents.lock().map(|d| d.clone()).unwrap_or_default(),
            dead_letters: m.dead_letters.load(Relaxed),
            plugin_errors: sum(&m.plugin_errors),
            reloads: sum(&m.reloads),
            gaps: m.gaps.load(Relaxed),
        }
    }
}

/// The samples of a run, newest last.
#[derive(Debug, Default)]
pub struct History {
    samples: Mutex<VecDeque<Sample>>,
}

impl History {
    /// Adds a sample, forgetting the oldest beyond [`SAMPLES`].
    pub fn push(&self, sample: Sample) {
        let mut s = self.samples.lock().expect("pipeline history");
        if s.len() == SAMPLES {
            s.pop_front();
        }
        s.push_back(sample);
    }

    /// The samples, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .expect("pipeline history")
            .iter()
            .cloned()
            .collect()
    }

    /// Samples `metrics` every [`EVERY`] until the process ends.
    pub fn sample_forever(self: Arc<Self>, metrics: Arc<Metrics>) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            loop {
                tick.tick().await;
                self.push(Sample::of(&metrics));
            }
        });
    }
}
