//! A component of any contract version, as the layers above see it: prepared
//! once (type-checked against the host's imports), bound into a store for each
//! instance, then asked to describe itself, take its configuration, and parse
//! or decide batches. Each contract version implements these traits in a file
//! of its own (`contract_v0_2.rs`, `contract_v0_1.rs`), so nothing above them
//! matches on versions.

use super::batch::{Decisions, EventBatch, ParsedBatch};
use super::error::CallError;
use super::state::PluginState;
use wasmtime::Store;

/// A component type-checked once, ready to be instantiated many times.
pub(crate) trait Prepared: Send + Sync {
    /// Instantiates it in `store`.
    fn bind(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Box<dyn Bound>>;
}

/// A component instantiated in a store. Calls that trap return `Err`; the
/// plugin's own refusals are the inner values.
pub(crate) trait Bound: Send + Sync {
    /// The plugin's self-description.
    fn describe(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Described>;
    /// Gives the plugin its configuration; `Err(message)` when it refuses it.
    fn configure(
        &self,
        store: &mut Store<PluginState>,
        pairs: &[(&str, &str)],
    ) -> wasmtime::Result<Result<(), String>>;
    /// Parses a batch. Parsers implement it; the host never asks a filter
    /// (the plan checks each stage's kind), so reaching this is a host bug.
    fn parse(
        &self,
        _store: &mut Store<PluginState>,
        _batch: &EventBatch,
        _needs: &[String],
    ) -> wasmtime::Result<Result<ParsedBatch, CallError>> {
        unreachable!("parse called on a filter instance")
    }
    /// Decides a batch. Filters implement it; see [`Bound::parse`].
    fn accept(
        &self,
        _store: &mut Store<PluginState>,
        _batch: &EventBatch,
        _needs: &[String],
    ) -> wasmtime::Result<Decisions> {
        unreachable!("accept called on a parser instance")
    }
}

/// What a plugin says about itself, in every contract version.
pub(crate) struct Described {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Fields it reads besides the message.
    pub needs: Vec<String>,
    /// Its output channels.
    pub channels: Vec<String>,
}

/// What every contract version's generated bindings spell the same way, for
/// the `contract_v0_*.rs` files: instantiating a prepared parser or filter,
/// and turning the version's `plugin-info` record into a [`Described`].
macro_rules! prepared_and_described {
    ($parser_pre:ty, $filter_pre:ty, $info:ty) => {
        impl Prepared for $parser_pre {
            fn bind(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Box<dyn Bound>> {
                Ok(Box::new(self.instantiate(store)?))
            }
        }

        impl Prepared for $filter_pre {
            fn bind(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Box<dyn Bound>> {
                Ok(Box::new(self.instantiate(store)?))
            }
        }

        impl From<$info> for Described {
            fn from(info: $info) -> Self {
                Described {
                    name: info.name,
                    version: info.version,
                    needs: info.needs,
                    channels: info.channels,
                }
            }
        }
    };
}

/// [`Bound::describe`] and [`Bound::configure`], the same for every version
/// and kind but for the interface's accessor (`logpipe_plugin_parser` or
/// `logpipe_plugin_filter`).
macro_rules! describe_and_configure {
    ($interface:ident) => {
        fn describe(&self, store: &mut Store<PluginState>) -> wasmtime::Result<Described> {
            self.$interface().call_info(store).map(Described::from)
        }

        fn configure(
            &self,
            store: &mut Store<PluginState>,
            pairs: &[(&str, &str)],
        ) -> wasmtime::Result<Result<(), String>> {
            self.$interface().call_configure(store, pairs)
        }
    };
}

pub(crate) use {describe_and_configure, prepared_and_described};
