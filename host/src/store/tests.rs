//! The store as a whole: what is written is read back exactly, once.

use super::blocks::BLOCK_BYTES;
use super::reader::{Cursor, TimeRange};
use super::retention::{Pruned, prune};
use super::*;
use crate::document::Document;
use rusqlite::Connection;
use std::sync::Arc;
use std::time::Duration;

fn doc(index: &str, id: &str, source: &str) -> Document {
    Document {
        index: Arc::from(index),
        id: id.into(),
        source: source.into(),
        line_time: 20251121091203,
        prediction: None,
        columns: None,
        block: None,
    }
}

/// A document at `ms` past 2025-11-21T09:12:03Z with a body of about `pad` bytes.
fn timed(index: &str, n: usize, ms: i64, pad: usize) -> Document {
    let time = jiff::Timestamp::from_millisecond(1_763_716_323_000 + ms).unwrap();
    doc(
        index,
        &format!("id{n}"),
        &format!(
            r#"{{"@timestamp":"{time}","transaction_id":"t{}","n":{n},"pad":"{}"}}"#,
            n / 3,
            "x".repeat(pad)
        ),
    )
}

fn open(path: &std::path::Path) -> StoreWriter {
    StoreWriter::open(path, Retention::keep_all()).unwrap()
}

/// Every document of the store: `(index, id, source)` in seq order.
fn everything(path: &std::path::Path) -> Vec<(String, String, String)> {
    let mut reader = StoreReader::open(path).unwrap();
    let rows: Vec<(i64, String, String)> = reader
        .documents(Default::default(), None)
        .unwrap()
        .prepare("SELECT seq, index_name, id FROM documents ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.into_iter()
        .map(|(seq, index, id)| (index, id, reader.source(seq).unwrap()))
        .collect()
}

/// The store holds `docs`, in order, each once.
fn assert_holds_exactly(path: &std::path::Path, docs: &[Document]) {
    let expected: Vec<(String, String, String)> = docs
        .iter()
        .map(|d| (d.index.to_string(), d.id.clone(), d.source.clone()))
        .collect();
    assert_eq!(everything(path), expected);
}

#[test]
fn small_and_large_writes_give_back_every_document_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = open(&path);
    let docs: Vec<Document> = (0..3000)
        .map(|n| timed(["a", "b"][n % 2], n, n as i64, n % 700))
        .collect();
    // Writes of one document, of a few, then one of most of them: fragments,
    // gathered fragments, and blocks compressed straight away.
    let mut written = 0;
    for size in [1, 1, 2, 5, 40, 300, 2000, 651] {
        let report = store.write(&docs[written..written + size]).unwrap();
        assert_eq!(report.stored.values().sum::<u64>(), size as u64);
        written += size;
    }
    assert_eq!(written, docs.len());
    let again = store.write(&docs[100..400]).unwrap();
    assert_eq!((again.stored.len(), again.already_present), (0, 300));
    drop(store);

    assert_holds_exactly(&path, &docs);

    let conn = Connection::open(&path).unwrap();
    let blocks: Vec<(i64, i64, i64, i64)> = conn
        .prepare("SELECT first_seq, last_seq, codec, length(body) FROM blocks ORDER BY first_seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for pair in blocks.windows(2) {
        assert_eq!(
            pair[0].1 + 1,
            pair[1].0,
            "blocks are consecutive: {blocks:?}"
        );
    }
    let plain: Vec<_> = blocks.iter().filter(|b| b.2 == 0).collect();
    let compressed: Vec<_> = blocks.iter().filter(|b| b.2 == 2).collect();
    assert!(compressed.len() >= 3, "{blocks:?}");
    assert!(
        plain.iter().map(|b| b.3 as usize).sum::<usize>() < BLOCK_BYTES,
        "only the last, unfilled documents stay plain: {blocks:?}"
    );
}

