//! Drift statistics against scipy, computed the way Evidently 0.7 calls it
//! (its `stattests` code, transcribed in the Python below), on generated
//! pairs: binary and many-valued categories, a value on one side only, a
//! constant column, integer ages (Sturges bins) and floats.

use crate::util::python_with;
use logpipe::drift::counts::Counts;
use logpipe::drift::stattests::{Kind, chisquare, jensenshannon, ks, psi, wasserstein, z};
use std::process::Command;

/// Evidently's computations, with scipy and numpy.
const EVIDENTLY: &str = r#"
import json, sys
import numpy as np, pandas as pd
from scipy.stats import norm, chisquare, wasserstein_distance, ks_2samp
from scipy.spatial import distance

def keys_of(r, c):
    return list(set(r.dropna().unique()) | set(c.dropna().unique()))

def z(r, c):
    if r.nunique() == 1 and c.nunique() == 1 and r.unique()[0] == c.unique()[0]:
        return 1.0
    k = sorted(keys_of(r, c))
    r1 = r.apply(lambda x: 0 if x == k[0] else 1); c1 = c.apply(lambda x: 0 if x == k[0] else 1)
    n1, n2 = len(r1), len(c1); p1 = float(sum(r1)) / n1; p2 = float(sum(c1)) / n2
    P = float(p1 * n1 + p2 * n2) / (n1 + n2)
    zs = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
    return 2 * (1 - norm.cdf(np.abs(zs)))

def chi(r, c):
    k = keys_of(r, c)
    rd = {**dict.fromkeys(k, 0), **dict(r.value_counts())}
    cd = {**dict.fromkeys(k, 0), **dict(c.value_counts())}
    kn = c.shape[0] / r.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return chisquare([cd[x] for x in k], [rd[x] * kn for x in k])[1]

def binned(r, c, numerical, feel):
    if numerical and r.nunique() > 20:
        bins = np.histogram_bin_edges(np.asarray(pd.concat([r, c]).values), bins="sturges")
        rp = np.histogram(r, bins)[0] / len(r); cp = np.histogram(c, bins)[0] / len(c)
    else:
        k = keys_of(r, c)
        rd = {**dict.fromkeys(k, 0), **dict(r.value_counts())}
        cd = {**dict.fromkeys(k, 0), **dict(c.value_counts())}
        rp = np.array([rd[x] / len(r) for x in k]); cp = np.array([cd[x] / len(c) for x in k])
    if feel:
        for a in (rp, cp):
            m = min(a[a != 0])
            np.place(a, a == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return rp, cp

out = []
for case in json.load(open(sys.argv[1])):
    r = pd.Series(case["reference"]); c = pd.Series(case["current"]); num = case["numerical"]
    rp, cp = binned(r, c, num, False)
    rq, cq = binned(r, c, num, True)
    ks = ks_2samp(r, c)
    out.append({
        "ks_statistic": float(ks[0]),
        "ks": float(ks[1]),
        "z": float(z(r, c)) if r.nunique() + c.nunique() > 0 else None,
        "chisquare": float(chi(r, c)),
        "wasserstein": float(wasserstein_distance(r, c) / max(float(np.std(r)), 0.001)),
        "jensenshannon": float(distance.jensenshannon(rp, cp)),
        "psi": float(np.sum((rq - cq) * np.log(rq / cq))),
    })
# NaN and infinities as text, which JSON has no numbers for.
print(json.dumps([{k: (v if v is None or np.isfinite(v) else str(v)) for k, v in o.items()} for o in out]))
"#;

fn sample(seed: u64, n: usize, draw: impl Fn(&mut fastrand::Rng) -> f64) -> Vec<f64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| draw(&mut rng)).collect()
}

