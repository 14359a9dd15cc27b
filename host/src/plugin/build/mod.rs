//! `logpipe plugin build-py` and `build-js`: a plugin folder written against
//! the Python or JavaScript SDK into a component.
//!
//! The SDKs (`guests/python`, `guests/js`) and the contract's WIT are built
//! into logpipe, so that building needs only the language's componentizer
//! (componentize-py, componentize-js). The entry module written here binds
//! the author's one `Filter` or `Parser` class to the bindings the
//! componentizer generates; the language and tools are then recorded in the
//! component's producers section, which `plugin check` reports.

pub mod javascript;
pub mod python;

use super::Kind;
use super::toolchain::with_producers;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The contract the SDKs are written against.
const WIT: [(&str, &str); 4] = [
    (
        "package.wit",
        include_str!("../../../../wit/since_v0.2.0/package.wit"),
    ),
    (
        "types.wit",
        include_str!("../../../../wit/since_v0.2.0/types.wit"),
    ),
    (
        "filter.wit",
        include_str!("../../../../wit/since_v0.2.0/filter.wit"),
    ),
    (
        "parser.wit",
        include_str!("../../../../wit/since_v0.2.0/parser.wit"),
    ),
];

/// What to build.
#[derive(Debug, Clone)]
pub struct GuestBuild {
    /// The plugin's folder.
    pub dir: PathBuf,
    /// The module defining the plugin class (`plugin` for `plugin.py`,
    /// `plugin.js`).
    pub module: String,
    /// Filter or parser; read from the class's base when `None`.
    pub kind: Option<Kind>,
    /// The component file to write.
    pub output: PathBuf,
    /// The componentizer program.
    pub program: PathBuf,
}

/// What was built.
#[derive(Debug, Clone)]
pub struct Built {
    /// Filter or parser.
    pub kind: Kind,
    /// Size of the component written.
    pub bytes: u64,
    /// Time the build took.
    pub elapsed: Duration,
    /// The componentizer and its version (`componentize-py 0.25.1`).
    pub tool: String,
}

/// Why a plugin could not be built.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // the messages say it
pub enum BuildError {
    #[error(
        "cannot read {path}: {source} (a plugin folder holds a module defining one Filter or Parser subclass of the SDK)"
    )]
    Module {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {problem}; say which with --kind filter|parser")]
    Kind {
        path: PathBuf,
        problem: &'static str,
    },
    #[error("cannot run {program}: {source} ({hint}, or pass its path)")]
    Toolchain {
        program: PathBuf,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("{program} failed ({status}):\n{output}")]
    Failed {
        program: String,
        status: String,
        output: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot record the toolchain in the component: {0:#}")]
    Producers(anyhow::Error),
}

impl GuestBuild {
    /// The plugin module's source and the plugin's kind.
    fn source(&self, extension: &str) -> Result<(String, Kind), BuildError> {
        let path = self.dir.join(format!("{}.{extension}", self.module));
        let source = std::fs::read_to_string(&path).map_err(|source| BuildError::Module {
            path: path.clone(),
            source,
        })?;
        let kind = match self.kind {
            Some(kind) => kind,
            None => kind_of(&source).map_err(|problem| BuildError::Kind { path, problem })?,
        };
        Ok((source, kind))
    }

    /// The program's version line, as `name version`.
    fn tool_version(&self, hint: &'static str) -> Result<String, BuildError> {
        let out = Command::new(&self.program)
            .arg("--version")
            .output()
            .map_err(|source| self.toolchain_error(source, hint))?;
        let name = self
            .program
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text.split_whitespace().last().unwrap_or("unknown");
        Ok(format!("{name} {version}"))
    }

    /// Runs the componentizer; its output is the error when it fails.
    fn run(&self, command: &mut Command, hint: &'static str) -> Result<(), BuildError> {
        let out = command
            .output()
            .map_err(|source| self.toolchain_error(source, hint))?;
        if out.status.success() {
            return Ok(());
        }
        Err(BuildError::Failed {
            program: self.program.display().to_string(),
            status: out.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .trim_end()
            .to_string(),
        })
    }

    /// Reads the component the componentizer wrote at `wasm`, records the
    /// language and tools in it and writes it to the output.
    fn finish(
        &self,
        wasm: &Path,
        language: &str,
        tools: &[(&str, &str)],
        built: (Kind, std::time::Instant, String),
    ) -> Result<Built, BuildError> {
        let component = std::fs::read(wasm).map_err(|source| BuildError::Write {
            path: wasm.to_path_buf(),
            source,
        })?;
        let component =
            with_producers(&component, language, tools).map_err(BuildError::Producers)?;
        crate::fsutil::write_atomic(&self.output, &component).map_err(|source| {
            BuildError::Write {
                path: self.output.clone(),
                source,
            }
        })?;
        let (kind, start, tool) = built;
        Ok(Built {
            kind,
            bytes: component.len() as u64,
            elapsed: start.elapsed(),
            tool,
        })
    }

    fn toolchain_error(&self, source: std::io::Error, hint: &'static str) -> BuildError {
        BuildError::Toolchain {
            program: self.program.clone(),
            source,
            hint,
        }
    }
}

/// A scratch folder for one build, holding the contract's WIT.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Result<Self, BuildError> {
        let dir = tempfile::tempdir().map_err(|source| BuildError::Write {
            path: std::env::temp_dir(),
            source,
        })?;
        let scratch = Scratch(dir);
        for (name, text) in WIT {
            scratch.write(&format!("wit/{name}"), text)?;
        }
        Ok(scratch)
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.0.path().join(relative)
    }

    fn write(&self, relative: &str, text: &str) -> Result<PathBuf, BuildError> {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("a file in the scratch folder"))
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|source| BuildError::Write {
                path: path.clone(),
                source,
            })?;
        Ok(path)
    }
}

