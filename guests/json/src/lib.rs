//! JSON for plugins and the host, without building trees: a strict scanner
//! ([`skip_value`], [`ObjectFields`]), objects read one level deep
//! ([`RawObject`]) and an allocation-frugal writer ([`ObjectWriter`]).
//!
//! Its own crate because both sides use it: the plugin SDK (compiled to
//! WebAssembly, re-exported as `logpipe_plugin_sdk::json`) and the host
//! (checking plugins' documents, reading typed columns). Property tests hold
//! it to `serde_json` on generated, truncated and corrupted input.

mod raw;
mod read;
mod special;
mod write;

pub use raw::{RawObject, decode_key, split_object, split_value};
pub use read::{
    FieldSpan, JsonError, KeySpan, MAX_DEPTH, ObjectFields, is_number, is_valid, skip_value,
    skip_ws,
};
pub use special::find_special;
pub use write::{Key, Name, ObjectWriter, escaped_len, push_escaped, push_str, push_strs};
