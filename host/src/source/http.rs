//! Fetching pages of the window over HTTP: Gradio's call protocol (`gradio:URL`)
//! and the plain JSON route (`rest:URL`). See `source-api.md` §2.

use super::error::{SourceError, SourceErrorKind};
use super::window::{Window, parse_window, snippet};
use std::time::Duration;

/// How to reach the window.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Gradio: `POST {base}/gradio_api/call/{api}` then the event stream.
    Gradio {
        /// The app's base URL.
        base: String,
        /// The API name (default `logs_api`).
        api: String,
    },
    /// Plain route: `GET {url}?limit=&offset=`.
    Rest {
        /// The route's URL.
        url: String,
    },
}

impl Endpoint {
    /// Parses `gradio:URL` or `rest:URL`; `None` for other schemes.
    pub fn parse(spec: &str, gradio_api: &str) -> Option<Self> {
        if let Some(url) = spec.strip_prefix("gradio:") {
            return Some(Endpoint::Gradio {
                base: url.trim_end_matches('/').to_string(),
                api: gradio_api.to_string(),
            });
        }
        spec.strip_prefix("rest:").map(|url| Endpoint::Rest {
            url: url.to_string(),
        })
    }

    /// The largest page the endpoint serves.
    pub fn max_page(&self) -> u64 {
        match self {
            Endpoint::Gradio { .. } => 100,
            Endpoint::Rest { .. } => 1000,
        }
    }
}

/// Fetches pages of the window.
#[derive(Debug, Clone)]
pub struct PageFetcher {
    client: reqwest::Client,
    endpoint: Endpoint,
    token: Option<String>,
}

/// How long one page may take, heartbeats included.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

impl PageFetcher {
    /// A fetcher for `endpoint`, sending `token` as `Authorization: Bearer`.
    pub fn new(endpoint: Endpoint, token: Option<String>) -> Self {
        Self::with_timeout(endpoint, token, PAGE_TIMEOUT)
    }

    /// The same with another time limit per request.
    pub fn with_timeout(endpoint: Endpoint, token: Option<String>, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .user_agent(concat!("logpipe/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("HTTP client");
        Self {
            client,
            endpoint,
            token,
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// One page: at most `limit` entries from record `offset`, newest first.
    pub async fn page(&self, offset: u64, limit: u64) -> Result<Window, SourceError> {
        match &self.endpoint {
            Endpoint::Rest { url } => self.rest_page(url, offset, limit).await,
            Endpoint::Gradio { base, api } => self.gradio_page(base, api, offset, limit).await,
        }
    }

    async fn rest_page(&self, url: &str, offset: u64, limit: u64) -> Result<Window, SourceError> {
        let req = self
            .client
            .get(url)
            .query(&[("limit", limit), ("offset", offset)]);
        let resp = self
            .auth(req)
            .send()
            .await
            .map_err(|e| SourceError::from_reqwest(url, &e))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| SourceError::from_reqwest(url, &e))?;
        if !status.is_success() {
            return Err(SourceError::from_status(url, status.as_u16(), &body));
        }
        window_or_error(url, &body)
    }

    async fn gradio_page(
        &self,
        base: &str,
        api: &str,
        offset: u64,
        limit: u64,
    ) -> Result<Window, SourceError> {
        let call_url = format!("{base}/gradio_api/call/{api}");
        let req = self
            .client
            .post(&call_url)
            .json(&serde_json::json!({ "data": [limit, offset] }));
        let resp = self
            .auth(req)
            .send()
            .await
            .map_err(|e| SourceError::from_reqwest(&call_url, &e))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| SourceError::from_reqwest(&call_url, &e))?;
        if !status.is_success() {
            return Err(SourceError::from_status(&call_url, status.as_u16(), &body));
        }
        #[derive(serde::Deserialize)]
        struct Call {
            event_id: String,
        }
        let call: Call = serde_json::from_str(&body).map_err(|e| {
            SourceError::new(
                SourceErrorKind::Malformed,
                &call_url,
                format!("no event_id ({e}): {}", snippet(&body)),
            )
        })?;
        let event_url = format!("{call_url}/{}", call.event_id);
        let resp = self
            .auth(self.client.get(&event_url))
            .send()
            .await
            .map_err(|e| SourceError::from_reqwest(&event_url, &e))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            return Err(SourceError::from_status(&event_url, status.as_u16(), &body));
        }
        read_event_stream(&event_url, resp).await
    }
}

fn window_or_error(url: &str, body: &str) -> Result<Window, SourceError> {
    parse_window(body).map_err(|message| {
        let kind = if message.starts_with("the API answered an error") {
            SourceErrorKind::Api
        } else {
            SourceErrorKind::Malformed
        };
        SourceError::new(kind, url, message)
    })
}

/// Reads `event: NAME` / `data: JSON` frames until `complete` or `error`.
async fn read_event_stream(url: &str, mut resp: reqwest::Response) -> Result<Window, SourceError> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        while let Some(end) = find_frame_end(&buf) {
            let frame = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end);
            if let Some(result) = handle_frame(url, &frame) {
                return result;
            }
        }
        match resp
            .chunk()
            .await
            .map_err(|e| SourceError::from_reqwest(url, &e))?
        {
            Some(chunk) => buf.extend_from_slice(&chunk),
            None => {
                // The stream closed; a last frame may lack its blank line.
                let rest = String::from_utf8_lossy(&buf).into_owned();
                if let Some(result) = handle_frame(url, &rest) {
                    return result;
                }
                return Err(SourceError::new(
                    SourceErrorKind::Malformed,
                    url,
                    "event stream ended without `complete` or `error`",
                ));
            }
        }
    }
}