/// Blocks the pipeline packed are stored as they came when all their
/// documents are new, after whatever the store or the write held before
/// them; a replay's, or one whose sources do not add up, are packed again
/// (unpacked first when the pipeline dropped the sources it packed).
#[test]
fn blocks_packed_by_the_pipeline_keep_every_document_exactly_once() {
    packed_blocks_keep_every_document_exactly_once(false);
    packed_blocks_keep_every_document_exactly_once(true);
}

fn packed_blocks_keep_every_document_exactly_once(dropped: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = open(&path);
    let docs: Vec<Document> = (0..4000)
        .map(|n| timed(["a", "b"][n % 2], n, n as i64, n % 900))
        .collect();
    let packed = |docs: &[Document]| {
        let mut docs = docs.to_vec();
        super::blocks::PackedSources::pack_blocks(&mut docs, &[], &mut Default::default(), dropped);
        docs
    };
    // A fragment first (the store ends with plain documents), then a
    // packed write that starts with five documents already stored.
    store.write(&docs[..10]).unwrap();
    let report = store.write(&packed(&docs[5..2000])).unwrap();
    assert_eq!(
        (report.stored.values().sum::<u64>(), report.already_present),
        (1990, 5)
    );
    let whole = packed(&docs[2000..]);
    assert!(whole.iter().filter(|d| d.block.is_some()).count() >= 3);
    assert_eq!(whole.iter().any(|d| d.source.is_empty()), dropped);
    // One block whose sources do not add up is ignored.
    let mut broken = whole.clone();
    let first = broken.iter().position(|d| d.block.is_some()).unwrap();
    broken[first].block.as_mut().unwrap().plain_bytes += 1;
    let report = store.write(&broken).unwrap();
    assert_eq!(report.stored.values().sum::<u64>(), 2000);
    // A replay of packed blocks adds nothing.
    let again = store.write(&whole).unwrap();
    assert_eq!((again.stored.len(), again.already_present), (0, 2000));
    drop(store);

    assert_holds_exactly(&path, &docs);
    let conn = Connection::open(&path).unwrap();
    let (blocks, plain): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(*) FILTER (WHERE codec = 0) FROM blocks",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(blocks > 5 && plain <= 1, "{blocks} blocks, {plain} plain");
}

