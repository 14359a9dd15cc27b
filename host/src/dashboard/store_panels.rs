//! The panels' figures from the embedded store's typed columns: one range
//! scan of `documents_time` per panel, no document body read but for the few
//! panels that say so.

use super::panels::{
    AVERAGED, DRIFT_HISTORY_DOCUMENTS, DRIFT_INDEX, FunctionCost, LINE_INDEX, MESSAGE_INDEX,
    PERF_INDEX, PerformanceFigures, PredictionFigures, QUANTILES, Span, StoredVerdict, TIMED,
    TOP_FUNCTION_DOCUMENTS, drift_json, quantile,
};
use crate::drift::dataset::Dataset;
use crate::store::StoreReader;
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};
use std::collections::BTreeMap;

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
    let mut figures = PredictionFigures::default();
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
                let b = figures.buckets.entry(span.bucket(time)).or_default();
                b[0] += 1;
                b[1] += u64::from(status.is_some_and(|s| s >= 400));
            }
            continue;
        }
        let Some(prediction) = value(row.get_ref(4).map_err(sql(store))?) else {
            continue;
        };
        let b = figures.buckets.entry(span.bucket(time)).or_default();
        b[2] += 1;
        b[3] += u64::from(prediction == 1.0);
        if let Some(p) = value(row.get_ref(5).map_err(sql(store))?) {
            figures.probability.add(p);
        }
        for (i, counts) in figures.features.iter_mut().enumerate() {
            counts.add(value(row.get_ref(6 + i).map_err(sql(store))?), 1);
        }
    }
    drop(rows);
    drop(statement);
    figures.latest = store
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
    Ok(figures.json(span))
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
    let mut buckets: BTreeMap<i64, Vec<Vec<f64>>> = BTreeMap::new();
    let mut figures = PerformanceFigures {
        method: "exact",
        ..Default::default()
    };
    while let Some(row) = rows.next().map_err(sql(store))? {
        figures.documents += 1;
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
    figures.times = buckets.keys().copied().collect();
    for i in 0..TIMED.len() {
        let mut p: [Vec<Option<f64>>; 3] = Default::default();
        for values in buckets.values_mut() {
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
                .values()
                .map(|values| {
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
        crate::drift::store::read(store, MESSAGE_INDEX, span.range()).map_err(|e| e.to_string())
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
