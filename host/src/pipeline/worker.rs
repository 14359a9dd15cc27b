//! Processing one batch of lines through the stages: the hot path.

use super::plan::{Plan, Route};
use crate::document::columns::Columns;
use crate::document::validate::scalar_text;
use crate::document::{
    CheckedDocument, Document, LineCopies, LineStamp, Prediction, PredictionReader,
    TimestampConverter, check_document, check_document_reading, write_derived_document,
    write_line_document,
};
use crate::ids::LineId;
use crate::plugin::{
    CallError, EventBatch, Kind, LoadError, PluginInfo, PluginRunner, Problem, StageRunner,
};
use crate::source::record::Record;
use crate::store::blocks::{DocumentLine, PackScratch, PackedSources};
use std::sync::Arc;

/// A line with its id, ready for the plugins.
#[derive(Debug, Clone)]
pub struct Line {
    /// Deterministic id.
    pub id: LineId,
    /// The record.
    pub record: Record,
}

/// A problem a plugin had with one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginProblem {
    /// The line.
    pub line: LineId,
    /// Plugin name.
    pub plugin: String,
    /// Plugin version.
    pub version: String,
    /// What happened.
    pub reason: String,
    /// True for a trap, timeout or memory overrun (not a per-event error).
    pub failed: bool,
    /// True when the plugin was paused and not called on the line.
    pub skipped: bool,
}

/// What a batch produced.
#[derive(Debug, Default)]
pub struct BatchOutput {
    /// Documents for the sinks, in line order, each line's own document first.
    pub documents: Vec<Document>,
    /// Problems plugins had, one per line and plugin.
    pub problems: Vec<PluginProblem>,
    /// Lines in the batch.
    pub lines: usize,
    /// Lines the filters kept.
    pub accepted: usize,
}

/// Whether workers run plugins as components or natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// WebAssembly components in the sandbox.
    Wasm,
    /// The reference plugins' logic compiled into the host (for `bench`'s
    /// comparison; builds with the `native-bench` feature).
    #[cfg(feature = "native-bench")]
    Native,
}

struct StageWorker {
    exec: Box<dyn StageRunner>,
    info: PluginInfo,
    kind: Kind,
    routes: Vec<Route>,
}

/// Runs the plan's stages for one thread: one instance of every plugin.
pub struct Worker {
    stages: Vec<StageWorker>,
    line_index: Arc<str>,
    /// The index whose documents' predictions are read, and their reader.
    predictions: Option<(Arc<str>, PredictionReader)>,
    /// Fields later stages need from the documents merged into the line.
    needed: Vec<String>,
    /// Whether documents are prepared for the embedded store ([`crate::pipeline::Plan::for_store`]).
    for_store: bool,
    /// Whether packed documents' sources are dropped ([`crate::pipeline::Plan::store_only`]).
    store_only: bool,
    timestamps: TimestampConverter,
    /// A document's typed columns while they are encoded.
    column_scratch: Vec<u8>,
    /// Buffers of the blocks it packs.
    packing: PackScratch,
    /// The events of the stage being run, reused from batch to batch.
    batch: EventBatch,
    /// The text of needed scalar fields, reused from batch to batch.
    scalar_text: String,
}

impl Worker {
    /// Instantiates every stage's plugin.
    pub fn new(plan: &Plan, timestamps: TimestampConverter) -> Result<Self, LoadError> {
        Self::with_execution(plan, timestamps, Execution::Wasm)
    }

