//! Contract 0.1.0 (`wit/since_v0.1.0`), adapted to the current one: its
//! plugins take one record per event and answer per event, so a batch is
//! unpacked for them and their answers packed into the current form here (as
//! Zed keeps one file per WIT version). Nothing else knows 0.1.0 exists.

use super::batch::{Decisions, EventBatch, EventProblem, PackedDocument, ParsedBatch, Problem};
use super::bindings::v0_1::filter::{FilterPlugin, FilterPluginPre};
use super::bindings::v0_1::parser::logpipe::plugin::types as legacy;
use super::bindings::v0_1::parser::{ParserPlugin, ParserPluginPre};
use super::component::{Bound, Described, Prepared};
use super::error::CallError;
use super::limits::bounded_reason;
use super::state::PluginState;
use wasmtime::Store;

impl Prepared for ParserPluginPre<PluginState> {
    fn bind(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Box<dyn Bound>> {
        Ok(Box::new(self.instantiate(store)?))
    }
}

impl Prepared for FilterPluginPre<PluginState> {
    fn bind(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Box<dyn Bound>> {
        Ok(Box::new(self.instantiate(store)?))
    }
}

impl Bound for ParserPlugin {
    fn describe(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Described> {
        self.logpipe_plugin_parser().call_info(store).map(described)
    }

    fn configure(
        &self,
        store: &mut Store<PluginState>,
        pairs: &[(&str, &str)],
    ) -> wasmtime::Result<Result<(), String>> {
        self.logpipe_plugin_parser().call_configure(store, pairs)
    }

    fn parse(
        &self,
        store: &mut Store<PluginState>,
        batch: &EventBatch,
        needs: &[String],
    ) -> wasmtime::Result<Result<ParsedBatch, CallError>> {
        let fields = legacy_fields(batch, needs);
        let events = legacy_events(batch, &fields);
        self.logpipe_plugin_parser()
            .call_parse(store, &events)
            .map(|results| pack_legacy_documents(results, events.len()))
    }

    fn accept(
        &self,
        _store: &mut Store<PluginState>,
        _batch: &EventBatch,
        _needs: &[String],
    ) -> wasmtime::Result<Decisions> {
        unreachable!("accept called on a parser instance")
    }
}

impl Bound for FilterPlugin {
    fn describe(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Described> {
        self.logpipe_plugin_filter().call_info(store).map(described)
    }

    fn configure(
        &self,
        store: &mut Store<PluginState>,
        pairs: &[(&str, &str)],
    ) -> wasmtime::Result<Result<(), String>> {
        self.logpipe_plugin_filter().call_configure(store, pairs)
    }

    fn parse(
        &self,
        _store: &mut Store<PluginState>,
        _batch: &EventBatch,
        _needs: &[String],
    ) -> wasmtime::Result<Result<ParsedBatch, CallError>> {
        unreachable!("parse called on a filter instance")
    }

    fn accept(
        &self,
        store: &mut Store<PluginState>,
        batch: &EventBatch,
        needs: &[String],
    ) -> wasmtime::Result<Decisions> {
        let fields = legacy_fields(batch, needs);
        let events = legacy_events(batch, &fields);
        self.logpipe_plugin_filter()
            .call_accept(store, &events)
            .map(pack_legacy_decisions)
    }
}

fn described(info: legacy::PluginInfo) -> Described {
    Described {
        name: info.name,
        version: info.version,
        needs: info.needs,
        channels: info.channels,
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
