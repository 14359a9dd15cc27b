//! What the dashboard's panels show, whatever computed it: the time span and
//! its buckets, the figures of each panel, and the JSON the page draws from
//! them. The embedded store ([`super::store_panels`]) and Elasticsearch
//! ([`super::search_panels`]) fill the same figures, so the page and its
//! tests see one shape.

use crate::drift::counts::Counts;
use crate::drift::dataset::Dataset;
use crate::drift::report::{self, Options};
use crate::store::reader::TimeRange;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Indices the panels read: every line (the calls, failed ones included).
pub const LINE_INDEX: &str = crate::store::schema::LINE_INDEX;
/// Predictions.
pub const MESSAGE_INDEX: &str = crate::store::schema::MESSAGE_INDEX;
/// Performance documents.
pub const PERF_INDEX: &str = crate::store::schema::PERF_INDEX;
/// Stored drift verdicts.
pub const DRIFT_INDEX: &str = crate::sink::drift::DRIFT_INDEX;

/// Bucket widths a chart may use, in milliseconds: the smallest that gives at
/// most [`MAX_BUCKETS`] buckets over the range is taken.
const BUCKETS_MS: [i64; 9] = [
    60_000,
    300_000,
    900_000,
    3_600_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    604_800_000,
];
/// Points per series at most.
pub const MAX_BUCKETS: i64 = 240;
/// Performance documents whose `top_functions` are read (bodies, newest first).
pub const TOP_FUNCTION_DOCUMENTS: usize = 500;
/// Drift verdict documents read for drift over time (newest first).
pub const DRIFT_HISTORY_DOCUMENTS: usize = 17 * 500;

/// A closed range of milliseconds `[from, to)` and its bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Inclusive start, ms since the epoch.
    pub from: i64,
    /// Exclusive end.
    pub to: i64,
    /// Width of a chart's bucket.
    pub bucket_ms: i64,
}

impl Span {
    /// `[from, to)` with the bucket width for it.
    pub fn new(from: i64, to: i64) -> Self {
        let to = to.max(from + 1);
        let bucket_ms = BUCKETS_MS
            .iter()
            .copied()
            .find(|b| (to - from) / b <= MAX_BUCKETS)
            .unwrap_or(BUCKETS_MS[BUCKETS_MS.len() - 1]);
        Self {
            from,
            to,
            bucket_ms,
        }
    }

    /// The span as the store's time range.
    pub fn range(&self) -> TimeRange {
        TimeRange {
            since: Some(self.from),
            until: Some(self.to),
        }
    }

    /// The start of the bucket holding `ms`.
    pub fn bucket(&self, ms: i64) -> i64 {
        ms.div_euclid(self.bucket_ms) * self.bucket_ms
    }
}

/// The measures of `ml-api-perfs` charted as percentiles.
pub const TIMED: [&str; 3] = ["latency_ms", "inference_time_ms", "cpu_time_ms"];
/// The measures charted as averages.
pub const AVERAGED: [&str; 3] = ["memory_mb", "memory_delta_mb", "function_calls"];
/// The percentiles charted, as fractions.
pub const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];
/// Functions listed in the table of the most expensive ones.
pub const TOP_FUNCTIONS: usize = 20;

/// The `q` quantile of sorted `values`, interpolated between the closest
/// ranks (numpy's default, `linear`).
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = q * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64))
}

/// [`quantile`] over a distribution given as `(value, count)` sorted by
/// value, without expanding it.
pub fn quantile_of_counts(sorted: &[(f64, u64)], q: f64) -> Option<f64> {
    let n: u64 = sorted.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return None;
    }
    let rank = q * (n - 1) as f64;
    let (low, high) = (rank.floor() as u64, rank.ceil() as u64);
    // The values at positions `low` and `high` of the expanded list.
    let at = |position: u64| {
        let mut seen = 0;
        sorted
            .iter()
            .find(|(_, c)| {
                seen += c;
                seen > position
            })
            .map(|(v, _)| *v)
    };
    let (a, b) = (at(low)?, at(high)?);
    Some(a + (b - a) * (rank - low as f64))
}

/// Counts in equal bins over `[low, high]` (the last bin holds `high`).
#[derive(Debug)]
pub struct Histogram {
    low: f64,
    high: f64,
    counts: Vec<u64>,
}

impl Histogram {
    /// `bins` empty bins over `[low, high]`.
    pub fn new(low: f64, high: f64, bins: usize) -> Self {
        Self {
            low,
            high,
            counts: vec![0; bins],
        }
    }

    /// Width of a bin.
    pub fn width(&self) -> f64 {
        (self.high - self.low) / self.counts.len() as f64
    }

    /// Counts `v` if it is in range.
    pub fn add(&mut self, v: f64) {
        self.add_n(v, 1);
    }

