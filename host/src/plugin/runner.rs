//! Running one plugin over batches with containment.
//!
//! A batch goes to the plugin in one call. If the call fails as a whole (trap,
//! timeout, memory overrun, wrong result count), the instance is discarded and
//! every event of the batch is retried alone on fresh instances, so only the
//! offending events are lost to this plugin and they can be reported by id.
//! A plugin that keeps failing is paused by a circuit breaker (`breaker.rs`).

pub use super::batch::Outcome;
use super::batch::{Answer, Decisions, EventBatch, ParsedBatch};
use super::breaker::{Breaker, Change};
use super::error::{CallError, LoadError};
use super::instance::PluginInstance;
use super::loaded::LoadedPlugin;
use std::sync::Arc;
use std::time::Instant;

/// What a worker runs one stage's batches through: a [`PluginRunner`] (the
/// sandbox), or, in builds with the `native-bench` feature, the same reference
/// plugin compiled natively (`super::native`) for `bench` to compare.
pub trait StageRunner: Send {
    /// Parses a batch (the plugin must be a parser).
    fn parse(&mut self, batch: &EventBatch) -> ParsedBatch;
    /// Filters a batch (the plugin must be a filter).
    fn accept(&mut self, batch: &EventBatch) -> Decisions;
    /// Switches to another version of the plugin (hot reload); on failure
    /// the current version stays.
    fn switch_to(&mut self, plugin: Arc<LoadedPlugin>) -> Result<(), LoadError>;
}

impl StageRunner for PluginRunner {
    fn parse(&mut self, batch: &EventBatch) -> ParsedBatch {
        PluginRunner::parse(self, batch)
    }

    fn accept(&mut self, batch: &EventBatch) -> Decisions {
        PluginRunner::accept(self, batch)
    }

    fn switch_to(&mut self, plugin: Arc<LoadedPlugin>) -> Result<(), LoadError> {
        PluginRunner::switch_to(self, plugin)
    }
}

/// Runs one configured plugin for one worker.
pub struct PluginRunner {
    plugin: Arc<LoadedPlugin>,
    config: Vec<(String, String)>,
    instance: Option<PluginInstance>,
    /// Batches that failed as a whole and were isolated event by event.
    pub isolated_batches: u64,
    breaker: Breaker,
}

impl PluginRunner {
    /// Starts a runner with a first instance, which checks the configuration.
    pub fn new(
        plugin: Arc<LoadedPlugin>,
        config: Vec<(String, String)>,
    ) -> Result<Self, LoadError> {
        let instance = PluginInstance::new(plugin.clone(), &config)?;
        Ok(Self {
            plugin,
            config,
            instance: Some(instance),
            isolated_batches: 0,
            breaker: Breaker::default(),
        })
    }

    /// The plugin being run.
    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    /// Bytes of linear memory its current instance holds (0 between instances).
    pub fn memory_bytes(&self) -> usize {
        self.instance
            .as_ref()
            .map_or(0, PluginInstance::memory_bytes)
    }

    /// Switches to another version of the plugin. The new one is instantiated and
    /// configured first; on failure the runner keeps the old one.
    pub fn switch_to(&mut self, plugin: Arc<LoadedPlugin>) -> Result<(), LoadError> {
        let instance = PluginInstance::new(plugin.clone(), &self.config)?;
        self.plugin = plugin;
        self.instance = Some(instance);
        // A new version deserves its own chance.
        self.breaker = Breaker::default();
        Ok(())
    }

    /// Parses a batch (the plugin must be a parser).
    pub fn parse(&mut self, batch: &EventBatch) -> ParsedBatch {
        self.run(batch, PluginInstance::parse)
    }

    /// Filters a batch (the plugin must be a filter).
    pub fn accept(&mut self, batch: &EventBatch) -> Decisions {
        self.run(batch, PluginInstance::accept)
    }

    fn run<A: Answer>(
        &mut self,
        batch: &EventBatch,
        call: impl Fn(&mut PluginInstance, &EventBatch) -> Result<A, CallError>,
    ) -> A {
        let mut answer = A::default();
        if batch.is_empty() {
            return answer;
        }
        if let Some(paused) = self.paused() {
            for event in 0..batch.len() as u32 {
                answer.append_failed(paused.clone(), event);
            }
            return answer;
        }
        let failure = match self.fresh_instance() {
            Ok(instance) => match call(instance, batch) {
                Ok(answer) => {
                    self.succeeded();
                    return answer;
                }
                Err(e) => e,
            },
            Err(e) => e,
        };
        self.instance = None;
        self.isolated_batches += 1;
        self.failed(&failure);
        let info = self.plugin.info();
        tracing::warn!(
            plugin = %info.name,
            version = %info.version,
            events = batch.len(),
            error = %failure,
            "plugin batch failed; retrying its events one by one on fresh instances"
        );
        if batch.len() == 1 {
            answer.append_failed(failure, 0);
            return answer;
        }
        for i in 0..batch.len() {
            let event = i as u32;
            if let Some(paused) = self.paused() {
                answer.append_failed(paused, event);
                continue;
            }
            let single = batch.one(i);
            let result = self
                .fresh_instance()
                .and_then(|instance| call(instance, &single));
            match result {
                Ok(one) => {
                    self.succeeded();
                    // Each answer is within the caps; together they must be too.
                    match answer.over_caps_with(&one) {
                        Some(message) => {
                            answer.append_failed(CallError::BadAnswer { message }, event)
                        }
                        None => answer.append_single(one, event),
                    }
                }
                Err(e) => {
                    self.instance = None;
                    self.failed(&e);
                    answer.append_failed(e, event);
                }
            }
        }
        answer
    }

    /// The error for events not sent while the breaker is open.
    fn paused(&self) -> Option<CallError> {
        let until = self.breaker.paused(Instant::now())?;
        Some(CallError::Paused {
            failures: self.breaker.failures(),
            pause_secs: until
                .saturating_duration_since(Instant::now())
                .as_secs()
                .max(1),
        })
    }

    fn succeeded(&mut self) {
        if self.breaker.succeeded() == Change::Closed {
            let info = self.plugin.info();
            tracing::info!(plugin = %info.name, version = %info.version, "plugin works again; calls resume");
        }
    }

    fn failed(&mut self, error: &CallError) {
        if let Change::Opened(pause) = self.breaker.failed(Instant::now()) {
            let info = self.plugin.info();
            tracing::error!(
                plugin = %info.name,
                version = %info.version,
                failures = self.breaker.failures(),
                pause_secs = pause.as_secs(),
                last_error = %error,
                "plugin failed too many calls in a row: paused; its lines are still indexed, marked as skipped"
            );
        }
    }

    fn fresh_instance(&mut self) -> Result<&mut PluginInstance, CallError> {
        if self.instance.is_none() {
            let instance = PluginInstance::new(self.plugin.clone(), &self.config).map_err(|e| {
                CallError::Instantiate {
                    message: e.to_string(),
                }
            })?;
            self.instance = Some(instance);
        }
        Ok(self.instance.as_mut().expect("set above"))
    }
}
