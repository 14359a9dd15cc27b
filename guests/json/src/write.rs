//! Writing JSON: string escaping and an allocation-frugal object writer.
//!
//! Plugins emit documents as JSON text. Building a `serde_json::Value` first costs
//! an allocation per field; this writer appends straight into one `String`, which
//! keeps the per-line cost of the reference parsers low.

use super::special::{ESCAPE, exact_special_flags, find_special, special_flags, word_at};
use std::fmt::Write as _;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the escaped inside of a JSON string (no quotes) for `s` to `out`.
///
/// This is the hot path of every line document (a performance line holds a
/// hundred quotes), so it works a word at a time: each word of `s` is stored
/// whole at the end of `out`, and only the bytes up to its first special byte
/// are kept; that byte is then escaped and the next word starts after it.
#[inline]
pub fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    // Most strings (keys, values, plain messages) need no escape at all.
    let mut i = find_special(bytes, 0);
    if i == bytes.len() {
        out.push_str(s);
        return;
    }
    // SAFETY (UTF-8): the bytes kept are runs of `s` (valid UTF-8) cut only
    // before an ASCII byte, and ASCII escape sequences: `out` stays valid UTF-8.
    let v = unsafe { out.as_mut_vec() };
    v.extend_from_slice(&bytes[..i]);
    // Invariant of the loop: spare capacity >= twice the bytes left in `s` plus
    // a word. A whole word always fits, and so does a two-byte escape (`\"`,
    // `\\`, `\n`…), the only kind dense text has; a control character written
    // `\u00XX` asks for more room first.
    v.reserve(2 * (bytes.len() - i) + 8);
    let mut len = v.len();
    let mut base = v.as_mut_ptr();
    while i + 8 <= bytes.len() {
        let found = special_flags(word_at(bytes, i));
        // SAFETY: 8 bytes of spare capacity (the invariant); `i + 8 <= bytes.len()`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr().add(i), base.add(len), 8) };
        if found == 0 {
            len += 8;
            i += 8;
            continue;
        }
        // Keep the plain bytes before the special one.
        let clean = (found.trailing_zeros() / 8) as usize;
        len += clean;
        i += clean;
        let b = bytes[i];
        i += 1;
        match ESCAPE[usize::from(b)] {
            b'u' => {
                // SAFETY: `len` bytes were written.
                unsafe { v.set_len(len) };
                push_escape(v, b, bytes.len() - i);
                len = v.len();
                base = v.as_mut_ptr();
            }
            e => {
                // SAFETY: two bytes of the spare capacity (the invariant).
                unsafe {
                    *base.add(len) = b'\\';
                    *base.add(len + 1) = e;
                }
                len += 2;
            }
        }
    }
    // SAFETY: every byte up to `len` was written above.
    unsafe { v.set_len(len) };
    for (k, &b) in bytes[i..].iter().enumerate() {
        if ESCAPE[b as usize] == 0 {
            v.push(b);
        } else {
            push_escape(v, b, bytes.len() - i - k - 1);
        }
    }
}

