//! The panels' figures from the embedded store's typed columns: the blocks
//! of the span loaded once ([`StoreReader::documents`]), a query per panel,
//! no document body read but for the few panels that say so.

use super::panels::{
    AVERAGED, DRIFT_HISTORY_DOCUMENTS, DRIFT_INDEX, FunctionCost, MESSAGE_INDEX, PERF_INDEX,
    PerformanceFigures, PredictionFigures, QUANTILES, Span, StoredVerdict, TIMED,
    TOP_FUNCTION_DOCUMENTS, drift_json, quantile,
};
use crate::drift::counts::Tally;
use crate::drift::dataset::Dataset;
use crate::store::StoreReader;
use crate::store::schema::{calls_condition, literal, measures_condition, predictions_condition};
use rusqlite::params;
use serde_json::{Value, json};
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, super::DashboardError>;

fn sql(store: &StoreReader) -> impl Fn(rusqlite::Error) -> super::DashboardError + '_ {
    move |e| crate::store::StoreError::at(store.path(), e).into()
}

/// The time span of the store's documents (from the blocks' bounds: no
/// document read).
pub fn extent(store: &StoreReader) -> Result<Value> {
    let (oldest, newest) = store.time_extent()?;
    Ok(json!({"oldest": oldest, "newest": newest}))
}

/// The documents of `span`, loaded once for all the panels of a request.
fn in_span(store: &StoreReader, span: Span) -> Result<&rusqlite::Connection> {
    let range = crate::store::reader::TimeRange {
        since: Some(span.from),
        until: Some(span.to),
    };
    Ok(store.documents(range, None)?)
}

/// Calls, errors and positive share per bucket; the probability's histogram;
/// each feature's distribution.
pub fn predictions(store: &StoreReader, span: Span) -> Result<Value> {
    let mut figures = PredictionFigures::default();
    // Calls, failed ones included, are lines of the line index; the message
    // index holds the calls that gave a prediction, with the features. Each
    // read from its covering index (`documents_calls`, `documents_predictions`).
    let mut statement = in_span(store, span)?
        .prepare_cached(&format!(
            "SELECT time, status_code FROM documents WHERE {} AND time >= ?1 AND time < ?2
             ORDER BY time",
            calls_condition()
        ))
        .map_err(sql(store))?;
    let mut rows = statement
        .query(params![span.from, span.to])
        .map_err(sql(store))?;
    // Rows come in time order: a bucket is complete when the next begins.
    let mut bucket = (i64::MIN, [0u64; 2]);
    while let Some(row) = rows.next().map_err(sql(store))? {
        let time: i64 = row.get(0).map_err(sql(store))?;
        let status: Option<i64> = row.get(1).map_err(sql(store))?;
        let start = span.bucket(time);
        if start != bucket.0 {
            add_bucket(&mut figures, bucket, 0);
            bucket = (start, [0; 2]);
        }
        bucket.1[0] += 1;
        bucket.1[1] += u64::from(status.is_some_and(|s| s >= 400));
    }
    add_bucket(&mut figures, bucket, 0);
    drop(rows);
    drop(statement);
    let features: Vec<String> = crate::document::columns::FEATURES
        .iter()
        .map(|(_, key)| key.to_ascii_lowercase())
        .collect();
    let mut statement = in_span(store, span)?
        .prepare_cached(&format!(
            "SELECT time, prediction, probability, {} FROM documents
             WHERE {} AND time >= ?1 AND time < ?2 ORDER BY time",
            features.join(", "),
            predictions_condition()
        ))
        .map_err(sql(store))?;
    let mut rows = statement
        .query(params![span.from, span.to])
        .map_err(sql(store))?;
    let value = |v: rusqlite::types::ValueRef| match v {
        rusqlite::types::ValueRef::Integer(i) => Some(i as f64),
        rusqlite::types::ValueRef::Real(r) => Some(r),
        _ => None,
    };
    let mut tallies = vec![Tally::default(); features.len()];
    bucket = (i64::MIN, [0u64; 2]);
    while let Some(row) = rows.next().map_err(sql(store))? {
        let time: i64 = row.get(0).map_err(sql(store))?;
        let Some(prediction) = value(row.get_ref(1).map_err(sql(store))?) else {
            continue;
        };
        let start = span.bucket(time);
        if start != bucket.0 {
            add_bucket(&mut figures, bucket, 2);
            bucket = (start, [0; 2]);
        }
        bucket.1[0] += 1;
        bucket.1[1] += u64::from(prediction == 1.0);
        if let Some(p) = value(row.get_ref(2).map_err(sql(store))?) {
            figures.probability.add(p);
        }
        for (i, tally) in tallies.iter_mut().enumerate() {
            tally.add(value(row.get_ref(3 + i).map_err(sql(store))?));
        }
    }
    add_bucket(&mut figures, bucket, 2);
    figures.features = tallies.into_iter().map(Tally::into_counts).collect();
    drop(rows);
    drop(statement);
    figures.latest = in_span(store, span)?
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
    Ok(figures.json(span))
}

