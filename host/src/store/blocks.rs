//! Blocks: consecutive documents stored together, so that they compress
//! well (documents of one API repeat each other; one LZ4 block over a few
//! hundred of them is about a sixth of their size, one per document barely
//! shrinks).
//!
//! A block holds documents from `first_seq` to `last_seq` (all of them, but
//! those retention deleted): their `rows` ([`super::rows`]), the byte length
//! of each document's source as LEB128 varints (`lengths`), and their
//! sources concatenated (`body`); rows and body plain (codec 0, the newest
//! block while it fills) or LZ4 (codec 2; codec 1, zstd, is schema 3's, read
//! when such a store is moved). The blocks the pipeline packs (codec 3) keep
//! each line document's line once and unescaped instead of twice escaped
//! ([`Form`]): a third less for LZ4 to read, and a third smaller.

use crate::document::line_document::RAW_LOG;
use crate::document::{Document, LineText, write_line_text};
use std::borrow::Cow;
use thiserror::Error;

/// Bytes of sources gathered before a block is compressed: large enough to
/// compress to a sixth of the JSON, small enough that reading one document
/// decompresses a fraction of a millisecond of data.
pub const BLOCK_BYTES: usize = 256 << 10;

/// Most bytes a block may decompress to (a damaged store must not make a
/// reader allocate without bound): the largest block the writer makes is
/// [`BLOCK_BYTES`] plus one document of at most 1 MiB.
const MAX_BLOCK_TEXT: usize = 64 << 20;

/// How a block's body is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// The sources as they are.
    Plain = 0,
    /// One zstd frame (schema 3's blocks, read when a store is moved).
    Zstd = 1,
    /// One LZ4 block, its plain size first (4 bytes, little-endian).
    Lz4 = 2,
    /// As [`Codec::Lz4`], of the documents each in its [`Form`].
    Lz4Lines = 3,
}

impl Codec {
    /// The codec stored as `code`.
    pub fn from_code(code: i64) -> Result<Self, BlockError> {
        match code {
            0 => Ok(Codec::Plain),
            1 => Ok(Codec::Zstd),
            2 => Ok(Codec::Lz4),
            3 => Ok(Codec::Lz4Lines),
            other => Err(BlockError::UnknownCodec(other)),
        }
    }
}

/// A block that cannot be read.
#[derive(Debug, Error)]
pub enum BlockError {
    /// Neither plain, zstd nor LZ4.
    #[error("unknown block codec {0}")]
    UnknownCodec(i64),
    /// The lengths are not varints, or do not add up to the body.
    #[error("block {first_seq}: {what}")]
    Damaged {
        /// The block.
        first_seq: i64,
        /// What is wrong.
        what: String,
    },
}

/// What a block holds, for the queries that pick blocks without reading
/// them: its documents' time and line-time ranges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bounds {
    /// The oldest and newest `@timestamp` (ms), over documents with one.
    pub time: Option<(i64, i64)>,
    /// The lowest and highest line time, over documents with one above 0.
    pub line_time: Option<(i64, i64)>,
    /// Documents without a line time (0, or moved from schema 1 or 2).
    pub loose: i64,
}

impl Bounds {
    /// Takes one more document's times in.
    pub fn add(&mut self, time: Option<i64>, line_time: Option<i64>) {
        if let Some(t) = time {
            self.time = Some(widen(self.time, t, t));
        }
        match line_time {
            Some(t) if t > 0 => self.line_time = Some(widen(self.line_time, t, t)),
            _ => self.loose += 1,
        }
    }

    /// Takes another block's bounds in.
    pub fn merge(&mut self, other: &Bounds) {
        if let Some((lo, hi)) = other.time {
            self.time = Some(widen(self.time, lo, hi));
        }
        if let Some((lo, hi)) = other.line_time {
            self.line_time = Some(widen(self.line_time, lo, hi));
        }
        self.loose += other.loose;
    }
}

fn widen(range: Option<(i64, i64)>, lo: i64, hi: i64) -> (i64, i64) {
    match range {
        Some((a, b)) => (a.min(lo), b.max(hi)),
        None => (lo, hi),
    }
}

/// Documents gathered into a block, in seq order: their bodies, their rows
/// ([`super::rows`]) and their bounds.
#[derive(Debug, Clone)]
pub struct BlockBuilder {
    first_seq: i64,
    count: i64,
    lengths: Vec<u8>,
    body: Vec<u8>,
    rows: Vec<u8>,
    bounds: Bounds,
}

