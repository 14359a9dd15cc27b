//! Rows: the typed columns of a block's documents, one compact record per
//! document, stored next to their bodies (plain while the block fills, then
//! LZ4).
//!
//! A record is the seq, index and `_id`, the line time, a bitmap of the
//! typed columns present and their values (times and seqs as varints, text
//! as a varint length and its bytes, numbers as 8 bytes). Records are
//! self-contained, so the rows of two fragments are one block's rows once
//! concatenated. Readers decode a block's rows in one pass ([`records`],
//! `for_each_in`), their text borrowed from the block.

use super::blocks::{Codec, push_varint, read_varint, unpack_rows};
use super::{StoreError, StoreResult};
use crate::document::columns::{Columns, MEASURES};
use std::borrow::Cow;
use std::path::Path;

/// One stored document as read back: its place and its typed columns (their
/// text borrowed from the block's rows: a million are read without
/// allocating).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row<'a> {
    /// Arrival order in the store.
    pub seq: i64,
    /// Its index.
    pub index: &'a str,
    /// Its `_id`.
    pub id: &'a str,
    /// [`crate::document::Document::line_time`]; `None` for a document moved
    /// from a store of schema 1 or 2.
    pub line_time: Option<i64>,
    /// Its typed columns.
    pub columns: Columns<'a>,
}

/// Bits of the presence bitmap, in the order values follow it.
const TIME: u64 = 1;
const TRANSACTION: u64 = 1 << 1;
const LEVEL: u64 = 1 << 2;
const METHOD: u64 = 1 << 3;
const PATH: u64 = 1 << 4;
const STATUS: u64 = 1 << 5;
const PREDICTION: u64 = 1 << 6;
const PROBABILITY: u64 = 1 << 7;
/// Then one bit per measure, then one per feature.
const FIRST_MEASURE: u32 = 8;
const FIRST_FEATURE: u32 = FIRST_MEASURE + MEASURES.len() as u32;

/// A record that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("rows are damaged at byte {at}: {what}")]
pub struct RowsError {
    /// Where in the rows.
    pub at: usize,
    /// What is wrong.
    pub what: &'static str,
}

/// Appends the record of one document to `out`: its seq, index, id and
/// line time, then its typed columns as [`encode_columns`] wrote them.
pub fn push(
    out: &mut Vec<u8>,
    seq: i64,
    index: &str,
    id: &str,
    line_time: Option<i64>,
    columns: &[u8],
) {
    push_varint(out, seq as u64);
    push_text(out, index);
    push_text(out, id);
    // 0 is "no line time" for documents moved from schemas 1 and 2; a line
    // time is never negative.
    push_varint(out, line_time.map_or(0, |t| t as u64 + 1));
    out.extend_from_slice(columns);
}

/// Appends the typed columns of a document: a bitmap of those present, then
/// their values.
pub fn encode_columns(out: &mut Vec<u8>, c: &Columns<'_>) {
    let mut present = 0u64;
    let mut set = |bit: u64, on: bool| {
        if on {
            present |= bit
        }
    };
    set(TIME, c.time_ms.is_some());
    set(TRANSACTION, c.transaction_id.is_some());
    set(LEVEL, c.level.is_some());
    set(METHOD, c.http_method.is_some());
    set(PATH, c.http_path.is_some());
    set(STATUS, c.status_code.is_some());
    set(PREDICTION, c.prediction.is_some());
    set(PROBABILITY, c.probability.is_some());
    for (i, m) in c.measures.iter().enumerate() {
        set(1 << (FIRST_MEASURE + i as u32), m.is_some());
    }
    for (i, f) in c.features.iter().enumerate() {
        set(1 << (FIRST_FEATURE + i as u32), f.is_some());
    }
    push_varint(out, present);
    if let Some(t) = c.time_ms {
        push_varint(out, zigzag(t));
    }
    for text in [c.transaction_id, c.level, c.http_method, c.http_path]
        .into_iter()
        .flatten()
    {
        push_text(out, text);
    }
    for number in [c.status_code, c.prediction, c.probability]
        .into_iter()
        .chain(c.measures)
        .chain(c.features)
        .flatten()
    {
        out.extend_from_slice(&number.to_le_bytes());
    }
}

