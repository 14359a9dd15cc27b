//! Where lines come from and where documents go, as typed values: each
//! `scheme:address` text (a flag, an environment variable, the file) is parsed
//! once here, and commands match on the variants instead of on prefixes.

use percent_encoding::percent_decode_str;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use url::Url;

/// Why a source or sink text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// No `scheme:` part.
    #[error("`{0}`: expected scheme:address ({1})")]
    NoScheme(String, &'static str),
    /// A scheme this position does not take.
    #[error("unknown {what} scheme `{scheme}` (known: {known})")]
    UnknownScheme {
        /// `source`, `sink`, `store` or `drift side`.
        what: &'static str,
        /// The scheme given.
        scheme: String,
        /// The schemes accepted here.
        known: &'static str,
    },
    /// Nothing after the scheme.
    #[error("`{0}`: nothing after the scheme")]
    Empty(String),
    /// An Elasticsearch address that is not a list of http(s) URLs.
    #[error("`{part}` is not an http:// or https:// URL{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    NotHttp {
        /// The URL as given (credentials masked).
        part: String,
        /// The URL parser's reason, if it failed.
        reason: Option<String>,
    },
}

/// Where lines come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A Gradio app's logs endpoint: `gradio:URL` (the app's base URL).
    Gradio(String),
    /// A REST endpoint serving the window as JSON: `rest:URL`.
    Rest(String),
    /// A file of lines: `file:PATH` (`file:-` is standard input).
    File(PathBuf),
}

const SOURCE_SCHEMES: &str = "gradio:URL, rest:URL or file:PATH";

impl FromStr for SourceSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let (scheme, address) = split(text, SOURCE_SCHEMES)?;
        match scheme {
            "gradio" => Ok(SourceSpec::Gradio(address.to_string())),
            "rest" => Ok(SourceSpec::Rest(address.to_string())),
            "file" => Ok(SourceSpec::File(PathBuf::from(address))),
            other => Err(SpecError::UnknownScheme {
                what: "source",
                scheme: other.to_string(),
                known: "gradio, rest, file",
            }),
        }
    }
}

impl fmt::Display for SourceSpec {
    /// The text it was parsed from: checkpoints are named after it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Gradio(url) => write!(f, "gradio:{url}"),
            SourceSpec::Rest(url) => write!(f, "rest:{url}"),
            SourceSpec::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

/// Where documents go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// Elasticsearch: `es:URL[,URL…]`.
    Es(EsAddress),
    /// The embedded store: `sqlite:PATH`.
    Sqlite(PathBuf),
    /// NDJSON files in a directory: `dir:PATH`.
    Dir(PathBuf),
    /// Encodes, then discards (benchmarks, dry runs): `null:`.
    Null,
}

const SINK_SCHEMES: &str = "es:URL, sqlite:PATH, dir:PATH or null:";

impl FromStr for SinkSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let (scheme, address) = text
            .split_once(':')
            .ok_or_else(|| SpecError::NoScheme(mask(text), SINK_SCHEMES))?;
        let path = || {
            if address.is_empty() {
                Err(SpecError::Empty(text.to_string()))
            } else {
                Ok(PathBuf::from(address))
            }
        };
        match scheme {
            "es" => address.parse().map(SinkSpec::Es),
            "sqlite" => path().map(SinkSpec::Sqlite),
            "dir" => path().map(SinkSpec::Dir),
            "null" => Ok(SinkSpec::Null),
            other => Err(SpecError::UnknownScheme {
                what: "sink",
                scheme: other.to_string(),
                known: "es, sqlite, dir, null",
            }),
        }
    }
}

impl fmt::Display for SinkSpec {
    /// As written, with any password in a URL masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSpec::Es(address) => write!(f, "es:{address}"),
            SinkSpec::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            SinkSpec::Dir(path) => write!(f, "dir:{}", path.display()),
            SinkSpec::Null => f.write_str("null:"),
        }
    }
}

