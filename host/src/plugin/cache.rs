//! Compiled components, cached on disk by content hash.
//!
//! Compiling a component with Cranelift takes from tens of milliseconds to
//! seconds; a restart or a reload of an unchanged file should not pay it again.
//! The key covers the component's bytes and the engine's compatibility hash, so
//! a new wasmtime or different engine settings never load a stale artifact.
//!
//! An artifact is native code that is run as is, so the cache is trusted only
//! as far as nobody else can write it: the directory must belong to this user
//! and be writable by nobody else (it is created 0700, files 0600), and every
//! artifact carries a MAC keyed with a secret of this user's (`key`, 0600, in
//! the directory) that is checked before the artifact is loaded. Files are
//! opened without following links and written through exclusive temporary
//! files. A directory that fails these checks is not used: components are
//! compiled in memory, with a warning. The cache's total size is bounded; the
//! least recently used artifacts go first.

use super::compiler::{CompileError, CompileLimits, Compiler, compile};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Total size of the artifacts kept; past it the least recently used go.
pub const MAX_CACHE_BYTES: u64 = 1 << 30;

/// What starts every artifact file, before its MAC.
const MAGIC: &[u8; 8] = b"LPCACHE1";
const MAC_LEN: usize = 32;

/// Hex SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A directory of precompiled components.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
    /// The checked directory and its key, decided on first use.
    trusted: Arc<OnceLock<Option<Trusted>>>,
    compiler: Compiler,
    limits: CompileLimits,
}

#[derive(Debug)]
struct Trusted {
    dir: PathBuf,
    key: [u8; 32],
}

