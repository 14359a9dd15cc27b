//! Contract 0.2.0 (`wit/since_v0.2.0`), the current one: a batch crosses the
//! boundary as one string with spans beside it, and a parser's documents come
//! back the same way.

use super::batch::{Decisions, EventBatch, EventProblem, PackedDocument, ParsedBatch};
use super::bindings::v0_2::filter::{FilterPlugin, FilterPluginPre};
use super::bindings::v0_2::parser::logpipe::plugin::types::{Batch, PluginInfo};
use super::bindings::v0_2::parser::{ParserPlugin, ParserPluginPre};
use super::component::{
    Bound, Described, Prepared, describe_and_configure, prepared_and_described,
};
use super::error::CallError;
use super::state::PluginState;
use wasmtime::Store;

prepared_and_described!(
    ParserPluginPre<PluginState>,
    FilterPluginPre<PluginState>,
    PluginInfo
);

impl Bound for ParserPlugin {
    describe_and_configure!(logpipe_plugin_parser);

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
}

impl Bound for FilterPlugin {
    describe_and_configure!(logpipe_plugin_filter);

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

fn packed(batch: &EventBatch) -> Batch<'_> {
    Batch {
        text: batch.text(),
        parts: batch.parts(),
    }
}
