//! The drift monitor as a sink: it sees the documents of the message index
//! as they are written, keeps the current window's counts and recomputes the
//! verdicts when due ([`crate::drift::monitor`]). It stores nothing and
//! acknowledges nothing; `run` writes the verdicts it publishes as documents
//! of [`DRIFT_INDEX`] to the other sinks.

use super::WriteReport;
use crate::document::Document;
use crate::drift::monitor::{Change, Monitor};
use crate::drift::report::Report;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The index the verdicts are written to, a document per column and verdict.
pub const DRIFT_INDEX: &str = crate::store::schema::DRIFT_INDEX;

/// The latest verdicts, shared with `/metrics` and `run`.
#[derive(Debug, Default)]
pub struct DriftBoard {
    inner: Mutex<BoardState>,
}

#[derive(Debug, Default)]
struct BoardState {
    latest: Option<Arc<Report>>,
    /// Verdicts not yet written to the sinks, with when they were made.
    unwritten: Vec<(jiff::Timestamp, Arc<Report>, Change)>,
}

impl DriftBoard {
    /// The latest verdicts.
    pub fn latest(&self) -> Option<Arc<Report>> {
        self.inner.lock().expect("drift board").latest.clone()
    }

    /// Takes the verdicts made since the last call.
    pub fn take_unwritten(&self) -> Vec<(jiff::Timestamp, Arc<Report>, Change)> {
        std::mem::take(&mut self.inner.lock().expect("drift board").unwritten)
    }

    fn publish(&self, report: Report, change: Change) {
        let report = Arc::new(report);
        let mut state = self.inner.lock().expect("drift board");
        state.latest = Some(report.clone());
        // Bounded: `run` takes them after every poll.
        if state.unwritten.len() < 1024 {
            state
                .unwritten
                .push((jiff::Timestamp::now(), report, change));
        }
    }
}

/// The monitor behind a sink's interface.
pub struct DriftSink {
    monitor: Box<Monitor>,
    index: String,
    board: Arc<DriftBoard>,
}

impl DriftSink {
    /// Watches the documents of `index` (the message index).
    pub fn new(monitor: Monitor, index: String, board: Arc<DriftBoard>) -> Self {
        Self {
            monitor: Box::new(monitor),
            index,
            board,
        }
    }

    /// Observes the message documents, then recomputes if due.
    pub fn write(&mut self, docs: &[Document]) -> WriteReport {
        // The workers read each prediction while they checked its document
        // (the plan names this index); other documents of the index hold none.
        for doc in docs.iter().filter(|d| *d.index == *self.index) {
            if let Some(prediction) = &doc.prediction {
                self.monitor.observe(prediction);
            }
        }
        if let Some((report, change)) = self.monitor.evaluate_if_due(Instant::now()) {
            self.board.publish(report, change);
        }
        WriteReport::default()
    }
}

/// The documents of one verdict: one per tested column, each with the
/// dataset's verdict, so that drift can be drawn over time per column.
pub fn verdict_documents(at: jiff::Timestamp, report: &Report) -> Vec<Document> {
    let time = at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let line_time: i64 = at.strftime("%Y%m%d%H%M%S").to_string().parse().unwrap_or(0);
    report
        .columns
        .iter()
        .map(|c| {
            let source = serde_json::json!({
                "@timestamp": time,
                "column": c.column,
                "kind": c.kind,
                "test": c.test,
                "value": c.value,
                "threshold": c.threshold,
                "drifted": c.drifted,
                "dataset_drift": report.dataset_drift,
                "share_of_drifted_columns": report.share_of_drifted_columns,
                "drift_share": report.drift_share,
                "reference_rows": report.reference_rows,
                "current_rows": report.current_rows,
            })
            .to_string();
            let id = format!(
                "{:032x}",
                xxhash_rust::xxh3::xxh3_128(format!("{time}\u{0}{}", c.column).as_bytes())
            );
            Document {
                index: Arc::from(DRIFT_INDEX),
                id,
                source,
                line_time,
                prediction: None,
                columns: None,
                block: None,
            }
        })
        .collect()
}
