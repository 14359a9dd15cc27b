//! Talking to Elasticsearch: mappings at start-up, bulk requests with per-item
//! results, retries with backoff, and dead letters past the deadline.

use super::dead_letter::DeadLetters;
use super::mappings::{conflicts, mapping_for};
use super::retry::{ItemOutcome, decide_all, retry_request};
use crate::document::Document;
use crate::document::line_document::without_plugin_fields;
use crate::es::client::cause;
use crate::es::{EsClient, EsConfig, EsError};
use crate::sink::WriteReport;
use crate::sink::bulk::{Action, encode_as};
use elasticsearch::BulkParts;
use elasticsearch::indices::{IndicesCreateParts, IndicesExistsParts, IndicesGetMappingParts};
use futures_util::StreamExt;
use std::time::{Duration, Instant};

/// A connected Elasticsearch sink.
pub struct EsService {
    es: EsClient,
    config: EsConfig,
    dead: DeadLetters,
    /// The line index: a line document it refuses is sent again without the
    /// plugins' fields, so that every line reaches it.
    line_index: Option<String>,
}

/// Counters of one write.
#[derive(Debug, Default)]
struct Tally {
    report: WriteReport,
    retries: u64,
    /// Refused line documents, without their plugin fields, to send again.
    bare_lines: Vec<Document>,
}

impl EsService {
    /// Builds the client (no request is made yet).
    pub fn new(config: EsConfig) -> Result<Self, EsError> {
        Ok(Self {
            es: EsClient::connect(&config)?,
            dead: DeadLetters::new(config.dead_letter_file.clone()),
            config,
            line_index: None,
        })
    }

    /// The dead-letter file.
    pub fn dead_letters(&self) -> &DeadLetters {
        &self.dead
    }

    /// Sends documents once each with `index` (replacing what has their
    /// `_id`), in bulk requests, and says what became of each (for replays:
    /// nothing is dead-lettered or retried here).
    pub async fn send_each_once(&self, docs: &[Document]) -> Vec<ItemOutcome> {
        let mut outcomes = Vec::with_capacity(docs.len());
        for c in chunk(docs, self.config.max_docs, self.config.max_bytes) {
            let refs: Vec<&Document> = c.iter().collect();
            match self.send_once(&refs, Action::Index).await {
                Ok(o) => outcomes.extend(o),
                Err(e) => {
                    let reason = e.to_string();
                    outcomes.extend(c.iter().map(|_| ItemOutcome::Retry {
                        status: 0,
                        reason: reason.clone(),
                    }))
                }
            }
        }
        outcomes
    }

    /// Names the line index (see [`EsService`]'s `line_index`).
    pub fn with_line_index(mut self, index: &str) -> Self {
        self.line_index = Some(index.to_string());
        self
    }

    /// The nodes, for messages.
    pub fn label(&self) -> &str {
        self.es.label()
    }

    /// Creates missing indices with their mappings; reports an existing index whose
    /// mapping conflicts, without altering it.
    pub async fn install_mappings(
        &self,
        indices: &[String],
        line_index: &str,
    ) -> Result<(), EsError> {
        self.mappings(indices, line_index, true).await.map(|_| ())
    }

    /// Checks the mappings without changing anything: the indices that are
    /// missing (they would be created at start), or the first conflict.
    pub async fn verify_mappings(
        &self,
        indices: &[String],
        line_index: &str,
    ) -> Result<Vec<String>, EsError> {
        self.mappings(indices, line_index, false).await
    }

