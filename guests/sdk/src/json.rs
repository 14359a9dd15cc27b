//! A small, allocation-frugal JSON object writer.
//!
//! Plugins emit documents as JSON text. Building a `serde_json::Value` first costs
//! an allocation per field; this writer appends straight into one `String`, which
//! keeps the per-line cost of the reference parsers low.

use std::fmt::Write as _;

/// What each byte becomes inside a JSON string: 0 stays as is, `u` is written
/// `\u00XX`, anything else is the letter after a backslash.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The index of the first byte at or after `from` that a JSON string cannot hold
/// as is (`"`, `\\` or a control character), or `bytes.len()`.
///
/// Eight bytes at a time. Each test below flags exactly the bytes it looks for
/// up to the first one it finds (a flag can only be wrong above a byte that
/// borrowed, which is itself flagged), so the lowest flag is the answer.
#[inline]
pub fn find_special(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let v = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let quote = zero(v ^ (ONES * u64::from(b'"')));
        let backslash = zero(v ^ (ONES * u64::from(b'\\')));
        let control = v.wrapping_sub(ONES * 0x20) & !v & HIGH;
        let found = quote | backslash | control;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() {
        if ESCAPE[bytes[i] as usize] != 0 {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// Appends the escaped inside of a JSON string (no quotes) for `s` to `out`.
pub fn push_escaped(out: &mut String, s: &str) {
    out.reserve(s.len() + 8);
    // SAFETY: only two kinds of bytes are appended: runs copied whole from `s`
    // (valid UTF-8, cut only before or after an ASCII byte, so at char
    // boundaries) and ASCII escape sequences. `out` therefore stays valid UTF-8.
    let v = unsafe { out.as_mut_vec() };
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        let i = find_special(bytes, start);
        if i == bytes.len() {
            break;
        }
        let b = bytes[i];
        let e = ESCAPE[b as usize];
        v.extend_from_slice(&bytes[start..i]);
        if e == b'u' {
            v.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]);
        } else {
            v.extend_from_slice(&[b'\\', e]);
        }
        start = i + 1;
    }
    v.extend_from_slice(&bytes[start..]);
}

/// Appends `s` to `out` as a JSON string literal (quoted and escaped).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// Writes one JSON object field by field, into its own string
/// ([`ObjectWriter::with_capacity`]) or at the end of a string it is given
/// ([`ObjectWriter::into`], e.g. in [`crate::Emit::write`]).
#[derive(Debug)]
pub struct ObjectWriter<B = String> {
    out: B,
    empty: bool,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        Self::with_capacity(256)
    }
}

impl ObjectWriter {
    /// An empty object with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut out = String::with_capacity(capacity);
        out.push('{');
        Self { out, empty: true }
    }

    /// Closes the object and returns its text.
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

impl<'a> ObjectWriter<&'a mut String> {
    /// An object written at the end of `out`.
    pub fn into(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, empty: true }
    }

    /// Closes the object.
    pub fn close(self) {
        self.out.push('}');
    }
}

impl<B: std::borrow::BorrowMut<String>> ObjectWriter<B> {
    fn key(&mut self, key: &str) -> &mut String {
        let out = self.out.borrow_mut();
        if !self.empty {
            out.push(',');
        }
        self.empty = false;
        push_str(out, key);
        out.push(':');
        out
    }

    /// Adds a string field.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        let out = self.key(key);
        push_str(out, value);
        self
    }

    /// Adds a field whose value is already valid JSON text (a number, an object…).
    /// The caller guarantees the text is one valid JSON value without raw newlines.
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    /// Adds an integer field.
    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        let _ = write!(self.key(key), "{value}");
        self
    }

    /// Adds a finite float field; a non-finite value is written as `null`.
    pub fn float(&mut self, key: &str, value: f64) -> &mut Self {
        let out = self.key(key);
        if value.is_finite() {
            let _ = write!(out, "{value}");
        } else {
            out.push_str("null");
        }
        self
    }

    /// Adds an array of strings.
    pub fn strs<'s>(&mut self, key: &str, values: impl IntoIterator<Item = &'s str>) -> &mut Self {
        let out = self.key(key);
        out.push('[');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(out, v);
        }
        out.push(']');
        self
    }

    /// True when no field was written.
    pub fn is_empty(&self) -> bool {
        self.empty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_escaped_json() {
        let mut w = ObjectWriter::default();
        w.str("a\"b", "line\nbreak \u{1} é \\ \u{8}\u{c}\t\r")
            .int("n", -3)
            .float("f", 51.14)
            .float("nan", f64::NAN)
            .raw("o", r#"{"x":[1,2]}"#)
            .strs("l", ["x", "y"]);
        let text = w.finish();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a\"b"], "line\nbreak \u{1} é \\ \u{8}\u{c}\t\r");
        assert_eq!(v["n"], -3);
        assert_eq!(v["f"], 51.14);
        assert!(v["nan"].is_null());
        assert_eq!(v["o"]["x"][1], 2);
        assert_eq!(v["l"][1], "y");
        assert!(!text.contains('\n'));
    }

    #[test]
    fn find_special_agrees_with_a_byte_loop() {
        let mut text: Vec<u8> = Vec::new();
        for i in 0..2000u32 {
            let b = match i % 97 {
                0 => b'"',
                13 => b'\\',
                41 => 0x1f,
                42 => 0x20, // just above a control character: must not be flagged
                43 => b'"' + 1,
                44 => b'\\' + 1,
                50 => 0x7f,
                60 => 0xc3,
                61 => 0x00,
                62 => 0x21,
                _ => b'a' + (i % 26) as u8,
            };
            text.push(b);
        }
        for from in 0..text.len() {
            let want = (from..text.len())
                .find(|&i| ESCAPE[text[i] as usize] != 0)
                .unwrap_or(text.len());
            assert_eq!(find_special(&text, from), want, "from {from}");
        }
    }

    #[test]
    fn empty_object() {
        let w = ObjectWriter::with_capacity(2);
        assert!(w.is_empty());
        assert_eq!(w.finish(), "{}");
    }
}

