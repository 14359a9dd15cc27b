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
    /// Parses a batch (parsers; the host never asks a filter).
    fn parse(
        &self,
        store: &mut Store<PluginState>,
        batch: &EventBatch,
        needs: &[String],
    ) -> wasmtime::Result<Result<ParsedBatch, CallError>>;
    /// Decides a batch (filters; the host never asks a parser).
    fn accept(
        &self,
        store: &mut Store<PluginState>,
        batch: &EventBatch,
        needs: &[String],
    ) -> wasmtime::Result<Decisions>;
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
