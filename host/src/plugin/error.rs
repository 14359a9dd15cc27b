//! Errors of loading and running plugins.

use std::path::PathBuf;

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read plugin {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not WebAssembly at all.
    #[error("{origin} is not a WebAssembly file (no `\\0asm` header)")]
    NotWasm {
        /// Where the bytes came from.
        origin: String,
    },
    /// A core module instead of a component.
    #[error(
        "{origin} is a core WebAssembly module, not a component: build the plugin for \
         `wasm32-wasip2` (cargo build --target wasm32-wasip2) so that it is a component"
    )]
    CoreModule {
        /// Where the bytes came from.
        origin: String,
    },
    /// Compilation failed.
    #[error("{origin} does not compile as a component: {message}")]
    Compile {
        /// Where the bytes came from.
        origin: String,
        /// The compiler's message.
        message: String,
    },
    /// The component exports no logpipe world.
    #[error(
        "{origin} is not a logpipe plugin: expected it to export `{expected_parser}` (world \
         parser-plugin) or `{expected_filter}` (world filter-plugin), found exports: {found}"
    )]
    WrongWorld {
        /// Where the bytes came from.
        origin: String,
        /// The parser interface the host supports.
        expected_parser: String,
        /// The filter interface the host supports.
        expected_filter: String,
        /// What the component exports.
        found: String,
    },
    /// The component was built against a contract version this host cannot run.
    #[error(
        "{origin} was built against logpipe:plugin@{found}; this host runs contract \
         version {supported}: rebuild the plugin with an SDK for {supported}"
    )]
    WrongVersion {
        /// Where the bytes came from.
        origin: String,
        /// The version the plugin exports.
        found: String,
        /// The versions the host supports.
        supported: String,
    },
    /// The component imports something the sandbox does not provide.
    #[error("{origin} needs imports the sandbox does not provide: {message}")]
    Link {
        /// Where the bytes came from.
        origin: String,
        /// The linker's message.
        message: String,
    },
    /// The plugin failed while describing itself.
    #[error("{origin} failed when asked for its info: {message}")]
    Info {
        /// Where the bytes came from.
        origin: String,
        /// What went wrong.
        message: String,
    },
    /// The plugin's info is not acceptable.
    #[error("{origin} describes itself wrongly: {message}")]
    BadInfo {
        /// Where the bytes came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The plugin refused its configuration.
    #[error("plugin `{plugin}` {version} refused its configuration: {message}{}", output_note(.output))]
    Config {
        /// Plugin name.
        plugin: String,
        /// Plugin version.
        version: String,
        /// The plugin's message.
        message: String,
        /// What the plugin wrote on stderr and stdout while configuring (a
        /// Python traceback, a Rust panic message), bounded like all its output.
        output: Option<String>,
    },
}

/// The plugin's output after a refusal, on lines of its own.
fn output_note(output: &Option<String>) -> String {
    match output {
        Some(text) => format!(
            "\n  the plugin wrote:\n    {}",
            text.trim_end().replace('\n', "\n    ")
        ),
        None => String::new(),
    }
}

/// Why one call into a plugin failed as a whole (as opposed to a per-event error).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CallError {
    /// The call ran past the batch time limit.
    #[error("ran past its time limit of {limit_ms} ms")]
    Timeout {
        /// The limit.
        limit_ms: u64,
    },
    /// The instance tried to grow its memory past the cap.
    #[error("went over its memory limit of {limit_mib} MiB (asked for {asked_mib} MiB)")]
    Memory {
        /// The cap.
        limit_mib: usize,
        /// What it asked for.
        asked_mib: usize,
    },
    /// A trap (panic, unreachable, out-of-bounds…).
    #[error("trapped: {message}")]
    Trap {
        /// The trap's message, first lines.
        message: String,
    },
    /// The plugin answered with the wrong number of results.
    #[error("returned {got} results for {expected} events")]
    ResultCount {
        /// Events sent.
        expected: usize,
        /// Results received.
        got: usize,
    },
    /// The plugin's answer breaks the contract (a span outside its text, an event
    /// out of range…).
    #[error("answered against the contract: {message}")]
    BadAnswer {
        /// What was wrong.
        message: String,
    },
    /// Not called: the plugin failed too many calls in a row and is paused.
    #[error("skipped: paused for {pause_secs} s after {failures} failed calls in a row")]
    Paused {
        /// Failed calls in a row when it was paused.
        failures: u32,
        /// The pause, in seconds.
        pause_secs: u64,
    },
    /// A fresh instance could not even be configured.
    #[error("could not start a fresh instance: {message}")]
    Instantiate {
        /// What went wrong.
        message: String,
    },
}