    /// Compares each index's mapping with ours; creates missing indices when
    /// `create`, else returns their names.
    async fn mappings(
        &self,
        indices: &[String],
        line_index: &str,
        create: bool,
    ) -> Result<Vec<String>, EsError> {
        let mut missing = Vec::new();
        for index in indices {
            let Some(wanted) = mapping_for(index, line_index) else {
                tracing::info!(
                    index,
                    "no mapping file for this index: its fields are mapped dynamically"
                );
                continue;
            };
            let exists = self
                .es
                .client()
                .indices()
                .exists(IndicesExistsParts::Index(&[index]))
                .send()
                .await
                .map_err(|e| self.es.unanswered(format!("checking index {index}"), &e))?;
            if exists.status_code().as_u16() == 404 && !create {
                missing.push(index.clone());
                continue;
            }
            if exists.status_code().as_u16() == 404 {
                let resp = self
                    .es
                    .client()
                    .indices()
                    .create(IndicesCreateParts::Index(index))
                    .body(wanted)
                    .send()
                    .await
                    .map_err(|e| self.es.unanswered(format!("creating index {index}"), &e))?;
                let status = resp.status_code().as_u16();
                let body = resp.text().await.unwrap_or_default();
                // Another logpipe may have created it in between: that is fine.
                if !(200..300).contains(&status)
                    && !body.contains("resource_already_exists_exception")
                {
                    return Err(self
                        .es
                        .refused(format!("creating index {index}"), status, body));
                }
                tracing::info!(index, "index created with its mapping");
                continue;
            }
            let resp = self
                .es
                .client()
                .indices()
                .get_mapping(IndicesGetMappingParts::Index(&[index]))
                .send()
                .await
                .map_err(|e| {
                    self.es
                        .unanswered(format!("reading the mapping of {index}"), &e)
                })?;
            let found: serde_json::Value = resp.json().await.map_err(|e| {
                self.es
                    .unreadable(format!("the mapping of {index}"), cause(&e))
            })?;
            let mapping = found
                .as_object()
                .and_then(|o| o.values().next())
                .map(|v| v["mappings"].clone())
                .unwrap_or_default();
            let clashes = conflicts(&wanted, &mapping);
            if !clashes.is_empty() {
                let list: Vec<String> = clashes
                    .iter()
                    .map(|(f, w, g)| format!("`{f}` is {g}, logpipe maps it as {w}"))
                    .collect();
                return Err(EsError::Mapping {
                    index: index.clone(),
                    clashes: list.join("; "),
                });
            }
        }
        Ok(missing)
    }

    /// Indexes the documents: every one ends stored, already present, or in the
    /// dead-letter file; an `Err` means the dead-letter file itself failed.
    pub async fn write(&self, docs: &[Document]) -> Result<WriteReport, EsError> {
        let chunks = chunk(docs, self.config.max_docs, self.config.max_bytes);
        let results: Vec<Result<Tally, EsError>> = futures_util::stream::iter(chunks)
            .map(|c| self.send_chunk(c, true))
            .buffer_unordered(self.config.in_flight.max(1))
            .collect()
            .await;
        let mut total = WriteReport::default();
        let mut bare = Vec::new();
        for r in results {
            let tally = r?;
            total.absorb(tally.report);
            total.retries += tally.retries;
            bare.extend(tally.bare_lines);
        }
        if !bare.is_empty() {
            // Once only: a line document refused without plugin fields is a
            // dead letter like any other.
            tracing::warn!(
                count = bare.len(),
                "line documents refused: sent again without the plugins' fields, flagged plugin_fields_rejected"
            );
            let tally = self.send_chunk(&bare, false).await?;
            total.absorb(tally.report);
            total.retries += tally.retries;
        }
        Ok(total)
    }

    /// Sends one chunk until every document is settled; with `strip`, refused
    /// line documents are also returned without their plugin fields.
    async fn send_chunk(&self, docs: &[Document], strip: bool) -> Result<Tally, EsError> {
        let deadline = Instant::now() + self.config.deadline;
        let mut tally = Tally::default();
        let mut pending: Vec<&Document> = docs.iter().collect();
        let mut attempt = 0u32;
        loop {
            let (retry, last_reason) = match self.send_once(&pending, Action::Create).await {
                Ok(outcomes) => {
                    let mut retry = Vec::new();
                    let mut rejected = Vec::new();
                    let mut last = String::new();
                    for (doc, outcome) in pending.iter().zip(outcomes) {
                        match outcome {
                            ItemOutcome::Stored => {
                                *tally
                                    .report
                                    .stored
                                    .entry(doc.index.to_string())
                                    .or_default() += 1
                            }
                            ItemOutcome::AlreadyPresent => tally.report.already_present += 1,
                            ItemOutcome::Retry { status, reason } => {
                                last = format!("status {status}: {reason}");
                                retry.push(*doc);
                            }
                            ItemOutcome::Rejected { status, reason } => {
                                if strip
                                    && self.line_index.as_deref() == Some(&*doc.index)
                                    && let Some(source) =
                                        without_plugin_fields(&doc.source, &reason)
                                {
                                    tally.bare_lines.push(Document {
                                        index: doc.index.clone(),
                                        id: doc.id.clone(),
                                        source,
                                        line_time: doc.line_time,
                                        prediction: None,
                                        columns: None,
                                        block: None,
                                    });
                                }
                                rejected.push((*doc, status, reason))
                            }
                            ItemOutcome::RequestRefused { status, reason } => {
                                rejected.push((*doc, status, reason))
                            }
                        }
                    }
                    if !rejected.is_empty() {
                        tracing::warn!(count = rejected.len(), first = %rejected[0].2, file = %self.dead.path().display(), "documents rejected by Elasticsearch, written to the dead-letter file");
                        self.dead
                            .append(&rejected)
                            .map_err(|e| self.dead_letter_failed(e))?;
                        tally.report.dead_letters += rejected.len() as u64;
                    }
                    (retry, last)
                }
                Err(e) => (pending.clone(), e.to_string()),
            };
            if retry.is_empty() {
                return Ok(tally);
            }
            attempt += 1;
            let wait = RETRY.delay(attempt);
            if Instant::now() + wait > deadline {
                tracing::error!(count = retry.len(), reason = %last_reason, "retry deadline passed; documents written to the dead-letter file");
                let entries: Vec<(&Document, u16, String)> = retry
                    .iter()
                    .map(|d| (*d, 0u16, format!("gave up after retries: {last_reason}")))
                    .collect();
                self.dead
                    .append(&entries)
                    .map_err(|e| self.dead_letter_failed(e))?;
                tally.report.dead_letters += entries.len() as u64;
                return Ok(tally);
            }
            tally.retries += retry.len() as u64;
            tracing::warn!(documents = retry.len(), attempt, retry_in_ms = wait.as_millis() as u64, reason = %last_reason, "bulk retry");
            tokio::time::sleep(wait).await;
            pending = retry;
        }
    }

