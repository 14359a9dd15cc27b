//! The dashboard's panels as a Grafana dashboard over Elasticsearch
//! (`logpipe dashboard export --grafana FILE`), for people who already run
//! Grafana. Targets Grafana 10 and 11 (schema version 39) with one
//! Elasticsearch data source whose index pattern covers the indices
//! (`ml-api-*`, time field `@timestamp`); each query picks its index with
//! `_index:`. Imported through Dashboards → Import, which asks for the data
//! source.

use serde_json::{Value, json};

/// A query of one index: `lucene`, counted or measured by `metrics`, per
/// `bucket` (a date histogram by default).
struct Target {
    query: String,
    metrics: Value,
    bucket: Value,
    alias: &'static str,
}

fn date_histogram() -> Value {
    json!([{"type": "date_histogram", "id": "2", "field": "@timestamp",
            "settings": {"interval": "auto", "min_doc_count": "0"}}])
}

fn count(index: &str, filter: &str, alias: &'static str) -> Target {
    Target {
        query: lucene(index, filter),
        metrics: json!([{"type": "count", "id": "1"}]),
        bucket: date_histogram(),
        alias,
    }
}

fn lucene(index: &str, filter: &str) -> String {
    if filter.is_empty() {
        format!("_index:{index}")
    } else {
        format!("_index:{index} AND {filter}")
    }
}

fn percentiles(field: &str) -> Target {
    Target {
        query: lucene("ml-api-perfs", ""),
        metrics: json!([{"type": "percentiles", "id": "1", "field": field,
                         "settings": {"percents": ["50", "95", "99"]}}]),
        bucket: date_histogram(),
        alias: "",
    }
}

fn average(index: &str, field: &str, alias: &'static str) -> Target {
    Target {
        query: lucene(index, ""),
        metrics: json!([{"type": "avg", "id": "1", "field": field}]),
        bucket: date_histogram(),
        alias,
    }
}

fn panel(id: usize, title: &str, kind: &str, targets: Vec<Target>) -> Value {
    let targets: Vec<Value> = targets
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            json!({
                "refId": char::from(b'A' + i as u8).to_string(),
                "datasource": {"type": "elasticsearch", "uid": "${DS_ELASTICSEARCH}"},
                "query": t.query,
                "alias": t.alias,
                "metrics": t.metrics,
                "bucketAggs": t.bucket,
                "timeField": "@timestamp",
            })
        })
        .collect();
    json!({
        "id": id,
        "type": kind,
        "title": title,
        "datasource": {"type": "elasticsearch", "uid": "${DS_ELASTICSEARCH}"},
        "gridPos": {"h": 8, "w": 12, "x": (id - 1) % 2 * 12, "y": (id - 1) / 2 * 8},
        "targets": targets,
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "fieldConfig": {"defaults": {}, "overrides": []},
    })
}

/// The dashboard JSON.
pub fn dashboard() -> Value {
    let calls = "http_path:\\/predict*";
    let panels = vec![
        panel(
            1,
            "Prediction calls and failed calls",
            "timeseries",
            vec![
                count("ml-api-logs", calls, "calls"),
                count(
                    "ml-api-logs",
                    &format!("{calls} AND status_code:>=400"),
                    "failed",
                ),
            ],
        ),
        panel(
            2,
            "Predictions: all and positive",
            "timeseries",
            vec![
                count("ml-api-message", "", "predictions"),
                count("ml-api-message", "result.prediction:1", "positive"),
            ],
        ),
        panel(
            3,
            "Histogram of probability",
            "barchart",
            vec![Target {
                query: lucene("ml-api-message", ""),
                metrics: json!([{"type": "count", "id": "1"}]),
                bucket: json!([{"type": "histogram", "id": "2", "field": "result.probability",
                                "settings": {"interval": "0.05", "min_doc_count": "0"}}]),
                alias: "predictions",
            }],
        ),
        panel(
            4,
            "Latency (ms): p50, p95, p99",
            "timeseries",
            vec![percentiles("latency_ms")],
        ),
        panel(
            5,
            "Inference time (ms): p50, p95, p99",
            "timeseries",
            vec![percentiles("inference_time_ms")],
        ),
        panel(
            6,
            "CPU time (ms): p50, p95, p99",
            "timeseries",
            vec![percentiles("cpu_time_ms")],
        ),
        panel(
            7,
            "Memory (MB, average)",
            "timeseries",
            vec![
                average("ml-api-perfs", "memory_mb", "memory"),
                average("ml-api-perfs", "memory_delta_mb", "memory delta"),
            ],
        ),
        panel(
            8,
            "Function calls (average)",
            "timeseries",
            vec![average("ml-api-perfs", "function_calls", "function calls")],
        ),
        panel(
            9,
            "Drift values per column (stored verdicts of run's [drift])",
            "timeseries",
            vec![Target {
                query: lucene("ml-api-drift", ""),
                metrics: json!([{"type": "avg", "id": "1", "field": "value"}]),
                bucket: json!([
                    {"type": "terms", "id": "3", "field": "column.keyword",
                     "settings": {"size": "20", "order": "asc", "orderBy": "_term", "min_doc_count": "1"}},
                    {"type": "date_histogram", "id": "2", "field": "@timestamp",
                     "settings": {"interval": "auto", "min_doc_count": "0"}}
                ]),
                alias: "{{term column.keyword}}",
            }],
        ),
    ];
    json!({
        "__inputs": [{
            "name": "DS_ELASTICSEARCH",
            "label": "Elasticsearch (index pattern ml-api-*, time field @timestamp)",
            "type": "datasource",
            "pluginId": "elasticsearch",
            "pluginName": "Elasticsearch",
        }],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "elasticsearch", "name": "Elasticsearch", "version": "1.0.0"},
        ],
        "title": "logpipe: predictions, drift, performance",
        "uid": "logpipe-ml-api",
        "tags": ["logpipe"],
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "30s",
        "panels": panels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field a panel reads is one the index's mapping declares (or, for
    /// ml-api-drift, one its verdict documents have).
    #[test]
    fn panels_read_mapped_fields() {
        let mapping = |index: &str| -> Value {
            let text = match index {
                "ml-api-logs" => include_str!("../../mappings/ml-api-logs.json"),
                "ml-api-message" => include_str!("../../mappings/ml-api-message.json"),
                "ml-api-perfs" => include_str!("../../mappings/ml-api-perfs.json"),
                _ => {
                    return json!({"mappings": {"properties": {
                    "@timestamp": {}, "value": {}, "column": {"fields": {"keyword": {}}}}}});
                }
            };
            serde_json::from_str(text).unwrap()
        };
        let has = |index: &str, field: &str| {
            let mut at = &mapping(index)["mappings"];
            for part in field.split('.') {
                at = if at["properties"][part].is_object() {
                    &at["properties"][part]
                } else {
                    &at["fields"][part]
                };
            }
            at.is_object()
        };
        let d = dashboard();
        let panels = d["panels"].as_array().unwrap();
        assert_eq!(panels.len(), 9);
        for p in panels {
            for t in p["targets"].as_array().unwrap() {
                let query = t["query"].as_str().unwrap();
                let index = query
                    .strip_prefix("_index:")
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap();
                let fields = t["metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .chain(t["bucketAggs"].as_array().unwrap())
                    .filter_map(|m| m["field"].as_str());
                for field in fields {
                    assert!(has(index, field), "{index} has no {field}");
                }
            }
        }
    }
}
