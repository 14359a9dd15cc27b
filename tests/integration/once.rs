//! `logpipe once` and `logpipe demo` end to end, through the real binary.

use crate::util::{expect_success, fixture, logpipe, ndjson};
use serde_json::Value;
use std::collections::HashMap;

fn once(args: &[&str]) -> std::process::Output {
    let out = logpipe().arg("once").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn by_index(dir: &std::path::Path) -> HashMap<String, Vec<Value>> {
    let mut all = HashMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let index = path.file_stem().unwrap().to_string_lossy().to_string();
        all.insert(index, ndjson(&std::fs::read(&path).unwrap()));
    }
    all
}

#[test]
fn fixture_window_into_dir_gives_the_design_counts_and_contents() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let sample = fixture("api-logs.sample.log");
    once(&[
        "--source",
        &format!("file:{}", sample.display()),
        "--sink",
        &format!("dir:{}", out_dir.display()),
    ]);
    let docs = by_index(&out_dir);
    assert_eq!(docs["ml-api-logs"].len(), 309);
    assert_eq!(docs["ml-api-message"].len(), 36);
    assert_eq!(docs["ml-api-perfs"].len(), 33);

    let logs = &docs["ml-api-logs"];
    let first = &logs[0]["_source"];
    assert_eq!(first["@timestamp"], "2025-11-21T09:12:03Z");
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["logger"], "api");
    assert_eq!(
        first["message"],
        "Logging configuré: redis (localhost:6379)"
    );
    // Four identical records in one second: four documents, four ids.
    let burst: Vec<&Value> = logs[40..44].iter().collect();
    assert!(
        burst
            .iter()
            .all(|d| d["_source"]["raw_log"] == burst[0]["_source"]["raw_log"])
    );
    let ids: std::collections::HashSet<&str> =
        burst.iter().map(|d| d["_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4);
    // Line 256 has no header: stored raw and flagged, no date.
    let l256 = &logs[255]["_source"];
    assert_eq!(l256["flags"][0], "no_header");
    assert!(l256.get("@timestamp").is_none());
    // Line 279, a truncated performance line: flagged, no perf document.
    let l279 = &logs[278]["_source"];
    assert!(
        l279["plugin_errors"][0]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(
        l279["plugin_errors"][0]
            .as_str()
            .unwrap()
            .starts_with("perf ")
    );

    // Line 21 and its performance line 20, joined by transaction_id.
    let tx = "f235299c-8751-4150-aa90-af2e3ee18ab2";
    let message = docs["ml-api-message"]
        .iter()
        .find(|d| d["_source"]["transaction_id"] == tx)
        .unwrap();
    let m = &message["_source"];
    assert_eq!(m["@timestamp"], "2025-11-21T09:15:15Z");
    assert_eq!(m["status_code"], 200);
    assert_eq!(m["input_data"]["ALCOHOL"], 1);
    assert_eq!(m["result"]["message"], "Prédiction positive");
    assert_eq!(
        message["_id"], logs[20]["_id"],
        "derived documents share the line's id"
    );
    let perf = docs["ml-api-perfs"]
        .iter()
        .find(|d| d["_source"]["transaction_id"] == tx)
        .unwrap();
    assert_eq!(
        perf["_source"]["top_functions"].as_array().unwrap().len(),
        5
    );
    assert_eq!(
        logs[19]["_source"]["transaction_id"], tx,
        "the perf line's own document carries the id too"
    );
    // The routing of docs/source-api.md §6: a system line reaches the line index only.
    let system_id = &logs[1]["_id"];
    assert!(
        docs["ml-api-message"]
            .iter()
            .chain(&docs["ml-api-perfs"])
            .all(|d| &d["_id"] != system_id)
    );
}

#[test]
fn sqlite_store_replays_add_nothing_and_sources_agree_on_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store.db");
    let sink = format!("sqlite:{}", store.display());
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let first = once(&["--source", &sample, "--sink", &sink]);
    assert!(String::from_utf8_lossy(&first.stdout).contains("ml-api-logs: 309 stored"));
    let again = once(&["--source", &sample, "--sink", &sink]);
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.contains("already present (replay): 378") && !text.contains("stored"),
        "{text}"
    );
    // The endpoint's JSON of the same window (line 256 left out, as the API does).
    let window = format!("file:{}", fixture("api-logs.window.json").display());
    let from_json = once(&["--source", &window, "--sink", &sink]);
    let text = String::from_utf8_lossy(&from_json.stdout);
    assert!(
        text.contains("already present (replay): 377") && !text.contains("stored"),
        "{text}"
    );
}

