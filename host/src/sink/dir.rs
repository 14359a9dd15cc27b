//! `dir:PATH`: appends each document to `PATH/<index>.ndjson` as
//! `{"_index": ..., "_id": ..., "_source": {...}}`, one line per document.

use super::{SinkError, WriteReport};
use crate::document::Document;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// NDJSON files in a directory.
pub struct DirSink {
    dir: PathBuf,
    files: HashMap<String, BufWriter<File>>,
    line: String,
}

impl DirSink {
    /// Creates the directory if needed.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            files: HashMap::new(),
            line: String::new(),
        })
    }

    /// Appends the documents and flushes them to the files.
    pub fn write(&mut self, docs: &[Document]) -> Result<WriteReport, SinkError> {
        let err = |error: std::io::Error, path: &Path| SinkError {
            sink: format!("dir:{}", self.dir.display()),
            failure: super::SinkFailure::Dir {
                path: path.to_path_buf(),
                error,
            },
        };
        let mut report = WriteReport::default();
        for doc in docs {
            if !self.files.contains_key(doc.index.as_ref()) {
                let path = self.dir.join(format!("{}.ndjson", doc.index));
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| err(e, &path))?;
                self.files.insert(
                    doc.index.to_string(),
                    BufWriter::with_capacity(1 << 16, file),
                );
            }
            let line = &mut self.line;
            line.clear();
            line.push('{');
            super::bulk::push_metadata(doc, line);
            line.push_str(",\"_source\":");
            line.push_str(&doc.source);
            line.push_str("}\n");
            let file = self
                .files
                .get_mut(doc.index.as_ref())
                .expect("opened above");
            file.write_all(line.as_bytes())
                .map_err(|e| err(e, &self.dir.join(format!("{}.ndjson", doc.index))))?;
            *report.stored.entry(doc.index.to_string()).or_default() += 1;
        }
        for (index, file) in &mut self.files {
            file.flush()
                .map_err(|e| err(e, &self.dir.join(format!("{index}.ndjson"))))?;
        }
        Ok(report)
    }
}
