//! The typed columns of a stored document: what dashboards, drift, `trace`
//! and `export` filter and aggregate on, read once from the document's JSON
//! when it is written (never recomputed from JSON by a query).
//!
//! Columns come from field names, whatever the index: a document with a
//! top-level `latency_ms` fills `latency_ms`, one with `input_data.AGE` fills
//! `age`. A field that is absent, or whose value is not of the column's kind
//! (a number, or a string holding one, for numeric columns; a plain string for
//! text columns), leaves its column NULL; the document itself keeps the truth.

use logpipe_plugin_sdk::json::{JsonError, ObjectFields, skip_value, skip_ws};

/// The model's 15 features, in training order: training name (the Parquet
/// column of `export`) and key in `input_data`. Each is a store column named
/// as its key in lower case (`CHRONIC_DISEASE` → `chronic_disease`).
pub const FEATURES: [(&str, &str); 15] = [
    ("GENDER", "GENDER"),
    ("AGE", "AGE"),
    ("SMOKING", "SMOKING"),
    ("YELLOW_FINGERS", "YELLOW_FINGERS"),
    ("ANXIETY", "ANXIETY"),
    ("PEER_PRESSURE", "PEER_PRESSURE"),
    ("CHRONIC DISEASE", "CHRONIC_DISEASE"),
    ("FATIGUE", "FATIGUE"),
    ("ALLERGY", "ALLERGY"),
    ("WHEEZING", "WHEEZING"),
    ("ALCOHOL CONSUMING", "ALCOHOL"),
    ("COUGHING", "COUGHING"),
    ("SHORTNESS OF BREATH", "SHORTNESS_OF_BREATH"),
    ("SWALLOWING DIFFICULTY", "SWALLOWING_DIFFICULTY"),
    ("CHEST PAIN", "CHEST_PAIN"),
];

/// Top-level numeric fields of performance and message documents, each its
/// own column of the same name.
pub const MEASURES: [&str; 7] = [
    "latency_ms",
    "inference_time_ms",
    "cpu_time_ms",
    "memory_mb",
    "memory_delta_mb",
    "function_calls",
    "execution_time_ms",
];

/// The typed columns of one document.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Columns<'a> {
    /// `@timestamp`, milliseconds since the Unix epoch.
    pub time_ms: Option<i64>,
    /// `transaction_id`.
    pub transaction_id: Option<&'a str>,
    /// `level` (line documents).
    pub level: Option<&'a str>,
    /// `http_method`.
    pub http_method: Option<&'a str>,
    /// `http_path`.
    pub http_path: Option<&'a str>,
    /// `status_code`.
    pub status_code: Option<f64>,
    /// `result.prediction`.
    pub prediction: Option<f64>,
    /// `result.probability`, or `result.probabilities[1]`.
    pub probability: Option<f64>,
    /// `input_data.<feature>`, in [`FEATURES`] order.
    pub features: [Option<f64>; 15],
    /// The [`MEASURES`], in order.
    pub measures: [Option<f64>; 7],
}

impl<'a> Columns<'a> {
    /// Reads the columns of `source`, a JSON object. Text that is not one
    /// gives the columns read before the fault (the sinks only receive checked
    /// documents, so this is for robustness, not a path taken).
    pub fn of(source: &'a str) -> Self {
        let mut columns = Columns::default();
        let _ = columns.read(source);
        columns
    }

    fn read(&mut self, source: &'a str) -> Result<(), JsonError> {
        let mut fields = ObjectFields::new(source.as_bytes(), 0)?;
        while let Some(field) = fields.next() {
            let field = field?;
            let value = &source[field.value.clone()];
            match &source[field.key] {
                "@timestamp" => {
                    self.time_ms = plain_string(value)
                        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                        .map(|t| t.as_millisecond())
                }
                "transaction_id" => self.transaction_id = plain_string(value),
                "level" => self.level = plain_string(value),
                "http_method" => self.http_method = plain_string(value),
                "http_path" => self.http_path = plain_string(value),
                "status_code" => self.status_code = number(value),
                "input_data" => self.read_features(source, field.value.start)?,
                "result" => self.read_result(source, field.value.start)?,
                key => {
                    if let Some(i) = MEASURES.iter().position(|m| *m == key) {
                        self.measures[i] = number(value);
                    }
                }
            }
        }
        Ok(())
    }

    fn read_features(&mut self, source: &'a str, at: usize) -> Result<(), JsonError> {
        let Ok(mut fields) = ObjectFields::new(source.as_bytes(), at) else {
            return Ok(()); // not an object: no features
        };
        while let Some(field) = fields.next() {
            let field = field?;
            let key = &source[field.key];
            if let Some(i) = FEATURES.iter().position(|(_, k)| *k == key) {
                self.features[i] = number(&source[field.value]);
            }
        }
        Ok(())
    }

