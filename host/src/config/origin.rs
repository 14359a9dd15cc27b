//! Where each effective setting came from (a flag, the environment, the
//! file, a default), for `config show` and for errors that name their place.

use crate::redact::mask_url_password;
use std::path::PathBuf;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// The configuration file.
    File(PathBuf),
    /// The built-in default.
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag(n) => write!(f, "flag {n}"),
            Origin::Env(n) => write!(f, "environment {n}"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// One effective setting, for `config show`.
#[derive(Debug, Clone)]
pub struct ConfigEntry {
    /// The key, as in the configuration file.
    pub key: String,
    /// The value, secrets masked.
    pub value: String,
    /// Where it came from.
    pub origin: Origin,
}

/// A list shown comma-separated.
#[derive(Debug, Clone)]
pub struct Listed(pub Vec<String>);

/// How a setting's value is shown by `config show`.
pub trait Show {
    /// The value as `config show` prints it.
    fn show(&self) -> String;
}

impl Show for Listed {
    fn show(&self) -> String {
        self.0.join(", ")
    }
}

impl Show for PathBuf {
    fn show(&self) -> String {
        self.display().to_string()
    }
}

macro_rules! show_display {
    ($($t:ty),*) => {$(impl Show for $t { fn show(&self) -> String { self.to_string() } })*};
}
show_display!(String, usize, u64, f64);

/// The entries picked so far.
#[derive(Default)]
pub struct Origins {
    /// Every effective setting, in the order picked.
    pub entries: Vec<ConfigEntry>,
}

impl Origins {
    /// The first value present, highest precedence first, remembering where it came from.
    pub fn pick<T: Show, const N: usize>(
        &mut self,
        key: &str,
        layers: [(Option<T>, Origin); N],
    ) -> Option<T> {
        for (value, origin) in layers {
            if let Some(v) = value {
                self.entries.push(ConfigEntry {
                    key: key.into(),
                    value: mask_url_password(&v.show()),
                    origin,
                });
                return Some(v);
            }
        }
        None
    }

    /// [`Origins::pick`] with a default, recorded as such when no layer has
    /// a value.
    pub fn pick_or<T: Show, const N: usize>(
        &mut self,
        key: &str,
        layers: [(Option<T>, Origin); N],
        default: impl FnOnce() -> T,
    ) -> T {
        match self.pick(key, layers) {
            Some(v) => v,
            None => {
                let v = default();
                self.entries.push(ConfigEntry {
                    key: key.into(),
                    value: mask_url_password(&v.show()),
                    origin: Origin::Default,
                });
                v
            }
        }
    }

    /// Where the setting `key` came from (the default if not picked).
    pub fn origin_of(&self, key: &str) -> Origin {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map_or(Origin::Default, |e| e.origin.clone())
    }

    /// Records a secret as set, its value masked.
    pub fn secret(&mut self, key: &str, origin: Origin) {
        self.entries.push(ConfigEntry {
            key: key.into(),
            value: "******".into(),
            origin,
        });
    }
}
