//! The plugin runtime: one wasmtime engine, components compiled once (and cached
//! on disk), checked against the contract, instantiated per worker from an
//! `InstancePre`, run in a sandbox with memory and time limits, with failures
//! contained to the batch and isolated to the event.

pub mod batch;
pub mod bindings;
pub mod breaker;
pub mod build;
pub mod cache;
pub mod captured_output;
pub mod catalog;
pub mod compiler;
mod component;
pub mod contract;
mod contract_v0_1;
mod contract_v0_2;
pub mod embedded;
pub mod engine;
pub mod error;
pub mod instance;
pub mod limits;
pub mod loaded;
#[cfg(feature = "native-bench")]
pub mod native;
pub mod runner;
pub mod state;
pub mod toolchain;
pub mod wasi;

pub use batch::{
    Decisions, DocumentRef, EventBatch, EventProblem, PackedDocument, ParsedBatch, Problem,
};
pub use contract::Kind;
pub use engine::PluginEngine;
pub use error::{CallError, LoadError};
pub use instance::PluginInstance;
pub use limits::Limits;
pub use loaded::{LoadedPlugin, PluginInfo};
pub use runner::{Outcome, PluginRunner, StageRunner};
