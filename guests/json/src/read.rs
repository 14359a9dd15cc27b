//! Reading JSON without building anything: a strict validator that finds where
//! values end, and a reader of one object's fields as spans of its text.
//!
//! Both the plugins (reading request bodies and performance lines) and the host
//! (checking every document a plugin returns) run this on every line, in
//! WebAssembly and natively. It is written for that: one loop over a byte slice
//! with the position in a local, nesting kept as bits of one integer, strings
//! skipped eight bytes at a time, and errors that are a position and a word
//! (no allocation, no formatting on the way). It follows RFC 8259 strictly:
//! no raw control characters in strings and only the defined escapes, numbers in
//! the JSON grammar, the three literals, nesting at most 128 deep.

use super::special::{find_special, non_digit_flags, word_at};
use std::ops::Range;

/// Nesting deeper than this is refused (as serde_json does).
pub const MAX_DEPTH: u32 = 128;

/// Why a text is not the JSON expected, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    /// What was wrong.
    pub what: &'static str,
    /// Byte offset in the text where it was found.
    pub at: usize,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for JsonError {}

type Result<T> = std::result::Result<T, JsonError>;

#[cold]
fn fail<T>(what: &'static str, at: usize) -> Result<T> {
    Err(JsonError { what, at })
}

/// The index of the first byte at or after `i` that is not JSON white space.
#[inline(always)]
pub fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
            break;
        }
        i += 1;
    }
    i
}

/// Skips a string whose opening quote is at `i - 1`; returns the index after its
/// closing quote and whether it holds escapes.
#[inline(always)]
fn string(b: &[u8], mut i: usize) -> Result<(usize, bool)> {
    let mut escaped = false;
    loop {
        i = find_special(b, i);
        match b.get(i) {
            Some(b'"') => return Ok((i + 1, escaped)),
            Some(b'\\') => {
                escaped = true;
                match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    Some(b'u') => {
                        match b.get(i + 2..i + 6) {
                            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => {}
                            _ => return fail("invalid \\u escape", i),
                        }
                        i += 6;
                    }
                    _ => return fail("invalid escape", i),
                }
            }
            Some(_) => return fail("control character in string", i),
            None => return fail("unterminated string", i),
        }
    }
}

#[inline(always)]
fn digits(b: &[u8], mut i: usize) -> usize {
    // Eight at a time: in WebAssembly every turn of a loop also checks the
    // plugin's deadline, so fewer turns matter more than natively.
    while i + 8 <= b.len() {
        let found = non_digit_flags(word_at(b, i));
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// Skips a number starting at `i`. A number too large for a 64-bit float
/// (`1e400`) is refused, as serde_json and Elasticsearch refuse it: such a
/// value must never reach a sink.
#[inline(always)]
fn number(b: &[u8], start: usize) -> Result<usize> {
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i + 1),
        _ => return fail("invalid number", start),
    }
    // Only an exponent or more than 308 integer digits can leave the range.
    let mut check_range = i - start > 308;
    if b.get(i) == Some(&b'.') {
        let first = i + 1;
        i = digits(b, first);
        if i == first {
            return fail("invalid number", start);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let first = i;
        i = digits(b, first);
        if i == first {
            return fail("invalid number", start);
        }
        check_range = true;
    }
    if check_range && !finite(&b[start..i]) {
        return fail("number out of range", start);
    }
    Ok(i)
}

/// True when the number `text` (valid JSON) is a finite 64-bit float.
#[cold]
fn finite(text: &[u8]) -> bool {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .is_some_and(f64::is_finite)
}

/// True when `text` is exactly one JSON value (white space around it allowed),
/// valid for a sink: strict RFC 8259, finite numbers.
pub fn is_valid(text: &str) -> bool {
    let b = text.as_bytes();
    let start = skip_ws(b, 0);
    skip_value(b, start).is_ok_and(|end| skip_ws(b, end) == b.len())
}

/// True when `text` is exactly one JSON number (so it can be written as is).
#[inline]
pub fn is_number(text: &str) -> bool {
    number(text.as_bytes(), 0).is_ok_and(|end| end == text.len())
}

#[inline(always)]
fn literal(b: &[u8], i: usize, word: &[u8]) -> Result<usize> {
    if b.get(i..i + word.len()) == Some(word) {
        Ok(i + word.len())
    } else {
        fail("invalid literal", i)
    }
}

/// Reads `"key" :` at `i` (white space before it already skipped); returns the
/// key's span between its quotes, whether it holds escapes, and the index of the
/// value (white space after the colon skipped).
#[inline(always)]
fn key(b: &[u8], i: usize) -> Result<(Range<usize>, bool, usize)> {
    if b.get(i) != Some(&b'"') {
        return fail("expected a string key", i);
    }
    let (end, escaped) = string(b, i + 1)?;
    // Writers put the colon right after the key: look there first.
    let colon = if b.get(end) == Some(&b':') {
        end
    } else {
        let colon = skip_ws(b, end);
        if b.get(colon) != Some(&b':') {
            return fail("expected `:`", colon);
        }
        colon
    };
    Ok((i + 1..end - 1, escaped, after_separator(b, colon + 1)))
}

/// Skips the white space after a `:` or `,`: usually one space, or none.
#[inline(always)]
fn after_separator(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b' ') if !matches!(b.get(i + 1), Some(b' ' | b'\n' | b'\r' | b'\t')) => i + 1,
        Some(b' ' | b'\n' | b'\r' | b'\t') => skip_ws(b, i),
        _ => i,
    }
}

