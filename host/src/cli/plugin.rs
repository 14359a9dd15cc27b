//! `logpipe plugin`: check and run plugin files, for plugin authors.

use super::exit::{self, ExitError};
use crate::document::line_document::LineStamp;
use crate::document::{TimestampConverter, check_document};
use crate::plugin::build::{self, BuildError, Built, GuestBuild};
use crate::plugin::toolchain::Toolchain;
use crate::plugin::{EventBatch, Kind, Limits, Outcome, PluginEngine, PluginRunner};
use crate::source::record::Record;
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Check and run plugin files.
#[derive(Debug, Args)]
pub struct PluginCommand {
    #[command(subcommand)]
    action: PluginAction,
}

#[derive(Debug, Subcommand)]
enum PluginAction {
    /// Loads a plugin and reports its kind, name, version, contract, needed fields and
    /// channels, or says precisely why it cannot be loaded (exit status 3).
    Check(CheckArgs),
    /// Runs a plugin over log lines read on stdin and prints one JSON result per line.
    ///
    /// Input lines are log lines (`YYYY-MM-DD HH:MM:SS - logger - LEVEL - message`;
    /// a line without that header is all message), or JSON events
    /// `{"message": "...", "fields": {"http_method": "POST"}}` to give a plugin the
    /// fields an earlier stage would have produced. Output, one object per input
    /// line: `{"line": N, "documents": [{"channel": ..., "document": {...}}]}` for a
    /// parser, `{"line": N, "accept": true}` for a filter, or `{"line": N, "error": ...}`
    /// when the plugin reports an error for the line.
    ///
    /// Exit status: 0 when the plugin ran every line (even if it reported errors for
    /// some), 2 for bad input (an unreadable JSON event, a malformed --config),
    /// 3 when the plugin failed: it could not be loaded, refused its configuration,
    /// trapped, ran out of time or memory, or returned an invalid document.
    Run(RunArgs),
    /// Builds a Python plugin into a component with componentize-py.
    ///
    /// DIR holds `plugin.py` (or --module), which defines one subclass of
    /// `logpipe_plugin.Filter` or `logpipe_plugin.Parser` (guests/README.md, "Python
    /// plugins"); its other modules are importable from DIR. The SDK and the contract
    /// are built into logpipe: only componentize-py 0.25 is needed (`pip install
    /// 'componentize-py==0.25.*'`). Then `logpipe plugin check` the result: the first
    /// load compiles the ~18 MB component (seconds) and caches it.
    #[command(name = "build-py")]
    BuildPy(BuildArgs<PythonTool>),
    /// Builds a JavaScript plugin into a component with componentize-js.
    ///
    /// DIR holds `plugin.js` (or --module), whose default export is a class extending
    /// `Filter` or `Parser` imported from `./logpipe-plugin.js` (guests/README.md,
    /// "JavaScript plugins"); its other `.js` modules are bundled. The SDK and the
    /// contract are built into logpipe: only componentize-js is needed (`npm install
    /// @bytecodealliance/componentize-js`).
    #[command(name = "build-js")]
    BuildJs(BuildArgs<JavaScriptTool>),
}

#[derive(Debug, Args)]
struct BuildArgs<T: clap::Args> {
    /// The plugin's folder.
    dir: PathBuf,
    /// The component to write [default: DIR's name + `.wasm`, beside DIR].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// The module defining the plugin class, without its extension.
    #[arg(long, default_value = "plugin")]
    module: String,
    /// Filter or parser [default: read from the class's base in the module].
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    #[command(flatten)]
    tool: T,
}

#[derive(Debug, Args)]
struct PythonTool {
    /// The componentize-py program.
    #[arg(long = "componentize-py", default_value = "componentize-py")]
    program: PathBuf,
}

#[derive(Debug, Args)]
struct JavaScriptTool {
    /// The componentize-js program.
    #[arg(long = "componentize-js", default_value = "componentize-js")]
    program: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KindArg {
    Filter,
    Parser,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The component file (`.wasm`).
    file: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The component file (`.wasm`).
    file: PathBuf,
    /// A configuration entry for the plugin, `KEY=VALUE`; repeat for several.
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    config: Vec<(String, String)>,
    /// Events per call into the plugin.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65536))]
    batch: u32,
    /// Memory cap of the plugin instance, in MiB.
    #[arg(long, default_value_t = crate::plugin::limits::DEFAULT_MEMORY_MIB)]
    memory_mib: usize,
    /// Time limit of one batch call, in milliseconds.
    #[arg(long, default_value_t = crate::plugin::limits::DEFAULT_BATCH_TIMEOUT_MS)]
    timeout_ms: u64,
}

/// Parses `KEY=VALUE`.
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}

