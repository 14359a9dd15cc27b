//! `logpipe plugin build-py`: a Python plugin folder into a component, with
//! componentize-py.
//!
//! The author writes `plugin.py` against the Python SDK (`guests/python`); the
//! SDK and the contract's WIT are built into logpipe, so that building needs
//! only componentize-py. The entry module written here binds the author's one
//! `Filter` or `Parser` class to the bindings componentize-py generates.

use super::Kind;
use super::toolchain::with_producers;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The contract the SDK is written against.
const WIT: [(&str, &str); 4] = [
    (
        "package.wit",
        include_str!("../../../wit/since_v0.2.0/package.wit"),
    ),
    (
        "types.wit",
        include_str!("../../../wit/since_v0.2.0/types.wit"),
    ),
    (
        "filter.wit",
        include_str!("../../../wit/since_v0.2.0/filter.wit"),
    ),
    (
        "parser.wit",
        include_str!("../../../wit/since_v0.2.0/parser.wit"),
    ),
];

/// The Python SDK's files.
const SDK: [(&str, &str); 3] = [
    (
        "__init__.py",
        include_str!("../../../guests/python/logpipe_plugin/__init__.py"),
    ),
    (
        "_api.py",
        include_str!("../../../guests/python/logpipe_plugin/_api.py"),
    ),
    (
        "_adapter.py",
        include_str!("../../../guests/python/logpipe_plugin/_adapter.py"),
    ),
];

/// Name of the generated entry module (not one an author would pick).
const ENTRY: &str = "logpipe_plugin_entry";

/// What to build.
#[derive(Debug, Clone)]
pub struct PythonBuild {
    /// The plugin's folder (its modules are importable from it).
    pub dir: PathBuf,
    /// The module defining the plugin class, without `.py`.
    pub module: String,
    /// Filter or parser; read from the module when `None`.
    pub kind: Option<Kind>,
    /// The component file to write.
    pub output: PathBuf,
    /// The componentize-py program.
    pub componentize_py: PathBuf,
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
    /// componentize-py's version.
    pub componentize_py: String,
}

/// Why a Python plugin could not be built.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // the messages say it
pub enum PythonBuildError {
    #[error(
        "cannot read {path}: {source} (a Python plugin is a folder with a module defining one logpipe_plugin.Filter or Parser subclass)"
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
    #[error(
        "cannot run {program}: {source} (install it in the Python you build with: pip install 'componentize-py==0.25.*', or pass --componentize-py PATH)"
    )]
    Toolchain {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("componentize-py failed ({status}):\n{output}")]
    Failed { status: String, output: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot record the toolchain in the component: {0:#}")]
    Producers(anyhow::Error),
}

impl PythonBuild {
    /// Builds the component and writes it to `output`.
    pub fn run(&self) -> Result<Built, PythonBuildError> {
        let start = Instant::now();
        let source_path = self.dir.join(format!("{}.py", self.module));
        let source =
            std::fs::read_to_string(&source_path).map_err(|source| PythonBuildError::Module {
                path: source_path.clone(),
                source,
            })?;
        let kind = match self.kind {
            Some(kind) => kind,
            None => kind_of(&source).map_err(|problem| PythonBuildError::Kind {
                path: source_path.clone(),
                problem,
            })?,
        };
        let version = self.toolchain_version()?;
        let scratch = tempfile::tempdir().map_err(|source| self.write_error(source))?;
        let write = |path: PathBuf, text: &str| -> Result<(), PythonBuildError> {
            std::fs::create_dir_all(path.parent().expect("a file in the scratch folder"))
                .and_then(|()| std::fs::write(&path, text))
                .map_err(|source| PythonBuildError::Write { path, source })
        };
        for (name, text) in WIT {
            write(scratch.path().join("wit").join(name), text)?;
        }
        for (name, text) in SDK {
            write(scratch.path().join("sdk/logpipe_plugin").join(name), text)?;
        }
        write(
            scratch.path().join("entry").join(format!("{ENTRY}.py")),
            &entry_module(&self.module, kind),
        )?;
        let wasm = scratch.path().join("plugin.wasm");
        let world = match kind {
            Kind::Filter => "filter-plugin",
            Kind::Parser => "parser-plugin",
        };
        let out = Command::new(&self.componentize_py)
            .arg("-d")
            .arg(scratch.path().join("wit"))
            .args(["-w", world, "componentize", "-p"])
            .arg(&self.dir)
            .arg("-p")
            .arg(scratch.path().join("sdk"))
            .arg("-p")
            .arg(scratch.path().join("entry"))
            .arg(ENTRY)
            .arg("-o")
            .arg(&wasm)
            .output()
            .map_err(|source| self.toolchain_error(source))?;
        if !out.status.success() {
            return Err(PythonBuildError::Failed {
                status: out.status.to_string(),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
                .trim_end()
                .to_string(),
            });
        }
        let component = std::fs::read(&wasm).map_err(|source| self.write_error(source))?;
        let component = with_producers(
            &component,
            "Python",
            &[
                ("componentize-py", &version),
                ("logpipe-plugin-sdk-python", env!("CARGO_PKG_VERSION")),
            ],
        )
        .map_err(PythonBuildError::Producers)?;
        crate::fsutil::write_atomic(&self.output, &component)
            .map_err(|source| self.write_error(source))?;
        Ok(Built {
            kind,
            bytes: component.len() as u64,
            elapsed: start.elapsed(),
            componentize_py: version,
        })
    }

    /// `componentize-py --version`'s number.
    fn toolchain_version(&self) -> Result<String, PythonBuildError> {
        let out = Command::new(&self.componentize_py)
            .arg("--version")
            .output()
            .map_err(|source| self.toolchain_error(source))?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text
            .split_whitespace()
            .last()
            .unwrap_or("unknown")
            .to_string())
    }

    fn toolchain_error(&self, source: std::io::Error) -> PythonBuildError {
        PythonBuildError::Toolchain {
            program: self.componentize_py.clone(),
            source,
        }
    }

    fn write_error(&self, source: std::io::Error) -> PythonBuildError {
        PythonBuildError::Write {
            path: self.output.clone(),
            source,
        }
    }
}

/// Whether `source` defines a filter or a parser: the base class named in its
/// `class` statements (`class X(Parser)`, `class X(logpipe_plugin.Filter)`).
fn kind_of(source: &str) -> Result<Kind, &'static str> {
    let mut kinds = source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("class "))
        .filter_map(|rest| {
            let bases = &rest[rest.find('(')? + 1..rest.find(')')?];
            bases.split(',').find_map(|base| {
                match base.trim().rsplit('.').next().unwrap_or_default() {
                    "Filter" => Some(Kind::Filter),
                    "Parser" => Some(Kind::Parser),
                    _ => None,
                }
            })
        });
    match (kinds.next(), kinds.next()) {
        (Some(kind), None) => Ok(kind),
        (None, _) => Err("no class deriving from Filter or Parser found"),
        (Some(_), Some(_)) => Err("several plugin classes found"),
    }
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
        assert!(kind_of("class Helper(object):\n").is_err());
        assert!(kind_of("class A(Filter):\nclass B(Parser):\n").is_err());
    }
}