/// Skips the JSON value starting at `i` (after white space); returns the index
/// just after it. What follows the value is not looked at.
pub fn skip_value(b: &[u8], i: usize) -> Result<usize> {
    let mut i = skip_ws(b, i);
    // One bit per open container, innermost lowest: 1 for an object.
    let mut open: u128 = 0;
    let mut depth = 0u32;
    loop {
        // A value starts at `i`.
        match b.get(i) {
            Some(b'"') => i = string(b, i + 1)?.0,
            Some(&c @ (b'{' | b'[')) => {
                if depth == MAX_DEPTH {
                    return fail("nested too deeply", i);
                }
                let close = if c == b'{' { b'}' } else { b']' };
                let inside = skip_ws(b, i + 1);
                if b.get(inside) == Some(&close) {
                    i = inside + 1;
                } else {
                    depth += 1;
                    open = open << 1 | u128::from(c == b'{');
                    i = if c == b'{' { key(b, inside)?.2 } else { inside };
                    continue;
                }
            }
            Some(b'-' | b'0'..=b'9') => i = number(b, i)?,
            Some(b't') => i = literal(b, i, b"true")?,
            Some(b'f') => i = literal(b, i, b"false")?,
            Some(b'n') => i = literal(b, i, b"null")?,
            Some(_) => return fail("expected a value", i),
            None => return fail("unexpected end, expected a value", i),
        }
        // After a value: close containers until one goes on with a comma.
        loop {
            if depth == 0 {
                return Ok(i);
            }
            if matches!(b.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
                i = skip_ws(b, i);
            }
            let in_object = open & 1 == 1;
            match (b.get(i), in_object) {
                (Some(b','), _) => {
                    i = after_separator(b, i + 1);
                    if in_object {
                        i = key(b, i)?.2;
                    }
                    break;
                }
                (Some(b'}'), true) | (Some(b']'), false) => {
                    i += 1;
                    depth -= 1;
                    open >>= 1;
                }
                (_, true) => return fail("expected `,` or `}`", i),
                (_, false) => return fail("expected `,` or `]`", i),
            }
        }
    }
}

/// A key of an object: spans into the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpan {
    /// The key between its quotes, still escaped when `escaped`.
    pub key: Range<usize>,
    /// True when the key holds escapes and must be decoded.
    pub escaped: bool,
    /// Where its value starts.
    pub value: usize,
}

