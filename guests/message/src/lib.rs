//! The reference message parser, run on every line.
//!
//! From API-call lines (any method and path, real or short format) it extracts
//! `transaction_id`, `http_method`, `http_path`, `status_code`,
//! `execution_time_ms`, and the request (`input_data`, keys normalised) and
//! response (`result`) bodies, read with a real JSON parser. From performance
//! lines it extracts the `transaction_id`, so every line of a transaction can be
//! joined in `ml-api-logs`. What cannot be read is listed in `parse_errors`; a
//! line is never an error of the pipeline.
//!
//! Channels:
//! - `fields` (0): merged into the line's own document (`ml-api-logs`);
//! - `prediction` (1): the `ml-api-message` document of a prediction call: POST to
//!   `/predict` or `/predict_proba`, input and result both JSON objects, status
//!   2xx (configurable: `prediction_status = any`). Feature values are typed.

pub mod api_call;
pub mod features;

use api_call::ApiCall;
use logpipe_plugin_sdk::json::{ObjectWriter, RawObject};
use logpipe_plugin_sdk::{Config, Emit, Event, Info, Parser, export_parser};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Channel of the fields merged into the line's document.
pub const FIELDS: u32 = 0;
/// Channel of prediction documents.
pub const PREDICTION: u32 = 1;

/// Which statuses make a prediction call a prediction document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictionStatus {
    /// 200-299 only (the default: failed calls have no prediction).
    Success,
    /// Any status, as the original pipeline did.
    Any,
}

/// The reference message parser, configured.
#[derive(Debug, Clone)]
pub struct MessageParser {
    prediction_status: PredictionStatus,
}

impl Default for MessageParser {
    fn default() -> Self {
        Self {
            prediction_status: PredictionStatus::Success,
        }
    }
}

impl Parser for MessageParser {
    fn info() -> Info {
        Info::new("message", env!("CARGO_PKG_VERSION")).channels(&["fields", "prediction"])
    }

    fn configure(config: &Config) -> Result<Self, String> {
        config.reject_unknown(&["prediction_status"])?;
        let prediction_status = match config.get("prediction_status") {
            None | Some("2xx") => PredictionStatus::Success,
            Some("any") => PredictionStatus::Any,
            Some(other) => {
                return Err(format!(
                    "`prediction_status` must be `2xx` or `any`, not `{other}`"
                ));
            }
        };
        Ok(Self { prediction_status })
    }

    fn parse(&self, event: &Event<'_>, emit: &mut Emit) -> Result<(), String> {
        let message = event.message;
        if message.starts_with('{') {
            let mut w = ObjectWriter::with_capacity(64);
            match performance_transaction(message) {
                Ok(Some(tx)) => {
                    w.str("transaction_id", &tx);
                }
                Ok(None) => {}
                Err(e) => {
                    w.strs(
                        "parse_errors",
                        [format!("message is not valid JSON: {e}").as_str()],
                    );
                }
            }
            if !w.is_empty() {
                emit.raw(FIELDS, w.finish());
            }
            return Ok(());
        }
        let Some(call) = api_call::parse(message) else {
            return Ok(());
        };
        let input = call.input.map(|raw| (raw, RawObject::parse(raw.get())));
        emit.raw(FIELDS, fields_document(&call, input.as_ref()));
        if let Some((_, Ok(input))) = &input
            && self.is_prediction(&call)
        {
            emit.raw(PREDICTION, prediction_document(&call, input));
        }
        Ok(())
    }
}

impl MessageParser {
    fn is_prediction(&self, call: &ApiCall<'_>) -> bool {
        call.method == "POST"
            && matches!(call.path, "/predict" | "/predict_proba")
            && call.result.is_some_and(|r| r.get().starts_with('{'))
            && match self.prediction_status {
                PredictionStatus::Any => true,
                PredictionStatus::Success => call.status.is_some_and(|s| (200..300).contains(&s)),
            }
    }
}

type Input<'a> = (&'a RawValue, Result<RawObject<'a>, serde_json::Error>);

/// The fields merged into `ml-api-logs`.
fn fields_document(call: &ApiCall<'_>, input: Option<&Input<'_>>) -> String {
    let mut w = ObjectWriter::with_capacity(call.input.map_or(160, |i| i.get().len() + 256));
    common_fields(&mut w, call);
    let mut problems: Vec<String> = call.problems.clone();
    match input {
        Some((_, Ok(object))) => {
            write_input(&mut w, object, false);
        }
        Some((raw, Err(_))) => problems.push(format!("Input is not a JSON object: {}", raw.get())),
        None => {}
    }
    if let Some(result) = call.result {
        w.raw("result", result.get());
    }
    if !problems.is_empty() {
        w.strs("parse_errors", problems.iter().map(String::as_str));
    }
    w.finish()
}

/// The `ml-api-message` document.
fn prediction_document(call: &ApiCall<'_>, input: &RawObject<'_>) -> String {
    let mut w = ObjectWriter::with_capacity(call.result.map_or(0, |r| r.get().len()) + 512);
    common_fields(&mut w, call);
    write_input(&mut w, input, true);
    if let Some(result) = call.result {
        w.raw("result", result.get());
    }
    w.finish()
}

fn common_fields(w: &mut ObjectWriter, call: &ApiCall<'_>) {
    if let Some(tx) = call.transaction_id {
        w.str("transaction_id", tx);
    }
    w.str("http_method", call.method)
        .str("http_path", call.path);
    if let Some(status) = call.status {
        w.int("status_code", i64::from(status));
    }
    if let Some(ms) = call.time_ms {
        w.float("execution_time_ms", ms);
    }
}

/// Writes `input_data` with normalised keys; `typed` also types the features.
fn write_input(w: &mut ObjectWriter, input: &RawObject<'_>, typed: bool) {
    let mut inner = ObjectWriter::with_capacity(512);
    for (key, value) in &input.fields {
        let key = features::normalise_key(key);
        if typed && features::FEATURES.contains(&key.as_ref()) {
            inner.raw(&key, &features::type_value(value.get()));
        } else {
            inner.raw(&key, value.get());
        }
    }
    w.raw("input_data", &inner.finish());
}

/// The `transaction_id` inside a performance line, `Ok(None)` for other JSON.
fn performance_transaction(message: &str) -> Result<Option<String>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Line {
        performance_metrics: Option<Metrics>,
    }
    #[derive(Deserialize)]
    struct Metrics {
        transaction_id: Option<String>,
    }
    let line: Line = serde_json::from_str(message)?;
    Ok(line.performance_metrics.and_then(|m| m.transaction_id))
}

export_parser!(MessageParser);

#[cfg(test)]
mod tests;
