//! What built a component, as its `producers` custom sections say.
//!
//! Toolchains record themselves there (the tool-conventions `producers`
//! section): rustc writes `language: Rust` into the core module it emits,
//! `logpipe plugin build-py` writes `language: Python` and componentize-py's
//! version at the top of the component. Nothing here is trusted for anything
//! but a report to the plugin's author.

use wasm_metadata::Producers;
use wasmparser::{KnownCustom, Parser, Payload};

/// The language and tools a component names.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Toolchain {
    /// Source languages, with their versions when given (`Python`, `Rust`).
    pub languages: Vec<String>,
    /// The tools that produced it, `name version` (`rustc 1.95.0`,
    /// `componentize-py 0.25.1`).
    pub tools: Vec<String>,
}

impl Toolchain {
    /// What `bytes` (a component or a module) says about how it was built:
    /// the outer component's own section when it names a language, else every
    /// language and compiler its core modules name. `None` when it says nothing.
    pub fn of(bytes: &[u8]) -> Option<Toolchain> {
        let mut outer = Toolchain::default();
        let mut inner = Toolchain::default();
        let mut depth = 0usize;
        for payload in Parser::new(0).parse_all(bytes) {
            // A section we cannot read says nothing; loading reports real faults.
            let Ok(payload) = payload else { break };
            match payload {
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) => depth = depth.saturating_sub(1),
                Payload::CustomSection(c) => {
                    if let KnownCustom::Producers(_) = c.as_known()
                        && let Ok(producers) = Producers::from_bytes(c.data(), c.data_offset())
                    {
                        let into = if depth == 0 { &mut outer } else { &mut inner };
                        into.add(&producers);
                    }
                }
                _ => {}
            }
        }
        let mut chosen = if outer.languages.is_empty() {
            inner
        } else {
            outer
        };
        // The tools every component passes through say nothing of its source.
        chosen.tools.retain(|t| {
            !t.starts_with("wit-component ") && !t.starts_with("component-init-transform ")
        });
        (!chosen.languages.is_empty() || !chosen.tools.is_empty()).then_some(chosen)
    }

    fn add(&mut self, producers: &Producers) {
        for (field, values) in producers.iter() {
            let into = match field.as_str() {
                "language" => &mut self.languages,
                "processed-by" | "sdk" => &mut self.tools,
                _ => continue,
            };
            for (name, version) in values.iter() {
                let entry = format!("{name} {version}").trim().to_string();
                if !into.contains(&entry) {
                    into.push(entry);
                }
            }
        }
    }
}

impl std::fmt::Display for Toolchain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.languages.is_empty(), self.tools.is_empty()) {
            (false, false) => write!(
                f,
                "{} ({})",
                self.languages.join(", "),
                self.tools.join(", ")
            ),
            (false, true) => f.write_str(&self.languages.join(", ")),
            _ => write!(f, "built by {}", self.tools.join(", ")),
        }
    }
}

/// `component` with its source `language` and the tools that built it recorded
/// in its top-level producers section.
pub fn with_producers(
    component: &[u8],
    language: &str,
    tools: &[(&str, &str)],
) -> anyhow::Result<Vec<u8>> {
    let mut producers = Producers::empty();
    producers.add("language", language, "");
    for (name, version) in tools {
        producers.add("processed-by", name, version);
    }
    producers.add_to_wasm(component)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outer_language_wins_and_nested_compilers_are_read() {
        let module = wasm_encoder::Module::new().finish();
        let rust = with_producers(&module, "Rust", &[("rustc", "1.95.0")]).unwrap();
        assert_eq!(
            Toolchain::of(&rust).unwrap().to_string(),
            "Rust (rustc 1.95.0)"
        );
        let python = with_producers(&rust, "Python", &[("componentize-py", "0.25.1")]).unwrap();
        let toolchain = Toolchain::of(&python).unwrap();
        assert_eq!(toolchain.languages, ["Rust", "Python"]);
        assert_eq!(Toolchain::of(&module), None);
    }
}
