//! The reference filter: decides which lines feed `ml-api-message` and `ml-api-perfs`.
//!
//! A line is kept when its message contains the configured pattern (default
//! `API Call - POST /predict`, which also matches `/predict_proba`), or contains
//! `performance_metrics`, or when an earlier parser found `http_method == "POST"`
//! and `http_path == "/predict"` (this catches the design's short format, `docs/source-api.md` §1.8).

use logpipe_plugin_sdk::{Config, Event, Filter, Info, export_filter};
use memchr::memmem::Finder;

/// The pattern of the original pipeline (`PIPELINE_FILTER_PATTERN`).
pub const DEFAULT_PATTERN: &str = "API Call - POST /predict";

/// The reference filter, configured.
///
/// Both searches run on every line: their searchers are built once, at
/// configuration, and use SIMD (also in WebAssembly, guests being built with
/// `simd128`), where `str::contains` would set up a search per call.
#[derive(Debug, Clone)]
pub struct PredictionFilter {
    pattern: Finder<'static>,
    performance: Finder<'static>,
}

impl Filter for PredictionFilter {
    fn info() -> Info {
        Info::new("filter", env!("CARGO_PKG_VERSION")).needs(&["http_method", "http_path"])
    }

    fn configure(config: &Config) -> Result<Self, String> {
        config.reject_unknown(&["pattern"])?;
        let pattern = config.get("pattern").unwrap_or(DEFAULT_PATTERN);
        if pattern.is_empty() {
            return Err("`pattern` must not be empty (it would keep every line)".into());
        }
        Ok(Self {
            pattern: Finder::new(pattern.as_bytes()).into_owned(),
            performance: Finder::new(b"performance_metrics").into_owned(),
        })
    }

    fn accept(&self, event: &Event<'_>) -> Result<bool, String> {
        // Cheapest test first; the result is the same in any order.
        Ok((event.field("http_path") == Some("/predict")
            && event.field("http_method") == Some("POST"))
            || self.performance.find(event.message.as_bytes()).is_some()
            || self.pattern.find(event.message.as_bytes()).is_some())
    }
}

export_filter!(PredictionFilter);

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(pairs: &[(&str, &str)]) -> PredictionFilter {
        PredictionFilter::configure(&pairs.iter().copied().collect()).unwrap()
    }

    fn fields(method: &str, path: &str) -> Vec<(String, String)> {
        vec![
            ("http_method".into(), method.into()),
            ("http_path".into(), path.into()),
        ]
    }

    #[test]
    fn keeps_prediction_calls_and_performance_lines() {
        let f = filter(&[]);
        let call = "[f2] API Call - POST /predict - Status: 200 - Time: 51.14ms";
        assert!(f.accept(&Event::new(call)).unwrap());
        let proba = "[f3] API Call - POST /predict_proba - Status: 200 - Time: 1.0ms";
        assert!(f.accept(&Event::new(proba)).unwrap());
        assert!(
            f.accept(&Event::new(r#"{"performance_metrics": {}}"#))
                .unwrap()
        );
        assert!(
            !f.accept(&Event::new("API Call - GET / - Status: 200 - Time: 0.49ms"))
                .unwrap()
        );
        assert!(
            !f.accept(&Event::new(
                "Health check effectué - Model: True, Redis: True"
            ))
            .unwrap()
        );
    }

    #[test]
    fn keeps_short_format_through_parsed_fields() {
        let f = filter(&[]);
        let short = "[abc-123] POST /predict - 200 - 45ms - {} - {}";
        let post = fields("POST", "/predict");
        assert!(f.accept(&Event::with_fields(short, &post)).unwrap());
        let get = fields("GET", "/predict");
        assert!(
            !f.accept(&Event::with_fields("[x] GET /predict - 405 - 1ms", &get))
                .unwrap()
        );
        assert!(
            !f.accept(&Event::new(short)).unwrap(),
            "without parsed fields"
        );
    }

    #[test]
    fn pattern_is_configurable_and_validated() {
        let f = filter(&[("pattern", "Erreur")]);
        assert!(
            f.accept(&Event::new("Erreur lors de la prédiction : x"))
                .unwrap()
        );
        assert!(
            !f.accept(&Event::new("API Call - POST /predict - Status: 200"))
                .unwrap()
        );
        let empty: Config = [("pattern", "")].into_iter().collect();
        assert!(PredictionFilter::configure(&empty).is_err());
        let typo: Config = [("patern", "x")].into_iter().collect();
        assert!(
            PredictionFilter::configure(&typo)
                .unwrap_err()
                .contains("patern")
        );
    }
}
