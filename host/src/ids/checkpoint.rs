//! The persisted dedup memory: one checkpoint file per source in the state
//! directory, replaced atomically, written only after the sinks acknowledged the
//! lines it remembers.

use super::tracker::WindowTracker;
use crate::fsutil::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Errors of the checkpoint file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing failed.
    #[error("checkpoint {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not parse (never silently discarded: it would re-emit the window).
    #[error("checkpoint {path} is unreadable ({message}); move it away to start from scratch")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    source: String,
    tracker: WindowTracker,
}

/// The checkpoint of one source.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    path: PathBuf,
    source: String,
}

impl Checkpoint {
    /// The checkpoint of `source` in `state_dir` (the file name derives from the source).
    pub fn new(state_dir: &Path, source: &str) -> Self {
        let digest = xxhash_rust::xxh3::xxh3_64(source.as_bytes());
        Self {
            path: state_dir.join(format!("checkpoint-{digest:016x}.json")),
            source: source.to_string(),
        }
    }

    /// Where it is stored.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the tracker, or an empty one when there is no checkpoint yet.
    pub fn load(&self) -> Result<WindowTracker, CheckpointError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(WindowTracker::new()),
            Err(source) => {
                return Err(CheckpointError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let file: File = serde_json::from_str(&text).map_err(|e| CheckpointError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        Ok(file.tracker)
    }

    /// Saves the tracker atomically.
    pub fn save(&self, tracker: &WindowTracker) -> Result<(), CheckpointError> {
        let io = |source| CheckpointError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = File {
            version: 1,
            source: self.source.clone(),
            tracker: tracker.clone(),
        };
        let bytes = serde_json::to_vec(&file).expect("serialisable");
        write_atomic(&self.path, &bytes).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tracker::Seen;
    use super::*;
    use crate::ids::ContentKey;

    #[test]
    fn saves_loads_and_refuses_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpoint::new(dir.path(), "gradio:http://x");
        assert!(cp.load().unwrap().is_empty());
        let mut t = WindowTracker::new();
        t.remember([Seen {
            key: ContentKey(5),
            rank: 1,
        }]);
        cp.save(&t).unwrap();
        assert_eq!(cp.load().unwrap(), t);
        std::fs::write(cp.path(), "{not json").unwrap();
        assert!(cp.load().unwrap_err().to_string().contains("move it away"));
        assert_ne!(
            Checkpoint::new(dir.path(), "rest:http://y").path(),
            cp.path()
        );
    }
}
