//! What to do with each item of a bulk answer: pure decisions, tested on canned
//! bodies.

use serde::Deserialize;

/// The fate of one bulk item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Indexed now (200/201).
    Stored,
    /// `create` found the same `_id` already there (409): indexed before.
    AlreadyPresent,
    /// Worth sending again alone (429, 5xx).
    Retry {
        /// HTTP status of the item.
        status: u16,
        /// The server's reason.
        reason: String,
    },
    /// This document refused for good (a mapping conflict, a malformed field…):
    /// dead letter.
    Rejected {
        /// HTTP status of the item.
        status: u16,
        /// The server's reason.
        reason: String,
    },
    /// The whole request refused (401, 403, 413…): every document shares its
    /// fate, whatever it holds.
    RequestRefused {
        /// HTTP status of the request.
        status: u16,
        /// The server's answer.
        reason: String,
    },
}

#[derive(Deserialize)]
struct BulkResponse {
    items: Vec<std::collections::HashMap<String, Item>>,
}

#[derive(Deserialize)]
struct Item {
    status: u16,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// Decides one item from its status and error.
pub fn decide(status: u16, error: Option<&serde_json::Value>) -> ItemOutcome {
    let reason = || match error {
        Some(e) => {
            let kind = e.get("type").and_then(|v| v.as_str()).unwrap_or("error");
            let why = e.get("reason").and_then(|v| v.as_str()).unwrap_or("");
            let cause = e
                .get("caused_by")
                .and_then(|c| c.get("reason"))
                .and_then(|v| v.as_str())
                .map(|c| format!(" (caused by: {c})"))
                .unwrap_or_default();
            format!("{kind}: {why}{cause}")
        }
        None => format!("status {status}"),
    };
    match status {
        200..=299 => ItemOutcome::Stored,
        409 => ItemOutcome::AlreadyPresent,
        429 | 500..=599 => ItemOutcome::Retry {
            status,
            reason: reason(),
        },
        _ => ItemOutcome::Rejected {
            status,
            reason: reason(),
        },
    }
}

/// Why a bulk answer cannot be decided item by item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BulkAnswerError {
    /// Not the bulk API's JSON.
    #[error("bulk answer is not readable: {0}")]
    Unreadable(String),
    /// Not one item per document sent.
    #[error("bulk answer has {found} items for {expected} documents")]
    ItemCount {
        /// Items in the answer.
        found: usize,
        /// Documents sent.
        expected: usize,
    },
}

/// Decides every item of a bulk answer, in request order.
pub fn decide_all(body: &[u8], expected: usize) -> Result<Vec<ItemOutcome>, BulkAnswerError> {
    let response: BulkResponse =
        serde_json::from_slice(body).map_err(|e| BulkAnswerError::Unreadable(e.to_string()))?;
    if response.items.len() != expected {
        return Err(BulkAnswerError::ItemCount {
            found: response.items.len(),
            expected,
        });
    }
    Ok(response
        .items
        .into_iter()
        .map(|item| match item.into_values().next() {
            Some(i) => decide(i.status, i.error.as_ref()),
            None => ItemOutcome::Retry {
                status: 0,
                reason: "empty bulk item".into(),
            },
        })
        .collect())
}

/// True when a whole-request HTTP status is worth retrying.
pub fn retry_request(status: u16) -> bool {
    status == 429 || status == 408 || status >= 500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canned_bulk_answer() {
        let body = br#"{"errors":true,"took":1,"items":[
          {"create":{"_index":"i","_id":"a","status":201}},
          {"create":{"_index":"i","_id":"b","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[b]: version conflict"}}},
          {"create":{"_index":"i","_id":"c","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
          {"create":{"_index":"i","_id":"d","status":400,"error":{"type":"document_parsing_exception","reason":"failed to parse field [n]","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"zz\""}}}},
          {"create":{"_index":"i","_id":"e","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}}
        ]}"#;
        let out = decide_all(body, 5).unwrap();
        assert_eq!(out[0], ItemOutcome::Stored);
        assert_eq!(out[1], ItemOutcome::AlreadyPresent);
        assert!(matches!(&out[2], ItemOutcome::Retry { status: 429, .. }));
        match &out[3] {
            ItemOutcome::Rejected {
                status: 400,
                reason,
            } => {
                assert!(
                    reason.contains("document_parsing_exception") && reason.contains("zz"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&out[4], ItemOutcome::Retry { status: 503, .. }));
        assert_eq!(
            decide_all(body, 4).unwrap_err(),
            BulkAnswerError::ItemCount {
                found: 5,
                expected: 4
            }
        );
        assert!(matches!(
            decide_all(b"<html>", 1),
            Err(BulkAnswerError::Unreadable(_))
        ));
    }

    proptest::proptest! {
        /// Any body: an answer per document, or an error, never a panic.
        #[test]
        fn any_body_is_read_or_refused(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), n in 0usize..4) {
            if let Ok(outcomes) = decide_all(&body, n) {
                proptest::prop_assert_eq!(outcomes.len(), n);
            }
        }

        /// Well-formed answers: each item decided by its status alone.
        #[test]
        fn items_are_decided_by_status(statuses in proptest::collection::vec(100u16..600, 0..20)) {
            let items: Vec<String> = statuses
                .iter()
                .map(|s| format!(r#"{{"create":{{"_id":"x","status":{s},"error":{{"type":"t","reason":"r"}}}}}}"#))
                .collect();
            let body = format!(r#"{{"errors":true,"items":[{}]}}"#, items.join(","));
            let outcomes = decide_all(body.as_bytes(), statuses.len()).unwrap();
            for (status, outcome) in statuses.iter().zip(outcomes) {
                let expected = match status {
                    200..=299 => matches!(outcome, ItemOutcome::Stored),
                    409 => matches!(outcome, ItemOutcome::AlreadyPresent),
                    429 | 500..=599 => matches!(outcome, ItemOutcome::Retry { .. }),
                    _ => matches!(outcome, ItemOutcome::Rejected { .. }),
                };
                proptest::prop_assert!(expected, "{} -> {:?}", status, outcome);
            }
        }
    }

    #[test]
    fn whole_request_statuses() {
        assert!(
            retry_request(503) && retry_request(429) && !retry_request(400) && !retry_request(401)
        );
    }
}
