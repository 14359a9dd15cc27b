//! `logpipe export parquet`, read back with a real reader (pyarrow).

use crate::util::{
    SearchServer, expect_success, fixture, logpipe, prefixed_config, python_with, unique_prefix,
};
use std::path::Path;
use std::process::Command;

/// Reads the file with pyarrow and returns (schema names and types, rows as JSON).
fn read_back(python: &Path, file: &Path) -> serde_json::Value {
    let script = r#"
import json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
rows = t.to_pylist()
for r in rows:
    r["@timestamp"] = r["@timestamp"].isoformat() if r["@timestamp"] else None
print(json.dumps({"schema": [[f.name, str(f.type)] for f in t.schema], "rows": rows}))
"#;
    let out = Command::new(python)
        .args(["-c", script])
        .arg(file)
        .output()
        .unwrap();
    expect_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check_fixture_export(python: &Path, file: &Path) {
    let v = read_back(python, file);
    let schema: Vec<(String, String)> = v["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f[0].as_str().unwrap().to_string(),
                f[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names: Vec<&str> = schema.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "@timestamp",
            "transaction_id",
            "status_code",
            "GENDER",
            "AGE",
            "SMOKING",
            "YELLOW_FINGERS",
            "ANXIETY",
            "PEER_PRESSURE",
            "CHRONIC DISEASE",
            "FATIGUE",
            "ALLERGY",
            "WHEEZING",
            "ALCOHOL CONSUMING",
            "COUGHING",
            "SHORTNESS OF BREATH",
            "SWALLOWING DIFFICULTY",
            "CHEST PAIN",
            "prediction",
            "probability"
        ]
    );
    assert_eq!(schema[0].1, "timestamp[ms, tz=UTC]");
    assert_eq!(schema[4].1, "double");
    assert_eq!(schema[3].1, "int64");
    let rows = v["rows"].as_array().unwrap();
    // 36 predictions; the design example with GENDER "M" and prediction "YES" cannot be typed.
    assert_eq!(rows.len(), 35);
    let r = rows
        .iter()
        .find(|r| r["transaction_id"] == "f235299c-8751-4150-aa90-af2e3ee18ab2")
        .unwrap();
    assert_eq!(r["AGE"], 59.0);
    assert_eq!(r["ALCOHOL CONSUMING"], 1);
    assert_eq!(r["CHEST PAIN"], 1);
    assert_eq!(r["prediction"], 1);
    assert_eq!(r["probability"], 0.851539238530472);
    assert_eq!(r["@timestamp"], "2025-11-21T09:15:15+00:00");
    let proba = rows
        .iter()
        .find(|r| r["probability"] == 0.7945463543687826)
        .expect("predict_proba row uses probabilities[1]");
    assert_eq!(proba["prediction"], 1);
    let lax = rows
        .iter()
        .find(|r| r["transaction_id"] == "d7eef691-d47b-4233-8ff2-ce9f2b36fa04")
        .unwrap();
    assert_eq!(lax["AGE"], 57.0, "57.0 as sent");
}

#[test]
fn export_from_the_embedded_store_reads_back_with_pyarrow() {
    let Some(python) = python_with("pyarrow.parquet") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sink = format!("sqlite:{}", dir.path().join("s.db").display());
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    assert!(
        logpipe()
            .args(["once", "--source", &sample, "--sink", &sink])
            .status()
            .unwrap()
            .success()
    );
    let file = dir.path().join("predictions.parquet");
    let out = logpipe()
        .args(["export", "parquet", "--sink", &sink, "--out"])
        .arg(&file)
        .output()
        .unwrap();
    expect_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("35 rows written")
            && text.contains("1 could not be typed")
            && text.contains("abc-123"),
        "{text}"
    );
    check_fixture_export(&python, &file);

    // A time range.
    let ranged = dir.path().join("ranged.parquet");
    let out = logpipe()
        .args([
            "export",
            "parquet",
            "--sink",
            &sink,
            "--since",
            "2025-11-21T10:00:00Z",
            "--until",
            "2025-11-21T10:10:00Z",
            "--out",
        ])
        .arg(&ranged)
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows = read_back(&python, &ranged)["rows"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!rows.is_empty() && rows.len() < 35);
    assert!(rows.iter().all(
        |r| r["@timestamp"].as_str().unwrap() >= "2025-11-21T10:00:00"
            && r["@timestamp"].as_str().unwrap() < "2025-11-21T10:10:00"
    ));

    // A range with nothing in it says so, naming the store.
    let out = logpipe()
        .args([
            "export",
            "parquet",
            "--sink",
            &sink,
            "--since",
            "2030-01-01",
            "--out",
        ])
        .arg(dir.path().join("empty.parquet"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "warning: {sink} has no ml-api-message documents in the time range"
        )),
        "{stderr}"
    );
    // A store that is not there is an error, not an empty file.
    let out = logpipe()
        .args([
            "export",
            "parquet",
            "--sink",
            "sqlite:/nonexistent/s.db",
            "--out",
        ])
        .arg(dir.path().join("none.parquet"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store at /nonexistent/s.db"));
}

#[test]
fn export_from_the_search_server_reads_back_with_pyarrow() {
    let Some(python) = python_with("pyarrow.parquet") else {
        return;
    };
    let Some(es) = SearchServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = unique_prefix("export");
    let config = prefixed_config(dir.path(), &p);
    let sample = format!("file:{}", fixture("api-logs.sample.log").display());
    let sink = format!("es:{}", es.url);
    let status = logpipe()
        .args(["once", "--source", &sample, "--sink", &sink, "--config"])
        .arg(&config)
        .arg("--state-dir")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    es.count(&format!("{p}-ml-api-message"));
    let file = dir.path().join("predictions.parquet");
    let out = logpipe()
        .args([
            "export",
            "parquet",
            "--sink",
            &sink,
            "--index",
            &format!("{p}-ml-api-message"),
            "--out",
        ])
        .arg(&file)
        .arg("--state-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    expect_success(&out);
    check_fixture_export(&python, &file);
}
