//! Data drift on the predictions (issue 15, in progress): the statistics of
//! Evidently's `DataDriftPreset` computed from exact per-value counts
//! ([`counts`]), which windows add up. Not yet wired to a command: the K-S
//! p-value beyond 10,000 rows a side (scipy's `kstwo` distribution) and the
//! `drift` command come next; [`select`] picks the test as Evidently does.

pub mod counts;
pub mod select;
pub mod stattests;