    /// Instantiates every stage's plugin, as components or natively.
    pub fn with_execution(
        plan: &Plan,
        timestamps: TimestampConverter,
        execution: Execution,
    ) -> Result<Self, LoadError> {
        let mut stages = Vec::with_capacity(plan.stages.len());
        let mut needed: Vec<String> = Vec::new();
        for stage in &plan.stages {
            let info = stage.plugin.info();
            for need in &info.needs {
                if !crate::document::PROVIDED_FIELDS.contains(&need.as_str())
                    && !needed.contains(need)
                {
                    needed.push(need.clone());
                }
            }
            let exec: Box<dyn StageRunner> = match execution {
                Execution::Wasm => Box::new(PluginRunner::new(
                    stage.plugin.clone(),
                    stage.config.clone(),
                )?),
                #[cfg(feature = "native-bench")]
                Execution::Native => {
                    let fail = |message: String| LoadError::Config {
                        plugin: info.name.clone(),
                        version: info.version.clone(),
                        message,
                        output: None,
                    };
                    let native = crate::plugin::native::native(&info.name, &stage.config)
                        .ok_or_else(|| fail("no native build of this plugin".into()))?
                        .map_err(fail)?;
                    Box::new(native)
                }
            };
            stages.push(StageWorker {
                exec,
                info: info.clone(),
                kind: info.kind,
                routes: stage.routes.clone(),
            });
        }
        Ok(Self {
            stages,
            line_index: plan.line_index.clone(),
            predictions: plan
                .predictions
                .clone()
                .map(|index| (index, PredictionReader::default())),
            needed,
            for_store: plan.for_store,
            store_only: plan.store_only,
            timestamps,
            column_scratch: Vec::new(),
            packing: PackScratch::default(),
            batch: EventBatch::new(0),
            scalar_text: String::new(),
        })
    }

    /// Switches stage `index` to a new version of its plugin (hot reload).
    pub fn switch_stage(&mut self, index: usize, plan: &Plan) -> Result<(), LoadError> {
        let stage = &plan.stages[index];
        let worker = &mut self.stages[index];
        worker.exec.switch_to(stage.plugin.clone())?;
        worker.info = stage.plugin.info().clone();
        worker.routes = stage.routes.clone();
        Ok(())
    }

    /// Switches every stage whose plugin differs from `plan`'s (after a reload).
    /// A stage that cannot switch keeps its current version; the error is returned.
    pub fn sync(&mut self, plan: &Plan) -> Vec<LoadError> {
        let mut errors = Vec::new();
        for i in 0..self.stages.len().min(plan.stages.len()) {
            if self.stages[i].info.sha256 != plan.stages[i].plugin.info().sha256
                && let Err(e) = self.switch_stage(i, plan)
            {
                errors.push(e);
            }
        }
        errors
    }

