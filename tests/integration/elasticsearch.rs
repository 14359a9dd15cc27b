//! Indexing into a real server over HTTP: noida-db (Elasticsearch 8 API) started
//! by the test, or the Elasticsearch at `LOGPIPE_TEST_ES_URL`.

use crate::util::{
    OutageProxy, SearchServer, expect_success, fixture, logpipe, prefixed_config, unique_prefix,
};
use std::process::Output;

fn once(
    es: &SearchServer,
    config: &std::path::Path,
    state: &std::path::Path,
    source: &str,
) -> Output {
    logpipe()
        .args([
            "once",
            "--source",
            source,
            "--sink",
            &format!("es:{}", es.url),
            "--config",
        ])
        .arg(config)
        .arg("--state-dir")
        .arg(state)
        .env("LOGPIPE_ES_DEADLINE_SECS", "120")
        .output()
        .unwrap()
}

#[test]
fn fixture_window_indexes_with_mappings_counts_contents_and_replays_add_nothing() {
    let Some(es) = SearchServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = unique_prefix("fixture");
    let config = prefixed_config(dir.path(), &p);
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let out = once(&es, &config, dir.path(), &sample);
    expect_success(&out);
    assert_eq!(es.count(&format!("{p}-ml-api-logs")), 309);
    assert_eq!(es.count(&format!("{p}-ml-api-message")), 36);
    assert_eq!(es.count(&format!("{p}-ml-api-perfs")), 33);

    // Mappings installed from the repository's files.
    let (_, mapping) = es.get(&format!("/{p}-ml-api-perfs/_mapping")).unwrap();
    let mapping: serde_json::Value = serde_json::from_str(&mapping).unwrap();
    let props = &mapping[format!("{p}-ml-api-perfs")]["mappings"]["properties"];
    assert_eq!(props["top_functions"]["type"], "nested");
    assert_eq!(props["function_calls"]["type"], "integer");
    let (_, mapping) = es.get(&format!("/{p}-ml-api-message/_mapping")).unwrap();
    assert!(
        mapping.contains("\"AGE\":{\"type\":\"integer\"}")
            || mapping.contains("\"AGE\": {\"type\": \"integer\"}"),
        "{mapping}"
    );

    // Contents: the prediction of line 21.
    let docs = es.documents(&format!("{p}-ml-api-message"));
    let d = docs
        .iter()
        .find(|d| d["_source"]["transaction_id"] == "f235299c-8751-4150-aa90-af2e3ee18ab2")
        .expect("line 21");
    assert_eq!(d["_source"]["result"]["message"], "Prédiction positive");
    assert_eq!(d["_source"]["input_data"]["CHEST_PAIN"], 1);
    assert_eq!(d["_source"]["@timestamp"], "2025-11-21T09:15:15Z");

    // A second run over the same window changes no count.
    let again = once(&es, &config, dir.path(), &sample);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already present (replay): 378"));
    assert_eq!(es.count(&format!("{p}-ml-api-logs")), 309);
    assert_eq!(es.count(&format!("{p}-ml-api-message")), 36);
}

#[test]
fn rejected_document_lands_in_the_dead_letter_file_with_its_reason() {
    let Some(es) = SearchServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = unique_prefix("dead");
    let config = prefixed_config(dir.path(), &p);
    let log = dir.path().join("bad.log");
    std::fs::write(
        &log,
        "2025-11-21 10:00:00 - api - INFO - [t-1] API Call - POST /predict - Status: 200 - Time: 1.0ms - Input: {\"AGE\": \"soixante\", \"GENDER\": 1} - Result: {\"prediction\": 1, \"probability\": 0.9}\n\
         2025-11-21 10:00:01 - api - INFO - [t-2] API Call - POST /predict - Status: 200 - Time: 1.0ms - Input: {\"AGE\": 61, \"GENDER\": 1} - Result: {\"prediction\": 1, \"probability\": 0.9}\n",
    )
    .unwrap();
    let out = once(&es, &config, dir.path(), &format!("file:{}", log.display()));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a dead letter makes the run fail"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("dead letters: 1"));
    let dead = std::fs::read_to_string(dir.path().join("dead-letters.ndjson")).unwrap();
    let line: serde_json::Value = serde_json::from_str(dead.lines().next().unwrap()).unwrap();
    assert_eq!(line["index"], format!("{p}-ml-api-message"));
    assert_eq!(line["status"], 400);
    assert!(line["reason"].as_str().unwrap().contains("AGE"), "{line}");
    assert_eq!(line["document"]["input_data"]["AGE"], "soixante");
    assert!(line["_id"].as_str().unwrap().len() == 32 && line["time"].is_string());
    assert_eq!(
        es.count(&format!("{p}-ml-api-message")),
        1,
        "the good one is indexed"
    );
    assert_eq!(
        es.count(&format!("{p}-ml-api-logs")),
        2,
        "both lines reach the line index"
    );
}