/// One field of an object: spans into the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpan {
    /// The key between its quotes, still escaped when `escaped`.
    pub key: Range<usize>,
    /// True when the key holds escapes and must be decoded.
    pub escaped: bool,
    /// The value's JSON text.
    pub value: Range<usize>,
}

/// Reads the fields of the object at `i` (after white space) one by one:
/// [`ObjectFields::next`] gives each field with its value validated, or
/// [`ObjectFields::next_key`] gives a key and lets the caller read the value
/// itself (to read a nested object in the same pass). [`ObjectFields::end`] is
/// the index after the object once every field was read.
///
/// ```
/// use logpipe_json::ObjectFields;
/// let text = r#"{"a": [1, {"b": null}], "c": "d"}"#;
/// let mut fields = ObjectFields::new(text.as_bytes(), 0).unwrap();
/// let first = fields.next().unwrap().unwrap();
/// assert_eq!(&text[first.key], "a");
/// assert_eq!(&text[first.value], r#"[1, {"b": null}]"#);
/// assert_eq!(fields.next().unwrap().unwrap().escaped, false);
/// assert!(fields.next().is_none());
/// assert_eq!(fields.end(), Some(text.len()));
/// ```
#[derive(Debug)]
pub struct ObjectFields<'b> {
    b: &'b [u8],
    i: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first field.
    First,
    /// After a field's value.
    More,
    /// After a key: its value starts at `i`.
    Value,
    /// After the closing brace, or after an error.
    Done,
}

impl<'b> ObjectFields<'b> {
    /// Starts reading the object at `i`; an error when no object starts there.
    #[inline]
    pub fn new(b: &'b [u8], i: usize) -> Result<Self> {
        let i = skip_ws(b, i);
        if b.get(i) != Some(&b'{') {
            return fail("expected a JSON object", i);
        }
        Ok(Self {
            b,
            i: i + 1,
            state: State::First,
        })
    }

    /// The index just after the object, once all its fields were read.
    #[inline]
    pub fn end(&self) -> Option<usize> {
        (self.state == State::Done && self.i != usize::MAX).then_some(self.i)
    }

