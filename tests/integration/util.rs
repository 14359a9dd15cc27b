//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `logpipe` binary under test.
pub fn logpipe() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logpipe"));
    cmd.env("LOGPIPE_CACHE_DIR", cache_dir())
        .env("LOGPIPE_LOG", "warn");
    cmd
}

/// A component cache shared by the tests, so each component compiles once.
pub fn cache_dir() -> PathBuf {
    std::env::temp_dir().join("logpipe-test-component-cache")
}

/// A fixture file of the repository.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// A guest component built by `build.rs` (reference or test guest).
pub fn guest(file: &str) -> PathBuf {
    Path::new(logpipe::plugin::embedded::GUEST_DIR).join(file)
}

/// Runs `cmd` with `input` on stdin.
pub fn run_with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn logpipe");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait logpipe");
    writer.join().unwrap().unwrap();
    out
}

/// Parses NDJSON text into values.
pub fn ndjson(text: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
