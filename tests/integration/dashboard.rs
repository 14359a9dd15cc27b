//! `logpipe dashboard`: its JSON API against values computed here from the
//! same documents written as NDJSON (a path that does not touch the store),
//! and its pages rendered by headless Chromium.

use crate::util::{
    SearchServer, expect_success, fixture, free_port, logpipe, prefixed_config, unique_prefix,
    wait_for,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `logpipe dashboard` child, stopped when dropped.
struct Served {
    child: Child,
    port: u16,
}

impl Served {
    fn start(store: &Path, extra: &[&str]) -> Self {
        Self::serving(&format!("sqlite:{}", store.display()), extra)
    }

    /// Serves `spec` (`sqlite:PATH` or `es:URL`).
    fn serving(spec: &str, extra: &[&str]) -> Self {
        let port = free_port();
        let child = logpipe()
            .arg("dashboard")
            .arg("--store")
            .arg(spec)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let served = Self { child, port };
        wait_for("the dashboard", Duration::from_secs(30), || {
            served.get("/api/extent").is_some()
        });
        served
    }

    fn get(&self, path: &str) -> Option<Value> {
        let out = Command::new("curl")
            .args(["-sf", &format!("http://127.0.0.1:{}{path}", self.port)])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    }

    fn url(&self, query: &str) -> String {
        format!("http://127.0.0.1:{}/?{query}", self.port)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ms(time: &str) -> i64 {
    time.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn sources(dir: &Path, index: &str) -> Vec<Value> {
    crate::util::ndjson(&std::fs::read(dir.join(format!("{index}.ndjson"))).unwrap())
        .into_iter()
        .map(|d| d["_source"].clone())
        .collect()
}

/// numpy's default (linear) quantile, written again here.
fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = q * (values.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (rank - lo as f64)
}

fn close(a: &Value, b: f64, what: &str) {
    let a = a.as_f64().unwrap_or_else(|| panic!("{what}: {a}"));
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: {a} != {b}"
    );
}

#[test]
fn api_answers_agree_with_the_documents() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let out = dir.path().join("out");
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    expect_success(
        &logpipe()
            .args(["once", "--source", &sample, "--sink"])
            .arg(format!("sqlite:{}", store.display()))
            .arg("--sink")
            .arg(format!("dir:{}", out.display()))
            .output()
            .unwrap(),
    );
    let served = Served::start(&store, &[]);
    api_agrees_with(&served, &out);
}

/// The same API over Elasticsearch, answered by aggregations.
#[test]
fn api_over_elasticsearch_agrees_with_the_documents() {
    let Some(es) = SearchServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("dashboard");
    let config = prefixed_config(dir.path(), &prefix);
    let out = dir.path().join("out");
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    expect_success(
        &logpipe()
            .args(["once", "--source", &sample, "--sink"])
            .arg(format!("es:{}", es.url))
            .arg("--sink")
            .arg(format!("dir:{}", out.display()))
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.path())
            .output()
            .unwrap(),
    );
    // (Counting refreshes each index: its documents are then searchable.)
    assert_eq!(es.count(&format!("{prefix}-ml-api-logs")), 309);
    assert_eq!(es.count(&format!("{prefix}-ml-api-message")), 36);
    assert_eq!(es.count(&format!("{prefix}-ml-api-perfs")), 33);
    // The dir: sink names its files after the prefixed indices.
    for index in ["ml-api-logs", "ml-api-message", "ml-api-perfs"] {
        std::fs::rename(
            out.join(format!("{prefix}-{index}.ndjson")),
            out.join(format!("{index}.ndjson")),
        )
        .unwrap();
    }
    let config = config.display().to_string();
    let served = Served::serving(&format!("es:{}", es.url), &["--config", &config]);
    api_agrees_with(&served, &out);
    drop(served);

    // Drift verdicts from aggregated counts agree with the store's (which
    // are checked against Evidently in drift.rs): the second half of the
    // window against the whole of it.
    let store = dir.path().join("s.db");
    expect_success(
        &logpipe()
            .args(["once", "--source", &sample, "--sink"])
            .arg(format!("sqlite:{}", store.display()))
            .arg("--state-dir")
            .arg(dir.path().join("store-state"))
            .output()
            .unwrap(),
    );
    let reference = dir.path().join("reference.parquet");
    expect_success(
        &logpipe()
            .args(["export", "parquet", "--sink"])
            .arg(format!("sqlite:{}", store.display()))
            .arg("--out")
            .arg(&reference)
            .output()
            .unwrap(),
    );
    let reference = reference.display().to_string();
    let on_es = Served::serving(
        &format!("es:{}", es.url),
        &["--config", &config, "--reference", &reference],
    );
    let on_store = Served::start(&store, &["--reference", &reference]);
    let range = format!(
        "from={}&to={}",
        ms("2025-11-21T10:00:00Z"),
        ms("2025-11-21T12:00:00Z")
    );
    // Stored verdicts, as `run` writes them (always to `ml-api-drift`):
    // averaged per bucket and column.
    let drift_index = "ml-api-drift";
    es.delete(&format!("/{drift_index}"));
    let mapping = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/ml-api-drift.json"),
    )
    .unwrap();
    assert_eq!(es.put(&format!("/{drift_index}"), &mapping).unwrap().0, 200);
    for (i, (time, column, value, drifted)) in [
        ("2025-11-21T10:00:10Z", "AGE", 0.25, true),
        ("2025-11-21T10:00:40Z", "AGE", 0.15, false),
        ("2025-11-21T10:01:10Z", "SMOKING", 0.5, false),
    ]
    .into_iter()
    .enumerate()
    {
        let doc = serde_json::json!({"@timestamp": time, "column": column, "value": value, "drifted": drifted});
        let (status, _) = es
            .put(&format!("/{drift_index}/_doc/{i}"), &doc.to_string())
            .unwrap();
        assert!(status < 300, "{status}");
    }
    assert_eq!(es.count(drift_index), 3);
    let es_drift = on_es.get(&format!("/api/drift?{range}")).unwrap();
    let age = &es_drift["history"]["AGE"];
    assert_eq!(age["times"].as_array().unwrap().len(), 1, "{es_drift}");
    close(&age["values"][0], 0.2, "the minute's mean value");
    assert_eq!(age["drifted"][0], true, "one verdict of the minute drifted");
    assert_eq!(es_drift["history"]["SMOKING"]["drifted"][0], false);
    let store_drift = on_store.get(&format!("/api/drift?{range}")).unwrap();
    let (a, b) = (
        &es_drift["verdicts"]["report"],
        &store_drift["verdicts"]["report"],
    );
    assert!(b["current_rows"].as_u64().unwrap() > 10, "{store_drift}");
    assert_eq!(a["current_rows"], b["current_rows"], "{es_drift}");
    assert_eq!(a["reference_rows"], b["reference_rows"]);
    let columns = b["columns"].as_array().unwrap();
    assert_eq!(a["columns"].as_array().unwrap().len(), columns.len());
    let left_out = on_es.get(&format!("/api/predictions?{range}")).unwrap()["probability_left_out"]
        .as_u64()
        .unwrap();
    for (x, y) in a["columns"].as_array().unwrap().iter().zip(columns) {
        assert_eq!(x["column"], y["column"]);
        assert_eq!(x["test"], y["test"]);
        if y["column"] == "probability" && left_out > 0 {
            // A `probabilities` pair is no aggregatable probability: those
            // predictions are missing values on Elasticsearch.
            assert_eq!(
                x["current_missing"].as_u64().unwrap(),
                y["current_missing"].as_u64().unwrap() + left_out
            );
            continue;
        }
        // Elasticsearch keeps `probability` as a 32-bit float.
        let tolerance = if y["column"] == "probability" {
            1e-3
        } else {
            1e-9
        };
        let (u, v) = (x["value"].as_f64().unwrap(), y["value"].as_f64().unwrap());
        assert!((u - v).abs() <= tolerance * v.abs().max(1.0), "{x} vs {y}");
        assert_eq!(x["drifted"], y["drifted"], "{x} vs {y}");
    }
}

