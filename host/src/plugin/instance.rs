//! One running instance of a plugin, in its own store with its own limits.
//!
//! Plugins built against contract 0.1.0 get their batch unpacked into one record
//! per event and their answers packed here, so everything above this file sees
//! one form.

use super::batch::{Decisions, EventBatch, EventProblem, PackedDocument, ParsedBatch, Problem};
use super::bindings::v0_1::parser::logpipe::plugin::types as legacy;
use super::bindings::v0_2::parser::logpipe::plugin::types::Batch;
use super::bindings::{v0_1, v0_2};
use super::error::{CallError, LoadError};
use super::limits::bounded_reason;
use super::loaded::{LoadedPlugin, PluginInfo, Pre};
use super::state::PluginState;
use std::sync::Arc;
use wasmtime::Store;

enum Bound {
    Parser(v0_2::parser::ParserPlugin),
    Filter(v0_2::filter::FilterPlugin),
    LegacyParser(v0_1::parser::ParserPlugin),
    LegacyFilter(v0_1::filter::FilterPlugin),
}

/// A configured instance. Used by one worker at a time; thrown away after any
/// failed call, since a trapped instance's state cannot be trusted.
pub struct PluginInstance {
    plugin: Arc<LoadedPlugin>,
    store: Store<PluginState>,
    bound: Bound,
}

fn new_store(plugin: &LoadedPlugin) -> Store<PluginState> {
    plugin.engine.new_store()
}

fn instantiate(plugin: &LoadedPlugin, store: &mut Store<PluginState>) -> wasmtime::Result<Bound> {
    Ok(match &plugin.pre {
        Pre::Parser(pre) => Bound::Parser(pre.instantiate(&mut *store)?),
        Pre::Filter(pre) => Bound::Filter(pre.instantiate(&mut *store)?),
        Pre::LegacyParser(pre) => Bound::LegacyParser(pre.instantiate(&mut *store)?),
        Pre::LegacyFilter(pre) => Bound::LegacyFilter(pre.instantiate(&mut *store)?),
    })
}

/// The self-description fields every contract version has.
macro_rules! described {
    ($call:expr) => {
        $call.map(|i| (i.name, i.version, i.needs, i.channels))
    };
}

impl PluginInstance {
    /// Reads a plugin's self-description on a throwaway instance.
    pub(crate) fn describe(plugin: &LoadedPlugin) -> wasmtime::Result<PluginInfo> {
        let mut store = new_store(plugin);
        let bound = instantiate(plugin, &mut store)?;
        let base = plugin.info().clone();
        let s = &mut store;
        let (name, version, needs, channels) = match &bound {
            Bound::Parser(p) => described!(p.logpipe_plugin_parser().call_info(s)),
            Bound::Filter(f) => described!(f.logpipe_plugin_filter().call_info(s)),
            Bound::LegacyParser(p) => described!(p.logpipe_plugin_parser().call_info(s)),
            Bound::LegacyFilter(f) => described!(f.logpipe_plugin_filter().call_info(s)),
        }?;
        Ok(PluginInfo {
            name,
            version,
            needs,
            channels,
            ..base
        })
    }

