//! Plugin configuration: the key/value pairs from the host's configuration.

/// Key/value configuration given to a plugin once, before any event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pairs: Vec<(String, String)>,
}

impl Config {
    /// Builds a configuration from pairs (the host's order is kept).
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The value of `key`, the last one if given several times.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Fails with a clear message if a key is not one of `known`, so that a typo
    /// in the operator's configuration is reported instead of ignored.
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), String> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            None => Ok(()),
            Some((k, _)) => Err(format!(
                "unknown configuration key `{k}` (known keys: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )),
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Config {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::new(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_value_wins_and_unknown_keys_are_named() {
        let config: Config = [("pattern", "a"), ("pattern", "b")].into_iter().collect();
        assert_eq!(config.get("pattern"), Some("b"));
        assert_eq!(config.get("other"), None);
        let err = config.reject_unknown(&["mode"]).unwrap_err();
        assert!(err.contains("`pattern`") && err.contains("mode"), "{err}");
        assert!(config.reject_unknown(&["pattern"]).is_ok());
    }
}
