//! The dashboard's panels, computed from the embedded store's typed columns
//! (one range scan of `documents_time` per panel, no document body read but
//! for the few panels that say so) into the JSON the page draws.

use crate::drift::counts::Counts;
use crate::drift::dataset::Dataset;
use crate::drift::report::{self, Options};
use crate::store::StoreReader;
use crate::store::reader::TimeRange;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};

/// Indices the panels read: every line (the calls, failed ones included).
pub const LINE_INDEX: &str = "ml-api-logs";
/// Predictions.
pub const MESSAGE_INDEX: &str = "ml-api-message";
/// Performance documents.
pub const PERF_INDEX: &str = "ml-api-perfs";
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

    fn range(&self) -> TimeRange {
        TimeRange {
            since: Some(self.from),
            until: Some(self.to),
        }
    }

    /// The start of the bucket holding `ms`.
    fn bucket(&self, ms: i64) -> i64 {
        ms.div_euclid(self.bucket_ms) * self.bucket_ms
    }
}

type Result<T> = std::result::Result<T, super::DashboardError>;

fn sql(store: &StoreReader) -> impl Fn(rusqlite::Error) -> super::DashboardError + '_ {
    move |e| crate::store::StoreError::at(store.path(), e).into()
}

/// The time span of the store's predictions and performance documents.
pub fn extent(store: &StoreReader) -> Result<Value> {
    // The ends of `documents_time`, walked until a document of the indices:
    // no pass over the store.
    let end = |order: &str| -> Result<Option<i64>> {
        store
            .connection()
            .query_row(
                &format!(
                    "SELECT time FROM documents WHERE time IS NOT NULL AND index_name IN (?1, ?2)
                     ORDER BY time {order} LIMIT 1"
                ),
                params![MESSAGE_INDEX, PERF_INDEX],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql(store))
    };
    Ok(json!({"oldest": end("ASC")?, "newest": end("DESC")?}))
}

/// Calls, errors and positive share per bucket; the probability's histogram;
/// each feature's distribution.
pub fn predictions(store: &StoreReader, span: Span) -> Result<Value> {
    // bucket -> (calls, errors, predictions, positives)
    let mut buckets: std::collections::BTreeMap<i64, [u64; 4]> = Default::default();
    // One pass over both indices in the range. Calls, failed ones included,
    // are lines of the line index; the message index holds the calls that
    // gave a prediction, with the features.
    let features: Vec<String> = crate::store::columns::FEATURES
        .iter()
        .map(|(_, key)| key.to_ascii_lowercase())
        .collect();
    let mut statement = store
        .connection()
        .prepare_cached(&format!(
            "SELECT index_name = ?2, time, http_path, status_code, prediction, probability, {}
             FROM documents WHERE time >= ?3 AND time < ?4 AND index_name IN (?1, ?2)",
            features.join(", ")
        ))
        .map_err(sql(store))?;
    let mut rows = statement
        .query(params![LINE_INDEX, MESSAGE_INDEX, span.from, span.to])
        .map_err(sql(store))?;
    let mut probability = Histogram::new(0.0, 1.0, 20);
    let mut feature_counts = vec![Counts::default(); features.len()];
    let value = |v: rusqlite::types::ValueRef| match v {
        rusqlite::types::ValueRef::Integer(i) => Some(i as f64),
        rusqlite::types::ValueRef::Real(r) => Some(r),
        _ => None,
    };
    while let Some(row) = rows.next().map_err(sql(store))? {
        let message: bool = row.get(0).map_err(sql(store))?;
        let time: i64 = row.get(1).map_err(sql(store))?;
        if !message {
            let path = row.get_ref(2).map_err(sql(store))?;
            if path.as_str().is_ok_and(|p| p.starts_with("/predict")) {
                let status: Option<i64> = row.get(3).map_err(sql(store))?;
                let b = buckets.entry(span.bucket(time)).or_default();
                b[0] += 1;
                b[1] += u64::from(status.is_some_and(|s| s >= 400));
            }
            continue;
        }
        let Some(prediction) = value(row.get_ref(4).map_err(sql(store))?) else {
            continue;
        };
        let b = buckets.entry(span.bucket(time)).or_default();
        b[2] += 1;
        b[3] += u64::from(prediction == 1.0);
        if let Some(p) = value(row.get_ref(5).map_err(sql(store))?) {
            probability.add(p);
        }
        for (i, counts) in feature_counts.iter_mut().enumerate() {
            counts.add(value(row.get_ref(6 + i).map_err(sql(store))?), 1);
        }
    }
    drop(rows);
    drop(statement);
    let minutes = span.bucket_ms as f64 / 60_000.0;
    let times: Vec<i64> = buckets.keys().copied().collect();
    let calls: Vec<f64> = buckets.values().map(|b| b[0] as f64 / minutes).collect();
    let errors: Vec<f64> = buckets.values().map(|b| b[1] as f64 / minutes).collect();
    let positive: Vec<Option<f64>> = buckets
        .values()
        .map(|b| (b[2] > 0).then(|| b[3] as f64 / b[2] as f64))
        .collect();
    let totals = buckets.values().fold([0u64; 4], |mut t, b| {
        for (t, b) in t.iter_mut().zip(b) {
            *t += b;
        }
        t
    });
    let probability = probability.json();
    let features: serde_json::Map<String, Value> = crate::store::columns::FEATURES
        .iter()
        .zip(&feature_counts)
        .map(|((name, _), counts)| {
            let (values, n): (Vec<f64>, Vec<u64>) = counts.iter().unzip();
            (name.to_string(), json!({"values": values, "counts": n}))
        })
        .collect();
    let latest: Vec<Value> = store
        .connection()
        .prepare_cached(
            "SELECT time, transaction_id, status_code, prediction, probability FROM documents
             WHERE time >= ?2 AND time < ?3 AND index_name = ?1 ORDER BY time DESC LIMIT 20",
        )
        .and_then(|mut s| {
            s.query_map(params![MESSAGE_INDEX, span.from, span.to], |r| {
                Ok(json!({
                    "time": r.get::<_, i64>(0)?,
                    "transaction_id": r.get::<_, Option<String>>(1)?,
                    "status_code": r.get::<_, Option<i64>>(2)?,
                    "prediction": r.get::<_, Option<f64>>(3)?,
                    "probability": r.get::<_, Option<f64>>(4)?,
                }))
            })?
            .collect()
        })
        .map_err(sql(store))?;
    Ok(json!({
        "span": span,
        "latest": latest,
        "times": times,
        "calls_per_minute": calls,
        "errors_per_minute": errors,
        "positive_share": positive,
        "calls": totals[0],
        "errors": totals[1],
        "predictions": totals[2],
        "positives": totals[3],
        "probability_histogram": probability,
        "features": features,
    }))
}