#[test]
fn statistics_agree_with_scipy_as_evidently_calls_it() {
    let Some(python) = python_with("scipy.stats, pandas") else {
        return;
    };
    let binary = |share: f64| move |r: &mut fastrand::Rng| f64::from(u8::from(r.f64() < share));
    let cases: Vec<(Vec<f64>, Vec<f64>, bool)> = vec![
        // Binary features, no drift and drift, both sides of 1,000 rows.
        (
            sample(1, 800, binary(0.5)),
            sample(2, 300, binary(0.52)),
            false,
        ),
        (
            sample(3, 5000, binary(0.3)),
            sample(4, 2000, binary(0.45)),
            false,
        ),
        // Four categories, one of them only in the reference.
        (
            sample(5, 600, |r| f64::from(r.u8(0..4))),
            sample(6, 900, |r| f64::from(r.u8(0..3))),
            false,
        ),
        // Ages (integers 20-89: more than 20 values, Sturges bins), shifted.
        (
            sample(7, 3000, |r| f64::from(r.u8(20..90))),
            sample(8, 2500, |r| f64::from(r.u8(30..90))),
            true,
        ),
        // Probabilities (floats).
        (
            sample(9, 700, |r| r.f64()),
            sample(10, 1200, |r| r.f64().powi(2)),
            true,
        ),
        // Equal sizes (scipy's other exact path), ages with a small shift.
        (
            sample(12, 500, |r| f64::from(r.u8(20..90))),
            sample(13, 500, |r| f64::from(r.u8(22..90))),
            true,
        ),
        // A constant column on both sides, and against a two-valued one.
        (vec![1.0; 50], vec![1.0; 70], false),
        (vec![0.0; 50], sample(11, 70, binary(0.5)), false),
    ];
    let json: Vec<serde_json::Value> = cases
        .iter()
        .map(|(r, c, numerical)| {
            serde_json::json!({"reference": r, "current": c, "numerical": numerical})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.json");
    std::fs::write(&input, serde_json::to_string(&json).unwrap()).unwrap();
    let out = Command::new(python)
        .args(["-c", EVIDENTLY])
        .arg(&input)
        .output()
        .unwrap();
    crate::util::expect_success(&out);
    let expected: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();

    let close = |what: &str, ours: f64, theirs: &serde_json::Value, relative: bool| {
        let theirs = match theirs.as_str() {
            Some("nan") => f64::NAN,
            Some("inf") => f64::INFINITY,
            Some("-inf") => f64::NEG_INFINITY,
            _ => theirs.as_f64().unwrap(),
        };
        let ok = if !theirs.is_finite() {
            ours.to_bits() == theirs.to_bits() || (ours.is_nan() && theirs.is_nan())
        } else if relative {
            (ours - theirs).abs() <= 1e-6 * theirs.abs().max(1e-300) || ours == theirs
        } else {
            (ours - theirs).abs() <= 1e-9
        };
        assert!(ok, "{what}: ours {ours}, scipy {theirs}");
    };
    for (i, ((reference, current, numerical), want)) in cases.iter().zip(&expected).enumerate() {
        let r = Counts::of(reference.iter().map(|v| Some(*v)));
        let c = Counts::of(current.iter().map(|v| Some(*v)));
        let kind = if *numerical {
            Kind::Numerical
        } else {
            Kind::Categorical
        };
        let k = ks(&r, &c);
        close(
            &format!("case {i} ks statistic"),
            k.statistic,
            &want["ks_statistic"],
            false,
        );
        close(&format!("case {i} ks"), k.p_value, &want["ks"], true);
        close(&format!("case {i} z"), z(&r, &c), &want["z"], true);
        close(
            &format!("case {i} chisquare"),
            chisquare(&r, &c),
            &want["chisquare"],
            true,
        );
        close(
            &format!("case {i} wasserstein"),
            wasserstein(&r, &c),
            &want["wasserstein"],
            false,
        );
        close(
            &format!("case {i} jensenshannon"),
            jensenshannon(&r, &c, kind),
            &want["jensenshannon"],
            false,
        );
        close(
            &format!("case {i} psi"),
            psi(&r, &c, kind),
            &want["psi"],
            false,
        );
    }
}

/// scipy's `kstwo.sf` over a grid of sizes and statistics that reaches each
/// of its methods (Ruben-Gambino, Durbin's matrix, Pomeranz, Pelz-Good, the
/// one-sided sum and its approximation beyond a million).
#[test]
fn kolmogorov_distribution_agrees_with_scipy() {
    let Some(python) = python_with("scipy.stats") else {
        return;
    };
    let sizes = [
        1u64, 2, 5, 10, 37, 140, 141, 500, 1000, 4999, 20_000, 100_000, 100_001, 999_999, 2_000_000,
    ];
    let fractions = [
        0.3, 0.6, 0.9, 1.2, 1.5, 2.0, 3.0, 5.0, 8.0, 15.0, 40.0, 100.0,
    ];
    // x = f / sqrt(n) for moderate tails, and a few absolute ones.
    let mut grid = Vec::new();
    for n in sizes {
        for f in fractions {
            grid.push((n, (f / (n as f64).sqrt()).min(0.999)));
        }
        for x in [0.01, 0.05, 0.2, 0.5, 0.7, 0.95] {
            grid.push((n, x));
        }
    }
    let script = "import json, sys\nfrom scipy.stats import kstwo\n\
                  print(json.dumps([float(kstwo.sf(x, n)) for n, x in json.load(sys.stdin)]))";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), &grid).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let expected: Vec<f64> = serde_json::from_slice(&out.stdout).unwrap();
    let mut failures = Vec::new();
    for ((n, x), want) in grid.iter().zip(expected) {
        let ours = logpipe::drift::kolmogorov::kstwo_sf(*n, *x);
        let ok = (ours - want).abs() <= 1e-6 * want.abs() || (ours - want).abs() < 1e-300;
        if !ok {
            failures.push(format!("n {n} x {x}: ours {ours:e}, scipy {want:e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Writes generated Parquet pairs and Evidently's own verdicts on them
/// (`Report([DataDriftPreset()])`, evidently 0.7, include_tests for each
/// column's drifted flag): both sides of the 1,000-row switch (and exactly
/// 1,000), a no-drift pair, constant columns, a category on one side only,
/// missing values (an integer column with one becomes float to pandas), and a
/// current side over 10,000 rows (scipy's asymptotic K-S p-value).
const EVIDENTLY_PAIRS: &str = r#"
import json, sys
import numpy as np, pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

NAMES = ["GENDER", "AGE", "SMOKING", "YELLOW_FINGERS", "ANXIETY", "PEER_PRESSURE",
         "CHRONIC DISEASE", "FATIGUE", "ALLERGY", "WHEEZING", "ALCOHOL CONSUMING", "COUGHING",
         "SHORTNESS OF BREATH", "SWALLOWING DIFFICULTY", "CHEST PAIN"]
TESTS = {"K-S p_value": "ks", "Z-test p_value": "z", "chi-square p_value": "chisquare",
         "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon",
         "PSI": "psi"}

def side(rng, n, age=60.0, smoke=0.5, pos=0.5, allergy=2):
    d = {}
    for c in NAMES:
        if c == "AGE":
            d[c] = np.clip(np.round(rng.normal(age, 8, n)), 20, 90).astype(float)
        elif c == "SMOKING":
            d[c] = 1 + (rng.random(n) < smoke).astype(np.int64)
        elif c == "ALLERGY":
            d[c] = rng.integers(1, allergy + 1, n).astype(np.int64)
        else:
            d[c] = rng.integers(1, 3, n).astype(np.int64)
    d["prediction"] = (rng.random(n) < pos).astype(np.int64)
    d["probability"] = np.round(rng.beta(2 + 3 * (pos - 0.5), 5, n), 4)
    return pd.DataFrame(d)

def cases(rng):
    yield "small-drift", side(rng, 800), side(rng, 600, age=66, smoke=0.7, pos=0.6)
    yield "small-same", side(rng, 900), side(rng, 700)
    yield "exactly-1000", side(rng, 1000), side(rng, 1000, age=62)
    yield "just-over-1000", side(rng, 1001), side(rng, 1000, age=62, smoke=0.6)
    yield "large-drift", side(rng, 5000), side(rng, 3000, age=70, smoke=0.8, pos=0.7)
    yield "large-same", side(rng, 4000), side(rng, 4000)
    r, c = side(rng, 700), side(rng, 500, allergy=3)
    r["GENDER"] = 1; c["GENDER"] = 1; c["FATIGUE"] = 2
    yield "constant-and-new-category", r, c
    r, c = side(rng, 1500), side(rng, 1200, allergy=3)
    r["GENDER"] = 1; c["GENDER"] = 1; r["WHEEZING"] = 2
    yield "large-constant-and-new-category", r, c
    r, c = side(rng, 600), side(rng, 600, age=61)
    c.loc[::7, "AGE"] = np.nan
    c["SMOKING"] = c["SMOKING"].astype(float); c.loc[::5, "SMOKING"] = np.nan
    yield "missing-values", r, c
    yield "large-current", side(rng, 900), side(rng, 12000, age=60.5)

out = {}
rng = np.random.default_rng(20251121)
for name, ref, cur in cases(rng):
    ref.to_parquet(f"{sys.argv[1]}/{name}-reference.parquet", index=False)
    cur.to_parquet(f"{sys.argv[1]}/{name}-current.parquet", index=False)
    snap = Report([DataDriftPreset()], include_tests=True).run(cur, ref).dict()
    case = {"columns": {}}
    for m in snap["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("ValueDrift"):
            case["columns"][cfg["column"]] = {"test": TESTS[cfg["method"]], "value": m["value"],
                                              "threshold": cfg["threshold"]}
        else:
            case["drifted_columns"] = m["value"]["count"]; case["share"] = m["value"]["share"]
    for t in snap["tests"]:
        prefix = "Value Drift for column "
        if t["name"].startswith(prefix):
            case["columns"][t["name"][len(prefix):]]["drifted"] = t["status"] == "FAIL"
    out[name] = case
print(json.dumps(out))
"#;

#[test]
fn drift_command_gives_evidentlys_verdicts() {
    let Some(python) = python_with("evidently, pyarrow") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(python)
        .args(["-c", EVIDENTLY_PAIRS])
        .arg(dir.path())
        .output()
        .unwrap();
    crate::util::expect_success(&out);
    let expected: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(expected.len(), 10);
    for (case, want) in &expected {
        let run = crate::util::logpipe()
            .arg("drift")
            .arg("--reference")
            .arg(dir.path().join(format!("{case}-reference.parquet")))
            .arg("--current")
            .arg(dir.path().join(format!("{case}-current.parquet")))
            .args(["--format", "json"])
            .output()
            .unwrap();
        crate::util::expect_success(&run);
        let ours: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        let columns = ours["columns"].as_array().unwrap();
        let theirs = want["columns"].as_object().unwrap();
        assert_eq!(columns.len(), theirs.len(), "{case}: {ours}");
        for column in columns {
            let name = column["column"].as_str().unwrap();
            let w = &theirs[name];
            assert_eq!(column["test"], w["test"], "{case} {name}");
            assert_eq!(column["threshold"], w["threshold"], "{case} {name}");
            assert_eq!(
                column["drifted"], w["drifted"],
                "{case} {name}: {column} / {w}"
            );
            let (a, b) = (
                column["value"].as_f64().unwrap(),
                w["value"].as_f64().unwrap(),
            );
            let p_value = matches!(w["test"].as_str(), Some("ks" | "z" | "chisquare"));
            let ok = if p_value {
                (a - b).abs() <= 1e-6 * b.abs() || (a - b).abs() < 1e-12
            } else {
                (a - b).abs() <= 1e-9
            };
            assert!(ok, "{case} {name}: ours {a}, Evidently {b}");
        }
        assert_eq!(
            ours["drifted_columns"].as_f64().unwrap(),
            want["drifted_columns"].as_f64().unwrap(),
            "{case}"
        );
        let share = want["share"].as_f64().unwrap();
        assert_eq!(ours["dataset_drift"], share >= 0.5, "{case}");
    }
}

#[test]
fn drift_reads_the_store_as_its_parquet_export_and_refuses_bad_input() {
    let Some(python) = python_with("pyarrow.parquet") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sink = format!("sqlite:{}", dir.path().join("s.db").display());
    let sample = format!(
        "file:{}",
        crate::util::fixture("api-logs.sample.log").display()
    );
    crate::util::expect_success(
        &crate::util::logpipe()
            .args(["once", "--source", &sample, "--sink", &sink])
            .output()
            .unwrap(),
    );
    let parquet = dir.path().join("p.parquet");
    crate::util::expect_success(
        &crate::util::logpipe()
            .args(["export", "parquet", "--sink", &sink, "--out"])
            .arg(&parquet)
            .output()
            .unwrap(),
    );
    let drift = |reference: &str, current: &str, extra: &[&str]| {
        crate::util::logpipe()
            .args(["drift", "--reference", reference, "--current", current])
            .args(extra)
            .output()
            .unwrap()
    };
    let parquet = parquet.display().to_string();
    let from_store = drift(&sink, &sink, &["--format", "json"]);
    crate::util::expect_success(&from_store);
    let from_file = drift(&parquet, &sink, &["--format", "json"]);
    crate::util::expect_success(&from_file);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&from_store.stdout).unwrap(),
        serde_json::from_slice(&from_file.stdout).unwrap(),
    );
    assert_eq!(a, b, "the store reads as its Parquet export");
    assert_eq!(a["reference_rows"], 35);
    assert_eq!(a["dataset_drift"], false);
    assert_eq!(a["drifted_columns"], 0);
    // A time range that holds nothing is an empty side.
    let empty = drift(&sink, &sink, &["--current-range", "2001-01-01..2001-01-02"]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("current side has no rows"));

    // A drifted pair: exit 4 with --fail-on-drift, and an HTML report.
    let script = r#"
import sys, pyarrow as pa, pyarrow.parquet as pq
n = 400
def side(k):
    cols = {c: [(i * k) % 2 for i in range(n)] for c in ["GENDER", "SMOKING", "ANXIETY"]}
    cols["AGE"] = [float(20 + (i * 7 + 10 * k) % 60) for i in range(n)]
    return pa.table(cols)
pq.write_table(side(1), sys.argv[1]); pq.write_table(side(2), sys.argv[2])
"#;
    let (r, c) = (dir.path().join("r.parquet"), dir.path().join("c.parquet"));
    let status = Command::new(&python)
        .args(["-c", script])
        .arg(&r)
        .arg(&c)
        .status()
        .unwrap();
    assert!(status.success());
    let html = dir.path().join("report.html");
    let (r, c) = (r.display().to_string(), c.display().to_string());
    let out = drift(
        &r,
        &c,
        &["--fail-on-drift", "--html", &html.display().to_string()],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("DATASET DRIFT"), "{table}");
    assert!(table.contains("prediction") && table.contains("not tested: in neither side"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Dataset drift detected") && page.contains("<svg"));
    assert!(!page.contains("<script"), "self-contained, no script");

    // Bad input names the flag.
    let log = crate::util::fixture("api-logs.sample.log")
        .display()
        .to_string();
    for (args, says) in [
        (
            vec!["--reference", "nope.parquet", "--current", &c],
            "--reference nope.parquet: no such file",
        ),
        (
            vec!["--reference", &r, "--current", &c, "--test", "AGE=z"],
            "z cannot test AGE",
        ),
        (
            vec!["--reference", &r, "--current", &c, "--test", "AGE=t"],
            "`t` is not a test",
        ),
        (
            vec!["--reference", &r, "--current", &c, "--test", "FOO=ks"],
            "`FOO` is not a model column",
        ),
        (
            vec![
                "--reference",
                &r,
                "--current",
                &c,
                "--reference-range",
                "last:1d",
            ],
            "--reference-range applies to a store",
        ),
        (
            vec![
                "--reference",
                &sink,
                "--current",
                &c,
                "--reference-range",
                "yesterday",
            ],
            "is not a range",
        ),
        (vec!["--reference", &r, "--current", &log], "cannot read"),
    ] {
        let out = crate::util::logpipe()
            .arg("drift")
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// `run` with `[drift]`: the simulator drifts (older patients, more smokers,
/// more positive predictions) against a reference without drift; the verdicts
/// reach /metrics, the log says the dataset started drifting, and each
/// verdict is stored as documents of `ml-api-drift`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_watches_drift_continuously() {
    use crate::run::{start_run, stop};
    use crate::util::{metric, metrics_page};
    use logpipe::simulate::Simulator;
    let Some(python) = python_with("pyarrow.parquet") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.parquet");
    let script = r#"
import sys, random, pyarrow as pa, pyarrow.parquet as pq
random.seed(7)
n = 2000
names = ["GENDER", "SMOKING", "YELLOW_FINGERS", "ANXIETY", "PEER_PRESSURE", "CHRONIC DISEASE",
         "FATIGUE", "ALLERGY", "WHEEZING", "ALCOHOL CONSUMING", "COUGHING", "SHORTNESS OF BREATH",
         "SWALLOWING DIFFICULTY", "CHEST PAIN", "prediction"]
cols = {c: [random.randint(0, 1) for _ in range(n)] for c in names}
cols["AGE"] = [float(random.randint(20, 90)) for _ in range(n)]
cols["probability"] = [random.random() for _ in range(n)]
pq.write_table(pa.table(cols), sys.argv[1])
"#;
    assert!(
        Command::new(&python)
            .args(["-c", script])
            .arg(&reference)
            .status()
            .unwrap()
            .success()
    );
    let knobs = crate::util::drifting_knobs();
    let sim = Simulator::start("127.0.0.1:0".parse().unwrap(), knobs, 300)
        .await
        .unwrap();
    let config = dir.path().join("logpipe.toml");
    std::fs::write(
        &config,
        format!(
            "[drift]\nreference = \"{}\"\nwindow = \"300\"\nevery = \"1s\"\ndrift_share = 0.2\n",
            reference.display()
        ),
    )
    .unwrap();
    let port = crate::util::free_port();
    let source = format!("rest:http://{}/logs", sim.addr());
    let run = start_run(&source, dir.path(), None, Some(&config), port);
    sim.push_lines(1500);
    crate::util::wait_for(
        "a drift verdict",
        std::time::Duration::from_secs(60),
        || metric(port, "logpipe_dataset_drift") == Some(1),
    );
    let page = metrics_page(port);
    assert!(
        page.contains("logpipe_drift_detected{column=\"SMOKING\"} 1")
            && page.contains("logpipe_drift_value{column=\"AGE\",test=\"wasserstein\"}"),
        "{page}"
    );
    crate::util::wait_for(
        "stored verdicts",
        std::time::Duration::from_secs(30),
        || dir.path().join("out/ml-api-drift.ndjson").exists(),
    );
    stop(run);
    let log = std::fs::read_to_string(dir.path().join(format!("run-{port}.log"))).unwrap();
    assert!(log.contains("the dataset started drifting"), "{log}");
    let verdicts =
        crate::util::ndjson(&std::fs::read(dir.path().join("out/ml-api-drift.ndjson")).unwrap());
    let smoking = verdicts
        .iter()
        .find(|d| d["_source"]["column"] == "SMOKING")
        .expect("a SMOKING verdict");
    assert_eq!(smoking["_source"]["test"], "jensenshannon");
    assert_eq!(smoking["_source"]["drifted"], true);
}
