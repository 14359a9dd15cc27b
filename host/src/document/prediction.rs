//! The values continuous drift counts in a prediction document: its 15
//! features, the prediction and the probability, read as the embedded store's
//! columns read them ([`super::columns`]), each as the [`Slot`] drift counts
//! it in.
//!
//! The worker reads them while it checks the parser's document
//! ([`PredictionReader`] is a [`FieldReader`]), so that the drift monitor
//! never reads the JSON again: an `input_data` written compactly with integer
//! values (what the message parser writes) is validated and read in one pass,
//! for less than validating it alone cost, and a flat `result` is validated
//! and read field by field; anything else is left to the checker and read by
//! the general readers once the document is checked.

use super::columns::{
    FEATURES, ResultValues, epoch_ms, feature_index, plain_string, read_features, read_result,
};
use super::validate::{CheckedDocument, FieldReader};

/// Values of a prediction: the features, then `prediction`, then `probability`.
pub const VALUES: usize = FEATURES.len() + 2;

/// A value as drift counts it, in 64 bits: a small non-negative integer (the
/// features, the prediction: counted in an array, at that index), [`MISSING`],
/// or any other finite value's key, above both and in the values' order.
pub type Slot = u64;

/// Integers below this are their own slot.
pub const SMALL: Slot = 256;

/// The slot of a missing value (null, not a number, NaN, infinite).
pub const MISSING: Slot = SMALL;

