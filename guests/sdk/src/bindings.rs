//! The generated component bindings and the glue behind the export macros.
//!
//! Only compiled for `wasm32`: natively a plugin is a plain Rust type.

use crate::{Config, Emit, Event, Filter, Info, Parser};
use std::cell::RefCell;

/// Bindings of the `parser-plugin` world.
pub mod parser {
    wit_bindgen::generate!({
        path: "../../wit/since_v0.1.0",
        world: "parser-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_parser_world",
        default_bindings_module: "logpipe_plugin_sdk::bindings::parser",
    });
}

/// Bindings of the `filter-plugin` world.
pub mod filter {
    wit_bindgen::generate!({
        path: "../../wit/since_v0.1.0",
        world: "filter-plugin",
        pub_export_macro: true,
        export_macro_name: "__export_filter_world",
        default_bindings_module: "logpipe_plugin_sdk::bindings::filter",
    });
}

use filter::exports::logpipe::plugin::filter as wf;
use parser::exports::logpipe::plugin::parser as wp;

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

/// Runs a parser over one batch.
pub fn parse_batch<P: Parser>(
    slot: &'static std::thread::LocalKey<RefCell<Option<P>>>,
    events: Vec<wp::Event>,
) -> Vec<Result<Vec<wp::Document>, String>> {
    slot.with(|cell| {
        let guard = cell.borrow();
        let Some(plugin) = guard.as_ref() else {
            return events.iter().map(|_| Err(NOT_CONFIGURED.into())).collect();
        };
        let mut emit = Emit::new();
        events
            .iter()
            .map(|e| {
                emit.clear();
                plugin
                    .parse(&Event::with_fields(&e.message, &e.fields), &mut emit)
                    .map(|()| {
                        emit.take()
                            .into_iter()
                            .map(|(channel, json)| wp::Document { channel, json })
                            .collect()
                    })
            })
            .collect()
    })
}

/// Runs a filter over one batch.
pub fn accept_batch<F: Filter>(
    slot: &'static std::thread::LocalKey<RefCell<Option<F>>>,
    events: Vec<wf::Event>,
) -> Vec<Result<bool, String>> {
    slot.with(|cell| {
        let guard = cell.borrow();
        let Some(plugin) = guard.as_ref() else {
            return events.iter().map(|_| Err(NOT_CONFIGURED.into())).collect();
        };
        events
            .iter()
            .map(|e| plugin.accept(&Event::with_fields(&e.message, &e.fields)))
            .collect()
    })
}