/// The `@timestamp` (ms) of columns [`encode_columns`] wrote.
pub fn time_of(columns: &[u8]) -> Option<i64> {
    let mut r = Reader { b: columns, at: 0 };
    let present = r.varint().ok()?;
    if present & TIME == 0 {
        return None;
    }
    r.varint().ok().map(unzigzag)
}

/// Every record of `rows` with the bytes it takes, in order.
pub fn records(rows: &[u8]) -> Result<Vec<(Row<'_>, std::ops::Range<usize>)>, RowsError> {
    let mut out = Vec::new();
    let mut r = Reader { b: rows, at: 0 };
    while r.at < rows.len() {
        let start = r.at;
        out.push((r.row()?, start..r.at));
    }
    Ok(out)
}

/// A block's rows as stored (`codec`, `packed`) made plain; errors name the
/// store and the block.
pub(super) fn unpack<'p>(
    path: &Path,
    first_seq: i64,
    codec: i64,
    packed: &'p [u8],
) -> StoreResult<Cow<'p, [u8]>> {
    Codec::from_code(codec)
        .and_then(|codec| unpack_rows(first_seq, codec, packed))
        .map_err(|source| StoreError::Block {
            path: path.to_path_buf(),
            source,
        })
}

/// [`records`] of a block's plain rows; errors name the store and the block.
pub(super) fn records_at<'r>(
    path: &Path,
    first_seq: i64,
    plain: &'r [u8],
) -> StoreResult<Vec<(Row<'r>, std::ops::Range<usize>)>> {
    records(plain).map_err(|source| StoreError::Rows {
        path: path.to_path_buf(),
        first_seq,
        source,
    })
}

