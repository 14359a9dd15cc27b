//! Conformance against a real Gradio server (`pip install gradio`): a tiny app
//! exposing `logs_api` like the original serves the fixture window, and logpipe
//! collects exactly its lines, in order, across pages.

use crate::util::{expect_success, fixture, logpipe, ndjson, python_with};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn collects_the_fixture_window_from_a_real_gradio_app() {
    let Some(python) = python_with("gradio") else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The app runs from a temporary copy, so that `.ci/run`, which stops whatever
    // runs from its scratch directory, also stops it if this test cannot.
    let app_dir = tempfile::tempdir().unwrap();
    let app_path = app_dir.path().join("gradio_app.py");
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/gradio_app.py"),
        &app_path,
    )
    .unwrap();
    let _app = App(Command::new(&python)
        .arg(&app_path)
        .arg(fixture("api-logs.sample.log"))
        .arg(port.to_string())
        .env("GRADIO_ANALYTICS_ENABLED", "False")
        .env("GRADIO_SERVER_NAME", "127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the Gradio app"));
    let deadline = Instant::now() + Duration::from_secs(90);
    let url = format!("http://127.0.0.1:{port}");
    loop {
        let ready = Command::new("curl")
            .args(["-sf", "-o", "/dev/null", &format!("{url}/gradio_api/info")])
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "the Gradio app did not start");
        std::thread::sleep(Duration::from_millis(300));
    }

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let poll = || {
        logpipe()
            .args(["once", "--source", &format!("gradio:{url}"), "--sink"])
            .arg(format!("dir:{}", out_dir.display()))
            .arg("--state-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    expect_success(&poll());
    let docs = ndjson(&std::fs::read(out_dir.join("ml-api-logs.ndjson")).unwrap());
    let sample = std::fs::read_to_string(fixture("api-logs.sample.log")).unwrap();
    // Line 256 has no header: the API leaves it out of `logs`.
    let expected: Vec<&str> = sample
        .lines()
        .filter(|l| l.splitn(4, " - ").count() == 4)
        .collect();
    assert_eq!(docs.len(), expected.len());
    for (doc, line) in docs.iter().zip(&expected) {
        let parts: Vec<&str> = line.splitn(4, " - ").collect();
        assert_eq!(doc["_source"]["message"], parts[3], "in order");
        assert_eq!(doc["_source"]["level"], parts[2]);
    }
    let messages = ndjson(&std::fs::read(out_dir.join("ml-api-message.ndjson")).unwrap());
    assert_eq!(messages.len(), 36);
    // A second poll finds nothing new, in one request.
    let again = poll();
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("lines: 0"));
}
