//! The reference plugins, built from `guests/` by `build.rs` and shipped inside
//! the binary so that `logpipe demo` and a plain `logpipe run` need no file.

/// A plugin shipped in the binary.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedPlugin {
    /// The name configuration refers to it by (and its file stem).
    pub name: &'static str,
    /// The component.
    pub bytes: &'static [u8],
}

/// The reference plugins.
pub const EMBEDDED: &[EmbeddedPlugin] = &[
    EmbeddedPlugin {
        name: "message",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/plugins/message.wasm")),
    },
    EmbeddedPlugin {
        name: "filter",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/plugins/filter.wasm")),
    },
    EmbeddedPlugin {
        name: "perf",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/plugins/perf.wasm")),
    },
    EmbeddedPlugin {
        name: "top-functions",
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/plugins/top-functions.wasm")),
    },
];

/// The embedded plugin called `name`.
pub fn embedded(name: &str) -> Option<&'static EmbeddedPlugin> {
    EMBEDDED.iter().find(|p| p.name == name)
}

/// Where `build.rs` left the reference plugins it built (the integration
/// tests build the test guests there too).
pub const GUEST_DIR: &str = env!("LOGPIPE_GUEST_DIR");
