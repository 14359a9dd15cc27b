//! Compiled components, cached on disk by content hash.
//!
//! Compiling a component with Cranelift takes from tens of milliseconds to
//! seconds; a restart or a reload of an unchanged file should not pay it again.
//! The key covers the component's bytes and the engine's compatibility hash, so
//! a new wasmtime or different engine settings never load a stale artifact.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Hex SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A directory of precompiled components.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
}

impl ComponentCache {
    /// A cache in `dir`, or no cache at all with `None`.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    fn path(&self, engine: &Engine, digest: &str) -> Option<PathBuf> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let engine_key = h.finish();
        Some(
            self.dir
                .as_ref()?
                .join(format!("{digest}-{engine_key:016x}.cwasm")),
        )
    }

    /// Compiles `bytes`, or loads the artifact compiled earlier for the same bytes.
    pub fn compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &str,
    ) -> wasmtime::Result<Component> {
        let Some(path) = self.path(engine, digest) else {
            return Component::new(engine, bytes);
        };
        if path.exists() {
            // SAFETY: the file was written by `store` below from `Component::serialize`
            // for an engine with the same compatibility hash (part of the name), in a
            // cache directory owned by this program.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable cached component")
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(e) = store(&path, &component) {
            tracing::warn!(path = %path.display(), error = %e, "could not cache compiled component");
        }
        Ok(component)
    }
}

fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    let bytes = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::fsutil::write_atomic(path, &bytes)?;
    Ok(())
}