/// The length of `s` escaped as [`push_escaped`] writes it, without writing
/// it (the embedded store keeps some text unescaped and needs the length of
/// the document it stands for).
pub fn escaped_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    // One more byte for each special one (a backslash before a letter), four
    // more again for a control character written `\u00XX`.
    let extra = |b: u8| if ESCAPE[usize::from(b)] == b'u' { 5 } else { 1 };
    // Sixteen bytes at a time where SSE2 is (every x86-64): this counts every
    // line an import stores (BENCHMARKS.md).
    #[cfg(target_arch = "x86_64")]
    let (mut len, mut i) = {
        let (extra, done) = sse2::escapes_extra(bytes);
        (bytes.len() + extra, done)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let (mut len, mut i) = (bytes.len(), 0);
    while i + 8 <= bytes.len() {
        let (flags, control) = exact_special_flags(word_at(bytes, i));
        len += flags.count_ones() as usize;
        let mut control = control;
        while control != 0 {
            len += extra(bytes[i + (control.trailing_zeros() / 8) as usize]) - 1;
            control &= control - 1;
        }
        i += 8;
    }
    len + bytes[i..]
        .iter()
        .filter(|&&b| ESCAPE[usize::from(b)] != 0)
        .map(|&b| extra(b))
        .sum::<usize>()
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::ESCAPE;
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// The bytes that escaping `bytes`' whole sixteen-byte chunks adds (one
    /// per `"`, `\\` or control character, four more for a control
    /// character written `\u00XX`), and how many bytes were looked at.
    pub(super) fn escapes_extra(bytes: &[u8]) -> (usize, usize) {
        let (mut extra, mut i) = (0, 0);
        // SAFETY: SSE2 is part of x86-64; every load reads sixteen bytes of
        // `bytes` (`i + 16 <= len`), unaligned loads allowed.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let last_control = _mm_set1_epi8(0x1f);
            while i + 16 <= bytes.len() {
                let v = _mm_loadu_si128(bytes.as_ptr().add(i).cast::<__m128i>());
                // Unsigned `v <= 0x1f`: the smaller of the two is `v`.
                let control = _mm_cmpeq_epi8(_mm_min_epu8(v, last_control), v);
                let special = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                    control,
                );
                extra += _mm_movemask_epi8(special).count_ones() as usize;
                let mut control = _mm_movemask_epi8(control) as u32;
                while control != 0 {
                    let b = bytes[i + control.trailing_zeros() as usize];
                    extra += if ESCAPE[usize::from(b)] == b'u' { 4 } else { 0 };
                    control &= control - 1;
                }
                i += 16;
            }
        }
        (extra, i)
    }
}

/// Appends the escape sequence of special byte `b`, keeping room for twice the
/// `rest` bytes of the text plus one word (the invariant of [`push_escaped`]).
#[inline(always)]
fn push_escape(v: &mut Vec<u8>, b: u8, rest: usize) {
    v.reserve(2 * rest + 8 + 6);
    match ESCAPE[b as usize] {
        b'u' => v.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[(b >> 4) as usize],
            HEX[(b & 0xf) as usize],
        ]),
        e => v.extend_from_slice(&[b'\\', e]),
    }
}

/// Appends `s` to `out` as a JSON string literal (quoted and escaped).
#[inline]
pub fn push_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// Appends a JSON array of strings to `out`.
pub fn push_strs<'s>(out: &mut String, values: impl IntoIterator<Item = &'s str>) {
    out.push('[');
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, v);
    }
    out.push(']');
}

/// An object key that needs no escaping, checked once when made: at compile time
/// for a constant (`const TX: Key = Key::new("transaction_id");`). Writing it is
/// one copy; a plain `&str` key is checked each time it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key<'a>(&'a str);

impl<'a> Key<'a> {
    /// # Panics
    /// When `name` holds a byte that JSON strings must escape (`"`, `\\`, a
    /// control character): at compile time in a constant.
    pub const fn new(name: &'a str) -> Self {
        let bytes = name.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            assert!(ESCAPE[bytes[i] as usize] == 0, "this key needs escaping");
            i += 1;
        }
        Key(name)
    }

    /// The key's text.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// What names a field in [`ObjectWriter`]: a [`Key`], or any text (`&str`,
/// `&String`, `&Cow<str>`), escaped if it must be.
#[derive(Debug, Clone, Copy)]
pub struct Name<'a> {
    text: &'a str,
    plain: bool,
}

impl<'a> Name<'a> {
    /// Text known to need no escaping (from the scanner).
    pub(crate) fn plain_text(text: &'a str) -> Self {
        Name { text, plain: true }
    }

    /// The name's text.
    pub fn as_str(&self) -> &'a str {
        self.text
    }
}

impl<'a> From<Key<'a>> for Name<'a> {
    fn from(key: Key<'a>) -> Self {
        Name {
            text: key.0,
            plain: true,
        }
    }
}

impl<'a> From<&'a str> for Name<'a> {
    fn from(text: &'a str) -> Self {
        Name { text, plain: false }
    }
}

impl<'a> From<&'a String> for Name<'a> {
    fn from(text: &'a String) -> Self {
        Name::from(text.as_str())
    }
}

