//! The dead-letter file: NDJSON, one line per document that could not be
//! indexed, with why. Nothing is dropped silently.

use crate::document::Document;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Appends rejected documents to a file.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    path: PathBuf,
}

impl DeadLetters {
    /// Dead letters go to `path` (created on first use).
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// Where they go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line per document and flushes it to disk.
    pub fn append(&self, entries: &[(&Document, u16, String)]) -> std::io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let time = jiff::Timestamp::now().to_string();
        let mut out = String::new();
        for (doc, status, reason) in entries {
            let document: serde_json::Value = serde_json::from_str(&doc.source)
                .unwrap_or_else(|_| serde_json::Value::String(doc.source.clone()));
            let line = serde_json::json!({
                "time": time,
                "index": doc.index.as_ref(),
                "_id": doc.id,
                "status": status,
                "reason": reason,
                "document": document,
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
        file.write_all(out.as_bytes())?;
        file.sync_data()
    }
}
