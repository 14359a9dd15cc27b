//! The dead-letter file: NDJSON, one line per document that could not be
//! indexed, with why. Nothing is dropped silently.
//!
//! Appends are all-or-nothing: one write under an exclusive lock, cut back to
//! the previous length if it fails (a full disk), so a retry never finds half a
//! line or a line written twice. [`DeadLetters::replay`] re-sends the entries
//! once their cause is fixed and keeps only those still refused; it replaces
//! the file, so an appender that waited for the lock checks that it still holds
//! the file at the path before writing.

use crate::document::Document;
use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Documents this process appended and will not append again (a poll that
/// failed after its dead letters were written comes again): at most this many
/// are remembered.
const REMEMBERED: usize = 100_000;

/// Appends rejected documents to a file.
#[derive(Debug)]
pub struct DeadLetters {
    path: PathBuf,
    written: Mutex<HashSet<(String, String)>>,
}

/// One entry of the file, as read for a replay.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The line as written.
    pub line: String,
    /// The index the document was for.
    pub index: String,
    /// Its `_id`.
    pub id: String,
    /// The document's JSON text.
    pub source: String,
}

/// The file's entries, read under its lock, which is held until [`Replay::finish`].
#[derive(Debug)]
pub struct Replay {
    path: PathBuf,
    _lock: File,
    /// Entries that can be sent again.
    pub entries: Vec<Entry>,
    /// Lines that are not entries (kept as they are).
    pub unreadable: Vec<String>,
}

impl DeadLetters {
    /// Dead letters go to `path` (created on first use).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            written: Mutex::new(HashSet::new()),
        }
    }

    /// Where they go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line per document and flushes it to disk, all or nothing.
    pub fn append(&self, entries: &[(&Document, u16, String)]) -> std::io::Result<()> {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        let fresh: Vec<&(&Document, u16, String)> = entries
            .iter()
            .filter(|(doc, _, _)| !written.contains(&(doc.index.to_string(), doc.id.clone())))
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let time = jiff::Timestamp::now().to_string();
        let mut out = String::new();
        for (doc, status, reason) in &fresh {
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
        let mut file = self.open_locked()?;
        let before = file.metadata()?.len();
        if let Err(e) = file
            .write_all(out.as_bytes())
            .and_then(|()| file.sync_data())
        {
            // Take back what part of it reached the file: a retry writes it whole.
            let _ = file.set_len(before);
            let _ = file.sync_data();
            return Err(e);
        }
        if written.len() + fresh.len() > REMEMBERED {
            written.clear();
        }
        written.extend(
            fresh
                .iter()
                .map(|(doc, _, _)| (doc.index.to_string(), doc.id.clone())),
        );
        Ok(())
    }

    /// The file opened for appending, locked, and still the one at the path.
    fn open_locked(&self) -> std::io::Result<File> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        loop {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            file.lock()?;
            if still_at(&file, &self.path)? {
                return Ok(file);
            }
        }
    }

    /// Reads every entry for a replay; the file stays locked (appenders wait)
    /// until the replay is finished or dropped.
    pub fn replay(&self) -> std::io::Result<Replay> {
        let lock = self.open_locked()?;
        let text = std::fs::read(&self.path)?;
        let mut entries = Vec::new();
        let mut unreadable = Vec::new();
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let line = String::from_utf8_lossy(line).into_owned();
            match read_entry(&line) {
                Some((index, id, source)) => entries.push(Entry {
                    line,
                    index,
                    id,
                    source,
                }),
                None => unreadable.push(line),
            }
        }
        Ok(Replay {
            path: self.path.clone(),
            _lock: lock,
            entries,
            unreadable,
        })
    }
}

fn read_entry(line: &str) -> Option<(String, String, String)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let index = v.get("index")?.as_str()?.to_string();
    let id = v.get("_id")?.as_str()?.to_string();
    let document = v.get("document")?;
    // A document that was not JSON was kept as a string: send it as it was.
    let source = match document {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some((index, id, source))
}

/// True when `file` is the file now at `path`.
fn still_at(file: &File, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (open, named) = (file.metadata()?, std::fs::metadata(path));
    Ok(named.is_ok_and(|n| n.dev() == open.dev() && n.ino() == open.ino()))
}

impl Replay {
    /// Replaces the file with the entries `keep` keeps (and the unreadable
    /// lines), atomically; an empty result removes the file.
    pub fn finish(self, keep: impl Fn(&Entry) -> bool) -> std::io::Result<()> {
        let mut out = String::new();
        for line in &self.unreadable {
            out.push_str(line);
            out.push('\n');
        }
        for e in self.entries.iter().filter(|e| keep(e)) {
            out.push_str(&e.line);
            out.push('\n');
        }
        if out.is_empty() {
            std::fs::remove_file(&self.path)
        } else {
            crate::fsutil::write_atomic(&self.path, out.as_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn doc(id: &str) -> Document {
        Document {
            index: Arc::from("ml-api-logs"),
            id: id.into(),
            source: format!(r#"{{"message":"{id}"}}"#),
            line_time: 0,
            prediction: None,
            columns: None,
            block: None,
        }
    }

    #[test]
    fn appends_once_and_replays_what_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let dl = DeadLetters::new(dir.path().join("dead-letters.ndjson"));
        let (a, b) = (doc("a"), doc("b"));
        dl.append(&[(&a, 400, "bad".into())]).unwrap();
        // The same document again (a poll that came again): not written twice.
        dl.append(&[(&a, 400, "bad".into()), (&b, 400, "bad".into())])
            .unwrap();
        let replay = dl.replay().unwrap();
        let ids: Vec<&str> = replay.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(replay.entries[0].source, r#"{"message":"a"}"#);
        replay.finish(|e| e.id == "b").unwrap();
        let left = dl.replay().unwrap();
        assert_eq!(left.entries.len(), 1);
        assert_eq!(left.entries[0].id, "b");
        left.finish(|_| false).unwrap();
        assert!(!dl.path().exists(), "an empty file is removed");
    }

    #[test]
    fn an_appender_that_waited_for_a_replay_writes_to_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dl.ndjson");
        let dl = Arc::new(DeadLetters::new(path.clone()));
        let first = doc("first");
        dl.append(&[(&first, 400, "x".into())]).unwrap();
        let replay = dl.replay().unwrap();
        let appender = {
            let dl = Arc::new(DeadLetters::new(path.clone()));
            std::thread::spawn(move || dl.append(&[(&doc("late"), 400, "y".into())]))
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        replay.finish(|_| true).unwrap();
        appender.join().unwrap().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("\"late\""));
    }

    #[test]
    fn a_failed_append_leaves_nothing_behind() {
        // /dev/full takes the open and fails every write with ENOSPC.
        if !Path::new("/dev/full").exists() {
            return;
        }
        let dl = DeadLetters::new(PathBuf::from("/dev/full"));
        assert!(dl.append(&[(&doc("a"), 400, "x".into())]).is_err());
        // Not remembered as written: a retry writes it.
        assert!(dl.written.lock().unwrap().is_empty());
    }
}
