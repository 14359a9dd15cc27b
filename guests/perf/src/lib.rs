//! The reference performance parser.
//!
//! From a message that is a JSON object whose `performance_metrics` value is an
//! object, it emits the `ml-api-perfs` document: `transaction_id` (from inside the
//! metrics), then every metric field as written (unknown ones kept, missing ones
//! absent), `top_functions` as a list. A message that merely mentions the word
//! yields nothing; one that starts as a performance line but is not valid JSON
//! (a truncated record) is reported as an error of that line.
//!
//! Channels: `metrics` (0), the `ml-api-perfs` document; `fields` (1),
//! `{"transaction_id": ...}` for the line's own document, so that every line of a
//! transaction can be joined in `ml-api-logs`.

use logpipe_plugin_sdk::formats::{performance_metrics as metrics, top_functions};
use logpipe_plugin_sdk::json::{Key, ObjectWriter};
use logpipe_plugin_sdk::{Config, Emit, Event, Info, Parser, export_parser};

/// The join key, written first in both documents.
const TRANSACTION_ID: Key = Key::new("transaction_id");

/// Channel of the performance documents.
pub const METRICS: u32 = 0;
/// Channel of the fields merged into the line's own document.
pub const FIELDS: u32 = 1;

/// The reference performance parser.
#[derive(Debug, Clone, Default)]
pub struct PerfParser;

impl Parser for PerfParser {
    fn info() -> Info {
        Info::new("perf", env!("CARGO_PKG_VERSION")).channels(&["metrics", "fields"])
    }

    fn configure(config: &Config) -> Result<Self, String> {
        config.reject_unknown(&[])?;
        Ok(PerfParser)
    }

    fn parse(&self, event: &Event<'_>, emit: &mut Emit) -> Result<(), String> {
        let Some(metrics) = metrics(event.message)? else {
            return Ok(());
        };
        top_functions(&metrics)?;
        let tx = metrics.get("transaction_id");
        emit.write(METRICS, |out| {
            let mut w = ObjectWriter::into(out);
            if let Some(tx) = tx {
                w.raw(TRANSACTION_ID, tx);
            }
            for (key, value) in metrics
                .named_fields()
                .filter(|(k, _)| k.as_str() != TRANSACTION_ID.as_str())
            {
                w.raw(key, value);
            }
            w.close();
        });
        if let Some(tx) = tx {
            emit.write(FIELDS, |out| {
                let mut w = ObjectWriter::into(out);
                w.raw(TRANSACTION_ID, tx);
                w.close();
            });
        }
        Ok(())
    }
}

export_parser!(PerfParser);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const SAMPLE: &str = include_str!("../../../tests/fixtures/api-logs.sample.log");

    fn message(n: usize) -> &'static str {
        SAMPLE
            .lines()
            .nth(n - 1)
            .unwrap()
            .splitn(4, " - ")
            .nth(3)
            .unwrap()
    }

    fn run(message: &str) -> Result<Option<Value>, String> {
        let mut emit = Emit::new();
        PerfParser.parse(&Event::new(message), &mut emit)?;
        let docs = emit.take();
        assert!(docs.len() <= 2);
        if let Some((c, json)) = docs.get(1) {
            assert_eq!(*c, FIELDS);
            let fields: Value = serde_json::from_str(json).unwrap();
            assert!(!fields["transaction_id"].as_str().unwrap().is_empty());
        }
        Ok(docs.into_iter().next().map(|(c, json)| {
            assert_eq!(c, METRICS);
            serde_json::from_str(&json).unwrap()
        }))
    }

    #[test]
    fn real_performance_line_20() {
        let d = run(message(20)).unwrap().unwrap();
        assert_eq!(d["transaction_id"], "f235299c-8751-4150-aa90-af2e3ee18ab2");
        assert_eq!(d["inference_time_ms"], 32.85);
        assert_eq!(d["cpu_time_ms"], 32.45);
        assert_eq!(d["memory_mb"], 207.61);
        assert_eq!(d["memory_delta_mb"], 0.0);
        assert_eq!(d["function_calls"], 30688);
        assert_eq!(d["latency_ms"], 32.85);
        let top = d["top_functions"].as_array().unwrap();
        assert_eq!(top.len(), 5);
        assert_eq!(top[0]["function"], "predict_proba");
        assert_eq!(top[0]["file"], "sklearn.py");
        assert_eq!(top[0]["line"], 1615);
        assert_eq!(top[0]["cumulative_time_ms"], 14.83);
        assert_eq!(top[0]["total_time_ms"], 0.06);
        assert_eq!(top[0]["calls"], 2);
        assert!(d.get("performance_metrics").is_none());
    }

    #[test]
    fn design_format_and_unknown_or_missing_fields() {
        let m = r#"{"performance_metrics": {"transaction_id": "abc-123", "inference_time_ms": 25.5, "gpu_ms": 3, "top_functions": []}}"#;
        let d = run(m).unwrap().unwrap();
        assert_eq!(d["transaction_id"], "abc-123");
        assert_eq!(d["gpu_ms"], 3);
        assert!(d.get("memory_mb").is_none());
        let no_tx = run(r#"{"performance_metrics": {"cpu_time_ms": 1.0}}"#)
            .unwrap()
            .unwrap();
        assert!(no_tx.get("transaction_id").is_none());
    }

    #[test]
    fn mentions_are_not_performance_lines() {
        assert_eq!(
            run(message(149)).unwrap(),
            None,
            "an Input mentioning the word"
        );
        assert_eq!(
            run(message(165)).unwrap(),
            None,
            "a warning mentioning the word"
        );
        assert_eq!(run(r#"{"performance_metrics": "off"}"#).unwrap(), None);
        assert_eq!(
            run(r#"{"other": {"performance_metrics": 1}}"#).unwrap(),
            None
        );
        assert_eq!(
            run("Health check effectué - Model: True, Redis: True").unwrap(),
            None
        );
    }

    #[test]
    fn truncated_line_is_an_error() {
        let err = run(message(279)).unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");
        let err = run(r#"{"performance_metrics": {"top_functions": 3}}"#).unwrap_err();
        assert!(err.contains("top_functions"), "{err}");
    }

    #[test]
    fn every_complete_performance_line_of_the_sample() {
        let count = SAMPLE
            .lines()
            .filter_map(|l| l.splitn(4, " - ").nth(3))
            .filter(|m| matches!(run(m), Ok(Some(_))))
            .count();
        assert_eq!(count, 33);
    }
}