/// Counts in equal bins over `[low, high]` (the last bin holds `high`).
struct Histogram {
    low: f64,
    high: f64,
    counts: Vec<u64>,
}

impl Histogram {
    fn new(low: f64, high: f64, bins: usize) -> Self {
        Self {
            low,
            high,
            counts: vec![0; bins],
        }
    }

    fn width(&self) -> f64 {
        (self.high - self.low) / self.counts.len() as f64
    }

    /// Counts `v` if it is in range.
    fn add(&mut self, v: f64) {
        if (self.low..=self.high).contains(&v) {
            let bin = (((v - self.low) / self.width()) as usize).min(self.counts.len() - 1);
            self.counts[bin] += 1;
        }
    }

    fn json(&self) -> Value {
        let edges: Vec<f64> = (0..=self.counts.len())
            .map(|i| self.low + self.width() * i as f64)
            .collect();
        json!({"edges": edges, "counts": self.counts})
    }
}

/// The measures of `ml-api-perfs` charted as percentiles.
const TIMED: [&str; 3] = ["latency_ms", "inference_time_ms", "cpu_time_ms"];
/// The measures charted as averages.
const AVERAGED: [&str; 3] = ["memory_mb", "memory_delta_mb", "function_calls"];

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

/// Latency, inference and CPU time as p50/p95/p99 per bucket; memory, its
/// delta and function calls as averages; the most expensive functions of the
/// latest performance documents.
pub fn performance(store: &mut StoreReader, span: Span) -> Result<Value> {
    let columns: Vec<&str> = TIMED.iter().chain(&AVERAGED).copied().collect();
    let mut statement = store
        .connection()
        .prepare_cached(&format!(
            "SELECT time, {} FROM documents WHERE time >= ?2 AND time < ?3 AND index_name = ?1",
            columns.join(", ")
        ))
        .map_err(sql(store))?;
    let mut rows = statement
        .query(params![PERF_INDEX, span.from, span.to])
        .map_err(sql(store))?;
    let mut buckets: std::collections::BTreeMap<i64, Vec<Vec<f64>>> = Default::default();
    let mut documents = 0u64;
    while let Some(row) = rows.next().map_err(sql(store))? {
        documents += 1;
        let time: i64 = row.get(0).map_err(sql(store))?;
        let b = buckets
            .entry(span.bucket(time))
            .or_insert_with(|| vec![Vec::new(); columns.len()]);
        for (i, values) in b.iter_mut().enumerate() {
            if let Some(v) = row.get::<_, Option<f64>>(i + 1).map_err(sql(store))? {
                values.push(v);
            }
        }
    }
    drop(rows);
    drop(statement);
    let times: Vec<i64> = buckets.keys().copied().collect();
    let mut series = serde_json::Map::new();
    for (i, name) in columns.iter().enumerate() {
        if i < TIMED.len() {
            let mut p = [Vec::new(), Vec::new(), Vec::new()];
            for values in buckets.values_mut() {
                let v = &mut values[i];
                v.sort_unstable_by(f64::total_cmp);
                for (slot, q) in p.iter_mut().zip([0.5, 0.95, 0.99]) {
                    slot.push(quantile(v, q));
                }
            }
            series.insert(
                name.to_string(),
                json!({"p50": p[0], "p95": p[1], "p99": p[2]}),
            );
        } else {
            let averages: Vec<Option<f64>> = buckets
                .values()
                .map(|values| {
                    let v = &values[i];
                    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                })
                .collect();
            series.insert(name.to_string(), json!(averages));
        }
    }
    Ok(json!({
        "span": span,
        "documents": documents,
        "times": times,
        "series": series,
        "top_functions": top_functions(store, span)?,
    }))
}