#[test]
fn conflicting_existing_mapping_is_reported_not_altered() {
    let Some(es) = SearchServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = unique_prefix("conflict");
    let config = prefixed_config(dir.path(), &p);
    let index = format!("{p}-ml-api-message");
    es.put(
        &format!("/{index}"),
        r#"{"mappings":{"properties":{"status_code":{"type":"keyword"}}}}"#,
    )
    .unwrap();
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let out = once(&es, &config, dir.path(), &sample);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&index) && err.contains("status_code") && err.contains("keyword"),
        "{err}"
    );
    let (_, mapping) = es.get(&format!("/{index}/_mapping")).unwrap();
    assert!(!mapping.contains("input_data"), "not altered: {mapping}");
}

/// The server goes away in the middle of a run and comes back: logpipe retries
/// until it answers, and `create` with deterministic ids makes the resent
/// documents harmless. The outage is made by a proxy that cuts and refuses
/// connections, because stopping noida-db itself loses writes it had already
/// acknowledged (its data is saved as a snapshot on shutdown), which would test
/// noida-db rather than logpipe.
#[test]
fn server_gone_mid_run_then_back_every_document_once() {
    let Some(es) = SearchServer::start() else {
        return;
    };
    let proxy = OutageProxy::start(&es.url);
    let dir = tempfile::tempdir().unwrap();
    let p = unique_prefix("outage");
    let config = prefixed_config(dir.path(), &p);
    // Enough traffic to still be indexing when the server goes away.
    let log = dir.path().join("traffic.log");
    let mut g =
        logpipe::simulate::Generator::new(logpipe::simulate::Knobs::default(), 1_763_716_323);
    let mut lines = Vec::new();
    while lines.len() < 12_000 {
        lines.extend(g.next_event());
    }
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let child = logpipe()
        .args(["once", "--batch-lines", "200", "--workers", "1", "--source"])
        .arg(format!("file:{}", log.display()))
        .args(["--sink", &format!("es:{}", proxy.url), "--config"])
        .arg(&config)
        .arg("--state-dir")
        .arg(dir.path())
        .env("LOGPIPE_ES_DEADLINE_SECS", "120")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    proxy.down();
    std::thread::sleep(std::time::Duration::from_secs(3));
    proxy.up();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("dead letters"), "{stdout}");
    assert!(
        stderr.contains("bulk retry"),
        "the outage was seen and retried: {stderr}"
    );
    // `_id`s are unique per index, so a count equal to the lines means each once.
    assert_eq!(
        es.count(&format!("{p}-ml-api-logs")),
        lines.len() as u64,
        "every line once: {stdout}"
    );
    let predictions = lines
        .iter()
        .filter(|l| l.contains("API Call - POST") && l.contains("Status: 200"))
        .count();
    assert_eq!(
        es.count(&format!("{p}-ml-api-message")),
        predictions as u64,
        "{stdout}"
    );
}

#[test]
fn check_compares_mappings_and_creates_nothing() {
    let Some(es) = SearchServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = unique_prefix("check");
    let config = prefixed_config(dir.path(), &p);
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let check = || {
        logpipe()
            .args([
                "check",
                "--source",
                &sample,
                "--sink",
                &format!("es:{}", es.url),
                "--config",
            ])
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = check();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("will be created at start") && text.contains(&format!("{p}-ml-api-logs")),
        "{text}"
    );
    assert_eq!(
        es.get(&format!("/{p}-ml-api-logs")).unwrap().0,
        404,
        "a check creates no index"
    );
    es.put(
        &format!("/{p}-ml-api-perfs"),
        r#"{"mappings":{"properties":{"top_functions":{"type":"keyword"}}}}"#,
    )
    .unwrap();
    let out = check();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains("FAIL") && text.contains("top_functions") && text.contains("nested"),
        "{text}"
    );
}