    /// Counts `n` values `v` if it is in range.
    pub fn add_n(&mut self, v: f64, n: u64) {
        if (self.low..=self.high).contains(&v) {
            let bin = (((v - self.low) / self.width()) as usize).min(self.counts.len() - 1);
            self.counts[bin] += n;
        }
    }

    fn json(&self) -> Value {
        let edges: Vec<f64> = (0..=self.counts.len())
            .map(|i| self.low + self.width() * i as f64)
            .collect();
        json!({"edges": edges, "counts": self.counts})
    }
}
/// The prediction panel's figures.
#[derive(Debug)]
pub struct PredictionFigures {
    /// Per bucket start: calls, failed calls, predictions, positive ones.
    pub buckets: BTreeMap<i64, [u64; 4]>,
    /// Histogram of `probability`.
    pub probability: Histogram,
    /// Predictions whose probability could not be counted (Elasticsearch:
    /// a `probabilities` pair cannot be aggregated by its second element).
    pub probability_left_out: u64,
    /// Per-value counts of each feature, in `FEATURES` order.
    pub features: Vec<Counts>,
    /// The newest predictions of the range, newest first.
    pub latest: Vec<Value>,
}

impl Default for PredictionFigures {
    fn default() -> Self {
        Self {
            buckets: BTreeMap::new(),
            probability: Histogram::new(0.0, 1.0, 20),
            probability_left_out: 0,
            features: vec![Counts::default(); crate::document::columns::FEATURES.len()],
            latest: Vec::new(),
        }
    }
}

impl PredictionFigures {
    /// The JSON of `/api/predictions`.
    pub fn json(self, span: Span) -> Value {
        let minutes = span.bucket_ms as f64 / 60_000.0;
        let b = &self.buckets;
        let times: Vec<i64> = b.keys().copied().collect();
        let calls: Vec<f64> = b.values().map(|b| b[0] as f64 / minutes).collect();
        let errors: Vec<f64> = b.values().map(|b| b[1] as f64 / minutes).collect();
        let positive: Vec<Option<f64>> = b
            .values()
            .map(|b| (b[2] > 0).then(|| b[3] as f64 / b[2] as f64))
            .collect();
        let totals = b.values().fold([0u64; 4], |mut t, b| {
            for (t, b) in t.iter_mut().zip(b) {
                *t += b;
            }
            t
        });
        let features: serde_json::Map<String, Value> = crate::document::columns::FEATURES
            .iter()
            .zip(&self.features)
            .map(|((name, _), counts)| {
                let (values, n): (Vec<f64>, Vec<u64>) = counts.iter().unzip();
                (name.to_string(), json!({"values": values, "counts": n}))
            })
            .collect();
        json!({
            "span": span,
            "latest": self.latest,
            "times": times,
            "calls_per_minute": calls,
            "errors_per_minute": errors,
            "positive_share": positive,
            "calls": totals[0],
            "errors": totals[1],
            "predictions": totals[2],
            "positives": totals[3],
            "probability_histogram": self.probability.json(),
            "probability_left_out": self.probability_left_out,
            "features": features,
        })
    }
}

/// One row of the most expensive functions.
#[derive(Debug, Clone, Default)]
pub struct FunctionCost {
    /// Function name.
    pub function: String,
    /// Its file.
    pub file: String,
    /// Time in the function itself, summed.
    pub total_time_ms: f64,
    /// Time including what it called, summed.
    pub cumulative_time_ms: f64,
    /// Calls, summed.
    pub calls: u64,
}

/// The performance panel's figures.
#[derive(Debug, Default)]
pub struct PerformanceFigures {
    /// Performance documents in the range.
    pub documents: u64,
    /// Bucket starts.
    pub times: Vec<i64>,
    /// Per [`TIMED`] measure, per [`QUANTILES`], one value per bucket.
    pub percentiles: Vec<[Vec<Option<f64>>; 3]>,
    /// Per [`AVERAGED`] measure, one value per bucket.
    pub averages: Vec<Vec<Option<f64>>>,
    /// How the percentiles were computed: `exact` (numpy's `linear` over every
    /// value) or `tdigest` (Elasticsearch's `percentiles`).
    pub method: &'static str,
    /// The functions of `top_functions`, by (function, file).
    pub functions: Vec<FunctionCost>,
    /// Performance documents whose functions were counted.
    pub function_documents: u64,
}

