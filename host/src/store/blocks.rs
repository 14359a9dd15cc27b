//! Blocks: the bodies of consecutive documents, stored together so that they
//! compress well (documents of one API repeat each other; one zstd frame over
//! a few hundred of them is about a twentieth of their size, one per document
//! barely shrinks).
//!
//! A block holds documents `first_seq..=last_seq`, every one of them: its
//! `lengths` are the byte length of each document's source, as LEB128
//! varints in seq order, and its `body` their sources concatenated, plain
//! (codec 0, the newest block while it fills) or one zstd frame (codec 1).

use std::borrow::Cow;
use thiserror::Error;

/// Bytes of sources gathered before a block is compressed: large enough to
/// compress to ~5 % of the JSON, small enough that reading one document
/// decompresses a fraction of a millisecond of data.
pub const BLOCK_BYTES: usize = 256 << 10;

/// Most bytes a block may decompress to (a damaged store must not make a
/// reader allocate without bound): the largest block the writer makes is
/// [`BLOCK_BYTES`] plus one document of at most 1 MiB.
const MAX_BLOCK_TEXT: usize = 64 << 20;

/// The zstd level: the fastest of the regular levels; higher ones take several
/// times longer for a few percent (measured on the peers' corpus, BENCHMARKS.md).
const ZSTD_LEVEL: i32 = 1;

/// How a block's body is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// The sources as they are.
    Plain = 0,
    /// One zstd frame.
    Zstd = 1,
}

impl Codec {
    /// The codec stored as `code`.
    pub fn from_code(code: i64) -> Result<Self, BlockError> {
        match code {
            0 => Ok(Codec::Plain),
            1 => Ok(Codec::Zstd),
            other => Err(BlockError::UnknownCodec(other)),
        }
    }
}

/// A block that cannot be read.
#[derive(Debug, Error)]
pub enum BlockError {
    /// Neither plain nor zstd.
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

/// Documents gathered into a block, in seq order.
#[derive(Debug, Clone)]
pub struct BlockBuilder {
    first_seq: i64,
    count: i64,
    lengths: Vec<u8>,
    body: Vec<u8>,
}

impl BlockBuilder {
    /// An empty block whose first document will be `first_seq`.
    pub fn new(first_seq: i64) -> Self {
        Self {
            first_seq,
            count: 0,
            lengths: Vec::new(),
            body: Vec::with_capacity(BLOCK_BYTES + BLOCK_BYTES / 4),
        }
    }

    /// Adds every document of a block read back from the store.
    pub fn push_block(&mut self, block: &Block) {
        for i in 0..block.ends.len() {
            self.push(block.nth(i).as_bytes());
        }
    }

    /// Adds every document of another builder.
    pub fn append(&mut self, other: &BlockBuilder) {
        self.lengths.extend_from_slice(&other.lengths);
        self.body.extend_from_slice(&other.body);
        self.count += other.count;
    }

    /// Adds the next document.
    pub fn push(&mut self, source: &[u8]) {
        push_varint(&mut self.lengths, source.len() as u64);
        self.body.extend_from_slice(source);
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

    /// The block as stored: `(lengths, body)` for `codec`.
    pub fn encode(
        &self,
        codec: Codec,
        zstd: &mut zstd::bulk::Compressor<'_>,
    ) -> (&[u8], Cow<'_, [u8]>) {
        let body = match codec {
            Codec::Plain => Cow::Borrowed(self.body.as_slice()),
            Codec::Zstd => Cow::Owned(
                zstd.compress(&self.body)
                    .expect("compressing to a growable buffer does not fail"),
            ),
        };
        (&self.lengths, body)
    }
}

/// A new compressor at the store's level.
pub fn compressor() -> zstd::bulk::Compressor<'static> {
    zstd::bulk::Compressor::new(ZSTD_LEVEL).expect("level 1 is valid")
}

/// A block read back: its documents' text.
#[derive(Debug, Clone)]
pub struct Block {
    /// Its first document.
    pub first_seq: i64,
    text: String,
    /// Where each document ends in `text`.
    ends: Vec<usize>,
}

impl Block {
    /// Decodes a stored block.
    pub fn decode(
        first_seq: i64,
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
        let bytes = match codec {
            Codec::Plain => body.to_vec(),
            Codec::Zstd => {
                zstd::bulk::decompress(body, end).map_err(|e| damaged(format!("zstd: {e}")))?
            }
        };
        if bytes.len() != end {
            return Err(damaged(format!(
                "the documents' lengths add up to {end} bytes, the body holds {}",
                bytes.len()
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| damaged(format!("not UTF-8: {e}")))?;
        if ends
            .iter()
            .any(|&e| e < text.len() && !text.is_char_boundary(e))
        {
            return Err(damaged("a document ends inside a character".into()));
        }
        Ok(Self {
            first_seq,
            text,
            ends,
        })
    }

    /// The source of document `seq`, if this block holds it.
    pub fn document(&self, seq: i64) -> Option<&str> {
        let i = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        (i < self.ends.len()).then(|| self.nth(i))
    }

    fn nth(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// The seq of its last document.
    pub fn last_seq(&self) -> i64 {
        self.first_seq + self.ends.len() as i64 - 1
    }
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(b: &[u8], mut at: usize) -> Option<(u64, usize)> {
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
        for d in docs {
            b.push(d.as_bytes());
        }
        assert_eq!(b.last_seq(), 44);
        let (lengths, body) = b.encode(codec, &mut compressor());
        let block = Block::decode(41, codec, lengths, &body).unwrap();
        for (i, d) in docs.iter().enumerate() {
            assert_eq!(block.document(41 + i as i64), Some(*d));
        }
        assert_eq!(block.document(40), None);
        assert_eq!(block.document(45), None);
        assert_eq!(block.last_seq(), 44);
        let mut again = BlockBuilder::new(40);
        again.push(b"{}");
        again.push_block(&block);
        let mut more = BlockBuilder::new(45);
        more.push(b"[]");
        again.append(&more);
        assert_eq!((again.first_seq(), again.last_seq()), (40, 45));
        let (lengths, body) = again.encode(codec, &mut compressor());
        let block = Block::decode(40, codec, lengths, &body).unwrap();
        assert_eq!(block.document(40), Some("{}"));
        assert_eq!(block.document(43), Some(docs[2]));
        assert_eq!(block.document(45), Some("[]"));
    }

    #[test]
    fn plain_and_zstd_blocks_give_back_each_document() {
        round_trip(Codec::Plain);
        round_trip(Codec::Zstd);
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics() {
        let mut b = BlockBuilder::new(1);
        b.push(b"{\"a\":1}");
        let (lengths, body) = b.encode(Codec::Zstd, &mut compressor());
        let lengths = lengths.to_vec();
        assert!(Block::decode(1, Codec::Zstd, &lengths, &body[..body.len() - 2]).is_err());
        assert!(Block::decode(1, Codec::Plain, &lengths, b"{}").is_err());
        assert!(Block::decode(1, Codec::Plain, &[0xff; 12], b"").is_err());
        assert!(Block::decode(1, Codec::Plain, &[0xff, 0xff, 0xff, 0x7f], b"").is_err());
        // A character cut between two documents.
        assert!(Block::decode(1, Codec::Plain, &[1, 1], "é".as_bytes()).is_err());
        assert!(Codec::from_code(7).is_err());
    }
}
