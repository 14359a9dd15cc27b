//! Batches as they cross the sandbox boundary, packed (contract 0.2): the events'
//! text in one string with spans beside it, and a parser's documents the same way,
//! so a call costs a few copies per batch instead of allocations per event.

use super::bindings::v0_2::parser::logpipe::plugin::types::Span;
use super::error::CallError;
use super::limits::answer;
pub use logpipe_plugin_sdk::Emitted as PackedDocument;

/// Events packed for one plugin call. Each event has a message and, in the order
/// of the plugin's `needs`, one optional value per needed field.
#[derive(Debug, Clone)]
pub struct EventBatch {
    text: String,
    parts: Vec<Option<Span>>,
    width: usize,
}

impl EventBatch {
    /// An empty batch for events with `fields` needed fields each.
    pub fn new(fields: usize) -> Self {
        Self {
            text: String::new(),
            parts: Vec::new(),
            width: 1 + fields,
        }
    }

    /// A batch of messages without fields, for plugins that need none (tools and
    /// tests).
    pub fn of_messages<'a>(messages: impl IntoIterator<Item = &'a str>) -> Self {
        let mut batch = Self::new(0);
        for m in messages {
            batch.push(m, []);
        }
        batch
    }

    /// Empties the batch, keeping its memory, for events with `fields` fields.
    pub fn reset(&mut self, fields: usize) {
        self.text.clear();
        self.parts.clear();
        self.width = 1 + fields;
    }

    /// Adds an event. `fields` yields exactly one entry per needed field.
    ///
    /// # Panics
    /// If `fields` yields another number of entries, or if the batch's text
    /// would pass 4 GiB (spans are 32-bit; batches are a few MiB).
    pub fn push<'a>(&mut self, message: &str, fields: impl IntoIterator<Item = Option<&'a str>>) {
        let before = self.parts.len();
        let span = self.add_text(message);
        self.parts.push(Some(span));
        for field in fields {
            let span = field.map(|f| self.add_text(f));
            self.parts.push(span);
        }
        assert_eq!(
            self.parts.len() - before,
            self.width,
            "an event needs one entry per needed field"
        );
    }

    fn add_text(&mut self, s: &str) -> Span {
        let start = u32::try_from(self.text.len()).expect("batch text under 4 GiB");
        self.text.push_str(s);
        Span {
            start,
            len: s.len() as u32,
        }
    }

    /// The text of part `k` (events are `1 + fields` parts each, the message first).
    pub(crate) fn part(&self, k: usize) -> Option<&str> {
        self.parts[k].map(|s| &self.text[s.start as usize..(s.start + s.len) as usize])
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.parts.len() / self.width
    }

    /// True when the batch has no event.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Number of needed fields per event.
    pub fn fields(&self) -> usize {
        self.width - 1
    }

    /// The message of event `i`.
    pub fn message(&self, i: usize) -> &str {
        self.part(i * self.width).unwrap_or("")
    }

    /// The values of event `i`'s needed fields, in order.
    pub fn values(&self, i: usize) -> impl Iterator<Item = Option<&str>> {
        let first = i * self.width;
        (first + 1..first + self.width).map(|k| self.part(k))
    }

    /// A batch holding only event `i` (to isolate a failing event).
    pub fn one(&self, i: usize) -> EventBatch {
        let mut single = EventBatch::new(self.fields());
        single.push(self.message(i), self.values(i));
        single
    }

    /// The text, as it crosses the boundary.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The spans, as they cross the boundary.
    pub(crate) fn parts(&self) -> &[Option<Span>] {
        &self.parts
    }
}

/// What went wrong with one event in one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The plugin reported an error for the event.
    Rejected(String),
    /// The call failed on this event alone (trap, timeout, memory, bad answer).
    Failed(CallError),
}

/// A problem with event `event` of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventProblem {
    /// Position of the event in the batch.
    pub event: u32,
    /// What happened.
    pub problem: Problem,
}

