//! Golden tests: every line of the fixture window through the real components,
//! and the plugin command line.

use crate::util::{expect_success, fixture, guest, logpipe, ndjson, run_with_stdin};

fn golden(plugin_file: &str, golden_file: &str) {
    golden_from("api-logs.sample.log", plugin_file, golden_file);
}

/// Runs every line of `input` through the component and compares with the golden file.
fn golden_from(input: &str, plugin_file: &str, golden_file: &str) {
    let input = std::fs::read(fixture(input)).unwrap();
    let mut cmd = logpipe();
    cmd.args(["plugin", "run"]).arg(guest(plugin_file));
    let out = run_with_stdin(cmd, &input);
    expect_success(&out);
    let got = ndjson(&out.stdout);
    let expected = ndjson(&std::fs::read(fixture(golden_file)).unwrap());
    assert_eq!(got.len(), 309);
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e, "line {}", e["line"]);
    }
}

#[test]
fn message_parser_golden() {
    golden("logpipe_message.wasm", "golden/message.ndjson");
}

#[test]
fn perf_parser_golden() {
    golden("logpipe_perf.wasm", "golden/perf.ndjson");
}

#[test]
fn filter_golden() {
    // Each sample line with the http fields the message parser found for it.
    golden_from(
        "filter-events.ndjson",
        "logpipe_filter.wasm",
        "golden/filter.ndjson",
    );
    let decisions = ndjson(&std::fs::read(fixture("golden/filter.ndjson")).unwrap());
    let kept = decisions.iter().filter(|d| d["accept"] == true).count();
    assert_eq!(
        kept, 78,
        "36 predictions, 33 performance lines and the other matching calls"
    );
}

#[test]
fn top_functions_golden() {
    golden("logpipe_top_functions.wasm", "golden/top-functions.ndjson");
    let out = ndjson(&std::fs::read(fixture("golden/top-functions.ndjson")).unwrap());
    let line20 = out[19]["documents"].as_array().unwrap();
    assert_eq!(line20.len(), 5, "one document per top function");
    assert_eq!(line20[0]["document"]["function"], "predict_proba");
    assert_eq!(line20[4]["document"]["rank"], 4);
}

#[test]
fn golden_files_say_what_the_reference_says() {
    // Independent of the golden files being regenerated: the facts the fixture
    // notes state about named lines.
    let message = ndjson(&std::fs::read(fixture("golden/message.ndjson")).unwrap());
    let perf = ndjson(&std::fs::read(fixture("golden/perf.ndjson")).unwrap());
    let docs = |v: &serde_json::Value, channel: &str| -> Vec<serde_json::Value> {
        v["documents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["channel"] == channel)
            .map(|d| d["document"].clone())
            .collect()
    };
    let predictions = message
        .iter()
        .filter(|v| !docs(v, "prediction").is_empty())
        .count();
    assert_eq!(predictions, 36, "ml-api-message under the design rules");
    let perfs = perf
        .iter()
        .filter(|v| !docs(v, "metrics").is_empty())
        .count();
    assert_eq!(perfs, 33, "ml-api-perfs");
    let l21 = &docs(&message[20], "prediction")[0];
    assert_eq!(l21["result"]["message"], "Prédiction positive");
    assert_eq!(l21["input_data"]["ALCOHOL"], 1);
    let l20 = &docs(&perf[19], "metrics")[0];
    assert_eq!(l20["transaction_id"], l21["transaction_id"]);
    assert!(
        perf[278]["error"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
}

#[test]
fn filter_keeps_predictions_and_performance_lines() {
    let input = concat!(
        "2025-11-21 09:15:15 - api - INFO - [f2] API Call - POST /predict - Status: 200 - Time: 51.14ms\n",
        "2025-11-21 09:15:16 - api - INFO - Health check effectué - Model: True, Redis: True\n",
        "{\"message\": \"[abc-123] POST /predict - 200 - 45ms - {} - {}\", \"fields\": {\"http_method\": \"POST\", \"http_path\": \"/predict\"}}\n",
        "2025-11-21 09:15:17 - api - INFO - {\"performance_metrics\": {}}\n",
    );
    let mut cmd = logpipe();
    cmd.args(["plugin", "run"])
        .arg(guest("logpipe_filter.wasm"));
    let out = run_with_stdin(cmd, input.as_bytes());
    expect_success(&out);
    let accepted: Vec<bool> = ndjson(&out.stdout)
        .iter()
        .map(|v| v["accept"].as_bool().unwrap())
        .collect();
    assert_eq!(accepted, [true, false, true, true]);
}

#[test]
fn plugin_run_configuration_and_exit_codes() {
    let line = b"2025-11-21 09:15:15 - api - INFO - Erreur lors de la pr\xc3\xa9diction : x\n";
    let mut cmd = logpipe();
    cmd.args(["plugin", "run", "--config", "pattern=Erreur"])
        .arg(guest("logpipe_filter.wasm"));
    let out = run_with_stdin(cmd, line);
    assert!(out.status.success());
    assert_eq!(ndjson(&out.stdout)[0]["accept"], true);

    let mut refused = logpipe();
    refused
        .args(["plugin", "run", "--config", "patern=x"])
        .arg(guest("logpipe_filter.wasm"));
    let out = run_with_stdin(refused, line);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a refused configuration is a plugin failure"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("patern"));

    let mut bad_input = logpipe();
    bad_input
        .args(["plugin", "run"])
        .arg(guest("logpipe_filter.wasm"));
    let out = run_with_stdin(bad_input, b"{\"message\": 3}\n");
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unreadable JSON event is bad input"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdin line 1"));

    let mut bad_flag = logpipe();
    bad_flag
        .args(["plugin", "run", "--config", "novalue"])
        .arg(guest("logpipe_filter.wasm"));
    assert_eq!(run_with_stdin(bad_flag, b"").status.code(), Some(2));
}

#[test]
fn plugin_check_reports_kind_and_errors() {
    let out = logpipe()
        .args(["plugin", "check", "--json"])
        .arg(guest("logpipe_perf.wasm"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["kind"], "parser");
    assert_eq!(report["name"], "perf");
    assert_eq!(report["contract"], "0.2.0");
    assert_eq!(report["channels"][0], "metrics");
    assert_eq!(report["config_keys"], serde_json::json!([]));
    // The keys a stage's `config` may set, as the plugin's refusal names them.
    for (plugin, keys) in [
        ("logpipe_filter.wasm", "config keys: pattern"),
        ("logpipe_message.wasm", "config keys: prediction_status"),
    ] {
        let out = logpipe()
            .args(["plugin", "check"])
            .arg(guest(plugin))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(keys), "{plugin}: {text}");
    }

    let out = logpipe()
        .args(["plugin", "check"])
        .arg(guest("logpipe-not-a-plugin.wasm"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a logpipe plugin") && err.contains("wasi:cli/run"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let out = logpipe()
        .args(["plugin", "check"])
        .arg(&core)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("core WebAssembly module"));

    let missing = dir.path().join("missing.wasm");
    let out = logpipe()
        .args(["plugin", "check"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.wasm"));
}
