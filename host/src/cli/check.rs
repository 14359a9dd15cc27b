//! `logpipe check`: verifies the source, the sinks, the plugins and the mappings.

use super::common::PipelineArgs;
use crate::pipeline::Plan;
use crate::sink::Sink;
use crate::source::FileSource;
use clap::Args;
use std::process::ExitCode;

/// Checks everything a run needs and says precisely what is wrong and how to fix
/// it: the configuration, every plugin (loads, matches the contract, accepts its
/// configuration), the source (answers one page), each sink (reachable; for
/// Elasticsearch, mappings installed or compatible). With `--sample FILE`, also
/// runs the lines of FILE through the stages (writing nothing) and warns about
/// every channel mapped to an index that received no document. Exit status 1 if
/// any check fails (warnings do not count), 2 for a bad configuration.
#[derive(Debug, Args)]
pub struct CheckCommand {
    /// A file of log lines (or a window JSON file) to run through the stages,
    /// writing nothing: says how many documents each stage's channels got, and
    /// warns about those that got none (a filter before them, or a channel the
    /// plugin never emits on for such lines).
    #[arg(long, value_name = "FILE")]
    sample: Option<std::path::PathBuf>,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// Runs `sample` through `plan` into a null sink and reports, per stage and
/// channel mapped to an index, how many documents the index got.
fn check_sample(
    plan: &Plan,
    sample: &std::path::Path,
    settings: &crate::config::Config,
    runtime: &tokio::runtime::Handle,
) {
    let source = match FileSource::open(sample) {
        Ok(s) => s,
        Err(e) => {
            println!(
                "FAIL  sample {}: {}",
                sample.display(),
                crate::chain::chain(&e)
            );
            return;
        }
    };
    let options = crate::pipeline::run::RunOptions {
        log_problems: false,
        ..crate::pipeline::open::run_options(settings)
    };
    let summary = match crate::pipeline::run::run_file(
        source,
        plan,
        &mut [Sink::Null(Default::default())],
        runtime,
        &options,
        &mut |_, _| {},
    ) {
        Ok(s) => s,
        Err(e) => {
            println!("FAIL  sample {}: {e:#}", sample.display());
            return;
        }
    };
    println!(
        "ok    sample {}: {} lines, {} kept by the filters",
        sample.display(),
        summary.lines,
        summary.accepted
    );
    for stage in &plan.stages {
        let info = stage.plugin.info();
        for (channel, route) in info.channels.iter().zip(&stage.routes) {
            let crate::pipeline::Route::Index(index) = route else {
                continue;
            };
            let n = summary.written.stored.get(&**index).copied().unwrap_or(0);
            if n > 0 {
                println!(
                    "ok    stage {} channel {channel} -> {index}: {n} documents on the sample",
                    info.name
                );
            } else {
                println!(
                    "WARN  stage {} channel {channel} -> {index}: no document on the sample's {} lines \
                     ({} kept by the filters; a stage after a filter sees only the lines it keeps, \
                     and index documents are written only for kept lines: see `filter_pattern`)",
                    info.name, summary.lines, summary.accepted
                );
            }
        }
    }
}

fn report(ok: &mut bool, what: &str, result: Result<String, String>) {
    use crate::redact::mask_url_password as mask;
    match result {
        Ok(detail) => println!("ok    {}: {}", mask(what), mask(&detail)),
        Err(why) => {
            *ok = false;
            println!("FAIL  {}: {}", mask(what), mask(&why));
        }
    }
}

/// Reaches Elasticsearch and compares the mappings, changing nothing.
async fn check_es(
    address: &crate::config::EsAddress,
    context: &crate::sink::SinkContext,
) -> Result<String, crate::sink::SinkError> {
    use crate::es::{EsConfig, EsError};
    use crate::sink::elasticsearch::service::EsService;
    let err = |e: EsError| crate::sink::SinkError {
        sink: format!("es:{address}"),
        failure: crate::sink::SinkFailure::Elasticsearch(e),
    };
    let config = EsConfig::new(address, &context.es, &context.state_dir);
    let service = EsService::new(config).map_err(err)?;
    let missing = service
        .verify_mappings(&context.indices, &context.line_index)
        .await
        .map_err(err)?;
    Ok(if missing.is_empty() {
        "reachable; every index exists with a compatible mapping".into()
    } else {
        format!(
            "reachable; mappings compatible; {} will be created at start",
            missing.join(", ")
        )
    })
}

impl CheckCommand {
    /// Runs the checks.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let mut ok = true;
        // Window sources and sinks are reached on it.
        let runtime = super::runtime()?;
        let settings = match self.pipeline.resolve() {
            Ok(s) => {
                report(&mut ok, "configuration", Ok("valid".into()));
                s
            }
            Err(e) => {
                report(&mut ok, "configuration", Err(crate::chain::chain(&e)));
                // The same status as any command given this configuration.
                return Ok(super::exit::code_for(&e.into()));
            }
        };
        let plan: Option<Plan> = match crate::pipeline::open::config_engine(&settings)
            .map_err(anyhow::Error::new)
            .and_then(|e| crate::pipeline::open::plan(&settings, &e))
        {
            Ok(plan) => {
                for (n, stage) in plan.stages.iter().enumerate() {
                    let i = stage.plugin.info();
                    let reach = plan.reach(n);
                    let configured = crate::plugin::PluginRunner::new(
                        stage.plugin.clone(),
                        stage.config.clone(),
                    );
                    report(
                        &mut ok,
                        &format!("plugin {}", i.name),
                        configured
                            .map(|_| {
                                format!(
                                    "{} {} ({}), from {}{reach}",
                                    i.kind,
                                    i.version,
                                    &i.sha256[..12],
                                    i.origin
                                )
                            })
                            .map_err(|e| format!("{e} (fix the stage's `config` or the plugin)")),
                    );
                }
                Some(plan)
            }
            Err(e) => {
                report(&mut ok, "plugins", Err(format!("{e:#}")));
                None
            }
        };
        match &settings.source {
            None => report(
                &mut ok,
                "source",
                Err("none: give --source, GRADIO_URL or `source`".into()),
            ),
            Some(spec) => {
                let result = match (spec, crate::pipeline::open::fetcher(&settings, spec)) {
                    (crate::config::SourceSpec::File(path), _) => FileSource::open(path)
                        .map(|_| "readable".to_string())
                        .map_err(|e| crate::chain::chain(&e)),
                    (_, fetcher) => runtime
                        .block_on(fetcher.expect("a window source has a fetcher").page(0, 1))
                        .map(|w| format!("answers; the window holds {} records", w.total))
                        .map_err(|e| e.to_string()),
                };
                report(&mut ok, &format!("source {spec}"), result);
            }
        }
        if let (Some(plan), Some(sample)) = (&plan, &self.sample) {
            check_sample(plan, sample, &settings, runtime.handle());
        }
        if let Some(plan) = &plan {
            let context = crate::sink::SinkContext {
                // A check deletes nothing: the store's retention runs with `run`.
                retention: crate::store::Retention::keep_all(),
                ..crate::pipeline::open::sink_context(&settings, plan)
            };
            for spec in &settings.sinks {
                let result = match spec {
                    // Elasticsearch is only read: a check creates no index.
                    crate::config::SinkSpec::Es(address) => {
                        runtime.block_on(check_es(address, &context))
                    }
                    _ => runtime
                        .block_on(Sink::open(spec, &context))
                        .map(|_| "writable".to_string()),
                };
                let explain = |e: crate::sink::SinkError| {
                    let why = e.failure.to_string();
                    if e.is_unreachable() {
                        format!("{why} (is the server running and reachable at that URL?)")
                    } else {
                        why
                    }
                };
                report(&mut ok, &format!("sink {spec}"), result.map_err(explain));
            }
        }
        Ok(ExitCode::from(if ok {
            super::exit::OK
        } else {
            super::exit::FAILURE
        }))
    }
}
