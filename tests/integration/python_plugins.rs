//! Plugins written in Python with the SDK of `guests/python`, built by
//! `logpipe plugin build-py` (componentize-py): the same answers as the Rust
//! reference plugins, in `plugin run`, `once` and a hot-reloading `run`, and
//! contained like any plugin when they misbehave. JavaScript ones (`guests/js`,
//! `build-js`, componentize-js) give the same answers in `plugin run`.

use crate::run::{run_while_lines_flow, stop_with_every_line_once};
use crate::util::{
    cache_dir, expect_success, fixture, guest, javascript_plugin, logpipe, metric, ndjson,
    python_plugin, run_with_stdin, wait_for, write_atomically,
};
use logpipe::plugin::{
    CallError, EventBatch, Limits, LoadError, Outcome, PluginEngine, PluginRunner,
};
use logpipe::simulate::{Knobs, Simulator};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// `plugin run`'s answers for `input`, one JSON value per line.
fn plugin_run(plugin: &Path, input: &[u8]) -> Vec<Value> {
    let mut cmd = logpipe();
    cmd.args(["plugin", "run"]).arg(plugin);
    let out = run_with_stdin(cmd, input);
    expect_success(&out);
    ndjson(&out.stdout)
}

/// The fixture's lines, then events carrying the fields an earlier stage
/// gives (the design's short format, docs/source-api.md §1.8).
fn events() -> Vec<u8> {
    let mut input = std::fs::read(fixture("api-logs.sample.log")).unwrap();
    for (method, path, message) in [
        ("POST", "/predict", "short format"),
        ("GET", "/predict", "short format"),
        ("POST", "/predict_proba", "short format"),
        (
            "POST",
            "/health",
            "API Call - POST /predict - Status: 200 - é",
        ),
    ] {
        let event = serde_json::json!({
            "message": message,
            "fields": {"http_method": method, "http_path": path},
        });
        input.extend_from_slice(format!("{event}\n").as_bytes());
    }
    input.extend_from_slice("{\"message\": \"ünïcode performance_metrics 日本\"}\n".as_bytes());
    input
}

/// A filter built from `guests/<dir>` decides exactly as the Rust one, and
/// `plugin check` and its configuration behave as for a Rust plugin.
fn filter_decides_as_the_rust_filter(plugin: &Path, toolchain: &str) {
    let input = events();
    let rust = plugin_run(&guest("logpipe_filter.wasm"), &input);
    let theirs = plugin_run(plugin, &input);
    assert_eq!(theirs, rust);
    let kept = theirs.iter().filter(|v| v["accept"] == true).count();
    assert!(
        kept > 60 && kept < theirs.len(),
        "{kept} of {}",
        theirs.len()
    );

    let out = logpipe()
        .args(["plugin", "check"])
        .arg(plugin)
        .output()
        .unwrap();
    expect_success(&out);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&format!("toolchain: {toolchain}")),
        "{report}"
    );
    assert!(report.contains("config keys: pattern "), "{report}");
    let mut cmd = logpipe();
    cmd.args(["plugin", "run", "--config", "pattern="])
        .arg(plugin);
    let out = run_with_stdin(cmd, b"a line\n");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`pattern` must not be empty"), "{stderr}");
}

/// Numbers as f64: JavaScript writes 0.0 as 0.
fn as_f64(value: &Value) -> Value {
    match value {
        Value::Number(n) => serde_json::json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.iter().map(as_f64).collect()),
        Value::Object(fields) => {
            Value::Object(fields.iter().map(|(k, v)| (k.clone(), as_f64(v))).collect())
        }
        other => other.clone(),
    }
}

/// A perf parser built from `guests/<dir>` makes the Rust one's documents.
fn perf_parser_makes_the_rust_documents(plugin: &Path) {
    let input = events();
    let rust = plugin_run(&guest("logpipe_perf.wasm"), &input);
    let theirs = plugin_run(plugin, &input);
    assert_eq!(theirs.len(), rust.len());
    let mut documents = 0;
    for (p, r) in theirs.iter().zip(&rust) {
        // The same documents, compared as JSON values; an error on the same
        // lines (worded by each language's JSON reader).
        assert_eq!(
            as_f64(&p["documents"]),
            as_f64(&r["documents"]),
            "line {}",
            r["line"]
        );
        assert_eq!(p["error"].is_string(), r["error"].is_string(), "{p} {r}");
        documents += r["documents"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(
        documents,
        33 * 2,
        "a metrics and a fields document per performance line"
    );
    assert!(
        theirs.iter().any(|v| v["error"].is_string()),
        "the truncated line"
    );
}

#[test]
fn python_filter_decides_exactly_as_the_rust_filter() {
    if let Some(plugin) = python_plugin("python/examples/filter") {
        filter_decides_as_the_rust_filter(&plugin, "Python (componentize-py 0.25");
    }
}

#[test]
fn python_perf_parser_makes_the_rust_documents() {
    if let Some(plugin) = python_plugin("python/examples/perf") {
        perf_parser_makes_the_rust_documents(&plugin);
    }
}

#[test]
fn javascript_filter_decides_exactly_as_the_rust_filter() {
    if let Some(plugin) = javascript_plugin("js/examples/filter") {
        filter_decides_as_the_rust_filter(&plugin, "JavaScript (ComponentizeJS 0.");
    }
}

#[test]
fn javascript_perf_parser_makes_the_rust_documents() {
    if let Some(plugin) = javascript_plugin("js/examples/perf") {
        perf_parser_makes_the_rust_documents(&plugin);
    }
}

/// Each index's documents, by id.
fn by_index(dir: &Path) -> BTreeMap<String, BTreeMap<String, Value>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let docs = ndjson(&std::fs::read(&path).unwrap())
                .into_iter()
                .map(|d| (d["_id"].as_str().unwrap().to_string(), d["_source"].clone()))
                .collect();
            (
                path.file_stem().unwrap().to_string_lossy().into_owned(),
                docs,
            )
        })
        .collect()
}

