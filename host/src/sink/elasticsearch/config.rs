//! Connection and bulk settings of the Elasticsearch sink.

use elasticsearch::http::Url;
use std::path::PathBuf;
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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl EsConfig {
    /// Reads `es:URL[,URL…]` plus the credential variables; `state_dir` holds the
    /// default dead-letter file.
    pub fn from_spec(address: &str, state_dir: &std::path::Path) -> Result<Self, String> {
        let mut urls = Vec::new();
        let mut basic = None;
        for part in address.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut url = Url::parse(part).map_err(|e| format!("`{part}` is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!("`{part}`: expected an http:// or https:// URL"));
            }
            if !url.username().is_empty() {
                let user = percent_decode(url.username());
                let pass = percent_decode(url.password().unwrap_or(""));
                basic = Some((user, pass));
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            urls.push(url);
        }
        if urls.is_empty() {
            return Err("no URL after `es:`".into());
        }
        if basic.is_none()
            && let Some(user) = env("ELASTICSEARCH_USERNAME")
        {
            basic = Some((user, env("ELASTICSEARCH_PASSWORD").unwrap_or_default()));
        }
        Ok(Self {
            urls,
            basic,
            api_key: env("ELASTICSEARCH_API_KEY"),
            ca_file: env("ELASTICSEARCH_CA_FILE").map(PathBuf::from),
            gzip: env("ELASTICSEARCH_GZIP").is_some_and(|v| v == "1" || v == "true"),
            max_docs: 1000,
            max_bytes: 5 << 20,
            in_flight: 2,
            deadline: Duration::from_secs(
                env("LOGPIPE_ES_DEADLINE_SECS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(300),
            ),
            request_timeout: Duration::from_secs(30),
            dead_letter_file: env("LOGPIPE_DEAD_LETTER_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| state_dir.join("dead-letters.ndjson")),
        })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_user_info() {
        let c = EsConfig::from_spec(
            "https://elastic:p%40ss@h1:9200, http://h2:9200",
            std::path::Path::new("/s"),
        )
        .unwrap();
        assert_eq!(c.urls.len(), 2);
        assert_eq!(c.basic, Some(("elastic".into(), "p@ss".into())));
        assert_eq!(c.urls[0].as_str(), "https://h1:9200/");
        assert_eq!(
            c.dead_letter_file,
            std::path::Path::new("/s/dead-letters.ndjson")
        );
        assert!(EsConfig::from_spec("ftp://x", std::path::Path::new("/s")).is_err());
        assert!(EsConfig::from_spec("", std::path::Path::new("/s")).is_err());
    }
}