impl BlockBuilder {
    /// An empty block whose first document will be `first_seq`.
    pub fn new(first_seq: i64) -> Self {
        Self {
            first_seq,
            count: 0,
            lengths: Vec::new(),
            body: Vec::with_capacity(BLOCK_BYTES + BLOCK_BYTES / 4),
            rows: Vec::new(),
            bounds: Bounds::default(),
        }
    }

    /// Empties it for a block whose first document will be `first_seq`,
    /// keeping its buffers.
    pub fn reset(&mut self, first_seq: i64) {
        self.first_seq = first_seq;
        self.count = 0;
        self.lengths.clear();
        self.body.clear();
        self.rows.clear();
        self.bounds = Bounds::default();
    }

    /// Adds every document of a plain fragment read back from the store
    /// (rows are self-contained, so they are concatenated as they are).
    pub fn append_plain(
        &mut self,
        count: i64,
        lengths: &[u8],
        rows: &[u8],
        body: &[u8],
        bounds: &Bounds,
    ) {
        self.lengths.extend_from_slice(lengths);
        self.rows.extend_from_slice(rows);
        self.body.extend_from_slice(body);
        self.count += count;
        self.bounds.merge(bounds);
    }

    /// Adds every document of another builder.
    pub fn append(&mut self, other: &BlockBuilder) {
        self.append_plain(
            other.count,
            &other.lengths,
            &other.rows,
            &other.body,
            &other.bounds,
        );
    }

    /// Adds the next document: its source, its row ([`super::rows::push`])
    /// and its times, which widen the block's bounds.
    pub fn push(&mut self, source: &[u8], row: &[u8], time: Option<i64>, line_time: Option<i64>) {
        self.push_row(source.len(), row, time, line_time);
        self.body.extend_from_slice(source);
    }

    /// [`Self::push`] without the source, for a block whose sources come
    /// packed ([`PackedSources`]): its length, row and times only.
    pub fn push_row(
        &mut self,
        length: usize,
        row: &[u8],
        time: Option<i64>,
        line_time: Option<i64>,
    ) {
        push_varint(&mut self.lengths, length as u64);
        self.rows.extend_from_slice(row);
        self.bounds.add(time, line_time);
        self.count += 1;
    }

    /// The lengths of the documents, as stored.
    pub fn lengths(&self) -> &[u8] {
        &self.lengths
    }

    /// The sources, concatenated (a plain block's body).
    pub fn text(&self) -> &[u8] {
        &self.body
    }

    /// The rows, concatenated (a plain block's rows).
    pub fn rows(&self) -> &[u8] {
        &self.rows
    }

    /// Its documents' bounds.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// Its documents.
    pub fn count(&self) -> i64 {
        self.count
    }

    /// Bytes of sources gathered.
    pub fn text_bytes(&self) -> usize {
        self.body.len()
    }

    /// True when no document was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The seq of the first document.
    pub fn first_seq(&self) -> i64 {
        self.first_seq
    }

    /// The seq of the last document (`first_seq - 1` when empty).
    pub fn last_seq(&self) -> i64 {
        self.first_seq + self.count - 1
    }

    /// The block's rows and body as stored: plain, or compressed with LZ4
    /// (the writer's codec for full blocks).
    pub fn encode(&self, compressed: bool) -> (Cow<'_, [u8]>, Cow<'_, [u8]>) {
        if compressed {
            let (mut rows, mut body) = (PackBuffer::default(), PackBuffer::default());
            self.pack_into(&mut rows, &mut body);
            (
                Cow::Owned(rows.bytes().to_vec()),
                Cow::Owned(body.bytes().to_vec()),
            )
        } else {
            (Cow::Borrowed(&self.rows[..]), Cow::Borrowed(&self.body[..]))
        }
    }

    /// The block's rows and body compressed with LZ4, into `rows` and `body`
    /// (their buffers reused).
    pub fn pack_into(&self, rows: &mut PackBuffer, body: &mut PackBuffer) {
        self.pack_rows_into(rows);
        body.pack(&self.body);
    }

    /// The block's rows compressed with LZ4, into `rows` (for a block whose
    /// body came packed).
    pub fn pack_rows_into(&self, rows: &mut PackBuffer) {
        rows.pack(&self.rows);
    }
}

/// The sources of consecutive documents, concatenated and compressed as a
/// block's body (LZ4, [`Codec::Lz4`]) by the worker that wrote them: the
/// writer then only adds their rows. Full blocks are the most work a
/// write does; packed on the workers, they are packed on every core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedSources {
    /// Documents whose sources it holds: the one it comes with and those
    /// after it.
    pub count: usize,
    /// Their sources' bytes, plain.
    pub plain_bytes: usize,
    /// Each one's source's length, as the block's `lengths` (LEB128).
    pub lengths: Vec<u8>,
    /// The body as stored.
    pub body: Vec<u8>,
    /// Whether their sources were dropped once packed (the documents'
    /// `source` is then empty: the store reads them from `body`).
    pub dropped: bool,
}

