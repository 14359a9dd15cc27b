//! A generator of realistic log lines in the source API's real formats
//! (`docs/source-api.md` §1.4-1.7): start-up block, predictions with their performance
//! lines, `/predict_proba`, health checks (often identical within a second), GET
//! calls, 4xx and 5xx calls. Deterministic for a given seed.

use fastrand::Rng;

/// Knobs of the generated traffic.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// Random seed: the same seed gives the same lines.
    pub seed: u64,
    /// Share of events that are prediction calls (0..1).
    pub prediction_share: f64,
    /// Whether performance lines are written (`ENABLE_PERFORMANCE_MONITORING`).
    pub performance_monitoring: bool,
    /// Share of prediction calls that fail (422, 400 or 500).
    pub error_rate: f64,
    /// Time of the first line (Unix seconds). `None`: the lines logged at
    /// start end about now, and lines logged while growing carry the clock's
    /// time, as a live API's do.
    pub start: Option<i64>,
    /// Data drift to simulate (none by default).
    pub drift: Drift,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            seed: 20251121,
            prediction_share: 0.4,
            performance_monitoring: true,
            error_rate: 0.05,
            start: None,
            drift: Drift::default(),
        }
    }
}

/// Drift of the model's inputs and outputs, as the original simulator had:
/// after `after` predictions, each target is approached linearly over `over`
/// predictions, then held. Without drift, AGE is uniform over 20-90 (mean
/// 55), half the patients smoke and half the predictions are positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    /// The mean AGE drifts toward.
    pub age_mean: Option<f64>,
    /// The share of smokers drifts toward.
    pub smokers: Option<f64>,
    /// The share of positive predictions drifts toward.
    pub positive_rate: Option<f64>,
    /// Predictions before the drift starts.
    pub after: u64,
    /// Predictions over which it reaches its targets.
    pub over: u64,
}

impl Default for Drift {
    fn default() -> Self {
        Self {
            age_mean: None,
            smokers: None,
            positive_rate: None,
            after: 0,
            over: 1000,
        }
    }
}

impl Drift {
    /// How far the drift has gone after `predictions` predictions, 0 to 1.
    fn progress(&self, predictions: u64) -> f64 {
        if predictions < self.after {
            0.0
        } else {
            ((predictions - self.after) as f64 / self.over.max(1) as f64).min(1.0)
        }
    }
}

const FEATURES: [&str; 15] = [
    "AGE",
    "GENDER",
    "SMOKING",
    "ALCOHOL CONSUMING",
    "PEER_PRESSURE",
    "YELLOW_FINGERS",
    "ANXIETY",
    "FATIGUE",
    "ALLERGY",
    "WHEEZING",
    "COUGHING",
    "SHORTNESS OF BREATH",
    "SWALLOWING DIFFICULTY",
    "CHEST PAIN",
    "CHRONIC DISEASE",
];

const TOP: [(&str, &str, u32); 6] = [
    ("predict_proba", "sklearn.py", 1615),
    ("predict", "sklearn.py", 1093),
    ("engineer_features", "feature_engineering.py", 21),
    ("_add_derived_features", "feature_engineering.py", 71),
    ("predict_proba", "model_pool.py", 54),
    ("<built-in method builtins.isinstance>", "~", 0),
];

/// Generates lines one event at a time.
pub struct Generator {
    rng: Rng,
    knobs: Knobs,
    /// Seconds since the Unix epoch of the current line.
    now: i64,
    started: bool,
    /// Whether events take the clock's time rather than stepping from the last.
    real_time: bool,
    /// Prediction calls so far (drift follows them).
    predictions: u64,
}

impl Generator {
    /// A generator starting at `start` (Unix seconds).
    pub fn new(knobs: Knobs, start: i64) -> Self {
        Self {
            rng: Rng::with_seed(knobs.seed),
            knobs,
            now: start,
            started: false,
            real_time: false,
            predictions: 0,
        }
    }

    /// From now on, events carry the clock's time (never going back).
    pub fn follow_clock(&mut self) {
        self.real_time = true;
    }

