//! Building the documents of one line: its own (`ml-api-logs`) and the derived
//! ones (`ml-api-message`, `ml-api-perfs`…), as compact JSON text.

use super::columns::{Columns, epoch_ms};
use super::timestamp::TimestampConverter;
use super::validate::{CheckedDocument, KeySet};
use crate::source::record::Record;
use logpipe_json::{escaped_len, push_escaped, push_str, push_strs};

/// Fields the host writes in a line's own document; plugin fields of the same
/// name are refused (and reported) rather than silently overwriting them.
pub const HOST_FIELDS: [&str; 9] = [
    "@timestamp",
    "level",
    "logger",
    "message",
    "raw_log",
    "data",
    "flags",
    "plugin_errors",
    "timestamp_raw",
];

/// What the host knows about a line before plugins run.
#[derive(Debug, Default, Clone)]
pub struct LineStamp {
    /// RFC 3339 timestamp, when the line has a valid one.
    pub timestamp: Option<String>,
    /// Problems with the line itself (`no_header`, `invalid_timestamp`).
    pub flags: Vec<&'static str>,
    /// The header's time as a number ([`Document::line_time`](super::Document::line_time)).
    pub line_time: i64,
}

impl LineStamp {
    /// Reads the header of `record`.
    pub fn of(record: &Record, converter: &mut TimestampConverter) -> Self {
        let mut stamp = LineStamp::default();
        stamp.flags.extend_from_slice(record.flags());
        match record.timestamp() {
            None => stamp.flags.push("no_header"),
            Some(ts) => {
                stamp.line_time = super::timestamp::header_number(ts);
                let mut out = String::with_capacity(20);
                match converter.write(ts, &mut out) {
                    Ok(()) => stamp.timestamp = Some(out),
                    Err(_) => stamp.flags.push("invalid_timestamp"),
                }
            }
        }
        stamp
    }
}

/// The fields of a line the host provides to plugins that need them (the
/// others come from earlier stages' documents).
pub const PROVIDED_FIELDS: [&str; 3] = ["timestamp", "level", "logger"];

/// The text of host field `name` of a line (`None` inside when the line has
/// none); `None` when `name` is not one of [`PROVIDED_FIELDS`].
pub fn host_field<'a>(
    name: &str,
    record: &'a Record,
    stamp: &'a LineStamp,
) -> Option<Option<&'a str>> {
    match name {
        "timestamp" => Some(stamp.timestamp.as_deref()),
        "level" => Some(record.level()),
        "logger" => Some(record.logger()),
        _ => None,
    }
}

/// Where a line document holds its line's text, escaped twice: `message`
/// (the message), then `raw_log` (the header and the message). The embedded
/// store keeps the header and the message once, unescaped, instead
/// ([`crate::store::blocks::PackedSources`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineText {
    /// Where the message's escaped text starts: the document's text before
    /// it ends with `"message":"`, and after it comes `","raw_log":"`, the
    /// header escaped, and the message's escaped text again
    /// ([`write_line_text`]).
    pub message: usize,
    /// Where the quote closing `raw_log` is.
    pub raw_log_end: usize,
    /// Bytes of that text left out of the document ([`LineCopies::LeftOut`]:
    /// `message` and `raw_log_end` are then the same place); 0 when written.
    pub left_out: usize,
}

/// Whether [`write_line_document`] writes the line's text into the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineCopies {
    /// The whole document.
    Written,
    /// The document without its line's escaped text, when the line has a
    /// header (the text [`write_line_text`] writes, [`LineText::left_out`]
    /// bytes): for the embedded store alone, which keeps the line itself
    /// and writes the text back when it reads the document. Escaping and
    /// copying it twice was a tenth of an import's time (BENCHMARKS.md).
    LeftOut,
}

/// What `raw_log`'s key is written as between the message's escaped text
/// and the header's.
pub(crate) const RAW_LOG: &str = "\",\"raw_log\":\"";

/// Appends a line's text as a line document holds it from where the message
/// starts to the quote closing `raw_log`: the message escaped,
/// `","raw_log":"`, then the header and the message escaped.
pub fn write_line_text(out: &mut String, header: &str, message: &str) {
    let start = out.len();
    push_escaped(out, message);
    let escaped = start..out.len();
    out.push_str(RAW_LOG);
    push_escaped(out, header);
    out.extend_from_within(escaped);
}