/// Why a cache directory or file is not trusted.
#[derive(Debug, thiserror::Error)]
pub enum Untrusted {
    /// Owned by another user.
    #[error("{path} belongs to uid {owner}, not to this user (uid {me})")]
    Owner {
        /// The path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        me: u32,
    },
    /// Writable (or, for the key, readable) by others.
    #[error(
        "{path} has mode {mode:o}: other users can change it (chmod 700 for a directory, 600 for a file)"
    )]
    Mode {
        /// The path.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a directory or a regular file (a link, a device…).
    #[error("{path} is not a plain {what}")]
    Kind {
        /// The path.
        path: PathBuf,
        /// What was expected.
        what: &'static str,
    },
    /// An I/O error.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Untrusted + '_ {
    move |source| Untrusted::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that `meta` (of `path`) belongs to this user and that no one else
/// can write it (`private_read`: nor read it).
fn owned_and_private(
    path: &Path,
    meta: &std::fs::Metadata,
    private_read: bool,
) -> Result<(), Untrusted> {
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(Untrusted::Owner {
            path: path.to_path_buf(),
            owner: meta.uid(),
            me,
        });
    }
    let forbidden = if private_read { 0o077 } else { 0o022 };
    if meta.mode() & forbidden != 0 {
        return Err(Untrusted::Mode {
            path: path.to_path_buf(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(())
}

/// Opens a file for reading without following a link.
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

impl Trusted {
    /// Checks (creating it 0700 if needed) the directory and reads or makes its key.
    fn open(dir: &Path) -> Result<Self, Untrusted> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
        let meta = std::fs::symlink_metadata(dir).map_err(io(dir))?;
        if !meta.is_dir() {
            return Err(Untrusted::Kind {
                path: dir.to_path_buf(),
                what: "directory",
            });
        }
        owned_and_private(dir, &meta, false)?;
        if meta.mode() & 0o077 != 0 {
            // Ours and safe, but readable by others: tighten it.
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let key = read_or_make_key(&dir.join("key"))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            key,
        })
    }

    fn mac(&self, name: &str, artifact: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        // The name binds the artifact to its component and engine.
        mac.update(name.as_bytes());
        mac.update(&[0]);
        mac.update(artifact);
        mac
    }

    /// The artifact stored under `name`, if present, ours, and intact.
    fn load(&self, name: &str) -> Result<Option<Vec<u8>>, Untrusted> {
        let path = self.dir.join(name);
        let mut file = match open_no_follow(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        let meta = file.metadata().map_err(io(&path))?;
        if !meta.is_file() {
            return Err(Untrusted::Kind { path, what: "file" });
        }
        owned_and_private(&path, &meta, false)?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes).map_err(io(&path))?;
        let header = MAGIC.len() + MAC_LEN;
        if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
            return Ok(None);
        }
        let tag = &bytes[MAGIC.len()..header];
        if self.mac(name, &bytes[header..]).verify_slice(tag).is_err() {
            tracing::warn!(path = %path.display(), "cached component fails its integrity check: ignored and compiled again");
            return Ok(None);
        }
        // Marks it recently used, for the size bound.
        let _ = file.set_modified(std::time::SystemTime::now());
        bytes.drain(..header);
        Ok(Some(bytes))
    }

    /// Stores `artifact` under `name` (exclusive temporary file, then rename).
    fn store(&self, name: &str, artifact: &[u8]) -> std::io::Result<()> {
        let tag = self.mac(name, artifact).finalize().into_bytes();
        // `tempfile` creates with O_EXCL and mode 0600: never an existing file
        // or a planted link.
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)?;
        tmp.write_all(MAGIC)?;
        tmp.write_all(&tag)?;
        tmp.write_all(artifact)?;
        tmp.as_file().sync_all()?;
        // A rename replaces a link at the target, it never writes through it.
        tmp.persist(self.dir.join(name)).map_err(|e| e.error)?;
        self.evict();
        Ok(())
    }

    /// Removes the least recently used artifacts past [`MAX_CACHE_BYTES`].
    fn evict(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((m.modified().ok()?, m.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        if total <= MAX_CACHE_BYTES {
            return;
        }
        files.sort();
        for (_, len, path) in files {
            if total <= MAX_CACHE_BYTES / 4 * 3 {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

/// Reads the cache's key, or creates it (exclusively, 0600, random).
fn read_or_make_key(path: &Path) -> Result<[u8; 32], Untrusted> {
    for _ in 0..2 {
        match open_no_follow(path) {
            Ok(mut file) => {
                let meta = file.metadata().map_err(io(path))?;
                if !meta.is_file() {
                    return Err(Untrusted::Kind {
                        path: path.to_path_buf(),
                        what: "file",
                    });
                }
                owned_and_private(path, &meta, true)?;
                let mut key = [0u8; 32];
                file.read_exact(&mut key).map_err(io(path))?;
                return Ok(key);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| io(path)(std::io::Error::other(e)))?;
                match OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                    .open(path)
                {
                    Ok(mut file) => {
                        file.write_all(&key)
                            .and_then(|()| file.sync_all())
                            .map_err(io(path))?;
                        return Ok(key);
                    }
                    // Another process made it first: read theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(io(path)(e)),
                }
            }
            Err(e) => return Err(io(path)(e)),
        }
    }
    Err(io(path)(std::io::Error::other(
        "the key file keeps changing",
    )))
}

impl ComponentCache {
    /// A cache in `dir`, or no cache at all with `None`; compiles with `compiler`.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            trusted: Arc::new(OnceLock::new()),
            compiler: Compiler::InProcess,
            limits: CompileLimits::default(),
        }
    }

    /// Compiles in `compiler` within `limits`.
    pub fn with_compiler(mut self, compiler: Compiler, limits: CompileLimits) -> Self {
        self.compiler = compiler;
        self.limits = limits;
        self
    }

    fn trusted(&self) -> Option<&Trusted> {
        self.trusted
            .get_or_init(|| {
                let dir = self.dir.as_ref()?;
                match Trusted::open(dir) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        tracing::warn!("not using the component cache: {e}; components are compiled in memory at every start");
                        None
                    }
                }
            })
            .as_ref()
    }

    fn name(engine: &Engine, digest: &str) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        format!("{digest}-{:016x}.cwasm", h.finish())
    }

    /// Compiles `bytes`, or loads the artifact compiled earlier for the same
    /// bytes; `origin` names the component in the log.
    pub fn compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &str,
        origin: &str,
    ) -> Result<Component, CompileError> {
        // A large component (CPython's is ~18 MB) takes seconds of CPU: say
        // what is being compiled and how long it took, so that a slow start or
        // reload is explained.
        let compile_logged = |engine: &Engine| {
            let started = std::time::Instant::now();
            tracing::info!(
                plugin = origin,
                size = %bytesize::ByteSize(bytes.len() as u64),
                "compiling plugin (not cached yet)"
            );
            let compiled = compile(engine, bytes, &self.compiler, &self.limits)?;
            tracing::info!(
                plugin = origin,
                seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
                "plugin compiled"
            );
            Ok::<_, CompileError>(compiled)
        };
        let Some(trusted) = self.trusted() else {
            return Ok(compile_logged(engine)?.component);
        };
        let name = Self::name(engine, digest);
        match trusted.load(&name) {
            Ok(Some(artifact)) => {
                // SAFETY: the artifact passed the MAC keyed with this user's
                // secret, so this user's logpipe wrote it, from
                // `Component::serialize` for an engine with the same
                // compatibility hash (part of its name, checked again here).
                match unsafe { Component::deserialize(engine, &artifact) } {
                    Ok(component) => return Ok(component),
                    Err(e) => {
                        tracing::warn!(name, error = %e, "ignoring unreadable cached component")
                    }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("ignoring a cached component: {e}"),
        }
        let compiled = compile_logged(engine)?;
        let component = compiled.component;
        match compiled.artifact.map_or_else(|| component.serialize(), Ok) {
            Ok(artifact) => {
                if let Err(e) = trusted.store(&name, &artifact) {
                    tracing::warn!(dir = %trusted.dir.display(), error = %e, "could not cache compiled component");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not serialise compiled component"),
        }
        Ok(component)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::new(&super::super::compiler::engine_config()).unwrap()
    }

    fn tiny() -> Vec<u8> {
        // The smallest component: a header.
        vec![0, b'a', b's', b'm', 0x0d, 0, 0x01, 0]
    }

    #[test]
    fn directory_and_files_are_private_and_artifacts_are_reused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("components");
        let cache = ComponentCache::new(Some(dir.clone()));
        let (engine, bytes) = (engine(), tiny());
        cache
            .compile(&engine, &bytes, &digest(&bytes), "test")
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("key")), 0o600);
        let name = ComponentCache::name(&engine, &digest(&bytes));
        assert_eq!(mode(&dir.join(&name)), 0o600);
        assert!(cache.trusted().unwrap().load(&name).unwrap().is_some());
    }

    #[test]
    fn a_forged_artifact_is_not_loaded() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("c");
        let cache = ComponentCache::new(Some(dir.clone()));
        let (engine, bytes) = (engine(), tiny());
        cache
            .compile(&engine, &bytes, &digest(&bytes), "test")
            .unwrap();
        let name = ComponentCache::name(&engine, &digest(&bytes));
        // An impostor's artifact under the same name, without the key: refused.
        let mut forged = MAGIC.to_vec();
        forged.extend([0u8; MAC_LEN]);
        forged.extend(
            Component::new(&engine, &bytes)
                .unwrap()
                .serialize()
                .unwrap(),
        );
        std::fs::write(dir.join(&name), &forged).unwrap();
        assert!(cache.trusted().unwrap().load(&name).unwrap().is_none());
        // Compiling again replaces it with a good one.
        cache
            .compile(&engine, &bytes, &digest(&bytes), "test")
            .unwrap();
        assert!(cache.trusted().unwrap().load(&name).unwrap().is_some());
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("shared");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = Trusted::open(&dir).unwrap_err();
        assert!(matches!(err, Untrusted::Mode { .. }), "{err}");
        // Components still compile, in memory.
        let cache = ComponentCache::new(Some(dir.clone()));
        let (engine, bytes) = (engine(), tiny());
        cache
            .compile(&engine, &bytes, &digest(&bytes), "test")
            .unwrap();
        assert!(!dir.join("key").exists());
    }

    #[test]
    fn links_are_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("c");
        let cache = ComponentCache::new(Some(dir.clone()));
        let (engine, bytes) = (engine(), tiny());
        let name = ComponentCache::name(&engine, &digest(&bytes));
        cache.trusted().unwrap();
        // A link planted where the artifact goes, to a file that must survive.
        let victim = root.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join(&name)).unwrap();
        assert!(
            cache.trusted().unwrap().load(&name).is_err(),
            "not read through"
        );
        cache
            .compile(&engine, &bytes, &digest(&bytes), "test")
            .unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(
            !std::fs::symlink_metadata(dir.join(&name))
                .unwrap()
                .is_symlink()
        );
    }
}
