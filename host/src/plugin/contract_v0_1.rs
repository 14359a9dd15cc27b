//! Contract 0.1.0 (`wit/since_v0.1.0`), adapted to the current one: its
//! plugins take one record per event and answer per event, so a batch is
//! unpacked for them and their answers packed into the current form here (as
//! Zed keeps one file per WIT version). Nothing else knows 0.1.0 exists.

use super::batch::{Decisions, EventBatch, EventProblem, PackedDocument, ParsedBatch, Problem};
use super::bindings::v0_1::filter::{FilterPlugin, FilterPluginPre};
use super::bindings::v0_1::parser::logpipe::plugin::types as legacy;
use super::bindings::v0_1::parser::{ParserPlugin, ParserPluginPre};
use super::component::{
    Bound, Described, Prepared, describe_and_configure, prepared_and_described,
};
use super::error::CallError;
use super::limits::bounded_reason;
use super::state::PluginState;
use wasmtime::Store;

prepared_and_described!(
    ParserPluginPre<PluginState>,
    FilterPluginPre<PluginState>,
    legacy::PluginInfo
);

impl Bound for ParserPlugin {
    describe_and_configure!(logpipe_plugin_parser);

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
}

impl Bound for FilterPlugin {
    describe_and_configure!(logpipe_plugin_filter);

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
