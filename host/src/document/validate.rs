//! Checking what a plugin returns before it goes anywhere near a sink.
//!
//! A document must be exactly one JSON object. Its top-level keys must not be
//! Elasticsearch metadata fields (`_id`, `_index`…): a plugin cannot choose where
//! a document goes or what it overwrites. The text must hold no line break, so it
//! can never add lines to an NDJSON bulk body; a valid document with line breaks
//! between tokens is re-serialised compactly.

use logpipe_json::{JsonError, ObjectFields, RawObject, decode_key};
use std::borrow::Cow;
use std::ops::Range;

/// Why a plugin's document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDocument {
    /// Not exactly one JSON object.
    #[error("not one JSON object: {0}")]
    NotAnObject(String),
    /// A reserved top-level key.
    #[error("top-level field `{0}` is reserved (Elasticsearch metadata)")]
    Reserved(String),
    /// The same top-level key twice.
    #[error("top-level field `{0}` appears twice")]
    Duplicate(String),
}

/// A document that passed the checks: compact JSON text (owned, moved from the
/// plugin's answer without copying) and where its top-level fields are in it.
#[derive(Debug, Clone)]
pub struct CheckedDocument {
    json: String,
    fields: Vec<Field>,
}

#[derive(Debug, Clone)]
struct Field {
    key: Key,
    value: Range<u32>,
}

#[derive(Debug, Clone)]
enum Key {
    /// The key's text has no escapes: it is this span of the JSON text.
    Span(Range<u32>),
    /// The key had escapes: decoded.
    Decoded(Box<str>),
}

impl CheckedDocument {
    /// The whole document, one compact JSON object.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// Number of top-level fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when the object is empty.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Top-level fields as `(decoded key, raw JSON value)`, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|f| {
            let key = match &f.key {
                Key::Span(r) => &self.json[r.start as usize..r.end as usize],
                Key::Decoded(k) => k,
            };
            (
                key,
                &self.json[f.value.start as usize..f.value.end as usize],
            )
        })
    }

    /// The raw JSON value of top-level field `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// True when the document has top-level field `key`.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// Reads some top-level values of a document while it is checked, in the
/// same pass (the worker's [`super::prediction::PredictionReader`]), instead
/// of reading the checked document again.
pub trait FieldReader {
    /// Reads the value of top-level field `key` (a key written without
    /// escapes) that starts at `at` in `json`, if it wants it, and returns
    /// where the value ends. It returns an end only for a value it validated as
    /// strictly as the checker would (JSON, nesting no deeper): the checker
    /// then passes over it. `None` leaves the value to the checker.
    fn read(&mut self, key: &str, json: &str, at: usize) -> Option<usize>;
}

/// Reads nothing.
struct NoFields;

impl FieldReader for NoFields {
    #[inline(always)]
    fn read(&mut self, _: &str, _: &str, _: usize) -> Option<usize> {
        None
    }
}

/// Checks one document returned by a plugin, taking ownership of its text.
pub fn check_document(json: String) -> Result<CheckedDocument, InvalidDocument> {
    check_document_reading(json, &mut NoFields)
}

/// [`check_document`], with `values` reading the top-level values it wants
/// on the way.
pub fn check_document_reading(
    mut json: String,
    values: &mut impl FieldReader,
) -> Result<CheckedDocument, InvalidDocument> {
    if json.trim().len() != json.len() {
        json = json.trim().to_string();
    }
    let not_object = |e: JsonError| InvalidDocument::NotAnObject(e.to_string());
    let mut reader = ObjectFields::new(json.as_bytes(), 0).map_err(not_object)?;
    let mut fields: Vec<Field> = Vec::with_capacity(16);
    while let Some(field) = reader.next_key() {
        let field = field.map_err(not_object)?;
        let key = if field.escaped {
            let decoded = decode_key(&json, field.key, true).map_err(not_object)?;
            Key::Decoded(decoded.into_owned().into_boxed_str())
        } else {
            Key::Span(field.key.start as u32..field.key.end as u32)
        };
        let value = match &key {
            Key::Span(k) => {
                values.read(&json[k.start as usize..k.end as usize], &json, field.value)
            }
            Key::Decoded(_) => None,
        };
        let value = match value {
            Some(end) => {
                reader.value_ends(end);
                field.value..end
            }
            None => reader.skip_value().map_err(not_object)?,
        };
        fields.push(Field {
            key,
            value: value.start as u32..value.end as u32,
        });
    }
    if reader.end() != Some(json.len()) {
        return Err(InvalidDocument::NotAnObject(format!(
            "trailing characters after the object at byte {}",
            reader.end().unwrap_or_default()
        )));
    }
    let doc = CheckedDocument { json, fields };
    let mut keys = KeySet::with_capacity(doc.len());
    for (key, _) in doc.fields() {
        if key.starts_with('_') {
            return Err(InvalidDocument::Reserved(key.to_string()));
        }
        if !keys.insert(key) {
            return Err(InvalidDocument::Duplicate(key.to_string()));
        }
    }
    // Valid JSON holds raw line breaks only between tokens.
    if memchr::memchr2(b'\n', b'\r', doc.json.as_bytes()).is_some() {
        let object =
            RawObject::parse(&doc.json).map_err(|e| InvalidDocument::NotAnObject(e.to_string()))?;
        return rewrite_compact(&object);
    }
    Ok(doc)
}