impl SinkSpec {
    /// What this sink keeps that can be read back (`trace`, `export`, the
    /// dashboard, drift): the embedded store or Elasticsearch.
    pub fn stored(&self) -> Option<StoredSpec> {
        match self {
            SinkSpec::Sqlite(path) => Some(StoredSpec::Sqlite(path.clone())),
            SinkSpec::Es(address) => Some(StoredSpec::Es(address.clone())),
            SinkSpec::Dir(_) | SinkSpec::Null => None,
        }
    }
}

/// Documents that can be read back: `sqlite:PATH` or `es:URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredSpec {
    /// The embedded store.
    Sqlite(PathBuf),
    /// Elasticsearch.
    Es(EsAddress),
}

impl FromStr for StoredSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        match text.parse::<SinkSpec>() {
            Ok(spec) => spec.stored().ok_or_else(|| SpecError::UnknownScheme {
                what: "store",
                scheme: text.split(':').next().unwrap_or_default().to_string(),
                known: "sqlite, es",
            }),
            Err(SpecError::NoScheme(text, _)) => {
                Err(SpecError::NoScheme(text, "sqlite:PATH or es:URL"))
            }
            Err(SpecError::UnknownScheme { scheme, .. }) => Err(SpecError::UnknownScheme {
                what: "store",
                scheme,
                known: "sqlite, es",
            }),
            Err(other) => Err(other),
        }
    }
}

impl fmt::Display for StoredSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredSpec::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoredSpec::Es(address) => write!(f, "es:{address}"),
        }
    }
}

/// A side of a drift comparison: a Parquet file (`FILE.parquet`, or any path
/// as `parquet:PATH`), or predictions stored in the embedded store or
/// Elasticsearch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetSpec {
    /// A Parquet file with the export's columns (or a training set's).
    Parquet(PathBuf),
    /// The message index of a store.
    Stored(StoredSpec),
}

impl FromStr for DatasetSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        if text.trim().is_empty() {
            return Err(SpecError::Empty(text.to_string()));
        }
        if let Some(path) = text.strip_prefix("parquet:") {
            return Ok(DatasetSpec::Parquet(PathBuf::from(path)));
        }
        if text.starts_with("sqlite:") || text.starts_with("es:") {
            return text.parse().map(DatasetSpec::Stored);
        }
        // Anything else is a path (a Windows `C:\` one included).
        Ok(DatasetSpec::Parquet(PathBuf::from(text)))
    }
}

impl fmt::Display for DatasetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatasetSpec::Parquet(path) => write!(f, "{}", path.display()),
            DatasetSpec::Stored(stored) => write!(f, "{stored}"),
        }
    }
}

/// An Elasticsearch address: one or more node URLs (used round-robin), with
/// the credentials of their user info taken out.
#[derive(Clone, PartialEq, Eq)]
pub struct EsAddress {
    /// The nodes, without user info.
    pub urls: Vec<Url>,
    /// User and password from a URL's user info (percent-decoded).
    pub basic: Option<(String, String)>,
}

impl fmt::Debug for EsAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EsAddress({self})")
    }
}

impl FromStr for EsAddress {
    type Err = SpecError;

    fn from_str(address: &str) -> Result<Self, SpecError> {
        let mut urls = Vec::new();
        let mut basic = None;
        for part in address.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let not_http = |reason: Option<String>| SpecError::NotHttp {
                part: mask(part),
                reason,
            };
            let mut url = Url::parse(part).map_err(|e| not_http(Some(e.to_string())))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(not_http(None));
            }
            if !url.username().is_empty() {
                let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
                basic = Some((decode(url.username()), decode(url.password().unwrap_or(""))));
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            urls.push(url);
        }
        if urls.is_empty() {
            return Err(SpecError::Empty(format!("es:{address}")));
        }
        Ok(Self { urls, basic })
    }
}

impl fmt::Display for EsAddress {
    /// The URLs, a user name shown and its password masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, url) in self.urls.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match &self.basic {
                Some((user, _)) => {
                    let mut shown = url.clone();
                    let _ = shown.set_username(user);
                    let _ = shown.set_password(Some("******"));
                    write!(f, "{}", shown.as_str().trim_end_matches('/'))?;
                }
                None => write!(f, "{}", url.as_str().trim_end_matches('/'))?,
            }
        }
        Ok(())
    }
}

