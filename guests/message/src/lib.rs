//! The reference message parser, run on every line.
//!
//! From API-call lines (any method and path, real or short format) it extracts
//! `transaction_id`, `http_method`, `http_path`, `status_code`,
//! `execution_time_ms`, and the request (`input_data`, keys normalised) and
//! response (`result`) bodies, read with a real JSON parser. What cannot be read
//! is listed in `parse_errors`; a line is never an error of the pipeline.
//! Performance lines (JSON messages) are left to the performance parser, which
//! also gives their line document its `transaction_id`.
//!
//! Channels:
//! - `fields` (0): merged into the line's own document (`ml-api-logs`);
//! - `prediction` (1): the `ml-api-message` document of a prediction call: POST to
//!   `/predict` or `/predict_proba`, input and result both JSON objects, status
//!   2xx (configurable: `prediction_status = any`). Feature values are typed.

pub mod api_call;
pub mod features;

use api_call::ApiCall;
use logpipe_plugin_sdk::json::{Key, ObjectWriter, RawObject, is_number};
use logpipe_plugin_sdk::{Config, Emit, Event, Info, Parser, export_parser};

/// Channel of the fields merged into the line's document.
pub const FIELDS: u32 = 0;
/// Channel of prediction documents.
pub const PREDICTION: u32 = 1;

/// The documents' own keys (checked at compile time, written in one copy).
const TRANSACTION_ID: Key = Key::new("transaction_id");
const HTTP_METHOD: Key = Key::new("http_method");
const HTTP_PATH: Key = Key::new("http_path");
const STATUS_CODE: Key = Key::new("status_code");
const EXECUTION_TIME_MS: Key = Key::new("execution_time_ms");
const INPUT_DATA: Key = Key::new("input_data");
const RESULT: Key = Key::new("result");
const PARSE_ERRORS: Key = Key::new("parse_errors");

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
        let Some(call) = api_call::parse(event.message) else {
            return Ok(());
        };
        let object = call.input.as_ref().and_then(|b| b.object.as_ref());
        let mut written = None;
        emit.write(FIELDS, |out| written = fields_document(out, &call, object));
        if let (Some(object), Some(normalised)) = (object, written)
            && self.is_prediction(&call)
        {
            // Typing changes nothing for ordinary integer features: the prediction
            // document copies the normalised `input_data` already written.
            let input = if needs_typing(object) {
                Input::Typed(object)
            } else {
                Input::Copy(normalised)
            };
            emit.write(PREDICTION, |out| prediction_document(out, &call, input));
        }
        Ok(())
    }
}

impl MessageParser {
    fn is_prediction(&self, call: &ApiCall<'_>) -> bool {
        call.method == "POST"
            && matches!(call.path, "/predict" | "/predict_proba")
            && call.result.is_some_and(|r| r.starts_with('{'))
            && match self.prediction_status {
                PredictionStatus::Any => true,
                PredictionStatus::Success => call.status.is_some_and(|s| (200..300).contains(&s)),
            }
    }
}

/// Writes the fields merged into `ml-api-logs`; returns where their normalised
/// `input_data` is in `out`.
fn fields_document(
    out: &mut String,
    call: &ApiCall<'_>,
    input: Option<&RawObject<'_>>,
) -> Option<std::ops::Range<usize>> {
    let mut w = ObjectWriter::into(out);
    common_fields(&mut w, call);
    let written = input.map(|o| w.object(INPUT_DATA, |w| input_data(w, o, false)));
    if let Some(result) = call.result {
        w.raw(RESULT, result);
    }
    let not_object = call
        .input
        .as_ref()
        .filter(|b| b.object.is_none())
        .map(|b| format!("Input is not a JSON object: {}", b.raw));
    if !call.problems.is_empty() || not_object.is_some() {
        w.strs(
            PARSE_ERRORS,
            call.problems
                .iter()
                .map(String::as_str)
                .chain(not_object.as_deref()),
        );
    }
    w.close();
    written
}

/// How the prediction document gets its `input_data`.
enum Input<'o, 'a> {
    /// A copy of the normalised one at this span of the documents' string.
    Copy(std::ops::Range<usize>),
    /// Written from the request, its features typed.
    Typed(&'o RawObject<'a>),
}

/// Writes the `ml-api-message` document.
fn prediction_document(out: &mut String, call: &ApiCall<'_>, input: Input<'_, '_>) {
    let mut w = ObjectWriter::into(out);
    common_fields(&mut w, call);
    match input {
        Input::Copy(span) => {
            w.copy(INPUT_DATA, span);
        }
        Input::Typed(object) => {
            w.object(INPUT_DATA, |w| input_data(w, object, true));
        }
    }
    if let Some(result) = call.result {
        w.raw(RESULT, result);
    }
    w.close();
}

fn common_fields(w: &mut ObjectWriter<&mut String>, call: &ApiCall<'_>) {
    if let Some(tx) = call.transaction_id {
        w.str(TRANSACTION_ID, tx);
    }
    w.str(HTTP_METHOD, call.method).str(HTTP_PATH, call.path);
    // Numbers are written as the API wrote them when that is valid JSON
    // (formatting a float costs more than the rest of the field).
    match (call.status, call.status_text) {
        (_, Some(text)) if is_number(text) => {
            w.raw(STATUS_CODE, text);
        }
        (Some(status), _) => {
            w.int(STATUS_CODE, i64::from(status));
        }
        _ => {}
    }
    match (call.time_ms, call.time_text) {
        (_, Some(text)) if is_number(text) => {
            w.raw(EXECUTION_TIME_MS, text);
        }
        (Some(ms), _) => {
            w.float(EXECUTION_TIME_MS, ms);
        }
        _ => {}
    }
}

/// Writes the fields of `input_data`: keys normalised; `typed` also types the
/// features. Two spellings of one key (`ALCOHOL` and `ALCOHOL CONSUMING`, or a
/// key sent twice) would write it twice, which a search server refuses: the
/// first one is kept.
fn input_data(w: &mut ObjectWriter<&mut String>, input: &RawObject<'_>, typed: bool) {
    let mut features_written: u16 = 0;
    let mut others_written: std::collections::BTreeSet<std::borrow::Cow<'_, str>> =
        std::collections::BTreeSet::new();
    for (key, value) in &input.fields {
        match features::feature_index(key) {
            Some(index) => {
                if features_written & (1 << index) != 0 {
                    continue;
                }
                features_written |= 1 << index;
                let name = features::FEATURE_KEYS[index];
                if typed {
                    w.raw(name, &features::type_value(value))
                } else {
                    w.raw(name, value)
                }
            }
            None => {
                let key = features::normalise_key(key);
                if !others_written.insert(key.clone()) {
                    continue;
                }
                if typed && features::is_feature(&key) {
                    w.raw(&key, &features::type_value(value))
                } else {
                    w.raw(&key, value)
                }
            }
        };
    }
}

/// True when a feature value would change when typed.
fn needs_typing(input: &RawObject<'_>) -> bool {
    input.fields.iter().any(|(key, value)| {
        let v = *value;
        !v.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            && (features::feature(key).is_some()
                || features::is_feature(&features::normalise_key(key)))
    })
}

export_parser!(MessageParser);

#[cfg(test)]
mod tests;
