//! The no-loss promise under bad input and failures that look like success:
//! one bad record, an unwritable or corrupt checkpoint, two processes on one
//! state directory, a plugin that sleeps, credentials in errors.

use crate::run::{indexed_lines, start_run, stop, terminate};
use crate::util::{expect_success, fixture, free_port, guest, logpipe, metric, ndjson, wait_for};
use logpipe::simulate::{Knobs, Simulator};
use std::time::Duration;

#[test]
fn one_invalid_utf8_byte_costs_only_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.log");
    let mut bytes = std::fs::read(fixture("api-logs.sample.log")).unwrap();
    // Line 3 gets an invalid byte in its message.
    let third = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(2)
        .map(|(i, _)| i)
        .unwrap();
    bytes.insert(third - 1, 0xff);
    std::fs::write(&log, &bytes).unwrap();
    let out = logpipe()
        .args(["once", "--source", &format!("file:{}", log.display())])
        .arg("--sink")
        .arg(format!("dir:{}", dir.path().join("out").display()))
        .arg("--state-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    expect_success(&out);
    let docs = ndjson(&std::fs::read(dir.path().join("out/ml-api-logs.ndjson")).unwrap());
    assert_eq!(docs.len(), 309, "every line of the file");
    let flagged: Vec<&serde_json::Value> = docs
        .iter()
        .filter(|d| d["_source"]["flags"].to_string().contains("invalid_utf8"))
        .collect();
    assert_eq!(flagged.len(), 1);
    assert!(
        flagged[0]["_source"]["message"]
            .as_str()
            .unwrap()
            .contains('\u{fffd}')
    );
}

#[test]
fn a_checkpoint_of_random_bytes_is_reported_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let source = "rest:http://127.0.0.1:9/logs";
    let checkpoint = logpipe::ids::Checkpoint::new(dir.path(), source);
    std::fs::write(checkpoint.path(), [0x9c, 0xff, 0x00, 0x13, 0xfe, 0x80]).unwrap();
    let out = logpipe()
        .args(["run", "--source", source, "--sink", "null:", "--state-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("move it away"), "{stderr}");
}

#[test]
fn a_second_process_on_one_state_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The source does not answer: the first run waits and retries, holding the directory.
    let first = start_run("rest:http://127.0.0.1:9/logs", dir.path(), None, None, port);
    wait_for("the first run", Duration::from_secs(60), || {
        metric(port, "logpipe_source_errors_total").is_some()
            || std::fs::read_to_string(dir.path().join("lock")).is_ok_and(|t| t.starts_with("pid"))
    });
    let out = logpipe()
        .args([
            "run",
            "--source",
            "rest:http://127.0.0.1:9/logs",
            "--sink",
            "null:",
        ])
        .arg("--state-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("in use by another logpipe (pid {})", first.id())),
        "{stderr}"
    );
    stop(first);
}

