//! Building what a [`Config`] names: the plugin engine, the plan, the window
//! source, the sinks. Commands call these instead of reading specs themselves.

use super::build::build_plan;
use super::collect::Collector;
use super::plan::Plan;
use super::poll::WindowSource;
use super::{Execution, RunOptions};
use crate::config::{Config, EsAddress, SourceSpec, environment};
use crate::es::EsConfig;
use crate::ids::Checkpoint;
use crate::ids::checkpoint::CheckpointError;
use crate::plugin::compiler::{CompileLimits, Compiler};
use crate::plugin::{Limits, PluginEngine};
use crate::sink::{Sink, SinkContext, SinkError};
use crate::source::http::{Endpoint, PageFetcher};
use std::path::PathBuf;

/// Why what the configuration names could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A sink could not be opened.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The source's checkpoint exists but cannot be read: for the operator
    /// to look at (retrying would not help, starting over would duplicate).
    #[error(transparent)]
    Checkpoint(CheckpointError),
    /// The plugin engine could not be created.
    #[error("creating the plugin engine")]
    Engine(#[source] anyhow::Error),
}

impl OpenError {
    /// Whether what the user gave is wrong (a path, a checkpoint to look at),
    /// rather than something that failed while trying (a server down).
    pub fn is_bad_input(&self) -> bool {
        match self {
            OpenError::Sink(e) => e.is_bad_input(),
            OpenError::Checkpoint(CheckpointError::Corrupt { .. }) => true,
            OpenError::Checkpoint(_) | OpenError::Engine(_) => false,
        }
    }
}

/// The plugin engine of a command: components cached in the user's cache
/// directory, compiled in a child process of this binary bounded in time and
/// memory (in-process when the binary cannot be found).
pub fn engine(limits: Limits) -> Result<PluginEngine, OpenError> {
    engine_caching_in(
        limits,
        environment::cache_dir().map(|d| d.join("components")),
    )
}

/// [`engine`] with compiled components cached in `cache` (none: compiled at
/// every load).
pub fn engine_caching_in(
    limits: Limits,
    cache: Option<PathBuf>,
) -> Result<PluginEngine, OpenError> {
    let compiler = match std::env::current_exe() {
        Ok(exe) => Compiler::Child(exe),
        Err(e) => {
            tracing::warn!(error = %e, "cannot find the logpipe binary: compiling plugins in-process");
            Compiler::InProcess
        }
    };
    Ok(PluginEngine::new(limits, cache)
        .map_err(OpenError::Engine)?
        .with_compiler(compiler, CompileLimits::default()))
}

/// How the pipeline runs with this configuration.
pub fn run_options(config: &Config) -> RunOptions {
    RunOptions {
        workers: config.workers,
        batch_lines: config.batch_lines,
        timestamps: config.timestamps.clone(),
        execution: Execution::Wasm,
        // One core: reader, worker and sinks take turns on it anyway.
        one_thread: config.workers == 1 && crate::config::cores() == 1,
        log_problems: true,
    }
}

/// The plugin engine for the configured limits.
pub fn config_engine(config: &Config) -> Result<PluginEngine, OpenError> {
    engine(config.limits)
}

/// Loads the configured stages' plugins and builds the plan (prepared for
/// no sink yet: [`Plan::prepare_for`] once they are open).
pub fn plan(config: &Config, engine: &PluginEngine) -> anyhow::Result<Plan> {
    build_plan(
        engine,
        &config.stages(),
        config.plugins_dir.as_deref(),
        &config.line_index,
        config.filter_pattern.as_deref(),
    )
}

/// The page fetcher of a `gradio:` or `rest:` source (`HF_TOKEN` as its
/// bearer token); `None` for a file.
pub fn fetcher(config: &Config, spec: &SourceSpec) -> Option<PageFetcher> {
    let endpoint = match spec {
        SourceSpec::Gradio(url) => Endpoint::Gradio {
            base: url.trim_end_matches('/').to_string(),
            api: config.gradio_api.clone(),
        },
        SourceSpec::Rest(url) => Endpoint::Rest { url: url.clone() },
        SourceSpec::File(_) => return None,
    };
    Some(PageFetcher::new(endpoint, config.env.hf_token.clone()))
}

/// The window source of a `gradio:` or `rest:` source, resuming from its
/// checkpoint; `None` for a file.
pub fn window_source(config: &Config, spec: &SourceSpec) -> anyhow::Result<Option<WindowSource>> {
    let Some(fetcher) = fetcher(config, spec) else {
        return Ok(None);
    };
    let collector = Collector::new(fetcher);
    // Named after the spec as written: the same source finds its checkpoint.
    let checkpoint = Checkpoint::new(&config.state_dir, &spec.to_string());
    let source = WindowSource::open(collector, checkpoint).map_err(|e| {
        match e.downcast::<CheckpointError>() {
            Ok(c) => OpenError::Checkpoint(c).into(),
            Err(other) => other,
        }
    })?;
    Ok(Some(source))
}

/// What opening a sink needs besides its spec, for the plan's indices.
pub fn sink_context(config: &Config, plan: &Plan) -> SinkContext {
    SinkContext {
        state_dir: config.state_dir.clone(),
        indices: plan.indices().iter().map(|i| i.to_string()).collect(),
        line_index: plan.line_index.to_string(),
        retention: config.retention,
        es: config.env.elasticsearch.clone(),
        import: false,
    }
}

/// Opens the configured sinks (installing Elasticsearch mappings for the
/// plan's indices); `import` for `once` ([`SinkContext::import`]).
pub async fn sinks(config: &Config, plan: &Plan, import: bool) -> Result<Vec<Sink>, OpenError> {
    let context = SinkContext {
        import,
        ..sink_context(config, plan)
    };
    let mut sinks = Vec::with_capacity(config.sinks.len());
    for spec in &config.sinks {
        sinks.push(Sink::open(spec, &context).await?);
    }
    Ok(sinks)
}

/// The Elasticsearch client settings for `address` (credentials from the
/// environment, dead letters in the state directory).
pub fn es_config(config: &Config, address: &EsAddress) -> EsConfig {
    EsConfig::new(address, &config.env.elasticsearch, &config.state_dir)
}