/// A JSON object read one level deep: its fields in source order, keys decoded,
/// values left as raw JSON text (borrowed from the input, never re-encoded).
///
/// Reading a document this way validates all of it (nesting, strings, escapes)
/// without building a tree.
#[derive(Debug, Default)]
pub struct RawObject<'a> {
    /// `(key, raw value)` in source order; duplicate keys are kept as they came.
    pub fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;

impl<'a> RawObject<'a> {
    /// Parses `text`, which must be exactly one JSON object (surrounding white
    /// space allowed).
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The raw value of the first field named `key`.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// A map key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawObject<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ObjectVisitor<'a> {
            type Value = RawObject<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((Key(k), v)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    fields.push((k, v));
                }
                Ok(RawObject { fields })
            }
        }
        d.deserialize_map(ObjectVisitor(std::marker::PhantomData))
    }
}

/// Reads one JSON value at the start of `text` and returns its raw text and the
/// rest of `text` after it. Nesting, braces inside strings and escapes are
/// handled by a real JSON parser.
pub fn split_value(text: &str) -> Result<(&RawValue, &str), serde_json::Error> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    match stream.next() {
        Some(Ok(value)) => {
            let end = stream.byte_offset();
            Ok((value, &text[end..]))
        }
        Some(Err(e)) => Err(e),
        None => Err(de::Error::custom(
            "expected a JSON value, found the end of the text",
        )),
    }
}

/// Reads one JSON object at the start of `text` (after white space): the object,
/// its raw text, and the rest of `text` after it.
pub fn split_object(text: &str) -> Result<(RawObject<'_>, &str, &str), serde_json::Error> {
    let start = text.len() - text.trim_start().len();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<RawObject<'_>>();
    match stream.next() {
        Some(Ok(object)) => {
            let end = stream.byte_offset();
            Ok((object, &text[start..end], &text[end..]))
        }
        Some(Err(e)) => Err(e),
        None => Err(de::Error::custom(
            "expected a JSON object, found the end of the text",
        )),
    }
}

#[cfg(test)]
mod raw_tests {
    use super::*;

    #[test]
    fn raw_object_keeps_order_and_decodes_keys() {
        let o = RawObject::parse(r#"{"b": 1, "a\u00e9": {"x": "}"}, "c": [1, {"d": 2}]}"#).unwrap();
        let keys: Vec<&str> = o.fields.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "aé", "c"]);
        assert_eq!(o.get("aé").unwrap().get(), r#"{"x": "}"}"#);
        assert!(RawObject::parse("[1]").is_err());
        assert!(RawObject::parse(r#"{"a": 1} x"#).is_err());
    }

    #[test]
    fn split_object_gives_object_text_and_rest() {
        let (o, raw, rest) = split_object(r#"{"a": {"b": "}"}} - Result: {}"#).unwrap();
        assert_eq!(o.fields.len(), 1);
        assert_eq!(raw, r#"{"a": {"b": "}"}}"#);
        assert_eq!(rest, " - Result: {}");
        assert!(split_object(r#""text" - x"#).is_err());
    }

    #[test]
    fn split_value_stops_after_one_value() {
        let (v, rest) = split_value(r#"{"n": "a - {b}"} - Result: {}"#).unwrap();
        assert_eq!(v.get(), r#"{"n": "a - {b}"}"#);
        assert_eq!(rest, " - Result: {}");
        assert!(split_value(r#"{"n": "#).is_err());
    }
}
