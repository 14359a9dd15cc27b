//! Hot reload of plugin files.
//!
//! The plugin directory is watched. A new or changed `<name>.wasm` used by a stage
//! is compiled off the hot path, checked against the contract and against the
//! stage (same kind), configured, smoke-run on recent lines, and only then swapped
//! in. Workers pick the new version up between batches, so batches in flight
//! finish on the old one. A file that fails any step leaves the old version live.

use super::metrics::{Metrics, bump};
use crate::document::check_document;
use crate::pipeline::Plan;
use crate::plugin::{EventBatch, Kind, LoadedPlugin, Outcome, PluginEngine, PluginRunner};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The plan workers run, replaced as a whole on reload.
#[derive(Debug)]
pub struct SharedPlan {
    generation: AtomicU64,
    plan: RwLock<Plan>,
    recent: Mutex<RecentShapes>,
}

/// Recent messages kept for smoke runs, per shape of message.
const PER_SHAPE: usize = 8;
/// Shapes kept (the least recently seen goes first).
const SHAPES: usize = 32;

/// The last [`PER_SHAPE`] messages of each of the last [`SHAPES`] shapes seen,
/// so that a smoke run meets every kind of line the source sends, not only the
/// most frequent (health checks would fill a plain window of recent lines).
#[derive(Debug, Default)]
struct RecentShapes {
    by_shape: BTreeMap<String, (u64, VecDeque<String>)>,
    clock: u64,
}

impl RecentShapes {
    fn push(&mut self, message: String) {
        self.clock += 1;
        let shape = shape(&message);
        if !self.by_shape.contains_key(&shape) && self.by_shape.len() == SHAPES {
            let oldest = self
                .by_shape
                .iter()
                .min_by_key(|(_, (seen, _))| *seen)
                .map(|(k, _)| k.clone())
                .expect("full");
            self.by_shape.remove(&oldest);
        }
        let (seen, lines) = self.by_shape.entry(shape).or_default();
        *seen = self.clock;
        if lines.len() == PER_SHAPE {
            lines.pop_front();
        }
        lines.push_back(message);
    }

    fn all(&self) -> Vec<String> {
        self.by_shape
            .values()
            .flat_map(|(_, lines)| lines.iter().cloned())
            .collect()
    }
}

