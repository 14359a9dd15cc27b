//! The typed columns of a document: what dashboards, drift, `trace` and
//! `export` filter and aggregate on, read once from the document's JSON when
//! the embedded store writes it (never recomputed from JSON by a query). The
//! readers of `input_data` and `result` are also the worker's
//! ([`super::prediction`]).
//!
//! Columns come from field names, whatever the index: a document with a
//! top-level `latency_ms` fills `latency_ms`, one with `input_data.AGE` fills
//! `age`. A field that is absent, or whose value is not of the column's kind
//! (a number, or a string holding one, for numeric columns; a plain string for
//! text columns), leaves its column NULL; the document itself keeps the truth.

use logpipe_json::{JsonError, ObjectFields, decode_key, skip_value, skip_ws};

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
    /// The objects read into these columns, for the next document's
    /// ([`Self::reusing`]).
    read: ObjectsRead<'a>,
}

/// The `input_data` and `result` objects read into a document's columns,
/// with what they held: a line's document and its message's hold the same
/// text, read once for both ([`Columns::reusing`]).
#[derive(Debug, Default, Clone)]
struct ObjectsRead<'a> {
    input_data: Option<(&'a str, [Option<f64>; 15])>,
    result: Option<(&'a str, ResultValues)>,
}

/// A cache, not part of what the columns are.
impl PartialEq for ObjectsRead<'_> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
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

    /// Takes in one top-level field of a document: its key (decoded) and its
    /// raw JSON value, as [`Self::of`] reads it. The workers call it for each
    /// field as they write a document ([`super::write_line_document`]): they
    /// know where its values are, so the document is not walked again.
    pub fn field(&mut self, key: &str, value: &'a str) {
        match key {
            "input_data" => match self.read.input_data {
                Some((text, features)) if text == value => self.features = features,
                _ => {
                    if let Ok(Some(_)) = read_features(value, 0, &mut self.features) {
                        self.read.input_data = Some((value, self.features));
                    }
                }
            },
            "result" => {
                let result = match self.read.result {
                    Some((text, result)) if text == value => Some(result),
                    _ => read_result(value, 0).ok().flatten(),
                };
                if let Some(result) = result {
                    self.prediction = result.prediction;
                    self.probability = result.probability;
                    self.read.result = Some((value, result));
                }
            }
            _ => self.scalar(key, value),
        }
    }

    /// Empty columns for the next document of a line, which reuse what
    /// these read when it holds the same `input_data` or `result` text.
    pub fn reusing(&self) -> Self {
        Columns {
            read: self.read.clone(),
            ..Columns::default()
        }
    }

    fn read(&mut self, source: &'a str) -> Result<(), JsonError> {
        let mut fields = ObjectFields::new(source.as_bytes(), 0)?;
        while let Some(key) = fields.next_key() {
            let key = key?;
            let name = decode_key(source, key.key, key.escaped)?;
            match name.as_ref() {
                // Objects read once, by their own reader, which says where they end.
                "input_data" => match read_features(source, key.value, &mut self.features)? {
                    Some(end) => fields.value_ends(end),
                    None => {
                        fields.skip_value()?;
                    }
                },
                "result" => match read_result(source, key.value)? {
                    Some(result) => {
                        self.prediction = result.prediction;
                        self.probability = result.probability;
                        fields.value_ends(result.end);
                    }
                    None => {
                        fields.skip_value()?;
                    }
                },
                name => {
                    let value = &source[fields.skip_value()?];
                    self.scalar(name, value);
                }
            }
        }
        Ok(())
    }

    /// A field that is neither `input_data` nor `result`.
    fn scalar(&mut self, key: &str, value: &'a str) {
        match key {
            "@timestamp" => self.time_ms = plain_string(value).and_then(epoch_ms),
            "transaction_id" => self.transaction_id = plain_string(value),
            "level" => self.level = plain_string(value),
            "http_method" => self.http_method = plain_string(value),
            "http_path" => self.http_path = plain_string(value),
            "status_code" => self.status_code = number(value),
            key => {
                if let Some(i) = MEASURES.iter().position(|m| *m == key) {
                    self.measures[i] = number(value);
                }
            }
        }
    }
}

/// Reads the `input_data` object at `at` into `features` ([`FEATURES`]
/// order); the index after it, or `None` when it is not an object.
pub(crate) fn read_features(
    source: &str,
    at: usize,
    features: &mut [Option<f64>; 15],
) -> Result<Option<usize>, JsonError> {
    let Ok(mut fields) = ObjectFields::new(source.as_bytes(), at) else {
        return Ok(None);
    };
    while let Some(field) = fields.next() {
        let field = field?;
        if let Some(i) = feature_index(source[field.key].as_bytes()) {
            features[i] = number(&source[field.value]);
        }
    }
    Ok(fields.end())
}

/// What a `result` object says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ResultValues {
    /// The index after the object.
    pub end: usize,
    /// `prediction`.
    pub prediction: Option<f64>,
    /// `probability`, or the second of `probabilities`.
    pub probability: Option<f64>,
}

