//! The panels' figures from Elasticsearch, by aggregations only: date
//! histograms, percentiles, terms, filters and sums computed by the server,
//! never a scan of documents (the newest 20 predictions and a transaction's
//! documents are the only documents fetched).
//!
//! Servers without the `percentiles` aggregation (the noida-db stand-in) get
//! the exact distribution of each bucket from a `terms` aggregation instead,
//! bounded in size; the answer says which was used.

use super::panels::{
    AVERAGED, FunctionCost, NoCurrentSide, PerformanceFigures, PredictionFigures, QUANTILES, Span,
    StoredVerdict, TIMED, drift_json, quantile_of_counts,
};
use crate::document::columns::FEATURES;
use crate::drift::counts::Counts;
use crate::drift::dataset::Dataset;
use crate::es::EsClient;
use elasticsearch::SearchParts;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The indices the panels read.
#[derive(Debug, Clone)]
pub struct Indices {
    /// Every line.
    pub logs: String,
    /// Predictions.
    pub message: String,
    /// Performance documents.
    pub perfs: String,
    /// Stored drift verdicts.
    pub drift: String,
}

impl Default for Indices {
    fn default() -> Self {
        Self {
            logs: super::panels::LINE_INDEX.into(),
            message: super::panels::MESSAGE_INDEX.into(),
            perfs: super::panels::PERF_INDEX.into(),
            drift: super::panels::DRIFT_INDEX.into(),
        }
    }
}

/// Distinct values asked of a feature's `terms` (the features have a few;
/// AGE about a hundred).
const FEATURE_VALUES: usize = 1_000;
/// Distinct probabilities asked for a drift verdict; past it the column is
/// left untested rather than compared on a partial distribution.
const PROBABILITY_VALUES: usize = 50_000;
/// Functions and files asked of the nested `top_functions` aggregation.
const FUNCTIONS: usize = 100;
const FILES: usize = 20;
/// Buckets of all the exact-percentile `terms` of one answer together
/// (Elasticsearch refuses more than `search.max_buckets`, 65,536 by default).
const EXACT_TERMS_BUDGET: usize = 60_000;

/// Panels over Elasticsearch.
pub struct SearchPanels {
    service: Arc<EsClient>,
    indices: Indices,
    /// Set once the server has refused `percentiles`.
    no_percentiles: AtomicBool,
}

type Result<T> = std::result::Result<T, super::DashboardError>;

/// The server's refusal, kept apart so that an unsupported aggregation can be
/// told from other failures by its type, not its wording.
struct Refused {
    status: u16,
    kind: String,
    reason: String,
}

impl SearchPanels {
    /// Panels reading `indices` through `service`.
    pub fn new(service: Arc<EsClient>, indices: Indices) -> Self {
        Self {
            service,
            indices,
            no_percentiles: AtomicBool::new(false),
        }
    }

    fn refused(&self, what: String, r: Refused) -> super::DashboardError {
        super::DashboardError::Search(self.service.refused(
            what,
            r.status,
            format!("{}: {}", r.kind, r.reason),
        ))
    }