impl PackedSources {
    /// Packs `sources`, each with its line when it is a line document
    /// ([`Codec::Lz4Lines`]).
    pub fn pack<'s>(
        sources: impl Iterator<Item = (&'s str, Option<&'s DocumentLine<'s>>)>,
        scratch: &mut PackScratch,
    ) -> Self {
        let plain = &mut scratch.plain;
        plain.clear();
        let (mut count, mut plain_bytes, mut lengths) = (0, 0, Vec::new());
        for (source, line) in sources {
            let length = Form::push(plain, source, line);
            count += 1;
            plain_bytes += length;
            push_varint(&mut lengths, length as u64);
        }
        scratch.packed.pack(plain);
        Self {
            count,
            plain_bytes,
            // Its own allocation, of its size: the room LZ4 asks for is
            // the plain text's size, about seven times the packed one.
            body: scratch.packed.bytes().to_vec(),
            lengths,
            dropped: false,
        }
    }

    /// Each document's source's length.
    pub fn source_lengths(&self) -> impl Iterator<Item = u64> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            let (n, next) = read_varint(&self.lengths, at)?;
            at = next;
            Some(n)
        })
    }

    /// The documents' sources, unpacked (for a block whose sources were
    /// dropped, when the store cannot take it whole: a replay).
    pub fn unpack(&self) -> Result<Block, BlockError> {
        Block::decode(
            0,
            (0..self.count as i64).collect(),
            Codec::Lz4Lines,
            &self.lengths,
            &self.body,
        )
    }

    /// Packs the full blocks of consecutive documents (a batch the pipeline
    /// made) into the first document of each ([`Document::block`]). `lines`
    /// has the line of each line document, at its place (empty: none).
    /// With `drop_sources`, the packed documents' sources are dropped (no
    /// sink but the store reads them). A document the line's text was left
    /// out of ([`crate::document::LineCopies::LeftOut`]) and that is not
    /// packed gets it back: every document then holds its whole source or
    /// none.
    pub fn pack_blocks(
        documents: &mut [Document],
        lines: &[Option<DocumentLine<'_>>],
        scratch: &mut PackScratch,
        drop_sources: bool,
    ) {
        let line = |i: usize| lines.get(i).and_then(Option::as_ref);
        let groups = Self::groups(
            documents
                .iter()
                .enumerate()
                .map(|(i, d)| d.source.len() + line(i).map_or(0, |l| l.text.left_out)),
        );
        let mut packed_to = 0;
        for &(first, count) in &groups {
            let sources = documents[first..first + count]
                .iter()
                .enumerate()
                .map(|(k, d)| (d.source.as_str(), line(first + k)));
            let mut packed = Self::pack(sources, scratch);
            if drop_sources {
                for document in &mut documents[first..first + count] {
                    document.source = String::new();
                }
                packed.dropped = true;
            }
            documents[first].block = Some(Box::new(packed));
            packed_to = first + count;
        }
        for (i, document) in documents.iter_mut().enumerate().skip(packed_to) {
            if let Some(line) = line(i) {
                line.fill(&mut document.source);
            }
        }
    }

    /// Splits consecutive documents of `lengths` bytes into the groups
    /// worth packing, as `(first, count)`: [`BLOCK_BYTES`] each, the rest
    /// in the last one when it is under a quarter of that. Fewer than that
    /// in all are left to the writer, which gathers small writes into full
    /// blocks (a few lines polled at a time).
    pub fn groups(lengths: impl Iterator<Item = usize>) -> Vec<(usize, usize)> {
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let (mut first, mut count, mut bytes) = (0, 0, 0);
        for length in lengths {
            count += 1;
            bytes += length;
            if bytes >= BLOCK_BYTES {
                groups.push((first, count));
                (first, count, bytes) = (first + count, 0, 0);
            }
        }
        match groups.last_mut() {
            _ if bytes >= BLOCK_BYTES / 4 => groups.push((first, count)),
            Some(last) => last.1 += count,
            None => {}
        }
        groups
    }
}

/// The line of a line document, as [`crate::document::write_line_document`]
/// wrote it into the document (or left it out).
#[derive(Debug, Clone, Copy)]
pub struct DocumentLine<'a> {
    /// Where the document holds it.
    pub text: LineText,
    /// Its header, as `raw_log` begins.
    pub header: &'a str,
    /// Its message.
    pub message: &'a str,
}

