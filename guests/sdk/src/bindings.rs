//! The generated component bindings and the glue behind the export macros.
//!
//! Only compiled for `wasm32`: natively a plugin is a plain Rust type.

use crate::output::Emitted;
use crate::{Config, Emit, Event, Filter, Info, Parser};
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

/// Calls `each` with every event of `batch`, whose fields are `needs`.
fn for_each_event(batch: &Batch, needs: &[&str], mut each: impl FnMut(u32, &Event<'_>)) {
    let text = batch.text.as_str();
    let part = |p: &Option<Span>| {
        p.as_ref().map(|s| {
            text.get(s.start as usize..(s.start + s.len) as usize)
                .unwrap_or("")
        })
    };
    let width = 1 + needs.len();
    let mut values: Vec<Option<&str>> = Vec::with_capacity(needs.len());
    for (i, parts) in batch.parts.chunks_exact(width).enumerate() {
        values.clear();
        values.extend(parts[1..].iter().map(part));
        let message = part(&parts[0]).unwrap_or("");
        each(i as u32, &Event::with_needs(message, needs, &values));
    }
}

fn events(batch: &Batch, needs: &[&str]) -> u32 {
    (batch.parts.len() / (1 + needs.len())) as u32
}

fn not_configured(count: u32) -> Vec<EventError> {
    (0..count)
        .map(|event| EventError {
            event,
            reason: NOT_CONFIGURED.into(),
        })
        .collect()
}

/// Runs a parser over one batch.
pub fn parse_batch<P: Parser>(
    slot: &'static std::thread::LocalKey<RefCell<Option<P>>>,
    batch: Batch,
) -> wp::Parsed {
    slot.with(|cell| {
        let needs = P::info().needs;
        let guard = cell.borrow();
        let Some(plugin) = guard.as_ref() else {
            return wp::Parsed {
                text: String::new(),
                documents: Vec::new(),
                errors: not_configured(events(&batch, needs)),
            };
        };
        let mut emit = Emit::new();
        let mut errors = Vec::new();
        for_each_event(&batch, needs, |i, event| {
            emit.start_event(i);
            if let Err(reason) = plugin.parse(event, &mut emit) {
                emit.discard_event();
                errors.push(EventError { event: i, reason });
            }
        });
        let (text, docs) = emit.into_parts();
        wp::Parsed {
            text,
            documents: docs
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
            errors,
        }
    })
}

/// Runs a filter over one batch.
pub fn accept_batch<F: Filter>(
    slot: &'static std::thread::LocalKey<RefCell<Option<F>>>,
    batch: Batch,
) -> wf::Decisions {
    slot.with(|cell| {
        let needs = F::info().needs;
        let guard = cell.borrow();
        let Some(plugin) = guard.as_ref() else {
            let count = events(&batch, needs);
            return wf::Decisions {
                keep: vec![false; count as usize],
                errors: not_configured(count),
            };
        };
        let mut keep = Vec::with_capacity(events(&batch, needs) as usize);
        let mut errors = Vec::new();
        for_each_event(&batch, needs, |i, event| match plugin.accept(event) {
            Ok(k) => keep.push(k),
            Err(reason) => {
                keep.push(false);
                errors.push(EventError { event: i, reason });
            }
        });
        wf::Decisions { keep, errors }
    })
}
