//! Reading `ml-api-message` page by page: keyset paging in the embedded store
//! (SQLite seeks the `documents_time` index at each page),
//! scroll in Elasticsearch (always continuing from the latest scroll id).

use crate::sink::elasticsearch::service::EsService;
use anyhow::Context;
use elasticsearch::{ClearScrollParts, ScrollParts, SearchParts};
use serde_json::{Value, json};

/// Documents per page.
pub const PAGE: usize = 1000;

/// A time range, as RFC 3339 UTC text (`YYYY-MM-DDTHH:MM:SSZ`).
#[derive(Debug, Clone, Default)]
pub struct Range {
    /// Inclusive start.
    pub since: Option<String>,
    /// Exclusive end.
    pub until: Option<String>,
}

/// Reads `TIME` as an RFC 3339 timestamp or a `YYYY-MM-DD` date (midnight UTC).
pub fn parse_time(text: &str) -> Result<String, String> {
    let ts = text
        .parse::<jiff::Timestamp>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC))
                .map(|z| z.timestamp())
        })
        .map_err(|e| format!("`{text}` is neither an RFC 3339 time nor a YYYY-MM-DD date: {e}"))?;
    Ok(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

impl Range {
    /// The range in milliseconds since the epoch (its ends are [`parse_time`]'s).
    pub fn millis(&self) -> crate::store::reader::TimeRange {
        let ms = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond())
        };
        crate::store::reader::TimeRange {
            since: ms(&self.since),
            until: ms(&self.until),
        }
    }
}

/// Where documents are read from.
pub enum MessageReader {
    /// The embedded store.
    Sqlite {
        /// The store.
        store: crate::store::StoreReader,
        /// Index name.
        index: String,
        /// Time range.
        range: crate::store::reader::TimeRange,
        /// Where the reading stands.
        cursor: crate::store::reader::Cursor,
    },
    /// Elasticsearch.
    Es {
        /// The client (boxed: it is much larger than the store's connection).
        service: Box<EsService>,
        /// Its runtime.
        runtime: tokio::runtime::Runtime,
        /// Index name.
        index: String,
        /// Time range.
        range: Range,
        /// The latest scroll id.
        scroll: Option<String>,
        /// True once the last page was read.
        done: bool,
    },
}

impl MessageReader {
    /// The next page; empty at the end.
    pub fn next_page(&mut self) -> anyhow::Result<Vec<Value>> {
        match self {
            MessageReader::Sqlite {
                store,
                index,
                range,
                cursor,
            } => store
                .page(index, *range, cursor, PAGE)?
                .into_iter()
                .map(|(seq, source)| {
                    serde_json::from_str(&source)
                        .with_context(|| format!("document {seq} of {index} is not JSON"))
                })
                .collect(),
            MessageReader::Es {
                service,
                runtime,
                index,
                range,
                scroll,
                done,
            } => {
                if *done {
                    return Ok(Vec::new());
                }
                let body: Value = runtime.block_on(async {
                    let resp = match scroll {
                        None => {
                            let mut filter = serde_json::Map::new();
                            if let Some(s) = &range.since {
                                filter.insert("gte".into(), json!(s));
                            }
                            if let Some(u) = &range.until {
                                filter.insert("lt".into(), json!(u));
                            }
                            let query = if filter.is_empty() {
                                json!({"match_all": {}})
                            } else {
                                json!({"range": {"@timestamp": filter}})
                            };
                            service
                                .client()
                                .search(SearchParts::Index(&[index.as_str()]))
                                .scroll("2m")
                                .body(json!({"size": PAGE, "query": query, "sort": ["_doc"]}))
                                .send()
                                .await
                        }
                        Some(id) => {
                            service
                                .client()
                                .scroll(ScrollParts::None)
                                .body(json!({"scroll": "2m", "scroll_id": id}))
                                .send()
                                .await
                        }
                    }
                    .with_context(|| format!("reading {index} from {}", service.label()))?;
                    let status = resp.status_code().as_u16();
                    let body: Value = resp.json().await?;
                    anyhow::ensure!(
                        (200..300).contains(&status),
                        "{}: {index}: status {status}: {body}",
                        service.label()
                    );
                    anyhow::Ok(body)
                })?;
                if let Some(id) = body["_scroll_id"].as_str() {
                    *scroll = Some(id.to_string());
                }
                let hits: Vec<Value> = body["hits"]["hits"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|h| h["_source"].clone())
                    .collect();
                if hits.is_empty() {
                    *done = true;
                    if let Some(id) = scroll.take() {
                        let _ = runtime.block_on(
                            service
                                .client()
                                .clear_scroll(ClearScrollParts::None)
                                .body(json!({"scroll_id": [id]}))
                                .send(),
                        );
                    }
                }
                Ok(hits)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("2025-11-21").unwrap(), "2025-11-21T00:00:00Z");
        assert_eq!(
            parse_time("2025-11-21T10:00:00+01:00").unwrap(),
            "2025-11-21T09:00:00Z"
        );
        assert!(parse_time("yesterday").is_err());
    }
}