/// A set of keys, linear in time whatever a plugin sends: documents have a
/// handful of keys, which a scan finds faster than a hash; past that, a hash.
pub struct KeySet<'a> {
    few: Vec<&'a str>,
    many: Option<std::collections::HashSet<&'a str>>,
}

impl<'a> KeySet<'a> {
    const FEW: usize = 16;

    /// An empty set for about `n` keys.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            few: Vec::with_capacity(n.min(Self::FEW)),
            many: (n > Self::FEW).then(|| std::collections::HashSet::with_capacity(n)),
        }
    }

    /// Adds `key`; false when it was there already.
    pub fn insert(&mut self, key: &'a str) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(key);
        }
        if self.few.contains(&key) {
            return false;
        }
        if self.few.len() == Self::FEW {
            let mut many: std::collections::HashSet<&'a str> = self.few.drain(..).collect();
            many.insert(key);
            self.many = Some(many);
        } else {
            self.few.push(key);
        }
        true
    }
}

/// Rare path: rewrites compactly. Raw values cannot hold raw line breaks inside
/// strings (JSON forbids it), so only white space between tokens goes away.
fn rewrite_compact(object: &RawObject<'_>) -> Result<CheckedDocument, InvalidDocument> {
    let mut json = String::from("{");
    let mut fields = Vec::with_capacity(object.fields.len());
    for (i, (key, value)) in object.fields.iter().enumerate() {
        // Valid JSON can still be out of a Value's range (1e400): refuse, never panic.
        let value: serde_json::Value =
            serde_json::from_str(value).map_err(|e| InvalidDocument::NotAnObject(e.to_string()))?;
        if i > 0 {
            json.push(',');
        }
        logpipe_json::push_str(&mut json, key);
        json.push(':');
        let start = json.len() as u32;
        json.push_str(&serde_json::to_string(&value).expect("a Value serialises"));
        fields.push(Field {
            key: Key::Decoded(key.as_ref().into()),
            value: start..json.len() as u32,
        });
    }
    json.push('}');
    Ok(CheckedDocument { json, fields })
}

/// The text of a scalar raw value as a plugin's `event.fields` entry receives it:
/// strings decoded, numbers and booleans as written; `None` for null, objects, arrays.
pub fn scalar_text(text: &str) -> Option<Cow<'_, str>> {
    match text.as_bytes().first()? {
        b'"' => {
            let inner = &text[1..text.len() - 1];
            if inner.contains('\\') {
                serde_json::from_str::<String>(text).ok().map(Cow::Owned)
            } else {
                Some(Cow::Borrowed(inner))
            }
        }
        b'{' | b'[' | b'n' => None,
        _ => Some(Cow::Borrowed(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_object() {
        let d =
            check_document(r#" {"a": 1, "b": {"c": "x\ny"}, "k\u00e9": 2}"#.to_string()).unwrap();
        assert_eq!(d.get("a").unwrap(), "1");
        assert_eq!(d.get("ké").unwrap(), "2");
        assert_eq!(d.json(), r#"{"a": 1, "b": {"c": "x\ny"}, "k\u00e9": 2}"#);
        assert!(d.has("b"));
    }

    #[test]
    fn refuses_what_is_not_one_object() {
        for bad in [
            "[1]",
            "1",
            "",
            "{\"a\": 1} {\"b\": 2}",
            "{\"a\": ",
            "{\"a\": 1}\n{\"index\": {}}",
        ] {
            assert!(
                matches!(
                    check_document(bad.to_string()),
                    Err(InvalidDocument::NotAnObject(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_metadata_and_duplicate_keys() {
        assert_eq!(
            check_document(r#"{"_index": "x"}"#.to_string()).unwrap_err(),
            InvalidDocument::Reserved("_index".into())
        );
        assert_eq!(
            check_document(r#"{"a": 1, "a": 2}"#.to_string()).unwrap_err(),
            InvalidDocument::Duplicate("a".into())
        );
    }

    #[test]
    fn huge_numbers_with_line_breaks_are_refused_not_a_panic() {
        assert!(check_document("{\n\"a\": 1e400}".to_string()).is_err());
    }

    #[test]
    fn line_breaks_between_tokens_are_removed() {
        let d = check_document("{\n  \"a\": [1,\n 2],\r\n \"b\": \"x\"\n}".to_string()).unwrap();
        assert_eq!(d.json(), r#"{"a":[1,2],"b":"x"}"#);
        assert_eq!(d.get("a").unwrap(), "[1,2]");
    }

    #[test]
    fn scalars_for_later_stages() {
        let d = check_document(
            r#"{"m": "POST", "e": "caf\u00e9", "n": 200, "t": true, "o": {}, "z": null}"#
                .to_string(),
        )
        .unwrap();
        assert_eq!(scalar_text(d.get("m").unwrap()).unwrap(), "POST");
        assert_eq!(scalar_text(d.get("e").unwrap()).unwrap(), "café");
        assert_eq!(scalar_text(d.get("n").unwrap()).unwrap(), "200");
        assert_eq!(scalar_text(d.get("t").unwrap()).unwrap(), "true");
        assert!(scalar_text(d.get("o").unwrap()).is_none());
        assert!(scalar_text(d.get("z").unwrap()).is_none());
    }
}
