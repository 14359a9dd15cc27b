//! Checking a component against the contract before anything runs.

use super::error::LoadError;
use wasmtime::Engine;
use wasmtime::component::Component;

/// The export of a parser plugin, at the contract version the SDK builds
/// against (`logpipe_plugin_sdk::CONTRACT_VERSION`; a test keeps them equal).
pub const PARSER_EXPORT: &str = "logpipe:plugin/parser@0.2.0";
/// The export of a filter plugin.
pub const FILTER_EXPORT: &str = "logpipe:plugin/filter@0.2.0";

/// The contract versions this host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// 0.1.0: one record per event, one result per event.
    V0_1,
    /// 0.2.0: packed batches (current).
    V0_2,
}

impl Version {
    /// Every version the host runs, newest first.
    pub const ALL: [Version; 2] = [Version::V0_2, Version::V0_1];

    /// The version's number.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V0_1 => "0.1.0",
            Version::V0_2 => "0.2.0",
        }
    }
}

/// The two kinds of plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Exports `logpipe:plugin/parser`.
    Parser,
    /// Exports `logpipe:plugin/filter`.
    Filter,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Parser => "parser",
            Kind::Filter => "filter",
        })
    }
}

/// What the header of a file says it is.
pub fn check_header(bytes: &[u8], origin: &str) -> Result<(), LoadError> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', 0x0d, 0, 0x01, 0]) => Ok(()),
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Err(LoadError::CoreModule {
            origin: origin.into(),
        }),
        // Text format and anything else is not something we compile.
        _ => Err(LoadError::NotWasm {
            origin: origin.into(),
        }),
    }
}

/// The kind of plugin a compiled component is and the contract version it was
/// built against, from its export names.
pub fn kind_of(
    component: &Component,
    engine: &Engine,
    origin: &str,
) -> Result<(Kind, Version), LoadError> {
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    kind_from_exports(&exports, origin)
}

/// Decides the kind and contract version from export names (split out to be
/// testable without a component).
pub fn kind_from_exports(exports: &[String], origin: &str) -> Result<(Kind, Version), LoadError> {
    for version in Version::ALL {
        for kind in [Kind::Parser, Kind::Filter] {
            let name = format!("logpipe:plugin/{kind}@{}", version.as_str());
            if exports.contains(&name) {
                return Ok((kind, version));
            }
        }
    }
    let other_version = exports.iter().find_map(|e| {
        let rest = e
            .strip_prefix("logpipe:plugin/parser@")
            .or_else(|| e.strip_prefix("logpipe:plugin/filter@"))?;
        Some(rest.to_string())
    });
    if let Some(found) = other_version {
        return Err(LoadError::WrongVersion {
            origin: origin.into(),
            found,
            supported: Version::ALL.map(Version::as_str).join(" and "),
        });
    }
    Err(LoadError::WrongWorld {
        origin: origin.into(),
        expected_parser: PARSER_EXPORT.into(),
        expected_filter: FILTER_EXPORT.into(),
        found: if exports.is_empty() {
            "none".into()
        } else {
            exports.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_version_is_the_sdks() {
        let sdk = logpipe_plugin_sdk::CONTRACT_VERSION;
        assert_eq!(Version::ALL[0].as_str(), sdk);
        assert!(PARSER_EXPORT.ends_with(&format!("@{sdk}")));
        assert!(FILTER_EXPORT.ends_with(&format!("@{sdk}")));
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn kinds_versions_and_wrong_worlds() {
        assert_eq!(
            kind_from_exports(&names(&[PARSER_EXPORT]), "p").unwrap(),
            (Kind::Parser, Version::V0_2)
        );
        assert_eq!(
            kind_from_exports(&names(&[FILTER_EXPORT]), "f").unwrap(),
            (Kind::Filter, Version::V0_2)
        );
        assert_eq!(
            kind_from_exports(&names(&["logpipe:plugin/filter@0.1.0"]), "old").unwrap(),
            (Kind::Filter, Version::V0_1)
        );
        let err = kind_from_exports(&names(&["logpipe:plugin/parser@0.3.0"]), "new.wasm")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("0.3.0") && err.contains("0.2.0 and 0.1.0"),
            "{err}"
        );
        let err = kind_from_exports(&names(&["wasi:cli/run@0.2.6"]), "cmd.wasm")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("wasi:cli/run@0.2.6") && err.contains(PARSER_EXPORT),
            "{err}"
        );
    }

    #[test]
    fn headers() {
        assert!(check_header(b"\0asm\x0d\0\x01\0rest", "c").is_ok());
        let core = check_header(b"\0asm\x01\0\0\0", "m.wasm")
            .unwrap_err()
            .to_string();
        assert!(core.contains("core WebAssembly module"), "{core}");
        let text = check_header(b"(component)", "t.wat")
            .unwrap_err()
            .to_string();
        assert!(text.contains("not a WebAssembly file"), "{text}");
    }
}