/// The slot of a value.
#[inline]
pub fn slot(value: f64) -> Slot {
    // The range first: converting a value known to fit is one instruction.
    if (0.0..SMALL as f64).contains(&value) {
        let int = value as u32;
        if f64::from(int) == value {
            // -0.0 lands here too: one value with 0.0, as it is to pandas.
            return Slot::from(int);
        }
    }
    if !value.is_finite() {
        return MISSING;
    }
    // Positive values' bits with the top bit set, negative values' bits
    // flipped: the order of `f64::total_cmp`, and every key is above MISSING
    // (a finite negative value's flipped bits are at least 2^52).
    let bits = (value + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The slot of a value that may be missing.
#[inline]
pub fn slot_of(value: Option<f64>) -> Slot {
    value.map_or(MISSING, slot)
}

/// True for the slot of a value that is neither a small integer nor missing.
#[inline]
pub fn is_other(slot: Slot) -> bool {
    slot > MISSING
}

/// The value of a slot (`None` for [`MISSING`]).
pub fn value(slot: Slot) -> Option<f64> {
    Some(match slot {
        s if s < SMALL => s as f64,
        MISSING => return None,
        key if key >> 63 == 1 => f64::from_bits(key & !(1 << 63)),
        key => f64::from_bits(!key),
    })
}

/// A prediction's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prediction {
    /// [`FEATURES`] order, then `prediction` and `probability`.
    pub slots: [Slot; VALUES],
    /// `@timestamp`, milliseconds since the Unix epoch.
    pub time_ms: Option<i64>,
}

impl Prediction {
    /// The prediction of a document's text, read as the store reads its
    /// columns (for documents that did not come through a worker); `None`
    /// when it holds none.
    pub fn of_source(source: &str) -> Option<Prediction> {
        let columns = super::columns::Columns::of(source);
        let mut slots = [MISSING; VALUES];
        for (s, value) in slots.iter_mut().zip(columns.features) {
            *s = slot_of(value);
        }
        slots[VALUES - 2] = slot(columns.prediction?);
        slots[VALUES - 1] = slot_of(columns.probability);
        Some(Prediction {
            slots,
            time_ms: columns.time_ms,
        })
    }
}

/// Reads the prediction of each document it checks (one worker's: it keeps
/// the order of the last `input_data`'s keys, the next one's guess).
#[derive(Debug)]
pub struct PredictionReader {
    /// Position in [`FEATURES`] of the last `input_data`'s keys, in order
    /// (`NOT_A_FEATURE` for others): a key is first compared with the one at
    /// its place there, one comparison instead of a search.
    order: [u8; ORDER],
    features: [Slot; FEATURES.len()],
    /// `input_data` was read during the check.
    features_read: bool,
    /// `result` was read during the check: its prediction and probability.
    result: Option<(Option<f64>, Option<f64>)>,
    /// `@timestamp` seen during the check, and its time if a plain string.
    time: Option<Option<i64>>,
    /// The last day read, as `YYYY-MM-DD`, and its first millisecond.
    day: ([u8; 10], i64),
}

const ORDER: usize = 32;
const NOT_A_FEATURE: u8 = u8::MAX;

/// The `input_data` keys as bytes, in [`FEATURES`] order.
const KEYS: [&[u8]; FEATURES.len()] = {
    let mut keys: [&[u8]; FEATURES.len()] = [b""; FEATURES.len()];
    let mut i = 0;
    while i < FEATURES.len() {
        keys[i] = FEATURES[i].1.as_bytes();
        i += 1;
    }
    keys
};

impl Default for PredictionReader {
    fn default() -> Self {
        Self {
            order: [NOT_A_FEATURE; ORDER],
            features: [MISSING; FEATURES.len()],
            features_read: false,
            result: None,
            time: None,
            day: ([0; 10], 0),
        }
    }
}

impl FieldReader for PredictionReader {
    fn read(&mut self, key: &str, json: &str, at: usize) -> Option<usize> {
        match key {
            "input_data" => {
                let end = self.compact_features(json.as_bytes(), at);
                self.features_read = end.is_some();
                end
            }
            "result" => {
                let result = read_flat_result(json, at)?;
                self.result = Some((result.prediction, result.probability));
                Some(result.end)
            }
            "@timestamp" => {
                // Left to the checker; a string without escapes is read here.
                let b = json.as_bytes();
                self.time = Some(match b.get(at) {
                    Some(b'"') => memchr::memchr2(b'"', b'\\', &b[at + 1..])
                        .filter(|&n| b[at + 1 + n] == b'"')
                        .and_then(|n| self.epoch_ms(&json[at + 1..at + 1 + n])),
                    _ => None,
                });
                None
            }
            _ => None,
        }
    }
}

impl PredictionReader {
    /// Forgets the last document's values: call before checking a document.
    pub fn start(&mut self) {
        self.features = [MISSING; FEATURES.len()];
        self.features_read = false;
        self.result = None;
        self.time = None;
    }

    /// The prediction of `checked`, just checked with this reader; `line_time`
    /// is the `@timestamp` the document gets when it has none. `None` when
    /// it holds no prediction (no number in `result.prediction`).
    pub fn finish(
        &mut self,
        checked: &CheckedDocument,
        line_time: Option<&str>,
    ) -> Option<Prediction> {
        let (prediction, probability) = match self.result {
            Some(result) => result,
            None => {
                let result = read_result(checked.get("result")?, 0).ok()??;
                (result.prediction, result.probability)
            }
        };
        let prediction = prediction?;
        if !self.features_read {
            let mut features = [None; FEATURES.len()];
            if let Some(input) = checked.get("input_data") {
                let _ = read_features(input, 0, &mut features);
            }
            self.features = features.map(slot_of);
        }
        let mut slots = [MISSING; VALUES];
        slots[..FEATURES.len()].copy_from_slice(&self.features);
        slots[VALUES - 2] = slot(prediction);
        slots[VALUES - 1] = slot_of(probability);
        let time_ms = match self.time {
            Some(time) => time,
            // Written with escapes in its key: the document keeps it, as it is.
            None if checked.has("@timestamp") => checked
                .get("@timestamp")
                .and_then(plain_string)
                .and_then(epoch_ms),
            None => line_time.and_then(|time| self.epoch_ms(time)),
        };
        Some(Prediction { slots, time_ms })
    }

    /// [`epoch_ms`], for a `YYYY-MM-DDTHH:MM:SSZ` of the last day read
    /// without reading the date again (documents come in time order).
    fn epoch_ms(&mut self, text: &str) -> Option<i64> {
        let b = text.as_bytes();
        let two = |i: usize| -> Option<i64> {
            let (t, u) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
            (t < 10 && u < 10).then(|| i64::from(t * 10 + u))
        };
        if b.len() == 20
            && b[..10] == self.day.0
            && (b[10], b[13], b[16], b[19]) == (b'T', b':', b':', b'Z')
            && let (Some(h), Some(m), Some(s)) = (two(11), two(14), two(17))
            && h < 24
            && m < 60
            && s < 60
        {
            return Some(self.day.1 + ((h * 60 + m) * 60 + s) * 1000);
        }
        let ms = epoch_ms(text)?;
        if b.len() == 20 && b[19] == b'Z' {
            // A time of that form read: its day's first millisecond.
            self.day.0.copy_from_slice(&b[..10]);
            self.day.1 = ms - ms.rem_euclid(86_400_000);
        }
        Some(ms)
    }

    /// Reads `{"KEY":digits,...}` at `at`, written without white space, each
    /// value an integer of at most nine digits: validates it as the checker
    /// would (keys without escapes or control characters, numbers without
    /// leading zeros) and returns the index after it. `None` for anything
    /// else, which the checker and the general reader then take.
    fn compact_features(&mut self, b: &[u8], at: usize) -> Option<usize> {
        if b.get(at) != Some(&b'{') {
            return None;
        }
        let mut i = at + 1;
        if b.get(i) == Some(&b'}') {
            return Some(i + 1);
        }
        let mut field = 0;
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let start = i + 1;
            let guess = self.order[field.min(ORDER - 1)];
            let (feature, colon) = match KEYS.get(usize::from(guess)) {
                Some(key) if is_key_at(b, start, key) => {
                    (Some(usize::from(guess)), start + key.len() + 1)
                }
                _ => {
                    let mut end = start;
                    loop {
                        match *b.get(end)? {
                            b'"' => break,
                            b'\\' | 0..=0x1f => return None,
                            _ => end += 1,
                        }
                    }
                    let feature = feature_index(&b[start..end]);
                    if field < ORDER {
                        self.order[field] = feature.map_or(NOT_A_FEATURE, |f| f as u8);
                    }
                    (feature, end + 1)
                }
            };
            field += 1;
            if b.get(colon) != Some(&b':') {
                return None;
            }
            let digits = colon + 1;
            let mut end = digits;
            let mut value: u32 = 0;
            while let Some(d) = b.get(end).filter(|d| d.is_ascii_digit()) {
                value = value.wrapping_mul(10).wrapping_add(u32::from(d - b'0'));
                end += 1;
            }
            let len = end - digits;
            if len == 0 || len > 9 || (len > 1 && b[digits] == b'0') {
                return None;
            }
            if let Some(f) = feature {
                self.features[f] = match Slot::from(value) {
                    small if small < SMALL => small,
                    _ => slot(f64::from(value)),
                };
            }
            match *b.get(end)? {
                b',' => i = end + 1,
                b'}' => return Some(end + 1),
                _ => return None,
            }
        }
    }
}

