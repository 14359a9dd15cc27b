//! `file:PATH`: raw log lines (oldest first, `\n` or `\r\n`) or a window JSON file
//! (`{"total", "logs": [...]}`, newest first); `-` reads stdin. For backfills,
//! replays and tests.

use super::record::{Record, TRUNCATED};
use super::window::parse_window;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Bytes at the start of a file searched for NUL (binary data).
const BINARY_PROBE_BYTES: usize = 8 << 10;

/// Errors of the file source.
#[derive(Debug, thiserror::Error)]
pub enum FileSourceError {
    /// The file could not be opened or read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file with NUL bytes at its start: not text, so not a log.
    #[error(
        "{path} is not a log file: it holds a NUL byte at offset {offset} (binary data; a compressed log must be uncompressed first)"
    )]
    Binary {
        /// The file.
        path: PathBuf,
        /// Where the first NUL byte is.
        offset: usize,
    },
    /// A window JSON file that does not parse.
    #[error("{path} looks like a window JSON file but is not one: {error}")]
    Window {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: super::window::WindowError,
    },
}

enum Mode {
    Lines(Box<dyn BufRead + Send>),
    Window(std::vec::IntoIter<Record>),
}

/// Reads records from a file in batches, oldest first.
pub struct FileSource {
    path: PathBuf,
    mode: Mode,
    line: u64,
    buf: Vec<u8>,
    read: u64,
    total: Option<u64>,
}

/// How far a [`FileSource`] has read: bytes of a log file, or records of a
/// window file, out of its size when known (not for stdin).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// Read so far.
    pub done: u64,
    /// In all.
    pub total: Option<u64>,
}

impl FileSource {
    /// Opens `path` (`-` for stdin) and detects its format from its first byte.
    pub fn open(path: &Path) -> Result<Self, FileSourceError> {
        let io = |source| FileSourceError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut total = None;
        let reader: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(std::io::stdin())
        } else {
            let file = std::fs::File::open(path).map_err(io)?;
            total = file
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            Box::new(file)
        };
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        let start = reader.fill_buf().map_err(io)?;
        // As grep and ripgrep do: text never holds NUL, binary data nearly
        // always does early on. Invalid UTF-8 alone is a damaged log, kept.
        if let Some(offset) = memchr::memchr(0, &start[..start.len().min(BINARY_PROBE_BYTES)]) {
            return Err(FileSourceError::Binary {
                path: path.to_path_buf(),
                offset,
            });
        }
        let first = start.iter().find(|b| !b.is_ascii_whitespace()).copied();
        let mode = if first == Some(b'{') {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).map_err(io)?;
            // Invalid UTF-8 costs only the entries that hold it.
            let (text, lossy) = super::record::decode_lossy(bytes);
            let window = parse_window(&text).map_err(|error| FileSourceError::Window {
                path: path.to_path_buf(),
                error,
            })?;
            let mut records = window.records;
            if lossy {
                records = records
                    .into_iter()
                    .map(|r| {
                        if r.raw().contains('\u{fffd}') {
                            r.flagged(super::record::INVALID_UTF8)
                        } else {
                            r
                        }
                    })
                    .collect();
            }
            records.reverse();
            total = Some(records.len() as u64);
            Mode::Window(records.into_iter())
        } else {
            Mode::Lines(Box::new(reader))
        };
        Ok(Self {
            path: path.to_path_buf(),
            mode,
            line: 0,
            buf: Vec::with_capacity(4096),
            read: 0,
            total,
        })
    }

    /// How far it has read.
    pub fn position(&self) -> Position {
        Position {
            done: self.read,
            total: self.total,
        }
    }

    /// The next records, at most `max`; empty at the end.
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<Record>, FileSourceError> {
        let mut out = Vec::with_capacity(max.min(4096));
        match &mut self.mode {
            Mode::Window(records) => {
                out.extend(records.by_ref().take(max));
                self.read += out.len() as u64;
            }
            Mode::Lines(reader) => {
                while out.len() < max {
                    let Some(ReadLine { mut bytes, cut }) =
                        next_line(reader.as_mut(), &mut self.buf, MAX_LINE_BYTES).map_err(
                            |source| FileSourceError::Io {
                                path: self.path.clone(),
                                source,
                            },
                        )?
                    else {
                        break;
                    };
                    self.line += 1;
                    // The line, what was cut from it, and its line feed.
                    self.read += bytes.len() as u64 + cut + 1;
                    if bytes.ends_with(b"\r") {
                        bytes.pop();
                    }
                    if bytes.is_empty() {
                        continue; // blank lines are not records
                    }
                    let mut record = Record::from_bytes(bytes);
                    if !record.flags().is_empty() {
                        tracing::warn!(path = %self.path.display(), line = self.line, "not valid UTF-8: indexed with U+FFFD in place of the bad bytes, flagged invalid_utf8");
                    }
                    if cut > 0 {
                        tracing::warn!(path = %self.path.display(), line = self.line, bytes_cut = cut, "line longer than {MAX_LINE_BYTES} bytes: its start is indexed, flagged truncated");
                        record = record.flagged(TRUNCATED);
                    }
                    out.push(record);
                }
            }
        }
        Ok(out)
    }
}