impl DocumentLine<'_> {
    /// Writes the line's text back into `document` when it was left out of
    /// it ([`LineText::left_out`]).
    pub fn fill(&self, document: &mut String) {
        if self.text.left_out == 0 {
            return;
        }
        let after = document.split_off(self.text.message);
        write_line_text(document, self.header, self.message);
        document.push_str(&after);
    }

    /// `document` whole: with the line's text written back if it was left out.
    fn whole<'d>(&self, document: &'d str) -> Cow<'d, str> {
        if self.text.left_out == 0 {
            return Cow::Borrowed(document);
        }
        let mut whole = document.to_string();
        self.fill(&mut whole);
        Cow::Owned(whole)
    }
}

/// How a document is kept in a [`Codec::Lz4Lines`] block, before LZ4: a
/// tag, then
/// - tag 0: its source as it is (its length is in the block's `lengths`);
/// - tag 1 (a line document): the lengths of `A`, `H`, `S` and `C` as
///   varints, then these four, where the source is `A`, `S` escaped,
///   `","raw_log":"`, `H` escaped, `S` escaped, then `C`: the header `H`
///   and the message `S` once, unescaped, instead of twice, escaped.
///
/// Escaped as JSON strings are ([`logpipe_json::push_escaped`]: `"`, `\`
/// and control characters). A block of line documents is then a third
/// smaller, and LZ4 reads a third less (BENCHMARKS.md).
pub struct Form;

const AS_IT_IS: u8 = 0;
const LINE: u8 = 1;

impl Form {
    /// Appends the form of `source` to `out`; returns the length of the
    /// document it stands for (`source` and the line's text left out of it).
    fn push(out: &mut Vec<u8>, source: &str, line: Option<&DocumentLine<'_>>) -> usize {
        let start = out.len();
        let length = source.len() + line.map_or(0, |l| l.text.left_out);
        if let Some(line) = line
            && let Some((a, c)) = Self::ends(source, line)
        {
            out.push(LINE);
            for part in [a, line.header, line.message, c] {
                push_varint(out, part.len() as u64);
            }
            for part in [a, line.header, line.message, c] {
                out.extend_from_slice(part.as_bytes());
            }
            // Never longer than the document and its tag (a reader's bound
            // on the plain size).
            if out.len() - start <= 1 + length {
                debug_assert_eq!(
                    Self::expand(&out[start..], length).as_deref(),
                    Some(&*line.whole(source)),
                    "the form of a line document gives it back"
                );
                return length;
            }
            out.truncate(start);
        }
        out.push(AS_IT_IS);
        match line {
            Some(line) => out.extend_from_slice(line.whole(source).as_bytes()),
            None => out.extend_from_slice(source.as_bytes()),
        }
        length
    }

    /// The text of `source` before the line's message and after `raw_log`
    /// (`A` and `C`), when the source is laid out as [`LineText`] says.
    fn ends<'s>(source: &'s str, line: &DocumentLine<'_>) -> Option<(&'s str, &'s str)> {
        let LineText {
            message,
            raw_log_end,
            ..
        } = line.text;
        let a = source.get(..message)?;
        let c = source.get(raw_log_end..)?;
        (a.ends_with("\"message\":\"") && c.starts_with('"')).then_some((a, c))
    }

    /// The source of a document kept as `form`, `length` bytes long; `None`
    /// when `form` is not one (a damaged block).
    fn expand(form: &[u8], length: usize) -> Option<String> {
        let mut out = String::with_capacity(length);
        Self::expand_into(&mut out, form, length)?;
        Some(out)
    }

    /// Appends the document kept as the start of `form` to `out` (`length`
    /// bytes); returns the bytes of `form` it took.
    fn expand_into(out: &mut String, form: &[u8], length: usize) -> Option<usize> {
        let start = out.len();
        let text = |from: usize, n: usize| -> Option<&str> {
            std::str::from_utf8(form.get(from..from.checked_add(n)?)?).ok()
        };
        let used = match *form.first()? {
            AS_IT_IS => {
                out.push_str(text(1, length)?);
                1 + length
            }
            LINE => {
                let mut at = 1;
                let mut lengths = [0usize; 4];
                for n in &mut lengths {
                    let (v, next) = read_varint(form, at)?;
                    *n = usize::try_from(v).ok().filter(|&v| v <= length)?;
                    at = next;
                }
                let [a, h, s, c] = lengths;
                // Escaping never shortens: a damaged form is refused before
                // it is expanded far past its length.
                if a + 2 * s + RAW_LOG.len() + h + c > length {
                    return None;
                }
                let (a_at, h_at, s_at, c_at) = (at, at + a, at + a + h, at + a + h + s);
                out.push_str(text(a_at, a)?);
                write_line_text(out, text(h_at, h)?, text(s_at, s)?);
                out.push_str(text(c_at, c)?);
                c_at + c
            }
            _ => return None,
        };
        (out.len() - start == length).then_some(used)
    }
}

