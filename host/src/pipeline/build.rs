//! Building a [`Plan`] from configured stages.

use super::plan::{Plan, Stage};
use crate::config::RawStage;
use crate::plugin::{PluginEngine, catalog};
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;

/// Loads every stage's plugin and resolves its outputs.
pub fn build_plan(
    engine: &PluginEngine,
    stages: &[RawStage],
    plugins_dir: Option<&Path>,
    line_index: &str,
    filter_pattern: Option<&str>,
) -> anyhow::Result<Plan> {
    let mut resolved = Vec::with_capacity(stages.len());
    for (i, raw) in stages.iter().enumerate() {
        let plugin = catalog::load_checked(engine, &raw.plugin, plugins_dir)
            .with_context(|| format!("stage {}", i + 1))?;
        let mut config: Vec<(String, String)> = raw
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if raw.plugin == "filter"
            && !raw.config.contains_key("pattern")
            && let Some(p) = filter_pattern
        {
            config.push(("pattern".into(), p.into()));
        }
        resolved.push(Stage::new(i + 1, plugin, config, &raw.outputs)?);
    }
    Ok(Plan {
        stages: resolved,
        line_index: Arc::from(line_index),
        predictions: None,
        for_store: false,
        store_only: false,
    })
}

/// For tests: the plan of the default stages (the reference plugins, built
/// in), on an engine of default limits.
#[cfg(test)]
pub(crate) fn default_plan() -> Plan {
    let engine = PluginEngine::new(crate::plugin::Limits::default(), None).unwrap();
    build_plan(
        &engine,
        &crate::config::default_stages(),
        None,
        "ml-api-logs",
        None,
    )
    .unwrap()
}

/// For tests: the fixture's sample of real log lines.
#[cfg(test)]
pub(crate) const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/api-logs.sample.log"
);