/// Longest line kept whole; a longer one keeps its first bytes (up to a
/// character boundary) and is flagged [`TRUNCATED`]. The API's lines are a few
/// KB at most: a longer one is a runaway, and a line is never allowed to
/// exhaust the host's memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// A line as read: at most `max` bytes of it, and how many were cut.
struct ReadLine {
    bytes: Vec<u8>,
    cut: u64,
}

/// The next line without its line feed, in a buffer of its own (the one copy
/// out of the reader's buffer), its first `max` bytes only; `None` at the end.
/// `spill` holds the start of a line that crosses the end of the reader's
/// buffer.
fn next_line(
    reader: &mut dyn BufRead,
    spill: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<ReadLine>> {
    spill.clear();
    let mut cut: u64 = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            // The last line may lack its line feed.
            return Ok((!spill.is_empty() || cut > 0).then(|| ReadLine {
                bytes: std::mem::take(spill),
                cut,
            }));
        }
        let (end, found) = match memchr::memchr(b'\n', available) {
            Some(end) => (end, true),
            None => (available.len(), false),
        };
        let room = max.saturating_sub(spill.len());
        let kept = end.min(room);
        cut += (end - kept) as u64;
        let line = if found && spill.is_empty() && cut == 0 {
            Some(available[..end].to_vec())
        } else {
            spill.extend_from_slice(&available[..kept]);
            found.then(|| std::mem::take(spill))
        };
        reader.consume(if found { end + 1 } else { end });
        if let Some(mut bytes) = line {
            if cut > 0 {
                // Not half a character at the cut.
                if let Err(e) = std::str::from_utf8(&bytes)
                    && e.error_len().is_none()
                {
                    cut += (bytes.len() - e.valid_up_to()) as u64;
                    bytes.truncate(e.valid_up_to());
                }
            }
            return Ok(Some(ReadLine { bytes, cut }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_the_reader_buffer_and_without_a_last_line_feed() {
        let text = b"first line\nsecond, longer than the buffer\n\nlast";
        for capacity in [1, 3, 7, 64] {
            let mut reader = BufReader::with_capacity(capacity, &text[..]);
            let mut spill = Vec::new();
            let mut lines = Vec::new();
            while let Some(line) = next_line(&mut reader, &mut spill, 1 << 20).unwrap() {
                lines.push(String::from_utf8(line.bytes).unwrap());
            }
            assert_eq!(
                lines,
                ["first line", "second, longer than the buffer", "", "last"],
                "buffer of {capacity}"
            );
        }
    }

    proptest::proptest! {
        /// Whatever the bytes and the reader's buffer size, the lines are the
        /// text split at each line feed (the last one's absence included).
        #[test]
        fn lines_are_the_split_at_line_feeds(
            text in proptest::collection::vec(
                proptest::prop_oneof![proptest::prelude::Just(b'\n'), proptest::prelude::any::<u8>()],
                0..300,
            ),
            capacity in 1usize..40,
        ) {
            let mut reader = BufReader::with_capacity(capacity, &text[..]);
            let mut spill = Vec::new();
            let mut lines = Vec::new();
            while let Some(line) = next_line(&mut reader, &mut spill, 1 << 20).unwrap() {
                lines.push(line.bytes);
            }
            let mut want: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            if text.last().is_none_or(|b| *b == b'\n') {
                want.pop(); // nothing after the last line feed
            }
            proptest::prop_assert_eq!(lines, want);
        }

        /// A line never fails: any bytes make a record.
        #[test]
        fn any_bytes_make_a_record(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let record = Record::from_bytes(bytes.clone());
            proptest::prop_assert_eq!(
                record.flags().is_empty(),
                std::str::from_utf8(&bytes).is_ok()
            );
        }
    }

    #[test]
    fn reads_lines_with_crlf_and_skips_blanks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        std::fs::write(
            &p,
            "2025-11-21 09:12:03 - api - INFO - a\r\n\r\n2025-11-21 09:12:04 - api - INFO - b",
        )
        .unwrap();
        let mut s = FileSource::open(&p).unwrap();
        let batch = s.next_batch(10).unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[0].message(), "a");
        assert_eq!(batch[1].message(), "b");
        assert!(s.next_batch(10).unwrap().is_empty());
    }

    #[test]
    fn window_files_come_out_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.json");
        std::fs::write(
            &p,
            r#"{"total": 2, "logs": [{"timestamp": "2025-11-21 09:12:04", "level": "INFO", "message": "new", "data": null}, {"timestamp": "2025-11-21 09:12:03", "level": "INFO", "message": "old", "data": null}]}"#,
        )
        .unwrap();
        let mut s = FileSource::open(&p).unwrap();
        let b = s.next_batch(1).unwrap();
        assert_eq!(b[0].message(), "old");
        assert_eq!(s.next_batch(5).unwrap()[0].message(), "new");
    }

    #[test]
    fn invalid_utf8_costs_only_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.log");
        std::fs::write(
            &p,
            b"ok line\n2025-11-21 09:12:03 - api - INFO - caf\xe9 \xff\nlast line\n",
        )
        .unwrap();
        let batch = FileSource::open(&p).unwrap().next_batch(10).unwrap();
        assert_eq!(batch.len(), 3, "no line lost");
        assert_eq!(batch[1].message(), "caf\u{fffd} \u{fffd}");
        assert_eq!(batch[1].flags(), [crate::source::record::INVALID_UTF8]);
        assert!(batch[0].flags().is_empty() && batch[2].flags().is_empty());
    }

    #[test]
    fn a_runaway_line_keeps_its_start_and_costs_bounded_memory() {
        let mut text = b"short\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 5000));
        text.extend("é".repeat(10).as_bytes());
        text.extend(b"\nnext\nlast without end".iter());
        text.extend(std::iter::repeat_n(b'y', 300));
        for capacity in [7, 64, 8192] {
            let mut reader = BufReader::with_capacity(capacity, &text[..]);
            let mut spill = Vec::new();
            let mut lines = Vec::new();
            while let Some(line) = next_line(&mut reader, &mut spill, 5001).unwrap() {
                lines.push((String::from_utf8(line.bytes).unwrap(), line.cut));
            }
            assert_eq!(lines.len(), 4, "buffer of {capacity}");
            assert_eq!(lines[0], ("short".into(), 0));
            // 5,000 x, then `é` cut in its middle: the half is cut too.
            assert_eq!(lines[1].0.len(), 5000);
            assert_eq!(lines[1].1, 20);
            assert_eq!(lines[2], ("next".into(), 0));
            assert_eq!(lines[3].0.len(), 316);
        }
    }

    #[test]
    fn a_window_file_with_invalid_utf8_loses_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.json");
        let mut text = br#"{"total": 2, "logs": [{"timestamp": "2025-11-21 09:12:04", "level": "INFO", "message": "bad "#.to_vec();
        text.push(0xff);
        text.extend_from_slice(br#"", "data": null}, {"timestamp": "2025-11-21 09:12:03", "level": "INFO", "message": "fine", "data": null}]}"#);
        std::fs::write(&p, text).unwrap();
        let records = FileSource::open(&p).unwrap().next_batch(10).unwrap();
        assert_eq!(records.len(), 2);
        assert!(records[0].flags().is_empty(), "{:?}", records[0].message());
        assert_eq!(records[1].message(), "bad \u{fffd}");
        assert_eq!(records[1].flags(), [crate::source::record::INVALID_UTF8]);
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = FileSource::open(&dir.path().join("nope.log"))
            .err()
            .unwrap()
            .to_string();
        assert!(missing.contains("nope.log"));
    }
}
