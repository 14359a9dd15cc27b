//! A strict, single-pass JSON scanner for plugin documents.
//!
//! Checking every document a plugin returns is on the hot path. Building serde
//! values (even raw ones) costs more than needed: the host only has to know that
//! the text is exactly one valid JSON object, where its top-level keys and values
//! are, and whether it holds a line break between tokens. This scanner does that
//! in one pass without allocating for values. It follows RFC 8259 strictly:
//! strings without raw control characters and with only the defined escapes,
//! numbers in the JSON grammar, the three literals, nesting at most 128 deep.

/// One top-level field: spans into the scanned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpan {
    /// The key's text between its quotes (still escaped if `escaped`).
    pub key: std::ops::Range<usize>,
    /// True when the key holds escapes and must be decoded.
    pub escaped: bool,
    /// The value's JSON text.
    pub value: std::ops::Range<usize>,
}

/// What the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// Top-level fields in order.
    pub fields: Vec<FieldSpan>,
    /// True when white space between tokens holds `\n` or `\r`.
    pub line_breaks: bool,
}

const MAX_DEPTH: usize = 128;

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    line_breaks: bool,
}

type Result<T> = std::result::Result<T, String>;

impl Scanner<'_> {
    fn err<T>(&self, what: &str) -> Result<T> {
        Err(format!("{what} at byte {}", self.i))
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b' ' | b'\t' => {}
                b'\n' | b'\r' => self.line_breaks = true,
                _ => return,
            }
            self.i += 1;
        }
    }

    #[inline(always)]
    fn expect(&mut self, c: u8) -> Result<()> {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            self.err(&format!("expected `{}`", c as char))
        }
    }

    /// Scans a string starting at its opening quote; returns whether it had escapes.
    #[inline(always)]
    fn string(&mut self) -> Result<bool> {
        self.expect(b'"')?;
        let mut escaped = false;
        loop {
            // The common run of plain bytes, eight at a time.
            self.i = logpipe_plugin_sdk::json::find_special(self.b, self.i);
            match self.b.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    match self.b.get(self.i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                        Some(b'u') => {
                            let hex = self.b.get(self.i + 2..self.i + 6);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return self.err("invalid \\u escape");
                            }
                            self.i += 6;
                        }
                        _ => return self.err("invalid escape"),
                    }
                }
                Some(_) => return self.err("control character in string"),
                None => return self.err("unterminated string"),
            }
        }
    }

    #[inline(always)]
    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    #[inline(always)]
    fn number(&mut self) -> Result<()> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.err("invalid number"),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return self.err("invalid number");
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.err("invalid number");
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.err("invalid literal")
        }
    }

    fn value(&mut self, depth: usize) -> Result<()> {
        match self.b.get(self.i) {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => self.object(depth + 1, None),
            Some(b'[') => self.array(depth + 1),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.err("unexpected character"),
            None => self.err("unexpected end"),
        }
    }

    fn array(&mut self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return self.err("nested too deeply");
        }
        self.expect(b'[')?;
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value(depth)?;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return self.err("expected `,` or `]`"),
            }
        }
    }

    /// Scans an object; at the top level (`fields` given) records its fields.
    fn object(&mut self, depth: usize, mut fields: Option<&mut Vec<FieldSpan>>) -> Result<()> {
        if depth > MAX_DEPTH {
            return self.err("nested too deeply");
        }
        self.expect(b'{')?;
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let key_start = self.i + 1;
            let escaped = self.string()?;
            let key = key_start..self.i - 1;
            self.ws();
            self.expect(b':')?;
            self.ws();
            let value_start = self.i;
            self.value(depth)?;
            if let Some(fields) = fields.as_deref_mut() {
                fields.push(FieldSpan {
                    key,
                    escaped,
                    value: value_start..self.i,
                });
            }
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return self.err("expected `,` or `}`"),
            }
        }
    }
}

/// Scans `text`, which must be exactly one JSON object (white space around allowed).
pub fn scan_object(text: &str) -> std::result::Result<Scanned, String> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
        line_breaks: false,
    };
    s.ws();
    if s.b.get(s.i) != Some(&b'{') {
        return s.err("expected a JSON object");
    }
    let mut fields = Vec::with_capacity(16);
    s.object(1, Some(&mut fields))?;
    s.ws();
    if s.i != s.b.len() {
        return s.err("trailing characters after the object");
    }
    Ok(Scanned {
        fields,
        line_breaks: s.line_breaks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scanner agrees with serde_json on what is one valid JSON object.
    fn agrees(text: &str) {
        let serde_ok = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
            .is_ok()
            || serde_json::from_str::<logpipe_plugin_sdk::json::RawObject<'_>>(text).is_ok();
        assert_eq!(
            scan_object(text).is_ok(),
            serde_ok,
            "{text:?}: {:?}",
            scan_object(text)
        );
    }

    #[test]
    fn agrees_with_serde_on_valid_and_invalid_texts() {
        for t in [
            "{}",
            " {\"a\":1} ",
            r#"{"a": [1, 2.5, -0, 1e10, 1E-3, true, false, null, {"b": "c\"\\\/\b\f\n\r\t\u00e9"}]}"#,
            r#"{"k\u00e9": "\ud83d\ude37"}"#,
            "{\"a\":1}\n",
            "[1]",
            "1",
            "",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":+1}",
            "{\"a\":tru}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12g4\"}",
            "{\"a\":\"raw\u{1}control\"}",
            "{\"a\":1} {\"b\":2}",
            "{\"a\":1}x",
            "{\"a\":[1,]}",
            "{\"a\":[,1]}",
            "{\"a\":[1 2]}",
            "{'a':1}",
        ] {
            agrees(t);
        }
    }

    #[test]
    fn agrees_on_every_fixture_line_and_its_cuts() {
        let sample = include_str!("../../../tests/fixtures/api-logs.sample.log");
        for line in sample.lines() {
            let message = line.splitn(4, " - ").nth(3).unwrap_or(line);
            if message.starts_with('{') {
                agrees(message);
                // Every cut of it is a truncated document.
                for cut in (1..message.len())
                    .step_by(7)
                    .filter(|&c| message.is_char_boundary(c))
                {
                    agrees(&message[..cut]);
                }
            }
        }
    }

    #[test]
    fn spans_and_line_breaks() {
        let text = "{\"a\": {\"x\": [1]},\n \"b\\u00e9\": \"v\"}";
        let s = scan_object(text).unwrap();
        assert!(s.line_breaks);
        assert_eq!(&text[s.fields[0].key.clone()], "a");
        assert_eq!(&text[s.fields[0].value.clone()], "{\"x\": [1]}");
        assert!(s.fields[1].escaped);
        assert_eq!(&text[s.fields[1].value.clone()], "\"v\"");
        let deep = "{\"a\":".to_string() + &"[".repeat(200) + &"]".repeat(200) + "}";
        assert!(scan_object(&deep).is_err());
    }
}