#[test]
fn an_invalid_environment_variable_is_bad_input_naming_it() {
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    for (variable, value) in [
        ("LOGPIPE_ES_DEADLINE_SECS", "5m"),
        ("PIPELINE_POLL_INTERVAL", "soon"),
        ("ELASTICSEARCH_GZIP", "yes"),
    ] {
        let out = logpipe()
            .args(["once", "--source", &sample, "--sink", "null:"])
            .env(variable, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{variable}={value}: {stderr}");
        assert!(
            stderr.contains(variable) && stderr.contains(value),
            "{variable}={value}: {stderr}"
        );
    }
}

#[test]
fn bad_source_and_sink_are_bad_input() {
    let out = logpipe()
        .args([
            "once",
            "--source",
            "file:/nonexistent/x.log",
            "--sink",
            "null:",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.log"));
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let out = logpipe()
        .args(["once", "--source", &sample, "--sink", "ftp:x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown sink scheme `ftp`"));
}

#[test]
fn demo_exits_zero_and_the_store_holds_what_it_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("demo.db");
    let out = logpipe()
        .args(["demo", "--duration", "1", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    expect_success(&out);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let reported = |index: &str| -> i64 {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{index}:")))
            .unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let conn = rusqlite_count(&store);
    for index in ["ml-api-logs", "ml-api-message", "ml-api-perfs"] {
        assert_eq!(conn(index), reported(index), "{index}");
        assert!(reported(index) > 0);
    }
    assert!(text.contains("one transaction across the indices"));
}

fn rusqlite_count(store: &std::path::Path) -> impl Fn(&str) -> i64 {
    let store = logpipe::store::StoreReader::open(store).unwrap();
    move |index| {
        store
            .documents(Default::default(), None)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM documents WHERE index_name = ?1",
                [index],
                |r| r.get(0),
            )
            .unwrap()
    }
}

#[test]
fn trace_finds_the_prediction_and_its_performance_line() {
    let tmp = tempfile::tempdir().unwrap();
    let sink = format!("sqlite:{}", tmp.path().join("s.db").display());
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    once(&["--source", &sample, "--sink", &sink]);
    let out = logpipe()
        .args([
            "trace",
            "f235299c-8751-4150-aa90-af2e3ee18ab2",
            "--sink",
            &sink,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[f235299c-8751-4150-aa90-af2e3ee18ab2] API Call - POST /predict"),
        "{text}"
    );
    assert!(
        text.contains("prediction (ml-api-message)")
            && text.contains("\"probability\":0.851539238530472"),
        "{text}"
    );
    assert!(
        text.contains("performance (ml-api-perfs)") && text.contains("inference 32.85 ms"),
        "{text}"
    );
    assert!(text.contains("predict_proba (sklearn.py:1615)"), "{text}");
    let missing = logpipe()
        .args(["trace", "nope", "--sink", &sink])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn config_show_gives_origins_and_masks_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("c.toml");
    std::fs::write(&cfg, "batch_lines = 77\npoll_interval_secs = 3\n").unwrap();
    let out = logpipe()
        .args(["config", "show", "--config"])
        .arg(&cfg)
        .args([
            "--sink",
            "es:https://elastic:hunter2@h:9200",
            "--batch-lines",
            "5",
        ])
        .env("PIPELINE_POLL_INTERVAL", "7")
        .env("HF_TOKEN", "hf_secret")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key}: {text}"))
            .to_string()
    };
    // What each stage sees, the filter's reach said (issue 18).
    assert!(
        line("stage 2").contains("filter (filter); sees every line"),
        "{text}"
    );
    assert!(
        line("stage 3").contains("perf (parser); sees only the lines kept by the filter `filter`"),
        "{text}"
    );
    assert!(
        line("batch_lines").contains("5") && line("batch_lines").contains("flag --batch-lines")
    );
    assert!(line("poll_interval_secs").contains("environment PIPELINE_POLL_INTERVAL"));
    assert!(line("line_index").contains("(default)"));
    assert!(
        !text.contains("hunter2") && !text.contains("hf_secret"),
        "{text}"
    );
    assert!(line("hf_token").contains("******"));
    let credentials = line("elasticsearch_url_credentials");
    assert!(credentials.contains("******") && credentials.contains("(flag --sink)"));
    assert!(
        line("stages").contains(
            "message (fields -> @line, prediction -> ml-api-message); filter; perf (fields -> @line, metrics -> ml-api-perfs)"
        ),
        "{text}"
    );
    // Unknown keys are rejected with the file named.
    std::fs::write(&cfg, "batch_line = 3\n").unwrap();
    let bad = logpipe()
        .args(["config", "show", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("batch_line"));
}

#[test]
fn check_says_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let out = logpipe()
        .args(["check", "--source", &sample, "--sink"])
        .arg(format!("dir:{}", tmp.path().display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = logpipe()
        .args([
            "check",
            "--source",
            "file:/nonexistent.log",
            "--sink",
            &format!("es:http://127.0.0.1:{port}"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL  source file:/nonexistent.log"),
        "{text}"
    );
    assert!(text.contains("is the server running"), "{text}");
    assert!(text.contains("ok    plugin message"), "{text}");
    // The root cause, once, and the server's address once.
    let out = logpipe()
        .args(["once", "--source", &sample, "--sink"])
        .arg(format!("es:http://127.0.0.1:{port}"))
        .arg("--state-dir")
        .arg(tmp.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Connection refused"), "{err}");
    assert_eq!(
        err.matches(&format!("127.0.0.1:{port}")).count(),
        1,
        "{err}"
    );
}

#[test]
fn check_with_a_sample_counts_each_channels_documents_and_warns_about_empty_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture_log = fixture("api-logs.sample.log");
    let out = logpipe()
        .args(["check", "--sink", "null:", "--sample"])
        .arg(&fixture_log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("309 lines, 78 kept by the filters")
            && text.contains("stage message channel prediction -> ml-api-message: 36 documents")
            && text.contains("stage perf channel metrics -> ml-api-perfs: 33 documents")
            && !text.contains("WARN"),
        "{text}"
    );
    // Lines the reference filter drops: every index channel is warned about,
    // and warnings do not fail the check.
    let health = tmp.path().join("health.log");
    let lines: String = (0..20)
        .map(|i| format!("2025-11-21 09:12:{i:02} - api - INFO - Health check effectué - Model: True, Redis: True\n"))
        .collect();
    std::fs::write(&health, lines).unwrap();
    let out = logpipe()
        .args(["check", "--sink", "null:", "--sample"])
        .arg(&health)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "WARN  stage perf channel metrics -> ml-api-perfs: no document on the sample's 20 lines"
        ) && text.contains("WARN  stage message channel prediction -> ml-api-message")
            && text.contains("see `filter_pattern`"),
        "{text}"
    );
}

#[test]
fn design_document_routing_each_example_in_its_indices_and_only_there() {
    // The design's three examples (docs/source-api.md §6) are elided (`...`), so the reference
    // gives complete equivalents from the sample: 176 (short format) and 21 (real
    // format) are predictions, 20 is a performance line, 2 a system line.
    let sample = std::fs::read_to_string(fixture("api-logs.sample.log")).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    let picked = [lines[175], lines[20], lines[19], lines[1]];
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("design.log");
    std::fs::write(&log, picked.join("\n") + "\n").unwrap();
    let out_dir = tmp.path().join("out");
    once(&[
        "--source",
        &format!("file:{}", log.display()),
        "--sink",
        &format!("dir:{}", out_dir.display()),
    ]);
    let docs = by_index(&out_dir);
    let ids_in = |index: &str| -> Vec<String> {
        docs.get(index).map_or(Vec::new(), |d| {
            d.iter()
                .map(|d| d["_id"].as_str().unwrap().to_string())
                .collect()
        })
    };
    let logs = &docs["ml-api-logs"];
    assert_eq!(logs.len(), 4, "every line in the line index");
    let id = |i: usize| logs[i]["_id"].as_str().unwrap().to_string();
    assert_eq!(
        ids_in("ml-api-message"),
        [id(0), id(1)],
        "the two predictions, and only them"
    );
    assert_eq!(
        ids_in("ml-api-perfs"),
        [id(2)],
        "the performance line, and only it"
    );
    assert_eq!(docs.len(), 3, "no other index");
}

#[test]
fn store_stats_counts_documents_per_index_and_their_time_span() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("store.db").display());
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let out = logpipe()
        .args(["once", "--source", &sample, "--sink", &store, "--state-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    expect_success(&out);
    let out = logpipe()
        .args([
            "store",
            "stats",
            "--format",
            "json",
            "--sink",
            &store,
            "--state-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    expect_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let counts: Vec<(String, u64)> = v["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["index"].as_str().unwrap().to_string(),
                i["documents"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("ml-api-logs".to_string(), 309),
            ("ml-api-message".to_string(), 36),
            ("ml-api-perfs".to_string(), 33)
        ]
    );
    assert_eq!(v["indices"][0]["oldest"], "2025-11-21T09:12:03Z");
    assert!(v["bytes"].as_u64().unwrap() > 0);
    // A store that does not exist is a clear error, not an empty answer.
    let missing = logpipe()
        .args(["store", "stats", "--sink", "sqlite:/nonexistent/store.db"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no store at"));
}

#[test]
fn the_store_holds_the_same_documents_and_ids_as_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let dir = tmp.path().join("out");
    let store = tmp.path().join("s.db");
    once(&[
        "--source",
        &sample,
        "--sink",
        &format!("dir:{}", dir.display()),
    ]);
    let out = once(&[
        "--source",
        &sample,
        "--sink",
        &format!("sqlite:{}", store.display()),
    ]);
    // Not a terminal: one summary line instead of a live one.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("once: 309 lines in"), "{stderr}");
    assert!(!stderr.contains('\r'), "{stderr}");

    let mut from_files: Vec<String> = Vec::new();
    for index in ["ml-api-logs", "ml-api-message", "ml-api-perfs"] {
        let text = std::fs::read_to_string(dir.join(format!("{index}.ndjson"))).unwrap();
        for line in text.lines() {
            // `{"_index":…,"_id":…,"_source":{…}}`: the source as written.
            let doc: Value = serde_json::from_str(line).unwrap();
            let source = &line[line.find(r#""_source":"#).unwrap() + 10..line.len() - 1];
            from_files.push(format!(
                "{index}\t{}\t{source}",
                doc["_id"].as_str().unwrap()
            ));
        }
    }
    from_files.sort();
    let out = logpipe()
        .args([
            "store",
            "sql",
            "SELECT index_name, id, source(seq) FROM documents",
            "--sink",
            &format!("sqlite:{}", store.display()),
        ])
        .output()
        .unwrap();
    expect_success(&out);
    let mut from_store: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    from_store.sort();
    assert_eq!(from_store.len(), 309 + 36 + 33);
    assert_eq!(from_store, from_files);
}

#[test]
fn store_prune_applies_the_configured_retention_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let store = tmp.path().join("s.db");
    let sink = format!("sqlite:{}", store.display());
    once(&["--source", &sample, "--sink", &sink]);
    let (total, older): (i64, i64) = logpipe::store::StoreReader::open(&store)
        .unwrap()
        .documents(Default::default(), None)
        .unwrap()
        .query_row(
            "SELECT count(*), count(*) FILTER (WHERE time < (SELECT max(time) FROM documents) - 60000)
             FROM documents",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(older > 0 && older < total, "{older} of {total}");
    let config = tmp.path().join("c.toml");
    std::fs::write(
        &config,
        "[store]\nretention_age = \"1m\"\nretention_size = \"off\"\n",
    )
    .unwrap();
    let out = logpipe()
        .args(["store", "prune", "--sink", &sink, "--config"])
        .arg(&config)
        .output()
        .unwrap();
    expect_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "{older} documents deleted for their age, 0 for the size"
        )),
        "{text}"
    );
    let left: i64 = logpipe::store::StoreReader::open(&store)
        .unwrap()
        .documents(Default::default(), None)
        .unwrap()
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, total - older);

    std::fs::write(&config, "[store]\nretention_age = \"soon\"\n").unwrap();
    let out = logpipe()
        .args(["store", "prune", "--sink", &sink, "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("store.retention_age: `soon`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn missing_files_name_the_os_reason_and_exit_2_in_every_command() {
    let missing_config = ["--config", "/nonexistent/logpipe.toml"];
    for command in [
        vec!["once", "--source", "file:x.log"],
        vec!["check"],
        vec!["store", "stats"],
    ] {
        let out = logpipe()
            .args(&command)
            .args(missing_config)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{command:?}: {text}");
        assert!(
            text.contains("/nonexistent/logpipe.toml: No such file or directory"),
            "{command:?}: {text}"
        );
    }
    let out = logpipe()
        .args([
            "once",
            "--source",
            "file:/nonexistent/api.log",
            "--sink",
            "null:",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/nonexistent/api.log: No such file or directory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_binary_file_is_refused_with_status_2() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("api.log.gz");
    std::fs::write(
        &file,
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03 compressed",
    )
    .unwrap();
    let out = logpipe()
        .args(["once", "--sink", "null:", "--source"])
        .arg(format!("file:{}", file.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not a log file: it holds a NUL byte at offset 3"),
        "{stderr}"
    );
}

#[test]
fn bench_tells_plugin_problems_once_below_its_table() {
    let out = logpipe()
        .args(["bench", "--no-plugins", "--corpus"])
        .arg(fixture("api-logs.sample.log"))
        .output()
        .unwrap();
    expect_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("plugin problem"), "{stderr}");
    assert!(
        stdout.contains("could not handle, per run: perf 1;"),
        "{stdout}"
    );
}

#[test]
fn check_says_which_stages_see_only_the_filtered_lines() {
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let out = logpipe()
        .args(["check", "--sink", "null:", "--source", &sample])
        .output()
        .unwrap();
    expect_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |plugin: &str| {
        text.lines()
            .find(|l| l.contains(&format!("plugin {plugin}:")))
            .unwrap_or_else(|| panic!("{plugin}: {text}"))
            .to_string()
    };
    assert!(!line("message").contains("sees only"), "{text}");
    assert!(
        line("message")
            .contains("its index documents are written only for lines kept by the filter `filter`"),
        "{text}"
    );
    assert!(!line("filter").contains("sees only"), "{text}");
    assert!(
        line("perf").contains("sees only the lines kept by the filter `filter`"),
        "{text}"
    );
}
