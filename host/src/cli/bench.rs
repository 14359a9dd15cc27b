//! `logpipe bench`: measures the plugins through the sandbox against the same
//! logic compiled natively, and the whole pipeline, on a corpus file.

use super::common::PluginArgs;
use super::exit::ExitError;
use crate::config::cores;
use crate::pipeline::{Execution, Plan, RunOptions, run_file};
use crate::plugin::{EventBatch, Kind, PluginRunner};
use crate::sink::Sink;
use crate::source::{FileSource, Record};
use crate::store::schema::MESSAGE_INDEX;
use anyhow::Context;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Benchmarks plugins (component against native, batch sizes 1, 128, 1024) and
/// the whole pipeline (one thread, one worker, all cores; to a null sink) on a corpus of
/// log lines: a file (`--corpus`, e.g. from `bench/gen_real_corpus.py OUT N`, the
/// corpus the peers were measured on) or lines written by the simulator's
/// generator with a fixed seed (`--generate N`, the default with 1,000,000).
#[derive(Debug, Args)]
pub struct BenchCommand {
    /// The corpus: a file of log lines.
    #[arg(long, conflicts_with = "generate")]
    corpus: Option<PathBuf>,
    /// Generate this many lines with the simulator's generator (seed 20251121) into
    /// a temporary file and use them as the corpus.
    #[arg(long, value_name = "LINES")]
    generate: Option<usize>,
    /// Keep the generated corpus in this file (to run it again, or through other
    /// tools); the benchmark then runs on it.
    #[arg(long, value_name = "PATH", conflicts_with = "corpus")]
    save_corpus: Option<PathBuf>,
    /// Lines of the corpus used for the per-plugin figures.
    #[arg(long, default_value_t = 50_000)]
    plugin_lines: usize,
    /// Skip the per-plugin figures.
    #[arg(long)]
    no_plugins: bool,
    /// Skip the whole-pipeline figures.
    #[arg(long)]
    no_pipeline: bool,
    /// Also measure indexing into this Elasticsearch (e.g. http://127.0.0.1:9200)
    /// against a minimal raw bulk loader posting the same documents.
    #[arg(long, value_name = "URL")]
    es: Option<String>,
    /// Corpus lines whose documents are indexed for the Elasticsearch figures.
    #[arg(long, default_value_t = 20_000)]
    es_lines: usize,
    /// Also measure the pipeline with continuous drift against this reference
    /// (FILE.parquet): a drift monitor beside the null sink, as `run` has with
    /// `[drift]`'s defaults (the last 24 hours, verdicts every minute), and
    /// the monitor's own work apart, in the steady state of that window and of
    /// a window of 100,000 predictions.
    #[arg(long, value_name = "FILE")]
    drift_reference: Option<PathBuf>,
    /// State directory (default dead-letter file of the Elasticsearch figures)
    /// [env: LOGPIPE_STATE_DIR].
    #[arg(long)]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    pipeline: PluginArgs,
}

