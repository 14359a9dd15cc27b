//! Sandbox tests: purpose-built misbehaving guests are contained, reported, and
//! the next batch works.

use crate::util::{cache_dir, guest};
use logpipe::plugin::{
    CallError, EventBatch, Limits, LoadError, Outcome, PluginEngine, PluginRunner,
};
use std::time::{Duration, Instant};

fn runner(mode: &str, limits: Limits) -> PluginRunner {
    let engine = PluginEngine::new(limits, Some(cache_dir())).unwrap();
    let plugin =
        logpipe::plugin::LoadedPlugin::load_file(&engine, &guest("logpipe_misbehave.wasm"))
            .unwrap();
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
    let err =
        logpipe::plugin::LoadedPlugin::load_file(&engine, &guest("logpipe-not-a-plugin.wasm"))
            .unwrap_err();
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("logpipe:plugin/parser@0.2.0") && text.contains("wasi:cli/run"),
        "{text}"
    );
}

// ---- A hostile author: contract 0.2.0 answers the SDK would never produce ----

fn hostile(config: &[(&str, &str)], limits: Limits) -> PluginRunner {
    let engine = PluginEngine::new(limits, Some(cache_dir())).unwrap();
    let plugin =
        logpipe::plugin::LoadedPlugin::load_file(&engine, &guest("logpipe_hostile.wasm")).unwrap();
    let config = config
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PluginRunner::new(plugin, config).unwrap()
}

/// The outcome of the triggering line, checking the three others got through.
fn only_the_trigger_fails(r: &mut PluginRunner) -> Outcome<Vec<String>> {
    let outcomes = parse(r, &BATCH);
    for i in [0, 2, 3] {
        assert!(
            matches!(&outcomes[i], Outcome::Ok(d) if d.len() == 1),
            "line {i}: {:?}",
            outcomes[i]
        );
    }
    outcomes[1].clone()
}

/// Time and memory enough for a flood to be produced, so that the caps on what
/// comes back are what stops it.
fn roomy() -> Limits {
    Limits {
        batch_timeout: Duration::from_secs(10),
        memory_bytes: 256 << 20,
        ..Limits::default()
    }
}

fn bad_answer(outcome: Outcome<Vec<String>>) -> String {
    match outcome {
        Outcome::Failed(CallError::BadAnswer { message }) => message,
        other => panic!("expected a refused answer, got {other:?}"),
    }
}

#[test]
fn sleeping_does_not_block_the_host() {
    // Five seconds asked for; the sandbox's clock subscriptions are ready at once.
    let mut r = hostile(&[("mode", "sleep"), ("n", "5000")], Limits::default());
    let start = Instant::now();
    let outcomes = parse(&mut r, &BATCH);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Ok(_))),
        "{outcomes:?}"
    );
}

#[test]
fn waiting_in_a_loop_is_stopped_at_the_limit_not_before() {
    let limits = Limits {
        batch_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let mut r = hostile(&[("mode", "busy"), ("n", "5000")], limits);
    let start = Instant::now();
    let outcome = only_the_trigger_fails(&mut r);
    let elapsed = start.elapsed();
    assert_eq!(
        outcome,
        Outcome::Failed(CallError::Timeout { limit_ms: 200 })
    );
    // The batch and the lone retry of the line: two limits, each measured on the
    // clock (never early), each ending within a few ticks of 5 ms.
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
    // Not 10 s (two 5 s waits); loose, for a loaded machine's late ticks.
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[test]
fn a_plugin_failing_every_line_is_paused_by_the_breaker() {
    let limits = Limits {
        batch_timeout: Duration::from_millis(100),
        ..Limits::default()
    };
    // Past the limit on every line: without a breaker, 128 lines cost one limit
    // each after the batch's. (Far past it, so that a loaded machine's late
    // epoch tick cannot let a call finish.)
    let mut r = hostile(&[("mode", "busy"), ("n", "2000"), ("all", "1")], limits);
    let messages: Vec<String> = (0..128).map(|i| format!("line {i}")).collect();
    let batch = EventBatch::of_messages(messages.iter().map(String::as_str));
    let start = Instant::now();
    let parsed = r.parse(&batch);
    let elapsed = start.elapsed();
    let outcomes = parsed.outcomes(batch.len());
    let timeouts = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Failed(CallError::Timeout { .. })))
        .count();
    let paused = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Failed(CallError::Paused { .. })))
        .count();
    assert_eq!(timeouts, 4, "the batch and four lines, then the pause");
    assert_eq!(paused, 124);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // While paused, batches cost nothing.
    let start = Instant::now();
    let next = r.parse(&batch);
    assert!(
        next.outcomes(batch.len())
            .iter()
            .all(|o| matches!(o, Outcome::Failed(CallError::Paused { .. })))
    );
    assert!(start.elapsed() < Duration::from_millis(500));
}