/// Calls `f` with each row of `block`, a query's row whose first three
/// columns are a block's `first_seq, codec, rows`.
pub(super) fn for_each_in(
    path: &Path,
    block: &rusqlite::Row<'_>,
    mut f: impl FnMut(&Row<'_>) -> StoreResult<()>,
) -> StoreResult<()> {
    let at = |e| StoreError::at(path, e);
    let first_seq: i64 = block.get(0).map_err(at)?;
    let codec: i64 = block.get(1).map_err(at)?;
    let packed = block
        .get_ref(2)
        .map_err(at)?
        .as_blob()
        .map_err(|e| at(e.into()))?;
    let plain = unpack(path, first_seq, codec, packed)?;
    for (row, _) in records_at(path, first_seq, &plain)? {
        f(&row)?;
    }
    Ok(())
}

struct Reader<'b> {
    b: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn fail<T>(&self, what: &'static str) -> Result<T, RowsError> {
        Err(RowsError { at: self.at, what })
    }

    fn varint(&mut self) -> Result<u64, RowsError> {
        match read_varint(self.b, self.at) {
            Some((v, next)) => {
                self.at = next;
                Ok(v)
            }
            None => self.fail("a number is cut or too long"),
        }
    }

    fn text(&mut self) -> Result<&'b str, RowsError> {
        let len = self.varint()? as usize;
        let Some(bytes) = self
            .at
            .checked_add(len)
            .and_then(|end| self.b.get(self.at..end))
        else {
            return self.fail("a text runs past the end");
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            return self.fail("a text is not UTF-8");
        };
        self.at += len;
        Ok(text)
    }

    fn number(&mut self) -> Result<f64, RowsError> {
        let Some(bytes) = self.b.get(self.at..self.at + 8) else {
            return self.fail("a number runs past the end");
        };
        self.at += 8;
        Ok(f64::from_le_bytes(bytes.try_into().expect("8 bytes")))
    }

    fn row(&mut self) -> Result<Row<'b>, RowsError> {
        let seq = self.varint()? as i64;
        let index = self.text()?;
        let id = self.text()?;
        let line_time = match self.varint()? {
            0 => None,
            t => Some((t - 1) as i64),
        };
        let present = self.varint()?;
        let has = |bit: u64| present & bit != 0;
        let mut row = Row {
            seq,
            index,
            id,
            line_time,
            columns: Columns::default(),
        };
        let c = &mut row.columns;
        if has(TIME) {
            c.time_ms = Some(unzigzag(self.varint()?));
        }
        for (bit, slot) in [
            (TRANSACTION, &mut c.transaction_id),
            (LEVEL, &mut c.level),
            (METHOD, &mut c.http_method),
            (PATH, &mut c.http_path),
        ] {
            if has(bit) {
                *slot = Some(self.text()?);
            }
        }
        for (bit, slot) in [
            (STATUS, &mut c.status_code),
            (PREDICTION, &mut c.prediction),
            (PROBABILITY, &mut c.probability),
        ] {
            if has(bit) {
                *slot = Some(self.number()?);
            }
        }
        for (i, slot) in c.measures.iter_mut().enumerate() {
            if has(1 << (FIRST_MEASURE + i as u32)) {
                *slot = Some(self.number()?);
            }
        }
        for (i, slot) in c.features.iter_mut().enumerate() {
            if has(1 << (FIRST_FEATURE + i as u32)) {
                *slot = Some(self.number()?);
            }
        }
        Ok(row)
    }
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    push_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(rows: &[u8]) -> Result<Vec<Row<'_>>, RowsError> {
        Ok(records(rows)?.into_iter().map(|(row, _)| row).collect())
    }

    #[test]
    fn records_read_back_as_written() {
        let line = Columns::of(
            r#"{"@timestamp":"2025-11-21T09:12:03.250Z","transaction_id":"t1","level":"INFO","http_method":"POST","http_path":"/predict","status_code":200}"#,
        );
        let message = Columns::of(
            r#"{"@timestamp":"1969-12-31T23:59:59Z","input_data":{"AGE":61.5,"SMOKING":2},"result":{"prediction":1,"probability":0.8},"latency_ms":12.5}"#,
        );
        let mut rows = Vec::new();
        let encoded = |c: &Columns<'_>| {
            let mut out = Vec::new();
            encode_columns(&mut out, c);
            out
        };
        push(
            &mut rows,
            7,
            "ml-api-logs",
            "a",
            Some(20251121091203),
            &encoded(&line),
        );
        push(
            &mut rows,
            8,
            "ml-api-message",
            "a",
            None,
            &encoded(&message),
        );
        push(
            &mut rows,
            9,
            "x",
            "",
            Some(0),
            &encoded(&Columns::default()),
        );
        let back = decode(&rows).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0].seq, 7);
        assert_eq!(back[0].line_time, Some(20251121091203));
        assert_eq!(back[0].columns.time_ms, Some(1_763_716_323_250));
        assert_eq!(back[0].columns.transaction_id, Some("t1"));
        assert_eq!(back[0].columns.http_path, Some("/predict"));
        assert_eq!(back[0].columns.status_code, Some(200.0));
        assert_eq!(back[1].line_time, None);
        assert_eq!(back[1].columns.time_ms, Some(-1000));
        assert_eq!(back[1].columns.features[1], Some(61.5));
        assert_eq!(back[1].columns.features[2], Some(2.0));
        assert_eq!(back[1].columns.features[0], None);
        assert_eq!(back[1].columns.prediction, Some(1.0));
        assert_eq!(back[1].columns.probability, Some(0.8));
        assert_eq!(back[1].columns.measures[0], Some(12.5));
        assert_eq!(back[2].line_time, Some(0));
        assert_eq!(back[2].columns.time_ms, None);
    }

    #[test]
    fn damaged_rows_are_errors_not_panics() {
        let mut rows = Vec::new();
        let mut columns = Vec::new();
        encode_columns(&mut columns, &Columns::of(r#"{"transaction_id":"t"}"#));
        push(&mut rows, 1, "i", "id", Some(1), &columns);
        for cut in 0..rows.len() {
            assert!(decode(&rows[..cut]).is_err() || cut == 0, "cut at {cut}");
        }
        assert!(decode(&[0xff; 11]).is_err());
    }
}
