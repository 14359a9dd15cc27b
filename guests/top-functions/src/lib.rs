//! The top-functions parser (off by default): one document per entry of a
//! performance line's `top_functions`, each with the line's `transaction_id`,
//! for the optional flat index `ml-api-top-func`. It shows a plugin that emits
//! several documents for one line.

use logpipe_plugin_sdk::formats::{performance_metrics as metrics, top_functions};
use logpipe_plugin_sdk::json::{ObjectWriter, RawObject};
use logpipe_plugin_sdk::{Config, Emit, Event, Info, Parser, export_parser};

/// Channel of the per-function documents.
pub const FUNCTION: u32 = 0;

/// The top-functions parser.
#[derive(Debug, Clone, Default)]
pub struct TopFunctionsParser;

impl Parser for TopFunctionsParser {
    fn info() -> Info {
        Info::new("top-functions", env!("CARGO_PKG_VERSION")).channels(&["function"])
    }

    fn configure(config: &Config) -> Result<Self, String> {
        config.reject_unknown(&[])?;
        Ok(TopFunctionsParser)
    }

    fn parse(&self, event: &Event<'_>, emit: &mut Emit) -> Result<(), String> {
        let Some(metrics) = metrics(event.message)? else {
            return Ok(());
        };
        let Some(list) = top_functions(&metrics)? else {
            return Ok(());
        };
        let entries: Vec<&serde_json::value::RawValue> = serde_json::from_str(list)
            .map_err(|e| format!("top_functions is not readable: {e}"))?;
        let tx = metrics.get("transaction_id");
        for (rank, entry) in entries.iter().enumerate() {
            let entry = RawObject::parse(entry.get())
                .map_err(|e| format!("top_functions[{rank}] is not an object: {e}"))?;
            emit.write(FUNCTION, |out| {
                let mut w = ObjectWriter::into(out);
                if let Some(tx) = tx {
                    w.raw("transaction_id", tx);
                }
                w.int("rank", rank as i64);
                for (key, value) in entry.named_fields() {
                    w.raw(key, value);
                }
                w.close();
            });
        }
        Ok(())
    }
}

export_parser!(TopFunctionsParser);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_per_entry() {
        let m = r#"{"performance_metrics": {"transaction_id": "abc-123", "top_functions": [{"function": "predict", "file": "model.py", "cumulative_time_ms": 20.1}, {"function": "preprocess", "file": "utils.py", "cumulative_time_ms": 5.2}]}}"#;
        let mut emit = Emit::new();
        TopFunctionsParser.parse(&Event::new(m), &mut emit).unwrap();
        let docs: Vec<serde_json::Value> = emit
            .take()
            .into_iter()
            .map(|(c, j)| {
                assert_eq!(c, FUNCTION);
                serde_json::from_str(&j).unwrap()
            })
            .collect();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["transaction_id"], "abc-123");
        assert_eq!(docs[1]["function"], "preprocess");
        assert_eq!(docs[1]["rank"], 1);
    }

    #[test]
    fn entries_must_be_objects() {
        let m = r#"{"performance_metrics": {"top_functions": [1]}}"#;
        assert!(
            TopFunctionsParser
                .parse(&Event::new(m), &mut Emit::new())
                .is_err()
        );
        let none = "not a performance line";
        let mut emit = Emit::new();
        TopFunctionsParser
            .parse(&Event::new(none), &mut emit)
            .unwrap();
        assert!(emit.docs().is_empty());
    }
}
