//! Every environment variable logpipe reads, read here and nowhere else
//! (clap's `env =` flags aside: those are the command line's; and
//! `LOGPIPE_WASM_PERFMAP`, a profiling aid the plugin layer's engine settings read, as
//! the layer below configuration), each checked once: a value that does not
//! parse is an error naming the variable, never a silent default.

use super::ConfigError;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The variables that configure the pipeline, as read at start.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `GRADIO_URL`: the source, as `gradio:URL`.
    pub gradio_url: Option<String>,
    /// `LOGPIPE_STATE_DIR`.
    pub state_dir: Option<PathBuf>,
    /// `ELASTICSEARCH_URL`, else `ELASTICSEARCH_HOST`/`ELASTICSEARCH_PORT`:
    /// the sink, as `es:URL`, with the variables it came from.
    pub elasticsearch_sink: Option<(String, &'static str)>,
    /// `ELASTICSEARCH_INDEX`: the line index.
    pub line_index: Option<String>,
    /// `PIPELINE_POLL_INTERVAL`, in seconds.
    pub poll_interval_secs: Option<f64>,
    /// `PIPELINE_FILTER_PATTERN`.
    pub filter_pattern: Option<String>,
    /// `HF_TOKEN`, sent to the source as a bearer token.
    pub hf_token: Option<String>,
    /// What the Elasticsearch sink reads besides its address.
    pub elasticsearch: EsEnvironment,
}

/// The Elasticsearch sink's variables.
#[derive(Clone, Default)]
pub struct EsEnvironment {
    /// `ELASTICSEARCH_USERNAME` (when the URL has no user info).
    pub username: Option<String>,
    /// `ELASTICSEARCH_PASSWORD`.
    pub password: Option<String>,
    /// `ELASTICSEARCH_API_KEY`: `id:secret` or the encoded form.
    pub api_key: Option<String>,
    /// `ELASTICSEARCH_CA_FILE`: PEM of the CA that signed the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// `ELASTICSEARCH_GZIP`: compress request bodies (`1`/`true`, `0`/`false`).
    pub gzip: bool,
    /// `LOGPIPE_ES_DEADLINE_SECS`: how long a batch is retried before its
    /// documents are dead-lettered.
    pub deadline: Option<Duration>,
    /// `LOGPIPE_DEAD_LETTER_FILE`.
    pub dead_letter_file: Option<PathBuf>,
}

impl std::fmt::Debug for EsEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "******");
        f.debug_struct("EsEnvironment")
            .field("username", &self.username)
            .field("password", &set(&self.password))
            .field("api_key", &set(&self.api_key))
            .field("ca_file", &self.ca_file)
            .field("gzip", &self.gzip)
            .field("deadline", &self.deadline)
            .field("dead_letter_file", &self.dead_letter_file)
            .finish()
    }
}

