//! Typing `ml-api-message` documents into prediction rows for drift analysis.

use serde_json::Value;

pub use crate::document::columns::FEATURES;

/// One typed prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRow {
    /// `@timestamp`, milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
    /// The transaction.
    pub transaction_id: Option<String>,
    /// HTTP status of the call.
    pub status_code: Option<i32>,
    /// AGE (a double in the training set).
    pub age: Option<f64>,
    /// The 14 other features, in [`FEATURES`] order without AGE.
    pub binary: [Option<i64>; 14],
    /// 0 or 1.
    pub prediction: Option<i64>,
    /// Probability of the positive class (`probability`, or `probabilities[1]`).
    pub probability: Option<f64>,
}

/// Why a document could not become a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untypable(pub String);

fn int(v: &Value) -> Option<Result<i64, ()>> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(Ok(i64::from(*b))),
        Value::Number(n) => Some(
            n.as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .ok_or(()),
        ),
        Value::String(s) => Some(s.trim().parse::<i64>().map_err(|_| ())),
        _ => Some(Err(())),
    }
}

fn float(v: &Value) -> Option<Result<f64, ()>> {
    match v {
        Value::Null => None,
        Value::Number(n) => Some(n.as_f64().ok_or(())),
        Value::String(s) => Some(s.trim().parse::<f64>().map_err(|_| ())),
        Value::Bool(b) => Some(Ok(f64::from(u8::from(*b)))),
        _ => Some(Err(())),
    }
}

/// Types one document. `None` when it has no prediction and `all` is false.
pub fn type_row(doc: &Value, all: bool) -> Result<Option<PredictionRow>, Untypable> {
    let result = &doc["result"];
    let prediction = match int(&result["prediction"]) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(())) => {
            return Err(Untypable(format!(
                "prediction {} is not 0 or 1",
                result["prediction"]
            )));
        }
    };
    if prediction.is_none() && !all {
        return Ok(None);
    }
    let input = &doc["input_data"];
    let age = match float(&input["AGE"]) {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(())) => return Err(Untypable(format!("AGE {} is not a number", input["AGE"]))),
    };
    let mut binary = [None; 14];
    for (slot, (name, key)) in binary
        .iter_mut()
        .zip(FEATURES.iter().filter(|(n, _)| *n != "AGE"))
    {
        *slot = match int(&input[*key]) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(())) => {
                return Err(Untypable(format!(
                    "{name} {} is not an integer",
                    input[*key]
                )));
            }
        };
    }
    let probability = match float(&result["probability"]) {
        Some(Ok(p)) => Some(p),
        Some(Err(())) => {
            return Err(Untypable(format!(
                "probability {} is not a number",
                result["probability"]
            )));
        }
        None => result["probabilities"].get(1).and_then(|p| p.as_f64()),
    };
    let timestamp_ms = doc["@timestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond());
    Ok(Some(PredictionRow {
        timestamp_ms,
        transaction_id: doc["transaction_id"].as_str().map(str::to_string),
        status_code: doc["status_code"]
            .as_i64()
            .and_then(|s| i32::try_from(s).ok()),
        age,
        binary,
        prediction,
        probability,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_real_predictions() {
        let doc = json!({"@timestamp": "2025-11-21T09:15:15Z", "transaction_id": "t", "status_code": 200,
            "input_data": {"AGE": 57, "GENDER": 1, "ALCOHOL": 1, "CHEST_PAIN": 0},
            "result": {"prediction": 1, "probability": 0.85}});
        let row = type_row(&doc, false).unwrap().unwrap();
        assert_eq!(row.age, Some(57.0));
        assert_eq!(row.binary[0], Some(1), "GENDER");
        assert_eq!(row.binary[9], Some(1), "ALCOHOL CONSUMING");
        assert_eq!(row.binary[13], Some(0), "CHEST PAIN");
        assert_eq!(row.binary[1], None, "SMOKING absent");
        assert_eq!(row.timestamp_ms, Some(1_763_716_515_000));
        let proba =
            json!({"input_data": {}, "result": {"prediction": 1, "probabilities": [0.2, 0.8]}});
        assert_eq!(
            type_row(&proba, false).unwrap().unwrap().probability,
            Some(0.8)
        );
    }

    #[test]
    fn failures_are_skipped_unless_asked_and_odd_values_are_untypable() {
        let failed = json!({"input_data": {"AGE": 5}, "result": {"detail": "x"}});
        assert_eq!(type_row(&failed, false).unwrap(), None);
        assert!(
            type_row(&failed, true)
                .unwrap()
                .unwrap()
                .prediction
                .is_none()
        );
        let short = json!({"input_data": {"GENDER": "M"}, "result": {"prediction": "YES"}});
        assert!(
            type_row(&short, false)
                .unwrap_err()
                .0
                .contains("prediction")
        );
        let gender = json!({"input_data": {"GENDER": "M"}, "result": {"prediction": 1}});
        assert!(type_row(&gender, false).unwrap_err().0.contains("GENDER"));
    }
}