#[test]
fn a_million_documents_for_one_line_fail_that_line_only() {
    let mut r = hostile(&[("mode", "many-documents")], roomy());
    let message = bad_answer(only_the_trigger_fails(&mut r));
    assert!(message.contains("documents"), "{message}");
}

#[test]
fn documents_sharing_one_stretch_of_text_are_refused() {
    // Two documents on the same 100 bytes.
    let mut r = hostile(
        &[("mode", "overlap"), ("n", "2"), ("bytes", "100")],
        roomy(),
    );
    let message = bad_answer(only_the_trigger_fails(&mut r));
    assert!(message.contains("overlap"), "{message}");
    // A million documents on one 10 MB stretch: over the size of a document.
    let mut r = hostile(&[("mode", "overlap")], roomy());
    let message = bad_answer(only_the_trigger_fails(&mut r));
    assert!(
        message.contains("documents") || message.contains("bytes"),
        "{message}"
    );
}

#[test]
fn answers_rebuilt_line_by_line_stay_within_the_caps_together() {
    // Ten lines of two 1 MiB documents: the batch's answer (20 MiB) is over the
    // cap of 16 MiB, each line's is not; rebuilt from the lines' answers it
    // stops at the cap, and the lines past it fail.
    let mut r = hostile(
        &[
            ("mode", "many-documents"),
            ("n", "2"),
            ("bytes", "1048000"),
            ("all", "1"),
        ],
        Limits::default(),
    );
    let messages: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
    let batch = EventBatch::of_messages(messages.iter().map(String::as_str));
    let parsed = r.parse(&batch);
    assert!(parsed.text.len() <= logpipe::plugin::limits::answer::MAX_TEXT_BYTES);
    let outcomes = parsed.outcomes(batch.len());
    let kept = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Ok(_)))
        .count();
    assert_eq!(kept, 8, "{outcomes:?}");
    assert!(
        matches!(&outcomes[9], Outcome::Failed(CallError::BadAnswer { message }) if message.contains("would pass"))
    );
}

#[test]
fn a_million_errors_and_a_40_mb_reason_cost_little() {
    let mut r = hostile(&[("mode", "errors")], roomy());
    let start = Instant::now();
    let message = bad_answer(only_the_trigger_fails(&mut r));
    assert!(message.contains("more than one error"), "{message}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );

    let mut r = hostile(&[("mode", "long-reason"), ("n", "40000000")], roomy());
    let Outcome::Rejected(reason) = only_the_trigger_fails(&mut r) else {
        panic!("a reported error")
    };
    assert!(reason.len() < 1100, "{}", reason.len());
    assert!(
        reason.ends_with("more bytes cut)"),
        "{}",
        &reason[reason.len() - 40..]
    );
}

#[test]
fn forty_thousand_keys_are_checked_in_linear_time() {
    use logpipe::document::{InvalidDocument, check_document};
    let mut r = hostile(&[("mode", "keys"), ("n", "40000")], Limits::default());
    let Outcome::Ok(docs) = only_the_trigger_fails(&mut r) else {
        panic!()
    };
    let start = Instant::now();
    let doc = check_document(docs[0].clone()).unwrap();
    assert_eq!(doc.len(), 40_000);
    // The same keys twice: found, as fast.
    let twice = format!("{},{}", &docs[0][..docs[0].len() - 1], &docs[0][1..]);
    assert_eq!(
        check_document(twice).unwrap_err(),
        InvalidDocument::Duplicate("k0".into())
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn clocks_and_random_bytes_stay_readable() {
    let mut r = hostile(&[("mode", "clocks")], Limits::default());
    let Outcome::Ok(docs) = only_the_trigger_fails(&mut r) else {
        panic!()
    };
    let v: serde_json::Value = serde_json::from_str(&docs[0]).unwrap();
    assert!(v["unix"].as_u64().unwrap() > 1_700_000_000, "{v}");
    assert_eq!(v["random_bytes"], 8);
}

/// A component of one core module with `n` empty functions.
fn component_with_functions(n: u32) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, Component, Function, FunctionSection, Instruction, Module, ModuleSection,
        TypeSection,
    };
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let (mut functions, mut code) = (FunctionSection::new(), CodeSection::new());
    for _ in 0..n {
        functions.function(0);
        let mut body = Function::new([]);
        body.instruction(&Instruction::End);
        code.function(&body);
    }
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&code);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    component.finish()
}

#[test]
fn a_component_of_300000_functions_is_refused_before_compiling() {
    let bytes = component_with_functions(300_000);
    assert!(bytes.len() < 2 << 20, "small file: {}", bytes.len());
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    let start = Instant::now();
    let out = crate::util::logpipe()
        .args(["plugin", "check"])
        .arg(file.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("more than 100000 functions"), "{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}