impl BenchCommand {
    /// Runs the benchmark and prints its figures.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let settings = self.pipeline.resolve(self.state_dir.clone())?;
        let engine = crate::pipeline::open::config_engine(&settings)?;
        // The bench writes to sinks of its own (null, dir, es), not to the
        // configured ones: nothing is prepared for the embedded store.
        let plan = crate::pipeline::open::plan(&settings, &engine)?;
        let scratch = tempfile::tempdir()?;
        let corpus = match &self.corpus {
            Some(path) => path.clone(),
            None => {
                let lines = self.generate.unwrap_or(1_000_000);
                let path = match &self.save_corpus {
                    Some(path) => path.clone(),
                    None => scratch.path().join(format!("generated-{lines}.log")),
                };
                generate(&path, lines)?;
                path
            }
        };
        let drift = match &self.drift_reference {
            Some(path) => Some(Arc::new(
                crate::drift::parquet::read(path)
                    .map_err(|e| ExitError::bad_input(crate::chain::chain(&e)))?,
            )),
            None => None,
        };
        println!("machine: {} cores; corpus: {}", cores(), corpus.display());
        // Sinks write on it (and the Elasticsearch figures' raw loader).
        let runtime = super::runtime()?;
        // The pipeline first: its peak memory is then not the allocator still
        // holding what the per-plugin figures used.
        let mut pipeline_cpu = None;
        if !self.no_pipeline {
            pipeline_cpu = pipeline_figures(
                &plan,
                &corpus,
                &crate::pipeline::open::run_options(&settings),
                drift.as_ref(),
                runtime.handle(),
            )?;
        }
        if let Some(reference) = &drift {
            drift_cost(
                &plan,
                &corpus,
                &crate::pipeline::open::run_options(&settings),
                reference,
                pipeline_cpu,
                runtime.handle(),
            )?;
        }
        if !self.no_plugins {
            plugin_figures(&plan, &corpus, self.plugin_lines)?;
            load_figures(&plan, settings.limits)?;
        }
        if let Some(url) = &self.es {
            es_figures(&plan, &corpus, url, self.es_lines, &settings, &runtime)?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Writes `lines` lines of the simulator's traffic (default knobs, fixed seed).
fn generate(path: &Path, lines: usize) -> anyhow::Result<()> {
    use std::io::Write;
    let file = std::fs::File::create(path)
        .with_context(|| format!("creating the corpus file {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut generator =
        crate::simulate::Generator::new(crate::simulate::Knobs::default(), 1_763_716_323);
    let mut written = 0;
    while written < lines {
        for line in generator.next_event() {
            writeln!(out, "{line}")?;
            written += 1;
        }
    }
    out.flush()?;
    Ok(())
}

/// The native build of a reference plugin, configured, for the ratio; none
/// for other plugins, and in builds without the `native-bench` feature.
fn native_runner(
    name: &str,
    config: &[(String, String)],
) -> anyhow::Result<Option<Box<dyn crate::plugin::StageRunner>>> {
    #[cfg(feature = "native-bench")]
    {
        Ok(crate::plugin::native::native(name, config)
            .transpose()
            .map_err(anyhow::Error::msg)?
            .map(|n| Box::new(n) as Box<dyn crate::plugin::StageRunner>))
    }
    #[cfg(not(feature = "native-bench"))]
    {
        let _ = (name, config);
        Ok(None)
    }
}

fn read_corpus(path: &Path, max: usize) -> anyhow::Result<Vec<Record>> {
    let mut source =
        FileSource::open(path).map_err(|e| ExitError::bad_input(crate::chain::chain(&e)))?;
    Ok(source.next_batch(max)?)
}

fn plugin_figures(plan: &Plan, corpus: &Path, lines: usize) -> anyhow::Result<()> {
    let records = read_corpus(corpus, lines)?;
    let n = records.len();
    // The filter needs the message parser's http fields: computed once,
    // untimed, by the plan's message parser (none without one).
    let mut fields: Vec<Vec<(String, String)>> = vec![Vec::new(); n];
    let parsed = match plan
        .stages
        .iter()
        .find(|s| s.plugin.info().name == "message")
    {
        Some(stage) => PluginRunner::new(stage.plugin.clone(), stage.config.clone())?.parse(
            &EventBatch::of_messages(records.iter().map(|r| r.message())),
        ),
        None => Default::default(),
    };
    for d in parsed.documents.iter().filter(|d| d.channel == 0) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(parsed.json(d)) {
            for key in ["http_method", "http_path"] {
                if let Some(s) = v[key].as_str() {
                    fields[d.event as usize].push((key.to_string(), s.to_string()));
                }
            }
        }
    }
    println!(
        "\nplugins, {n} lines, one core, ns per line, best of {RUNS} runs \
         (component / native = ratio)"
    );
    println!(
        "{:<10} {:>6} {:>12} {:>12} {:>7}",
        "plugin", "batch", "component", "native", "ratio"
    );
    let mut totals = [(0.0, 0.0); 3];
    for stage in &plan.stages {
        let info = stage.plugin.info();
        for (b, batch) in [1usize, 128, 1024].into_iter().enumerate() {
            let mut runner = PluginRunner::new(stage.plugin.clone(), stage.config.clone())?;
            // A plugin without a native build (any but the reference ones, e.g.
            // a Python one) gets its component figure alone.
            let nat = native_runner(&info.name, &stage.config)?;
            // Both paths get the same packed batches, built untimed.
            let batches: Vec<EventBatch> = (0..n)
                .step_by(batch)
                .map(|first| {
                    let mut events = EventBatch::new(info.needs.len());
                    for i in first..n.min(first + batch) {
                        events.push(
                            records[i].message(),
                            info.needs.iter().map(|name| {
                                fields[i]
                                    .iter()
                                    .find(|(k, _)| k == name)
                                    .map(|(_, v)| v.as_str())
                            }),
                        );
                    }
                    events
                })
                .collect();
            let wasm = best_of(RUNS, n, || {
                for events in &batches {
                    match info.kind {
                        Kind::Parser => drop(std::hint::black_box(runner.parse(events))),
                        Kind::Filter => drop(std::hint::black_box(runner.accept(events))),
                    }
                }
            });
            let Some(mut nat) = nat else {
                println!(
                    "{:<10} {:>6} {:>12.0} {:>12} {:>7}",
                    info.name, batch, wasm, "-", "-"
                );
                continue;
            };
            let natv = best_of(RUNS, n, || {
                for events in &batches {
                    match info.kind {
                        Kind::Parser => drop(std::hint::black_box(nat.parse(events))),
                        Kind::Filter => drop(std::hint::black_box(nat.accept(events))),
                    }
                }
            });
            totals[b].0 += wasm;
            totals[b].1 += natv;
            println!(
                "{:<10} {:>6} {:>12.0} {:>12.0} {:>7.2}",
                info.name,
                batch,
                wasm,
                natv,
                wasm / natv
            );
        }
    }
    for (b, batch) in [1usize, 128, 1024].into_iter().enumerate() {
        let (w, nv) = totals[b];
        if nv == 0.0 {
            // No native build (a build without `native-bench`): no ratio.
            continue;
        }
        println!(
            "{:<10} {:>6} {:>12.0} {:>12.0} {:>7.2}",
            "all native",
            batch,
            w,
            nv,
            w / nv
        );
    }
    Ok(())
}

/// What loading each plugin of `plan` costs: compiling it (no cache), loading
/// it compiled from the cache (what a restart pays), and the linear memory of
/// a configured instance (what the memory cap counts, per worker).
fn load_figures(plan: &Plan, limits: crate::plugin::Limits) -> anyhow::Result<()> {
    println!("\nloading, per plugin (compiled in a child process, as `run` does)");
    println!(
        "{:<12} {:>10} {:>14} {:>14} {:>16}",
        "plugin", "size MiB", "compile s", "cached load s", "instance MiB"
    );
    let cache = tempfile::tempdir()?;
    for stage in &plan.stages {
        let info = stage.plugin.info();
        let bytes = match std::fs::read(&info.origin) {
            Ok(bytes) => bytes,
            Err(_) => crate::plugin::embedded::embedded(&info.name)
                .with_context(|| format!("where `{}` came from", info.name))?
                .bytes
                .to_vec(),
        };
        let cold =
            crate::pipeline::open::engine_caching_in(limits, Some(cache.path().to_path_buf()))?;
        let started = Instant::now();
        crate::plugin::LoadedPlugin::load_bytes(&cold, &bytes, &info.origin)?;
        let compile = started.elapsed();
        // A fresh engine over the same cache, as after a restart.
        let warm =
            crate::pipeline::open::engine_caching_in(limits, Some(cache.path().to_path_buf()))?;
        let started = Instant::now();
        let plugin = crate::plugin::LoadedPlugin::load_bytes(&warm, &bytes, &info.origin)?;
        let cached = started.elapsed();
        let runner = PluginRunner::new(plugin, stage.config.clone())?;
        println!(
            "{:<12} {:>10.1} {:>14.2} {:>14.3} {:>16.1}",
            info.name,
            bytes.len() as f64 / (1u64 << 20) as f64,
            compile.as_secs_f64(),
            cached.as_secs_f64(),
            runner.memory_bytes() as f64 / (1u64 << 20) as f64
        );
    }
    Ok(())
}

/// Runs of each per-plugin measurement; the best is reported, the others having
/// been slowed by something else on the machine.
const RUNS: usize = 3;

/// The best time of `runs` runs of `work`, in nanoseconds per line of `lines`.
fn best_of(runs: usize, lines: usize, mut work: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed().as_nanos() as f64 / lines as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Returns the one-thread pipeline's CPU time per line (µs).
fn pipeline_figures(
    plan: &Plan,
    corpus: &Path,
    base: &RunOptions,
    drift: Option<&Arc<crate::drift::dataset::Dataset>>,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<Option<f64>> {
    let mut one_thread_cpu = None;
    let mut watching = plan.clone();
    watching.predictions = Some(MESSAGE_INDEX.into());
    println!(
        "\nwhole pipeline to a null sink (header parse, ids, plugins, documents, bulk \
         encoding), best of {RUNS} runs"
    );
    println!(
        "{:<10} {:>10} {:>12} {:>14} {:>12} {:>12}",
        "plugins", "threads", "lines", "lines/s", "CPU us/line", "peak MiB"
    );
    // One thread doing everything (what one core gets), one plugin worker with
    // the reader and the sinks on threads of their own, and a worker per core.
    let layouts = [
        ("one", 1, true),
        ("1 worker", 1, false),
        ("all cores", cores(), false),
    ];
    // Lines the plugins could not handle, per plugin (the same on every run).
    let mut problems: Vec<String> = Vec::new();
    let mut variants = vec![(Execution::Wasm, false)];
    // Natively only when every stage has a native build (the reference plugins).
    #[cfg(feature = "native-bench")]
    if plan.stages.iter().all(|s| {
        let info = s.plugin.info();
        crate::plugin::native::native(&info.name, &s.config).is_some()
    }) {
        variants.push((Execution::Native, false));
    }
    if drift.is_some() {
        variants.push((Execution::Wasm, true));
    }
    for (execution, with_drift) in variants {
        for (layout, workers, one_thread) in layouts {
            let options = RunOptions {
                workers,
                execution,
                one_thread,
                // Counted and told once below the table, not in it.
                log_problems: false,
                ..base.clone()
            };
            // Best of RUNS by wall clock (this kind of machine's speed moves from
            // one minute to the next); peak memory is the highest of the runs.
            let mut best: Option<(u64, f64, f64)> = None;
            let mut peak = 0.0f64;
            for _ in 0..RUNS {
                reset_peak_rss();
                let cpu0 = process_cpu_seconds();
                let start = Instant::now();
                let source = FileSource::open(corpus)
                    .map_err(|e| ExitError::bad_input(crate::chain::chain(&e)))?;
                let mut sinks = vec![Sink::Null(Default::default())];
                if let (true, Some(reference)) = (with_drift, drift) {
                    sinks.push(drift_sink(reference));
                }
                let plan = if with_drift { &watching } else { plan };
                let summary =
                    run_file(source, plan, &mut sinks, runtime, &options, &mut |_, _| {})?;
                let secs = start.elapsed().as_secs_f64();
                let cpu = process_cpu_seconds() - cpu0;
                peak = peak.max(peak_rss_mib());
                if best.is_none_or(|(_, s, _)| secs < s) {
                    best = Some((summary.lines, secs, cpu));
                }
                problems = summary
                    .plugin_errors
                    .iter()
                    .chain(&summary.plugin_failures)
                    .map(|(plugin, n)| format!("{plugin} {n}"))
                    .collect();
            }
            let (lines, secs, cpu) = best.expect("at least one run");
            if (execution, with_drift, one_thread) == (Execution::Wasm, false, true) {
                one_thread_cpu = Some(cpu * 1e6 / lines.max(1) as f64);
            }
            println!(
                "{:<10} {:>10} {:>12} {:>14.0} {:>12.2} {:>12.1}",
                match (execution, with_drift) {
                    (Execution::Wasm, false) => "component",
                    (Execution::Wasm, true) => "comp+drift",
                    #[cfg(feature = "native-bench")]
                    (Execution::Native, _) => "native",
                },
                layout,
                lines,
                lines as f64 / secs,
                cpu * 1e6 / lines.max(1) as f64,
                peak
            );
        }
    }
    if !problems.is_empty() {
        println!(
            "(lines of the corpus the plugins could not handle, per run: {}; `logpipe once --source file:CORPUS --sink null:` lists them)",
            problems.join(", ")
        );
    }
    Ok(one_thread_cpu)
}

/// What continuous drift adds, measured apart from the pipeline (whose wall
/// clock moves more between runs than drift costs), on the corpus's message
/// documents as the pipeline writes them: the workers' reading of each
/// prediction (checking the documents with the reader against without it),
/// the monitor's counting, and a verdict.
fn drift_cost(
    plan: &Plan,
    corpus: &Path,
    base: &RunOptions,
    reference: &Arc<crate::drift::dataset::Dataset>,
    pipeline_cpu: Option<f64>,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<()> {
    use crate::document::PredictionReader;
    use crate::drift::monitor::{Monitor, MonitorSettings, Window};
    let scratch = tempfile::tempdir()?;
    let source =
        FileSource::open(corpus).map_err(|e| ExitError::bad_input(crate::chain::chain(&e)))?;
    let summary = run_file(
        source,
        plan,
        &mut [Sink::Dir(crate::sink::dir::DirSink::open(scratch.path())?)],
        runtime,
        base,
        &mut |_, _| {},
    )?;
    let text = std::fs::read_to_string(scratch.path().join(format!("{MESSAGE_INDEX}.ndjson")))
        .unwrap_or_default();
    // Each `_source` as written (not re-serialised: the order and spacing of
    // its keys are what the reader meets).
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(borrow, rename = "_source")]
        source: &'a serde_json::value::RawValue,
    }
    let sources: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
        .map(|l| l.source.get().to_string())
        .collect();
    let docs = sources.len().max(1) as f64;
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64()
    };
    let (mut checking, mut reading) = (f64::INFINITY, f64::INFINITY);
    let mut predictions = Vec::new();
    let mut reader = PredictionReader::default();
    for _ in 0..RUNS * 2 {
        checking = checking.min(time(&mut || check_all(&sources)));
        reading = reading.min(time(&mut || {
            predictions = check_and_read_all(&sources, &mut reader);
        }));
    }
    let settings = |window, every| MonitorSettings {
        reference: reference.clone(),
        window,
        every,
        options: Default::default(),
    };
    // `run`'s default window (24 hours of predictions) and the bench's
    // pipeline row (the last 100,000).
    for (name, window) in [
        ("24h", Window::Span(Duration::from_secs(86_400))),
        ("100000", Window::Predictions(100_000)),
    ] {
        let mut monitor = Monitor::new(settings(window, Duration::ZERO));
        // Measured in the steady state of a long `run`: a window of
        // predictions full (it loses one for each it gains); a time window
        // whose new minutes come as old ones leave (each pass is the corpus
        // again, later by its own span, so that it fills minutes of its own).
        let passes = match window {
            Window::Predictions(n) => (n as usize).div_ceil(predictions.len().max(1)),
            Window::Span(_) => 1,
        };
        warm_up(&mut monitor, &predictions, passes);
        let times = predictions.iter().filter_map(|p| p.time_ms);
        let span = times.clone().max().unwrap_or(0) - times.min().unwrap_or(0) + 60_000;
        let later = |k: i64| -> Vec<Box<crate::document::Prediction>> {
            predictions
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    p.time_ms = p.time_ms.map(|t| t + k * span);
                    p
                })
                .collect()
        };
        let (mut counting, mut verdict) = (f64::INFINITY, f64::INFINITY);
        let mut verdicts = 0;
        for run in 1..=RUNS {
            let pass = match window {
                Window::Span(_) => later(run as i64),
                Window::Predictions(_) => predictions.clone(),
            };
            counting = counting.min(time(&mut || observe_all(&mut monitor, &pass)));
            verdicts = 0;
            verdict = verdict.min(time(&mut || {
                verdicts += usize::from(monitor.evaluate_if_due(Instant::now()).is_some());
            }));
        }
        let lines = summary.lines.max(1) as f64;
        let per_line = ((reading - checking).max(0.0) + counting) * 1e6 / lines;
        println!(
            "continuous drift, window {name}: {} prediction documents of {} lines; reading them in the workers {:.3} us per document (checking {:.3} us, with the reader {:.3} us), counting {:.3} us per document; {:.3} us per corpus line{}; a verdict on {} predictions: {:.1} ms{}",
            predictions.len(),
            summary.lines,
            (reading - checking) * 1e6 / docs,
            checking * 1e6 / docs,
            reading * 1e6 / docs,
            counting * 1e6 / predictions.len().max(1) as f64,
            per_line,
            match pipeline_cpu {
                Some(cpu) => format!(
                    " = {:.2} % of the one-thread pipeline's {cpu:.2} us",
                    per_line / cpu * 100.0
                ),
                None => String::new(),
            },
            monitor.current().rows,
            verdict * 1e3,
            if verdicts == 0 {
                " (no verdict: an empty side)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

// The three steps as functions of their own, so that a profiler (callgrind's
// inclusive counts) can tell them apart.

#[inline(never)]
fn check_all(sources: &[String]) {
    for s in sources {
        std::hint::black_box(crate::document::check_document(s.clone()).ok());
    }
}

// Boxed as the worker boxes each prediction into its document: the
// allocation is part of the cost.
#[allow(clippy::vec_box)]
#[inline(never)]
fn check_and_read_all(
    sources: &[String],
    reader: &mut crate::document::PredictionReader,
) -> Vec<Box<crate::document::Prediction>> {
    let mut predictions = Vec::with_capacity(sources.len());
    for s in sources {
        reader.start();
        if let Ok(checked) = crate::document::check_document_reading(s.clone(), reader)
            && let Some(p) = reader.finish(&checked, None)
        {
            predictions.push(Box::new(p));
        }
    }
    predictions
}

#[inline(never)]
fn warm_up(
    monitor: &mut crate::drift::monitor::Monitor,
    predictions: &[Box<crate::document::Prediction>],
    passes: usize,
) {
    for _ in 0..passes {
        for p in predictions {
            monitor.observe(p);
        }
    }
}

#[inline(never)]
fn observe_all(
    monitor: &mut crate::drift::monitor::Monitor,
    predictions: &[Box<crate::document::Prediction>],
) {
    for p in predictions {
        monitor.observe(p);
    }
}

/// A drift monitor as `run` has it with `[drift]`'s defaults.
fn drift_sink(reference: &Arc<crate::drift::dataset::Dataset>) -> Sink {
    use crate::drift::monitor::{Monitor, MonitorSettings, Window};
    let monitor = Monitor::new(MonitorSettings {
        reference: reference.clone(),
        window: Window::Span(Duration::from_secs(86_400)),
        every: Duration::from_secs(60),
        options: Default::default(),
    });
    Sink::Drift(crate::sink::drift::DriftSink::new(
        monitor,
        MESSAGE_INDEX.into(),
        Default::default(),
    ))
}

/// CPU time of the whole process (user + system), from /proc (Linux).
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after `)`.
    (ticks(11) + ticks(12)) / 100.0
}

fn reset_peak_rss() {
    // "5" resets the peak resident set size (Linux 4.0+); best effort.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The documents of the first `lines` lines of the corpus, for index `prefix-*`.
fn corpus_documents(
    plan: &Plan,
    corpus: &Path,
    lines: usize,
    prefix: &str,
) -> anyhow::Result<Vec<crate::document::Document>> {
    let records = read_corpus(corpus, lines)?;
    let mut worker =
        crate::pipeline::Worker::new(plan, crate::document::TimestampConverter::utc())?;
    let mut ids = crate::pipeline::IdAssigner::default();
    let mut docs = Vec::new();
    for chunk in ids
        .assign(records)
        .chunks(crate::config::DEFAULT_BATCH_LINES)
    {
        docs.extend(worker.process(chunk).documents);
    }
    for d in &mut docs {
        d.index = std::sync::Arc::from(format!("{prefix}-{}", d.index));
    }
    Ok(docs)
}

fn es_figures(
    plan: &Plan,
    corpus: &Path,
    url: &str,
    lines: usize,
    settings: &crate::config::Config,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    let stamp = jiff::Timestamp::now().as_second();
    println!("\nindexing into {url} ({lines} corpus lines), documents per second");
    // The raw loader: bulk `index` requests of 1000 documents, one at a time.
    let raw_docs = corpus_documents(plan, corpus, lines, &format!("bench-{stamp}-raw"))?;
    let client = reqwest::Client::new();
    let start = Instant::now();
    runtime.block_on(async {
        for chunk in raw_docs.chunks(1000) {
            let mut body = String::new();
            for d in chunk {
                body.push_str(&format!(
                    "{{\"index\":{{\"_index\":\"{}\",\"_id\":\"{}\"}}}}\n",
                    d.index, d.id
                ));
                body.push_str(&d.source);
                body.push('\n');
            }
            let resp = client
                .post(format!("{}/_bulk", url.trim_end_matches('/')))
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send()
                .await?;
            anyhow::ensure!(
                resp.status().is_success(),
                "raw loader: status {}",
                resp.status()
            );
            resp.bytes().await?;
        }
        anyhow::Ok(())
    })?;
    let raw_rate = raw_docs.len() as f64 / start.elapsed().as_secs_f64();

    let docs = corpus_documents(plan, corpus, lines, &format!("bench-{stamp}-logpipe"))?;
    let mut indices: Vec<String> = docs.iter().map(|d| d.index.to_string()).collect();
    indices.sort();
    indices.dedup();
    let line_index = format!("bench-{stamp}-logpipe-{}", plan.line_index);
    let address: crate::config::EsAddress = url.parse()?;
    let mut sink = runtime.block_on(crate::sink::elasticsearch::open(
        &address,
        &settings.env.elasticsearch,
        &settings.state_dir,
        &indices,
        &line_index,
    ))?;
    let start = Instant::now();
    let mut report = crate::sink::WriteReport::default();
    for chunk in docs.chunks(4096) {
        report.absorb(runtime.block_on(sink.write(chunk))?);
    }
    let rate = docs.len() as f64 / start.elapsed().as_secs_f64();
    println!("{:<28} {:>10} {:>12}", "loader", "documents", "docs/s");
    println!(
        "{:<28} {:>10} {:>12.0}",
        "raw bulk (index, 1000/req)",
        raw_docs.len(),
        raw_rate
    );
    println!(
        "{:<28} {:>10} {:>12.0}",
        "logpipe es: sink",
        docs.len(),
        rate
    );
    println!(
        "ratio logpipe / raw: {:.2}  (stored {}, dead letters {})",
        rate / raw_rate,
        report.stored.values().sum::<u64>(),
        report.dead_letters
    );
    // The benchmark's indices are its own: nothing is left behind. Named one
    // by one (Elasticsearch refuses wildcard deletes by default).
    let mut names: Vec<&str> = raw_docs
        .iter()
        .chain(&docs)
        .map(|d| d.index.as_ref())
        .chain([line_index.as_str()])
        .collect();
    names.sort_unstable();
    names.dedup();
    let target = format!("{}/{}", url.trim_end_matches('/'), names.join(","));
    let deleted = runtime.block_on(async {
        let resp = client
            .delete(&target)
            .query(&[("ignore_unavailable", "true")])
            .send()
            .await?;
        anyhow::Ok(resp.status())
    });
    match deleted {
        Ok(status) if status.is_success() => {}
        Ok(status) => {
            eprintln!("warning: deleting the benchmark's indices bench-{stamp}-*: status {status}")
        }
        Err(e) => eprintln!("warning: deleting the benchmark's indices bench-{stamp}-*: {e:#}"),
    }
    Ok(())
}
