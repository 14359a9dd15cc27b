//! `logpipe run` as people run it: against the simulator, with hot reload,
//! metrics, and a stop and restart.

use crate::util::{free_port, guest, logpipe, metric, ndjson, wait_for, write_atomically};
use logpipe::simulate::{Knobs, Simulator};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn start_run(
    source: &str,
    dir: &Path,
    plugins: Option<&Path>,
    config: Option<&Path>,
    metrics_port: u16,
) -> Child {
    let mut cmd = logpipe();
    cmd.args(["run", "--source", source, "--sink"])
        .arg(format!("dir:{}", dir.join("out").display()))
        .arg("--state-dir")
        .arg(dir)
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
        .env("PIPELINE_POLL_INTERVAL", "0.1")
        .env("LOGPIPE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join(format!("run-{metrics_port}.log"))).unwrap(),
        ));
    if let Some(p) = plugins {
        cmd.arg("--plugins").arg(p);
    }
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    cmd.spawn().unwrap()
}

/// `run` polling `sim` with `plugins` and `config`, once it has collected
/// lines, with the simulator's window growing: the child and its metrics port.
pub(crate) fn run_while_lines_flow(
    sim: &Simulator,
    dir: &Path,
    plugins: &Path,
    config: &Path,
    timeout: Duration,
) -> (Child, u16) {
    let port = free_port();
    let child = start_run(
        &format!("gradio:http://{}", sim.addr()),
        dir,
        Some(plugins),
        Some(config),
        port,
    );
    wait_for("metrics", timeout, || {
        metric(port, "logpipe_lines_collected_total").is_some_and(|n| n > 0)
    });
    sim.grow(200.0);
    (child, port)
}

/// Stops the simulator's growth, waits for `run` to index every line it
/// served, stops `run`, and checks that each line was indexed once, in order:
/// the indexed lines.
pub(crate) fn stop_with_every_line_once(
    sim: &Simulator,
    dir: &Path,
    child: Child,
    timeout: Duration,
) -> Vec<(String, serde_json::Value)> {
    std::thread::sleep(Duration::from_millis(300));
    sim.stop_growing();
    let total = sim.ledger().len();
    wait_for("every line", timeout, || indexed_lines(dir).len() >= total);
    stop(child);
    let indexed = indexed_lines(dir);
    let ledger = sim.ledger();
    let got: Vec<&String> = indexed.iter().map(|(l, _)| l).collect();
    let want: Vec<&String> = ledger.iter().collect();
    assert_eq!(got, want, "every line once, in order");
    indexed
}

pub(crate) fn stop(child: Child) {
    let status = terminate(child);
    assert!(
        status.success(),
        "logpipe run exits 0 on SIGTERM, got {status}"
    );
}