    fn read_result(&mut self, source: &'a str, at: usize) -> Result<(), JsonError> {
        let Ok(mut fields) = ObjectFields::new(source.as_bytes(), at) else {
            return Ok(()); // a text result: no prediction
        };
        let mut second_probability = None;
        while let Some(field) = fields.next() {
            let field = field?;
            let value = &source[field.value.clone()];
            match &source[field.key] {
                "prediction" => self.prediction = number(value),
                "probability" => self.probability = number(value),
                "probabilities" => second_probability = second_element(value).and_then(number),
                _ => {}
            }
        }
        if self.probability.is_none() {
            self.probability = second_probability;
        }
        Ok(())
    }
}

/// The text of a JSON string without escapes (ids, timestamps, levels and
/// paths never have any; one that does is left out rather than decoded).
fn plain_string(value: &str) -> Option<&str> {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|text| !text.contains('\\'))
}

/// A JSON number, a boolean (1 or 0), or a string holding a number.
fn number(value: &str) -> Option<f64> {
    match value {
        "true" => Some(1.0),
        "false" => Some(0.0),
        _ => plain_string(value)
            .map(str::trim)
            .unwrap_or(value)
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite()),
    }
}

/// The raw text of the second element of a JSON array.
fn second_element(array: &str) -> Option<&str> {
    let b = array.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i = skip_ws(b, i + 1);
    i = skip_value(b, i).ok()?;
    i = skip_ws(b, i);
    if b.get(i) != Some(&b',') {
        return None;
    }
    let start = skip_ws(b, i + 1);
    let end = skip_value(b, start).ok()?;
    Some(&array[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_document_fills_its_columns() {
        let c = Columns::of(
            r#"{"@timestamp":"2025-11-21T09:12:03Z","transaction_id":"t1","http_method":"POST",
            "http_path":"/predict","status_code":200,"execution_time_ms":51.43,
            "input_data":{"AGE":26,"GENDER":0,"SMOKING":"1","CHEST_PAIN":true,"odd":{"AGE":1}},
            "result":{"prediction": 1, "probability": 0.75, "message": "x"}}"#,
        );
        assert_eq!(c.time_ms, Some(1_763_716_323_000));
        assert_eq!(c.transaction_id, Some("t1"));
        assert_eq!(
            (c.http_method, c.http_path),
            (Some("POST"), Some("/predict"))
        );
        assert_eq!(c.status_code, Some(200.0));
        assert_eq!((c.prediction, c.probability), (Some(1.0), Some(0.75)));
        assert_eq!(c.features[1], Some(26.0), "AGE");
        assert_eq!(c.features[0], Some(0.0), "GENDER");
        assert_eq!(c.features[2], Some(1.0), "a string holding a number");
        assert_eq!(c.features[14], Some(1.0), "true");
        assert_eq!(c.features[3], None, "absent");
        assert_eq!(c.measures[6], Some(51.43), "execution_time_ms");
    }

    #[test]
    fn probabilities_give_the_positive_class() {
        let c = Columns::of(r#"{"result":{"prediction":0,"probabilities":[0.75, 0.25]}}"#);
        assert_eq!(c.probability, Some(0.25));
        let c = Columns::of(r#"{"result":{"probabilities":[0.75]}}"#);
        assert_eq!(c.probability, None);
    }

    #[test]
    fn values_of_the_wrong_kind_leave_columns_empty() {
        let c = Columns::of(
            r#"{"@timestamp":"yesterday","level":7,"status_code":"abc","result":"failed",
            "input_data":[1,2],"latency_ms":null,"transaction_id":"a\"b"}"#,
        );
        assert_eq!(c, Columns::default());
        assert_eq!(Columns::of("not json"), Columns::default());
        let nested = Columns::of(r#"{"a":{"transaction_id":"inner"},"transaction_id":"t"}"#);
        assert_eq!(nested.transaction_id, Some("t"));
    }

    #[test]
    fn a_perf_document_fills_the_measures() {
        let c = Columns::of(
            r#"{"@timestamp":"2025-11-21T09:12:03.250+01:00","latency_ms":35.31,"inference_time_ms":35.31,
            "cpu_time_ms":31.84,"memory_mb":196.23,"memory_delta_mb":-1.23,"function_calls":30737,
            "top_functions":[{"latency_ms":1}]}"#,
        );
        assert_eq!(c.time_ms, Some(1_763_712_723_250));
        assert_eq!(
            c.measures,
            [
                Some(35.31),
                Some(35.31),
                Some(31.84),
                Some(196.23),
                Some(-1.23),
                Some(30737.0),
                None
            ]
        );
    }
}