/// The length of what [`write_line_text`] appends.
pub fn line_text_len(header: &str, message: &str) -> usize {
    2 * escaped_len(message) + RAW_LOG.len() + escaped_len(header)
}

/// Writes the line's own document into `out`. Plugin fields come after the host's;
/// a clash is skipped and described in `errors`, which are written last.
/// `columns`, when given, takes in the fields written as
/// [`Columns::of`] would read them from `out` (without walking it again:
/// the line's own text is most of it, and no column reads it).
/// Returns where the line's text is in `out` when it is there as
/// [`LineText`] says (a line with a header; `out` empty at first); with
/// [`LineCopies::LeftOut`], that text is left out of `out`.
pub fn write_line_document<'a>(
    out: &mut String,
    record: &'a Record,
    stamp: &'a LineStamp,
    merged: &'a [CheckedDocument],
    errors: &mut Vec<String>,
    mut columns: Option<&mut Columns<'a>>,
    copies: LineCopies,
) -> Option<LineText> {
    let mut line_text = None;
    out.push('{');
    if let Some(ts) = &stamp.timestamp {
        out.push_str("\"@timestamp\":\"");
        out.push_str(ts);
        out.push_str("\",");
        if let Some(c) = columns.as_deref_mut() {
            c.time_ms = epoch_ms(ts);
        }
    } else if let Some(raw) = record.timestamp() {
        out.push_str("\"timestamp_raw\":");
        push_str(out, raw);
        out.push(',');
    }
    if let Some(level) = record.level() {
        out.push_str("\"level\":");
        let start = out.len();
        push_str(out, level);
        // A column holds text written without escapes only.
        if let Some(c) = columns.as_deref_mut()
            && out.len() - start == level.len() + 2
        {
            c.level = Some(level);
        }
        out.push(',');
    }
    if let Some(logger) = record.logger() {
        out.push_str("\"logger\":");
        push_str(out, logger);
        out.push(',');
    }
    out.push_str("\"message\":\"");
    let message = out.len();
    match record.raw_header() {
        Some(header) => {
            let left_out = match copies {
                LineCopies::Written => {
                    write_line_text(out, header, record.message());
                    0
                }
                LineCopies::LeftOut => line_text_len(header, record.message()),
            };
            line_text = Some(LineText {
                message,
                raw_log_end: out.len(),
                left_out,
            });
            out.push('"');
        }
        None => {
            push_escaped(out, record.message());
            out.push_str("\",\"raw_log\":");
            push_str(out, record.raw());
        }
    }
    if let Some(data) = record.data() {
        out.push_str(",\"data\":");
        out.push_str(data.get());
    }
    let mut clashes: Vec<&str> = Vec::new();
    let mut written = KeySet::with_capacity(merged.iter().map(CheckedDocument::len).sum());
    for doc in merged {
        for (key, value) in doc.fields() {
            if HOST_FIELDS.contains(&key) || !written.insert(key) {
                clashes.push(key);
                continue;
            }
            out.push(',');
            push_str(out, key);
            out.push(':');
            out.push_str(value);
            if let Some(c) = columns.as_deref_mut() {
                c.field(key, value);
            }
        }
    }
    if !clashes.is_empty() {
        errors.push(clash_report(&clashes));
    }
    if !stamp.flags.is_empty() {
        out.push_str(",\"flags\":");
        push_strs(out, stamp.flags.iter().copied());
    }
    if !errors.is_empty() {
        out.push_str(",\"plugin_errors\":");
        push_strs(out, errors.iter().map(String::as_str));
    }
    out.push('}');
    line_text
}

/// Flag of a line document sent again without its plugins' fields after the
/// search server refused it.
pub const PLUGIN_FIELDS_REJECTED: &str = "plugin_fields_rejected";

/// The line document `source` with only the host's fields, flagged
/// [`PLUGIN_FIELDS_REJECTED`] and the server's `reason` added to its
/// `plugin_errors`; `None` if it is not a JSON object. Rare path (a server
/// refused the document): it parses the document whole.
pub fn without_plugin_fields(source: &str, reason: &str) -> Option<String> {
    use serde_json::Value;
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(source) else {
        return None;
    };
    fields.retain(|key, _| HOST_FIELDS.contains(&key.as_str()));
    let mut push = |key: &str, value: String| match fields
        .entry(key)
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(items) => items.push(Value::String(value)),
        other => *other = Value::Array(vec![Value::String(value)]),
    };
    push("flags", PLUGIN_FIELDS_REJECTED.to_string());
    push(
        "plugin_errors",
        crate::plugin::limits::bounded_reason(format!(
            "the search server refused the plugins' fields: {reason}"
        )),
    );
    serde_json::to_string(&fields).ok()
}