    fn stamp(&self) -> String {
        let ts = jiff::Timestamp::from_second(self.now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        ts.strftime("%Y-%m-%d %H:%M:%S").to_string()
    }

    fn line(&self, level: &str, message: &str) -> String {
        format!("{} - api - {level} - {message}", self.stamp())
    }

    /// The lines of the next event (one to three lines), in the order the API writes them.
    pub fn next_event(&mut self) -> Vec<String> {
        if !self.started {
            self.started = true;
            return self.startup();
        }
        // The step is drawn either way, so the same seed gives the same events.
        let step = i64::from(self.rng.u32(0..4));
        self.now = if self.real_time {
            self.now.max(jiff::Timestamp::now().as_second())
        } else {
            self.now + step
        };
        let k = self.rng.f64();
        if k < self.knobs.prediction_share {
            self.prediction()
        } else if k < self.knobs.prediction_share + 0.35 {
            let burst = if self.rng.f64() < 0.1 {
                self.rng.usize(2..5)
            } else {
                1
            };
            (0..burst)
                .map(|_| self.line("INFO", "Health check effectué - Model: True, Redis: True"))
                .collect()
        } else {
            let path = [
                "/",
                "/docs",
                "/openapi.json",
                "/models/types",
                "/pool/stats",
                "/favicon.ico",
            ][self.rng.usize(0..6)];
            let status = if path == "/favicon.ico" { 404 } else { 200 };
            let t = self.ms(0.1, 2.0);
            vec![self.line(
                "INFO",
                &format!("API Call - GET {path} - Status: {status} - Time: {t}ms"),
            )]
        }
    }

    fn ms(&mut self, lo: f64, hi: f64) -> f64 {
        ((lo + self.rng.f64() * (hi - lo)) * 100.0).round() / 100.0
    }

    fn startup(&mut self) -> Vec<String> {
        let monitoring = if self.knobs.performance_monitoring {
            "⚡ Performance monitoring: ACTIVÉ (métriques: CPU, RAM, latence, throughput)"
        } else {
            "Performance monitoring: désactivé"
        };
        [
            ("INFO", "Logging configuré: redis (localhost:6379)"),
            ("INFO", "Démarrage de l'API..."),
            ("INFO", "Initialisation du pool scikit-learn (taille: 4)..."),
            ("INFO", "✅ Pool scikit-learn de 4 modèles initialisé"),
            ("INFO", "Initialisation du pool ONNX (taille: 4)..."),
            ("WARNING", "Modèle ONNX non trouvé: ./model/model.onnx"),
            (
                "WARNING",
                "Le pool ONNX ne sera pas disponible. Utilisez 'make convert-onnx' pour créer le modèle.",
            ),
            ("INFO", "Type de modèle par défaut: scikit-learn"),
            ("INFO", monitoring),
            ("INFO", "Types de modèles disponibles: ['sklearn']"),
        ]
        .iter()
        .map(|(level, msg)| self.line(level, msg))
        .collect()
    }

    fn uuid(&mut self) -> String {
        let a = self.rng.u128(..);
        let hex = format!("{a:032x}");
        format!(
            "{}-{}-4{}-{}{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            ["8", "9", "a", "b"][self.rng.usize(0..4)],
            &hex[17..20],
            &hex[20..32]
        )
    }

    fn input(&mut self, bad_smoking: bool) -> String {
        let drift = self.knobs.drift;
        let t = drift.progress(self.predictions);
        let mut out = String::from("{");
        for (i, f) in FEATURES.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let v = match *f {
                "AGE" => {
                    let age = self.rng.u32(20..91);
                    match drift.age_mean {
                        // The uniform ages shifted toward the target mean.
                        Some(mean) => (f64::from(age) + t * (mean - 55.0))
                            .round()
                            .clamp(20.0, 90.0) as u32,
                        None => age,
                    }
                }
                "SMOKING" if bad_smoking => 2,
                // Without drift, the same draws as before drift existed.
                "SMOKING" => match drift.smokers {
                    Some(s) => u32::from(self.rng.f64() < 0.5 + t * (s - 0.5)),
                    None => self.rng.u32(0..2),
                },
                _ => self.rng.u32(0..2),
            };
            out.push_str(&format!("\"{f}\": {v}"));
        }
        out.push('}');
        out
    }

