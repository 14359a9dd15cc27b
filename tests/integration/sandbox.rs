//! Sandbox tests: purpose-built misbehaving guests are contained, reported, and
//! the next batch works.

use crate::util::{cache_dir, guest};
use logpipe::plugin::{
    CallError, EventBatch, Limits, LoadError, Outcome, PluginEngine, PluginRunner,
};
use std::time::{Duration, Instant};

fn runner(mode: &str, limits: Limits) -> PluginRunner {
    let engine = PluginEngine::new(limits, Some(cache_dir())).unwrap();
    let plugin = engine.load_file(&guest("logpipe_misbehave.wasm")).unwrap();
    PluginRunner::new(plugin, vec![("mode".into(), mode.into())]).unwrap()
}

/// One outcome per message, documents as their JSON text.
fn parse(r: &mut PluginRunner, messages: &[&str]) -> Vec<Outcome<Vec<String>>> {
    let batch = EventBatch::of_messages(messages.iter().copied());
    let parsed = r.parse(&batch);
    parsed
        .outcomes(batch.len())
        .into_iter()
        .map(|o| match o {
            Outcome::Ok(docs) => Outcome::Ok(docs.iter().map(|d| d.json.to_string()).collect()),
            Outcome::Rejected(reason) => Outcome::Rejected(reason),
            Outcome::Failed(e) => Outcome::Failed(e),
        })
        .collect()
}

const BATCH: [&str; 4] = ["first line", "second TRIGGER line", "third", "fourth line"];

/// Runs a batch with one offending line, then a clean batch.
fn contained(mode: &str, limits: Limits) -> CallError {
    let mut r = runner(mode, limits);
    let outcomes = parse(&mut r, &BATCH);
    assert_eq!(outcomes.len(), 4);
    for i in [0, 2, 3] {
        match &outcomes[i] {
            Outcome::Ok(docs) => assert_eq!(docs.len(), 1, "mode {mode}, line {i}"),
            other => panic!("mode {mode}: line {i} should survive, got {other:?}"),
        }
    }
    let Outcome::Failed(error) = outcomes[1].clone() else {
        panic!(
            "mode {mode}: the offending line should fail, got {:?}",
            outcomes[1]
        );
    };
    assert_eq!(r.isolated_batches, 1);
    let next = parse(&mut r, &["a clean", "batch"]);
    assert!(
        next.iter().all(|o| matches!(o, Outcome::Ok(_))),
        "mode {mode}: {next:?}"
    );
    error
}

#[test]
fn infinite_loop_times_out() {
    let limits = Limits {
        batch_timeout: Duration::from_millis(100),
        ..Limits::default()
    };
    let start = Instant::now();
    let error = contained("loop", limits);
    assert_eq!(error, CallError::Timeout { limit_ms: 100 });
    // The batch and the lone retry of the looping line: two time limits, not more.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn one_gib_allocation_hits_the_memory_cap() {
    let error = contained("alloc", Limits::default());
    assert!(
        matches!(error, CallError::Memory { limit_mib: 64, .. }),
        "{error:?}"
    );
}

#[test]
fn panic_is_a_trap() {
    let error = contained("panic", Limits::default());
    assert!(matches!(error, CallError::Trap { .. }), "{error:?}");
}

#[test]
fn invalid_and_injected_output_is_refused_by_the_document_check() {
    use logpipe::document::{InvalidDocument, check_document};
    for (mode, expect_reserved) in [
        ("invalid-json", false),
        ("inject", false),
        ("metadata", true),
    ] {
        let mut r = runner(mode, Limits::default());
        let outcomes = parse(&mut r, &BATCH);
        let Outcome::Ok(docs) = &outcomes[1] else {
            panic!("{mode}: {:?}", outcomes[1])
        };
        let err = check_document(docs[0].clone()).unwrap_err();
        if expect_reserved {
            assert_eq!(err, InvalidDocument::Reserved("_index".into()));
        } else {
            assert!(
                matches!(err, InvalidDocument::NotAnObject(_)),
                "{mode}: {err:?}"
            );
        }
        let Outcome::Ok(fine) = &outcomes[0] else {
            panic!()
        };
        assert!(check_document(fine[0].clone()).is_ok());
    }
}

#[test]
fn per_event_errors_are_not_failures() {
    let mut r = runner("error", Limits::default());
    let outcomes = parse(&mut r, &BATCH);
    assert!(
        matches!(&outcomes[1], Outcome::Rejected(r) if r == "misbehave: refusing this line"),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(r.isolated_batches, 0, "no retry for a reported error");
}

#[test]
fn printing_is_bounded_and_harmless() {
    let mut r = runner("print", Limits::default());
    let outcomes = parse(&mut r, &BATCH);
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Ok(_))),
        "{outcomes:?}"
    );
}

#[test]
fn wrong_world_is_refused_with_expected_and_found() {
    let engine = PluginEngine::new(Limits::default(), Some(cache_dir())).unwrap();
    let err = engine
        .load_file(&guest("logpipe-not-a-plugin.wasm"))
        .unwrap_err();
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("logpipe:plugin/parser@0.2.0") && text.contains("wasi:cli/run"),
        "{text}"
    );
}