    /// Processes one batch.
    pub fn process(&mut self, lines: &[Line]) -> BatchOutput {
        let n = lines.len();
        let stamps: Vec<LineStamp> = lines
            .iter()
            .map(|l| LineStamp::of(&l.record, &mut self.timestamps))
            .collect();
        let mut accepted = vec![true; n];
        // The scalar fields later stages need, `needed.len()` slots a line, their
        // text in one string for the batch.
        let width = self.needed.len();
        let mut scalars = Scalars {
            slots: vec![None; n * width],
            text: std::mem::take(&mut self.scalar_text),
        };
        scalars.text.clear();
        let mut merged: Vec<Vec<CheckedDocument>> = (0..n).map(|_| Vec::new()).collect();
        let mut derived: Vec<Vec<Derived>> = (0..n).map(|_| Vec::new()).collect();
        let mut errors: Vec<Vec<String>> = vec![Vec::new(); n];
        let mut problems = Vec::new();

        for stage in &mut self.stages {
            let selected: Vec<usize> = (0..n).filter(|&i| accepted[i]).collect();
            if selected.is_empty() {
                break;
            }
            let info = &stage.info;
            let batch = &mut self.batch;
            batch.reset(info.needs.len());
            for &i in &selected {
                let (record, stamp) = (&lines[i].record, &stamps[i]);
                let slots = &scalars.slots[i * width..(i + 1) * width];
                batch.push(
                    record.message(),
                    info.needs.iter().map(|name| {
                        field_value(name, record, stamp, &self.needed, slots, &scalars.text)
                    }),
                );
            }
            let mut report = |event: u32, problem: Problem| {
                let i = selected[event as usize];
                let (reason, failed, skipped) = match problem {
                    Problem::Rejected(reason) => (reason, false, false),
                    Problem::Failed(e) => {
                        let skipped = matches!(e, CallError::Paused { .. });
                        (e.to_string(), true, skipped)
                    }
                };
                errors[i].push(format!("{} {}: {reason}", info.name, info.version));
                problems.push(PluginProblem {
                    line: lines[i].id,
                    plugin: info.name.clone(),
                    version: info.version.clone(),
                    reason,
                    failed,
                    skipped,
                });
            };
            match stage.kind {
                Kind::Filter => {
                    let decisions = stage.exec.accept(batch);
                    for (&i, &keep) in selected.iter().zip(&decisions.keep) {
                        accepted[i] = keep;
                    }
                    for p in decisions.problems {
                        report(p.event, p.problem);
                    }
                }
                Kind::Parser => {
                    let parsed = stage.exec.parse(batch);
                    for doc in &parsed.documents {
                        let i = selected[doc.event as usize];
                        let Some(route) = stage.routes.get(doc.channel as usize) else {
                            report(
                                doc.event,
                                Problem::Rejected(format!(
                                    "emitted on unknown channel {}",
                                    doc.channel
                                )),
                            );
                            continue;
                        };
                        if *route == Route::Drop {
                            continue;
                        }
                        let json = parsed.json(doc).to_string();
                        // Predictions are read in the pass that checks their document.
                        let mut reader = match (&mut self.predictions, route) {
                            (Some((index, reader)), Route::Index(to)) if index == to => {
                                reader.start();
                                Some(reader)
                            }
                            _ => None,
                        };
                        let checked = match reader.as_deref_mut() {
                            Some(reader) => check_document_reading(json, reader),
                            None => check_document(json),
                        };
                        let checked = match checked {
                            Ok(c) => c,
                            Err(e) => {
                                report(
                                    doc.event,
                                    Problem::Rejected(format!("invalid document: {e}")),
                                );
                                continue;
                            }
                        };
                        match route {
                            Route::Line => {
                                for (k, name) in self.needed.iter().enumerate() {
                                    let slot = &mut scalars.slots[i * width + k];
                                    if slot.is_none()
                                        && let Some(text) = checked.get(name).and_then(scalar_text)
                                    {
                                        let start = scalars.text.len() as u32;
                                        scalars.text.push_str(&text);
                                        *slot = Some(start..scalars.text.len() as u32);
                                    }
                                }
                                merged[i].push(checked);
                            }
                            Route::Index(index) => {
                                let prediction = reader.and_then(|r| {
                                    r.finish(&checked, stamps[i].timestamp.as_deref())
                                });
                                derived[i].push(Derived {
                                    index: index.clone(),
                                    checked,
                                    prediction,
                                });
                            }
                            Route::Drop => {}
                        }
                    }
                    for p in parsed.problems {
                        report(p.event, p.problem);
                    }
                }
            }
        }

        let mut documents = Vec::with_capacity(n * 2);
        // The line of each line document, at its place, for the store.
        let mut texts: Vec<Option<DocumentLine<'_>>> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let id = String::from(line.id.hex().as_str());
            // The message twice (`message`, `raw_log`) with room for its escapes,
            // the plugins' fields, the host's: one allocation, no growth.
            // Only the plugins' fields and the host's when the store alone
            // reads the document: it keeps the line itself.
            let (copies, line_len) = match self.store_only {
                true => (LineCopies::LeftOut, 0),
                false => (LineCopies::Written, line.record.raw().len() * 5 / 2),
            };
            let merged_len: usize = merged[i].iter().map(|d| d.json().len()).sum();
            let mut source = String::with_capacity(line_len + merged_len + 256);
            let mut columns = Columns::default();
            let text = write_line_document(
                &mut source,
                &line.record,
                &stamps[i],
                &merged[i],
                &mut errors[i],
                self.for_store.then_some(&mut columns),
                copies,
            );
            if self.for_store {
                texts.resize(documents.len(), None);
                texts.push(
                    text.zip(line.record.raw_header())
                        .map(|(text, header)| DocumentLine {
                            text,
                            header,
                            message: line.record.message(),
                        }),
                );
            }
            let line_columns = columns;
            let columns = self
                .for_store
                .then(|| encoded_columns(&mut self.column_scratch, &line_columns));
            documents.push(Document {
                index: self.line_index.clone(),
                id: id.clone(),
                source,
                line_time: stamps[i].line_time,
                prediction: None,
                columns,
                block: None,
            });
            if !accepted[i] {
                continue;
            }
            let mut ordinals: Vec<(&Arc<str>, usize)> = Vec::new();
            for Derived {
                index,
                checked: doc,
                prediction,
            } in &derived[i]
            {
                let n = match ordinals.iter_mut().find(|(x, _)| *x == index) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        ordinals.push((index, 0));
                        0
                    }
                };
                let mut src = String::with_capacity(doc.json().len() + 40);
                let mut columns = line_columns.reusing();
                write_derived_document(
                    &mut src,
                    &stamps[i],
                    doc,
                    self.for_store.then_some(&mut columns),
                );
                let columns = self
                    .for_store
                    .then(|| encoded_columns(&mut self.column_scratch, &columns));
                documents.push(Document {
                    index: index.clone(),
                    id: if n == 0 {
                        id.clone()
                    } else {
                        format!("{id}-{n}")
                    },
                    source: src,
                    line_time: stamps[i].line_time,
                    prediction: prediction.map(Box::new),
                    columns,
                    block: None,
                });
            }
        }
        self.scalar_text = scalars.text;
        if self.for_store {
            // Here rather than on the sink's thread, which writes for every worker.
            PackedSources::pack_blocks(&mut documents, &texts, &mut self.packing, self.store_only);
        }
        BatchOutput {
            documents,
            problems,
            lines: n,
            accepted: accepted.iter().filter(|a| **a).count(),
        }
    }
}

