//! The panels' figures from the embedded store's typed columns: one pass
//! over the rows of the span's blocks per panel, no document body read but
//! for the few panels that say so.

use super::panels::{
    AVERAGED, DRIFT_HISTORY_DOCUMENTS, DRIFT_INDEX, FunctionCost, MESSAGE_INDEX, PERF_INDEX,
    PerformanceFigures, PredictionFigures, QUANTILES, Span, StoredVerdict, TIMED,
    TOP_FUNCTION_DOCUMENTS, drift_json, quantile,
};
use crate::document::columns::{FEATURES, MEASURES};
use crate::drift::counts::Tally;
use crate::drift::dataset::Dataset;
use crate::store::StoreReader;
use crate::store::rows::Row;
use crate::store::schema::LINE_INDEX;
use serde_json::{Value, json};
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, super::DashboardError>;

/// The time span of the store's predictions and performance documents (the
/// blocks at each end of the store's time range).
pub fn extent(store: &StoreReader) -> Result<Value> {
    let (oldest, newest) = store.time_extent(&[MESSAGE_INDEX, PERF_INDEX])?;
    Ok(json!({"oldest": oldest, "newest": newest}))
}

/// Calls `f` with every document of the span (the rows of its blocks).
fn each_in_span(store: &StoreReader, span: Span, mut f: impl FnMut(&Row<'_>)) -> Result<()> {
    let range = span.range();
    Ok(store.for_each_row(range, |row| {
        if range.contains(row.columns.time_ms) {
            f(row);
        }
        Ok(())
    })?)
}

/// Calls, errors and positive share per bucket; the probability's histogram;
/// each feature's distribution; the latest predictions. One pass over the
/// rows of the span's blocks.
pub fn predictions(store: &StoreReader, span: Span) -> Result<Value> {
    let mut figures = PredictionFigures::default();
    let mut tallies = vec![Tally::default(); FEATURES.len()];
    let mut latest = Newest::new(LATEST_PREDICTIONS);
    each_in_span(store, span, |row| {
        let Some(time) = row.columns.time_ms else {
            return;
        };
        // Calls, failed ones included, are lines of the line index; the
        // message index holds the calls that gave a prediction.
        if row.index == LINE_INDEX
            && row
                .columns
                .http_path
                .is_some_and(|p| p.starts_with("/predict"))
        {
            add_bucket(
                &mut figures,
                span.bucket(time),
                0,
                row.columns.status_code.is_some_and(|s| s >= 400.0),
            );
        }
        if row.index != MESSAGE_INDEX {
            return;
        }
        if let Some(prediction) = row.columns.prediction {
            add_bucket(&mut figures, span.bucket(time), 2, prediction == 1.0);
            if let Some(p) = row.columns.probability {
                figures.probability.add(p);
            }
            for (tally, value) in tallies.iter_mut().zip(row.columns.features) {
                tally.add(value);
            }
        }
        latest.offer(time, row.seq, || {
            json!({
                "time": time,
                "transaction_id": row.columns.transaction_id,
                "status_code": row.columns.status_code.map(integral),
                "prediction": row.columns.prediction,
                "probability": row.columns.probability,
            })
        });
    })?;
    figures.features = tallies.into_iter().map(Tally::into_counts).collect();
    figures.latest = latest.into_newest_first();
    Ok(figures.json(span))
}

/// Rows shown in the latest predictions' table.
const LATEST_PREDICTIONS: usize = 20;

/// A number the store keeps as an integer when it is one (as SQLite's
/// INTEGER columns do), for JSON.
fn integral(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// The newest `limit` items offered, by `(time, seq)`: a bounded heap, so a
/// range of a million documents keeps twenty.
struct Newest<T> {
    limit: usize,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(i64, i64, Keyed<T>)>>,
}

/// An item ordered by nothing (the heap orders by time and seq).
struct Keyed<T>(T);

impl<T> PartialEq for Keyed<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T> Eq for Keyed<T> {}
impl<T> PartialOrd for Keyed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Keyed<T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<T> Newest<T> {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            heap: std::collections::BinaryHeap::with_capacity(limit + 1),
        }
    }

    /// Keeps the item `make` makes if it is among the newest so far.
    fn offer(&mut self, time: i64, seq: i64, make: impl FnOnce() -> T) {
        if self.heap.len() == self.limit
            && self
                .heap
                .peek()
                .is_some_and(|std::cmp::Reverse((t, s, _))| (time, seq) <= (*t, *s))
        {
            return;
        }
        self.heap
            .push(std::cmp::Reverse((time, seq, Keyed(make()))));
        if self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    fn into_newest_first(self) -> Vec<T> {
        let mut items: Vec<(i64, i64, T)> = self
            .heap
            .into_iter()
            .map(|std::cmp::Reverse((t, s, Keyed(item)))| (t, s, item))
            .collect();
        items.sort_by_key(|item| std::cmp::Reverse((item.0, item.1)));
        items.into_iter().map(|(_, _, item)| item).collect()
    }
}

/// Counts one call (`at` 0, `flagged` when it failed) or one prediction
/// (`at` 2, `flagged` when positive) in its bucket.
fn add_bucket(figures: &mut PredictionFigures, start: i64, at: usize, flagged: bool) {
    let b = figures.buckets.entry(start).or_default();
    b[at] += 1;
    b[at + 1] += u64::from(flagged);
}

/// Latency, inference and CPU time as p50/p95/p99 per bucket; memory, its
/// delta and function calls as averages; the most expensive functions of the
/// latest performance documents.
pub fn performance(store: &mut StoreReader, span: Span) -> Result<Value> {
    let columns: Vec<usize> = TIMED
        .iter()
        .chain(&AVERAGED)
        .map(|name| MEASURES.iter().position(|m| m == name).expect("a measure"))
        .collect();
    let mut by_bucket: BTreeMap<i64, Vec<Vec<f64>>> = BTreeMap::new();
    let mut figures = PerformanceFigures {
        method: "exact",
        ..Default::default()
    };
    let mut newest = Newest::new(TOP_FUNCTION_DOCUMENTS);
    each_in_span(store, span, |row| {
        let Some(time) = row.columns.time_ms else {
            return;
        };
        if row.index != PERF_INDEX {
            return;
        }
        figures.documents += 1;
        let values = by_bucket
            .entry(span.bucket(time))
            .or_insert_with(|| vec![Vec::new(); columns.len()]);
        for (slot, &m) in values.iter_mut().zip(&columns) {
            if let Some(v) = row.columns.measures[m] {
                slot.push(v);
            }
        }
        newest.offer(time, row.seq, || row.seq);
    })?;
    let mut buckets: Vec<(i64, Vec<Vec<f64>>)> = by_bucket.into_iter().collect();
    figures.times = buckets.iter().map(|(start, _)| *start).collect();
    for i in 0..TIMED.len() {
        let mut p: [Vec<Option<f64>>; 3] = Default::default();
        for (_, values) in buckets.iter_mut() {
            let v = &mut values[i];
            v.sort_unstable_by(f64::total_cmp);
            for (slot, q) in p.iter_mut().zip(QUANTILES) {
                slot.push(quantile(v, q));
            }
        }
        figures.percentiles.push(p);
    }
    for i in TIMED.len()..columns.len() {
        figures.averages.push(
            buckets
                .iter()
                .map(|(_, values)| {
                    let v = &values[i];
                    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                })
                .collect(),
        );
    }
    top_functions(store, &newest.into_newest_first(), &mut figures)?;
    Ok(figures.json(span))
}

/// The newest `limit` documents of `index` in the span, newest first.
fn latest(store: &StoreReader, index: &str, span: Span, limit: usize) -> Result<Vec<i64>> {
    let mut newest = Newest::new(limit);
    each_in_span(store, span, |row| {
        if let Some(time) = row.columns.time_ms.filter(|_| row.index == index) {
            newest.offer(time, row.seq, || row.seq);
        }
    })?;
    Ok(newest.into_newest_first())
}

/// The functions of `top_functions` in the latest performance documents of
/// the range (their bodies are read: at most [`TOP_FUNCTION_DOCUMENTS`]).
fn top_functions(
    store: &mut StoreReader,
    seqs: &[i64],
    figures: &mut PerformanceFigures,
) -> Result<()> {
    let mut functions: BTreeMap<(String, String), FunctionCost> = BTreeMap::new();
    for seq in seqs {
        let source = store.source(*seq)?;
        let Ok(doc) = serde_json::from_str::<Value>(&source) else {
            continue;
        };
        for f in doc["top_functions"].as_array().into_iter().flatten() {
            let function = f["function"].as_str().unwrap_or("?").to_string();
            let file = f["file"].as_str().unwrap_or("").to_string();
            let e = functions
                .entry((function.clone(), file.clone()))
                .or_insert_with(|| FunctionCost {
                    function,
                    file,
                    ..Default::default()
                });
            e.total_time_ms += f["total_time_ms"].as_f64().unwrap_or(0.0);
            e.cumulative_time_ms += f["cumulative_time_ms"].as_f64().unwrap_or(0.0);
            e.calls += f["calls"].as_u64().unwrap_or(0);
        }
    }
    figures.functions = functions.into_values().collect();
    figures.function_documents = seqs.len() as u64;
    Ok(())
}

/// The drift verdicts of the range against `reference`, both sides'
/// distributions per column, and the stored verdicts of the range over time.
pub fn drift(store: &mut StoreReader, span: Span, reference: Option<&Dataset>) -> Result<Value> {
    let current = reference.map(|_| {
        crate::drift::store::read(store, MESSAGE_INDEX, span.range())
            .map_err(super::panels::NoCurrentSide::from)
    });
    // Stored verdicts over time (documents of ml-api-drift), newest first.
    let seqs = latest(store, DRIFT_INDEX, span, DRIFT_HISTORY_DOCUMENTS)?;
    let mut stored = Vec::new();
    for seq in seqs.iter().rev() {
        let Ok(doc) = serde_json::from_str::<Value>(&store.source(*seq)?) else {
            continue;
        };
        if let (Some(column), Some(time)) = (doc["column"].as_str(), doc["@timestamp"].as_str()) {
            stored.push(StoredVerdict {
                column: column.to_string(),
                time: time.to_string(),
                value: doc["value"].clone(),
                drifted: doc["drifted"].as_bool().unwrap_or(false),
            });
        }
    }
    Ok(drift_json(span, reference, current, stored))
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