/// Buffers a worker packs blocks with, kept from batch to batch.
#[derive(Debug, Default)]
pub struct PackScratch {
    plain: Vec<u8>,
    packed: PackBuffer,
}

/// Where blocks are compressed, one after the other: LZ4 asks for room for
/// its worst case, zeroed, which this keeps (a `Vec` cut to the packed size
/// would be zeroed again for the next block: a quarter MiB each time).
#[derive(Debug, Default)]
pub struct PackBuffer {
    room: Vec<u8>,
    len: usize,
}

impl PackBuffer {
    /// What the last packing wrote.
    pub fn bytes(&self) -> &[u8] {
        &self.room[..self.len]
    }

    /// `plain` compressed: its size (4 bytes, little-endian), then one LZ4
    /// block.
    fn pack(&mut self, plain: &[u8]) {
        let room = 4 + lz4_flex::block::get_maximum_output_size(plain.len());
        if self.room.len() < room {
            self.room.resize(room, 0);
        }
        self.room[..4].copy_from_slice(&(plain.len() as u32).to_le_bytes());
        let n = lz4_flex::block::compress_into(plain, &mut self.room[4..room])
            .expect("the output has the maximum size");
        self.len = 4 + n;
    }
}

/// Builders and buffers kept from one write to the next: allocating them
/// anew each time cost more than filling them (the kernel zeroes fresh
/// pages; a third of the writer's time before, BENCHMARKS.md).
#[derive(Debug, Default)]
pub struct Spare {
    builders: Vec<BlockBuilder>,
    buffers: Vec<PackBuffer>,
}

/// Builders and buffers kept at most (a few MiB).
const SPARE: usize = 8;

impl Spare {
    /// An empty builder for a block starting at `first_seq`.
    pub fn builder(&mut self, first_seq: i64) -> BlockBuilder {
        match self.builders.pop() {
            Some(mut b) => {
                b.reset(first_seq);
                b
            }
            None => BlockBuilder::new(first_seq),
        }
    }

    /// A buffer for compressed bytes.
    pub fn buffer(&mut self) -> PackBuffer {
        self.buffers.pop().unwrap_or_default()
    }

    /// Keeps `builder` for a later write.
    pub fn keep_builder(&mut self, builder: BlockBuilder) {
        if self.builders.len() < SPARE {
            self.builders.push(builder);
        }
    }

    /// Keeps `buffer` for a later write.
    pub fn keep_buffer(&mut self, buffer: PackBuffer) {
        if self.buffers.len() < 2 * SPARE {
            self.buffers.push(buffer);
        }
    }
}

/// `packed` made plain again; its plain size is at most `limit`.
fn unpack(codec: Codec, packed: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    match codec {
        Codec::Plain => Ok(packed.to_vec()),
        Codec::Zstd => zstd::bulk::decompress(packed, limit).map_err(|e| format!("zstd: {e}")),
        Codec::Lz4 | Codec::Lz4Lines => {
            let size = packed
                .get(..4)
                .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
                .ok_or("lz4: no size")?;
            if size > limit {
                return Err(format!("lz4: {size} bytes, over {limit}"));
            }
            lz4_flex::block::decompress(&packed[4..], size).map_err(|e| format!("lz4: {e}"))
        }
    }
}

/// A block's rows as stored, made readable ([`super::rows::records`] reads them).
pub fn unpack_rows<'r>(
    first_seq: i64,
    codec: Codec,
    rows: &'r [u8],
) -> Result<Cow<'r, [u8]>, BlockError> {
    match codec {
        Codec::Plain => Ok(Cow::Borrowed(rows)),
        _ => unpack(codec, rows, MAX_BLOCK_TEXT)
            .map(Cow::Owned)
            .map_err(|e| BlockError::Damaged {
                first_seq,
                what: format!("rows: {e}"),
            }),
    }
}

/// A block read back: its documents' text.
#[derive(Debug, Clone)]
pub struct Block {
    /// Its first document.
    pub first_seq: i64,
    /// The seq of each document, in order (consecutive but where retention
    /// deleted some).
    seqs: Vec<i64>,
    text: String,
    /// Where each document ends in `text`.
    ends: Vec<usize>,
}

