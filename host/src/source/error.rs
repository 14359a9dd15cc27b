//! Errors of the HTTP sources, with what an operator needs to act on them.

/// What kind of failure, for logs, metrics and retry decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceErrorKind {
    /// No answer in time.
    Timeout,
    /// Connection refused or reset, DNS failure.
    Connect,
    /// 401 or 403.
    Unauthorized,
    /// Another non-success HTTP status.
    Status(u16),
    /// An answer that is not what the protocol says (bad JSON, bad event stream).
    Malformed,
    /// The API answered an error object (`{"error": ...}`, `{"detail": ...}`, `event: error`).
    Api,
}

impl SourceErrorKind {
    /// Short name for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Unauthorized => "unauthorized",
            Self::Status(_) => "status",
            Self::Malformed => "malformed",
            Self::Api => "api_error",
        }
    }
}

/// A failed request to the source.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{url}: {}{}", describe(.kind), if .detail.is_empty() { String::new() } else { format!(": {}", .detail) })]
pub struct SourceError {
    /// The kind.
    pub kind: SourceErrorKind,
    /// The URL requested.
    pub url: String,
    /// A snippet of the answer or the underlying error.
    pub detail: String,
}

fn describe(kind: &SourceErrorKind) -> String {
    match kind {
        SourceErrorKind::Timeout => "no answer in time".into(),
        SourceErrorKind::Connect => "cannot connect".into(),
        SourceErrorKind::Unauthorized => {
            "refused (401/403): set HF_TOKEN to a token allowed to read this Space".into()
        }
        SourceErrorKind::Status(code) => format!("HTTP status {code}"),
        SourceErrorKind::Malformed => "malformed answer".into(),
        SourceErrorKind::Api => "the API answered an error".into(),
    }
}

impl SourceError {
    /// An error of `kind` for `url`.
    pub fn new(kind: SourceErrorKind, url: &str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            url: url.to_string(),
            detail: detail.into(),
        }
    }

    /// Classifies a reqwest error.
    pub fn from_reqwest(url: &str, e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            SourceErrorKind::Timeout
        } else if e.is_connect() || e.is_request() {
            SourceErrorKind::Connect
        } else if e.is_decode() || e.is_body() {
            SourceErrorKind::Malformed
        } else {
            SourceErrorKind::Connect
        };
        Self::new(kind, url, e.to_string())
    }

    /// An error for a non-success status, with a snippet of the body.
    pub fn from_status(url: &str, status: u16, body: &str) -> Self {
        let kind = if status == 401 || status == 403 {
            SourceErrorKind::Unauthorized
        } else {
            SourceErrorKind::Status(status)
        };
        Self::new(kind, url, super::window::snippet(body).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_url_and_hint() {
        let e = SourceError::from_status("http://x/gradio_api/call/logs_api", 403, "Forbidden");
        let text = e.to_string();
        assert!(
            text.contains("http://x/gradio_api")
                && text.contains("HF_TOKEN")
                && text.contains("Forbidden"),
            "{text}"
        );
        assert_eq!(
            SourceError::from_status("u", 503, "").kind,
            SourceErrorKind::Status(503)
        );
    }
}
