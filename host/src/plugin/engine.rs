//! The one wasmtime engine of the process, its linker and its epoch ticker.

use super::cache::ComponentCache;
use super::limits::Limits;
use super::state::PluginState;
use std::path::PathBuf;
use std::time::Duration;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine};

/// How often the epoch advances: the resolution of the batch time limit.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The engine shared by every plugin, with what instantiating them needs.
#[derive(Clone)]
pub struct PluginEngine {
    pub(crate) engine: Engine,
    pub(crate) linker: std::sync::Arc<Linker<PluginState>>,
    pub(crate) cache: ComponentCache,
    pub(crate) limits: Limits,
}

impl PluginEngine {
    /// Creates the engine, with compiled components cached in `cache_dir`.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_opt_level(wasmtime::OptLevel::Speed);
        // `LOGPIPE_WASM_PERFMAP=1` names plugin code for `perf` (/tmp/perf-PID.map),
        // to profile plugins where they run.
        if std::env::var_os("LOGPIPE_WASM_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| anyhow::anyhow!("{e}"))?;
        spawn_epoch_ticker(&engine);
        Ok(Self {
            engine,
            linker: std::sync::Arc::new(linker),
            cache: ComponentCache::new(cache_dir),
            limits,
        })
    }

    /// Epoch ticks in one batch time limit.
    pub(crate) fn deadline_ticks(&self) -> u64 {
        (self.limits.batch_timeout.as_millis() as u64)
            .div_ceil(EPOCH_TICK.as_millis() as u64)
            .max(1)
            + 1
    }
}

/// Advances the engine's epoch in the background; the thread ends with the engine.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("logpipe-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn epoch thread");
}
