//! Soak with faults (minutes, bounded, loopback only): `logpipe run` against the
//! simulator producing lines and noida-db, while the search server goes away and
//! comes back, logpipe is SIGKILLed and restarted, every plugin is swapped
//! several times, a corrupt plugin is dropped in, and the source answers errors
//! and malformed events. At the end every line the simulator logged is indexed
//! exactly once, and the counters match what was injected.

use crate::util::{
    OutageProxy, SearchServer, free_port, guest, logpipe, metric, metrics_page, prefixed_config,
    unique_prefix, wait_for, write_atomically,
};
use logpipe::simulate::{Fault, Knobs, Simulator};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// A counter summed over its labels, 0 before it exists.
fn total(port: u16, name: &str) -> u64 {
    metric(port, name).unwrap_or(0)
}

/// The same component with a custom section appended: new bytes, same behaviour.
fn variant(bytes: &[u8], n: u8) -> Vec<u8> {
    let name = b"logpipe-soak";
    let mut out = bytes.to_vec();
    out.push(0); // custom section
    out.push((1 + name.len() + 1) as u8);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.push(n);
    out
}

fn start(source: &str, sink: &str, dir: &Path, port: u16) -> Child {
    logpipe()
        .args(["run", "--source", source, "--sink", sink, "--plugins"])
        .arg(dir.join("plugins"))
        .arg("--config")
        .arg(dir.join("logpipe.toml"))
        .arg("--state-dir")
        .arg(dir)
        .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
        .env("PIPELINE_POLL_INTERVAL", "0.2")
        .env("LOGPIPE_ES_DEADLINE_SECS", "120")
        .env("LOGPIPE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join(format!("run-{port}.log"))).unwrap(),
        ))
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn soak_with_faults_every_line_exactly_once() {
    let Some(es) = SearchServer::start() else {
        return;
    };
    let proxy = OutageProxy::start(&es.url);
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), Knobs::default(), 200)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let prefix = unique_prefix("soak");
    prefixed_config(dir.path(), &prefix);
    let originals: Vec<(&str, Vec<u8>)> = [
        ("message", "logpipe_message.wasm"),
        ("filter", "logpipe_filter.wasm"),
        ("perf", "logpipe_perf.wasm"),
    ]
    .into_iter()
    .map(|(name, file)| (name, std::fs::read(guest(file)).unwrap()))
    .collect();
    for (name, bytes) in &originals {
        write_atomically(&plugins.join(format!("{name}.wasm")), bytes);
    }
    let source = format!("gradio:http://{}", sim.addr());
    let sink = format!("es:{}", proxy.url);
    sim.grow(100.0);

    // Phase 1: run, then SIGKILL in the middle of the traffic.
    let port = free_port();
    let mut first = start(&source, &sink, dir.path(), port);
    wait_for("first lines", Duration::from_secs(60), || {
        total(port, "logpipe_lines_collected_total") > 200
    });
    std::thread::sleep(Duration::from_millis(700));
    first.kill().unwrap();
    first.wait().unwrap();

    // Phase 2: restart; every fault happens during this process's life.
    let port = free_port();
    let second = start(&source, &sink, dir.path(), port);
    wait_for("restart", Duration::from_secs(60), || {
        total(port, "logpipe_lines_collected_total") > 0
    });

    // Source faults, one at a time so that each fails exactly one poll.
    let faults = [
        Fault::Status(503),
        Fault::Status(500),
        Fault::ApiError,
        Fault::Malformed,
        Fault::EventError,
        Fault::Status(401),
    ];
    for (i, fault) in faults.iter().enumerate() {
        sim.inject([fault.clone()]);
        wait_for("the fault to be seen", Duration::from_secs(30), || {
            total(port, "logpipe_source_errors_total") == i as u64 + 1
        });
        let polls = total(port, "logpipe_poll_seconds_count");
        wait_for("a good poll", Duration::from_secs(30), || {
            total(port, "logpipe_poll_seconds_count") > polls + 1
        });
    }

    // The search server goes away for a while.
    proxy.down();
    std::thread::sleep(Duration::from_secs(2));
    proxy.up();

    // Every plugin swapped three times (new bytes, same behaviour), then a corrupt file.
    let mut swaps = 0u64;
    for round in 1..=3u8 {
        for (name, bytes) in &originals {
            write_atomically(
                &plugins.join(format!("{name}.wasm")),
                &variant(bytes, round),
            );
            swaps += 1;
            wait_for("the reload", Duration::from_secs(30), || {
                total(port, "logpipe_plugin_reloads_total") == swaps
            });
        }
    }
    write_atomically(&plugins.join("perf.wasm"), b"\0asm\x0d\0\x01\0corrupt");
    wait_for("the refusal", Duration::from_secs(30), || {
        total(port, "logpipe_plugin_reload_failures_total") == 1
    });

    // Quiesce: stop the traffic, let logpipe catch up, stop it.
    sim.stop_growing();
    let ledger = sim.ledger();
    let logs_index = format!("{prefix}-ml-api-logs");
    wait_for("every line indexed", Duration::from_secs(120), || {
        es.count(&logs_index) >= ledger.len() as u64
    });
    let final_metrics = metrics_page(port);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status();
    let out = second.wait_with_output().unwrap();
    assert!(out.status.success());

    assert_eq!(
        es.count(&logs_index),
        ledger.len() as u64,
        "every line once ({} logged)",
        ledger.len()
    );
    let predictions = ledger
        .iter()
        .filter(|l| l.contains("API Call - POST") && l.contains("Status: 200"))
        .count();
    let perf_lines = ledger
        .iter()
        .filter(|l| l.contains(" - {\"performance_metrics\": {"))
        .count();
    assert_eq!(
        es.count(&format!("{prefix}-ml-api-message")),
        predictions as u64,
        "every prediction once"
    );
    assert_eq!(
        es.count(&format!("{prefix}-ml-api-perfs")),
        perf_lines as u64,
        "every performance line once"
    );
    let counter = |name: &str| -> u64 {
        final_metrics
            .lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    assert_eq!(
        counter("logpipe_source_errors_total"),
        faults.len() as u64,
        "{final_metrics}"
    );
    assert_eq!(counter("logpipe_plugin_reloads_total"), swaps);
    assert_eq!(counter("logpipe_plugin_reload_failures_total"), 1);
    assert_eq!(counter("logpipe_dead_letters_total"), 0);
    assert!(
        counter("logpipe_retries_total") > 0,
        "the outage caused retries: {final_metrics}"
    );
}
