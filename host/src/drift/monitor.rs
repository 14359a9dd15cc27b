//! Continuous drift in `run`: the per-value counts of the current window of
//! predictions, kept as documents arrive, and the verdicts against the
//! reference recomputed at a fixed interval.

use super::dataset::Dataset;
use super::live::{PartCounts, RowCounts};
use super::report::{self, Options, Report};
use crate::document::Prediction;
use crate::document::prediction::{Slot, VALUES};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The most predictions a window by count may hold (each is kept, 136
/// bytes, so that it can leave the window exactly).
pub const MAX_WINDOW_PREDICTIONS: u64 = 1_000_000;

/// The current window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// The predictions of the last span of `@timestamp` (to the minute),
    /// counted back from the newest.
    Span(Duration),
    /// The last n predictions.
    Predictions(u64),
}

/// What the monitor compares and how often.
#[derive(Debug, Clone)]
pub struct MonitorSettings {
    /// The reference side (shared: `run` serves it to the dashboard too).
    pub reference: std::sync::Arc<Dataset>,
    /// The current window.
    pub window: Window,
    /// How often the verdicts are recomputed.
    pub every: Duration,
    /// Tests, thresholds and drift share.
    pub options: Options,
}

/// Where a prediction's values are counted ([`Slot`]), in
/// [`model_columns`] order (the features, then prediction and probability,
/// as [`Prediction`]).
///
/// [`model_columns`]: super::dataset::model_columns
type Row = [Slot; VALUES];

/// One minute of predictions.
struct Minute {
    minute: i64,
    counts: PartCounts<VALUES>,
    rows: u64,
}

/// The current window's counts and the latest verdicts.
pub struct Monitor {
    settings: MonitorSettings,
    /// For [`Window::Predictions`]: the rows, oldest first, and their counts.
    rows: VecDeque<Row>,
    counts: RowCounts<VALUES>,
    /// For [`Window::Span`]: counts per minute, oldest first.
    minutes: VecDeque<Minute>,
    last: Option<Instant>,
    drifting: Option<bool>,
}

/// A change of the dataset's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The first verdict, or the same as before.
    None,
    /// The dataset started drifting.
    Started,
    /// It stopped.
    Stopped,
}

impl Monitor {
    /// A monitor with an empty window.
    pub fn new(settings: MonitorSettings) -> Self {
        Self {
            settings,
            rows: VecDeque::new(),
            counts: RowCounts::default(),
            minutes: VecDeque::new(),
            last: None,
            drifting: None,
        }
    }

    /// Adds a prediction (read by the worker while it checked its document).
    pub fn observe(&mut self, prediction: &Prediction) {
        match self.settings.window {
            Window::Predictions(n) => {
                self.counts.add(&prediction.slots);
                self.rows.push_back(prediction.slots);
                while self.rows.len() as u64 > n.min(MAX_WINDOW_PREDICTIONS) {
                    let old = self.rows.pop_front().expect("not empty");
                    self.counts.remove(&old);
                }
            }
            Window::Span(span) => {
                let minute = prediction.time_ms.unwrap_or(0).div_euclid(60_000);
                // Minutes in order: the newest is the usual one, a late one
                // is found (or goes to its place) by halving.
                let slot = match self.minutes.back() {
                    Some(last) if last.minute == minute => self.minutes.len() - 1,
                    _ => {
                        let at = self.minutes.partition_point(|m| m.minute < minute);
                        if self.minutes.get(at).is_none_or(|m| m.minute != minute) {
                            self.minutes.insert(
                                at,
                                Minute {
                                    minute,
                                    counts: PartCounts::default(),
                                    rows: 0,
                                },
                            );
                        }
                        at
                    }
                };
                let bucket = &mut self.minutes[slot];
                bucket.rows += 1;
                bucket.counts.add(&prediction.slots);
                let newest = self.minutes.back().map_or(minute, |m| m.minute);
                let keep = (span.as_secs() / 60).max(1) as i64;
                while self
                    .minutes
                    .front()
                    .is_some_and(|m| m.minute <= newest - keep)
                {
                    self.minutes.pop_front();
                }
            }
        }
    }

