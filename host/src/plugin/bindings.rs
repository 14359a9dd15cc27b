//! Host bindings of the plugin contract, one module per version and world.
//!
//! The host runs every version it has bindings for: [`v0_2`] is the current one,
//! [`v0_1`] is kept so plugins built before it still load. Each is wrapped in
//! a file of its own (`contract_v0_2.rs`, `contract_v0_1.rs`, the latter
//! adapting per-event answers to the packed form) behind `component.rs`.
#![allow(missing_docs)] // generated code

/// Contract 0.2.0 (`wit/since_v0.2.0`): packed batches.
pub mod v0_2 {
    /// The `parser-plugin` world.
    pub mod parser {
        wasmtime::component::bindgen!({
            path: "../wit/since_v0.2.0",
            world: "parser-plugin",
            ownership: Borrowing { duplicate_if_necessary: true },
        });
    }

    /// The `filter-plugin` world.
    pub mod filter {
        wasmtime::component::bindgen!({
            path: "../wit/since_v0.2.0",
            world: "filter-plugin",
            ownership: Borrowing { duplicate_if_necessary: true },
            // One Rust type per WIT type: the filter world reuses the parser's.
            with: { "logpipe:plugin/types": super::parser::logpipe::plugin::types },
        });
    }
}

/// Contract 0.1.0 (`wit/since_v0.1.0`): one record per event.
pub mod v0_1 {
    /// The `parser-plugin` world.
    pub mod parser {
        wasmtime::component::bindgen!({
            path: "../wit/since_v0.1.0",
            world: "parser-plugin",
            ownership: Borrowing { duplicate_if_necessary: true },
        });
    }

    /// The `filter-plugin` world.
    pub mod filter {
        wasmtime::component::bindgen!({
            path: "../wit/since_v0.1.0",
            world: "filter-plugin",
            ownership: Borrowing { duplicate_if_necessary: true },
            with: { "logpipe:plugin/types": super::parser::logpipe::plugin::types },
        });
    }
}
