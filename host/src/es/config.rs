//! How to reach Elasticsearch (nodes, credentials, TLS), and how the `es:`
//! sink sends to it (bulk sizes, retries, dead letters).

use crate::config::{EsAddress, EsEnvironment};
use elasticsearch::http::Url;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to reach Elasticsearch and how to send to it.
#[derive(Debug, Clone)]
pub struct EsConfig {
    /// Node URLs (several are used round-robin).
    pub urls: Vec<Url>,
    /// Basic credentials (from the URL's user info, or ELASTICSEARCH_USERNAME/PASSWORD).
    pub basic: Option<(String, String)>,
    /// API key, `id:secret` or the encoded form (ELASTICSEARCH_API_KEY).
    pub api_key: Option<String>,
    /// PEM file of the CA that signed the server's certificate (ELASTICSEARCH_CA_FILE).
    pub ca_file: Option<PathBuf>,
    /// Compress request bodies.
    pub gzip: bool,
    /// Documents per bulk request at most.
    pub max_docs: usize,
    /// Bytes per bulk request at most.
    pub max_bytes: usize,
    /// Bulk requests in flight at once.
    pub in_flight: usize,
    /// How long a batch may be retried before its documents go to the dead-letter file.
    pub deadline: Duration,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// The dead-letter file.
    pub dead_letter_file: PathBuf,
}

/// How long a batch is retried before its documents are dead-lettered, when
/// `LOGPIPE_ES_DEADLINE_SECS` does not say.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(300);

impl EsConfig {
    /// The settings for `address`, with the credentials and options of the
    /// environment; `state_dir` holds the default dead-letter file. Basic
    /// credentials in the URL win over `ELASTICSEARCH_USERNAME`/`PASSWORD`.
    pub fn new(address: &EsAddress, env: &EsEnvironment, state_dir: &Path) -> Self {
        let basic = address.basic.clone().or_else(|| {
            env.username
                .clone()
                .map(|user| (user, env.password.clone().unwrap_or_default()))
        });
        Self {
            urls: address.urls.clone(),
            basic,
            api_key: env.api_key.clone(),
            ca_file: env.ca_file.clone(),
            gzip: env.gzip,
            max_docs: 1000,
            max_bytes: 5 << 20,
            in_flight: 2,
            deadline: env.deadline.unwrap_or(DEFAULT_DEADLINE),
            request_timeout: Duration::from_secs(30),
            dead_letter_file: env
                .dead_letter_file
                .clone()
                .unwrap_or_else(|| state_dir.join("dead-letters.ndjson")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_of_the_url_win_over_the_environment() {
        let env = EsEnvironment {
            username: Some("env-user".into()),
            password: Some("env-pass".into()),
            deadline: Some(Duration::from_secs(7)),
            ..EsEnvironment::default()
        };
        let with: EsAddress = "https://elastic:p%40ss@h1:9200".parse().unwrap();
        let c = EsConfig::new(&with, &env, Path::new("/s"));
        assert_eq!(c.basic, Some(("elastic".into(), "p@ss".into())));
        assert_eq!(c.urls[0].as_str(), "https://h1:9200/");
        assert_eq!(c.deadline, Duration::from_secs(7));
        assert_eq!(c.dead_letter_file, Path::new("/s/dead-letters.ndjson"));
        let without: EsAddress = "http://h2:9200".parse().unwrap();
        let c = EsConfig::new(&without, &env, Path::new("/s"));
        assert_eq!(c.basic, Some(("env-user".into(), "env-pass".into())));
    }
}