impl Block {
    /// Decodes a stored block whose documents are `seqs`.
    pub fn decode(
        first_seq: i64,
        seqs: Vec<i64>,
        codec: Codec,
        lengths: &[u8],
        body: &[u8],
    ) -> Result<Self, BlockError> {
        let damaged = |what: String| BlockError::Damaged { first_seq, what };
        let mut ends = Vec::new();
        let mut end = 0usize;
        let mut at = 0;
        while at < lengths.len() {
            let (len, next) = read_varint(lengths, at)
                .ok_or_else(|| damaged("lengths are not varints".into()))?;
            at = next;
            end = usize::try_from(len)
                .ok()
                .and_then(|l| end.checked_add(l))
                .filter(|e| *e <= MAX_BLOCK_TEXT)
                .ok_or_else(|| damaged(format!("documents exceed {MAX_BLOCK_TEXT} bytes")))?;
            ends.push(end);
        }
        // A form is never longer than its document and a tag.
        let limit = match codec {
            Codec::Lz4Lines => end + ends.len(),
            _ => end,
        };
        let bytes = unpack(codec, body, limit).map_err(damaged)?;
        let text = if codec == Codec::Lz4Lines {
            Self::expand(&bytes, &ends).map_err(damaged)?
        } else if bytes.len() != end {
            return Err(damaged(format!(
                "the documents' lengths add up to {end} bytes, the body holds {}",
                bytes.len()
            )));
        } else {
            String::from_utf8(bytes).map_err(|e| damaged(format!("not UTF-8: {e}")))?
        };
        if seqs.len() != ends.len() {
            return Err(damaged(format!(
                "{} rows for {} bodies",
                seqs.len(),
                ends.len()
            )));
        }
        if ends
            .iter()
            .any(|&e| e < text.len() && !text.is_char_boundary(e))
        {
            return Err(damaged("a document ends inside a character".into()));
        }
        Ok(Self {
            first_seq,
            seqs,
            text,
            ends,
        })
    }

    /// The sources of a [`Codec::Lz4Lines`] body, each [`Form`] expanded;
    /// `ends` says where each ends.
    fn expand(forms: &[u8], ends: &[usize]) -> Result<String, String> {
        let mut text = String::with_capacity(ends.last().copied().unwrap_or(0));
        let mut at = 0;
        for (i, &end) in ends.iter().enumerate() {
            let length = end - text.len();
            at += Form::expand_into(&mut text, &forms[at..], length).ok_or_else(|| {
                format!("document {i} of the body is not a form of {length} bytes")
            })?;
        }
        if at != forms.len() {
            return Err(format!(
                "{} bytes after the last document",
                forms.len() - at
            ));
        }
        Ok(text)
    }

    /// The source of document `seq`, if this block holds it.
    pub fn document(&self, seq: i64) -> Option<&str> {
        let i = self.seqs.binary_search(&seq).ok()?;
        Some(self.nth(i))
    }