/// The componentizer's world for `kind`.
fn world(kind: Kind) -> &'static str {
    match kind {
        Kind::Filter => "filter-plugin",
        Kind::Parser => "parser-plugin",
    }
}

/// Whether `source` defines a filter or a parser: the base class named in its
/// class statements (`class X(Parser):`, `class X(logpipe_plugin.Filter):`,
/// `class X extends Parser {`).
fn kind_of(source: &str) -> Result<Kind, &'static str> {
    let base_kind = |base: &str| match base.trim().rsplit('.').next().unwrap_or_default() {
        "Filter" => Some(Kind::Filter),
        "Parser" => Some(Kind::Parser),
        _ => None,
    };
    let mut kinds = source.lines().filter_map(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let line = line.strip_prefix("default ").unwrap_or(line);
        let rest = line.strip_prefix("class ")?;
        if let Some((_, base)) = rest.split_once(" extends ") {
            return base_kind(base.split(['{', ' ']).next()?);
        }
        let bases = &rest[rest.find('(')? + 1..rest.find(')')?];
        bases.split(',').find_map(base_kind)
    });
    match (kinds.next(), kinds.next()) {
        (Some(kind), None) => Ok(kind),
        (None, _) => Err("no class deriving from Filter or Parser found"),
        (Some(_), Some(_)) => Err("several plugin classes found"),
    }
}

/// The default output file for `dir`: `<dir name>.wasm` beside it.
pub fn default_output(dir: &Path) -> PathBuf {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into());
    dir.with_file_name(format!("{name}.wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_is_read_from_the_base_class() {
        assert_eq!(kind_of("class Perf(Parser):\n"), Ok(Kind::Parser));
        assert_eq!(
            kind_of("import x\nclass F(logpipe_plugin.Filter, Mixin):\n"),
            Ok(Kind::Filter)
        );
        assert_eq!(
            kind_of("export default class Perf extends Parser {\n"),
            Ok(Kind::Parser)
        );
        assert_eq!(kind_of("class F extends sdk.Filter{\n"), Ok(Kind::Filter));
        assert!(kind_of("class Helper(object):\n").is_err());
        assert!(kind_of("class A(Filter):\nclass B(Parser):\n").is_err());
    }
}