/// End (exclusive, separator included) of the first complete frame in `buf`.
fn find_frame_end(buf: &[u8]) -> Option<usize> {
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `Some` when the frame ends the call.
fn handle_frame(url: &str, frame: &str) -> Option<Result<Window, SourceError>> {
    let mut event = None;
    let mut data = String::new();
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    match event.as_deref()? {
        "complete" => Some(complete(url, &data)),
        "error" => Some(Err(SourceError::new(
            SourceErrorKind::Api,
            url,
            format!("event: error, data: {}", snippet(&data)),
        ))),
        // heartbeat, generating: keep reading.
        _ => None,
    }
}

fn complete(url: &str, data: &str) -> Result<Window, SourceError> {
    let outputs: Vec<&serde_json::value::RawValue> = serde_json::from_str(data).map_err(|e| {
        SourceError::new(
            SourceErrorKind::Malformed,
            url,
            format!(
                "`complete` data is not a JSON array ({e}): {}",
                snippet(data)
            ),
        )
    })?;
    let first = outputs.first().ok_or_else(|| {
        SourceError::new(SourceErrorKind::Malformed, url, "`complete` with no output")
    })?;
    window_or_error(url, first.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_events() {
        let url = "http://x";
        assert!(handle_frame(url, "event: heartbeat\ndata: null\n\n").is_none());
        let err = handle_frame(url, "event: error\ndata: null\n\n")
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind, SourceErrorKind::Api);
        let ok = handle_frame(
            url,
            "event: complete\ndata: [{\"total\": 1, \"logs\": [{\"timestamp\": \"2025-11-21 09:12:03\", \"level\": \"INFO\", \"message\": \"Health check effectu\\u00e9\", \"data\": null}]}]\n\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(ok.records[0].message(), "Health check effectué");
        let api = handle_frame(
            url,
            "event: complete\ndata: [{\"error\": \"Timeout: L'API ne r\\u00e9pond pas\"}]\n\n",
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(api.kind, SourceErrorKind::Api);
        let bad = handle_frame(url, "event: complete\ndata: {oops\n\n")
            .unwrap()
            .unwrap_err();
        assert_eq!(bad.kind, SourceErrorKind::Malformed);
        assert_eq!(find_frame_end(b"event: a\r\ndata: 1\r\n\r\nrest"), Some(21));
    }

    #[test]
    fn endpoints() {
        assert!(
            matches!(Endpoint::parse("gradio:http://h/", "logs_api"), Some(Endpoint::Gradio { base, .. }) if base == "http://h")
        );
        assert_eq!(
            Endpoint::parse("rest:http://h/logs", "x")
                .unwrap()
                .max_page(),
            1000
        );
        assert!(Endpoint::parse("file:x", "x").is_none());
    }
}