    /// One search; `Err(Ok(refused))` when the server answered an error.
    async fn try_search(
        &self,
        indices: &[&str],
        body: Value,
    ) -> Result<std::result::Result<Value, Refused>> {
        let response = self
            .service
            .client()
            .search(SearchParts::Index(indices))
            .ignore_unavailable(true)
            .allow_no_indices(true)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                super::DashboardError::Search(self.service.unanswered("searching".into(), &e))
            })?;
        let status = response.status_code().as_u16();
        let answer: Value = response.json().await.map_err(|e| {
            super::DashboardError::Search(
                self.service
                    .unreadable("the search answer".into(), e.to_string()),
            )
        })?;
        if (200..300).contains(&status) {
            return Ok(Ok(answer));
        }
        let error = &answer["error"];
        Ok(Err(Refused {
            status,
            kind: error["type"].as_str().unwrap_or_default().to_string(),
            reason: error["reason"]
                .as_str()
                .map_or_else(|| error.to_string(), str::to_string),
        }))
    }

    async fn search(&self, indices: &[&str], body: Value) -> Result<Value> {
        self.try_search(indices, body)
            .await?
            .map_err(|r| self.refused(format!("searching {}", indices.join(",")), r))
    }

    /// A query clause keeping the documents whose prediction is a number, as
    /// the store's typed column does (`"YES"` is no prediction): the distinct
    /// predictions of the range are few, so they are asked first.
    async fn numeric_predictions(&self, span: Span) -> Result<Value> {
        let answer = self
            .search(
                &[&self.indices.message],
                json!({"size": 0, "query": {"bool": {"filter": [range(span)]}},
                       "aggs": {"p": {"terms": {"field": "result.prediction", "size": FEATURE_VALUES}}}}),
            )
            .await?;
        let keys: Vec<Value> = buckets(&answer["aggregations"]["p"])
            .filter(|b| number(&b["key"]).is_some())
            .map(|b| b["key"].clone())
            .collect();
        Ok(json!({"terms": {"result.prediction": keys}}))
    }

    /// The time span of the predictions and performance documents: the first
    /// and last by `@timestamp` (a sorted fetch of one hit each; `min`/`max`
    /// of a date is not answered by every server speaking the API).
    pub async fn extent(&self) -> Result<Value> {
        let mut ends = Vec::new();
        for order in ["asc", "desc"] {
            let answer = self
                .search(
                    &[&self.indices.message, &self.indices.perfs],
                    json!({"size": 1, "_source": false, "sort": [{"@timestamp": {"order": order}}]}),
                )
                .await?;
            ends.push(answer["hits"]["hits"][0]["sort"][0].as_i64());
        }
        Ok(json!({"oldest": ends[0], "newest": ends[1]}))
    }

    /// Calls, errors and positive share per bucket; the probability's
    /// histogram; each feature's distribution.
    pub async fn predictions(&self, span: Span) -> Result<Value> {
        let mut figures = PredictionFigures::default();
        let interval = format!("{}ms", span.bucket_ms);
        let calls = self
            .search(
                &[&self.indices.logs],
                json!({
                    "size": 0,
                    "query": {"bool": {"filter": [range(span), {"prefix": {"http_path": "/predict"}}]}},
                    "aggs": {"t": {
                        "date_histogram": {"field": "@timestamp", "fixed_interval": interval, "min_doc_count": 1},
                        "aggs": {"failed": {"filter": {"range": {"status_code": {"gte": 400}}}}},
                    }},
                }),
            )
            .await?;
        for b in buckets(&calls["aggregations"]["t"]) {
            let entry = figures.buckets.entry(key(b)).or_default();
            entry[0] += count(b);
            entry[1] += count(&b["failed"]);
        }
        let mut aggs = json!({
            "t": {
                "date_histogram": {"field": "@timestamp", "fixed_interval": interval, "min_doc_count": 1},
                "aggs": {"positive": {"filter": {"term": {"result.prediction": 1}}}},
            },
            "probability": {"histogram": {"field": "result.probability", "interval": figures.probability.width()}},
            "pair_only": {"filter": {"bool": {
                "must_not": [{"exists": {"field": "result.probability"}}],
                "filter": [{"exists": {"field": "result.probabilities"}}],
            }}},
        });
        for (i, (_, key)) in FEATURES.iter().enumerate() {
            aggs[format!("f{i}")] =
                json!({"terms": {"field": format!("input_data.{key}"), "size": FEATURE_VALUES}});
        }
        let answer = self
            .search(
                &[&self.indices.message],
                json!({
                    "size": 20,
                    "sort": [{"@timestamp": {"order": "desc"}}],
                    "_source": ["transaction_id", "status_code", "result.prediction", "result.probability", "result.probabilities"],
                    "query": {"bool": {"filter": [range(span), self.numeric_predictions(span).await?]}},
                    "aggs": aggs,
                }),
            )
            .await?;
        let aggregations = &answer["aggregations"];
        for b in buckets(&aggregations["t"]) {
            let entry = figures.buckets.entry(key(b)).or_default();
            entry[2] += count(b);
            entry[3] += count(&b["positive"]);
        }
        let half = figures.probability.width() / 2.0;
        for b in buckets(&aggregations["probability"]) {
            // A bucket's key is its lower edge: counted at its middle (1.0
            // itself, the upper edge, goes to the last bin as in the store).
            let low = b["key"].as_f64().unwrap_or(f64::NAN);
            figures.probability.add_n((low + half).min(1.0), count(b));
        }
        figures.probability_left_out = count(&aggregations["pair_only"]);
        for (i, counts) in figures.features.iter_mut().enumerate() {
            for b in buckets(&aggregations[format!("f{i}")]) {
                counts.add(number(&b["key"]), count(b));
            }
        }
        figures.latest = answer["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|hit| {
                let s = &hit["_source"];
                json!({
                    "time": hit["sort"][0],
                    "transaction_id": s["transaction_id"],
                    "status_code": s["status_code"],
                    "prediction": number(&s["result"]["prediction"]),
                    "probability": number(&s["result"]["probability"])
                        .or_else(|| number(&s["result"]["probabilities"][1])),
                })
            })
            .collect();
        Ok(figures.json(span))
    }

    /// Latency, inference and CPU time as p50/p95/p99 per bucket; memory, its
    /// delta and function calls as averages; the most expensive functions of
    /// the range (a nested aggregation of `top_functions`).
    pub async fn performance(&self, span: Span) -> Result<Value> {
        if !self.no_percentiles.load(Ordering::Relaxed) {
            match self
                .try_search(&[&self.indices.perfs], performance_query(span, None))
                .await?
            {
                Ok(answer) => return Ok(performance_figures(&answer, false).json(span)),
                // An aggregation the server does not know is a parsing error
                // of the request; any other refusal is the answer.
                Err(r) if r.status == 400 && r.kind.ends_with("parsing_exception") => {
                    tracing::info!(server = self.service.label(), reason = %r.reason, "no percentiles aggregation: percentiles from exact distributions");
                    self.no_percentiles.store(true, Ordering::Relaxed);
                }
                Err(r) => {
                    return Err(self.refused("searching the performance documents".into(), r));
                }
            }
        }
        let buckets = (span.to - span.from).div_euclid(span.bucket_ms) as usize + 1;
        let size = (EXACT_TERMS_BUDGET / (buckets * TIMED.len())).max(1);
        let answer = self
            .search(&[&self.indices.perfs], performance_query(span, Some(size)))
            .await?;
        Ok(performance_figures(&answer, true).json(span))
    }

    /// The drift verdicts of the range against `reference` from the exact
    /// per-value counts of each model column (`terms`), and the stored
    /// verdicts averaged per bucket.
    pub async fn drift(&self, span: Span, reference: Option<&Dataset>) -> Result<Value> {
        let current = match reference {
            Some(_) => Some(self.current(span).await?),
            None => None,
        };
        let answer = self
            .search(
                &[&self.indices.drift],
                json!({
                    "size": 0,
                    "query": {"bool": {"filter": [range(span)]}},
                    "aggs": {"column": {
                        "terms": {"field": "column", "size": 64},
                        "aggs": {"t": {
                            "date_histogram": {"field": "@timestamp", "fixed_interval": format!("{}ms", span.bucket_ms), "min_doc_count": 1},
                            "aggs": {"value": {"avg": {"field": "value"}}, "drifted": {"filter": {"term": {"drifted": true}}}},
                        }},
                    }},
                }),
            )
            .await?;
        let mut stored = Vec::new();
        for column in buckets(&answer["aggregations"]["column"]) {
            for b in buckets(&column["t"]) {
                stored.push(StoredVerdict {
                    column: column["key"].as_str().unwrap_or_default().to_string(),
                    time: b["key_as_string"]
                        .as_str()
                        .map_or_else(|| time_text(key(b)), str::to_string),
                    value: b["value"]["value"].clone(),
                    drifted: count(&b["drifted"]) > 0,
                });
            }
        }
        stored.sort_by(|a, b| a.time.cmp(&b.time));
        Ok(drift_json(span, reference, current, stored))
    }

    /// The current side of a drift verdict: counts of every model column.
    async fn current(&self, span: Span) -> Result<std::result::Result<Dataset, NoCurrentSide>> {
        let fields: Vec<(String, usize)> = FEATURES
            .iter()
            .map(|(_, key)| (format!("input_data.{key}"), FEATURE_VALUES))
            .chain([
                ("result.prediction".to_string(), FEATURE_VALUES),
                ("result.probability".to_string(), PROBABILITY_VALUES),
            ])
            .collect();
        let mut aggs = serde_json::Map::new();
        for (i, (field, size)) in fields.iter().enumerate() {
            aggs.insert(
                format!("c{i}"),
                json!({"terms": {"field": field, "size": size}}),
            );
            aggs.insert(
                format!("m{i}"),
                json!({"filter": {"bool": {"must_not": [{"exists": {"field": field}}]}}}),
            );
        }
        let answer = self
            .search(
                &[&self.indices.message],
                json!({
                    "size": 0,
                    "track_total_hits": true,
                    // The predictions that are numbers, as the store's typed
                    // column holds them (its drift read has no others).
                    "query": {"bool": {"filter": [range(span), self.numeric_predictions(span).await?]}},
                    "aggs": aggs,
                }),
            )
            .await?;
        let aggregations = &answer["aggregations"];
        let rows = answer["hits"]["total"]["value"].as_u64().unwrap_or(0);
        let mut columns = Vec::new();
        for i in 0..fields.len() {
            let terms = &aggregations[format!("c{i}")];
            if terms["sum_other_doc_count"].as_u64().unwrap_or(0) > 0 {
                return Ok(Err(NoCurrentSide::TooManyValues {
                    field: fields[i].0.clone(),
                    limit: fields[i].1,
                }));
            }
            let mut counts = Counts::default();
            for b in buckets(terms) {
                counts.add(number(&b["key"]), count(b));
            }
            counts.add(None, count(&aggregations[format!("m{i}")]));
            columns.push(counts);
        }
        if rows == 0 {
            return Ok(Err(NoCurrentSide::NoPredictions));
        }
        Ok(Ok(Dataset::of_model_counts(rows, columns)))
    }

    /// The documents of one transaction across the indices.
    pub async fn trace(&self, transaction_id: &str) -> Result<Value> {
        let answer = self
            .search(
                &[
                    &self.indices.logs,
                    &self.indices.message,
                    &self.indices.perfs,
                ],
                json!({
                    "size": 1000,
                    "query": {"term": {"transaction_id": transaction_id}},
                    "sort": [{"@timestamp": {"order": "asc", "unmapped_type": "date"}}],
                }),
            )
            .await?;
        let docs: Vec<Value> = answer["hits"]["hits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|hit| json!({"index": hit["_index"], "id": hit["_id"], "source": hit["_source"]}))
            .collect();
        Ok(json!({"transaction_id": transaction_id, "documents": docs}))
    }
}

