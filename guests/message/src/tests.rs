//! Native tests of the message parser on lines of the fixture window.

use super::*;
use serde_json::Value;

const SAMPLE: &str = include_str!("../../../tests/fixtures/api-logs.sample.log");

/// The message of sample line `n` (1-based).
fn message(n: usize) -> &'static str {
    let line = SAMPLE.lines().nth(n - 1).unwrap();
    line.splitn(4, " - ").nth(3).unwrap()
}

fn run(message: &str) -> (Option<Value>, Option<Value>) {
    let mut emit = Emit::new();
    MessageParser::default()
        .parse(&Event::new(message), &mut emit)
        .unwrap();
    let mut fields = None;
    let mut prediction = None;
    for (channel, json) in emit.take() {
        let v: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        let slot = if channel == FIELDS {
            &mut fields
        } else {
            &mut prediction
        };
        assert!(
            slot.replace(v).is_none(),
            "two documents on channel {channel}"
        );
    }
    (fields, prediction)
}

#[test]
fn real_prediction_line_21() {
    let (fields, prediction) = run(message(21));
    let f = fields.unwrap();
    assert_eq!(f["transaction_id"], "f235299c-8751-4150-aa90-af2e3ee18ab2");
    assert_eq!(f["http_method"], "POST");
    assert_eq!(f["http_path"], "/predict");
    assert_eq!(f["status_code"], 200);
    assert_eq!(f["execution_time_ms"], 51.14);
    let input = f["input_data"].as_object().unwrap();
    assert_eq!(input.len(), 15);
    assert_eq!(input["AGE"], 59);
    assert_eq!(input["GENDER"], 0);
    assert_eq!(input["ALCOHOL"], 1);
    assert_eq!(input["CHEST_PAIN"], 1);
    assert!(!input.contains_key("ALCOHOL CONSUMING"));
    assert_eq!(f["result"]["prediction"], 1);
    assert_eq!(f["result"]["probability"], 0.851539238530472);
    assert_eq!(f["result"]["message"], "Prédiction positive");
    assert!(f.get("parse_errors").is_none());
    let p = prediction.unwrap();
    assert_eq!(p["transaction_id"], f["transaction_id"]);
    assert_eq!(p["input_data"], f["input_data"]);
    assert_eq!(p["result"], f["result"]);
}

#[test]
fn predict_proba_line_76() {
    let (_, p) = run(message(76));
    let p = p.unwrap();
    assert_eq!(p["http_path"], "/predict_proba");
    assert_eq!(p["result"]["probabilities"][1], 0.7945463543687826);
    assert!(p["result"].get("probability").is_none());
}

#[test]
fn failed_calls_are_not_predictions_by_default() {
    for n in [54, 84, 85, 86, 87, 178] {
        let (fields, prediction) = run(message(n));
        assert!(
            fields.unwrap()["status_code"].as_u64().unwrap() >= 400,
            "line {n}"
        );
        assert!(prediction.is_none(), "line {n}");
    }
    let any: Config = [("prediction_status", "any")].into_iter().collect();
    let parser = MessageParser::configure(&any).unwrap();
    let mut emit = Emit::new();
    parser.parse(&Event::new(message(54)), &mut emit).unwrap();
    assert_eq!(
        emit.docs().iter().filter(|(c, _)| *c == PREDICTION).count(),
        1
    );
}

#[test]
fn nested_422_input_decodes_surrogate_pairs() {
    let (fields, _) = run(message(86));
    let f = fields.unwrap();
    assert_eq!(f["input_data"]["ANXIETY"], "un peu stressée 😬");
    assert!(f["result"]["detail"][0]["type"].as_str().is_some());
}

#[test]
fn extra_keys_with_braces_separators_and_quotes() {
    let (f, p) = run(message(142));
    assert_eq!(
        f.unwrap()["input_data"]["commentaire"],
        "patiente très fatiguée, suivi à J+7 😷"
    );
    assert!(p.is_some());
    let (f, p) = run(message(144));
    let f = f.unwrap();
    assert_eq!(
        f["input_data"]["note"],
        r#"contrôle {J+7}, rappel - urgent, voir "dossier B""#
    );
    assert_eq!(f["result"]["prediction"], 1);
    assert!(p.is_some());
}

#[test]
fn underscore_keys_and_lax_values() {
    let (f, _) = run(message(152));
    let input = &f.unwrap()["input_data"];
    assert_eq!(input["ALCOHOL"], 0);
    assert!(input.get("SHORTNESS_OF_BREATH").is_some());
    assert!(input.get("ALCOHOL_CONSUMING").is_none());
    let (f, p) = run(message(155));
    assert_eq!(
        f.unwrap()["input_data"]["AGE"],
        57.0,
        "ml-api-logs keeps the value as sent"
    );
    assert_eq!(
        p.unwrap()["input_data"]["AGE"],
        57,
        "ml-api-message types it"
    );
    let (f, p) = run(message(158));
    assert_eq!(f.unwrap()["input_data"]["GENDER"], true);
    assert_eq!(p.unwrap()["input_data"]["GENDER"], 1);
}

