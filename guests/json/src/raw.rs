//! JSON read one level deep: an object's fields with their values left as raw
//! text borrowed from the input, and single values split off the front of a
//! text (request and response bodies inside a log message).

use super::read::{JsonError, ObjectFields, skip_value, skip_ws};
use super::write::Name;
use std::borrow::Cow;

/// A JSON object read one level deep: its fields in source order, keys decoded,
/// values left as raw JSON text (borrowed from the input, never re-encoded).
///
/// Reading a document this way validates all of it (nesting, strings, escapes)
/// without building a tree.
#[derive(Debug, Default)]
pub struct RawObject<'a> {
    /// `(key, raw value)` in source order; duplicate keys are kept as they came.
    /// A borrowed key is the key's text as written, free of escapes (as the
    /// reader makes it; [`RawObject::named_fields`] writes such keys unchecked).
    pub fields: Vec<(Cow<'a, str>, &'a str)>,
}

impl<'a> RawObject<'a> {
    /// Parses `text`, which must be exactly one JSON object (surrounding white
    /// space allowed).
    pub fn parse(text: &'a str) -> Result<Self, JsonError> {
        let (object, end) = Self::read(text, 0)?;
        let after = skip_ws(text.as_bytes(), end);
        if after != text.len() {
            return Err(JsonError {
                what: "trailing characters after the object",
                at: after,
            });
        }
        Ok(object)
    }

    /// Reads the object at `i` (after white space) in `text`; returns it and the
    /// index just after it.
    pub fn read(text: &'a str, i: usize) -> Result<(Self, usize), JsonError> {
        let mut reader = ObjectFields::new(text.as_bytes(), i)?;
        let mut fields = Vec::with_capacity(16);
        while let Some(field) = reader.next() {
            let field = field?;
            fields.push((
                decode_key(text, field.key, field.escaped)?,
                &text[field.value],
            ));
        }
        let end = reader.end().expect("all fields read");
        Ok((Self { fields }, end))
    }

    /// The fields with their keys as [`Name`]s: a key read without escapes is
    /// written back as it was read, without being checked again.
    pub fn named_fields(&self) -> impl Iterator<Item = (Name<'_>, &'a str)> + '_ {
        self.fields.iter().map(|(key, value)| {
            let name = match key {
                // Raw text between quotes that the scanner found free of escapes,
                // quotes and control characters.
                Cow::Borrowed(text) => Name::plain_text(text),
                Cow::Owned(text) => Name::from(text.as_str()),
            };
            (name, *value)
        })
    }

    /// The raw value of the first field named `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// The text of a key found by the scanner: borrowed, or decoded when it holds
/// escapes (rare; the scanner has already checked they are well formed).
#[inline(always)]
pub fn decode_key(
    text: &str,
    key: std::ops::Range<usize>,
    escaped: bool,
) -> Result<Cow<'_, str>, JsonError> {
    if !escaped {
        return Ok(Cow::Borrowed(&text[key]));
    }
    decode_escaped_key(text, key)
}

#[cold]
fn decode_escaped_key(text: &str, key: std::ops::Range<usize>) -> Result<Cow<'_, str>, JsonError> {
    let quoted = &text[key.start - 1..key.end + 1];
    serde_json::from_str::<String>(quoted)
        .map(Cow::Owned)
        .map_err(|_| JsonError {
            // Well-formed escapes that are not text: a lone UTF-16 surrogate.
            what: "key is not valid Unicode",
            at: key.start,
        })
}

/// Reads one JSON value at the start of `text` (after white space) and returns
/// its raw text and the rest of `text` after it. Nesting, braces inside strings
/// and escapes are handled by a strict JSON scanner.
#[inline]
pub fn split_value(text: &str) -> Result<(&str, &str), JsonError> {
    let start = skip_ws(text.as_bytes(), 0);
    let end = skip_value(text.as_bytes(), start)?;
    Ok((&text[start..end], &text[end..]))
}

/// Reads one JSON object at the start of `text` (after white space): the object,
/// its raw text, and the rest of `text` after it.
#[inline]
pub fn split_object(text: &str) -> Result<(RawObject<'_>, &str, &str), JsonError> {
    let start = skip_ws(text.as_bytes(), 0);
    let (object, end) = RawObject::read(text, start)?;
    Ok((object, &text[start..end], &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_object_keeps_order_and_decodes_keys() {
        let o = RawObject::parse(r#"{"b": 1, "a\u00e9": {"x": "}"}, "c": [1, {"d": 2}]}"#).unwrap();
        let keys: Vec<&str> = o.fields.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "aé", "c"]);
        assert_eq!(o.get("aé").unwrap(), r#"{"x": "}"}"#);
        assert!(RawObject::parse("[1]").is_err());
        assert!(RawObject::parse(r#"{"a": 1} x"#).is_err());
        assert!(
            RawObject::parse(r#"{"\ud800": 1}"#).is_err(),
            "lone surrogate"
        );
    }

    #[test]
    fn named_fields_write_back_what_was_read() {
        let o = RawObject::parse(r#"{"a": 1, "b\"c": [2], "d\u00e9": "x"}"#).unwrap();
        let mut w = crate::ObjectWriter::default();
        for (name, value) in o.named_fields() {
            w.raw(name, value);
        }
        let text = w.finish();
        assert_eq!(text, r#"{"a":1,"b\"c":[2],"dé":"x"}"#);
        assert!(RawObject::parse(&text).is_ok());
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
        assert_eq!(v, r#"{"n": "a - {b}"}"#);
        assert_eq!(rest, " - Result: {}");
        assert!(split_value(r#"{"n": "#).is_err());
        assert!(split_value("").is_err());
    }
}