/// The performance search: per bucket, percentiles (or, with `exact`, the
/// distribution as `terms` of that size) and averages; the nested functions.
fn performance_query(span: Span, exact: Option<usize>) -> Value {
    let mut per_bucket = serde_json::Map::new();
    for name in TIMED {
        per_bucket.insert(
            name.to_string(),
            match exact {
                None => json!({"percentiles": {"field": name, "percents": QUANTILES.map(|q| q * 100.0)}}),
                Some(size) => json!({"terms": {"field": name, "size": size}}),
            },
        );
    }
    for name in AVERAGED {
        per_bucket.insert(name.to_string(), json!({"avg": {"field": name}}));
    }
    let sums = json!({
        "total": {"sum": {"field": "top_functions.total_time_ms"}},
        "cumulative": {"sum": {"field": "top_functions.cumulative_time_ms"}},
        "calls": {"sum": {"field": "top_functions.calls"}},
    });
    let mut by_file = sums.clone();
    by_file["file"] = json!({
        "terms": {"field": "top_functions.file", "size": FILES, "order": {"total": "desc"}},
        "aggs": sums,
    });
    json!({
        "size": 0,
        "track_total_hits": true,
        "query": {"bool": {"filter": [range(span)]}},
        "aggs": {
            "t": {
                "date_histogram": {"field": "@timestamp", "fixed_interval": format!("{}ms", span.bucket_ms), "min_doc_count": 1},
                "aggs": per_bucket,
            },
            "functions": {
                "nested": {"path": "top_functions"},
                "aggs": {"function": {
                    "terms": {"field": "top_functions.function", "size": FUNCTIONS, "order": {"total": "desc"}},
                    "aggs": by_file,
                }},
            },
        },
    })
}