/// The API's answers on the fixture window against values computed from the
/// NDJSON documents in `out`.
fn api_agrees_with(served: &Served, out: &Path) {
    // The fixture's window: 09:12 to 11:08 on 2025-11-21; three hours give
    // one-minute buckets.
    let (from, to) = (ms("2025-11-21T09:00:00Z"), ms("2025-11-21T12:00:00Z"));
    let range = format!("from={from}&to={to}");
    let minute = |t: i64| t.div_euclid(60_000) * 60_000;

    // The extent: the first and last prediction or performance document.
    let times: Vec<i64> = ["ml-api-message", "ml-api-perfs"]
        .iter()
        .flat_map(|index| sources(out, index))
        .map(|d| ms(d["@timestamp"].as_str().unwrap()))
        .collect();
    let extent = served.get("/api/extent").unwrap();
    assert_eq!(extent["oldest"], *times.iter().min().unwrap());
    assert_eq!(extent["newest"], *times.iter().max().unwrap());

    // Predictions: calls and errors from the line index, positive share from
    // the message index, per minute.
    let p = served.get(&format!("/api/predictions?{range}")).unwrap();
    assert_eq!(p["span"]["bucket_ms"], 60_000);
    let mut buckets: BTreeMap<i64, [u64; 4]> = BTreeMap::new();
    for d in sources(out, "ml-api-logs") {
        let (Some(t), Some(path)) = (d["@timestamp"].as_str(), d["http_path"].as_str()) else {
            continue;
        };
        if path.starts_with("/predict") {
            let b = buckets.entry(minute(ms(t))).or_default();
            b[0] += 1;
            b[1] += u64::from(d["status_code"].as_i64().unwrap_or(0) >= 400);
        }
    }
    let mut probabilities = Vec::new();
    for d in sources(out, "ml-api-message") {
        let Some(prediction) = d["result"]["prediction"].as_i64() else {
            continue;
        };
        let b = buckets
            .entry(minute(ms(d["@timestamp"].as_str().unwrap())))
            .or_default();
        b[2] += 1;
        b[3] += u64::from(prediction == 1);
        if let Some(p) = d["result"]["probability"]
            .as_f64()
            .or_else(|| d["result"]["probabilities"][1].as_f64())
        {
            probabilities.push(p);
        }
    }
    let times: Vec<i64> = buckets.keys().copied().collect();
    assert_eq!(p["times"], serde_json::json!(times));
    for (i, b) in buckets.values().enumerate() {
        close(&p["calls_per_minute"][i], b[0] as f64, "calls per minute");
        close(&p["errors_per_minute"][i], b[1] as f64, "errors per minute");
        if b[2] > 0 {
            close(
                &p["positive_share"][i],
                b[3] as f64 / b[2] as f64,
                "positive share",
            );
        } else {
            assert!(p["positive_share"][i].is_null());
        }
    }
    let totals = buckets.values().fold([0u64; 4], |mut t, b| {
        (0..4).for_each(|i| t[i] += b[i]);
        t
    });
    assert_eq!(
        [
            &p["calls"],
            &p["errors"],
            &p["predictions"],
            &p["positives"]
        ],
        totals.map(Value::from).each_ref()
    );
    assert!(
        totals[1] > 0 && totals[2] > 30,
        "the fixture has failed calls"
    );
    let histogram: u64 = p["probability_histogram"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    // Elasticsearch cannot aggregate a `probabilities` pair by its second
    // element: those predictions are counted apart.
    let left_out = p["probability_left_out"].as_u64().unwrap();
    assert_eq!(histogram + left_out, probabilities.len() as u64);

    // Performance: percentiles of latency per minute, top functions.
    let perf = served.get(&format!("/api/performance?{range}")).unwrap();
    let mut latencies: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    let mut functions: BTreeMap<(String, String), f64> = BTreeMap::new();
    let perfs = sources(out, "ml-api-perfs");
    for d in &perfs {
        if let Some(l) = d["latency_ms"].as_f64() {
            latencies
                .entry(minute(ms(d["@timestamp"].as_str().unwrap())))
                .or_default()
                .push(l);
        }
        for f in d["top_functions"].as_array().into_iter().flatten() {
            let key = (
                f["function"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap_or("").to_string(),
            );
            *functions.entry(key).or_default() += f["total_time_ms"].as_f64().unwrap_or(0.0);
        }
    }
    assert_eq!(perf["documents"], perfs.len());
    let times: Vec<i64> = perf["times"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect();
    assert_eq!(times, latencies.keys().copied().collect::<Vec<_>>());
    for (i, values) in latencies.values().enumerate() {
        for (q, name) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")] {
            let got = &perf["series"]["latency_ms"][name][i];
            if perf["percentiles"] == "exact" {
                close(
                    got,
                    quantile(values.clone(), q),
                    &format!("latency {name} at bucket {i}"),
                );
            } else {
                // Elasticsearch's t-digest interpolates its own way.
                assert_eq!(perf["percentiles"], "tdigest");
                let v = got.as_f64().unwrap();
                let (low, high) = (quantile(values.clone(), 0.0), quantile(values.clone(), 1.0));
                assert!(
                    v >= low - 1e-3 && v <= high + 1e-3,
                    "{name}: {v} outside {low}..{high}"
                );
            }
        }
    }
    let top = &perf["top_functions"]["functions"][0];
    let ((name, file), total) = functions.iter().max_by(|a, b| a.1.total_cmp(b.1)).unwrap();
    let all: f64 = functions.values().sum();
    assert_eq!(top["function"], name.as_str());
    assert_eq!(top["file"], file.as_str());
    close(&top["share"], total / all, "share of the top function");

    // Trace, and an empty range.
    let tx = "f235299c-8751-4150-aa90-af2e3ee18ab2";
    let trace = served.get(&format!("/api/trace/{tx}")).unwrap();
    let indices: Vec<&str> = trace["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["index"].as_str().unwrap())
        .collect();
    assert!(
        indices.iter().any(|i| i.ends_with("ml-api-message"))
            && indices.iter().any(|i| i.ends_with("ml-api-logs")),
        "{indices:?}"
    );
    let empty = served.get("/api/predictions?from=0&to=1000").unwrap();
    assert_eq!(empty["calls"], 0);
    let drift = served.get(&format!("/api/drift?{range}")).unwrap();
    assert!(
        drift["verdicts"]["error"]
            .as_str()
            .unwrap()
            .contains("--reference")
    );
}

/// Chromium, if this machine has it (CI installs Debian's).
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        crate::util::missing_dependency(
            "no chromium: install Debian's chromium (apt-get install chromium) or run bash .ci/run",
        );
    }
    found
}

/// Loads `url` in headless Chromium; returns the DOM after scripts ran and
/// writes a screenshot to `png`.
fn render(chromium: &Path, url: &str, png: &Path, profile: &Path) -> String {
    let base = |cmd: &mut Command| {
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=6000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stderr(Stdio::null());
    };
    let mut dump = Command::new(chromium);
    base(&mut dump);
    let dom = dump.arg("--dump-dom").arg(url).output().unwrap();
    let mut shot = Command::new(chromium);
    base(&mut shot);
    let _ = shot
        .args(["--window-size=1400,1800"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .output();
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

/// `data-series` and `data-points` of the element with `id`, and the number
/// of traces plotly drew in it.
fn chart(dom: &str, id: &str) -> (usize, usize, usize) {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let tag_start = dom[..at].rfind('<').unwrap();
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>').unwrap()];
    let attr = |name: &str| -> usize {
        let key = format!("data-{name}=\"");
        let i = tag
            .find(&key)
            .unwrap_or_else(|| panic!("#{id} not drawn: {tag}"))
            + key.len();
        tag[i..i + tag[i..].find('"').unwrap()].parse().unwrap()
    };
    // The chart's own markup runs to the next chart container.
    let rest = &dom[at..];
    let end = rest[1..]
        .find("class=\"chart")
        .map_or(rest.len(), |i| i + 1);
    let traces = rest[..end].matches("class=\"trace ").count()
        + rest[..end].matches("class=\"trace\"").count();
    (attr("series"), attr("points"), traces)
}

#[test]
fn pages_render_in_chromium_with_the_stores_figures() {
    let Some(chromium) = chromium() else {
        return;
    };
    use logpipe::simulate::{Generator, Knobs};
    let dir = tempfile::tempdir().unwrap();
    // A reference without drift and a drifted current side, written by the
    // simulator's generator two hours ago, each put in a store by `once`.
    let start = jiff::Timestamp::now().as_second() - 2 * 3600;
    let write = |name: &str, knobs: Knobs| -> PathBuf {
        let log = dir.path().join(format!("{name}.log"));
        let mut g = Generator::new(knobs, start);
        let mut text = String::new();
        let mut lines = 0;
        while lines < 3000 {
            for line in g.next_event() {
                text.push_str(&line);
                text.push('\n');
                lines += 1;
            }
        }
        std::fs::write(&log, text).unwrap();
        let store = dir.path().join(format!("{name}.db"));
        expect_success(
            &logpipe()
                .args(["once", "--source"])
                .arg(format!("file:{}", log.display()))
                .arg("--sink")
                .arg(format!("sqlite:{}", store.display()))
                .output()
                .unwrap(),
        );
        store
    };
    let reference = write("reference", Knobs::default());
    let current = write(
        "current",
        Knobs {
            seed: 7,
            ..crate::util::drifting_knobs()
        },
    );
    let reference_spec = format!("sqlite:{}", reference.display());
    let served = Served::start(&current, &["--reference", &reference_spec]);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let extent = served.get("/api/extent").unwrap();
    let range = format!(
        "from={}&to={}",
        extent["oldest"].as_i64().unwrap(),
        extent["newest"].as_i64().unwrap() + 1
    );
    let load = |tab: &str| {
        let dom = render(
            &chromium,
            &served.url(&format!("tab={tab}&range=all")),
            &shots.join(format!("{tab}.png")),
            &dir.path().join(format!("profile-{tab}")),
        );
        std::fs::write(shots.join(format!("{tab}.html")), &dom).unwrap();
        assert!(
            dom.contains(&format!("data-ready=\"{tab}\"")),
            "{tab} never finished loading"
        );
        let errors = &dom[dom.find("id=\"errors\"").unwrap()..];
        assert!(
            errors.starts_with("id=\"errors\"></div>"),
            "{tab} logged errors: {}",
            &errors[..errors.len().min(400)]
        );
        dom
    };

    // Predictions: the series and points the store gives.
    let p = served.get(&format!("/api/predictions?{range}")).unwrap();
    let buckets = p["times"].as_array().unwrap().len();
    assert!(buckets > 10, "{buckets}");
    let dom = load("predictions");
    assert_eq!(chart(&dom, "chart-calls"), (2, 2 * buckets, 2));
    assert_eq!(chart(&dom, "chart-positive"), (1, buckets, 1));
    assert_eq!(chart(&dom, "chart-probability"), (1, 20, 1));
    for (name, f) in p["features"].as_object().unwrap() {
        let id = format!(
            "feature-{}",
            name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        );
        let values = f["values"].as_array().unwrap().len();
        assert_eq!(chart(&dom, &id), (1, values, 1), "{name}");
    }

    // Drift: the flagged rows are the columns `logpipe drift` finds drifted.
    let verdict = logpipe()
        .args(["drift", "--reference", &reference_spec, "--current"])
        .arg(format!("sqlite:{}", current.display()))
        .args(["--format", "json"])
        .output()
        .unwrap();
    expect_success(&verdict);
    let verdict: Value = serde_json::from_slice(&verdict.stdout).unwrap();
    let drifted: Vec<&str> = verdict["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["drifted"] == true)
        .map(|c| c["column"].as_str().unwrap())
        .collect();
    for column in ["AGE", "SMOKING", "prediction", "probability"] {
        assert!(drifted.contains(&column), "{column} drifted: {drifted:?}");
    }
    let dom = load("drift");
    let flagged: Vec<&str> = dom
        .match_indices("<tr class=\"drifted\" data-column=\"")
        .map(|(i, m)| {
            let rest = &dom[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    let mut expected = drifted.clone();
    expected.sort_unstable();
    let mut flagged_sorted = flagged.clone();
    flagged_sorted.sort_unstable();
    assert_eq!(flagged_sorted, expected);
    assert_eq!(chart(&dom, "drift-dist-AGE").0, 2, "reference and current");

    // Performance: three percentiles per measure, a point per bucket.
    let perf = served.get(&format!("/api/performance?{range}")).unwrap();
    let perf_buckets = perf["times"].as_array().unwrap().len();
    let dom = load("performance");
    for id in [
        "chart-latency_ms",
        "chart-inference_time_ms",
        "chart-cpu_time_ms",
    ] {
        assert_eq!(chart(&dom, id), (3, 3 * perf_buckets, 3), "{id}");
    }
    assert_eq!(chart(&dom, "chart-memory"), (2, 2 * perf_buckets, 2));
    assert!(dom.contains("predict_proba"), "top functions table");

    // Pipeline: `dashboard` alone says where the figures come from.
    let dom = load("pipeline");
    assert!(dom.contains("--dashboard-listen"), "pipeline empty state");

    // Trace: a transaction from the predictions table.
    let tx = p["latest"][0]["transaction_id"].as_str().unwrap();
    let dom = render(
        &chromium,
        &served.url(&format!("tab=trace&tx={tx}")),
        &shots.join("trace.png"),
        &dir.path().join("profile-trace"),
    );
    assert!(dom.matches("class=\"trace-doc\"").count() >= 2, "{tx}");
    eprintln!("screenshots in {}", shots.display());
}
