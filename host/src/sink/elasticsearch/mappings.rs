//! Explicit mappings (JSON files in `host/mappings/`), installed at start-up by
//! creating missing indices. An existing index whose mapping conflicts is
//! reported field by field and never altered.

use serde_json::Value;

/// The mapping files, by the default index name they belong to.
pub const MAPPINGS: [(&str, &str); 5] = [
    (
        "ml-api-logs",
        include_str!("../../../mappings/ml-api-logs.json"),
    ),
    (
        "ml-api-message",
        include_str!("../../../mappings/ml-api-message.json"),
    ),
    (
        "ml-api-perfs",
        include_str!("../../../mappings/ml-api-perfs.json"),
    ),
    (
        "ml-api-top-func",
        include_str!("../../../mappings/ml-api-top-func.json"),
    ),
    (
        "ml-api-drift",
        include_str!("../../../mappings/ml-api-drift.json"),
    ),
];

/// The index-creation body for `index`: the line index always gets the
/// `ml-api-logs` mapping; another index gets the mapping whose default name it
/// ends with (so `test-ml-api-perfs` is typed like `ml-api-perfs`), else none.
pub fn mapping_for(index: &str, line_index: &str) -> Option<Value> {
    let name = if index == line_index {
        "ml-api-logs"
    } else {
        MAPPINGS
            .iter()
            .map(|(n, _)| *n)
            .find(|n| index.ends_with(n))?
    };
    let text = MAPPINGS.iter().find(|(n, _)| *n == name)?.1;
    Some(serde_json::from_str(text).expect("mapping files are valid JSON"))
}

/// Differences between the mapping we want and the one an index has:
/// `(field path, wanted type, found type)`.
pub fn conflicts(wanted: &Value, found: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    walk(
        "",
        &wanted["mappings"]["properties"],
        &found["properties"],
        &mut out,
    );
    out
}

fn kind(v: &Value) -> String {
    match v.get("type").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None if v.get("properties").is_some() => "object".into(),
        None => "object".into(),
    }
}

fn walk(prefix: &str, wanted: &Value, found: &Value, out: &mut Vec<(String, String, String)>) {
    let Some(wanted) = wanted.as_object() else {
        return;
    };
    for (name, w) in wanted {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let Some(f) = found.get(name) else { continue };
        let (wk, fk) = (kind(w), kind(f));
        if wk != fk {
            out.push((path.clone(), wk, fk));
            continue;
        }
        if w.get("enabled") == Some(&Value::Bool(false))
            && f.get("enabled") != Some(&Value::Bool(false))
        {
            out.push((
                path.clone(),
                "object (enabled: false)".into(),
                "indexed object".into(),
            ));
        }
        if let Some(props) = w.get("properties") {
            walk(
                &path,
                props,
                f.get("properties").unwrap_or(&Value::Null),
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_choice_by_role_and_suffix() {
        assert!(
            mapping_for("my-logs", "my-logs").unwrap()["mappings"]["properties"]["raw_log"]
                .is_object()
        );
        let perfs = mapping_for("t1-ml-api-perfs", "x").unwrap();
        assert_eq!(
            perfs["mappings"]["properties"]["top_functions"]["type"],
            "nested"
        );
        assert!(mapping_for("something-else", "x").is_none());
    }

    #[test]
    fn conflicts_are_listed_by_field() {
        let wanted = mapping_for("ml-api-message", "l").unwrap();
        let found = serde_json::json!({"properties": {
            "status_code": {"type": "keyword"},
            "input_data": {"properties": {"AGE": {"type": "long"}, "GENDER": {"type": "keyword"}}},
            "http_method": {"type": "keyword"}
        }});
        let c = conflicts(&wanted, &found);
        assert_eq!(c.len(), 2, "{c:?}");
        assert!(c.contains(&("status_code".into(), "integer".into(), "keyword".into())));
        assert!(c.contains(&("input_data.AGE".into(), "integer".into(), "long".into())));
        assert!(conflicts(&wanted, &wanted["mappings"]).is_empty());
    }
}