/// Sends SIGTERM and returns the exit status, which must come within 20 s.
pub(crate) fn terminate(mut child: Child) -> std::process::ExitStatus {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("logpipe run did not stop on SIGTERM within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lines of the line index, as `timestamp - api - level - message`.
pub(crate) fn indexed_lines(dir: &Path) -> Vec<(String, serde_json::Value)> {
    let path = dir.join("out").join("ml-api-logs.ndjson");
    let docs = ndjson(&std::fs::read(path).unwrap_or_default());
    docs.into_iter()
        .map(|d| {
            let s = &d["_source"];
            let ts = s["@timestamp"]
                .as_str()
                .unwrap()
                .replace('T', " ")
                .replace('Z', "");
            (
                format!(
                    "{ts} - api - {} - {}",
                    s["level"].as_str().unwrap(),
                    s["message"].as_str().unwrap()
                ),
                d,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plugin_swapped_20_times_while_lines_flow_loses_and_doubles_nothing() {
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), Knobs::default(), 50)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let a = std::fs::read(guest("logpipe_tagger_a.wasm")).unwrap();
    let b = std::fs::read(guest("logpipe_tagger_b.wasm")).unwrap();
    write_atomically(&plugins.join("tagger.wasm"), &a);
    let config = dir.path().join("logpipe.toml");
    std::fs::write(
        &config,
        r#"
[[stages]]
plugin = "message"
outputs = { fields = "@line", prediction = "ml-api-message" }
[[stages]]
plugin = "tagger"
outputs = { fields = "@line" }
[[stages]]
plugin = "filter"
[[stages]]
plugin = "perf"
outputs = { metrics = "ml-api-perfs", fields = "@line" }
"#,
    )
    .unwrap();
    let (child, port) =
        run_while_lines_flow(&sim, dir.path(), &plugins, &config, Duration::from_secs(60));
    let reloads =
        |p: u16| metric(p, "logpipe_plugin_reloads_total{plugin=\"tagger\"}").unwrap_or(0);
    for swap in 1..=20u64 {
        write_atomically(
            &plugins.join("tagger.wasm"),
            if swap % 2 == 1 { &b } else { &a },
        );
        wait_for("the reload", Duration::from_secs(30), || {
            reloads(port) == swap
        });
    }
    // A corrupt file keeps the last good version (a, after 20 swaps).
    write_atomically(&plugins.join("tagger.wasm"), b"\0asm\x0d\0\x01\0garbage");
    wait_for("the refusal", Duration::from_secs(30), || {
        metric(
            port,
            "logpipe_plugin_reload_failures_total{plugin=\"tagger\"}",
        ) == Some(1)
    });
    let indexed = stop_with_every_line_once(&sim, dir.path(), child, Duration::from_secs(30));
    let tags: std::collections::HashSet<&str> = indexed
        .iter()
        .filter_map(|(_, d)| d["_source"]["tagged_by"].as_str())
        .collect();
    assert!(
        tags.contains("logpipe-tagger-a") && tags.contains("logpipe-tagger-b"),
        "{tags:?}"
    );
    assert_eq!(
        indexed.last().unwrap().1["_source"]["tagged_by"],
        "logpipe-tagger-a",
        "the corrupt file did not replace it"
    );
    assert!(
        indexed
            .iter()
            .all(|(_, d)| d["_source"]["tagged_by"].is_string()),
        "every line went through a tagger"
    );
    // Each reload says how many recent lines its smoke run took.
    let log = std::fs::read_to_string(dir.path().join(format!("run-{port}.log"))).unwrap();
    let reloaded = log
        .lines()
        .find(|l| l.contains("plugin reloaded"))
        .expect(&log);
    let smoke: usize = reloaded
        .split("smoke_lines=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect(reloaded);
    assert!(smoke > 0, "{reloaded}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_then_restart_resumes_without_duplicate_or_gap() {
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), Knobs::default(), 120)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let source = format!("rest:http://{}/logs", sim.addr());
    let port = free_port();
    let first = start_run(&source, dir.path(), None, None, port);
    wait_for("the first poll", Duration::from_secs(60), || {
        indexed_lines(dir.path()).len() >= 120
    });
    sim.push_lines(40);
    wait_for("the next poll", Duration::from_secs(30), || {
        indexed_lines(dir.path()).len() >= sim.ledger().len()
    });
    stop(first);
    // Lines logged while logpipe is down.
    sim.push_lines(300);
    let port2 = free_port();
    let second = start_run(&source, dir.path(), None, None, port2);
    wait_for("catching up", Duration::from_secs(60), || {
        indexed_lines(dir.path()).len() >= sim.ledger().len()
    });
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(metric(port2, "logpipe_gaps_total"), Some(0));
    stop(second);
    let got: Vec<String> = indexed_lines(dir.path())
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(got, sim.ledger(), "no duplicate, no gap, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn configuration_reloads_on_change_and_sighup_and_an_invalid_one_keeps_the_old() {
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), Knobs::default(), 60)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("logpipe.toml");
    let write_config = |index: &str, extra: &str| {
        write_atomically(
            &config,
            format!("line_index = \"{index}\"\n{extra}").as_bytes(),
        );
    };
    write_config("first-logs", "");
    let port = free_port();
    let child = start_run(
        &format!("rest:http://{}/logs", sim.addr()),
        dir.path(),
        None,
        Some(&config),
        port,
    );
    let count = |index: &str| {
        let mut bytes = std::fs::read(dir.path().join("out").join(format!("{index}.ndjson")))
            .unwrap_or_default();
        // The sink may be mid-write: only whole lines count.
        bytes.truncate(bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1));
        ndjson(&bytes).len()
    };
    wait_for("the first poll", Duration::from_secs(60), || {
        count("first-logs") >= 60
    });

    write_config("second-logs", "");
    wait_for("the reload", Duration::from_secs(30), || {
        metric(port, "logpipe_config_reloads_total") == Some(1)
    });
    sim.push_lines(20);
    wait_for("lines in the new index", Duration::from_secs(30), || {
        count("second-logs") >= 20
    });

    write_config("third-logs", "unknown_key = 1\n");
    wait_for("the refusal", Duration::from_secs(30), || {
        metric(port, "logpipe_config_reload_failures_total") == Some(1)
    });
    sim.push_lines(20);
    wait_for(
        "lines still in the running index",
        Duration::from_secs(30),
        || count("second-logs") >= 40,
    );
    assert_eq!(count("third-logs"), 0);

    // A valid file again, applied on SIGHUP (its change may trigger a reload too).
    write_config("third-logs", "");
    std::thread::sleep(Duration::from_millis(500));
    let before = metric(port, "logpipe_config_reloads_total").unwrap_or(0);
    let _ = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status();
    wait_for("the SIGHUP reload", Duration::from_secs(30), || {
        metric(port, "logpipe_config_reloads_total").unwrap_or(0) > before
    });
    sim.push_lines(10);
    wait_for("lines in the third index", Duration::from_secs(30), || {
        count("third-logs") >= 10
    });
    stop(child);
    let total = count("first-logs") + count("second-logs") + count("third-logs");
    assert_eq!(
        total,
        sim.ledger().len(),
        "no line lost or doubled across reloads"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_waits_for_a_search_server_that_is_not_up_yet() {
    let Some(es) = crate::util::SearchServer::start() else {
        return;
    };
    let proxy = crate::util::OutageProxy::start(&es.url);
    proxy.down();
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), Knobs::default(), 30)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prefix = crate::util::unique_prefix("late");
    let config = crate::util::prefixed_config(dir.path(), &prefix);
    let child = logpipe()
        .args([
            "run",
            "--source",
            &format!("rest:http://{}/logs", sim.addr()),
            "--sink",
            &format!("es:{}", proxy.url),
        ])
        .arg("--config")
        .arg(&config)
        .arg("--state-dir")
        .arg(dir.path())
        .env("PIPELINE_POLL_INTERVAL", "0.2")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("run.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    proxy.up();
    let log = dir.path().join("run.log");
    // Lines arrive once the server is up; the log says why if they do not.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while es.count(&format!("{prefix}-ml-api-logs")) < sim.ledger().len() as u64 {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let index = format!("{prefix}-ml-api-logs");
    stop(child);
    assert_eq!(es.count(&index), sim.ledger().len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_emptied_window_is_not_a_gap_but_the_lines_after_it_are_reported() {
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), Knobs::default(), 40)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let once = || {
        let out = logpipe()
            .args([
                "once",
                "--source",
                &format!("rest:http://{}/logs", sim.addr()),
                "--sink",
            ])
            .arg(format!("dir:{}", dir.path().join("out").display()))
            .arg("--state-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let before = sim.ledger().len();
    assert!(once().starts_with(&format!("lines: {before} ")));
    sim.clear();
    let empty = once();
    assert!(
        empty.starts_with("lines: 0") && !empty.contains("gap"),
        "{empty}"
    );
    assert!(!once().contains("gap"), "an empty window stays quiet");
    sim.push_lines(10);
    let after = once();
    assert!(
        after.contains("gap:"),
        "the lines after a clear do not continue what was delivered: {after}"
    );
    let new = sim.ledger().len() - before;
    assert!(
        after.contains(&format!("lines: {new} ")),
        "only the new lines: {after}"
    );
}