/// True when `key` and its closing quote are at `at` in `b`: compared eight
/// bytes at a time (the keys are 3 to 21 bytes; a call to `memcmp` costs
/// more than the comparison).
#[inline]
fn is_key_at(b: &[u8], at: usize, key: &[u8]) -> bool {
    let Some(text) = b.get(at..at + key.len() + 1) else {
        return false;
    };
    if text[key.len()] != b'"' {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("4 bytes"));
    let n = key.len();
    if n < 4 {
        return text[..n].iter().zip(key).all(|(a, b)| a == b);
    }
    if n < 8 {
        return half(text, 0) == half(key, 0) && half(text, n - 4) == half(key, n - 4);
    }
    // Words from the start, the last one ending at the key's end (overlapping).
    let mut i = 0;
    while i + 8 < n {
        if word(text, i) != word(key, i) {
            return false;
        }
        i += 8;
    }
    word(text, n - 8) == word(key, n - 8)
}

/// Reads the `result` object at `at` when its values are scalars or arrays of
/// scalars (its nesting is then plainly within the checker's bound); `None`
/// otherwise, left to the checker.
fn read_flat_result(json: &str, at: usize) -> Option<ResultValues> {
    let result = super::columns::read_result(json, at).ok()??;
    let inner = &json.as_bytes()[at + 1..result.end - 1];
    // A bracket inside a string also sends it to the checker: slower, not wrong.
    (memchr::memchr(b'{', inner).is_none()
        && memchr::memchr(b'[', inner)
            .is_none_or(|first| memchr::memchr(b'[', &inner[first + 1..]).is_none()))
    .then_some(result)
}

#[cfg(test)]
mod tests {
    use super::super::columns::Columns;
    use super::super::validate::{check_document, check_document_reading};
    use super::*;

    /// The prediction read while checking, and the columns the store reads
    /// from the same text, agree.
    fn agree(json: &str, reader: &mut PredictionReader) -> Option<Prediction> {
        reader.start();
        let checked = check_document_reading(json.to_string(), reader).expect("valid");
        assert_eq!(
            checked.json(),
            check_document(json.to_string()).unwrap().json()
        );
        let prediction = reader.finish(&checked, Some("2025-11-21T09:12:03Z"));
        let columns = Columns::of(json);
        assert_eq!(prediction.is_some(), columns.prediction.is_some(), "{json}");
        if let Some(p) = prediction {
            for (i, feature) in columns.features.iter().enumerate() {
                assert_eq!(p.slots[i], slot_of(*feature), "{} in {json}", FEATURES[i].1);
            }
            assert_eq!(value(p.slots[15]), columns.prediction);
            assert_eq!(p.slots[16], slot_of(columns.probability));
        }
        prediction
    }