    pub(crate) fn new(
        plugin: Arc<LoadedPlugin>,
        config: &[(String, String)],
    ) -> Result<Self, LoadError> {
        let info = plugin.info();
        let fail = |message: String, output: Option<String>| LoadError::Config {
            plugin: info.name.clone(),
            version: info.version.clone(),
            message,
            output,
        };
        let mut store = new_store(&plugin);
        let bound = instantiate(&plugin, &mut store).map_err(|e| fail(format!("{e:#}"), None))?;
        let pairs: Vec<(&str, &str)> = config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let s = &mut store;
        let answer = match &bound {
            Bound::Parser(p) => p.logpipe_plugin_parser().call_configure(s, &pairs),
            Bound::Filter(f) => f.logpipe_plugin_filter().call_configure(s, &pairs),
            Bound::LegacyParser(p) => p.logpipe_plugin_parser().call_configure(s, &pairs),
            Bound::LegacyFilter(f) => f.logpipe_plugin_filter().call_configure(s, &pairs),
        };
        let message = match answer {
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
        let answer = match &self.bound {
            Bound::Parser(p) => p
                .logpipe_plugin_parser()
                .call_parse(&mut self.store, packed(batch))
                .map(|answer| {
                    Ok(ParsedBatch {
                        text: answer.text,
                        documents: answer
                            .documents
                            .into_iter()
                            .map(|d| PackedDocument {
                                event: d.event,
                                channel: d.channel,
                                json: d.json.start..d.json.start.saturating_add(d.json.len),
                            })
                            .collect(),
                        problems: EventProblem::rejected(
                            answer.errors.into_iter().map(|e| (e.event, e.reason)),
                        ),
                    })
                }),
            Bound::LegacyParser(p) => {
                let fields = legacy_fields(batch, &self.plugin.info().needs);
                let events = legacy_events(batch, &fields);
                p.logpipe_plugin_parser()
                    .call_parse(&mut self.store, &events)
                    .map(|results| pack_legacy_documents(results, events.len()))
            }
            Bound::Filter(_) | Bound::LegacyFilter(_) => {
                unreachable!("parse called on a filter instance")
            }
        };
        self.finish(answer)??.checked(events)
    }

    /// Decides a batch (filters only).
    pub fn accept(&mut self, batch: &EventBatch) -> Result<Decisions, CallError> {
        let events = self.begin_call(batch);
        let answer = match &self.bound {
            Bound::Filter(f) => f
                .logpipe_plugin_filter()
                .call_accept(&mut self.store, packed(batch))
                .map(|answer| Decisions {
                    keep: answer.keep,
                    problems: EventProblem::rejected(
                        answer.errors.into_iter().map(|e| (e.event, e.reason)),
                    ),
                }),
            Bound::LegacyFilter(f) => {
                let fields = legacy_fields(batch, &self.plugin.info().needs);
                let events = legacy_events(batch, &fields);
                f.logpipe_plugin_filter()
                    .call_accept(&mut self.store, &events)
                    .map(pack_legacy_decisions)
            }
            Bound::Parser(_) | Bound::LegacyParser(_) => {
                unreachable!("accept called on a parser instance")
            }
        };
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
        self.plugin.engine.arm(&mut self.store);
        batch.len()
    }

    fn finish<T>(&mut self, answer: wasmtime::Result<T>) -> Result<T, CallError> {
        self.forward_output();
        answer.map_err(|e| self.classify(e))
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

fn packed(batch: &EventBatch) -> Batch<'_> {
    Batch {
        text: batch.text(),
        parts: batch.parts(),
    }
}

/// Contract 0.1.0: each event's present fields as `(name, text)` pairs.
fn legacy_fields<'a>(batch: &'a EventBatch, needs: &'a [String]) -> Vec<Vec<(&'a str, &'a str)>> {
    (0..batch.len())
        .map(|i| {
            needs
                .iter()
                .zip(batch.values(i))
                .filter_map(|(name, value)| Some((name.as_str(), value?)))
                .collect()
        })
        .collect()
}

fn legacy_events<'a>(
    batch: &'a EventBatch,
    fields: &'a [Vec<(&'a str, &'a str)>],
) -> Vec<legacy::Event<'a>> {
    fields
        .iter()
        .enumerate()
        .map(|(i, fields)| legacy::Event {
            message: batch.message(i),
            fields,
        })
        .collect()
}

fn pack_legacy_documents(
    results: Vec<Result<Vec<legacy::Document>, String>>,
    events: usize,
) -> Result<ParsedBatch, CallError> {
    if results.len() != events {
        return Err(CallError::ResultCount {
            expected: events,
            got: results.len(),
        });
    }
    let mut parsed = ParsedBatch::default();
    for (event, result) in results.into_iter().enumerate() {
        let event = event as u32;
        match result {
            Ok(docs) => {
                for d in docs {
                    let start = parsed.text.len() as u32;
                    parsed.text.push_str(&d.json);
                    parsed.documents.push(PackedDocument {
                        event,
                        channel: d.channel,
                        json: start..parsed.text.len() as u32,
                    });
                }
            }
            Err(reason) => parsed.problems.push(EventProblem {
                event,
                problem: Problem::Rejected(bounded_reason(reason)),
            }),
        }
    }
    Ok(parsed)
}

fn pack_legacy_decisions(results: Vec<Result<bool, String>>) -> Decisions {
    let mut decisions = Decisions::default();
    for (event, result) in results.into_iter().enumerate() {
        match result {
            Ok(keep) => decisions.keep.push(keep),
            Err(reason) => {
                decisions.keep.push(false);
                decisions.problems.push(EventProblem {
                    event: event as u32,
                    problem: Problem::Rejected(bounded_reason(reason)),
                });
            }
        }
    }
    decisions
}