/// One error for every field skipped, naming a few: a plugin controls how many.
fn clash_report(clashes: &[&str]) -> String {
    const NAMED: usize = 8;
    let named: Vec<String> = clashes
        .iter()
        .take(NAMED)
        .map(|k| format!("`{k}`"))
        .collect();
    let more = clashes.len().saturating_sub(NAMED);
    let (s, rest) = match (clashes.len(), more) {
        (1, _) => ("", String::new()),
        (_, 0) => ("s", String::new()),
        (_, n) => ("s", format!(" and {n} more")),
    };
    format!(
        "field{s} {}{rest} produced twice or clashing with a host field; kept the first",
        named.join(", ")
    )
}

/// Writes a derived document: the plugin's fields, with the line's `@timestamp`
/// first unless the plugin set one; `columns`, when given, takes them in as
/// [`write_line_document`]'s does.
pub fn write_derived_document<'a>(
    out: &mut String,
    stamp: &'a LineStamp,
    doc: &'a CheckedDocument,
    columns: Option<&mut Columns<'a>>,
) {
    let json = doc.json();
    let stamped = stamp
        .timestamp
        .as_deref()
        .filter(|_| !doc.has("@timestamp"));
    if let Some(c) = columns {
        if let Some(ts) = stamped {
            c.time_ms = epoch_ms(ts);
        }
        for (key, value) in doc.fields() {
            c.field(key, value);
        }
    }
    match &stamp.timestamp {
        Some(ts) if stamped.is_some() => {
            out.push_str("{\"@timestamp\":\"");
            out.push_str(ts);
            out.push('"');
            if !doc.is_empty() {
                out.push(',');
                // The checked text is `{...}`: splice its inside.
                out.push_str(&json[1..]);
            } else {
                out.push('}');
            }
        }
        _ => out.push_str(json),
    }
}

#[cfg(test)]
mod tests {
    use super::super::validate::check_document;
    use super::*;
    use serde_json::Value;