#[test]
fn a_refused_line_document_is_indexed_without_plugin_fields_and_kept_for_replay() {
    let Some(es) = SearchServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = unique_prefix("bare");
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(
        crate::util::guest("logpipe_hostile.wasm"),
        plugins.join("hostile.wasm"),
    )
    .unwrap();
    let config = dir.path().join("logpipe.toml");
    // The plugin gives one line a `status_code` the line index maps as an integer.
    std::fs::write(
        &config,
        format!(
            r#"line_index = "{p}-ml-api-logs"
[[stages]]
plugin = "hostile"
config = {{ mode = "text-status" }}
outputs = {{ out = "@line" }}
"#
        ),
    )
    .unwrap();
    let log = dir.path().join("api.log");
    std::fs::write(
        &log,
        "2025-11-21 10:00:00 - api - INFO - first\n\
         2025-11-21 10:00:01 - api - INFO - second TRIGGER\n\
         2025-11-21 10:00:02 - api - INFO - third\n",
    )
    .unwrap();
    let out = logpipe()
        .args(["once", "--source", &format!("file:{}", log.display())])
        .args(["--sink", &format!("es:{}", es.url), "--config"])
        .arg(&config)
        .arg("--plugins")
        .arg(&plugins)
        .arg("--state-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        es.count(&format!("{p}-ml-api-logs")),
        3,
        "every line reaches the line index"
    );
    let docs = es.documents(&format!("{p}-ml-api-logs"));
    let bare = docs
        .iter()
        .find(|d| d["_source"]["message"] == "second TRIGGER")
        .unwrap();
    assert!(bare["_source"].get("status_code").is_none(), "{bare}");
    assert!(
        bare["_source"]["flags"]
            .to_string()
            .contains("plugin_fields_rejected")
    );
    // The whole document waits in the dead-letter file.
    let dead = dir.path().join("dead-letters.ndjson");
    let before = std::fs::read_to_string(&dead).unwrap();
    assert_eq!(before.lines().count(), 1);
    assert!(before.contains("not a number"), "{before}");

    let replay = |dry: bool| {
        let mut cmd = logpipe();
        cmd.args([
            "dead-letters",
            "replay",
            "--sink",
            &format!("es:{}", es.url),
        ])
        .arg("--config")
        .arg(&config)
        .arg("--state-dir")
        .arg(dir.path());
        if dry {
            cmd.arg("--dry-run");
        }
        cmd.output().unwrap()
    };
    let dry = replay(true);
    expect_success(&dry);
    assert!(String::from_utf8_lossy(&dry.stdout).contains("1 entries"));
    assert_eq!(
        std::fs::read_to_string(&dead).unwrap(),
        before,
        "a dry run changes nothing"
    );
    // The cause is not fixed (the mapping still says integer): it stays.
    let again = replay(false);
    assert_eq!(
        again.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("still refused: 1"));
    assert_eq!(std::fs::read_to_string(&dead).unwrap(), before);
    // Fixed (an index whose `status_code` takes text): the whole document
    // replaces the one stored without its plugin fields, and leaves the file.
    let logs = format!("{p}-ml-api-logs");
    assert!(es.delete(&format!("/{logs}")).is_some());
    es.put(
        &format!("/{logs}"),
        r#"{"mappings":{"properties":{"status_code":{"type":"keyword"}}}}"#,
    )
    .unwrap();
    let fixed = replay(false);
    expect_success(&fixed);
    assert!(String::from_utf8_lossy(&fixed.stdout).contains("stored: 1"));
    assert!(!dead.exists(), "nothing left to replay");
    assert_eq!(es.count(&logs), 1);
    let docs = es.documents(&logs);
    assert_eq!(docs[0]["_source"]["status_code"], "not a number");
}

#[test]
fn bench_against_the_search_server_leaves_no_index_behind() {
    let Some(es) = SearchServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = logpipe()
        .args([
            "bench",
            "--no-plugins",
            "--no-pipeline",
            "--es",
            &es.url,
            "--corpus",
        ])
        .arg(fixture("api-logs.sample.log"))
        .arg("--state-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    expect_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("ratio logpipe / raw"));
    let (status, indices) = es.get("/_cat/indices/bench-*?format=json").unwrap();
    assert_eq!(status, 200, "{indices}");
    assert!(!indices.contains("bench-"), "left behind: {indices}");
}
