//! Line ids and duplicate detection: deterministic ids, ranks among identical
//! lines, and the bounded, persisted memory of what was already delivered.

pub mod checkpoint;
pub mod line_id;
pub mod ranker;
pub mod tracker;

pub use checkpoint::{Checkpoint, CheckpointError, StateLock, StateLockError};
pub use line_id::{ContentKey, IdHasher, LineId};
pub use ranker::Ranker;
pub use tracker::{Boundary, Seen, WindowTracker};
