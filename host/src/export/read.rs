//! Reading `ml-api-message` page by page: keyset paging in the embedded store
//! (SQLite seeks the `documents_time` index at each page),
//! scroll in Elasticsearch (always continuing from the latest scroll id).

use crate::es::EsClient;
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

/// Why a time or a range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Not a time.
    #[error("`{text}` is neither an RFC 3339 time nor a YYYY-MM-DD date: {reason}")]
    NotATime {
        /// As given.
        text: String,
        /// jiff's reason.
        reason: String,
    },
    /// Neither `FROM..TO` nor `last:DURATION`.
    #[error("`{0}` is not a range: FROM..TO (either end may be empty) or last:DURATION")]
    NotARange(String),
    /// `last:` without a usable duration.
    #[error("`{text}`: `last:` needs a duration such as 24h or 7d ({reason})")]
    NotADuration {
        /// As given.
        text: String,
        /// What is wrong with the duration.
        reason: String,
    },
}

/// Reads `TIME` as an RFC 3339 timestamp or a `YYYY-MM-DD` date (midnight UTC).
pub fn parse_time(text: &str) -> Result<String, RangeError> {
    let ts = text
        .parse::<jiff::Timestamp>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC))
                .map(|z| z.timestamp())
        })
        .map_err(|e| RangeError::NotATime {
            text: text.to_string(),
            reason: e.to_string(),
        })?;
    Ok(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

impl std::str::FromStr for Range {
    type Err = RangeError;

    /// `FROM..TO` (either end may be empty; times as [`parse_time`] reads
    /// them) or `last:DURATION` (until now).
    fn from_str(text: &str) -> Result<Self, RangeError> {
        if let Some(duration) = text.strip_prefix("last:") {
            let not_a_duration = |reason: String| RangeError::NotADuration {
                text: text.to_string(),
                reason,
            };
            let age = crate::store::retention::parse_age(duration)
                .map_err(|e| not_a_duration(e.to_string()))?
                .ok_or_else(|| not_a_duration("`off` is not one".into()))?;
            let since = jiff::SignedDuration::try_from(age)
                .ok()
                .and_then(|age| jiff::Timestamp::now().checked_sub(age).ok())
                .ok_or_else(|| not_a_duration("too long".into()))?;
            return Ok(Range {
                since: Some(since.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
                until: None,
            });
        }
        let Some((from, to)) = text.split_once("..") else {
            return Err(RangeError::NotARange(text.to_string()));
        };
        let end = |t: &str| {
            (!t.trim().is_empty())
                .then(|| parse_time(t.trim()))
                .transpose()
        };
        Ok(Range {
            since: end(from)?,
            until: end(to)?,
        })
    }
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
        service: Box<EsClient>,
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