#[test]
fn credentials_in_a_sink_url_are_never_printed() {
    let out = logpipe()
        .args(["once", "--source"])
        .arg(format!("file:{}", fixture("api-logs.sample.log").display()))
        .args(["--sink", "es:http://bob:s3cret-pw@127.0.0.1:9"])
        .env("LOGPIPE_ES_DEADLINE_SECS", "1")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success());
    assert!(!all.contains("s3cret-pw"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sleeping_plugin_cannot_stall_run() {
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), Knobs::default(), 60)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(guest("logpipe_hostile.wasm"), plugins.join("hostile.wasm")).unwrap();
    let config = dir.path().join("logpipe.toml");
    std::fs::write(
        &config,
        r#"
[[stages]]
plugin = "hostile"
config = { mode = "sleep", n = "60000", all = "1" }
outputs = { out = "@line" }
"#,
    )
    .unwrap();
    let port = free_port();
    let child = start_run(
        &format!("rest:http://{}/logs", sim.addr()),
        dir.path(),
        Some(&plugins),
        Some(&config),
        port,
    );
    wait_for("the window", Duration::from_secs(60), || {
        indexed_lines(dir.path()).len() >= 60
    });
    let health = std::process::Command::new("curl")
        .args(["-s", &format!("http://127.0.0.1:{port}/health")])
        .output()
        .unwrap();
    let health: serde_json::Value = serde_json::from_slice(&health.stdout).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert!(
        health["last_success_age_seconds"].as_u64().unwrap() < 30,
        "{health}"
    );
    stop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unwritable_checkpoint_does_not_stop_polling_and_fails_the_exit() {
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), Knobs::default(), 40)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let source = format!("rest:http://{}/logs", sim.addr());
    let port = free_port();
    let child = start_run(&source, dir.path(), None, None, port);
    wait_for("the first poll", Duration::from_secs(60), || {
        indexed_lines(dir.path()).len() >= 40
    });
    // A directory where the checkpoint goes: every save fails from now on
    // (whoever runs the test, root included).
    let checkpoint = logpipe::ids::Checkpoint::new(dir.path(), &source);
    let path = checkpoint.path().to_path_buf();
    // The checkpoint is saved just after the lines are written: wait for it.
    wait_for("the checkpoint", Duration::from_secs(30), || path.is_file());
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("blocker"), b"x").unwrap();
    for _ in 0..3 {
        sim.push_lines(20);
        std::thread::sleep(Duration::from_millis(400));
    }
    let total = sim.ledger().len();
    wait_for("polls after the failure", Duration::from_secs(30), || {
        indexed_lines(dir.path()).len() >= total
    });
    assert!(metric(port, "logpipe_checkpoint_failures_total").unwrap() >= 1);
    let status = terminate(child);
    assert_eq!(
        status.code(),
        Some(1),
        "the checkpoint was never saved again"
    );
    let got: Vec<String> = indexed_lines(dir.path())
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(got, sim.ledger(), "every line once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_surrogate_in_a_window_costs_only_its_record() {
    // A window as the API's REST route answers it, one entry holding `\udcff`.
    let body = r#"{"total": 3, "logs": [
        {"timestamp": "2025-11-21 09:12:06", "level": "INFO", "message": "after", "data": null},
        {"timestamp": "2025-11-21 09:12:05", "level": "INFO", "message": "bad \udcff here", "data": null},
        {"timestamp": "2025-11-21 09:12:04", "level": "INFO", "message": "before", "data": {"n": 1e400}}
    ]}"#;
    let app = axum::Router::new().route("/logs", axum::routing::get(move || async move { body }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            logpipe()
                .args(["once", "--source", &format!("rest:http://{addr}/logs")])
                .arg("--sink")
                .arg(format!("dir:{}", dir.join("out").display()))
                .arg("--state-dir")
                .arg(&dir)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    expect_success(&out);
    let docs = ndjson(&std::fs::read(dir.path().join("out/ml-api-logs.ndjson")).unwrap());
    let messages: Vec<&str> = docs
        .iter()
        .map(|d| d["_source"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["before", "bad \u{fffd} here", "after"]);
    assert!(
        docs[1]["_source"]["flags"]
            .to_string()
            .contains("invalid_utf8")
    );
    assert!(
        docs[0]["_source"]["flags"]
            .to_string()
            .contains("invalid_data")
    );
    assert!(docs[0]["_source"].get("data").is_none());
}

#[test]
fn logs_to_a_pipe_have_no_colours() {
    // A cache directory others can write: a warning, written to a pipe here.
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("components");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let out = logpipe()
        .env("LOGPIPE_CACHE_DIR", dir.path())
        .env("LOGPIPE_LOG", "warn")
        .env_remove("NO_COLOR")
        .args(["plugin", "check"])
        .arg(guest("logpipe_perf.wasm"))
        .output()
        .unwrap();
    expect_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not using the component cache"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

/// Every document of an embedded store, `index \t id \t source` sorted, read
/// through `logpipe store sql` (bodies are compressed).
fn store_contents(store: &std::path::Path) -> Vec<String> {
    let out = logpipe()
        .args([
            "store",
            "sql",
            "SELECT index_name, id, source(seq) FROM documents ORDER BY index_name, id",
            "--sink",
        ])
        .arg(format!("sqlite:{}", store.display()))
        .output()
        .unwrap();
    expect_success(&out);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn sigkill_during_an_import_into_the_store_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The sample forty times over: identical lines of one second get ranks,
    // so every line is its own document.
    let sample = std::fs::read(fixture("api-logs.sample.log")).unwrap();
    let log = dir.path().join("api.log");
    std::fs::write(&log, sample.repeat(40)).unwrap();
    let source = format!("file:{}", log.display());
    let import = |store: &std::path::Path| {
        let mut cmd = logpipe();
        cmd.args([
            "once",
            "--source",
            &source,
            "--batch-lines",
            "8",
            "--workers",
            "1",
        ])
        .arg("--sink")
        .arg(format!("sqlite:{}", store.display()))
        .arg("--state-dir")
        .arg(dir.path());
        cmd
    };
    let reference = dir.path().join("reference.db");
    expect_success(&import(&reference).output().unwrap());
    let expected = store_contents(&reference);
    assert_eq!(
        expected
            .iter()
            .filter(|l| l.starts_with("ml-api-logs\t"))
            .count(),
        309 * 40
    );

    // Killed at three points of the import, then run to the end.
    let store = dir.path().join("store.db");
    let mut killed_running = 0;
    for kill_after in [1u64, 2_000, 6_000] {
        let mut child = import(&store)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let count = || -> u64 {
            rusqlite::Connection::open_with_flags(
                &store,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .and_then(|c| {
                c.query_row("SELECT COALESCE(sum(count), 0) FROM blocks", [], |r| {
                    r.get(0)
                })
            })
            .unwrap_or(0)
        };
        wait_for("documents in the store", Duration::from_secs(60), || {
            count() >= kill_after || child.try_wait().unwrap().is_some()
        });
        if child.try_wait().unwrap().is_none() {
            killed_running += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(
        killed_running >= 2,
        "the imports ended before they were killed"
    );
    let out = import(&store).output().unwrap();
    expect_success(&out);
    assert_eq!(
        store_contents(&store),
        expected,
        "same documents, each once"
    );
    let check: String = rusqlite::Connection::open(&store)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
