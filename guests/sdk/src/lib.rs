//! The logpipe plugin SDK.
//!
//! A plugin is plain Rust: implement [`Parser`] or [`Filter`] on a type and
//! register it with [`export_parser!`] or [`export_filter!`]. The SDK owns the
//! generated WebAssembly bindings (contract `logpipe:plugin@0.2.0`, see `wit/`),
//! so plugin authors never see them, and the same code compiles natively for unit
//! tests and benchmarks.
//!
//! ```
//! use logpipe_plugin_sdk::{Config, Emit, Event, Info, Parser};
//!
//! /// Emits `{"words": N}` for every line.
//! struct WordCount;
//!
//! impl Parser for WordCount {
//!     fn info() -> Info {
//!         Info::new("word-count", "0.1.0").channels(&["counts"])
//!     }
//!     fn configure(_config: &Config) -> Result<Self, String> {
//!         Ok(WordCount)
//!     }
//!     fn parse(&self, event: &Event<'_>, emit: &mut Emit) -> Result<(), String> {
//!         let words = event.message.split_whitespace().count();
//!         emit.json(0, &serde_json::json!({ "words": words }));
//!         Ok(())
//!     }
//! }
//! // In the plugin crate: logpipe_plugin_sdk::export_parser!(WordCount);
//! ```

pub mod batch;
mod config;
mod event;
pub mod formats;
mod info;
pub use logpipe_json as json;
mod output;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod bindings;

pub use config::Config;
pub use event::Event;
pub use info::Info;
pub use output::{Emit, Emitted};

/// The version of the WIT contract this SDK builds plugins against.
pub const CONTRACT_VERSION: &str = "0.2.0";

/// A parser plugin: turns one log event into zero, one or several documents.
pub trait Parser: Sized + 'static {
    /// Name, version, needed fields and output channels.
    fn info() -> Info;

    /// Builds the plugin from its configuration, or says what is wrong with it.
    fn configure(config: &Config) -> Result<Self, String>;

    /// Parses one event, emitting documents through `emit`. An `Err` reports
    /// the event as unparseable; documents already emitted for it are dropped.
    fn parse(&self, event: &Event<'_>, emit: &mut Emit) -> Result<(), String>;
}

/// A filter plugin: decides whether a line feeds the derived indices.
pub trait Filter: Sized + 'static {
    /// Name, version and needed fields (filters have no channels).
    fn info() -> Info;

    /// Builds the plugin from its configuration, or says what is wrong with it.
    fn configure(config: &Config) -> Result<Self, String>;

    /// `Ok(true)` keeps the line.
    fn accept(&self, event: &Event<'_>) -> Result<bool, String>;
}

/// Exports a [`Parser`] type as the plugin's component interface.
///
/// Expands to nothing outside `wasm32`, so the plugin crate also builds natively.
#[macro_export]
macro_rules! export_parser {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::bindings::parser::exports::logpipe::plugin::parser as __wp;
            ::std::thread_local! {
                static __PLUGIN: ::std::cell::RefCell<Option<$ty>> =
                    const { ::std::cell::RefCell::new(None) };
            }
            struct __Export;
            impl __wp::Guest for __Export {
                fn info() -> __wp::PluginInfo {
                    $crate::bindings::parser_info(<$ty as $crate::Parser>::info())
                }
                fn configure(config: ::std::vec::Vec<(String, String)>) -> Result<(), String> {
                    $crate::bindings::configure(
                        &__PLUGIN,
                        <$ty as $crate::Parser>::configure,
                        config,
                    )
                }
                fn parse(batch: __wp::Batch) -> __wp::Parsed {
                    $crate::bindings::parse_batch(&__PLUGIN, batch)
                }
            }
            $crate::bindings::parser::__export_parser_world!(__Export);
        };
    };
}

/// Exports a [`Filter`] type as the plugin's component interface.
///
/// Expands to nothing outside `wasm32`, so the plugin crate also builds natively.
#[macro_export]
macro_rules! export_filter {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::bindings::filter::exports::logpipe::plugin::filter as __wf;
            ::std::thread_local! {
                static __PLUGIN: ::std::cell::RefCell<Option<$ty>> =
                    const { ::std::cell::RefCell::new(None) };
            }
            struct __Export;
            impl __wf::Guest for __Export {
                fn info() -> __wf::PluginInfo {
                    $crate::bindings::filter_info(<$ty as $crate::Filter>::info())
                }
                fn configure(config: ::std::vec::Vec<(String, String)>) -> Result<(), String> {
                    $crate::bindings::configure(
                        &__PLUGIN,
                        <$ty as $crate::Filter>::configure,
                        config,
                    )
                }
                fn accept(batch: __wf::Batch) -> __wf::Decisions {
                    $crate::bindings::accept_batch(&__PLUGIN, batch)
                }
            }
            $crate::bindings::filter::__export_filter_world!(__Export);
        };
    };
}