impl EventProblem {
    /// The events a plugin rejected, `(event, reason)`, each reason bounded.
    pub fn rejected(errors: impl IntoIterator<Item = (u32, String)>) -> Vec<EventProblem> {
        errors
            .into_iter()
            .map(|(event, reason)| EventProblem {
                event,
                problem: Problem::Rejected(super::limits::bounded_reason(reason)),
            })
            .collect()
    }
}

/// A parser's answer for a batch: its documents packed, and its problems.
#[derive(Debug, Default)]
pub struct ParsedBatch {
    /// The JSON text of every document.
    pub text: String,
    /// The documents, in event order; none belongs to an event with a problem.
    pub documents: Vec<PackedDocument>,
    /// Events the plugin could not parse, or that failed it.
    pub problems: Vec<EventProblem>,
}

/// A borrowed document of a [`ParsedBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentRef<'a> {
    /// The plugin's channel.
    pub channel: u32,
    /// The JSON text as the plugin wrote it (not yet checked).
    pub json: &'a str,
}

impl ParsedBatch {
    /// The JSON text of `doc`.
    pub fn json(&self, doc: &PackedDocument) -> &str {
        &self.text[doc.json.start as usize..doc.json.end as usize]
    }

    /// Checks a plugin's answer for `events` events: spans inside the text on
    /// character boundaries and not overlapping, events in range and in order,
    /// at most one error per event, and the caps of [`answer`]. Documents of
    /// events that also have an error are dropped, as the contract says. Linear
    /// in the size of the answer.
    pub(crate) fn checked(mut self, events: usize) -> Result<Self, CallError> {
        let bad = |message: String| Err(CallError::BadAnswer { message });
        if self.text.len() > answer::MAX_TEXT_BYTES {
            return bad(format!(
                "its text is {} bytes, over the cap of {}",
                self.text.len(),
                answer::MAX_TEXT_BYTES
            ));
        }
        if self.documents.len() > answer::MAX_DOCUMENTS {
            return bad(format!(
                "{} documents, over the cap of {} per call",
                self.documents.len(),
                answer::MAX_DOCUMENTS
            ));
        }
        let (mut last, mut per_event) = (0, 0);
        let mut in_text_order = true;
        for (n, d) in self.documents.iter().enumerate() {
            let (start, end) = (d.json.start as usize, d.json.end as usize);
            if d.event as usize >= events || d.event < last {
                return bad(format!(
                    "document {n} names event {} (batch of {events}, after event {last})",
                    d.event
                ));
            }
            if start > end
                || end > self.text.len()
                || !self.text.is_char_boundary(start)
                || !self.text.is_char_boundary(end)
            {
                return bad(format!(
                    "document {n} spans bytes {start}..{end} of a {}-byte text",
                    self.text.len()
                ));
            }
            if end - start > answer::MAX_DOCUMENT_BYTES {
                return bad(format!(
                    "document {n} is {} bytes, over the cap of {}",
                    end - start,
                    answer::MAX_DOCUMENT_BYTES
                ));
            }
            per_event = if n > 0 && d.event == last {
                per_event + 1
            } else {
                1
            };
            if per_event > answer::MAX_DOCUMENTS_PER_EVENT {
                return bad(format!(
                    "more than {} documents for event {}",
                    answer::MAX_DOCUMENTS_PER_EVENT,
                    d.event
                ));
            }
            if n > 0 && start < self.documents[n - 1].json.end as usize {
                in_text_order = false;
            }
            last = d.event;
        }
        if !in_text_order {
            // Spans may come in any order but never share bytes: sorted by start,
            // each must begin at or after the end of the one before.
            let mut spans: Vec<std::ops::Range<u32>> =
                self.documents.iter().map(|d| d.json.clone()).collect();
            spans.sort_unstable_by_key(|r| r.start);
            if let Some(w) = spans.windows(2).find(|w| w[1].start < w[0].end) {
                return bad(format!(
                    "documents overlap: bytes {}..{} and {}..{}",
                    w[0].start, w[0].end, w[1].start, w[1].end
                ));
            }
        }
        let failed = events_with_errors(&self.problems, events)?;
        if !self.problems.is_empty() {
            self.documents.retain(|d| !failed[d.event as usize]);
        }
        Ok(self)
    }