    #[test]
    fn what_the_worker_reads_is_what_the_store_reads() {
        let mut reader = PredictionReader::default();
        let compact = r#"{"transaction_id":"t","input_data":{"AGE":59,"ALCOHOL":1,"GENDER":0,"X":7,"CHEST_PAIN":1},"result":{"prediction": 1, "probabilities": [0.25, 0.75], "message": "Pr\u00e9diction"}}"#;
        for _ in 0..3 {
            // The second and third time, from the guessed order.
            let p = agree(compact, &mut reader).expect("a prediction");
            assert!(reader.features_read, "read in the checking pass");
            assert!(reader.result.is_some());
            assert_eq!(p.slots[1], 59);
            assert_eq!(value(p.slots[16]), Some(0.75));
            assert_eq!(p.time_ms, Some(1_763_716_323_000), "the line's time");
        }
        for json in [
            // Other orders, white space, floats, strings, booleans, nesting:
            // the general readers.
            r#"{"input_data":{"GENDER":1,"AGE":61},"result":{"prediction":0,"probability":0.5}}"#,
            r#"{"input_data": {"AGE": 61, "SMOKING": "1", "ANXIETY": true, "FATIGUE": 1.5},"result":{"prediction":0}}"#,
            r#"{"input_data":{"AGE":061},"result":{"prediction":1}}"#
                .replace("061", "61")
                .as_str(),
            r#"{"input_data":{"AGE":1234567890,"WHEEZING":0},"result":{"prediction":1,"extra":{"a":[1]}}}"#,
            r#"{"input_data":{},"result":{"prediction":1,"probabilities":[[0.1],[0.9]]}}"#,
            r#"{"input_data":{"A\u0047E":3,"AGE":4},"result":{"prediction":"1"}}"#,
            r#"{"@timestamp":"2025-11-21T10:00:00Z","input_data":{"AGE":4},"result":{"prediction":1}}"#,
            // Not predictions.
            r#"{"input_data":{"AGE":4},"result":"failed"}"#,
            r#"{"input_data":{"AGE":4},"result":{"message":"no prediction"}}"#,
            r#"{"input_data":{"AGE":4}}"#,
        ] {
            agree(json, &mut reader);
        }
        let own_time = r#"{"@timestamp":"2025-11-21T10:00:00Z","input_data":{"AGE":4},"result":{"prediction":1}}"#;
        assert_eq!(
            agree(own_time, &mut reader).unwrap().time_ms,
            Some(1_763_719_200_000)
        );
    }