fn performance_figures(answer: &Value, exact: bool) -> PerformanceFigures {
    let aggregations = &answer["aggregations"];
    let mut figures = PerformanceFigures {
        documents: answer["hits"]["total"]["value"].as_u64().unwrap_or(0),
        method: if exact { "exact" } else { "tdigest" },
        ..Default::default()
    };
    let bucket_list: Vec<&Value> = buckets(&aggregations["t"]).collect();
    figures.times = bucket_list.iter().map(|b| key(b)).collect();
    for name in TIMED {
        let mut p: [Vec<Option<f64>>; 3] = Default::default();
        for b in &bucket_list {
            let values = &b[name];
            for (slot, q) in p.iter_mut().zip(QUANTILES) {
                slot.push(if exact {
                    let mut counts: Vec<(f64, u64)> = buckets(values)
                        .filter_map(|t| Some((number(&t["key"])?, count(t))))
                        .collect();
                    counts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    if values["sum_other_doc_count"].as_u64().unwrap_or(0) > 0 {
                        figures.method = "exact over the most frequent values";
                    }
                    quantile_of_counts(&counts, q)
                } else {
                    // Keys are "50.0", "95.0", "99.0".
                    values["values"][format!("{:.1}", q * 100.0)].as_f64()
                });
            }
        }
        figures.percentiles.push(p);
    }
    for name in AVERAGED {
        figures.averages.push(
            bucket_list
                .iter()
                .map(|b| b[name]["value"].as_f64())
                .collect(),
        );
    }
    for function in buckets(&aggregations["functions"]["function"]) {
        for file in buckets(&function["file"]) {
            figures.functions.push(FunctionCost {
                function: function["key"].as_str().unwrap_or("?").to_string(),
                file: file["key"].as_str().unwrap_or_default().to_string(),
                total_time_ms: file["total"]["value"].as_f64().unwrap_or(0.0),
                cumulative_time_ms: file["cumulative"]["value"].as_f64().unwrap_or(0.0),
                calls: file["calls"]["value"].as_f64().unwrap_or(0.0) as u64,
            });
        }
    }
    figures.function_documents = figures.documents;
    figures
}

/// `@timestamp` in `[from, to)`.
fn range(span: Span) -> Value {
    json!({"range": {"@timestamp": {"gte": span.from, "lt": span.to, "format": "epoch_millis"}}})
}

fn buckets(aggregation: &Value) -> impl Iterator<Item = &Value> {
    aggregation["buckets"].as_array().into_iter().flatten()
}

fn key(bucket: &Value) -> i64 {
    bucket["key"].as_f64().unwrap_or(0.0) as i64
}

fn count(bucket: &Value) -> u64 {
    bucket["doc_count"].as_u64().unwrap_or(0)
}

/// A number, or a string holding one (a keyword-mapped prediction is "1").
fn number(value: &Value) -> Option<f64> {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

fn time_text(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}