    /// Bytes and documents of the answer, for the caps on rebuilt answers.
    fn size(&self) -> (usize, usize) {
        (self.text.len(), self.documents.len())
    }

    /// One outcome per event, for tools and tests (the pipeline reads the packed
    /// form directly).
    pub fn outcomes(&self, events: usize) -> Vec<Outcome<Vec<DocumentRef<'_>>>> {
        let mut out: Vec<Outcome<Vec<DocumentRef<'_>>>> =
            (0..events).map(|_| Outcome::Ok(Vec::new())).collect();
        for d in &self.documents {
            if let Outcome::Ok(docs) = &mut out[d.event as usize] {
                docs.push(DocumentRef {
                    channel: d.channel,
                    json: self.json(d),
                });
            }
        }
        for p in &self.problems {
            out[p.event as usize] = p.problem.clone().into();
        }
        out
    }
}

/// A filter's answer for a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decisions {
    /// One entry per event: keep the line. False for events with a problem.
    pub keep: Vec<bool>,
    /// Events the filter could not decide, or that failed it.
    pub problems: Vec<EventProblem>,
}

impl Decisions {
    /// Checks a plugin's answer for `events` events.
    pub(crate) fn checked(mut self, events: usize) -> Result<Self, CallError> {
        if self.keep.len() != events {
            return Err(CallError::ResultCount {
                expected: events,
                got: self.keep.len(),
            });
        }
        events_with_errors(&self.problems, events)?;
        for p in &self.problems {
            self.keep[p.event as usize] = false;
        }
        Ok(self)
    }

    /// One outcome per event, for tools and tests.
    pub fn outcomes(&self) -> Vec<Outcome<bool>> {
        let mut out: Vec<Outcome<bool>> = self.keep.iter().map(|k| Outcome::Ok(*k)).collect();
        for p in &self.problems {
            out[p.event as usize] = p.problem.clone().into();
        }
        out
    }
}

/// Which events have an error; an error for an event out of range, or a second
/// error for the same event, breaks the contract (and would let a plugin make
/// the host's work grow with errors it invents).
fn events_with_errors(problems: &[EventProblem], events: usize) -> Result<Vec<bool>, CallError> {
    let mut failed = vec![false; events];
    for p in problems {
        match failed.get_mut(p.event as usize) {
            None => {
                return Err(CallError::BadAnswer {
                    message: format!("error for event {} in a batch of {events}", p.event),
                });
            }
            Some(true) => {
                return Err(CallError::BadAnswer {
                    message: format!("more than one error for event {}", p.event),
                });
            }
            Some(seen) => *seen = true,
        }
    }
    Ok(failed)
}

/// An answer the runner can rebuild event by event when a batch failed as a
/// whole and its events are retried alone.
pub(crate) trait Answer: Default {
    /// Appends the answer for a batch of one event, which is event `event` here.
    fn append_single(&mut self, single: Self, event: u32);
    /// Records that event `event` failed the plugin on its own.
    fn append_failed(&mut self, error: CallError, event: u32);
    /// Why `single` cannot be appended without the rebuilt answer going over
    /// the caps of one answer, if it cannot.
    fn over_caps_with(&self, single: &Self) -> Option<String>;
}

/// The problems of a one-event answer, as event `event`'s.
fn renumbered(problems: Vec<EventProblem>, event: u32) -> impl Iterator<Item = EventProblem> {
    problems
        .into_iter()
        .map(move |p| EventProblem { event, ..p })
}

/// Event `event` failed the plugin on its own.
fn failure(error: CallError, event: u32) -> EventProblem {
    EventProblem {
        event,
        problem: Problem::Failed(error),
    }
}

impl Answer for ParsedBatch {
    fn append_single(&mut self, single: Self, event: u32) {
        let shift = self.text.len() as u32;
        self.text.push_str(&single.text);
        self.documents
            .extend(single.documents.into_iter().map(|d| PackedDocument {
                event,
                channel: d.channel,
                json: d.json.start + shift..d.json.end + shift,
            }));
        self.problems.extend(renumbered(single.problems, event));
    }

