//! Patient features: key normalisation (as the original mapping expects) and the
//! typing of values for `ml-api-message`.

use logpipe_plugin_sdk::json::Key;
use std::borrow::Cow;

/// The 15 model features under their normalised keys, in training order.
pub const FEATURES: [&str; 15] = [
    "GENDER",
    "AGE",
    "SMOKING",
    "YELLOW_FINGERS",
    "ANXIETY",
    "PEER_PRESSURE",
    "CHRONIC_DISEASE",
    "FATIGUE",
    "ALLERGY",
    "WHEEZING",
    "ALCOHOL",
    "COUGHING",
    "SHORTNESS_OF_BREATH",
    "SWALLOWING_DIFFICULTY",
    "CHEST_PAIN",
];

/// True for one of the 15 [`FEATURES`] (a match, not a search of the list).
pub fn is_feature(key: &str) -> bool {
    matches!(
        key,
        "GENDER"
            | "AGE"
            | "SMOKING"
            | "YELLOW_FINGERS"
            | "ANXIETY"
            | "PEER_PRESSURE"
            | "CHRONIC_DISEASE"
            | "FATIGUE"
            | "ALLERGY"
            | "WHEEZING"
            | "ALCOHOL"
            | "COUGHING"
            | "SHORTNESS_OF_BREATH"
            | "SWALLOWING_DIFFICULTY"
            | "CHEST_PAIN"
    )
}

/// The 15 features' normalised keys as [`Key`]s (checked at compile time).
pub const FEATURE_KEYS: [Key<'static>; 15] = {
    let mut keys = [Key::new(""); 15];
    let mut i = 0;
    while i < 15 {
        keys[i] = Key::new(FEATURES[i]);
        i += 1;
    }
    keys
};

/// The feature a key names, under its normalised key, for the spellings the API
/// uses (training names with spaces, or underscores, and `ALCOHOL`): one match
/// for the keys of nearly every request.
pub fn feature(key: &str) -> Option<Key<'static>> {
    feature_index(key).map(|index| FEATURE_KEYS[index])
}

/// The position in [`FEATURE_KEYS`] of the feature a key names.
pub fn feature_index(key: &str) -> Option<usize> {
    Some(match key {
        "GENDER" => 0,
        "AGE" => 1,
        "SMOKING" => 2,
        "YELLOW_FINGERS" | "YELLOW FINGERS" => 3,
        "ANXIETY" => 4,
        "PEER_PRESSURE" | "PEER PRESSURE" => 5,
        "CHRONIC_DISEASE" | "CHRONIC DISEASE" => 6,
        "FATIGUE" => 7,
        "ALLERGY" => 8,
        "WHEEZING" => 9,
        "ALCOHOL" | "ALCOHOL CONSUMING" | "ALCOHOL_CONSUMING" => 10,
        "COUGHING" => 11,
        "SHORTNESS_OF_BREATH" | "SHORTNESS OF BREATH" => 12,
        "SWALLOWING_DIFFICULTY" | "SWALLOWING DIFFICULTY" => 13,
        "CHEST_PAIN" | "CHEST PAIN" => 14,
        _ => return None,
    })
}

/// Normalises a top-level input key: spaces become underscores, then
/// `ALCOHOL_CONSUMING` becomes `ALCOHOL`. Values are never touched.
pub fn normalise_key(key: &str) -> Cow<'_, str> {
    if let Some(name) = feature(key) {
        return Cow::Borrowed(name.as_str());
    }
    let key: Cow<'_, str> = if key.contains(' ') {
        Cow::Owned(key.replace(' ', "_"))
    } else {
        Cow::Borrowed(key)
    };
    if key == "ALCOHOL_CONSUMING" {
        Cow::Borrowed("ALCOHOL")
    } else {
        key
    }
}

/// Types a feature value the way the API's lax validation read it, so that the
/// typed fields of `ml-api-message` accept it: booleans become 0/1, numeric
/// strings become numbers, integral floats (`57.0`) become integers. Anything
/// else is returned unchanged (the index then reports it, nothing is hidden).
pub fn type_value(raw: &str) -> Cow<'_, str> {
    match raw {
        "true" => return Cow::Borrowed("1"),
        "false" => return Cow::Borrowed("0"),
        _ => {}
    }
    let number = match raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => inner.trim(),
        Some(_) => return Cow::Borrowed(raw),
        None => raw,
    };
    if let Ok(i) = number.parse::<i64>() {
        return if number.len() == raw.len() {
            Cow::Borrowed(raw)
        } else {
            Cow::Owned(i.to_string())
        };
    }
    match number.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Cow::Owned((f as i64).to_string())
        }
        Ok(f) if f.is_finite() => Cow::Owned(f.to_string()),
        _ => Cow::Borrowed(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalised_like_the_original_mapping() {
        assert_eq!(normalise_key("ALCOHOL CONSUMING"), "ALCOHOL");
        assert_eq!(normalise_key("ALCOHOL_CONSUMING"), "ALCOHOL");
        assert_eq!(normalise_key("CHEST PAIN"), "CHEST_PAIN");
        assert_eq!(normalise_key("SHORTNESS OF BREATH"), "SHORTNESS_OF_BREATH");
        assert_eq!(normalise_key("SHORTNESS_OF_BREATH"), "SHORTNESS_OF_BREATH");
        assert_eq!(normalise_key("AGE"), "AGE");
        assert_eq!(normalise_key("commentaire"), "commentaire");
    }

    #[test]
    fn is_feature_is_the_list() {
        assert!(FEATURES.iter().all(|f| is_feature(f)));
        // Every spelling `feature` knows normalises to what it says.
        for key in [
            "AGE",
            "YELLOW FINGERS",
            "PEER PRESSURE",
            "CHRONIC DISEASE",
            "ALCOHOL CONSUMING",
            "ALCOHOL_CONSUMING",
            "SHORTNESS OF BREATH",
            "SWALLOWING DIFFICULTY",
            "CHEST PAIN",
        ] {
            let name = feature(key).unwrap().as_str();
            assert!(is_feature(name));
            assert_eq!(
                name,
                key.replace(' ', "_")
                    .replace("ALCOHOL_CONSUMING", "ALCOHOL")
            );
        }
        assert_eq!(feature("commentaire"), None);
        assert!(!is_feature("ALCOHOL_CONSUMING") && !is_feature("age") && !is_feature(""));
    }

    #[test]
    fn values_are_typed_as_the_api_read_them() {
        assert_eq!(type_value("true"), "1");
        assert_eq!(type_value("false"), "0");
        assert_eq!(type_value("57.0"), "57");
        assert_eq!(type_value(r#""61""#), "61");
        assert_eq!(type_value("1"), "1");
        assert_eq!(type_value("57.5"), "57.5");
        assert_eq!(type_value(r#""M""#), r#""M""#);
        assert_eq!(type_value("null"), "null");
        assert_eq!(
            type_value(r#""un peu stress\u00e9e""#),
            r#""un peu stress\u00e9e""#
        );
    }
}