/// Adds a complete bucket's two counts at `at` in its figures: calls and
/// failed ones (0), or predictions and positive ones (2).
fn add_bucket(figures: &mut PredictionFigures, (start, counts): (i64, [u64; 2]), at: usize) {
    if counts[0] > 0 {
        let b = figures.buckets.entry(start).or_default();
        b[at] += counts[0];
        b[at + 1] += counts[1];
    }
}

/// Latency, inference and CPU time as p50/p95/p99 per bucket; memory, its
/// delta and function calls as averages; the most expensive functions of the
/// latest performance documents.
pub fn performance(store: &mut StoreReader, span: Span) -> Result<Value> {
    let columns: Vec<&str> = TIMED.iter().chain(&AVERAGED).copied().collect();
    let mut statement = in_span(store, span)?
        .prepare_cached(&format!(
            "SELECT time, {} FROM documents WHERE {} AND time >= ?1 AND time < ?2 ORDER BY time",
            columns.join(", "),
            measures_condition()
        ))
        .map_err(sql(store))?;
    let mut rows = statement
        .query(params![span.from, span.to])
        .map_err(sql(store))?;
    // Rows come in time order: one bucket filled at a time.
    let mut buckets: Vec<(i64, Vec<Vec<f64>>)> = Vec::new();
    let mut figures = PerformanceFigures {
        method: "exact",
        ..Default::default()
    };
    while let Some(row) = rows.next().map_err(sql(store))? {
        figures.documents += 1;
        let start = span.bucket(row.get(0).map_err(sql(store))?);
        if buckets.last().is_none_or(|(b, _)| *b != start) {
            buckets.push((start, vec![Vec::new(); columns.len()]));
        }
        let b = &mut buckets.last_mut().expect("pushed").1;
        for (i, values) in b.iter_mut().enumerate() {
            if let Some(v) = row.get::<_, Option<f64>>(i + 1).map_err(sql(store))? {
                values.push(v);
            }
        }
    }
    drop(rows);
    drop(statement);
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
    top_functions(store, span, &mut figures)?;
    Ok(figures.json(span))
}

/// The newest `limit` documents of `index` in the span, newest first.
fn latest(store: &StoreReader, index: &str, span: Span, limit: usize) -> Result<Vec<i64>> {
    in_span(store, span)?
        // The name as a literal: SQLite then uses the index's own partial
        // index (performance documents, drift verdicts) when it has one.
        .prepare_cached(&format!(
            "SELECT seq FROM documents WHERE index_name = {} AND time >= ?1 AND time < ?2
             ORDER BY time DESC LIMIT ?3",
            literal(index)
        ))
        .and_then(|mut s| {
            s.query_map(params![span.from, span.to, limit as i64], |r| r.get(0))?
                .collect()
        })
        .map_err(sql(store))
}

/// The functions of `top_functions` in the latest performance documents of
/// the range (their bodies are read: at most [`TOP_FUNCTION_DOCUMENTS`]).
fn top_functions(
    store: &mut StoreReader,
    span: Span,
    figures: &mut PerformanceFigures,
) -> Result<()> {
    let seqs = latest(store, PERF_INDEX, span, TOP_FUNCTION_DOCUMENTS)?;
    let mut functions: BTreeMap<(String, String), FunctionCost> = BTreeMap::new();
    for seq in &seqs {
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
