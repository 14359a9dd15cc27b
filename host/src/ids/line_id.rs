//! Deterministic line ids.
//!
//! A line's id is derived from its content (timestamp, level and message: what
//! every source gives, so a file backfill and a poll of the endpoint agree) and
//! its rank among identical lines of the same second. Identical lines therefore
//! get distinct ids and are all kept, and the same line gets the same id on every
//! poll and after every restart. The id is the documents' `_id`.

use crate::source::record::Record;
use xxhash_rust::xxh3::{xxh3_128, xxh3_128_with_seed};

/// The content key of a record: equal for identical lines of the same second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentKey(pub u128);

/// A line id: 128 bits, written as 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LineId(pub u128);

impl LineId {
    /// The 32 lowercase hex digits (the `_id`), without the formatting machinery.
    pub fn hex(&self) -> HexId {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, byte) in self.0.to_be_bytes().iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(byte >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(byte & 0xf)];
        }
        HexId(out)
    }
}

/// A line id written out: 32 hex digits, on the stack.
#[derive(Debug, Clone, Copy)]
pub struct HexId([u8; 32]);

impl HexId {
    /// The digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

impl std::fmt::Display for LineId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.hex().as_str())
    }
}

impl std::str::FromStr for LineId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u128::from_str_radix(s, 16).map(LineId)
    }
}

/// Separates the parts of the hashed content; it never occurs in log text.
const UNIT_SEPARATOR: u8 = 0x1f;

fn content(record: &Record, buf: &mut Vec<u8>) {
    buf.clear();
    match (record.timestamp(), record.level()) {
        (Some(ts), Some(level)) => {
            buf.extend_from_slice(ts.as_bytes());
            buf.push(UNIT_SEPARATOR);
            buf.extend_from_slice(level.as_bytes());
            buf.push(UNIT_SEPARATOR);
            buf.extend_from_slice(record.message().as_bytes());
        }
        _ => buf.extend_from_slice(record.raw().as_bytes()),
    }
}

/// Computes content keys and ids, reusing one buffer.
#[derive(Debug, Default)]
pub struct IdHasher {
    buf: Vec<u8>,
}

impl IdHasher {
    /// The content key of `record`.
    pub fn key(&mut self, record: &Record) -> ContentKey {
        content(record, &mut self.buf);
        ContentKey(xxh3_128(&self.buf))
    }

    /// The id of `record` at `rank` (its key must be the one just computed).
    pub fn id(&mut self, key: ContentKey, rank: u32) -> LineId {
        if rank == 0 {
            LineId(key.0)
        } else {
            LineId(xxh3_128_with_seed(&self.buf, u64::from(rank)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_32_lowercase_digits() {
        for n in [
            0u128,
            1,
            0xabc,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ] {
            assert_eq!(LineId(n).to_string(), format!("{n:032x}"));
            assert_eq!(LineId(n).to_string().parse::<LineId>().unwrap(), LineId(n));
        }
    }

    fn rec(s: &str) -> Record {
        Record::from_line(s.into())
    }

    #[test]
    fn same_content_same_key_whatever_the_source() {
        let mut h = IdHasher::default();
        let a = h.key(&rec("2025-11-21 09:12:06 - api - INFO - Health check"));
        let raw = r#"{"timestamp": "2025-11-21 09:12:06", "level": "INFO", "message": "Health check", "data": null}"#;
        let b = h.key(&Record::from_entry(
            "2025-11-21 09:12:06",
            "INFO",
            "Health check",
            None,
            raw.into(),
        ));
        assert_eq!(a, b);
        assert_ne!(
            a,
            h.key(&rec("2025-11-21 09:12:07 - api - INFO - Health check"))
        );
        assert_ne!(
            a,
            h.key(&rec("2025-11-21 09:12:06 - api - WARNING - Health check"))
        );
    }

    #[test]
    fn ranks_give_distinct_stable_ids() {
        let mut h = IdHasher::default();
        let r = rec("2025-11-21 09:12:06 - api - INFO - Health check");
        let key = h.key(&r);
        let ids: Vec<LineId> = (0..3).map(|rank| h.id(key, rank)).collect();
        assert_ne!(ids[0], ids[1]);
        assert_ne!(ids[1], ids[2]);
        let again = h.key(&r);
        assert_eq!(h.id(again, 2), ids[2]);
        assert_eq!(ids[1].to_string().len(), 32);
        assert_eq!(ids[1].to_string().parse::<LineId>().unwrap(), ids[1]);
    }
}
