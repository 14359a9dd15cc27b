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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
        close(
            &format!("case {i} ks"),
            k.p_value.expect("exact up to 10,000 rows"),
            &want["ks"],
            true,
        );
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