    /// The next field, its value validated; `None` after the closing brace.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn next(&mut self) -> Option<Result<FieldSpan>> {
        let key = match self.next_key()? {
            Ok(key) => key,
            Err(e) => return Some(Err(e)),
        };
        Some(self.skip_value().map(|value| FieldSpan {
            key: key.key,
            escaped: key.escaped,
            value,
        }))
    }

    /// The next key, the reader then standing at its value, which the caller
    /// reads with [`ObjectFields::skip_value`] or itself (then reporting its end
    /// with [`ObjectFields::value_ends`]); `None` after the closing brace.
    #[inline]
    pub fn next_key(&mut self) -> Option<Result<KeySpan>> {
        if self.state == State::Value
            && let Err(e) = self.skip_value()
        {
            return Some(Err(e));
        }
        let b = self.b;
        let mut i = skip_ws(b, self.i);
        match (self.state, b.get(i)) {
            (State::Done, _) => return None,
            (State::First, Some(b'}')) | (State::More, Some(b'}')) => {
                self.i = i + 1;
                self.state = State::Done;
                return None;
            }
            (State::More, Some(b',')) => i = skip_ws(b, i + 1),
            (State::More, _) => return Some(self.stop(fail("expected `,` or `}`", i))),
            _ => {}
        }
        let read = key(b, i).map(|(key, escaped, value)| KeySpan {
            key,
            escaped,
            value,
        });
        let read = self.stop(read);
        if let Ok(k) = &read {
            self.i = k.value;
            self.state = State::Value;
        }
        Some(read)
    }

    /// Validates and passes over the value of the key just read; returns its span.
    #[inline]
    pub fn skip_value(&mut self) -> Result<Range<usize>> {
        debug_assert_eq!(self.state, State::Value, "skip_value after next_key");
        let start = self.i;
        // Most values are numbers and strings: read them here, without the
        // machinery for nesting.
        let end = match self.b.get(start) {
            Some(b'-' | b'0'..=b'9') => number(self.b, start),
            Some(b'"') => string(self.b, start + 1).map(|(end, _)| end),
            _ => skip_value(self.b, start),
        };
        let end = self.stop(end)?;
        self.value_ends(end);
        Ok(start..end)
    }

    /// The caller has read the value of the key just read: it ends at `end`.
    #[inline]
    pub fn value_ends(&mut self, end: usize) {
        self.i = end;
        self.state = State::More;
    }

    /// An error ends the reading: `next` then returns `None`, `end` stays `None`.
    fn stop<T>(&mut self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.state = State::Done;
            self.i = usize::MAX;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `text` is exactly one valid JSON value, by the scanner.
    fn scanner_accepts(text: &str) -> bool {
        let b = text.as_bytes();
        skip_value(b, 0).is_ok_and(|end| skip_ws(b, end) == b.len())
    }

    fn agrees(text: &str) {
        let serde = serde_json::from_str::<serde_json::Value>(text).is_ok();
        assert_eq!(scanner_accepts(text), serde, "{text:?}");
    }

    #[test]
    fn agrees_with_serde_json_on_valid_and_invalid_texts() {
        for t in [
            "{}",
            " {\"a\":1} ",
            "[]",
            "[ ]",
            "{ }",
            r#"{"a": [1, 2.5, -0, 1e10, 1E-3, 2e+5, true, false, null, {"b": "c\"\\\/\b\f\n\r\t\u00e9"}]}"#,
            r#"{"k\u00e9": "\ud83d\ude37", "": ""}"#,
            "{\"a\":1}\n",
            "[[[]], [{}], {\"x\": [[1]]}]",
            "\"text\"",
            "-12.5e-3",
            "1",
            "",
            " ",
            "{",
            "[",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{\"a\":01}",
            "{\"a\":1e400}",
            "[-1E+400]",
            "[1e308, -1.7976931348623157e308, 1e-400]",
            "[2e308]",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":+1}",
            "{\"a\":-}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12g4\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"raw\u{1}control\"}",
            "{\"a\":1} {\"b\":2}",
            "{\"a\":1}x",
            "{\"a\":[1,]}",
            "{\"a\":[,1]}",
            "{\"a\":[1 2]}",
            "{\"a\":[1}",
            "{\"a\":{]}",
            "[{\"a\":1]",
            "{1:2}",
            "{'a':1}",
            "{\"a\":1,,\"b\":2}",
            "[1,,2]",
            "{\"a\"::1}",
        ] {
            agrees(t);
        }
    }

    #[test]
    fn agrees_on_every_fixture_line_and_its_cuts() {
        let sample = include_str!("../../../tests/fixtures/api-logs.sample.log");
        for line in sample.lines() {
            let message = line.splitn(4, " - ").nth(3).unwrap_or(line);
            for body in message
                .split(" - ")
                .filter(|p| p.starts_with(['{', '[', '"']))
                .chain([message])
            {
                agrees(body);
                for cut in (1..body.len()).filter(|&c| body.is_char_boundary(c)) {
                    agrees(&body[..cut]);
                }
            }
        }
    }

    /// Any JSON value, as serde_json writes it.
    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::vec((any::<String>(), inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// serde_json refuses a lone UTF-16 surrogate escape where the scanner,
    /// which does not decode strings, lets it through: the one known
    /// difference, kept out of the comparison.
    fn has_surrogate_escape(text: &str) -> bool {
        let t = text.to_ascii_lowercase();
        [
            "\\ud8", "\\ud9", "\\uda", "\\udb", "\\udc", "\\udd", "\\ude", "\\udf",
        ]
        .iter()
        .any(|s| t.contains(s))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Every value serde_json writes, compact or pretty, is accepted.
        #[test]
        fn accepts_what_serde_json_writes(v in json_value(), pretty in proptest::prelude::any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
            proptest::prop_assert!(scanner_accepts(&text), "{}", text);
        }

        /// Cut anywhere, or with one byte changed, inserted or removed: the
        /// scanner and serde_json agree on whether it is still JSON.
        #[test]
        fn agrees_on_truncated_and_corrupted_json(
            v in json_value(),
            at in proptest::prelude::any::<proptest::sample::Index>(),
            byte in proptest::prelude::any::<u8>(),
            how in 0u8..4,
        ) {
            let mut bytes = serde_json::to_string(&v).unwrap().into_bytes();
            let i = at.index(bytes.len() + 1);
            match how {
                0 => bytes.truncate(i),
                1 if i < bytes.len() => bytes[i] = byte,
                2 => bytes.insert(i, byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => {}
            }
            if let Ok(text) = std::str::from_utf8(&bytes) {
                proptest::prop_assume!(!has_surrogate_escape(text));
                agrees(text);
            }
        }

        /// Every escape, valid or not, in a string.
        #[test]
        fn agrees_on_escapes(c in proptest::prelude::any::<char>(), hex in "[0-9a-fA-FgG]{0,5}") {
            for text in [format!("\"\\{c}\""), format!("\"\\u{hex}\""), format!("[\"a\\{c}b\", 1]")] {
                if !has_surrogate_escape(&text) {
                    agrees(&text);
                }
            }
        }
    }

    #[test]
    fn nesting_is_bounded() {
        // serde_json skips values at any depth; the scanner draws a line.
        for n in [1, 127, 128, 129] {
            let accepted = n <= MAX_DEPTH as usize;
            assert_eq!(scanner_accepts(&("[".repeat(n) + &"]".repeat(n))), accepted);
            let objects = "{\"a\":".repeat(n) + "1" + &"}".repeat(n);
            assert_eq!(scanner_accepts(&objects), accepted, "{n}");
        }
        let deep = "{\"a\":".to_string() + &"[".repeat(200) + &"]".repeat(200) + "}";
        let err = skip_value(deep.as_bytes(), 0).unwrap_err();
        assert_eq!(err.what, "nested too deeply");
    }

    #[test]
    fn errors_say_what_and_where() {
        let err = skip_value(br#"{"a": [1, 2}"#, 0).unwrap_err();
        assert_eq!(err.to_string(), "expected `,` or `]` at byte 11");
        let err = skip_value(br#"{"a": "x"#, 0).unwrap_err();
        assert_eq!(err.what, "unterminated string");
    }

    #[test]
    fn numbers_as_json_writes_them() {
        for ok in ["0", "-0", "51.14", "-0.21", "200", "1e3", "2.5E-3"] {
            assert!(is_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "007", "1.", ".5", "+1", "1e", "51.14ms", " 1", "NaN",
        ] {
            assert!(!is_number(bad), "{bad}");
        }
    }

    #[test]
    fn fields_are_spans_and_stop_at_the_object() {
        let text = "{\"a\": {\"x\": [1]},\n \"b\\u00e9\": \"v\"} - rest";
        let mut f = ObjectFields::new(text.as_bytes(), 0).unwrap();
        let a = f.next().unwrap().unwrap();
        assert_eq!((&text[a.key.clone()], a.escaped), ("a", false));
        assert_eq!(&text[a.value], "{\"x\": [1]}");
        let b = f.next().unwrap().unwrap();
        assert!(b.escaped);
        assert_eq!(&text[b.key], "b\\u00e9");
        assert_eq!(&text[b.value], "\"v\"");
        assert!(f.next().is_none());
        assert_eq!(&text[f.end().unwrap()..], " - rest");
        let mut empty = ObjectFields::new(b" { } ", 0).unwrap();
        assert!(empty.next().is_none());
        assert_eq!(empty.end(), Some(4));
    }

    #[test]
    fn a_bad_field_ends_the_reading() {
        let mut f = ObjectFields::new(br#"{"a": 1 "b": 2}"#, 0).unwrap();
        assert!(f.next().unwrap().is_ok());
        assert_eq!(f.next().unwrap().unwrap_err().what, "expected `,` or `}`");
        assert!(f.next().is_none());
        assert_eq!(f.end(), None);
        assert!(ObjectFields::new(b"[1]", 0).is_err());
    }
}