    /// One bulk request; `Err` for a whole-request failure worth retrying.
    async fn send_once(
        &self,
        docs: &[&Document],
        action: Action,
    ) -> Result<Vec<ItemOutcome>, EsError> {
        let mut body = String::with_capacity(docs.iter().map(|d| d.source.len() + 100).sum());
        for doc in docs {
            encode_as(doc, action, &mut body);
        }
        // The client ends every body item with a line feed: one item, the last
        // line feed left to it.
        body.pop();
        let resp = self
            .es
            .client()
            .bulk(BulkParts::None)
            .body(vec![body])
            .send()
            .await
            .map_err(|e| self.es.unanswered("bulk request".into(), &e))?;
        let status = resp.status_code().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| self.es.unreadable("the bulk answer".into(), e.to_string()))?;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&bytes);
            let snippet: String = text.chars().take(300).collect();
            if retry_request(status) {
                return Err(self.es.refused("bulk request".into(), status, snippet));
            }
            // A request refused as a whole (401, 403, 413…): every document shares its fate.
            return Ok(docs
                .iter()
                .map(|_| ItemOutcome::RequestRefused {
                    status,
                    reason: format!("bulk request refused: {snippet}"),
                })
                .collect());
        }
        decide_all(&bytes, docs.len())
            .map_err(|e| self.es.unreadable("the bulk answer".into(), e.to_string()))
    }

    fn dead_letter_failed(&self, error: std::io::Error) -> EsError {
        EsError::DeadLetter {
            path: self.dead.path().to_path_buf(),
            error,
        }
    }
}

/// Splits documents into requests of at most `max_docs` documents and about `max_bytes`.
pub fn chunk(docs: &[Document], max_docs: usize, max_bytes: usize) -> Vec<&[Document]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, d) in docs.iter().enumerate() {
        let size = d.source.len() + d.id.len() + d.index.len() + 40;
        if i > start && (i - start >= max_docs.max(1) || bytes + size > max_bytes) {
            out.push(&docs[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < docs.len() {
        out.push(&docs[start..]);
    }
    out
}

/// Between retries of a bulk request: 200 ms, 400 ms … 30 s.
const RETRY: crate::backoff::Backoff = crate::backoff::Backoff {
    first: Duration::from_millis(200),
    max: Duration::from_secs(30),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn chunks_respect_counts_and_bytes() {
        let doc = |n: usize| Document {
            index: Arc::from("i"),
            id: n.to_string(),
            source: "x".repeat(100),
            line_time: 0,
            prediction: None,
            columns: None,
            block: None,
        };
        let docs: Vec<Document> = (0..10).map(doc).collect();
        assert_eq!(
            chunk(&docs, 4, 1 << 20)
                .iter()
                .map(|c| c.len())
                .collect::<Vec<_>>(),
            [4, 4, 2]
        );
        assert_eq!(
            chunk(&docs, 100, 300)
                .iter()
                .map(|c| c.len())
                .collect::<Vec<_>>(),
            [2, 2, 2, 2, 2]
        );
        assert!(chunk(&[], 4, 100).is_empty());
    }
}
