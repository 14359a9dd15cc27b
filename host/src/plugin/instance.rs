//! One running instance of a plugin, in its own store with its own limits,
//! whatever its contract version (`component.rs`).

use super::batch::{Decisions, EventBatch, ParsedBatch};
use super::component::Bound;
use super::error::{CallError, LoadError};
use super::loaded::LoadedPlugin;
use super::state::PluginState;
use std::sync::Arc;
use wasmtime::Store;

/// A configured instance. Used by one worker at a time; thrown away after any
/// failed call, since a trapped instance's state cannot be trusted.
pub struct PluginInstance {
    plugin: Arc<LoadedPlugin>,
    store: Store<PluginState>,
    bound: Box<dyn Bound>,
}

impl PluginInstance {
    /// Starts a fresh instance of `plugin` and configures it.
    pub fn new(plugin: Arc<LoadedPlugin>, config: &[(String, String)]) -> Result<Self, LoadError> {
        let info = plugin.info();
        let fail = |message: String, output: Option<String>| LoadError::Config {
            plugin: info.name.clone(),
            version: info.version.clone(),
            message,
            output,
        };
        let mut store = plugin.engine().new_store();
        let bound = plugin
            .bind(&mut store)
            .map_err(|e| fail(format!("{e:#}"), None))?;
        let pairs: Vec<(&str, &str)> = config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let message = match bound.configure(&mut store, &pairs) {
            Ok(Ok(())) => None,
            Ok(Err(message)) => Some(message),
            Err(trap) => Some(format!("trapped while configuring: {trap:#}")),
        };
        if let Some(message) = message {
            // A refusal's cause is often only in what the plugin printed.
            return Err(fail(message, configure_output(store.data())));
        }
        let mut instance = Self {
            plugin,
            store,
            bound,
        };
        instance.forward_output();
        Ok(instance)
    }

    /// The plugin this is an instance of.
    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    /// Bytes of linear memory this instance holds (what the memory cap counts).
    pub fn memory_bytes(&self) -> usize {
        self.store.data().memory_bytes()
    }

    /// Parses a batch (parsers only).
    pub fn parse(&mut self, batch: &EventBatch) -> Result<ParsedBatch, CallError> {
        let events = self.begin_call(batch);
        let answer = self
            .bound
            .parse(&mut self.store, batch, &self.plugin.info().needs);
        self.finish(answer)??.checked(events)
    }

    /// Decides a batch (filters only).
    pub fn accept(&mut self, batch: &EventBatch) -> Result<Decisions, CallError> {
        let events = self.begin_call(batch);
        let answer = self
            .bound
            .accept(&mut self.store, batch, &self.plugin.info().needs);
        self.finish(answer)?.checked(events)
    }

    /// Before each call: checks the host's side of the contract (every event
    /// carries one part per needed field; a batch built otherwise is a bug of the
    /// host, not of the plugin) and arms the batch's deadline. Returns the number
    /// of events.
    fn begin_call(&mut self, batch: &EventBatch) -> usize {
        let needs = &self.plugin.info().needs;
        assert_eq!(
            batch.fields(),
            needs.len(),
            "a batch for plugin `{}` must carry its needed fields {needs:?}",
            self.plugin.info().name
        );
        self.plugin.engine().arm(&mut self.store);
        batch.len()
    }

    fn finish<T>(&mut self, answer: wasmtime::Result<T>) -> Result<T, CallError> {
        self.forward_output();
        answer.map_err(|e| self.classify(e))
    }

    fn classify(&self, error: wasmtime::Error) -> CallError {
        let limits = self.plugin.engine().limits();
        if let Some(asked) = self.store.data().memory_exceeded() {
            return CallError::Memory {
                limit_mib: limits.memory_bytes >> 20,
                asked_mib: asked >> 20,
            };
        }
        if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
            return CallError::Timeout {
                limit_ms: limits.batch_timeout.as_millis() as u64,
            };
        }
        let text = format!("{error:#}");
        let message: String = text.lines().take(6).collect::<Vec<_>>().join(" | ");
        CallError::Trap { message }
    }

    /// Sends what the plugin printed to the host's log, bounded.
    fn forward_output(&mut self) {
        let info = self.plugin.info();
        let state = self.store.data();
        for (stream, out) in [("stdout", &state.stdout), ("stderr", &state.stderr)] {
            if let Some((text, dropped)) = out.drain() {
                tracing::info!(
                    plugin = %info.name,
                    version = %info.version,
                    stream,
                    dropped_bytes = dropped,
                    "plugin output: {}",
                    text.trim_end()
                );
            }
        }
    }
}

/// What a plugin printed while it was being configured, stderr first.
fn configure_output(state: &PluginState) -> Option<String> {
    let mut text = String::new();
    for out in [&state.stderr, &state.stdout] {
        if let Some((written, dropped)) = out.drain() {
            text.push_str(written.trim_end());
            if dropped > 0 {
                text.push_str(&format!("\n[{dropped} more bytes dropped]"));
            }
            text.push('\n');
        }
    }
    (!text.trim().is_empty()).then_some(text)
}
