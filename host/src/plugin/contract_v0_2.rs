//! Contract 0.2.0 (`wit/since_v0.2.0`), the current one: a batch crosses the
//! boundary as one string with spans beside it, and a parser's documents come
//! back the same way.

use super::batch::{Decisions, EventBatch, EventProblem, PackedDocument, ParsedBatch};
use super::bindings::v0_2::filter::{FilterPlugin, FilterPluginPre};
use super::bindings::v0_2::parser::logpipe::plugin::types::{Batch, PluginInfo};
use super::bindings::v0_2::parser::{ParserPlugin, ParserPluginPre};
use super::component::{Bound, Described, Prepared};
use super::error::CallError;
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
        _needs: &[String],
    ) -> wasmtime::Result<Result<ParsedBatch, CallError>> {
        let answer = self
            .logpipe_plugin_parser()
            .call_parse(store, packed(batch))?;
        Ok(Ok(ParsedBatch {
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
        }))
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
        _needs: &[String],
    ) -> wasmtime::Result<Decisions> {
        let answer = self
            .logpipe_plugin_filter()
            .call_accept(store, packed(batch))?;
        Ok(Decisions {
            keep: answer.keep,
            problems: EventProblem::rejected(
                answer.errors.into_iter().map(|e| (e.event, e.reason)),
            ),
        })
    }
}

fn described(info: PluginInfo) -> Described {
    Described {
        name: info.name,
        version: info.version,
        needs: info.needs,
        channels: info.channels,
    }
}

fn packed(batch: &EventBatch) -> Batch<'_> {
    Batch {
        text: batch.text(),
        parts: batch.parts(),
    }
}