/// The newest `limit` documents of `index` in the span, newest first.
fn latest(store: &StoreReader, index: &str, span: Span, limit: usize) -> Result<Vec<i64>> {
    store
        .connection()
        .prepare_cached(
            "SELECT seq FROM documents WHERE time >= ?2 AND time < ?3 AND index_name = ?1
             ORDER BY time DESC LIMIT ?4",
        )
        .and_then(|mut s| {
            s.query_map(params![index, span.from, span.to, limit as i64], |r| {
                r.get(0)
            })?
            .collect()
        })
        .map_err(sql(store))
}

/// The functions of `top_functions` in the latest performance documents of
/// the range, by total time, with their share of it.
fn top_functions(store: &mut StoreReader, span: Span) -> Result<Value> {
    let seqs = latest(store, PERF_INDEX, span, TOP_FUNCTION_DOCUMENTS)?;
    // (function, file) -> (total ms, cumulative ms, calls)
    let mut functions: std::collections::BTreeMap<(String, String), (f64, f64, u64)> =
        Default::default();
    for seq in &seqs {
        let source = store.source(*seq)?;
        let Ok(doc) = serde_json::from_str::<Value>(&source) else {
            continue;
        };
        for f in doc["top_functions"].as_array().into_iter().flatten() {
            let key = (
                f["function"].as_str().unwrap_or("?").to_string(),
                f["file"].as_str().unwrap_or("").to_string(),
            );
            let e = functions.entry(key).or_default();
            e.0 += f["total_time_ms"].as_f64().unwrap_or(0.0);
            e.1 += f["cumulative_time_ms"].as_f64().unwrap_or(0.0);
            e.2 += f["calls"].as_u64().unwrap_or(0);
        }
    }
    let total: f64 = functions.values().map(|v| v.0).sum();
    let mut rows: Vec<Value> = functions
        .into_iter()
        .map(|((function, file), (t, c, calls))| {
            json!({
                "function": function,
                "file": file,
                "total_time_ms": t,
                "cumulative_time_ms": c,
                "calls": calls,
                "share": if total > 0.0 { t / total } else { 0.0 },
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        b["total_time_ms"]
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&a["total_time_ms"].as_f64().unwrap_or(0.0))
    });
    rows.truncate(20);
    Ok(json!({"documents": seqs.len(), "functions": rows}))
}

/// The drift verdicts of the range against `reference`, both sides'
/// distributions per column, and the stored verdicts of the range over time.
pub fn drift(store: &mut StoreReader, span: Span, reference: Option<&Dataset>) -> Result<Value> {
    let verdicts = match reference {
        None => {
            json!({"error": "no reference: start the dashboard with --reference FILE.parquet (or give [drift] reference in the configuration)"})
        }
        Some(reference) => {
            let current = crate::drift::store::read(store, MESSAGE_INDEX, span.range())?;
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
    // Stored verdicts over time (documents of ml-api-drift), newest first.
    let seqs = latest(store, DRIFT_INDEX, span, DRIFT_HISTORY_DOCUMENTS)?;
    let mut history: std::collections::BTreeMap<String, Vec<(String, Value, bool)>> =
        Default::default();
    for seq in seqs.iter().rev() {
        let Ok(doc) = serde_json::from_str::<Value>(&store.source(*seq)?) else {
            continue;
        };
        if let (Some(column), Some(time)) = (doc["column"].as_str(), doc["@timestamp"].as_str()) {
            history.entry(column.to_string()).or_default().push((
                time.to_string(),
                doc["value"].clone(),
                doc["drifted"].as_bool().unwrap_or(false),
            ));
        }
    }
    let history: serde_json::Map<String, Value> = history
        .into_iter()
        .map(|(column, points)| {
            let (times, rest): (Vec<String>, Vec<(Value, bool)>) =
                points.into_iter().map(|(t, v, d)| (t, (v, d))).unzip();
            let (values, drifted): (Vec<Value>, Vec<bool>) = rest.into_iter().unzip();
            (
                column,
                json!({"times": times, "values": values, "drifted": drifted}),
            )
        })
        .collect();
    Ok(json!({"span": span, "verdicts": verdicts, "history": history}))
}

/// The documents of one transaction across the indices.
pub fn trace(store: &mut StoreReader, transaction_id: &str) -> Result<Value> {
    let docs: Vec<Value> = store
        .trace(transaction_id)?
        .into_iter()
        .map(|(index, id, source)| {
            json!({
                "index": index,
                "id": id,
                "source": serde_json::from_str::<Value>(&source).unwrap_or(Value::String(source)),
            })
        })
        .collect();
    Ok(json!({"transaction_id": transaction_id, "documents": docs}))
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
    }
}
