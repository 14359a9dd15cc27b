//! JavaScript plugins, built with componentize-js (StarlingMonkey).

use super::{BuildError, Built, GuestBuild, Scratch, world};
use crate::plugin::Kind;
use std::process::Command;
use std::time::Instant;

/// The JavaScript SDK.
const SDK: &str = include_str!("../../../../guests/js/logpipe-plugin.js");
const SDK_FILE: &str = "logpipe-plugin.js";

/// Name of the generated entry module.
const ENTRY: &str = "logpipe-plugin-entry.js";

const HINT: &str = "install it with npm: npm install @bytecodealliance/componentize-js@0.23 @bytecodealliance/preview2-shim@0.25.0, then use node_modules/.bin/componentize-js";

/// Builds `build.dir/<module>.js` (its default export is the plugin class)
/// with componentize-js.
pub fn build(build: &GuestBuild) -> Result<Built, BuildError> {
    let start = Instant::now();
    let (_, kind) = build.source("js")?;
    let tool = build.tool_version(HINT)?;
    let scratch = Scratch::new()?;
    // The plugin's own modules beside the SDK, which it imports as
    // `./logpipe-plugin.js` (a copy an author keeps for tests is replaced).
    copy_modules(build, &scratch)?;
    scratch.write(&format!("src/{SDK_FILE}"), SDK)?;
    let entry = scratch.write(&format!("src/{ENTRY}"), &entry_module(&build.module, kind))?;
    let wasm = scratch.path("plugin.wasm");
    build.run(
        Command::new(&build.program)
            .arg("--wit")
            .arg(scratch.path("wit"))
            .args(["--world-name", world(kind)])
            // What the sandbox does not link: the HTTP client and server.
            .args(["--disable", "http", "--disable", "fetch-event"])
            .arg("--out")
            .arg(&wasm)
            .arg(&entry),
        HINT,
    )?;
    build.finish(
        &wasm,
        "JavaScript",
        &[("logpipe-plugin-sdk-js", env!("CARGO_PKG_VERSION"))],
        (kind, start, tool),
    )
}

/// Copies the `.js`/`.mjs`/`.json` files of the plugin's folder.
fn copy_modules(build: &GuestBuild, scratch: &Scratch) -> Result<(), BuildError> {
    let read_error = |source| BuildError::Module {
        path: build.dir.clone(),
        source,
    };
    for entry in std::fs::read_dir(&build.dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(name) = name
            .filter(|n| path.is_file() && [".js", ".mjs", ".json"].iter().any(|e| n.ends_with(e)))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|source| BuildError::Module {
            path: path.clone(),
            source,
        })?;
        scratch.write(&format!("src/{name}"), &text)?;
    }
    Ok(())
}

/// The module componentize-js is given: it exports the author's class.
fn entry_module(module: &str, kind: Kind) -> String {
    let (export, interface) = match kind {
        Kind::Filter => ("exportFilter", "filter"),
        Kind::Parser => ("exportParser", "parser"),
    };
    format!(
        "// Written by `logpipe plugin build-js`: exports the plugin class of `{module}.js`.\n\
         import Plugin from \"./{module}.js\";\n\
         import {{ {export} }} from \"./{SDK_FILE}\";\n\
         export const {interface} = {export}(Plugin);\n"
    )
}