impl PerformanceFigures {
    /// The JSON of `/api/performance`.
    pub fn json(mut self, span: Span) -> Value {
        let mut series = serde_json::Map::new();
        for (name, p) in TIMED.iter().zip(&self.percentiles) {
            series.insert(
                name.to_string(),
                json!({"p50": p[0], "p95": p[1], "p99": p[2]}),
            );
        }
        for (name, averages) in AVERAGED.iter().zip(&self.averages) {
            series.insert(name.to_string(), json!(averages));
        }
        let total: f64 = self.functions.iter().map(|f| f.total_time_ms).sum();
        self.functions
            .sort_by(|a, b| b.total_time_ms.total_cmp(&a.total_time_ms));
        let rows: Vec<Value> = self
            .functions
            .iter()
            .take(TOP_FUNCTIONS)
            .map(|f| {
                json!({
                    "function": f.function,
                    "file": f.file,
                    "total_time_ms": f.total_time_ms,
                    "cumulative_time_ms": f.cumulative_time_ms,
                    "calls": f.calls,
                    "share": if total > 0.0 { f.total_time_ms / total } else { 0.0 },
                })
            })
            .collect();
        json!({
            "span": span,
            "documents": self.documents,
            "times": self.times,
            "percentiles": self.method,
            "series": series,
            "top_functions": {"documents": self.function_documents, "functions": rows},
        })
    }
}

/// One stored drift verdict, for drift over time.
#[derive(Debug, Clone)]
pub struct StoredVerdict {
    /// The column.
    pub column: String,
    /// When (RFC 3339).
    pub time: String,
    /// The test's value.
    pub value: Value,
    /// Whether it drifted.
    pub drifted: bool,
}

/// Why there is no current side to compare (shown on the drift tab).
#[derive(Debug, thiserror::Error)]
pub enum NoCurrentSide {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] crate::drift::DriftError),
    /// A column has more distinct values than an exact aggregation returns.
    #[error(
        "{field} has more than {limit} distinct values in the range: too many for an exact \
         aggregation; `logpipe drift --current es:URL --current-range ...` reads them all"
    )]
    TooManyValues {
        /// The field.
        field: String,
        /// The aggregation's size.
        limit: usize,
    },
    /// No prediction in the range.
    #[error("no prediction in the range")]
    NoPredictions,
}

/// The JSON of `/api/drift`: the verdicts of `current` against `reference`
/// with both sides' distributions, and the stored verdicts over time
/// (oldest first).
pub fn drift_json(
    span: Span,
    reference: Option<&Dataset>,
    current: Option<Result<Dataset, NoCurrentSide>>,
    stored: Vec<StoredVerdict>,
) -> Value {
    let verdicts = match (reference, current) {
        (None, _) | (_, None) => {
            json!({"error": "no reference: start the dashboard with --reference FILE.parquet (or give [drift] reference in the configuration)"})
        }
        (Some(_), Some(Err(e))) => json!({"error": e.to_string()}),
        (Some(reference), Some(Ok(current))) => {
            match report::compare(reference, &current, &Options::default()) {
                Ok(report) => {
                    let distributions: serde_json::Map<String, Value> = report
                        .columns
                        .iter()
                        .filter_map(|c| {
                            let r = &reference.columns.get(&c.column)?.counts;
                            let cur = &current.columns.get(&c.column)?.counts;
                            let (labels, rs, cs) = crate::drift::html::distributions(r, cur);
                            Some((
                                c.column.clone(),
                                json!({"labels": labels, "reference": rs, "current": cs}),
                            ))
                        })
                        .collect();
                    json!({"report": report, "distributions": distributions})
                }
                Err(e) => json!({"error": e.to_string()}),
            }
        }
    };
    /// Times, values and verdicts of one column.
    type Series = (Vec<String>, Vec<Value>, Vec<bool>);
    let mut history: BTreeMap<String, Series> = BTreeMap::new();
    for v in stored {
        let h = history.entry(v.column).or_default();
        h.0.push(v.time);
        h.1.push(v.value);
        h.2.push(v.drifted);
    }
    let history: serde_json::Map<String, Value> = history
        .into_iter()
        .map(|(column, (times, values, drifted))| {
            (
                column,
                json!({"times": times, "values": values, "drifted": drifted}),
            )
        })
        .collect();
    json!({"span": span, "verdicts": verdicts, "history": history})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_quantiles() {
        let span = Span::new(0, 3_600_000);
        assert_eq!(span.bucket_ms, 60_000, "an hour in minutes");
        assert_eq!(Span::new(0, 7 * 86_400_000).bucket_ms, 3_600_000);
        assert_eq!(span.bucket(125_000), 120_000);
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), Some(2.5));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 1.0), Some(4.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert!((quantile(&v, 0.95).unwrap() - 3.85).abs() < 1e-12);
        // The same from counts, duplicates included.
        let values = [1.0, 2.0, 2.0, 2.0, 5.0, 7.0, 7.0];
        let counts = [(1.0, 1), (2.0, 3), (5.0, 1), (7.0, 2)];
        for q in [0.0, 0.1, 0.5, 0.95, 0.99, 1.0] {
            assert_eq!(quantile_of_counts(&counts, q), quantile(&values, q), "{q}");
        }
        assert_eq!(quantile_of_counts(&[], 0.5), None);
    }
}
