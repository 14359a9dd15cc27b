//! The bulk NDJSON encoding of documents: an action line, then the source line.

use crate::document::Document;
use logpipe_json::push_str;

/// What a bulk item asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Store unless the `_id` is there (409): the pipeline's writes, which
    /// never overwrite.
    Create,
    /// Store, replacing what is there: replays of dead letters, whose whole
    /// document replaces the one stored without its plugin fields.
    Index,
}

/// Appends the bulk lines of `doc` (a `create` action, so that a document
/// already stored under the same `_id` is reported, never overwritten).
pub fn encode(doc: &Document, out: &mut String) {
    encode_as(doc, Action::Create, out)
}

/// Appends the bulk lines of `doc` with `action`.
pub fn encode_as(doc: &Document, action: Action, out: &mut String) {
    out.reserve(doc.source.len() + doc.index.len() + doc.id.len() + 40);
    out.push_str(match action {
        Action::Create => "{\"create\":{",
        Action::Index => "{\"index\":{",
    });
    push_metadata(doc, out);
    out.push_str("}}\n");
    out.push_str(&doc.source);
    out.push('\n');
}

/// Appends `"_index":…,"_id":…` for `doc` (bulk actions, `dir:` lines).
pub fn push_metadata(doc: &Document, out: &mut String) {
    out.push_str("\"_index\":");
    push_str(out, &doc.index);
    out.push_str(",\"_id\":");
    push_str(out, &doc.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_lines_per_document() {
        let doc = Document {
            index: "ml-api-logs".into(),
            id: "0a1b".into(),
            source: r#"{"message":"x"}"#.into(),
            line_time: 0,
            prediction: None,
            columns: None,
            block: None,
        };
        let mut out = String::new();
        encode(&doc, &mut out);
        assert_eq!(
            out,
            "{\"create\":{\"_index\":\"ml-api-logs\",\"_id\":\"0a1b\"}}\n{\"message\":\"x\"}\n"
        );
    }
}