/// A document a parser emitted for an index.
struct Derived {
    index: Arc<str>,
    checked: CheckedDocument,
    prediction: Option<Prediction>,
}

/// Scalar fields of a batch's lines that later stages need.
struct Scalars {
    /// Per line, one slot per needed field: where its text is in `text`.
    slots: Vec<Option<std::ops::Range<u32>>>,
    /// The texts, one after the other.
    text: String,
}

/// The text of needed field `name` of a line, if it has it; `slots` are the
/// line's slots for the fields in `needed`.
fn field_value<'a>(
    name: &str,
    record: &'a Record,
    stamp: &'a LineStamp,
    needed: &[String],
    slots: &[Option<std::ops::Range<u32>>],
    text: &'a str,
) -> Option<&'a str> {
    if let Some(value) = crate::document::host_field(name, record, stamp) {
        return value;
    }
    let k = needed.iter().position(|n| n == name)?;
    let range = slots[k].clone()?;
    Some(&text[range.start as usize..range.end as usize])
}

/// A document's typed columns encoded for the embedded store, read here on
/// the worker's thread rather than on the sink's.
fn encoded_columns(scratch: &mut Vec<u8>, columns: &Columns<'_>) -> Box<[u8]> {
    // Encoded into a reused buffer, then one allocation of the exact size (a
    // `Vec` cut to size afterwards is a reallocation per document).
    scratch.clear();
    crate::store::rows::encode_columns(scratch, columns);
    Box::from(&scratch[..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Prediction;

    /// The documents of the fixture's lines, with the plan reading
    /// predictions from `predictions`.
    fn documents(predictions: Option<&str>) -> Vec<Document> {
        let mut plan = super::super::build::default_plan();
        plan.predictions = predictions.map(Arc::from);
        plan.for_store = true;
        let mut source =
            crate::source::FileSource::open(super::super::build::SAMPLE.as_ref()).unwrap();
        let lines = super::super::IdAssigner::default().assign(source.next_batch(10_000).unwrap());
        let mut worker = Worker::new(&plan, TimestampConverter::utc()).unwrap();
        lines
            .chunks(64)
            .flat_map(|batch| worker.process(batch).documents)
            .collect()
    }

    #[test]
    fn typed_columns_are_those_the_store_would_read_from_the_whole_document() {
        let docs = documents(None);
        let mut timed = 0;
        for doc in &docs {
            let mut whole = Vec::new();
            crate::store::rows::encode_columns(&mut whole, &Columns::of(&doc.source));
            assert_eq!(doc.columns.as_deref(), Some(&whole[..]), "{}", doc.source);
            timed += usize::from(crate::store::rows::time_of(&whole).is_some());
        }
        assert!(timed > docs.len() / 2, "{timed} of {}", docs.len());
        // Without a sink storing them, they are not read.
        let mut plan = super::super::build::default_plan();
        plan.for_store = false;
        let mut source =
            crate::source::FileSource::open(super::super::build::SAMPLE.as_ref()).unwrap();
        let lines = super::super::IdAssigner::default().assign(source.next_batch(64).unwrap());
        let mut worker = Worker::new(&plan, TimestampConverter::utc()).unwrap();
        assert!(
            worker
                .process(&lines)
                .documents
                .iter()
                .all(|d| d.columns.is_none())
        );
    }

    /// When the store is the only sink, line documents are written without
    /// their line's text: every document packed gives back, once unpacked,
    /// the text it has with another sink, and every one not packed (a small
    /// batch) holds it whole.
    #[test]
    fn documents_for_the_store_alone_are_those_written_for_any_sink() {
        let process = |store_only: bool, batch: usize| -> Vec<Document> {
            let mut plan = super::super::build::default_plan();
            plan.for_store = true;
            plan.store_only = store_only;
            let mut source =
                crate::source::FileSource::open(super::super::build::SAMPLE.as_ref()).unwrap();
            let lines =
                super::super::IdAssigner::default().assign(source.next_batch(10_000).unwrap());
            let mut worker = Worker::new(&plan, TimestampConverter::utc()).unwrap();
            lines
                .chunks(batch)
                .flat_map(|batch| worker.process(batch).documents)
                .collect()
        };
        let whole = |docs: Vec<Document>| -> Vec<String> {
            let mut sources = Vec::new();
            let mut group: Option<(crate::store::blocks::Block, usize)> = None;
            for doc in docs {
                if let Some(packed) = &doc.block {
                    assert!(packed.dropped);
                    group = Some((packed.unpack().unwrap(), 0));
                }
                match &mut group {
                    Some((block, k)) if doc.source.is_empty() => {
                        sources.push(block.nth_source(*k).unwrap().to_string());
                        *k += 1;
                    }
                    _ => sources.push(doc.source),
                }
            }
            sources
        };
        let want: Vec<String> = process(false, 10_000)
            .into_iter()
            .map(|d| d.source)
            .collect();
        let packed = process(true, 10_000);
        assert!(packed.iter().any(|d| d.block.is_some()), "a block packed");
        assert_eq!(whole(packed), want);
        let small = process(true, 16);
        assert!(small.iter().all(|d| d.block.is_none()), "nothing packed");
        assert_eq!(whole(small), want);
    }

    #[test]
    fn predictions_are_read_in_the_index_the_plan_names_as_the_store_reads_them() {
        let docs = documents(Some("ml-api-message"));
        let mut read = 0;
        for doc in &docs {
            if &*doc.index == "ml-api-message" {
                let want = Prediction::of_source(&doc.source);
                assert_eq!(doc.prediction.as_deref(), want.as_ref(), "{}", doc.source);
                read += usize::from(want.is_some());
            } else {
                assert!(doc.prediction.is_none(), "{}", doc.index);
            }
        }
        assert!(read >= 10, "the fixture's predictions ({read})");
        // Without a monitor, nothing is read, and the documents are the same.
        let plain = documents(None);
        assert!(plain.iter().all(|d| d.prediction.is_none()));
        let text = |docs: &[Document]| -> Vec<String> {
            docs.iter()
                .map(|d| format!("{} {} {}", d.index, d.id, d.source))
                .collect()
        };
        assert_eq!(text(&plain), text(&docs));
    }
}