#[test]
fn null_probability_line_167() {
    let (_, p) = run(message(167));
    let p = p.unwrap();
    assert_eq!(p["result"]["prediction"], 1);
    assert!(p["result"]["probability"].is_null());
}

#[test]
fn short_format_lines() {
    let (f, p) = run(message(176));
    let f = f.unwrap();
    assert_eq!(f["transaction_id"], "abc-123");
    assert_eq!(f["status_code"], 200);
    assert_eq!(f["execution_time_ms"], 45.0);
    assert_eq!(f["input_data"]["GENDER"], "M");
    assert_eq!(f["input_data"]["ALCOHOL"], 1);
    assert_eq!(f["result"]["prediction"], "YES");
    assert_eq!(f["result"]["probability"], 0.85);
    assert!(p.is_some());
    let (f, p) = run(message(177));
    let f = f.unwrap();
    assert_eq!(f["result"]["probability"], 0.9312);
    assert!(
        f["input_data"]["remarque"]
            .as_str()
            .unwrap()
            .contains(" - {urgent}")
    );
    assert!(p.is_some());
    let (f, p) = run(message(178));
    assert_eq!(f.unwrap()["status_code"], 422);
    assert!(p.is_none());
}

#[test]
fn non_prediction_calls() {
    for n in [191, 192, 193, 195, 197, 198, 15, 95] {
        let (f, p) = run(message(n));
        assert!(f.is_some(), "line {n}");
        assert!(p.is_none(), "line {n}");
    }
    let (f, _) = run(message(195));
    let f = f.unwrap();
    assert!(f.get("input_data").is_none());
    assert_eq!(f["parse_errors"].as_array().unwrap().len(), 1);
    let (f, _) = run(message(198));
    assert!(f.unwrap().get("transaction_id").is_none());
}

#[test]
fn performance_lines_are_left_to_the_performance_parser() {
    for n in [20, 279] {
        let (f, p) = run(message(n));
        assert!(f.is_none() && p.is_none(), "line {n}");
    }
}

#[test]
fn input_mentioning_performance_metrics_is_a_prediction() {
    let (f, p) = run(message(149));
    assert!(f.unwrap().get("input_data").is_some());
    assert!(p.is_some());
}

#[test]
fn plain_lines_yield_nothing() {
    for n in [1, 2, 9, 11, 53, 165, 244] {
        let (f, p) = run(message(n));
        assert!(f.is_none() && p.is_none(), "line {n}");
    }
}

#[test]
fn every_sample_line_gives_valid_json_objects() {
    for (i, line) in SAMPLE.lines().enumerate() {
        let message = line.splitn(4, " - ").nth(3).unwrap_or(line);
        let mut emit = Emit::new();
        MessageParser::default()
            .parse(&Event::new(message), &mut emit)
            .unwrap();
        for (_, json) in emit.docs() {
            let v: Value =
                serde_json::from_str(json).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
            assert!(v.is_object());
        }
    }
}

#[test]
fn configuration_is_checked() {
    let bad: Config = [("prediction_status", "3xx")].into_iter().collect();
    assert!(MessageParser::configure(&bad).unwrap_err().contains("3xx"));
    let typo: Config = [("status", "any")].into_iter().collect();
    assert!(MessageParser::configure(&typo).is_err());
}

#[test]
fn two_spellings_of_one_key_write_it_once_keeping_the_first() {
    let message = r#"[t1] API Call - POST /predict - Status: 200 - Time: 1.00ms - Input: {"ALCOHOL": 1, "ALCOHOL CONSUMING": 0, "YELLOW FINGERS": 1, "YELLOW_FINGERS": 0, "AGE": 60, "AGE": 61, "x y": 1, "x_y": 2} - Result: {"prediction": 1, "probability": 0.9}"#;
    let mut emit = Emit::new();
    MessageParser::default()
        .parse(&Event::new(message), &mut emit)
        .unwrap();
    let documents = emit.take();
    assert_eq!(documents.len(), 2);
    for (_, json) in documents {
        for key in ["\"ALCOHOL\"", "\"YELLOW_FINGERS\"", "\"AGE\"", "\"x_y\""] {
            assert_eq!(json.matches(key).count(), 1, "{key} in {json}");
        }
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["input_data"]["ALCOHOL"], 1, "{json}");
        assert_eq!(v["input_data"]["AGE"], 60);
        assert_eq!(v["input_data"]["x_y"], 1);
    }
}
