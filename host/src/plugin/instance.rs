//! One running instance of a plugin, in its own store with its own limits.

use super::bindings::{filter, parser};
use super::error::{CallError, LoadError};
use super::loaded::{LoadedPlugin, PluginInfo, Pre};
use super::state::PluginState;
use std::sync::Arc;
use wasmtime::Store;

/// An event as it crosses into a plugin.
pub type EventParam<'a> = parser::logpipe::plugin::types::Event<'a>;
/// A document as it comes back from a parser.
pub type RawDocument = parser::logpipe::plugin::types::Document;

enum Bound {
    Parser(parser::ParserPlugin),
    Filter(filter::FilterPlugin),
}

/// A configured instance. Used by one worker at a time; thrown away after any
/// failed call, since a trapped instance's state cannot be trusted.
pub struct PluginInstance {
    plugin: Arc<LoadedPlugin>,
    store: Store<PluginState>,
    bound: Bound,
}

fn new_store(plugin: &LoadedPlugin) -> Store<PluginState> {
    let limits = plugin.engine.limits;
    let mut store = Store::new(
        &plugin.engine.engine,
        PluginState::new(limits.memory_bytes, limits.output_bytes),
    );
    store.limiter(|state| state.limiter());
    store.set_epoch_deadline(plugin.engine.deadline_ticks());
    store
}

fn instantiate(plugin: &LoadedPlugin, store: &mut Store<PluginState>) -> wasmtime::Result<Bound> {
    Ok(match &plugin.pre {
        Pre::Parser(pre) => Bound::Parser(pre.instantiate(&mut *store)?),
        Pre::Filter(pre) => Bound::Filter(pre.instantiate(&mut *store)?),
    })
}

impl PluginInstance {
    /// Reads a plugin's self-description on a throwaway instance.
    pub(crate) fn describe(plugin: &LoadedPlugin) -> Result<PluginInfo, String> {
        let mut store = new_store(plugin);
        let bound = instantiate(plugin, &mut store).map_err(|e| format!("{e:#}"))?;
        let base = plugin.info().clone();
        let info = match &bound {
            Bound::Parser(p) => {
                let i = p.logpipe_plugin_parser().call_info(&mut store);
                i.map(|i| (i.name, i.version, i.needs, i.channels))
            }
            Bound::Filter(f) => {
                let i = f.logpipe_plugin_filter().call_info(&mut store);
                i.map(|i| (i.name, i.version, i.needs, i.channels))
            }
        }
        .map_err(|e| format!("{e:#}"))?;
        Ok(PluginInfo {
            name: info.0,
            version: info.1,
            needs: info.2,
            channels: info.3,
            ..base
        })
    }

    pub(crate) fn new(
        plugin: Arc<LoadedPlugin>,
        config: &[(String, String)],
    ) -> Result<Self, LoadError> {
        let info = plugin.info();
        let fail = |message: String| LoadError::Config {
            plugin: info.name.clone(),
            version: info.version.clone(),
            message,
        };
        let mut store = new_store(&plugin);
        let bound = instantiate(&plugin, &mut store).map_err(|e| fail(format!("{e:#}")))?;
        let pairs: Vec<(&str, &str)> = config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let answer = match &bound {
            Bound::Parser(p) => p.logpipe_plugin_parser().call_configure(&mut store, &pairs),
            Bound::Filter(f) => f.logpipe_plugin_filter().call_configure(&mut store, &pairs),
        };
        match answer {
            Ok(Ok(())) => {}
            Ok(Err(message)) => return Err(fail(message)),
            Err(trap) => return Err(fail(format!("trapped while configuring: {trap:#}"))),
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

    /// Parses a batch (parsers only).
    pub fn parse(
        &mut self,
        events: &[EventParam<'_>],
    ) -> Result<Vec<Result<Vec<RawDocument>, String>>, CallError> {
        self.store
            .set_epoch_deadline(self.plugin.engine.deadline_ticks());
        let Bound::Parser(p) = &self.bound else {
            unreachable!("parse called on a filter instance");
        };
        let answer = p
            .logpipe_plugin_parser()
            .call_parse(&mut self.store, events);
        self.finish(answer, events.len())
    }

    /// Decides a batch (filters only).
    pub fn accept(
        &mut self,
        events: &[EventParam<'_>],
    ) -> Result<Vec<Result<bool, String>>, CallError> {
        self.store
            .set_epoch_deadline(self.plugin.engine.deadline_ticks());
        let Bound::Filter(f) = &self.bound else {
            unreachable!("accept called on a parser instance");
        };
        let answer = f
            .logpipe_plugin_filter()
            .call_accept(&mut self.store, events);
        self.finish(answer, events.len())
    }

    fn finish<T>(
        &mut self,
        answer: wasmtime::Result<Vec<T>>,
        expected: usize,
    ) -> Result<Vec<T>, CallError> {
        self.forward_output();
        match answer {
            Ok(results) if results.len() == expected => Ok(results),
            Ok(results) => Err(CallError::ResultCount {
                expected,
                got: results.len(),
            }),
            Err(e) => Err(self.classify(e)),
        }
    }

    fn classify(&self, error: wasmtime::Error) -> CallError {
        let limits = self.plugin.engine.limits;
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