impl<'a> From<&'a std::borrow::Cow<'_, str>> for Name<'a> {
    fn from(text: &'a std::borrow::Cow<'_, str>) -> Self {
        Name::from(text.as_ref())
    }
}

/// Writes one JSON object field by field, into its own string
/// ([`ObjectWriter::with_capacity`]) or at the end of a string it is given
/// ([`ObjectWriter::into`], e.g. in the SDK's `Emit::write`).
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

    /// Adds an object field written by `write`; returns where the object's text
    /// is in the string, for [`ObjectWriter::copy`].
    pub fn object<'k>(
        &mut self,
        key: impl Into<Name<'k>>,
        write: impl FnOnce(&mut ObjectWriter<&mut String>),
    ) -> std::ops::Range<usize> {
        let out = self.key(key);
        let start = out.len();
        let mut inner = ObjectWriter::into(&mut *out);
        write(&mut inner);
        inner.close();
        start..out.len()
    }

    /// Adds a field whose value is a copy of `span` of the string being written:
    /// a value written earlier, in this document or an earlier one of the same
    /// string (such as a batch's documents in the SDK's `Emit::write`).
    ///
    /// # Panics
    /// When `span` is not within the string or not on character boundaries.
    pub fn copy<'k>(
        &mut self,
        key: impl Into<Name<'k>>,
        span: std::ops::Range<usize>,
    ) -> &mut Self {
        let out = self.key(key);
        assert!(
            span.start <= span.end
                && out.is_char_boundary(span.start)
                && out.is_char_boundary(span.end),
            "span {span:?} is not text of this string"
        );
        out.extend_from_within(span);
        self
    }
}

