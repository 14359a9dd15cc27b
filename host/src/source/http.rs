//! Fetching pages of the window over HTTP: Gradio's call protocol (`gradio:URL`)
//! and the plain JSON route (`rest:URL`). See `docs/source-api.md` §2.

use super::error::{SourceError, SourceErrorKind};
use super::window::{Window, WindowError, parse_window, snippet};
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
        let body = bounded_text(url, resp).await?;
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
        let body = bounded_text(&call_url, resp).await?;
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
            let body = bounded_text(&event_url, resp).await.unwrap_or_default();
            return Err(SourceError::from_status(&event_url, status.as_u16(), &body));
        }
        read_event_stream(&event_url, resp).await
    }
}

fn window_or_error(url: &str, body: &str) -> Result<Window, SourceError> {
    parse_window(body).map_err(|e| match e {
        WindowError::Api(why) => SourceError::new(SourceErrorKind::Api, url, why),
        e @ WindowError::NotAWindow { .. } => {
            SourceError::new(SourceErrorKind::Malformed, url, e.to_string())
        }
    })
}

/// Longest answer (or event-stream frame) accepted: a window of 1,000 lines is
/// a few MB; a source must not be able to exhaust the host's memory.
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// The body of `resp` as text (invalid UTF-8 replaced), refused past
/// [`MAX_ANSWER_BYTES`].
async fn bounded_text(url: &str, mut resp: reqwest::Response) -> Result<String, SourceError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| SourceError::from_reqwest(url, &e))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(SourceError::new(
                SourceErrorKind::Malformed,
                url,
                format!("an answer longer than {MAX_ANSWER_BYTES} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(super::record::decode_lossy(body).0)
}

/// Reads `event: NAME` / `data: JSON` frames until `complete` or `error`.
async fn read_event_stream(url: &str, mut resp: reqwest::Response) -> Result<Window, SourceError> {
    let mut frames = FrameReader::default();
    loop {
        while let Some(frame) = frames.next_frame() {
            if let Some(result) = handle_frame(url, &frame) {
                return result;
            }
        }
        if frames.pending() > MAX_ANSWER_BYTES {
            return Err(SourceError::new(
                SourceErrorKind::Malformed,
                url,
                format!("an event-stream frame longer than {MAX_ANSWER_BYTES} bytes"),
            ));
        }
        match resp
            .chunk()
            .await
            .map_err(|e| SourceError::from_reqwest(url, &e))?
        {
            Some(chunk) => frames.push(&chunk),
            None => {
                // The stream closed; a last frame may lack its blank line.
                if let Some(result) = handle_frame(url, &frames.rest()) {
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

/// Splits an event stream into frames (ended by a blank line, `\n\n` or
/// `\r\n\r\n`) as its chunks arrive. Each byte is looked at a bounded number
/// of times, however the stream is cut. Kept over the `eventsource-stream`
/// crate, whose time grows with the square of an event's length (measured:
/// BENCHMARKS.md, "Hand-written code kept over a crate").
#[derive(Debug, Default)]
struct FrameReader {
    buf: Vec<u8>,
    /// Where the next frame starts in `buf`.
    start: usize,
    /// Bytes of the current frame already searched for its end.
    searched: usize,
}

impl FrameReader {
    fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes received and not yet part of a frame.
    fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete frame (without its blank line), lossily decoded.
    fn next_frame(&mut self) -> Option<String> {
        let frame = &self.buf[self.start..];
        // A separator may straddle what was searched and what arrived since.
        let from = self.searched.saturating_sub(3);
        let Some(end) = frame_end_from(frame, from) else {
            self.searched = frame.len();
            return None;
        };
        let text = String::from_utf8_lossy(&frame[..end]).into_owned();
        self.start += end;
        self.searched = 0;
        Some(text)
    }

    /// What is left after the last frame.
    fn rest(&self) -> String {
        String::from_utf8_lossy(&self.buf[self.start..]).into_owned()
    }
}

/// End (exclusive, separator included) of the first complete frame in `buf`.
#[cfg(test)]
fn find_frame_end(buf: &[u8]) -> Option<usize> {
    frame_end_from(buf, 0)
}

/// [`find_frame_end`] for a separator whose last line feed is at or after `from`.
fn frame_end_from(buf: &[u8], mut from: usize) -> Option<usize> {
    while let Some(i) = memchr::memchr(b'\n', &buf[from..]).map(|i| i + from) {
        match buf.get(i + 1) {
            Some(b'\n') => return Some(i + 2),
            Some(b'\r') if buf.get(i + 2) == Some(&b'\n') && i > 0 && buf[i - 1] == b'\r' => {
                return Some(i + 3);
            }
            _ => from = i + 1,
        }
    }
    None
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// However a stream is cut into chunks, the frames are those of the
        /// whole, in order, and the rest is the same.
        #[test]
        fn frames_do_not_depend_on_chunking(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("[a-z: {}\\[\\]\"]{0,12}").unwrap(),
                    proptest::prelude::Just("\n".to_string()),
                    proptest::prelude::Just("\r\n".to_string()),
                    proptest::prelude::Just("\n\n".to_string()),
                    proptest::prelude::Just("\r\n\r\n".to_string()),
                ],
                0..40,
            ),
            cuts in proptest::collection::vec(0usize..64, 0..12),
        ) {
            let stream: Vec<u8> = parts.concat().into_bytes();
            let mut whole = Vec::new();
            let mut at = 0;
            while let Some(end) = find_frame_end(&stream[at..]) {
                whole.push(String::from_utf8_lossy(&stream[at..at + end]).into_owned());
                at += end;
            }
            let mut reader = FrameReader::default();
            let mut chunked = Vec::new();
            let mut pos: usize = 0;
            for cut in cuts.iter().chain(std::iter::once(&usize::MAX)) {
                let end = pos.saturating_add(*cut).min(stream.len());
                reader.push(&stream[pos..end]);
                pos = end;
                while let Some(frame) = reader.next_frame() {
                    chunked.push(frame);
                }
            }
            proptest::prop_assert_eq!(&chunked, &whole);
            proptest::prop_assert_eq!(reader.rest(), String::from_utf8_lossy(&stream[at..]).into_owned());
        }
    }

    /// A Gradio app whose event stream never ends one event: the reader stops
    /// at the bound instead of holding it all.
    #[test]
    fn an_endless_event_is_cut_at_the_bound() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().take(2).enumerate() {
                let mut stream = stream.unwrap();
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                if n == 0 {
                    let body = r#"{"event_id": "e1"}"#;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    continue;
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\nevent: complete\r\ndata: "
                );
                let chunk = vec![b'x'; 1 << 20];
                // Past the bound; the reader hangs up first.
                for _ in 0..(MAX_ANSWER_BYTES >> 20) + 8 {
                    if stream.write_all(&chunk).is_err() {
                        break;
                    }
                }
            }
        });
        let fetcher = PageFetcher::new(
            Endpoint::Gradio {
                base: format!("http://127.0.0.1:{port}"),
                api: "logs_api".into(),
            },
            None,
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = runtime.block_on(fetcher.page(0, 10)).unwrap_err();
        assert_eq!(err.kind, SourceErrorKind::Malformed, "{err}");
        assert!(err.to_string().contains("frame longer than"), "{err}");
    }

    #[test]
    fn page_sizes() {
        let gradio = Endpoint::Gradio {
            base: "http://h".into(),
            api: "logs_api".into(),
        };
        assert_eq!(gradio.max_page(), 100);
        let rest = Endpoint::Rest {
            url: "http://h/logs".into(),
        };
        assert_eq!(rest.max_page(), 1000);
    }
}