fn split<'t>(text: &'t str, expected: &'static str) -> Result<(&'t str, &'t str), SpecError> {
    let (scheme, address) = text
        .split_once(':')
        .ok_or_else(|| SpecError::NoScheme(mask(text), expected))?;
    if address.is_empty() {
        return Err(SpecError::Empty(mask(text)));
    }
    Ok((scheme, address))
}

fn mask(text: &str) -> String {
    crate::redact::mask_url_password(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_print_as_written() {
        for text in [
            "gradio:http://127.0.0.1:7860/",
            "rest:http://h/logs",
            "file:-",
            "file:/var/log/x.log",
        ] {
            let spec: SourceSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text, "checkpoints are named after it");
        }
        assert!(matches!(
            "ftp:x".parse::<SourceSpec>(),
            Err(SpecError::UnknownScheme { .. })
        ));
        assert!(matches!(
            "x.log".parse::<SourceSpec>(),
            Err(SpecError::NoScheme(..))
        ));
        assert!(matches!(
            "file:".parse::<SourceSpec>(),
            Err(SpecError::Empty(_))
        ));
    }

    #[test]
    fn sinks_parse_with_their_credentials_taken_out() {
        let spec: SinkSpec = "es:http://elastic:p%40ss@h:9200,https://h2:9200"
            .parse()
            .unwrap();
        let SinkSpec::Es(address) = &spec else {
            panic!("{spec:?}")
        };
        assert_eq!(address.urls.len(), 2);
        assert_eq!(address.urls[0].username(), "");
        assert_eq!(
            address.basic,
            Some(("elastic".to_string(), "p@ss".to_string()))
        );
        let shown = spec.to_string();
        assert!(
            !shown.contains("p@ss") && !shown.contains("p%40ss"),
            "{shown}"
        );
        assert!(shown.contains("elastic:******@h:9200"), "{shown}");
        assert_eq!(
            "sqlite:a/b.db".parse::<SinkSpec>().unwrap(),
            SinkSpec::Sqlite("a/b.db".into())
        );
        assert_eq!("null:".parse::<SinkSpec>().unwrap(), SinkSpec::Null);
        let err = "es:ftp://h".parse::<SinkSpec>().unwrap_err().to_string();
        assert!(err.contains("ftp://h"), "{err}");
        let err = "es:not a url".parse::<SinkSpec>().unwrap_err().to_string();
        assert!(err.contains("not a url"), "{err}");
        assert!(matches!(
            "dir:".parse::<SinkSpec>(),
            Err(SpecError::Empty(_))
        ));
        let err = "kafka:x".parse::<SinkSpec>().unwrap_err().to_string();
        assert!(err.contains("kafka") && err.contains("sqlite"), "{err}");
    }

    #[test]
    fn drift_sides_are_files_unless_stored() {
        assert_eq!(
            "ref.parquet".parse::<DatasetSpec>().unwrap(),
            DatasetSpec::Parquet("ref.parquet".into())
        );
        assert_eq!(
            "parquet:odd:name".parse::<DatasetSpec>().unwrap(),
            DatasetSpec::Parquet("odd:name".into())
        );
        assert!(matches!(
            "sqlite:s.db".parse::<DatasetSpec>(),
            Ok(DatasetSpec::Stored(StoredSpec::Sqlite(_)))
        ));
        assert!("es:ftp://x".parse::<DatasetSpec>().is_err());
    }

    #[test]
    fn stored_specs_take_only_what_can_be_read_back() {
        assert!(matches!(
            "sqlite:s.db".parse::<StoredSpec>(),
            Ok(StoredSpec::Sqlite(_))
        ));
        let err = "dir:out".parse::<StoredSpec>().unwrap_err().to_string();
        assert!(err.contains("sqlite, es"), "{err}");
    }
}
