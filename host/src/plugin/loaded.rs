//! A plugin compiled, checked against the contract and ready to instantiate.

use super::bindings::{v0_1, v0_2};
use super::cache::digest;
use super::component::{Bound, Prepared};
use super::contract::{self, Kind, Version};
use super::engine::PluginEngine;
use super::error::LoadError;
use super::state::PluginState;
use std::path::Path;
use std::sync::Arc;

/// What a plugin says about itself, plus what the host learned loading it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginInfo {
    /// The plugin's name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// Parser or filter.
    pub kind: Kind,
    /// Fields it reads besides the message.
    pub needs: Vec<String>,
    /// Its output channels (parsers).
    pub channels: Vec<String>,
    /// Contract version it was built against.
    pub contract: String,
    /// SHA-256 of the component.
    pub sha256: String,
    /// Where it was loaded from.
    pub origin: String,
}

/// A compiled plugin: type-checked once, instantiated many times.
pub struct LoadedPlugin {
    info: PluginInfo,
    pre: Box<dyn Prepared>,
    engine: PluginEngine,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("info", &self.info)
            .finish()
    }
}

impl LoadedPlugin {
    /// Loads a plugin file into `engine`.
    pub fn load_file(engine: &PluginEngine, path: &Path) -> Result<Arc<LoadedPlugin>, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::load_bytes(engine, &bytes, &path.display().to_string())
    }

    /// Loads a plugin from its bytes into `engine`; `origin` names it in
    /// messages.
    pub fn load_bytes(
        engine: &PluginEngine,
        bytes: &[u8],
        origin: &str,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        contract::check_header(bytes, origin)?;
        let sha256 = digest(bytes);
        let component = engine
            .compile(bytes, &sha256, origin)
            .map_err(|e| LoadError::Compile {
                origin: origin.into(),
                message: format!("{e:#}"),
            })?;
        let (kind, version) = contract::kind_of(&component, engine.wasmtime(), origin)?;
        let link = |e: wasmtime::Error| LoadError::Link {
            origin: origin.into(),
            message: format!("{e:#}"),
        };
        let instance_pre = engine.instantiate_pre(&component).map_err(link)?;
        // The only place that tells contract versions and kinds apart.
        let pre: Box<dyn Prepared> = match (version, kind) {
            (Version::V0_2, Kind::Parser) => {
                Box::new(v0_2::parser::ParserPluginPre::new(instance_pre).map_err(link)?)
            }
            (Version::V0_2, Kind::Filter) => {
                Box::new(v0_2::filter::FilterPluginPre::new(instance_pre).map_err(link)?)
            }
            (Version::V0_1, Kind::Parser) => {
                Box::new(v0_1::parser::ParserPluginPre::new(instance_pre).map_err(link)?)
            }
            (Version::V0_1, Kind::Filter) => {
                Box::new(v0_1::filter::FilterPluginPre::new(instance_pre).map_err(link)?)
            }
        };
        let placeholder = PluginInfo {
            name: String::new(),
            version: String::new(),
            kind,
            needs: Vec::new(),
            channels: Vec::new(),
            contract: version.as_str().into(),
            sha256,
            origin: origin.into(),
        };
        let mut plugin = LoadedPlugin {
            info: placeholder,
            pre,
            engine: engine.clone(),
        };
        let described = plugin.describe().map_err(|e| LoadError::Info {
            origin: origin.into(),
            message: format!("{e:#}"),
        })?;
        validate_info(&described, origin)?;
        plugin.info = PluginInfo {
            name: described.name,
            version: described.version,
            needs: described.needs,
            channels: described.channels,
            ..plugin.info
        };
        Ok(Arc::new(plugin))
    }

    /// What the plugin is.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// The engine it was compiled for (its stores and limits).
    pub(crate) fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    /// Instantiates the component in `store`.
    pub(crate) fn bind(
        &self,
        store: &mut wasmtime::Store<PluginState>,
    ) -> wasmtime::Result<Box<dyn Bound>> {
        self.pre.bind(store)
    }

    /// Reads the plugin's self-description on a throwaway instance.
    fn describe(&self) -> wasmtime::Result<PluginInfo> {
        let mut store = self.engine.new_store();
        let described = self.bind(&mut store)?.describe(&mut store)?;
        Ok(PluginInfo {
            name: described.name,
            version: described.version,
            needs: described.needs,
            channels: described.channels,
            ..self.info.clone()
        })
    }
}

fn validate_info(info: &PluginInfo, origin: &str) -> Result<(), LoadError> {
    let bad = |message: String| LoadError::BadInfo {
        origin: origin.into(),
        message,
    };
    let name_ok = !info.name.is_empty()
        && info.name.len() <= 64
        && info
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        return Err(bad(format!(
            "name {:?} is not [a-z0-9-]{{1,64}}",
            info.name
        )));
    }
    if info.version.is_empty() || info.version.len() > 64 {
        return Err(bad(format!(
            "version {:?} is empty or too long",
            info.version
        )));
    }
    if info.kind == Kind::Parser && info.channels.is_empty() {
        return Err(bad("a parser must declare at least one channel".into()));
    }
    if info.needs.len() > 16 || info.channels.len() > 16 {
        return Err(bad("at most 16 needed fields and 16 channels".into()));
    }
    Ok(())
}
