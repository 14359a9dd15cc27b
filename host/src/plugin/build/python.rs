//! Python plugins, built with componentize-py (which bundles CPython).

use super::{BuildError, Built, GuestBuild, Scratch, world};
use crate::plugin::Kind;
use std::process::Command;
use std::time::Instant;

/// The Python SDK's files.
const SDK: [(&str, &str); 3] = [
    (
        "__init__.py",
        include_str!("../../../../guests/python/logpipe_plugin/__init__.py"),
    ),
    (
        "_api.py",
        include_str!("../../../../guests/python/logpipe_plugin/_api.py"),
    ),
    (
        "_adapter.py",
        include_str!("../../../../guests/python/logpipe_plugin/_adapter.py"),
    ),
];

/// Name of the generated entry module (not one an author would pick).
const ENTRY: &str = "logpipe_plugin_entry";

const HINT: &str = "install it in the Python you build with: pip install 'componentize-py==0.25.*'";

/// Builds `build.dir/<module>.py` with componentize-py.
pub fn build(build: &GuestBuild) -> Result<Built, BuildError> {
    let start = Instant::now();
    let (_, kind) = build.source("py")?;
    let tool = build.tool_version(HINT)?;
    let scratch = Scratch::new()?;
    for (name, text) in SDK {
        scratch.write(&format!("sdk/logpipe_plugin/{name}"), text)?;
    }
    scratch.write(
        &format!("entry/{ENTRY}.py"),
        &entry_module(&build.module, kind),
    )?;
    let wasm = scratch.path("plugin.wasm");
    build.run(
        Command::new(&build.program)
            .arg("-d")
            .arg(scratch.path("wit"))
            .args(["-w", world(kind), "componentize", "-p"])
            .arg(&build.dir)
            .arg("-p")
            .arg(scratch.path("sdk"))
            .arg("-p")
            .arg(scratch.path("entry"))
            .arg(ENTRY)
            .arg("-o")
            .arg(&wasm),
        HINT,
    )?;
    let (name, version) = tool.split_once(' ').unwrap_or((&tool, ""));
    let tools = [
        (name, version),
        ("logpipe-plugin-sdk-python", env!("CARGO_PKG_VERSION")),
    ];
    build.finish(&wasm, "Python", &tools, (kind, start, tool.clone()))
}

/// The module componentize-py is given: it exports the author's class.
fn entry_module(module: &str, kind: Kind) -> String {
    let (export, class) = match kind {
        Kind::Filter => ("export_filter", "Filter"),
        Kind::Parser => ("export_parser", "Parser"),
    };
    format!(
        "# Written by `logpipe plugin build-py`: exports the plugin class of `{module}`.\n\
         import {module}\n\
         from logpipe_plugin._adapter import {export}\n\
         {class} = {export}({module})\n"
    )
}