    fn nth(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// The source of its `i`th document.
    pub fn nth_source(&self, i: usize) -> Option<&str> {
        (i < self.ends.len()).then(|| self.nth(i))
    }

    /// The seq of its last document.
    pub fn last_seq(&self) -> i64 {
        self.seqs.last().copied().unwrap_or(self.first_seq - 1)
    }

    /// Its documents' seqs and sources, in order.
    pub fn documents(&self) -> impl Iterator<Item = (i64, &str)> {
        self.seqs
            .iter()
            .enumerate()
            .map(|(i, &seq)| (seq, self.nth(i)))
    }
}

pub(super) fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn read_varint(b: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(at)?;
        at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((v, at));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(codec: Codec) {
        let docs = ["{\"a\":1}", "", "{\"é\":\"ü\"}", &"x".repeat(300)];
        let mut b = BlockBuilder::new(41);
        for (i, d) in docs.iter().enumerate() {
            b.push(
                d.as_bytes(),
                &[i as u8],
                Some(i as i64 * 10),
                Some(i as i64),
            );
        }
        assert_eq!(b.last_seq(), 44);
        assert_eq!(b.bounds().time, Some((0, 30)));
        // Line time 0 is "none".
        assert_eq!((b.bounds().line_time, b.bounds().loose), (Some((1, 3)), 1));
        let (rows, body) = b.encode(codec == Codec::Lz4);
        assert_eq!(&unpack_rows(41, codec, &rows).unwrap()[..], &[0, 1, 2, 3]);
        let block = Block::decode(41, (41..=44).collect(), codec, b.lengths(), &body).unwrap();
        for (i, d) in docs.iter().enumerate() {
            assert_eq!(block.document(41 + i as i64), Some(*d));
        }
        assert_eq!(block.document(40), None);
        assert_eq!(block.document(45), None);
        assert_eq!(block.last_seq(), 44);
        // A block with holes (retention cut some of its documents).
        let holes = Block::decode(41, vec![41, 43, 50, 51], codec, b.lengths(), &body).unwrap();
        assert_eq!(holes.document(50), Some(docs[2]));
        assert_eq!(holes.document(42), None);
        assert_eq!(holes.last_seq(), 51);
        // Fragments gathered.
        let mut again = BlockBuilder::new(40);
        again.push(b"{}", b"r", None, None);
        again.append(&b);
        assert_eq!((again.first_seq(), again.last_seq()), (40, 44));
        assert_eq!(again.bounds().loose, 2);
        let (_, body) = again.encode(codec == Codec::Lz4);
        let block = Block::decode(40, (40..=44).collect(), codec, again.lengths(), &body).unwrap();
        assert_eq!(block.document(40), Some("{}"));
        assert_eq!(block.document(43), Some(docs[2]));
    }

    #[test]
    fn plain_and_zstd_blocks_give_back_each_document() {
        round_trip(Codec::Plain);
        round_trip(Codec::Lz4);
    }

    /// Groups of a block's worth; a small rest joins the last group, a
    /// batch under a quarter block is left to the writer.
    #[test]
    fn batches_are_packed_in_groups_of_a_block() {
        let groups = |lengths: &[usize]| PackedSources::groups(lengths.iter().copied());
        let k = BLOCK_BYTES / 8;
        assert_eq!(groups(&[k; 1]), []);
        assert_eq!(groups(&[k; 2]), [(0, 2)]);
        assert_eq!(groups(&[k; 8]), [(0, 8)]);
        assert_eq!(groups(&[k; 9]), [(0, 9)]);
        assert_eq!(groups(&[k; 10]), [(0, 8), (8, 2)]);
        assert_eq!(groups(&[k; 17]), [(0, 8), (8, 9)]);
        assert_eq!(groups(&[BLOCK_BYTES * 3, 1, k * 3]), [(0, 1), (1, 2)]);
    }

    /// Line documents packed with their line (codec 3) come back exactly,
    /// whatever their line holds, next to other documents; a form that
    /// does not give its document's length is an error.
    #[test]
    fn line_documents_kept_with_their_line_once_come_back_exactly() {
        use crate::document::{
            LineCopies, LineStamp, TimestampConverter, check_document, write_line_document,
        };
        use crate::source::record::Record;
        let lines = [
            "2025-11-21 09:12:03 - api - INFO - plain message",
            r#"2025-11-21 09:12:03 - api - INFO - {"a": "q\"uote\\d", "é": "ü \u00e9"}"#,
            "2025-11-21 09:12:03 - a\"pi - WAR\\N - tab\there\u{1}bell\u{7f} ✓",
            "2025-11-21 09:12:03 - api - INFO - ",
            "no header at all \"quoted\"",
            "2025-02-30 10:00:00 - api - INFO - invalid date",
        ];
        let records: Vec<Record> = lines
            .iter()
            .map(|l| Record::from_line(l.to_string()))
            .collect();
        let entry = Record::from_entry(
            "2025-11-21 09:12:03",
            "INFO",
            "from the window",
            None,
            r#"{"timestamp":"2025-11-21 09:12:03"}"#.into(),
        );
        let merged = [check_document(r#"{"transaction_id":"t\"1","n":1}"#.into()).unwrap()];
        // Each line's document (with or without its line's text) and its
        // line, then a document of another index.
        let write = |copies: LineCopies| {
            let mut conv = TimestampConverter::default();
            let mut sources = Vec::new();
            let mut texts = Vec::new();
            for record in records.iter().chain([&entry]) {
                let stamp = LineStamp::of(record, &mut conv);
                let mut out = String::new();
                let text = write_line_document(
                    &mut out,
                    record,
                    &stamp,
                    &merged,
                    &mut Vec::new(),
                    None,
                    copies,
                );
                texts.push(
                    text.zip(record.raw_header())
                        .map(|(text, header)| DocumentLine {
                            text,
                            header,
                            message: record.message(),
                        }),
                );
                sources.push(out);
                sources.push(r#"{"b":"\"x\""}"#.to_string());
                texts.push(None);
            }
            (sources, texts)
        };
        let (sources, texts) = write(LineCopies::Written);
        assert_eq!(
            texts.iter().filter(|t| t.is_some()).count(),
            lines.len(),
            "every raw line (without a header too), not the window's entry"
        );
        let pack = |sources: &[String], texts: &[Option<DocumentLine<'_>>]| {
            PackedSources::pack(
                sources
                    .iter()
                    .map(String::as_str)
                    .zip(texts.iter().map(Option::as_ref)),
                &mut PackScratch::default(),
            )
        };
        let packed = pack(&sources, &texts);
        assert_eq!(
            packed.plain_bytes,
            sources.iter().map(String::len).sum::<usize>()
        );
        let lengths_of = |extra: usize| {
            let mut lengths = Vec::new();
            for (i, s) in sources.iter().enumerate() {
                push_varint(&mut lengths, (s.len() + usize::from(i == extra)) as u64);
            }
            lengths
        };
        let seqs: Vec<i64> = (1..=sources.len() as i64).collect();
        let block = Block::decode(
            1,
            seqs.clone(),
            Codec::Lz4Lines,
            &lengths_of(usize::MAX),
            &packed.body,
        )
        .unwrap();
        let back: Vec<&str> = block.documents().map(|(_, s)| s).collect();
        assert_eq!(back, sources.iter().map(String::as_str).collect::<Vec<_>>());

        // Written without their line's text (the store alone reads them),
        // the same documents pack into the same block, and get their text
        // back whole.
        let (mut skeletons, left_out) = write(LineCopies::LeftOut);
        assert!(left_out.iter().flatten().all(|l| l.text.left_out > 0));
        assert_eq!(pack(&skeletons, &left_out), packed);
        for ((skeleton, line), source) in skeletons.iter_mut().zip(&left_out).zip(&sources) {
            if let Some(line) = line {
                line.fill(skeleton);
            }
            assert_eq!(skeleton, source);
        }

        // The same body read with one length wrong, a line's or another's.
        for wrong in [2, 3] {
            assert!(
                Block::decode(
                    1,
                    seqs.clone(),
                    Codec::Lz4Lines,
                    &lengths_of(wrong),
                    &packed.body
                )
                .is_err()
            );
        }
        // Forms that are not: an unknown tag, lengths past the end.
        assert_eq!(Form::expand(&[7, b'{', b'}'], 2), None);
        assert_eq!(Form::expand(&[1, 1, 1, 1, 9, b'a', b'b', b'c'], 40), None);
        // A message of five quotes: ten bytes escaped, twice, and `raw_log`'s key.
        let quotes = [1, 0, 0, 5, 0, b'"', b'"', b'"', b'"', b'"'];
        let expanded = format!("{q}\",\"raw_log\":\"{q}", q = r#"\"\"\"\"\""#);
        assert_eq!(
            Form::expand(&quotes, 33).as_deref(),
            Some(expanded.as_str())
        );
        assert_eq!(Form::expand(&quotes, 40), None);
        assert_eq!(Form::expand(&quotes, 14), None, "shorter than its parts");
        assert_eq!(Form::expand(&[0, b'{', b'}'], 2).as_deref(), Some("{}"));
    }

    #[test]
    fn schema_3_zstd_blocks_are_read() {
        let body = zstd::bulk::compress(b"{}[]", 1).unwrap();
        let block = Block::decode(7, vec![7, 8], Codec::Zstd, &[2, 2], &body).unwrap();
        assert_eq!(block.document(8), Some("[]"));
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics() {
        let mut b = BlockBuilder::new(1);
        b.push(b"{\"a\":1}", b"", None, None);
        let (_, body) = b.encode(true);
        let lengths = b.lengths().to_vec();
        let one = || vec![1];
        assert!(Block::decode(1, one(), Codec::Lz4, &lengths, &body[..body.len() - 2]).is_err());
        // A size over the limit is refused before anything is allocated.
        assert!(
            Block::decode(1, one(), Codec::Lz4, &lengths, &[0xff, 0xff, 0xff, 0x7f, 0]).is_err()
        );
        assert!(Block::decode(1, one(), Codec::Plain, &lengths, b"{}").is_err());
        assert!(Block::decode(1, one(), Codec::Plain, &[0xff; 12], b"").is_err());
        assert!(Block::decode(1, one(), Codec::Plain, &[0xff, 0xff, 0xff, 0x7f], b"").is_err());
        // A character cut between two documents.
        assert!(Block::decode(1, vec![1, 2], Codec::Plain, &[1, 1], "é".as_bytes()).is_err());
        // Rows and bodies that do not match.
        assert!(Block::decode(1, vec![1, 2], Codec::Plain, &lengths, b"{\"a\":1}").is_err());
        assert!(unpack_rows(1, Codec::Zstd, b"not zstd").is_err());
        assert!(unpack_rows(1, Codec::Lz4, b"no").is_err());
        assert!(Codec::from_code(7).is_err());
    }
}