impl<B: std::borrow::BorrowMut<String>> ObjectWriter<B> {
    fn key<'k>(&mut self, name: impl Into<Name<'k>>) -> &mut String {
        let Name { text: key, plain } = name.into();
        let out = self.out.borrow_mut();
        out.reserve(key.len() + 4);
        if !self.empty {
            out.push(',');
        }
        self.empty = false;
        // Keys are short and almost always plain: one pass to check, one copy.
        if plain || find_special(key.as_bytes(), 0) == key.len() {
            out.push('"');
            out.push_str(key);
            out.push_str("\":");
        } else {
            push_str(out, key);
            out.push(':');
        }
        out
    }

    /// Adds a string field.
    pub fn str<'k>(&mut self, key: impl Into<Name<'k>>, value: &str) -> &mut Self {
        let out = self.key(key);
        push_str(out, value);
        self
    }

    /// Adds a field whose value is already valid JSON text (a number, an object…).
    /// The caller guarantees the text is one valid JSON value without raw newlines.
    pub fn raw<'k>(&mut self, key: impl Into<Name<'k>>, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    /// Adds an integer field.
    pub fn int<'k>(&mut self, key: impl Into<Name<'k>>, value: i64) -> &mut Self {
        let _ = write!(self.key(key), "{value}");
        self
    }

    /// Adds a finite float field; a non-finite value is written as `null`.
    pub fn float<'k>(&mut self, key: impl Into<Name<'k>>, value: f64) -> &mut Self {
        let out = self.key(key);
        if value.is_finite() {
            let _ = write!(out, "{value}");
        } else {
            out.push_str("null");
        }
        self
    }

    /// Adds a boolean field.
    pub fn bool<'k>(&mut self, key: impl Into<Name<'k>>, value: bool) -> &mut Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds a `null` field.
    pub fn null<'k>(&mut self, key: impl Into<Name<'k>>) -> &mut Self {
        self.key(key).push_str("null");
        self
    }

    /// Adds an array of strings.
    pub fn strs<'k, 's>(
        &mut self,
        key: impl Into<Name<'k>>,
        values: impl IntoIterator<Item = &'s str>,
    ) -> &mut Self {
        push_strs(self.key(key), values);
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
            .strs("l", ["x", "y"])
            .bool("yes", true)
            .bool("no", false)
            .null("none");
        let text = w.finish();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a\"b"], "line\nbreak \u{1} é \\ \u{8}\u{c}\t\r");
        assert_eq!(v["n"], -3);
        assert_eq!(v["f"], 51.14);
        assert!(v["nan"].is_null());
        assert_eq!(v["o"]["x"][1], 2);
        assert_eq!(v["l"][1], "y");
        assert_eq!(
            (v["yes"].clone(), v["no"].clone()),
            (true.into(), false.into())
        );
        assert!(v["none"].is_null() && v.as_object().unwrap().contains_key("none"));
        assert!(!text.contains('\n'));
        // Nested objects, written in place after earlier text.
        let mut out = String::from("{}");
        let mut doc = ObjectWriter::into(&mut out);
        doc.bool("ok", true);
        doc.object("input", |input| {
            input.int("AGE", 59).null("x");
        });
        doc.close();
        let v: serde_json::Value = serde_json::from_str(&out[2..]).unwrap();
        assert_eq!(v["input"]["AGE"], 59);
        assert!(v["input"]["x"].is_null() && v["ok"] == true);
    }

    #[test]
    fn escaping_agrees_with_serde_json_at_every_position() {
        // Special bytes, multi-byte characters and plain runs at every offset
        // around the word boundaries, appended to a string that already holds text.
        let pieces = [
            "\"", "\\", "\n", "\u{1}", "\u{1f}", "é", "€", "a", "bcdefgh", "\t",
        ];
        for len in 0..40 {
            for shift in 0..pieces.len() {
                let s: String = (0..len)
                    .map(|k| pieces[(k * 7 + shift) % pieces.len()])
                    .collect();
                let mut out = String::from("prefix");
                push_escaped(&mut out, &s);
                let want = serde_json::to_string(&s).unwrap();
                assert_eq!(out, format!("prefix{}", &want[1..want.len() - 1]), "{s:?}");
                assert_eq!(escaped_len(&s), want.len() - 2, "{s:?}");
            }
        }
    }

    #[test]
    fn nested_objects_can_be_copied_later_in_the_string() {
        let mut out = String::from("{\"first\":true}");
        let mut w = ObjectWriter::into(&mut out);
        let span = w.object("inner", |o| {
            o.str("é", "x").int("n", 1);
        });
        w.close();
        let mut w = ObjectWriter::into(&mut out);
        w.copy("again", span);
        w.close();
        assert_eq!(
            out,
            r#"{"first":true}{"inner":{"é":"x","n":1}}{"again":{"é":"x","n":1}}"#
        );
    }

    #[test]
    #[should_panic(expected = "not text of this string")]
    fn copy_refuses_a_span_inside_a_character() {
        let mut out = String::from("é");
        ObjectWriter::into(&mut out).copy("k", 1..2);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any keys and values (every character, escapes included), written
        /// into a string that already holds text: serde_json reads back the
        /// same object, and escapes every string the same way.
        #[test]
        fn serde_json_reads_back_what_is_written(
            prefix in "\\PC{0,5}",
            fields in proptest::collection::vec(
                (proptest::prelude::any::<String>(), proptest::prelude::any::<String>(), proptest::prelude::any::<i64>()),
                0..8,
            ),
        ) {
            let mut out = prefix.clone();
            let mut w = ObjectWriter::into(&mut out);
            for (key, text, n) in &fields {
                w.str(key.as_str(), text);
                w.int(&format!("{key}#"), *n);
            }
            w.close();
            let written: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&out[prefix.len()..]).unwrap();
            let mut want = serde_json::Map::new();
            for (key, text, n) in &fields {
                want.insert(key.clone(), text.clone().into());
                want.insert(format!("{key}#"), (*n).into());
            }
            proptest::prop_assert_eq!(written, want);
            for (_, text, _) in &fields {
                let mut escaped = String::new();
                push_escaped(&mut escaped, text);
                let serde = serde_json::to_string(text).unwrap();
                proptest::prop_assert_eq!(escaped.as_str(), &serde[1..serde.len() - 1]);
                proptest::prop_assert_eq!(escaped_len(text), escaped.len());
            }
        }
    }

    #[test]
    fn empty_object() {
        let w = ObjectWriter::with_capacity(2);
        assert!(w.is_empty());
        assert_eq!(w.finish(), "{}");
    }
}