/// A message's shape: its first eight words (after a bracketed transaction
/// id), each word with a digit and more than three characters made `#`, so
/// that ids, times and amounts do not make shapes, and status codes do.
fn shape(message: &str) -> String {
    let mut words = message.split_whitespace().peekable();
    if words.peek().is_some_and(|w| w.starts_with('[')) {
        words.next();
    }
    words
        .take(8)
        .map(|w| {
            if w.chars().count() > 3 && w.chars().any(|c| c.is_ascii_digit()) {
                "#"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl SharedPlan {
    /// Starts at generation 0.
    pub fn new(plan: Plan) -> Arc<Self> {
        Arc::new(Self {
            generation: AtomicU64::new(0),
            plan: RwLock::new(plan),
            recent: Mutex::new(RecentShapes::default()),
        })
    }

    /// Increases on every swap.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A copy of the current plan.
    pub fn plan(&self) -> Plan {
        self.plan.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Remembers messages for smoke runs of new plugin versions.
    pub fn remember(&self, messages: impl IntoIterator<Item = String>) {
        let mut r = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        for m in messages {
            r.push(m);
        }
    }

    fn recent(&self) -> Vec<String> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner()).all()
    }
}

/// Why a new plugin file was refused.
fn refuse(metrics: &Metrics, name: &str, path: &Path, why: &str) {
    bump(&metrics.reload_failures, name, 1);
    tracing::error!(plugin = name, file = %path.display(), "new plugin file refused, the old version stays live: {why}");
}

/// Tries to swap in the plugin file at `path` for every stage using `name`.
pub fn reload(
    engine: &PluginEngine,
    shared: &SharedPlan,
    metrics: &Metrics,
    name: &str,
    path: &Path,
    started: Instant,
) {
    let plan = shared.plan();
    // A stage runs this file if its plugin has the file's name, or was loaded from it.
    let stages: Vec<usize> = plan
        .stages
        .iter()
        .enumerate()
        .filter(|(_, s)| s.plugin.info().name == name || file_backs(s.plugin.as_ref(), path))
        .map(|(i, _)| i)
        .collect();
    if stages.is_empty() {
        tracing::info!(file = %path.display(), "plugin file changed but no stage uses it");
        return;
    }
    let loaded = match crate::plugin::LoadedPlugin::load_file(engine, path) {
        Ok(p) => p,
        Err(e) => return refuse(metrics, name, path, &e.to_string()),
    };
    if stages
        .iter()
        .all(|&i| plan.stages[i].plugin.info().sha256 == loaded.info().sha256)
    {
        return; // same content (a touch, or an event for the write we already loaded)
    }
    let recent = shared.recent();
    for &i in &stages {
        let stage = &plan.stages[i];
        if loaded.info().kind != stage.plugin.info().kind {
            return refuse(
                metrics,
                name,
                path,
                &format!(
                    "it is a {}, the stage needs a {}",
                    loaded.info().kind,
                    stage.plugin.info().kind
                ),
            );
        }
        if let Err(e) = smoke_run(&loaded, &stage.config, &recent) {
            return refuse(metrics, name, path, &crate::chain::chain(&e));
        }
    }
    {
        let mut current = shared.plan.write().unwrap_or_else(|e| e.into_inner());
        for &i in &stages {
            let routes = current.stages[i].reroute(&loaded);
            current.stages[i].routes = routes;
            current.stages[i].plugin = loaded.clone();
        }
        shared.generation.fetch_add(1, Ordering::AcqRel);
    }
    bump(&metrics.reloads, name, 1);
    metrics.reload_latency.observe(started.elapsed());
    let old = &plan.stages[stages[0]].plugin;
    tracing::info!(
        plugin = name,
        from = %old.info().version,
        to = %loaded.info().version,
        sha256 = %&loaded.info().sha256[..12],
        smoke_lines = recent.len(),
        ms = started.elapsed().as_millis() as u64,
        "plugin reloaded"
    );
}

fn stem(path: &Path) -> Option<&str> {
    path.file_stem().and_then(|s| s.to_str())
}

fn file_backs(plugin: &LoadedPlugin, path: &Path) -> bool {
    plugin.info().origin == path.display().to_string()
}

/// Why a new version of a plugin was not swapped in.
#[derive(Debug, thiserror::Error)]
enum SmokeRunError {
    /// It refused the stage's configuration, or did not load.
    #[error(transparent)]
    Load(#[from] crate::plugin::LoadError),
    /// A call failed on recent lines.
    #[error("smoke run failed: {0}")]
    Failed(crate::plugin::CallError),
    /// It produced a document the host refuses.
    #[error("smoke run produced an invalid document: {0}")]
    Invalid(#[from] crate::document::InvalidDocument),
}

/// Configures the new version and runs it on recent lines: it must not fail as a
/// whole, and its documents must pass the checks.
fn smoke_run(
    plugin: &Arc<LoadedPlugin>,
    config: &[(String, String)],
    recent: &[String],
) -> Result<(), SmokeRunError> {
    let mut runner = PluginRunner::new(plugin.clone(), config.to_vec())?;
    if recent.is_empty() {
        return Ok(());
    }
    // Recent messages without their fields: enough to see the plugin run.
    let needs = plugin.info().needs.len();
    let mut events = EventBatch::new(needs);
    for m in recent {
        events.push(m, std::iter::repeat_n(None, needs));
    }
    match plugin.info().kind {
        Kind::Filter => {
            if let Some(Outcome::Failed(e)) = runner
                .accept(&events)
                .outcomes()
                .into_iter()
                .find(|o| matches!(o, Outcome::Failed(_)))
            {
                return Err(SmokeRunError::Failed(e));
            }
        }
        Kind::Parser => {
            let parsed = runner.parse(&events);
            for outcome in parsed.outcomes(events.len()) {
                match outcome {
                    Outcome::Failed(e) => return Err(SmokeRunError::Failed(e)),
                    Outcome::Ok(docs) => {
                        for d in docs {
                            check_document(d.json.to_string())?;
                        }
                    }
                    Outcome::Rejected(_) => {}
                }
            }
        }
    }
    Ok(())
}

/// Watches `dir` and reloads changed plugin files after a short debounce, on a
/// thread of its own. The returned watcher must be kept alive.
pub fn watch(
    dir: PathBuf,
    engine: PluginEngine,
    shared: Arc<SharedPlan>,
    metrics: Arc<Metrics>,
) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, rx) = std::sync::mpsc::channel::<(PathBuf, Instant)>();
    let watcher = super::watch::watch_dir(
        &dir,
        |path| path.extension().is_some_and(|e| e == "wasm"),
        move |path| {
            let _ = tx.send((path, Instant::now()));
        },
    )?;
    std::thread::Builder::new()
        .name("logpipe-reload".into())
        .spawn(move || {
            const DEBOUNCE: Duration = Duration::from_millis(150);
            while let Ok(first) = rx.recv() {
                let mut changed: BTreeSet<PathBuf> = BTreeSet::new();
                let mut started = first.1;
                changed.insert(first.0);
                while let Ok((path, at)) = rx.recv_timeout(DEBOUNCE) {
                    started = started.min(at);
                    changed.insert(path);
                }
                for path in changed {
                    if !path.is_file() {
                        continue;
                    }
                    let Some(name) = stem(&path).map(str::to_string) else {
                        continue;
                    };
                    reload(&engine, &shared, &metrics, &name, &path, started);
                }
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_samples_keep_every_shape_not_only_the_most_frequent() {
        let mut r = RecentShapes::default();
        r.push("[f235299c-8751] API Call - POST /predict - Status: 422 - Time: 0.5ms".into());
        r.push("{\"performance_metrics\": {\"inference_time_ms\": 27.26}}".into());
        for i in 0..1000 {
            r.push("Health check effectué - Model: True, Redis: True".to_string());
            r.push(format!(
                "[{i:08x}] API Call - POST /predict - Status: 200 - Time: {i}.5ms"
            ));
        }
        let all = r.all();
        assert!(all.iter().any(|m| m.contains("422")), "a rare shape stays");
        assert!(all.iter().any(|m| m.contains("performance_metrics")));
        assert_eq!(
            all.iter().filter(|m| m.contains("Health")).count(),
            PER_SHAPE
        );
        assert_eq!(all.len(), 1 + 1 + 2 * PER_SHAPE, "{all:?}");
        for i in 0..100 {
            r.push(format!("{} a b", "x".repeat(i + 1)));
        }
        assert_eq!(r.by_shape.len(), SHAPES, "bounded");
        assert_eq!(
            shape("[abc] API Call - GET /docs - Status: 200 - Time: 1.25ms"),
            "API Call - GET /docs - Status: 200"
        );
    }
}