impl PluginCommand {
    /// Runs the subcommand.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self.action {
            PluginAction::Check(args) => check(args),
            PluginAction::Run(args) => run(args),
            PluginAction::BuildPy(args) => {
                let program = args.tool.program.clone();
                build_guest(args, program, build::python::build)
            }
            PluginAction::BuildJs(args) => {
                let program = args.tool.program.clone();
                build_guest(args, program, build::javascript::build)
            }
        }
    }
}

fn engine(limits: Limits) -> anyhow::Result<PluginEngine> {
    Ok(crate::pipeline::open::engine(limits)?)
}

fn build_guest<T: clap::Args>(
    args: BuildArgs<T>,
    program: PathBuf,
    build: impl FnOnce(&GuestBuild) -> Result<Built, BuildError>,
) -> anyhow::Result<ExitCode> {
    let output = args
        .output
        .unwrap_or_else(|| build::default_output(&args.dir));
    let guest = GuestBuild {
        dir: args.dir,
        module: args.module,
        kind: args.kind.map(|k| match k {
            KindArg::Filter => Kind::Filter,
            KindArg::Parser => Kind::Parser,
        }),
        output: output.clone(),
        program,
    };
    let built = build(&guest).map_err(|e| match e {
        BuildError::Failed { .. } => ExitError::plugin(e.to_string()),
        _ => ExitError::bad_input(e.to_string()),
    })?;
    println!(
        "{}: {} built with {} ({}, {:.1} s); next: logpipe plugin check {}",
        output.display(),
        built.kind,
        built.tool,
        bytesize::ByteSize(built.bytes),
        built.elapsed.as_secs_f64(),
        output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let engine = engine(Limits::default())?;
    let plugin = crate::plugin::LoadedPlugin::load_file(&engine, &args.file)?;
    let info = plugin.info();
    // A default configuration must be accepted for the plugin to be usable as is.
    let configured = crate::plugin::PluginInstance::new(plugin.clone(), &[])
        .map(|_| ())
        .map_err(|e| e.to_string());
    let keys = config_keys(&plugin);
    // Read again: the loaded plugin keeps only its compiled form.
    let toolchain = std::fs::read(&args.file)
        .ok()
        .and_then(|bytes| Toolchain::of(&bytes));
    if args.json {
        let mut report = serde_json::to_value(info)?;
        report["default_config"] = match &configured {
            Ok(()) => json!("accepted"),
            Err(e) => json!(e),
        };
        report["config_keys"] = json!(keys);
        report["toolchain"] = json!(toolchain);
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}: ok", args.file.display());
        println!("  kind:      {}", info.kind);
        println!("  name:      {}", info.name);
        println!("  version:   {}", info.version);
        println!("  contract:  logpipe:plugin@{}", info.contract);
        println!(
            "  exports:   logpipe:plugin/{}@{}",
            info.kind, info.contract
        );
        match &toolchain {
            Some(toolchain) => println!("  toolchain: {toolchain}"),
            None => println!("  toolchain: not stated in the component"),
        }
        println!("  needs:     {}", list(&info.needs, "message only"));
        if info.kind == Kind::Parser {
            println!("  channels:  {}", list(&info.channels, "none"));
        }
        println!("  sha256:    {}", info.sha256);
        match &configured {
            Ok(()) => println!("  default configuration: accepted"),
            Err(e) => println!("  default configuration: refused ({e})"),
        }
        match &keys {
            Some(keys) => println!(
                "  config keys: {} (a stage's `config = {{ ... }}`; logpipe.example.toml documents the reference plugins')",
                list(keys, "none")
            ),
            None => println!(
                "  config keys: not declared (the plugin accepted an unknown key, or its refusal names none)"
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The configuration keys a plugin accepts, asked by configuring it with a
/// key no plugin has: the SDK's `Config::reject_unknown` refuses it naming the
/// known keys ("unknown configuration key `k` (known keys: a, b)").
fn config_keys(plugin: &std::sync::Arc<crate::plugin::LoadedPlugin>) -> Option<Vec<String>> {
    const PROBE: &str = "logpipe-check-unknown-key";
    let refusal =
        crate::plugin::PluginInstance::new(plugin.clone(), &[(PROBE.to_string(), String::new())])
            .err()?
            .to_string();
    let known = refusal.split("(known keys: ").nth(1)?;
    let known = &known[..known.find(')')?];
    Some(if known == "none" {
        Vec::new()
    } else {
        known.split(", ").map(str::to_string).collect()
    })
}

fn list(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        empty.to_string()
    } else {
        items.join(", ")
    }
}

/// One input line, made ready for the plugin.
struct InputEvent {
    record: Record,
    extra: Vec<(String, String)>,
}

fn read_event(line: String, number: usize) -> Result<InputEvent, ExitError> {
    if !line.starts_with('{') {
        return Ok(InputEvent {
            record: Record::from_line(line),
            extra: Vec::new(),
        });
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct JsonEvent {
        message: String,
        #[serde(default)]
        fields: serde_json::Map<String, Value>,
    }
    let event: JsonEvent = serde_json::from_str(&line)
        .map_err(|e| ExitError::bad_input(format!("stdin line {number}: not a JSON event: {e}")))?;
    let extra = event
        .fields
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect();
    Ok(InputEvent {
        record: Record::from_line(event.message),
        extra,
    })
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let limits = Limits {
        memory_bytes: args.memory_mib << 20,
        batch_timeout: Duration::from_millis(args.timeout_ms),
        ..Limits::default()
    };
    let engine = engine(limits)?;
    let plugin = crate::plugin::LoadedPlugin::load_file(&engine, &args.file)?;
    let info = plugin.info().clone();
    let mut runner = PluginRunner::new(plugin, args.config)?;
    let stdin = std::io::stdin();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut timestamps = TimestampConverter::default();
    let mut failed = false;
    let mut number = 0usize;
    let mut batch: Vec<InputEvent> = Vec::new();
    let mut lines = stdin.lock().lines();
    loop {
        let next = lines.next().transpose().context("reading stdin")?;
        let done = next.is_none();
        if let Some(line) = next {
            number += 1;
            let line = line.strip_suffix('\r').map(str::to_string).unwrap_or(line);
            batch.push(read_event(line, number)?);
        }
        if batch.len() == args.batch as usize || (done && !batch.is_empty()) {
            let first = number + 1 - batch.len();
            failed |= run_batch(
                &mut runner,
                &info.kind,
                &info.channels,
                &batch,
                first,
                &mut timestamps,
                &mut stdout,
            )?;
            batch.clear();
        }
        if done {
            break;
        }
    }
    stdout.flush()?;
    Ok(if failed {
        ExitCode::from(exit::PLUGIN_FAILURE)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs one batch and prints its results; true if the plugin failed on any line.
fn run_batch(
    runner: &mut PluginRunner,
    kind: &Kind,
    channels: &[String],
    batch: &[InputEvent],
    first: usize,
    timestamps: &mut TimestampConverter,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let needs = runner.plugin().info().needs.clone();
    let stamps: Vec<LineStamp> = batch
        .iter()
        .map(|e| LineStamp::of(&e.record, timestamps))
        .collect();
    let mut events = EventBatch::new(needs.len());
    for (e, stamp) in batch.iter().zip(&stamps) {
        events.push(
            e.record.message(),
            needs.iter().map(|n| {
                crate::document::host_field(n, &e.record, stamp).unwrap_or_else(|| {
                    e.extra
                        .iter()
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| v.as_str())
                })
            }),
        );
    }
    let mut failed = false;
    let results: Vec<Value> = match kind {
        Kind::Filter => runner
            .accept(&events)
            .outcomes()
            .into_iter()
            .enumerate()
            .map(|(i, o)| match o {
                Outcome::Ok(keep) => json!({"line": first + i, "accept": keep}),
                Outcome::Rejected(reason) => json!({"line": first + i, "error": reason}),
                Outcome::Failed(e) => {
                    failed = true;
                    json!({"line": first + i, "failure": e.to_string()})
                }
            })
            .collect(),
        Kind::Parser => runner
            .parse(&events)
            .outcomes(events.len())
            .into_iter()
            .enumerate()
            .map(|(i, o)| match o {
                Outcome::Ok(docs) => {
                    let mut documents = Vec::new();
                    let mut invalid = Vec::new();
                    for d in docs {
                        let channel = channels.get(d.channel as usize).cloned();
                        match (channel, check_document(d.json.to_string())) {
                            (Some(c), Ok(doc)) => {
                                let v: Value =
                                    serde_json::from_str(doc.json()).expect("checked JSON");
                                documents.push(json!({"channel": c, "document": v}));
                            }
                            (None, _) => invalid.push(format!("unknown channel {}", d.channel)),
                            (_, Err(e)) => invalid.push(e.to_string()),
                        }
                    }
                    if invalid.is_empty() {
                        json!({"line": first + i, "documents": documents})
                    } else {
                        failed = true;
                        json!({"line": first + i, "documents": documents, "invalid": invalid})
                    }
                }
                Outcome::Rejected(reason) => json!({"line": first + i, "error": reason}),
                Outcome::Failed(e) => {
                    failed = true;
                    json!({"line": first + i, "failure": e.to_string()})
                }
            })
            .collect(),
    };
    for r in results {
        serde_json::to_writer(&mut *out, &r)?;
        out.write_all(b"\n")?;
    }
    Ok(failed)
}