/// Reads the `result` object at `at`; `None` when it is not an object (a
/// text result: no prediction).
pub(crate) fn read_result(source: &str, at: usize) -> Result<Option<ResultValues>, JsonError> {
    let Ok(mut fields) = ObjectFields::new(source.as_bytes(), at) else {
        return Ok(None);
    };
    let (mut prediction, mut probability, mut second_probability) = (None, None, None);
    while let Some(field) = fields.next() {
        let field = field?;
        let value = &source[field.value.clone()];
        match &source[field.key] {
            "prediction" => prediction = number(value),
            "probability" => probability = number(value),
            "probabilities" => second_probability = second_element(value).and_then(number),
            _ => {}
        }
    }
    Ok(fields.end().map(|end| ResultValues {
        end,
        prediction,
        probability: probability.or(second_probability),
    }))
}

/// The position in [`FEATURES`] of an `input_data` key (a match: the keys are
/// compared by length first, not each against all fifteen).
pub(crate) fn feature_index(key: &[u8]) -> Option<usize> {
    Some(match key {
        b"GENDER" => 0,
        b"AGE" => 1,
        b"SMOKING" => 2,
        b"YELLOW_FINGERS" => 3,
        b"ANXIETY" => 4,
        b"PEER_PRESSURE" => 5,
        b"CHRONIC_DISEASE" => 6,
        b"FATIGUE" => 7,
        b"ALLERGY" => 8,
        b"WHEEZING" => 9,
        b"ALCOHOL" => 10,
        b"COUGHING" => 11,
        b"SHORTNESS_OF_BREATH" => 12,
        b"SWALLOWING_DIFFICULTY" => 13,
        b"CHEST_PAIN" => 14,
        _ => return None,
    })
}

/// Milliseconds since the epoch of an RFC 3339 time. The pipeline writes
/// `YYYY-MM-DDTHH:MM:SSZ` (optionally with fractions): read by hand, as
/// days from the civil date (Hinnant's algorithm); other forms through jiff.
pub(crate) fn epoch_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        b.get(r)?.iter().try_fold(0i64, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let simple = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if simple
        && let (Some(y), Some(m), Some(d), Some(h), Some(mi), Some(s)) = (
            digits(0..4),
            digits(5..7),
            digits(8..10),
            digits(11..13),
            digits(14..16),
            digits(17..19),
        )
        && (1..=12).contains(&m)
        && (1..=31).contains(&d)
        && h < 24
        && mi < 60
        && s < 60
    {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        // A day that the month does not have (Feb 30) goes to jiff, which refuses it.
        if d <= 28 {
            return Some(((days * 24 + h) * 60 + mi) * 60_000 + s * 1000);
        }
    }
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// The text of a JSON string without escapes (ids, timestamps, levels and
/// paths never have any; one that does is left out rather than decoded).
pub(crate) fn plain_string(value: &str) -> Option<&str> {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|text| !text.contains('\\'))
}

/// A JSON number, a boolean (1 or 0), or a string holding a number.
pub(crate) fn number(value: &str) -> Option<f64> {
    // Most values are small integers (features, status codes): no float parser.
    let b = value.as_bytes();
    if !b.is_empty()
        && b.len() <= 9
        && b.iter().all(u8::is_ascii_digit)
        && (b[0] != b'0' || b.len() == 1)
    {
        return Some(
            b.iter()
                .fold(0u32, |n, c| n * 10 + u32::from(c - b'0'))
                .into(),
        );
    }
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

    /// Columns reusing another document's read the same values as columns
    /// of their own: the objects read before count only for the same text.
    #[test]
    fn columns_reusing_a_line_s_read_what_their_own_text_holds() {
        let fields = |c: &mut Columns<'static>, input: &'static str, result: &'static str| {
            c.field("input_data", input);
            c.field("result", result);
        };
        let mut line = Columns::default();
        fields(
            &mut line,
            r#"{"AGE":26,"SMOKING":1}"#,
            r#"{"prediction":1,"probability":0.75}"#,
        );
        for (input, result) in [
            (
                r#"{"AGE":26,"SMOKING":1}"#,
                r#"{"prediction":1,"probability":0.75}"#,
            ),
            (
                r#"{"AGE":27}"#,
                r#"{"prediction":0,"probabilities":[0.6,0.4]}"#,
            ),
            (r#""not an object""#, r#""a text result""#),
        ] {
            let mut reused = line.reusing();
            assert_eq!(reused, Columns::default(), "nothing of the line's columns");
            fields(&mut reused, input, result);
            let mut own = Columns::default();
            fields(&mut own, input, result);
            assert_eq!(
                (reused.features, reused.prediction, reused.probability),
                (own.features, own.prediction, own.probability),
                "{input} {result}"
            );
        }
    }

    #[test]
    fn times_read_by_hand_agree_with_jiff() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let t = jiff::Timestamp::from_second(rng.i64(-5_000_000_000..10_000_000_000)).unwrap();
            let text = t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
            assert_eq!(epoch_ms(&text), Some(t.as_millisecond()), "{text}");
        }
        for (text, want) in [
            ("2024-02-29T00:00:00Z", Some(1_709_164_800_000)),
            ("2023-02-29T00:00:00Z", None),
            ("2025-13-01T00:00:00Z", None),
            ("2025-11-21T24:00:00Z", None),
            ("2025-11-21T09:12:03.5Z", Some(1_763_716_323_500)),
        ] {
            assert_eq!(epoch_ms(text), want, "{text}");
        }
        assert_eq!(number("0"), Some(0.0));
        assert_eq!(number("123456789"), Some(123_456_789.0));
        assert_eq!(number("1234567890"), Some(1_234_567_890.0));
        assert_eq!(number("-3"), Some(-3.0));
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