    /// The current window as a side: the other values are sorted now, once.
    pub fn current(&self) -> Dataset {
        match self.settings.window {
            Window::Predictions(_) => {
                let counts = (0..VALUES).map(|c| self.counts.counts(c, self.rows.iter()));
                Dataset::of_model_counts(self.rows.len() as u64, counts)
            }
            Window::Span(_) => {
                let rows = self.minutes.iter().map(|m| m.rows).sum();
                let counts: Vec<_> = (0..VALUES)
                    .map(|c| PartCounts::sum(self.minutes.iter().map(|m| &m.counts), c))
                    .collect();
                Dataset::of_model_counts(rows, counts)
            }
        }
    }

    /// Recomputes the verdicts if `every` has passed since the last time (or
    /// never ran) and the window holds predictions.
    pub fn evaluate_if_due(&mut self, now: Instant) -> Option<(Report, Change)> {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < self.settings.every)
        {
            return None;
        }
        self.last = Some(now);
        let current = self.current();
        let report = report::compare(&self.settings.reference, &current, &self.settings.options)
            .map_err(|e| tracing::debug!(error = %e, "no drift verdict yet"))
            .ok()?;
        let change = match (self.drifting, report.dataset_drift) {
            (Some(false) | None, true) => Change::Started,
            (Some(true), false) => Change::Stopped,
            _ => Change::None,
        };
        self.drifting = Some(report.dataset_drift);
        Some((report, change))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(minute: i64, age: u32, smoking: u32, prediction: u32) -> Prediction {
        let time = jiff::Timestamp::from_second(1_763_716_320 + minute * 60).unwrap();
        Prediction::of_source(&format!(
            r#"{{"@timestamp":"{}","input_data":{{"AGE":{age},"GENDER":1,"SMOKING":{smoking}}},"result":{{"prediction":{prediction},"probability":0.5}}}}"#,
            time.strftime("%Y-%m-%dT%H:%M:%SZ")
        ))
        .expect("a prediction")
    }

    fn reference() -> Dataset {
        let mut m = Monitor::new(MonitorSettings {
            reference: Default::default(),
            window: Window::Predictions(10_000),
            every: Duration::ZERO,
            options: Options::default(),
        });
        for i in 0..400u32 {
            m.observe(&message(0, 20 + i % 50, i % 2, i % 2));
        }
        m.current()
    }

    #[test]
    fn a_window_of_predictions_forgets_exactly_and_reports_changes() {
        let mut m = Monitor::new(MonitorSettings {
            reference: reference().into(),
            window: Window::Predictions(300),
            every: Duration::from_secs(60),
            options: Options::default(),
        });
        for i in 0..300u32 {
            m.observe(&message(1, 60 + i % 30, 1, 1));
        }
        let t0 = Instant::now();
        let (report, change) = m.evaluate_if_due(t0).expect("first verdict");
        assert!(report.dataset_drift && change == Change::Started);
        assert!(m.evaluate_if_due(t0).is_none(), "not due before a minute");
        // 300 reference-like predictions push the drifted ones out.
        for i in 0..300u32 {
            m.observe(&message(2, 20 + i % 50, i % 2, i % 2));
        }
        let current = m.current();
        assert_eq!(current.rows, 300);
        assert_eq!(current.columns["SMOKING"].counts.count(1.0), 150);
        let (report, change) = m
            .evaluate_if_due(t0 + Duration::from_secs(60))
            .expect("due");
        assert!(!report.dataset_drift && change == Change::Stopped);
        // A document without a prediction is not one.
        assert_eq!(Prediction::of_source(r#"{"input_data":{"AGE":40}}"#), None);
    }

    #[test]
    fn a_window_of_time_keeps_the_last_minutes() {
        let mut m = Monitor::new(MonitorSettings {
            reference: reference().into(),
            window: Window::Span(Duration::from_secs(120)),
            every: Duration::ZERO,
            options: Options::default(),
        });
        for minute in 0..5 {
            for _ in 0..10 {
                m.observe(&message(minute, 30, 1, 1));
            }
        }
        assert_eq!(m.current().rows, 20, "minutes 3 and 4");
        m.observe(&message(1, 30, 1, 1));
        assert_eq!(
            m.current().rows,
            20,
            "a late minute outside the window goes"
        );
    }
}
