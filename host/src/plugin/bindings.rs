//! Host bindings of the plugin contract (`wit/since_v0.1.0`), one module per world.
#![allow(missing_docs)] // generated code

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
        // One Rust type per WIT type: the filter world reuses the parser's.
        with: { "logpipe:plugin/types": super::parser::logpipe::plugin::types },
    });
}
