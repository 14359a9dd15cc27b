//! The generated component bindings and the glue behind the export macros.
//!
//! Only compiled for `wasm32`: natively a plugin is a plain Rust type.

use crate::batch::{PackedEvents, Parsed};
use crate::output::Emitted;
use crate::{Config, Filter, Info, Parser};
use std::cell::RefCell;

/// Bindings of the `parser-plugin` world.
pub mod parser {
    wit_bindgen::generate!({
        path: "../../wit/since_v0.2.0",
        world: "parser-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_parser_world",
        default_bindings_module: "logpipe_plugin_sdk::bindings::parser",
    });
}

/// Bindings of the `filter-plugin` world.
pub mod filter {
    wit_bindgen::generate!({
        path: "../../wit/since_v0.2.0",
        world: "filter-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_filter_world",
        default_bindings_module: "logpipe_plugin_sdk::bindings::filter",
        // One Rust type per WIT type: the filter world reuses the parser's.
        with: { "logpipe:plugin/types@0.2.0": super::parser::logpipe::plugin::types },
    });
}

use filter::exports::logpipe::plugin::filter as wf;
use parser::exports::logpipe::plugin::parser as wp;
use parser::logpipe::plugin::types::{Batch, EventError, Span};

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The parser's self-description in the contract's types.
pub fn parser_info(info: Info) -> wp::PluginInfo {
    wp::PluginInfo {
        name: info.name.into(),
        version: info.version.into(),
        needs: strings(info.needs),
        channels: strings(info.channels),
    }
}

/// The filter's self-description in the contract's types.
pub fn filter_info(info: Info) -> wf::PluginInfo {
    wf::PluginInfo {
        name: info.name.into(),
        version: info.version.into(),
        needs: strings(info.needs),
        channels: Vec::new(),
    }
}

/// Builds the plugin from the host's configuration and keeps it in `slot`.
pub fn configure<T>(
    slot: &'static std::thread::LocalKey<RefCell<Option<T>>>,
    make: impl FnOnce(&Config) -> Result<T, String>,
    pairs: Vec<(String, String)>,
) -> Result<(), String> {
    let plugin = make(&Config::new(pairs))?;
    slot.with(|cell| *cell.borrow_mut() = Some(plugin));
    Ok(())
}

const NOT_CONFIGURED: &str = "plugin called before `configure` succeeded";

/// `batch` seen through its parts.
fn events<'b>(
    batch: &'b Batch,
    needs: &'b [&'b str],
) -> PackedEvents<'b, impl Fn(usize) -> Option<&'b str>> {
    let text = batch.text.as_str();
    PackedEvents {
        parts: batch.parts.len(),
        needs,
        part: move |k: usize| {
            batch.parts[k].as_ref().map(|s| {
                text.get(s.start as usize..(s.start + s.len) as usize)
                    .unwrap_or("")
            })
        },
    }
}

fn event_errors(errors: Vec<(u32, String)>) -> Vec<EventError> {
    errors
        .into_iter()
        .map(|(event, reason)| EventError { event, reason })
        .collect()
}

fn not_configured(count: usize) -> Vec<EventError> {
    event_errors(
        (0..count as u32)
            .map(|e| (e, NOT_CONFIGURED.into()))
            .collect(),
    )
}

/// Runs a parser over one batch.
pub fn parse_batch<P: Parser>(
    slot: &'static std::thread::LocalKey<RefCell<Option<P>>>,
    batch: Batch,
) -> wp::Parsed {
    slot.with(|cell| {
        let events = events(&batch, P::info().needs);
        let guard = cell.borrow();
        let Some(plugin) = guard.as_ref() else {
            return wp::Parsed {
                text: String::new(),
                documents: Vec::new(),
                errors: not_configured(events.count()),
            };
        };
        let Parsed {
            text,
            documents,
            errors,
        } = events.parse(|event, emit| plugin.parse(event, emit));
        wp::Parsed {
            text,
            documents: documents
                .into_iter()
                .map(
                    |Emitted {
                         event,
                         channel,
                         json,
                     }| wp::Document {
                        event,
                        channel,
                        json: Span {
                            start: json.start,
                            len: json.end - json.start,
                        },
                    },
                )
                .collect(),
            errors: event_errors(errors),
        }
    })
}

/// Runs a filter over one batch.
pub fn accept_batch<F: Filter>(
    slot: &'static std::thread::LocalKey<RefCell<Option<F>>>,
    batch: Batch,
) -> wf::Decisions {
    slot.with(|cell| {
        let events = events(&batch, F::info().needs);
        let guard = cell.borrow();
        let Some(plugin) = guard.as_ref() else {
            return wf::Decisions {
                keep: vec![false; events.count()],
                errors: not_configured(events.count()),
            };
        };
        let decided = events.accept(|event| plugin.accept(event));
        wf::Decisions {
            keep: decided.keep,
            errors: event_errors(decided.errors),
        }
    })
}