    fn prediction(&mut self) -> Vec<String> {
        let tx = self.uuid();
        let proba = self.rng.f64() < 0.15;
        let path = if proba { "/predict_proba" } else { "/predict" };
        let failing = self.rng.f64() < self.knobs.error_rate;
        if failing {
            return match self.rng.usize(0..3) {
                0 => {
                    let input = self.input(true);
                    let t = self.ms(0.4, 1.0);
                    vec![self.line("INFO", &format!(
                        "[{tx}] API Call - POST {path} - Status: 422 - Time: {t}ms - Input: {input} - Result: {{\"detail\": [{{\"type\": \"less_than_equal\", \"loc\": [\"body\", \"SMOKING\"], \"msg\": \"Input should be less than or equal to 1\", \"input\": 2, \"ctx\": {{\"le\": 1}}}}]}}"
                    ))]
                }
                1 => {
                    let input = self.input(false);
                    let t = self.ms(0.4, 1.0);
                    vec![self.line("INFO", &format!(
                        "[{tx}] API Call - POST {path} - Status: 400 - Time: {t}ms - Input: {input} - Result: {{\"detail\": \"Type de mod\\u00e8le invalide: xgboost. Types disponibles: ['sklearn']\"}}"
                    ))]
                }
                _ => {
                    let input = self.input(false);
                    let age = self.rng.u32(20..91);
                    let t = self.ms(0.8, 1.5);
                    vec![
                        self.line("ERROR", &format!("Erreur lors de la prédiction : Pool onnx non disponible (patient age={age})")),
                        self.line("INFO", &format!(
                            "[{tx}] API Call - POST {path} - Status: 500 - Time: {t}ms - Input: {input} - Result: {{\"detail\": \"Erreur lors de la pr\\u00e9diction : Pool onnx non disponible\"}}"
                        )),
                    ]
                }
            };
        }
        let input = self.input(false);
        let drift = self.knobs.drift;
        let p = match drift.positive_rate {
            // Positive (p >= 0.5) at the drifting rate.
            Some(rate) => {
                let rate = 0.5 + drift.progress(self.predictions) * (rate - 0.5);
                let half = self.rng.f64() * 0.5;
                if self.rng.f64() < rate {
                    0.5 + half
                } else {
                    half
                }
            }
            None => self.rng.f64(),
        };
        self.predictions += 1;
        let prediction = u8::from(p >= 0.5);
        let message = if prediction == 1 {
            "Pr\\u00e9diction positive"
        } else {
            "Pr\\u00e9diction n\\u00e9gative"
        };
        let result = if proba {
            format!(
                "{{\"prediction\": {prediction}, \"probabilities\": [{:?}, {p:?}], \"message\": \"{message}\"}}",
                1.0 - p
            )
        } else {
            format!(
                "{{\"prediction\": {prediction}, \"probability\": {p:?}, \"message\": \"{message}\"}}"
            )
        };
        let inference = self.ms(20.0, 60.0);
        let mut lines = Vec::with_capacity(2);
        if self.knobs.performance_monitoring {
            let mut top = String::new();
            for (i, (f, file, line)) in TOP.iter().take(5).enumerate() {
                if i > 0 {
                    top.push_str(", ");
                }
                top.push_str(&format!(
                    "{{\"function\": \"{f}\", \"file\": \"{file}\", \"line\": {line}, \"cumulative_time_ms\": {:?}, \"total_time_ms\": {:?}, \"calls\": {}}}",
                    self.ms(0.5, 15.0),
                    self.ms(0.01, 2.0),
                    self.rng.u32(1..40)
                ));
            }
            let memory = self.ms(190.0, 240.0);
            let calls = self.rng.u32(30500..30800);
            lines.push(self.line("INFO", &format!(
                "{{\"performance_metrics\": {{\"inference_time_ms\": {inference:?}, \"cpu_time_ms\": {:?}, \"memory_mb\": {:?}, \"memory_delta_mb\": 0.0, \"function_calls\": {}, \"latency_ms\": {inference:?}, \"top_functions\": [{top}], \"transaction_id\": \"{tx}\"}}}}",
                (inference * 0.98 * 100.0).round() / 100.0,
                memory,
                calls
            )));
        }
        let elapsed = ((inference + self.ms(5.0, 25.0)) * 100.0).round() / 100.0;
        lines.push(self.line("INFO", &format!(
            "[{tx}] API Call - POST {path} - Status: 200 - Time: {elapsed:?}ms - Input: {input} - Result: {result}"
        )));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Record;

    #[test]
    fn deterministic_and_in_the_real_formats() {
        let take = |seed| {
            let mut g = Generator::new(
                Knobs {
                    seed,
                    ..Knobs::default()
                },
                1_763_716_323,
            );
            (0..300).flat_map(|_| g.next_event()).collect::<Vec<_>>()
        };
        let a = take(7);
        assert_eq!(a, take(7));
        assert_ne!(a, take(8));
        assert!(a.iter().all(|l| Record::from_line(l.clone()).has_header()));
        assert!(a[0].ends_with("Logging configuré: redis (localhost:6379)"));
        assert!(a.iter().any(|l| l.contains("\"performance_metrics\"")));
        assert!(
            a.iter()
                .any(|l| l.contains("API Call - POST /predict - Status: 200"))
        );
    }
}