    fn append_failed(&mut self, error: CallError, event: u32) {
        self.problems.push(failure(error, event));
    }

    fn over_caps_with(&self, single: &Self) -> Option<String> {
        let ((text, docs), (more_text, more_docs)) = (self.size(), single.size());
        (text + more_text > answer::MAX_TEXT_BYTES || docs + more_docs > answer::MAX_DOCUMENTS)
            .then(|| {
                format!(
                    "the batch's answers would pass {} bytes or {} documents",
                    answer::MAX_TEXT_BYTES,
                    answer::MAX_DOCUMENTS
                )
            })
    }
}

impl Answer for Decisions {
    fn append_single(&mut self, single: Self, event: u32) {
        self.keep.extend(single.keep);
        self.problems.extend(renumbered(single.problems, event));
    }

    fn append_failed(&mut self, error: CallError, event: u32) {
        self.keep.push(false);
        self.problems.push(failure(error, event));
    }

    fn over_caps_with(&self, _single: &Self) -> Option<String> {
        None
    }
}

/// What became of one event in one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The plugin's answer.
    Ok(T),
    /// The plugin reported an error for this event.
    Rejected(String),
    /// The call failed on this event alone (trap, timeout, memory).
    Failed(CallError),
}

impl<T> From<Problem> for Outcome<T> {
    fn from(p: Problem) -> Self {
        match p {
            Problem::Rejected(reason) => Outcome::Rejected(reason),
            Problem::Failed(e) => Outcome::Failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_keep_their_parts_and_absent_fields() {
        let mut b = EventBatch::new(2);
        b.push("first é", [Some("POST"), None]);
        b.push("", [None, Some("")]);
        assert_eq!(b.len(), 2);
        assert_eq!(b.message(0), "first é");
        assert_eq!(b.values(0).collect::<Vec<_>>(), [Some("POST"), None]);
        assert_eq!(b.values(1).collect::<Vec<_>>(), [None, Some("")]);
        let one = b.one(1);
        assert_eq!((one.len(), one.message(0)), (1, ""));
        assert_eq!(one.values(0).collect::<Vec<_>>(), [None, Some("")]);
    }

    fn doc(event: u32, json: std::ops::Range<u32>) -> PackedDocument {
        PackedDocument {
            event,
            channel: 0,
            json,
        }
    }

    #[test]
    fn answers_breaking_the_contract_fail_the_batch() {
        let answer = |documents| ParsedBatch {
            text: "{}é{}".into(),
            documents,
            problems: vec![],
        };
        assert!(answer(vec![doc(0, 0..2), doc(1, 4..6)]).checked(2).is_ok());
        for bad in [
            vec![doc(2, 0..2)],               // no such event
            vec![doc(1, 0..2), doc(0, 0..2)], // out of order
            vec![doc(0, 0..9)],               // past the text
            vec![doc(0, 0..3)],               // inside `é`
        ] {
            let err = answer(bad).checked(2).unwrap_err();
            assert!(matches!(err, CallError::BadAnswer { .. }), "{err}");
        }
    }

    #[test]
    fn an_event_with_an_error_loses_its_documents_and_the_others_keep_theirs() {
        let parsed = ParsedBatch {
            text: "{}{}".into(),
            documents: vec![doc(0, 0..2), doc(1, 2..4)],
            problems: vec![EventProblem {
                event: 0,
                problem: Problem::Rejected("no".into()),
            }],
        }
        .checked(2)
        .unwrap();
        let outcomes = parsed.outcomes(2);
        assert_eq!(outcomes[0], Outcome::Rejected("no".into()));
        assert!(matches!(&outcomes[1], Outcome::Ok(d) if d[0].json == "{}"));
    }

    #[test]
    fn filter_answers_must_have_one_decision_per_event() {
        let d = Decisions {
            keep: vec![true],
            problems: vec![],
        };
        assert!(matches!(
            d.checked(2),
            Err(CallError::ResultCount {
                expected: 2,
                got: 1
            })
        ));
    }
}
