//! Watching a directory for files written or replaced: the one place that
//! knows which file-system events mean "this file has new contents".

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};

/// Calls `changed` with each path of `dir` (not recursive) that `wanted`
/// accepts, whenever it is written in place (on close, or on a data change
/// where the platform has no close event) or replaced (created, or renamed
/// onto its name, as an atomic replacement does). Events come in bursts:
/// callers debounce. The returned watcher must be kept alive.
pub fn watch_dir(
    dir: &Path,
    wanted: impl Fn(&Path) -> bool + Send + 'static,
    changed: impl Fn(PathBuf) + Send + 'static,
) -> notify::Result<notify::RecommendedWatcher> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let written = matches!(
            event.kind,
            EventKind::Create(_)
                | EventKind::Modify(ModifyKind::Name(_))
                | EventKind::Modify(ModifyKind::Data(_))
                | EventKind::Access(AccessKind::Close(AccessMode::Write))
        );
        if written {
            for path in event.paths {
                if wanted(&path) {
                    changed(path);
                }
            }
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}
