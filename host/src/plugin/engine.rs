//! The one wasmtime engine of the process, its linker and its epoch ticker.

use super::cache::ComponentCache;
use super::compiler::{CompileLimits, Compiler, engine_config};
use super::limits::Limits;
use super::state::PluginState;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wasmtime::component::Linker;
use wasmtime::{Engine, Store, UpdateDeadline};

/// How often the epoch advances: the resolution of the batch time limit.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The engine shared by every plugin, with what instantiating them needs.
#[derive(Clone)]
pub struct PluginEngine {
    engine: Engine,
    linker: std::sync::Arc<Linker<PluginState>>,
    cache: ComponentCache,
    limits: Limits,
}

impl PluginEngine {
    /// Creates the engine, with compiled components cached in `cache_dir`.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let engine = Engine::new(&engine_config()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut linker = Linker::new(&engine);
        super::wasi::add_to_linker(&mut linker).map_err(|e| anyhow::anyhow!("{e}"))?;
        spawn_epoch_ticker(&engine);
        Ok(Self {
            engine,
            linker: std::sync::Arc::new(linker),
            cache: ComponentCache::new(cache_dir),
            limits,
        })
    }

    /// The same engine (compiled code, cache, epoch ticker) making instances
    /// with other limits: a configuration reload changes the limits without
    /// a new engine or ticker thread.
    pub fn with_limits(&self, limits: Limits) -> Self {
        Self {
            limits,
            ..self.clone()
        }
    }

    /// The limits of the instances it makes.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The wasmtime engine (to read a compiled component's types).
    pub(crate) fn wasmtime(&self) -> &Engine {
        &self.engine
    }

    /// Compiles `bytes` (or loads them compiled from the cache).
    pub(crate) fn compile(
        &self,
        bytes: &[u8],
        digest: &str,
        origin: &str,
    ) -> Result<wasmtime::component::Component, super::compiler::CompileError> {
        self.cache.compile(&self.engine, bytes, digest, origin)
    }

    /// Type-checks a component against the host's imports, once.
    pub(crate) fn instantiate_pre(
        &self,
        component: &wasmtime::component::Component,
    ) -> wasmtime::Result<wasmtime::component::InstancePre<PluginState>> {
        self.linker.instantiate_pre(component)
    }

    /// Compiles components in `compiler`, within `limits`.
    pub fn with_compiler(mut self, compiler: Compiler, limits: CompileLimits) -> Self {
        self.cache = self.cache.with_compiler(compiler, limits);
        self
    }

    /// A fresh store for one instance, with its limits.
    pub(crate) fn new_store(&self) -> Store<PluginState> {
        let limits = self.limits;
        let mut store = Store::new(
            &self.engine,
            PluginState::new(limits.memory_bytes, limits.output_bytes),
        );
        store.limiter(|state| state.limiter());
        // Ticks only say "look at the clock": the deadline itself is a point in
        // time, so a late tick cannot stretch it and early ticks cannot cut it.
        store.epoch_deadline_callback(|store| {
            if Instant::now() >= store.data().deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });
        self.arm(&mut store);
        store
    }

    /// Starts the time limit of the next call on `store`.
    pub(crate) fn arm(&self, store: &mut Store<PluginState>) {
        let limit = self.limits.batch_timeout;
        store.data_mut().deadline = Instant::now() + limit;
        let ticks = (limit.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64;
        store.set_epoch_deadline(ticks);
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