#[test]
fn typed_columns_traces_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = open(&path);
    store
        .write(&[
            doc(
                "ml-api-message",
                "m",
                r#"{"@timestamp":"2025-11-21T09:12:03Z","transaction_id":"t1","status_code":200,"input_data":{"AGE":61,"SMOKING":1},"result":{"prediction":1,"probability":0.8}}"#,
            ),
            doc(
                "ml-api-perfs",
                "p",
                r#"{"@timestamp":"2025-11-21T09:12:04Z","transaction_id":"t1","latency_ms":35.5,"function_calls":30737}"#,
            ),
            doc("ml-api-logs", "l", r#"{"level":"INFO","message":"x"}"#),
        ])
        .unwrap();
    drop(store);
    let mut reader = StoreReader::open(&path).unwrap();
    let (age, smoking, prediction, probability, status): (i64, i64, i64, f64, i64) = reader
        .documents(Default::default(), None)
        .unwrap()
        .query_row(
            "SELECT age, smoking, prediction, probability, status_code FROM documents
             WHERE index_name = 'ml-api-message'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        (age, smoking, prediction, probability, status),
        (61, 1, 1, 0.8, 200)
    );
    let (latency, calls): (f64, i64) = reader
        .documents(Default::default(), None)
        .unwrap()
        .query_row(
            "SELECT latency_ms, function_calls FROM documents WHERE index_name = 'ml-api-perfs'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((latency, calls), (35.5, 30737));
    let trace = reader.trace("t1").unwrap();
    assert_eq!(
        trace.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
        ["ml-api-message", "ml-api-perfs"]
    );
    assert!(trace[1].2.contains("30737"));
    assert!(reader.trace("t2").unwrap().is_empty());
    let stats = reader.stats().unwrap();
    assert_eq!(
        stats,
        [
            IndexStats {
                index: "ml-api-logs".into(),
                documents: 1,
                oldest: None,
                newest: None
            },
            IndexStats {
                index: "ml-api-message".into(),
                documents: 1,
                oldest: Some("2025-11-21T09:12:03Z".into()),
                newest: Some("2025-11-21T09:12:03Z".into())
            },
            IndexStats {
                index: "ml-api-perfs".into(),
                documents: 1,
                oldest: Some("2025-11-21T09:12:04Z".into()),
                newest: Some("2025-11-21T09:12:04Z".into())
            },
        ]
    );
}

#[test]
fn pages_follow_time_then_seq_within_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = open(&path);
    let mut docs: Vec<Document> = (0..50)
        .map(|n| timed("m", n, 1000 * (n as i64 % 10), 10))
        .collect();
    docs.push(doc("m", "untimed", r#"{"n":-1}"#));
    docs.push(doc("other", "o", r#"{"n":-2}"#));
    store.write(&docs).unwrap();
    drop(store);
    let mut reader = StoreReader::open(&path).unwrap();
    let read_all = |reader: &mut StoreReader, range: TimeRange| {
        let mut cursor = Cursor::Start;
        let mut seqs = Vec::new();
        loop {
            let page = reader.page("m", range, &mut cursor, 7).unwrap();
            if page.is_empty() {
                return seqs;
            }
            seqs.extend(page.into_iter().map(|(seq, _)| seq));
        }
    };
    let all = read_all(&mut reader, TimeRange::default());
    assert_eq!(all.len(), 51);
    assert_eq!(all[0], 51, "the untimed document first");
    // Then by time, ties by seq: n = 0, 10, 20, ... (seqs 1, 11, 21, ...).
    assert_eq!(&all[1..6], &[1, 11, 21, 31, 41]);
    let since = 1_763_716_323_000 + 2000;
    let some = read_all(
        &mut reader,
        TimeRange {
            since: Some(since),
            until: Some(since + 2000),
        },
    );
    assert_eq!(some, [3, 13, 23, 33, 43, 4, 14, 24, 34, 44]);
}

#[test]
fn retention_deletes_exactly_what_is_older_than_the_age() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = open(&path);
    // One document a minute for ten hours, bodies large enough for several blocks.
    let docs: Vec<Document> = (0..600)
        .map(|n| timed(["a", "b"][n % 2], n, 60_000 * n as i64, 2000))
        .collect();
    store.write(&docs).unwrap();
    store.write(&[doc("a", "untimed", r#"{"n":-1}"#)]).unwrap();
    drop(store);
    let mut conn = writer::connect(&path).unwrap();
    let retention = Retention {
        max_age: Some(Duration::from_secs(3600)),
        max_bytes: None,
        every: Duration::from_secs(60),
    };
    let pruned = prune(&mut conn, &retention, &|| false).unwrap();
    // The newest is at minute 599: minutes 539..=599 are kept (539 is exactly
    // one hour old), 0..=538 deleted.
    assert_eq!(
        pruned,
        Pruned {
            by_age: 539,
            by_size: 0
        }
    );
    let left = everything(&path);
    let expected: Vec<(String, String, String)> = docs[539..]
        .iter()
        .map(|d| (d.index.to_string(), d.id.clone(), d.source.clone()))
        .chain([("a".into(), "untimed".into(), r#"{"n":-1}"#.into())])
        .collect();
    assert_eq!(left, expected);
    // No block is left empty, and blocks count what they hold.
    let (blocks, counted): (i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(count) FROM blocks WHERE count > 0",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let all: i64 = conn
        .query_row("SELECT count(*) FROM blocks", [], |r| r.get(0))
        .unwrap();
    assert_eq!((blocks, counted), (all, left.len() as i64));
    assert_eq!(
        prune(&mut conn, &retention, &|| false).unwrap(),
        Pruned::default()
    );
}

#[test]
fn retention_by_size_deletes_the_oldest_first_and_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = open(&path);
    // Bodies that do not compress, so the store is large.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let docs: Vec<Document> = (0..24_000)
        .map(|n| {
            let noise: String = (0..100)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    char::from(b'a' + (state % 26) as u8)
                })
                .collect();
            doc(
                "a",
                &format!("id{n:05}"),
                &format!(r#"{{"n":{n},"noise":"{noise}"}}"#),
            )
        })
        .collect();
    for chunk in docs.chunks(3000) {
        store.write(chunk).unwrap();
    }
    drop(store);
    let mut conn = writer::connect(&path).unwrap();
    let before = retention::live_bytes(&conn).unwrap();
    let limit = before / 3;
    let retention = Retention {
        max_age: None,
        max_bytes: Some(limit),
        every: Duration::from_secs(60),
    };
    let pruned = prune(&mut conn, &retention, &|| false).unwrap();
    assert!(pruned.by_size > 0);
    assert!(retention::live_bytes(&conn).unwrap() <= limit);
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let file = std::fs::metadata(&path).unwrap().len();
    assert!(
        file <= limit + (64 << 10),
        "{file} > {limit}: pages given back"
    );
    let left = everything(&path);
    assert_eq!(left.len() as u64, 24_000 - pruned.by_size);
    assert!(
        left.len() > 4000,
        "{} left: cut in chunks, not all",
        left.len()
    );
    let first = 24_000 - left.len();
    assert_eq!(left[0].1, format!("id{first:05}"), "the oldest went first");
    assert_eq!(left.last().unwrap().2, docs[23_999].source);
}

#[test]
fn older_stores_are_moved_and_their_ids_stay_known() {
    for schema in [1, 2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            if schema == 3 {
                // Schema 3: a row per document (only the columns the move
                // reads), bodies in a zstd block of consecutive seqs; `b` came
                // from schema 2 (no line time).
                let a = r#"{"@timestamp":"2025-11-21T09:12:03Z","transaction_id":"t1"}"#;
                let b = r#"{"@timestamp":"2025-11-21T09:12:04Z","transaction_id":"t2"}"#;
                let body = zstd::bulk::compress(format!("{a}{b}").as_bytes(), 1).unwrap();
                conn.execute_batch(
                    "CREATE TABLE documents (seq INTEGER PRIMARY KEY, index_name TEXT NOT NULL,
                        id TEXT NOT NULL, line_time INTEGER, time INTEGER, transaction_id TEXT);
                     CREATE UNIQUE INDEX documents_id ON documents(line_time, index_name, id);
                     CREATE INDEX documents_verdicts ON documents(time, index_name);
                     CREATE TABLE blocks (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL,
                        codec INTEGER NOT NULL, lengths BLOB NOT NULL, body BLOB NOT NULL);
                     INSERT INTO documents VALUES
                        (1, 'ml-api-logs', 'a', 20251121091203, 1763716323000, 't1'),
                        (2, 'ml-api-logs', 'b', NULL, 1763716324000, 't2');
                     PRAGMA user_version = 3;",
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO blocks VALUES (1, 2, 1, ?1, ?2)",
                    rusqlite::params![vec![a.len() as u8, b.len() as u8], body],
                )
                .unwrap();
                drop(conn);
                let mut store = open(&path);
                let again = store
                    .write(&[
                        doc("ml-api-logs", "a", a),
                        doc("ml-api-logs", "b", b),
                        doc("ml-api-logs", "c", r#"{"transaction_id":"t2"}"#),
                    ])
                    .unwrap();
                assert_eq!(again.already_present, 2, "schema 3: moved ids are known");
                drop(store);
                let all = everything(&path);
                assert_eq!(
                    all.iter()
                        .map(|d| (d.1.as_str(), d.2.as_str()))
                        .collect::<Vec<_>>(),
                    [("a", a), ("b", b), ("c", r#"{"transaction_id":"t2"}"#)]
                );
                let mut reader = StoreReader::open(&path).unwrap();
                assert_eq!(reader.trace("t2").unwrap().len(), 2, "schema 3");
                continue;
            }
            let create = if schema == 1 {
                r#"CREATE TABLE documents (
                    index_name TEXT NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL,
                    timestamp TEXT GENERATED ALWAYS AS (json_extract(source, '$."@timestamp"')) VIRTUAL,
                    transaction_id TEXT GENERATED ALWAYS AS (json_extract(source, '$.transaction_id')) VIRTUAL,
                    PRIMARY KEY (index_name, id)) WITHOUT ROWID;
                CREATE INDEX documents_transaction ON documents(transaction_id);
                INSERT INTO documents (index_name, id, source) VALUES
                    ('ml-api-logs', 'b', '{"@timestamp":"2025-11-21T09:12:04Z","transaction_id":"t2"}'),
                    ('ml-api-logs', 'a', '{"@timestamp":"2025-11-21T09:12:03Z","transaction_id":"t1"}');"#
            } else {
                r#"CREATE TABLE documents (seq INTEGER PRIMARY KEY, index_name TEXT NOT NULL,
                    id TEXT NOT NULL, timestamp TEXT, transaction_id TEXT, source TEXT NOT NULL);
                CREATE UNIQUE INDEX documents_id ON documents(index_name, id);
                CREATE INDEX documents_page ON documents(index_name, COALESCE(timestamp, ''), id);
                INSERT INTO documents (index_name, id, timestamp, transaction_id, source) VALUES
                    ('ml-api-logs', 'a', '2025-11-21T09:12:03Z', 't1', '{"@timestamp":"2025-11-21T09:12:03Z","transaction_id":"t1"}'),
                    ('ml-api-logs', 'b', '2025-11-21T09:12:04Z', 't2', '{"@timestamp":"2025-11-21T09:12:04Z","transaction_id":"t2"}');"#
            };
            conn.execute_batch(create).unwrap();
        }
        let mut store = open(&path);
        let again = store
            .write(&[
                doc(
                    "ml-api-logs",
                    "a",
                    r#"{"@timestamp":"2025-11-21T09:12:03Z","transaction_id":"t1"}"#,
                ),
                doc("ml-api-logs", "c", r#"{"transaction_id":"t2"}"#),
            ])
            .unwrap();
        assert_eq!(
            again.already_present, 1,
            "schema {schema}: moved ids are known"
        );
        drop(store);
        let all = everything(&path);
        assert_eq!(
            all.iter().map(|d| d.1.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"],
            "schema {schema}"
        );
        assert_eq!(
            all[1].2,
            r#"{"@timestamp":"2025-11-21T09:12:04Z","transaction_id":"t2"}"#
        );
        let mut reader = StoreReader::open(&path).unwrap();
        assert_eq!(reader.trace("t2").unwrap().len(), 2, "schema {schema}");
    }
}

#[test]
fn readers_refuse_what_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.db");
    assert!(matches!(
        StoreReader::open(&missing),
        Err(StoreError::Missing { .. })
    ));
    let foreign = dir.path().join("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let e = StoreReader::open(&foreign).err().unwrap();
    assert!(
        crate::chain::chain(&e).contains("not a logpipe store"),
        "{e}"
    );
    let newer = dir.path().join("newer.db");
    Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99; CREATE TABLE documents (x)")
        .unwrap();
    let e = StoreWriter::open(&newer, Retention::keep_all())
        .err()
        .unwrap();
    assert!(crate::chain::chain(&e).contains("upgrade logpipe"), "{e}");
}

#[test]
fn the_retention_worker_deletes_in_the_background_while_writes_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let retention = Retention {
        max_age: Some(Duration::from_secs(3600)),
        max_bytes: None,
        every: Duration::from_millis(20),
    };
    let mut store = StoreWriter::open(&path, retention).unwrap();
    // Two hours of documents, one a minute, written in small writes while the
    // worker deletes what falls out of the last hour.
    let docs: Vec<Document> = (0..120)
        .map(|n| timed("a", n, 60_000 * n as i64, 100))
        .collect();
    for chunk in docs.chunks(10) {
        store.write(chunk).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let count = || -> i64 {
        Connection::open(&path)
            .unwrap()
            .query_row("SELECT COALESCE(sum(count), 0) FROM blocks", [], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while count() != 61 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} documents left",
            count()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Minutes 59..=119 are left, and still readable.
    drop(store);
    let left = everything(&path);
    assert_eq!(left.first().unwrap().1, "id59");
    assert_eq!(left.last().unwrap().2, docs[119].source);
}

#[test]
fn many_tiny_writes_leave_a_bounded_number_of_fragments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = open(&path);
    let docs: Vec<Document> = (0..300).map(|n| timed("a", n, n as i64, 10)).collect();
    for doc in &docs {
        store.write(std::slice::from_ref(doc)).unwrap();
    }
    drop(store);
    let fragments: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM blocks WHERE codec = 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!((1..=64).contains(&fragments), "{fragments} fragments");
    assert_holds_exactly(&path, &docs);
}

#[test]
fn two_writers_of_one_store_never_store_a_document_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut first = open(&path);
    let mut second = open(&path);
    let docs: Vec<Document> = (0..40)
        .map(|n| timed("a", n, 1000 * n as i64, 10))
        .collect();
    first.write(&docs[..20]).unwrap();
    // The second writer remembers nothing of the first's writes, and of the
    // same line times.
    let again = second.write(&docs[10..30]).unwrap();
    assert_eq!((again.already_present, again.stored["a"]), (10, 10));
    let again = first.write(&docs[25..40]).unwrap();
    assert_eq!((again.already_present, again.stored["a"]), (5, 10));
    drop((first, second));
    let all = everything(&path);
    assert_eq!(all.len(), 40);
    let expected: Vec<_> = docs.iter().map(|d| d.id.clone()).collect();
    assert_eq!(
        all.iter().map(|d| d.1.clone()).collect::<Vec<_>>(),
        expected
    );
}

#[test]
fn replays_of_older_line_times_are_found_in_the_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let at = |line_time: i64, id: &str| Document {
        line_time,
        ..doc("a", id, &format!(r#"{{"id":"{id}"}}"#))
    };
    let old: Vec<Document> = (0..3000)
        .map(|n| at(20250101000000 + n / 10, &format!("old{n}")))
        .collect();
    let mut store = open(&path);
    store.write(&old).unwrap();
    store.write(&[at(20251121000000, "new")]).unwrap();
    drop(store);
    // A new writer remembers nothing: the replay is under its floor; so is
    // one more document of an old second, which is new.
    let mut store = open(&path);
    let mut replay = old[1000..2000].to_vec();
    replay.push(at(20250101000150, "late"));
    replay.push(at(20250101000150, "late"));
    let report = store.write(&replay).unwrap();
    assert_eq!((report.already_present, report.stored["a"]), (1001, 1));
    // And the same replay again, now that this writer stored some of it.
    let report = store.write(&replay).unwrap();
    assert_eq!(report.already_present, 1002);
    drop(store);
    assert_eq!(everything(&path).len(), 3002);
}

#[test]
fn documents_without_a_line_time_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let untimed = |id: &str| Document {
        line_time: 0,
        ..doc("a", id, r#"{"n":1}"#)
    };
    let docs: Vec<Document> = (0..50).map(|n| untimed(&format!("u{n}"))).collect();
    let mut store = open(&path);
    assert_eq!(store.write(&docs[..30]).unwrap().stored["a"], 30);
    drop(store);
    let mut store = open(&path);
    let report = store.write(&docs).unwrap();
    assert_eq!((report.already_present, report.stored["a"]), (30, 20));
    assert_eq!(store.write(&docs).unwrap().already_present, 50);
    drop(store);
    assert_eq!(everything(&path).len(), 50);
}

/// The journal mode another connection sees: `wal`, or the rollback
/// journal's default (`delete`: a connection's own mode is not stored).
fn journal_mode(path: &std::path::Path) -> String {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

/// An import writes with the rollback journal and leaves the store in WAL;
/// beside a reader (or any connection in WAL mode) it stays in WAL; a live
/// writer opened beside an import puts the store back to WAL at once (the
/// import's connection holds nothing between writes, and follows).
#[test]
fn imports_take_the_rollback_journal_and_give_the_store_back_in_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let docs: Vec<Document> = (0..3000).map(|n| timed("a", n, n as i64, 200)).collect();
    let mut import = StoreWriter::import(&path, Retention::default()).unwrap();
    assert_eq!(import.journal(), journal::Journal::Rollback);
    import.write(&docs[..1000]).unwrap();
    assert_ne!(journal_mode(&path), "wal");
    drop(import);
    assert_eq!(journal_mode(&path), "wal");

    // Beside a reader: WAL throughout.
    let reader = StoreReader::open(&path).unwrap();
    let mut import = StoreWriter::import(&path, Retention::keep_all()).unwrap();
    assert_eq!(import.journal(), journal::Journal::Wal);
    import.write(&docs[1000..2000]).unwrap();
    drop(import);
    drop(reader);

    // A live writer opened beside an import.
    let mut import = StoreWriter::import(&path, Retention::keep_all()).unwrap();
    assert_eq!(import.journal(), journal::Journal::Rollback);
    let mut live = open(&path);
    assert_eq!(live.journal(), journal::Journal::Wal);
    assert_eq!(journal_mode(&path), "wal");
    import.write(&docs[2000..2500]).unwrap();
    live.write(&docs[2000..2600]).unwrap();
    drop(import);
    live.write(&docs[2600..]).unwrap();
    drop(live);
    assert_eq!(journal_mode(&path), "wal");
    assert_holds_exactly(&path, &docs);
}

/// A write killed mid-commit in rollback-journal mode leaves a hot journal,
/// which read-only connections cannot play back: a reader has a writer
/// play it back, and sees the store as it was before the write.
#[test]
fn readers_play_back_the_journal_an_interrupted_import_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let docs: Vec<Document> = (0..3000).map(|n| timed("a", n, n as i64, 200)).collect();
    let mut store = open(&path);
    store.write(&docs).unwrap();
    drop(store);

    // A write in progress, its changes spilled to the file (a cache of one
    // page): the files copied then are what a crash leaves.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = TRUNCATE; PRAGMA cache_size = 1; BEGIN IMMEDIATE; DELETE FROM blocks;")
        .unwrap();
    let crashed = dir.path().join("crashed");
    std::fs::create_dir(&crashed).unwrap();
    let copy = crashed.join("s.db");
    std::fs::copy(&path, &copy).unwrap();
    std::fs::copy(
        dir.path().join("s.db-journal"),
        crashed.join("s.db-journal"),
    )
    .unwrap();
    conn.execute_batch("ROLLBACK").unwrap();
    drop(conn);
    assert!(
        std::fs::metadata(crashed.join("s.db-journal"))
            .unwrap()
            .len()
            > 0
    );
    // What a bare read-only connection makes of it.
    let raw = Connection::open_with_flags(&copy, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
        .query_row("SELECT count(*) FROM blocks", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert_eq!(
        raw.sqlite_error().map(|e| e.extended_code),
        Some(rusqlite::ffi::SQLITE_READONLY_ROLLBACK),
        "{raw}"
    );
    assert_holds_exactly(&copy, &docs);
}