    /// The line document of `record` and the columns taken in while it was written.
    fn line_document<'a>(
        record: &'a Record,
        stamp: &'a LineStamp,
        merged: &'a [CheckedDocument],
    ) -> (String, Columns<'a>) {
        let mut out = String::new();
        let mut columns = Columns::default();
        write_line_document(
            &mut out,
            record,
            stamp,
            merged,
            &mut Vec::new(),
            Some(&mut columns),
            LineCopies::Written,
        );
        (out, columns)
    }

    #[test]
    fn line_document_has_host_fields_then_plugin_fields() {
        let record = Record::from_line("2025-11-21 09:12:03 - api - INFO - x - y".into());
        let mut conv = TimestampConverter::default();
        let stamp = LineStamp::of(&record, &mut conv);
        let merged = [check_document(r#"{"status_code": 200, "message": "nope"}"#.into()).unwrap()];
        let (out, columns) = line_document(&record, &stamp, &merged);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(columns, Columns::of(&out));
        assert_eq!(columns.status_code, Some(200.0));
        assert!(columns.time_ms.is_some());
        assert_eq!(v["@timestamp"], "2025-11-21T09:12:03Z");
        assert_eq!(v["logger"], "api");
        assert_eq!(v["message"], "x - y");
        assert_eq!(v["raw_log"], "2025-11-21 09:12:03 - api - INFO - x - y");
        assert_eq!(v["status_code"], 200);
        assert_eq!(v["plugin_errors"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn headerless_and_invalid_timestamps_never_make_a_date() {
        let mut conv = TimestampConverter::default();
        let raw = Record::from_line("INFO:     10.1.1.1 - \"POST /predict\" 200".into());
        let stamp = LineStamp::of(&raw, &mut conv);
        let mut out = String::new();
        write_line_document(
            &mut out,
            &raw,
            &stamp,
            &[],
            &mut Vec::new(),
            None,
            LineCopies::Written,
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert!(v.get("@timestamp").is_none());
        assert_eq!(v["flags"][0], "no_header");
        let bad = Record::from_line("2025-02-30 10:00:00 - api - INFO - hello".into());
        let stamp = LineStamp::of(&bad, &mut conv);
        out.clear();
        write_line_document(
            &mut out,
            &bad,
            &stamp,
            &[],
            &mut Vec::new(),
            None,
            LineCopies::Written,
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert!(v.get("@timestamp").is_none());
        assert_eq!(v["timestamp_raw"], "2025-02-30 10:00:00");
        assert_eq!(v["flags"][0], "invalid_timestamp");
    }

    #[test]
    fn a_refused_line_document_keeps_only_the_host_fields() {
        let source = r#"{"@timestamp":"2025-11-21T09:12:03Z","level":"INFO","message":"m","raw_log":"r","input_data":{"AGE":1e300},"status_code":200,"flags":["no_header"]}"#;
        let bare = without_plugin_fields(source, "mapper_parsing_exception").unwrap();
        let v: Value = serde_json::from_str(&bare).unwrap();
        assert_eq!(v["message"], "m");
        assert_eq!(v["raw_log"], "r");
        assert!(v.get("input_data").is_none() && v.get("status_code").is_none());
        assert_eq!(v["flags"][0], "no_header");
        assert_eq!(v["flags"][1], PLUGIN_FIELDS_REJECTED);
        assert!(
            v["plugin_errors"][0]
                .as_str()
                .unwrap()
                .contains("mapper_parsing_exception")
        );
        assert!(without_plugin_fields("[1]", "x").is_none());
    }

    #[test]
    fn derived_documents_get_the_line_timestamp() {
        let stamp = LineStamp {
            timestamp: Some("2025-11-21T09:12:03Z".into()),
            flags: vec![],
            line_time: 20251121091203,
        };
        let mut out = String::new();
        write_derived_document(
            &mut out,
            &stamp,
            &check_document(r#"{"a":1}"#.into()).unwrap(),
            None,
        );
        assert_eq!(out, r#"{"@timestamp":"2025-11-21T09:12:03Z","a":1}"#);
        out.clear();
        write_derived_document(
            &mut out,
            &stamp,
            &check_document("{}".into()).unwrap(),
            None,
        );
        assert_eq!(out, r#"{"@timestamp":"2025-11-21T09:12:03Z"}"#);
    }

    /// The columns the writers take in as they write are those read from
    /// the whole document afterwards, whatever the plugins sent: escaped
    /// keys, clashes with host fields, a `@timestamp` of their own, a level
    /// that needs escapes, values of the wrong kind.
    #[test]
    fn columns_taken_in_while_writing_are_those_of_the_written_document() {
        let mut conv = TimestampConverter::default();
        let lines = [
            "2025-11-21 09:12:03 - api - INFO - x - y",
            "2025-11-21 09:12:03 - api - IN\"FO - quoted level",
            "2025-02-30 10:00:00 - api - INFO - bad date",
            "no header at all",
        ];
        let plugin_docs = [
            r#"{"status_code": 200, "message": "nope", "level": "DEBUG"}"#,
            r#"{"transaction\u005fid": "t-1", "input_data": {"AGE": 61, "SMOKING": "1"}, "result": {"prediction": 1, "probability": 0.9}}"#,
            r#"{"@timestamp": "2024-01-01T00:00:00Z", "latency_ms": "12.5", "http_path": "/p\u00e9", "top_functions": [{"a": [1, {"b": 2}]}]}"#,
            r#"{"input_data": "not an object", "result": "text", "status_code": true}"#,
            r#"{"http_method": "POST", "http_method2": 1, "memory_mb": "1e400"}"#,
        ];
        for line in lines {
            let record = Record::from_line(line.into());
            let stamp = LineStamp::of(&record, &mut conv);
            for doc in plugin_docs {
                let merged = [
                    check_document(doc.into()).unwrap(),
                    check_document(r#"{"status_code": 404, "transaction_id": "t-2"}"#.into())
                        .unwrap(),
                ];
                let (out, columns) = line_document(&record, &stamp, &merged);
                assert_eq!(columns, Columns::of(&out), "line document {out}");
                for checked in &merged {
                    let mut out = String::new();
                    let mut columns = Columns::default();
                    write_derived_document(&mut out, &stamp, checked, Some(&mut columns));
                    assert_eq!(columns, Columns::of(&out), "derived document {out}");
                }
            }
        }
    }
}