const PYTHON_STAGES: &str = r#"
[[stages]]
plugin = "message"
outputs = { fields = "@line", prediction = "ml-api-message" }
[[stages]]
plugin = "filter-py"
[[stages]]
plugin = "perf-py"
outputs = { metrics = "ml-api-perfs", fields = "@line" }
"#;

#[test]
fn once_with_python_plugins_indexes_what_the_rust_plugins_do() {
    let (Some(filter), Some(perf)) = (
        python_plugin("python/examples/filter"),
        python_plugin("python/examples/perf"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(&filter, plugins.join("filter-py.wasm")).unwrap();
    std::fs::copy(&perf, plugins.join("perf-py.wasm")).unwrap();
    let config = tmp.path().join("python.toml");
    std::fs::write(&config, PYTHON_STAGES).unwrap();
    let source = format!("file:{}", fixture("api-logs.sample.log").display());
    let run = |name: &str, config: Option<&Path>| {
        let out_dir = tmp.path().join(name);
        let mut cmd = logpipe();
        cmd.args(["once", "--source", &source, "--sink"])
            .arg(format!("dir:{}", out_dir.display()))
            .arg("--state-dir")
            .arg(tmp.path().join(format!("{name}-state")))
            .arg("--plugins")
            .arg(&plugins);
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        expect_success(&cmd.output().unwrap());
        by_index(&out_dir)
    };
    let rust = run("rust", None);
    let python = run("python", Some(&config));
    assert_eq!(rust["ml-api-logs"].len(), 309);
    assert_eq!(rust["ml-api-perfs"].len(), 33);
    assert_eq!(
        python.keys().collect::<Vec<_>>(),
        rust.keys().collect::<Vec<_>>()
    );
    for (index, docs) in &rust {
        let theirs = &python[index];
        assert_eq!(theirs.len(), docs.len(), "{index}");
        for (id, doc) in docs {
            let mut ours = theirs
                .get(id)
                .unwrap_or_else(|| panic!("{index} {id}"))
                .clone();
            let mut doc = doc.clone();
            // The truncated performance line's error names its plugin and is
            // worded by each language's JSON reader: that there is one is compared.
            for d in [&mut ours, &mut doc] {
                if let Some(errors) = d.get_mut("plugin_errors").and_then(Value::as_array_mut) {
                    for e in errors.iter_mut() {
                        if e.as_str()
                            .is_some_and(|e| e.contains("performance line is not valid JSON"))
                        {
                            *e = "performance line is not valid JSON".into();
                        }
                    }
                }
            }
            assert_eq!(ours, doc, "{index} {id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_python_plugin_hot_reloads_in_run_with_no_line_lost() {
    let Some(perf) = python_plugin("python/examples/perf") else {
        return;
    };
    let Some(filter) = python_plugin("python/examples/filter") else {
        return;
    };
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), Knobs::default(), 50)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    write_atomically(
        &plugins.join("perf-py.wasm"),
        &std::fs::read(&perf).unwrap(),
    );
    std::fs::copy(&filter, plugins.join("filter-py.wasm")).unwrap();
    let config = dir.path().join("logpipe.toml");
    std::fs::write(&config, PYTHON_STAGES).unwrap();
    // Up to two minutes: the first load compiles the ~18 MB components.
    let (child, port) = run_while_lines_flow(
        &sim,
        dir.path(),
        &plugins,
        &config,
        Duration::from_secs(120),
    );
    // Another build of the same plugin: the Python filter in the perf
    // parser's place would be refused (another kind), so the swap is to the
    // Rust reference parser and back, each a full reload of an ~18 MB or a
    // small component while lines flow.
    let reloads = || metric(port, "logpipe_plugin_reloads_total{plugin=\"perf-py\"}").unwrap_or(0);
    let rust = std::fs::read(guest("logpipe_perf.wasm")).unwrap();
    write_atomically(&plugins.join("perf-py.wasm"), &rust);
    wait_for("the reload to Rust", Duration::from_secs(60), || {
        reloads() == 1
    });
    write_atomically(
        &plugins.join("perf-py.wasm"),
        &std::fs::read(&perf).unwrap(),
    );
    wait_for("the reload to Python", Duration::from_secs(60), || {
        reloads() == 2
    });
    let indexed = stop_with_every_line_once(&sim, dir.path(), child, Duration::from_secs(60));
    let perfs = ndjson(&std::fs::read(dir.path().join("out/ml-api-perfs.ndjson")).unwrap());
    let performance_lines = indexed
        .iter()
        .filter(|(l, _)| l.contains("\"performance_metrics\""))
        .count();
    assert_eq!(
        perfs.len(),
        performance_lines,
        "one perf document per performance line"
    );
}

fn hostile(mode: &str, limits: Limits) -> Option<Result<PluginRunner, LoadError>> {
    let path = python_plugin("testing/python-hostile")?;
    let engine = PluginEngine::new(limits, Some(cache_dir())).unwrap();
    let plugin = logpipe::plugin::LoadedPlugin::load_file(&engine, &path).unwrap();
    Some(PluginRunner::new(
        plugin,
        vec![("mode".into(), mode.into())],
    ))
}

/// Runs a batch with one offending line, then a clean batch: the other
/// lines' documents come through, the offending line's outcome is returned.
fn contained(runner: &mut PluginRunner) -> Outcome<usize> {
    let batch = EventBatch::of_messages(["first", "second TRIGGER", "third", "fourth"]);
    let parsed = runner.parse(&batch);
    let mut outcomes = parsed.outcomes(batch.len());
    for i in [0, 2, 3] {
        assert!(
            matches!(&outcomes[i], Outcome::Ok(docs) if docs.len() == 1),
            "line {i}: {:?}",
            outcomes[i]
        );
    }
    let clean = EventBatch::of_messages(["a clean", "batch"]);
    let parsed_clean = runner.parse(&clean);
    let next = parsed_clean.outcomes(clean.len());
    assert!(
        next.iter()
            .all(|o| matches!(o, Outcome::Ok(d) if d.len() == 1)),
        "{next:?}"
    );
    match outcomes.swap_remove(1) {
        Outcome::Ok(docs) => Outcome::Ok(docs.len()),
        Outcome::Rejected(reason) => Outcome::Rejected(reason),
        Outcome::Failed(e) => Outcome::Failed(e),
    }
}

#[test]
fn hostile_python_plugins_are_contained_and_reported() {
    let limits = Limits {
        batch_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let Some(runner) = hostile("loop", limits) else {
        return;
    };
    let outcome = contained(&mut runner.unwrap());
    assert_eq!(
        outcome,
        Outcome::Failed(CallError::Timeout { limit_ms: 300 })
    );

    // Python asks for memory until the cap refuses it: the allocation fails
    // inside the plugin (a MemoryError, reported for that line) or traps.
    let outcome = contained(&mut hostile("alloc", Limits::default()).unwrap().unwrap());
    match outcome {
        Outcome::Rejected(reason) => assert!(reason.contains("MemoryError"), "{reason}"),
        Outcome::Failed(CallError::Memory { limit_mib: 64, .. }) => {}
        other => panic!("{other:?}"),
    }

    let outcome = contained(&mut hostile("raise", Limits::default()).unwrap().unwrap());
    assert_eq!(
        outcome,
        Outcome::Rejected("RuntimeError: refusing this event".into())
    );
    let outcome = contained(&mut hostile("dict", Limits::default()).unwrap().unwrap());
    assert_eq!(
        outcome,
        Outcome::Rejected(
            "TypeError: parse must return or yield (channel, document) pairs, not a dict".into()
        )
    );

    // Files, network and environment: linked for CPython, granted nothing.
    let mut runner = hostile("escape", Limits::default()).unwrap().unwrap();
    let batch = EventBatch::of_messages(["TRIGGER"]);
    let parsed = runner.parse(&batch);
    let outcomes = parsed.outcomes(1);
    let Outcome::Ok(docs) = &outcomes[0] else {
        panic!("{outcomes:?}");
    };
    let seen: Value = serde_json::from_str(docs[0].json).unwrap();
    for attempt in ["read_file", "write_file", "list_root", "connect", "resolve"] {
        let result = seen[attempt].as_str().unwrap();
        assert!(!result.starts_with("ok"), "{attempt}: {result}");
    }
    assert_eq!(seen["environment"], serde_json::json!({}));
    assert!(!Path::new("/tmp/logpipe-escape").exists());

    // A plugin failing in `configure` is refused with what it printed: the
    // traceback says where.
    let Err(error) = hostile("configure", Limits::default()).unwrap() else {
        panic!("configure must fail");
    };
    let text = error.to_string();
    assert!(
        text.contains("configure raised KeyError: 'no-such-key'"),
        "{text}"
    );
    assert!(text.contains("about to fail in configure"), "{text}");
    assert!(text.contains("Traceback (most recent call last)"), "{text}");
    assert!(text.contains("plugin.py\", line"), "{text}");
}
