//! What can go wrong talking to Elasticsearch, by kind: callers decide on the
//! variant (retry, exit code), never on the wording.

use std::path::PathBuf;

/// An Elasticsearch failure.
#[derive(Debug, thiserror::Error)]
pub enum EsError {
    /// The CA file of `ELASTICSEARCH_CA_FILE` cannot be read or is not a
    /// certificate.
    #[error("CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The client could not be built.
    #[error("building the Elasticsearch client: {0}")]
    Client(String),
    /// No answer: connection refused, DNS, TLS, timeout.
    #[error("{label}: {what}: {cause}")]
    Request {
        /// The nodes.
        label: String,
        /// What was being done (`bulk request`, `checking index x`).
        what: String,
        /// The root cause, without the client's repetition of the URL.
        cause: String,
    },
    /// An answer with a status that says the request failed.
    #[error("{label}: {what}: status {status}: {body}")]
    Status {
        /// The nodes.
        label: String,
        /// What was being done.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The answer's beginning.
        body: String,
    },
    /// An answer that cannot be read.
    #[error("{label}: {what}: {reason}")]
    Answer {
        /// The nodes.
        label: String,
        /// What was being read.
        what: String,
        /// Why it cannot be.
        reason: String,
    },
    /// An index exists with a mapping that contradicts logpipe's.
    #[error(
        "index {index} exists with a conflicting mapping ({clashes}); logpipe does not alter it: \
         reindex it, or configure another index name"
    )]
    Mapping {
        /// The index.
        index: String,
        /// Each field that clashes, and how.
        clashes: String,
    },
    /// The dead-letter file could not be written: those documents are not
    /// known to be safe, so the write fails.
    #[error("dead-letter file {path}: {error}")]
    DeadLetter {
        /// The file.
        path: PathBuf,
        /// The OS's reason.
        error: std::io::Error,
    },
}

impl EsError {
    /// The message without the nodes' label, for a caller that names the
    /// sink already (`es:URL: ...`).
    pub fn detail(&self) -> String {
        match self {
            EsError::Request { what, cause, .. } => format!("{what}: {cause}"),
            EsError::Status {
                what, status, body, ..
            } => format!("{what}: status {status}: {body}"),
            EsError::Answer { what, reason, .. } => format!("{what}: {reason}"),
            other => other.to_string(),
        }
    }

    /// Whether the request never got an answer (the server may be down or
    /// unreachable): worth waiting for, and worth a hint to the operator.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, EsError::Request { .. })
    }
}