impl Environment {
    /// Reads the process's environment.
    pub fn read() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Reads the variables through `lookup` (tests give their own).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        // An empty variable is an unset one (`FOO= logpipe …` clears it).
        let text = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match lookup(name) {
                None => Ok(None),
                Some(v) if v.is_empty() => Ok(None),
                Some(v) => v.into_string().map(Some).map_err(|v| ConfigError::Env {
                    variable: name,
                    message: format!("`{}` is not UTF-8", v.to_string_lossy()),
                }),
            }
        };
        let invalid =
            |variable: &'static str, message: String| ConfigError::Env { variable, message };
        let elasticsearch_sink = match text("ELASTICSEARCH_URL")? {
            Some(url) => Some((url, "ELASTICSEARCH_URL")),
            None => {
                let host = text("ELASTICSEARCH_HOST")?;
                let port = match text("ELASTICSEARCH_PORT")? {
                    Some(p) => Some(p.parse::<u16>().map_err(|_| {
                        invalid("ELASTICSEARCH_PORT", format!("`{p}` is not a port number"))
                    })?),
                    None => None,
                };
                (host.is_some() || port.is_some()).then(|| {
                    (
                        format!(
                            "http://{}:{}",
                            host.unwrap_or_else(|| "localhost".into()),
                            port.unwrap_or(9200)
                        ),
                        "ELASTICSEARCH_HOST/ELASTICSEARCH_PORT",
                    )
                })
            }
        };
        let poll_interval_secs = match text("PIPELINE_POLL_INTERVAL")? {
            Some(v) => match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 => Some(s),
                _ => {
                    return Err(invalid(
                        "PIPELINE_POLL_INTERVAL",
                        format!("`{v}` is not a positive number of seconds"),
                    ));
                }
            },
            None => None,
        };
        let gzip = match text("ELASTICSEARCH_GZIP")?.as_deref() {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(other) => {
                return Err(invalid(
                    "ELASTICSEARCH_GZIP",
                    format!("`{other}`: expected 1, true, 0 or false"),
                ));
            }
        };
        let deadline = match text("LOGPIPE_ES_DEADLINE_SECS")? {
            Some(v) => Some(Duration::from_secs(v.parse::<u64>().map_err(|_| {
                invalid(
                    "LOGPIPE_ES_DEADLINE_SECS",
                    format!("`{v}` is not a whole number of seconds"),
                )
            })?)),
            None => None,
        };
        Ok(Self {
            gradio_url: text("GRADIO_URL")?,
            state_dir: text("LOGPIPE_STATE_DIR")?.map(PathBuf::from),
            elasticsearch_sink,
            line_index: text("ELASTICSEARCH_INDEX")?,
            poll_interval_secs,
            filter_pattern: text("PIPELINE_FILTER_PATTERN")?,
            hf_token: text("HF_TOKEN")?,
            elasticsearch: EsEnvironment {
                username: text("ELASTICSEARCH_USERNAME")?,
                password: text("ELASTICSEARCH_PASSWORD")?,
                api_key: text("ELASTICSEARCH_API_KEY")?,
                ca_file: text("ELASTICSEARCH_CA_FILE")?.map(PathBuf::from),
                gzip,
                deadline,
                dead_letter_file: text("LOGPIPE_DEAD_LETTER_FILE")?.map(PathBuf::from),
            },
        })
    }
}

/// logpipe's directories under the platform's conventions (XDG on Linux).
fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "logpipe")
}

/// The default state directory (when neither a flag, `LOGPIPE_STATE_DIR` nor
/// the file gives one): the platform's state directory
/// (`$XDG_STATE_HOME/logpipe`, `~/.local/state/logpipe`), else its local data
/// directory (macOS, Windows), else `./.logpipe`.
pub fn default_state_dir() -> PathBuf {
    project_dirs()
        .map(|d| {
            d.state_dir()
                .unwrap_or_else(|| d.data_local_dir())
                .to_path_buf()
        })
        .unwrap_or_else(|| PathBuf::from(".logpipe"))
}

/// Where compiled components are cached: `$LOGPIPE_CACHE_DIR`, else the
/// platform's cache directory (`$XDG_CACHE_HOME/logpipe`, `~/.cache/logpipe`);
/// `None` if none is known.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("LOGPIPE_CACHE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => Some(dir.into()),
        None => project_dirs().map(|d| d.cache_dir().to_path_buf()),
    }
}

/// Whether `NO_COLOR` asks for no colours (set and not empty).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<Environment, ConfigError> {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Environment::from_lookup(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn an_invalid_value_is_an_error_naming_its_variable() {
        for (variable, value) in [
            ("LOGPIPE_ES_DEADLINE_SECS", "5m"),
            ("PIPELINE_POLL_INTERVAL", "-1"),
            ("PIPELINE_POLL_INTERVAL", "soon"),
            ("ELASTICSEARCH_GZIP", "yes"),
            ("ELASTICSEARCH_PORT", "92OO"),
        ] {
            let err = env(&[(variable, value)]).unwrap_err().to_string();
            assert!(
                err.contains(variable) && err.contains(value),
                "{variable}={value}: {err}"
            );
        }
    }

    #[test]
    fn values_are_typed_and_empty_ones_unset() {
        let e = env(&[
            ("LOGPIPE_ES_DEADLINE_SECS", "30"),
            ("PIPELINE_POLL_INTERVAL", "0.5"),
            ("ELASTICSEARCH_GZIP", "true"),
            ("ELASTICSEARCH_HOST", "es.internal"),
            ("HF_TOKEN", ""),
        ])
        .unwrap();
        assert_eq!(e.elasticsearch.deadline, Some(Duration::from_secs(30)));
        assert_eq!(e.poll_interval_secs, Some(0.5));
        assert!(e.elasticsearch.gzip);
        assert_eq!(
            e.elasticsearch_sink.as_ref().map(|s| s.0.as_str()),
            Some("http://es.internal:9200")
        );
        assert_eq!(e.hf_token, None);
    }
}
