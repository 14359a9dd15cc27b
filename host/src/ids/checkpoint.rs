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
        let bytes = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(WindowTracker::new()),
            Err(source) => {
                return Err(CheckpointError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        // Whatever the bytes, a file that is not a checkpoint is corrupt (never
        // an I/O error to retry, never silently discarded).
        let file: File = serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Corrupt {
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

/// The exclusive use of a state directory by one process: two processes
/// sharing one would each deliver lines the other already did and overwrite
/// each other's checkpoints. Held until dropped.
///
/// A directory where the lock file cannot be created (read-only, full) is used
/// without it: no process can write a checkpoint there either, and `run` must
/// still deliver lines and say that its checkpoint fails.
#[derive(Debug)]
pub struct StateLock {
    _file: Option<std::fs::File>,
}

/// Why the state directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum StateLockError {
    /// Another process holds it.
    #[error(
        "the state directory {dir} is in use by another logpipe ({holder}): stop it, or give this one another --state-dir"
    )]
    Busy {
        /// The directory.
        dir: PathBuf,
        /// What the lock file says of its holder.
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock the state directory {dir}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl StateLock {
    /// Locks `dir` (creating it), or says who holds it.
    pub fn acquire(dir: &Path) -> Result<Self, StateLockError> {
        use std::io::{Read, Seek, Write};
        let io = |source| StateLockError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join("lock");
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            // A lock can be taken on a file opened for reading only.
            .or_else(|_| std::fs::File::open(&path));
        let mut file = match opened {
            Ok(file) => file,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot create the state directory's lock file: running without it");
                return Ok(Self { _file: None });
            }
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(StateLockError::Busy {
                    dir: dir.to_path_buf(),
                    holder: holder.trim().chars().take(200).collect(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        // Who holds it, for the message another process prints.
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "pid {}", std::process::id());
        Ok(Self { _file: Some(file) })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tracker::Seen;
    use super::*;
    use crate::ids::ContentKey;

    proptest::proptest! {
        /// Any file content: a tracker or "corrupt", never a panic nor an
        /// I/O error (which `run` would retry forever).
        #[test]
        fn any_content_loads_or_is_corrupt(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let dir = tempfile::tempdir().unwrap();
            let cp = Checkpoint::new(dir.path(), "rest:http://x");
            std::fs::write(cp.path(), &bytes).unwrap();
            let io_error = matches!(cp.load(), Err(CheckpointError::Io { .. }));
            proptest::prop_assert!(!io_error);
        }

        /// What was saved loads back the same.
        #[test]
        fn saved_trackers_load_back(keys in proptest::collection::vec((proptest::prelude::any::<u128>(), 1u32..4), 0..50)) {
            let dir = tempfile::tempdir().unwrap();
            let cp = Checkpoint::new(dir.path(), "gradio:http://x");
            let mut t = WindowTracker::new();
            t.remember(keys.iter().map(|(k, r)| Seen { key: ContentKey(*k), rank: *r }));
            cp.save(&t).unwrap();
            proptest::prop_assert_eq!(cp.load().unwrap(), t);
        }
    }

    #[test]
    fn one_process_at_a_time_per_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let held = StateLock::acquire(dir.path()).unwrap();
        let err = StateLock::acquire(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        StateLock::acquire(dir.path()).unwrap();
    }

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
        // Random bytes, not even UTF-8: corrupt too, not an I/O error to retry.
        std::fs::write(cp.path(), [0xff, 0x00, 0x9c, 0x42, 0xfe]).unwrap();
        assert!(matches!(
            cp.load().unwrap_err(),
            CheckpointError::Corrupt { .. }
        ));
        assert_ne!(
            Checkpoint::new(dir.path(), "rest:http://y").path(),
            cp.path()
        );
    }
}
