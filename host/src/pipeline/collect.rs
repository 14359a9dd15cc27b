//! Incremental collection from the rolling window.
//!
//! A poll pages from the newest record and stops as soon as what it read
//! continues what was already delivered: a quiet poll costs one page. Pages
//! overlap by a few records and are aligned on their content, which absorbs the
//! records that arrive between two page requests (they shift every offset). When
//! the whole window holds nothing already delivered, records may have fallen out
//! of the window unseen: that gap is reported with counts.

use crate::ids::{Boundary, ContentKey, IdHasher, LineId, Seen, WindowTracker};
use crate::source::Record;
use crate::source::error::{SourceError, SourceErrorKind};
use crate::source::http::PageFetcher;

/// Records requested again at the start of each next page, to align pages.
pub const PAGE_OVERLAP: u64 = 10;

/// The result of one poll.
#[derive(Debug)]
pub struct Poll {
    /// New lines, oldest first, with their ids and what to remember once acknowledged.
    pub lines: Vec<(LineId, Seen, Record)>,
    /// Pages requested.
    pub requests: u32,
    /// Set when nothing in the window continued what was delivered before.
    pub gap: Option<Gap>,
    /// The window's `total`.
    pub window_total: u64,
    /// Entries read from the window (new and already delivered).
    pub read: usize,
}

/// Counts of a detected gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Entries in the window now.
    pub window_entries: usize,
    /// Lines remembered from before.
    pub remembered: usize,
}

/// Reads a window incrementally against a tracker.
pub struct Collector {
    fetcher: PageFetcher,
}

impl Collector {
    /// A collector over `fetcher`.
    pub fn new(fetcher: PageFetcher) -> Self {
        Self { fetcher }
    }

    /// Reads what is new since what `tracker` remembers. Does not change the
    /// tracker: the caller remembers the lines once the sinks acknowledged them.
    pub async fn poll(&self, tracker: &WindowTracker) -> Result<Poll, SourceError> {
        let limit = self.fetcher.endpoint().max_page();
        let mut hasher = IdHasher::default();
        let mut records: Vec<Record> = Vec::new();
        let mut keys: Vec<ContentKey> = Vec::new();
        let mut next_offset = 0u64;
        let mut requests = 0u32;
        loop {
            let window = self.fetcher.page(next_offset, limit).await?;
            requests += 1;
            let page_keys: Vec<ContentKey> = window.records.iter().map(|r| hasher.key(r)).collect();
            let skip = if next_offset == 0 {
                0
            } else {
                overlap(&keys, &page_keys).ok_or_else(|| {
                    SourceError::new(
                        SourceErrorKind::Malformed,
                        "window",
                        "the window changed under paging (cleared or rotated): will read it again",
                    )
                })?
            };
            keys.extend_from_slice(&page_keys[skip..]);
            records.extend(window.records.into_iter().skip(skip));
            let covered = next_offset + limit;
            let complete = covered >= window.total || (page_keys.is_empty() && next_offset > 0);
            match tracker.boundary(&keys, complete) {
                Boundary::New(n) => {
                    return Ok(finish(tracker, records, n, requests, None, window.total));
                }
                // An empty window holds nothing to lose: not a gap (the caller
                // says once that the window is empty).
                Boundary::Gap if records.is_empty() => {
                    return Ok(finish(tracker, records, 0, requests, None, window.total));
                }
                Boundary::Gap => {
                    let gap = Gap {
                        window_entries: records.len(),
                        remembered: tracker.len(),
                    };
                    let n = records.len();
                    return Ok(finish(
                        tracker,
                        records,
                        n,
                        requests,
                        Some(gap),
                        window.total,
                    ));
                }
                Boundary::ReadMore if complete => {
                    // Read to the end and still ambiguous: everything read is new.
                    let n = records.len();
                    return Ok(finish(tracker, records, n, requests, None, window.total));
                }
                Boundary::ReadMore => next_offset = covered.saturating_sub(PAGE_OVERLAP),
            }
        }
    }
}

fn finish(
    tracker: &WindowTracker,
    mut records: Vec<Record>,
    new: usize,
    requests: u32,
    gap: Option<Gap>,
    window_total: u64,
) -> Poll {
    let read = records.len();
    records.truncate(new);
    records.reverse();
    Poll {
        lines: tracker.assign(records),
        requests,
        gap,
        window_total,
        read,
    }
}

/// How many entries at the start of `page` repeat the end of `read`: the longest
/// such run, since records arriving between requests only lengthen it.
fn overlap(read: &[ContentKey], page: &[ContentKey]) -> Option<usize> {
    if page.is_empty() {
        return Some(0);
    }
    let max = read.len().min(page.len());
    (1..=max)
        .rev()
        .find(|&t| read[read.len() - t..] == page[..t])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_the_longest_repeated_run() {
        let k = |v: &[u128]| v.iter().map(|&n| ContentKey(n)).collect::<Vec<_>>();
        assert_eq!(overlap(&k(&[9, 8, 7, 6, 5]), &k(&[6, 5, 4, 3])), Some(2));
        assert_eq!(
            overlap(&k(&[9, 8, 7, 6, 5]), &k(&[7, 6, 5, 4])),
            Some(3),
            "arrivals lengthen it"
        );
        assert_eq!(overlap(&k(&[9, 8]), &k(&[1, 2])), None);
    }
}
