//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[path = "../../host/guest_cargo.rs"]
mod guest_cargo;

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

/// A guest component: a reference plugin built by `build.rs`, or a test guest
/// (`guests/testing/*`), built here the first time a test asks for one. The
/// production build leaves the test guests out (BENCHMARKS.md, "Where a cold
/// build's time goes").
pub fn guest(file: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let dir = Path::new(logpipe::plugin::embedded::GUEST_DIR);
    if let Err(e) = BUILT.get_or_init(|| build_test_guests(dir)) {
        panic!("{e}");
    }
    dir.join(file)
}

/// The test guests, one cargo package each.
const TEST_GUESTS: [&str; 7] = [
    "logpipe-hostile",
    "logpipe-misbehave",
    "logpipe-not-a-plugin",
    "logpipe-tagger-a",
    "logpipe-tagger-b",
    "logpipe-legacy-parser",
    "logpipe-legacy-filter",
];

/// Builds the test guests with the settings `build.rs` builds the reference
/// plugins with, into the same directory (`dir` is
/// `<guest target>/wasm32-wasip2/guest`): cargo only rebuilds what changed.
fn build_test_guests(dir: &Path) -> Result<(), String> {
    let target_dir = dir
        .ancestors()
        .nth(2)
        .ok_or_else(|| format!("unexpected guest directory {}", dir.display()))?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let mut cmd = guest_cargo::guest_cargo(cargo, &workspace, target_dir, &TEST_GUESTS);
    cmd.arg("--quiet");
    let out = cmd
        .output()
        .map_err(|e| format!("could not run cargo to build the test guests: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "building the test guests for wasm32-wasip2 failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
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

/// Fails the test with the command's stderr unless it succeeded.
pub fn expect_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `/metrics` page served on `port` (empty when it cannot be read).
pub fn metrics_page(port: u16) -> String {
    Command::new("curl")
        .args(["-sf", &format!("http://127.0.0.1:{port}/metrics")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// A counter or integer gauge of `/metrics`: `name{label="value"}` is that
/// series; a bare name is the sum of all its series (labelled or not). `None`
/// when the page has no such series.
pub fn metric(port: u16, series: &str) -> Option<u64> {
    let labelled = series.contains('{');
    let values: Vec<u64> = metrics_page(port)
        .lines()
        .filter(|line| {
            let Some(rest) = line.strip_prefix(series) else {
                return false;
            };
            rest.starts_with(' ') || (!labelled && rest.starts_with('{'))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `ok` every 50 ms until it holds, failing after `timeout`.
pub fn wait_for(what: &str, timeout: std::time::Duration, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Replaces `path` atomically (a temporary file renamed over it).
pub fn write_atomically(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A Python that can import `module` (`LOGPIPE_TEST_PYTHON`, the venv of
/// `.ci/run`, or `python3`), or `None` with a message outside CI. In CI a missing
/// one fails the test.
pub fn python_with(module: &str) -> Option<PathBuf> {
    tool(
        "LOGPIPE_TEST_PYTHON",
        ".cache/logpipe/venv/bin/python",
        "python3",
        &["-c", &format!("import {module}")],
        &format!("no Python with {module}"),
    )
}

/// The first of `$variable`, `~/<home_path>` and `on_path` that runs with
/// `probe` and succeeds; `None` with a message outside CI, where a missing one
/// fails the test (`what` says what is missing).
fn tool(
    variable: &str,
    home_path: &str,
    on_path: &str,
    probe: &[&str],
    what: &str,
) -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let found = std::env::var_os(variable)
        .map(PathBuf::from)
        .into_iter()
        .chain(home.map(|h| h.join(home_path)))
        .chain([PathBuf::from(on_path)])
        .find(|p| {
            Command::new(p)
                .args(probe)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    if found.is_none() {
        missing_dependency(&format!("{what}: set {variable} or run bash .ci/run"));
    }
    found
}

/// A tool or server a test needs is not installed: the test fails with the
/// command that installs it. `LOGPIPE_TEST_SKIP_MISSING=1` (never in CI) lets
/// it pass as skipped instead, saying so on stderr (`--nocapture` shows it).
pub fn missing_dependency(msg: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let skip = std::env::var("LOGPIPE_TEST_SKIP_MISSING").is_ok_and(|v| v == "1");
    assert!(
        skip && !ci,
        "{msg} (or set LOGPIPE_TEST_SKIP_MISSING=1 to skip such tests)"
    );
    eprintln!("skipped: {msg}");
}

/// Parses NDJSON text into values.
pub fn ndjson(text: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// An Elasticsearch-compatible server for a test: `LOGPIPE_TEST_ES_URL` when set
/// (a real Elasticsearch), else a `noida-db` process on a free loopback port,
/// stopped when dropped.
pub struct SearchServer {
    /// Base URL.
    pub url: String,
    port: u16,
    data: Option<tempfile::TempDir>,
    running: bool,
}

fn noida_db() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LOGPIPE_NOIDA_DB") {
        return Some(p.into());
    }
    let candidates = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("noida-db"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    candidates
        .into_iter()
        .chain(home.map(|h| h.join(".cache/logpipe/venv/bin/noida-db")))
        .find(|p| p.is_file())
}

impl SearchServer {
    /// Starts a server, or `None` (with a message) when none is available outside CI.
    /// In CI (`CI=true`) a missing server fails the test.
    pub fn start() -> Option<Self> {
        if let Ok(url) = std::env::var("LOGPIPE_TEST_ES_URL") {
            return Some(Self {
                url: url.trim_end_matches('/').to_string(),
                port: 0,
                data: None,
                running: false,
            });
        }
        let Some(bin) = noida_db() else {
            missing_dependency(
                "no Elasticsearch for this test: set LOGPIPE_TEST_ES_URL or install noida-db (bash .ci/run does)",
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            data: Some(tempfile::tempdir().unwrap()),
            running: false,
        };
        server.launch(&bin);
        Some(server)
    }

    fn noida(&self, bin: &Path, args: &[&str]) {
        let data = self.data.as_ref().unwrap().path().to_path_buf();
        let status = Command::new(bin)
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run noida-db");
        assert!(status.success(), "noida-db {args:?} failed");
    }

    fn launch(&mut self, bin: &Path) {
        let port = self.port.to_string();
        self.noida(
            bin,
            &[
                "up",
                "--only",
                "elasticsearch",
                "--host",
                "127.0.0.1",
                "--elasticsearch-port",
                &port,
            ],
        );
        self.running = true;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.get("/").is_some()
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("noida-db did not answer on port {}", self.port);
    }

    /// Stops the server gracefully (it keeps its data).
    pub fn stop(&mut self) {
        if self.running {
            self.running = false;
            let bin = noida_db().expect("noida-db");
            self.noida(&bin, &["down"]);
        }
    }

    fn request(&self, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-s",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
            "-H",
            "content-type: application/json",
        ])
        .arg(format!("{}{path}", self.url));
        if let Some(b) = body {
            cmd.args(["--data-binary", b]);
        }
        let out = cmd.output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n')?;
        Some((code.trim().parse().ok()?, body.to_string()))
    }

    /// GET, returning the status and body.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        self.request("GET", path, None)
    }

    /// DELETE.
    pub fn delete(&self, path: &str) -> Option<(u16, String)> {
        self.request("DELETE", path, None)
    }

    /// PUT with a JSON body.
    pub fn put(&self, path: &str, body: &str) -> Option<(u16, String)> {
        self.request("PUT", path, Some(body))
    }

    /// Refreshes then counts the documents of `index`.
    pub fn count(&self, index: &str) -> u64 {
        self.request("POST", &format!("/{index}/_refresh"), None);
        let (_, body) = self.get(&format!("/{index}/_count")).unwrap();
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["count"]
            .as_u64()
            .unwrap_or(0)
    }

    /// All documents of `index` (small indices only).
    pub fn documents(&self, index: &str) -> Vec<serde_json::Value> {
        let (_, body) = self
            .request(
                "POST",
                &format!("/{index}/_search?size=10000"),
                Some(r#"{"query":{"match_all":{}}}"#),
            )
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["hits"]["hits"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for SearchServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A unique prefix for index names, so tests can share a real Elasticsearch.
pub fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("lp-{test}-{}-{nanos}", std::process::id())
}

/// A configuration file writing to indices named `<prefix>-ml-api-*`.
pub fn prefixed_config(dir: &Path, prefix: &str) -> PathBuf {
    let path = dir.join("logpipe.toml");
    std::fs::write(
        &path,
        format!(
            r#"line_index = "{prefix}-ml-api-logs"

[[stages]]
plugin = "message"
outputs = {{ fields = "@line", prediction = "{prefix}-ml-api-message" }}

[[stages]]
plugin = "filter"

[[stages]]
plugin = "perf"
outputs = {{ metrics = "{prefix}-ml-api-perfs", fields = "@line" }}
"#
        ),
    )
    .unwrap();
    path
}

/// A TCP proxy in front of a server, which a test can take down (refusing and
/// cutting connections) and bring back on the same port: an outage as a client
/// sees it, whatever the server behind it.
pub struct OutageProxy {
    /// The proxy's URL.
    pub url: String,
    port: u16,
    upstream: std::net::SocketAddr,
    state: std::sync::Arc<std::sync::Mutex<ProxyState>>,
}

#[derive(Default)]
struct ProxyState {
    generation: u64,
    sockets: Vec<std::net::TcpStream>,
}

impl OutageProxy {
    /// Proxies to `upstream` (an `http://host:port` URL).
    pub fn start(upstream: &str) -> Self {
        let addr = upstream.trim_start_matches("http://").trim_end_matches('/');
        let upstream = std::net::ToSocketAddrs::to_socket_addrs(addr)
            .unwrap()
            .next()
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let proxy = Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            upstream,
            state: Default::default(),
        };
        proxy.listen();
        proxy
    }

    fn listen(&self) {
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let state = self.state.clone();
        let generation = state.lock().unwrap().generation;
        let upstream = self.upstream;
        std::thread::spawn(move || {
            loop {
                if state.lock().unwrap().generation != generation {
                    return; // dropping the listener refuses new connections
                }
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = std::net::TcpStream::connect(upstream) else {
                            continue;
                        };
                        let mut st = state.lock().unwrap();
                        st.sockets.push(client.try_clone().unwrap());
                        st.sockets.push(server.try_clone().unwrap());
                        drop(st);
                        pump(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pump(server, client);
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
    }

    /// Takes the server away: open connections are cut, new ones refused.
    pub fn down(&self) {
        let mut st = self.state.lock().unwrap();
        st.generation += 1;
        for s in st.sockets.drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        drop(st);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    /// Brings it back on the same port.
    pub fn up(&self) {
        self.listen();
    }
}

fn pump(mut from: std::net::TcpStream, mut to: std::net::TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// The simulator drifting from its first prediction: patients of 75 on
/// average, 90 % smokers, 90 % positive predictions.
pub fn drifting_knobs() -> logpipe::simulate::Knobs {
    logpipe::simulate::Knobs {
        drift: logpipe::simulate::Drift {
            age_mean: Some(75.0),
            smokers: Some(0.9),
            positive_rate: Some(0.9),
            after: 0,
            over: 1,
        },
        ..logpipe::simulate::Knobs::default()
    }
}

/// The componentize-py of the Python that has it (see [`python_with`]), or
/// `None` with a message outside CI.
pub fn componentize_py() -> Option<PathBuf> {
    let python = python_with("componentize_py")?;
    let beside = python.with_file_name("componentize-py");
    Some(if beside.is_file() {
        beside
    } else {
        PathBuf::from("componentize-py")
    })
}

/// componentize-js (`LOGPIPE_TEST_COMPONENTIZE_JS`, the npm folder of
/// `.ci/run`, or on the PATH), or `None` with a message outside CI.
pub fn componentize_js() -> Option<PathBuf> {
    tool(
        "LOGPIPE_TEST_COMPONENTIZE_JS",
        ".cache/logpipe/npm/node_modules/.bin/componentize-js",
        "componentize-js",
        &["--version"],
        "no componentize-js",
    )
}

/// Python plugin `dir` (relative to the repository's `guests/`) built with
/// `logpipe plugin build-py`, once per test run; `None` (test skipped) without
/// componentize-py outside CI.
pub fn python_plugin(dir: &str) -> Option<PathBuf> {
    built_plugin("build-py", "--componentize-py", componentize_py()?, dir)
}

/// JavaScript plugin `dir` built with `logpipe plugin build-js`, as
/// [`python_plugin`].
pub fn javascript_plugin(dir: &str) -> Option<PathBuf> {
    built_plugin("build-js", "--componentize-js", componentize_js()?, dir)
}

fn built_plugin(command: &str, flag: &str, program: PathBuf, dir: &str) -> Option<PathBuf> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    // Held while building: tests needing the same plugin wait for one build.
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(dir) {
        return Some(path.clone());
    }
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-plugins");
    std::fs::create_dir_all(&out_dir).unwrap();
    let output = out_dir.join(format!("{}.wasm", dir.replace('/', "-")));
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guests")
        .join(dir);
    let out = logpipe()
        .args(["plugin", command])
        .arg(&source)
        .arg("-o")
        .arg(&output)
        .arg(flag)
        .arg(&program)
        .output()
        .unwrap();
    expect_success(&out);
    built.insert(dir.to_string(), output.clone());
    Some(output)
}
