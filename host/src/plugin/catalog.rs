//! Finding plugins by name: a file `<plugins_dir>/<name>.wasm` overrides or adds
//! to the plugins embedded in the binary.

use super::embedded::embedded;
use super::{LoadError, LoadedPlugin, PluginEngine};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a plugin name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// A file in the plugin directory.
    File(PathBuf),
    /// Shipped in the binary.
    Embedded(&'static str),
}

/// Resolves `name` against `dir` then the embedded plugins.
pub fn locate(name: &str, dir: Option<&Path>) -> Option<PluginSource> {
    if let Some(dir) = dir {
        let file = dir.join(format!("{name}.wasm"));
        if file.is_file() {
            return Some(PluginSource::File(file));
        }
    }
    embedded(name).map(|p| PluginSource::Embedded(p.name))
}

/// Loads plugin `name`.
pub fn load(
    engine: &PluginEngine,
    name: &str,
    dir: Option<&Path>,
) -> anyhow::Result<Arc<LoadedPlugin>> {
    match locate(name, dir) {
        Some(PluginSource::File(path)) => Ok(super::LoadedPlugin::load_file(engine, &path)?),
        Some(PluginSource::Embedded(n)) => {
            let p = embedded(n).expect("located");
            Ok(super::LoadedPlugin::load_bytes(
                engine,
                p.bytes,
                &format!("embedded plugin `{n}`"),
            )?)
        }
        None => anyhow::bail!(
            "no plugin named `{name}`: not embedded (embedded: {}){}",
            super::embedded::EMBEDDED
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
            match dir {
                Some(d) => format!(" and no {}/{name}.wasm", d.display()),
                None => " and no plugin directory configured (--plugins)".into(),
            }
        ),
    }
}

/// Loads a plugin, keeping `LoadError` reachable for exit codes.
pub fn load_checked(
    engine: &PluginEngine,
    name: &str,
    dir: Option<&Path>,
) -> Result<Arc<LoadedPlugin>, anyhow::Error> {
    load(engine, name, dir).map_err(|e| match e.downcast::<LoadError>() {
        Ok(load) => anyhow::Error::new(load).context(format!("loading plugin `{name}`")),
        Err(other) => other,
    })
}
