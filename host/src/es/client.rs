//! The connected client: nodes, credentials and TLS from an [`EsConfig`],
//! with the label that names the nodes in messages.

use super::config::EsConfig;
use super::error::EsError;
use elasticsearch::Elasticsearch;
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::transport::{
    MultiNodeConnectionPool, SingleNodeConnectionPool, TransportBuilder,
};

/// A client of one cluster (no request is made until one is sent).
pub struct EsClient {
    client: Elasticsearch,
    label: String,
}

impl EsClient {
    /// Builds the client of `config`'s nodes.
    pub fn connect(config: &EsConfig) -> Result<Self, EsError> {
        let mut builder = if config.urls.len() == 1 {
            TransportBuilder::new(SingleNodeConnectionPool::new(config.urls[0].clone()))
        } else {
            TransportBuilder::new(MultiNodeConnectionPool::round_robin(
                config.urls.clone(),
                None,
            ))
        };
        builder = builder
            .timeout(config.request_timeout)
            .request_body_compression(config.gzip);
        if let Some(key) = &config.api_key {
            builder = builder.auth(match key.split_once(':') {
                Some((id, secret)) => Credentials::ApiKey(id.into(), secret.into()),
                None => Credentials::EncodedApiKey(key.clone()),
            });
        } else if let Some((user, pass)) = &config.basic {
            builder = builder.auth(Credentials::Basic(user.clone(), pass.clone()));
        }
        if let Some(ca) = &config.ca_file {
            let ca_file = |reason: String| EsError::CaFile {
                path: ca.clone(),
                reason,
            };
            let pem = std::fs::read(ca).map_err(|e| ca_file(e.to_string()))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| ca_file(e.to_string()))?;
            builder = builder.cert_validation(CertificateValidation::Full(cert));
        }
        let transport = builder
            .build()
            .map_err(|e| EsError::Client(e.to_string()))?;
        let label = config
            .urls
            .iter()
            .map(|u| u.as_str().trim_end_matches('/'))
            .collect::<Vec<_>>()
            .join(",");
        Ok(Self {
            client: Elasticsearch::new(transport),
            label,
        })
    }

    /// The nodes, for messages (`http://h1:9200,http://h2:9200`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The official client, for requests.
    pub fn client(&self) -> &Elasticsearch {
        &self.client
    }

    /// The error of a request `what` that got no answer.
    pub fn unanswered(&self, what: String, e: &elasticsearch::Error) -> EsError {
        EsError::Request {
            label: self.label.clone(),
            what,
            cause: cause(e),
        }
    }

    /// The error of a request `what` the server answered with a failing status.
    pub fn refused(&self, what: String, status: u16, body: String) -> EsError {
        EsError::Status {
            label: self.label.clone(),
            what,
            status,
            body,
        }
    }

    /// The error of an answer to `what` that cannot be read.
    pub fn unreadable(&self, what: String, reason: String) -> EsError {
        EsError::Answer {
            label: self.label.clone(),
            what,
            reason,
        }
    }
}

/// A request's error as its root cause (`Connection refused (os error 111)`,
/// a TLS or timeout error) rather than the client's "error sending request
/// for url (...)", which repeats the URL the label already gives.
pub fn cause(e: &elasticsearch::Error) -> String {
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    if std::ptr::addr_eq(root, e) {
        e.to_string()
    } else {
        format!("request failed: {root}")
    }
}