    proptest::proptest! {
        /// Whatever a plugin writes in `input_data` and `result`, the check
        /// with the reader says what the check without it says, and what it
        /// reads is what the store reads.
        #[test]
        fn any_text_is_checked_and_read_as_without_the_reader(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::sample::select(vec![
                    "\"AGE\"", "\"GENDER\"", "\"CHEST_PAIN\"", "\"SMOKING\"", "\"X\"",
                    "\"A\\u0047E\"", "\"\u{1}\"", "\"AG", "\"é\"",
                ]),
                proptest::sample::select(vec![
                    ":", ",", "{", "}", "[", "]", " ", "\n", "0", "1", "07", "59",
                    "1234567890", "-3", "1.5", "1e3", "true", "null", "\"1\"",
                ]),
            ], 0..24),
            pairs in proptest::collection::vec((
                proptest::sample::select(vec!["AGE", "GENDER", "CHEST_PAIN", "SMOKING", "X", "é", "A\\u0047E"]),
                proptest::sample::select(vec!["0", "1", "59", "07", "1234567890", "1.5", "-3", "true", "\"1\"", "[1]", " 1"]),
            ), 0..18),
            well_formed in proptest::bool::ANY,
            result in proptest::sample::select(vec![
                r#"{"prediction":1,"probability":0.25}"#,
                r#"{"prediction": 0, "probabilities": [0.75, 0.25], "message": "x"}"#,
                r#"{"prediction":1,"extra":{"a":[[1]]}}"#,
                r#"{"prediction":1,}"#,
                r#""failed""#,
                r#"{"prediction":1,"prediction":"0","probability":0.5,"probability":"x"}"#,
                r#"{"prediction":1,"message":"prediction","m2":"\"probability\": 3"}"#,
                r#"{"message":"a [bracket]","prediction" : 0 ,"probabilities":[0.1,0.9]}"#,
                r#"{"probabilities":[0.1,[0.9]],"prediction":0}"#,
                r#"{"prediction":true,"probability":"0.25"}"#,
                r#"{}"#,
                r#"{"message":"a \"}\" [ \\","prediction":1,"nested":{"prediction":5,"x":[1,{"probability":2}]},"probability":0.5}"#,
                r#"{ "prediction" :1 , "probabilities" : [ 0.5 , 0.5e0 ] , "e":[] , "o":{} }"#,
                r#"{"a\"prediction":1,"prediction":0,"b\\\"probability":0.5}"#,
                r#"{"a\\":"prediction","prediction":0,"b\\":1,"probability":0.5}"#,
            ]),
        ) {
            let input: String = if well_formed {
                pairs.iter().map(|(k, v)| format!(r#""{k}":{v}"#)).collect::<Vec<_>>().join(",")
            } else {
                parts.concat()
            };
            let json = format!(r#"{{"input_data":{{{input}}},"result":{result}}}"#);
            let mut reader = PredictionReader::default();
            reader.start();
            let with = check_document_reading(json.clone(), &mut reader);
            let without = check_document(json.clone());
            proptest::prop_assert_eq!(with.as_ref().map(|d| d.json()), without.as_ref().map(|d| d.json()));
            if well_formed && pairs.iter().all(|(_, v)| *v != "07") && !result.ends_with(",}") {
                proptest::prop_assert!(with.is_ok(), "{}", json);
            }
            if with.is_ok() {
                // The guessed order learnt from this document, then again.
                agree(&json, &mut reader);
                agree(&json, &mut reader);
            }
        }
    }

    #[test]
    fn keys_keep_the_order_of_values() {
        let values = [
            f64::MIN,
            -1e300,
            -2.5,
            -1e-300,
            -5e-324,
            0.5,
            1e-300,
            0.25,
            1.5,
            255.5,
            256.0,
            1e300,
            f64::MAX,
        ];
        let mut sorted = values;
        sorted.sort_by(f64::total_cmp);
        for w in sorted.windows(2) {
            assert!(slot(w[0]) < slot(w[1]), "{w:?}");
        }
        for v in values {
            assert!(slot(v) > MISSING, "{v}");
            assert_eq!(value(slot(v)).unwrap().to_bits(), v.to_bits());
        }
        assert_eq!(slot(-0.0), 0);
        assert_eq!(slot(255.0), 255);
        assert_eq!(slot(f64::NAN), MISSING);
    }

    #[test]
    fn keys_are_compared_whole() {
        for key in KEYS {
            let text = [key, b"\":1".as_slice()].concat();
            assert!(is_key_at(&text, 0, key));
            for i in 0..key.len() {
                let mut other = text.clone();
                other[i] ^= 1;
                assert!(!is_key_at(&other, 0, key), "{i}");
            }
            assert!(!is_key_at(&text[..key.len()], 0, key), "no closing quote");
            let longer = [key, b"X\":1".as_slice()].concat();
            assert!(!is_key_at(&longer, 0, key));
        }
    }

    #[test]
    fn times_of_the_last_day_read_agree_with_reading_them_whole() {
        let mut reader = PredictionReader::default();
        let mut rng = fastrand::Rng::with_seed(11);
        let mut t = 1_763_716_323i64;
        for _ in 0..20_000 {
            // Mostly forward by seconds to minutes, sometimes days back.
            t += rng.i64(-200_000..3_000);
            let text = jiff::Timestamp::from_second(t)
                .unwrap()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(reader.epoch_ms(&text), epoch_ms(&text), "{text}");
        }
        for text in [
            "2025-11-21T09:12:03Z",
            "2025-11-21T24:00:00Z",
            "2025-11-21T09:60:00Z",
            "2025-11-21T09:12:03.5Z",
            "2025-11-21T0a:12:03Z",
        ] {
            assert_eq!(reader.epoch_ms(text), epoch_ms(text), "{text}");
        }
    }

    #[test]
    fn invalid_input_data_is_refused_as_without_the_reader() {
        let mut reader = PredictionReader::default();
        for bad in [
            r#"{"input_data":{"AGE":01},"result":{"prediction":1}}"#,
            r#"{"input_data":{"AGE":1,},"result":{"prediction":1}}"#,
            r#"{"input_data":{"AGE":1"#,
            "{\"input_data\":{\"A\u{1}\":1},\"result\":{\"prediction\":1}}",
            r#"{"input_data":{"AGE":1},"result":{"prediction":1,}}"#,
            r#"{"input_data":{"AGE":1},"input_data":{"AGE":2}}"#,
        ] {
            reader.start();
            let with = check_document_reading(bad.to_string(), &mut reader).map(|_| ());
            let without = check_document(bad.to_string()).map(|_| ());
            assert!(with.is_err(), "{bad}");
            assert_eq!(with, without, "{bad}");
        }
    }
}
