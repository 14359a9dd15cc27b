//! Compiling a component, bounded: a plugin file is input like any other, and
//! Cranelift's time and memory grow with what the file holds (a 1.7 MB
//! component of 300,000 functions took 38 s and 2 GB).
//!
//! Before compiling, the file's size and its number of functions are checked
//! (one linear pass with `wasmparser`). The compilation itself runs in a child
//! process (`logpipe __compile-component`) that is killed past a time or a
//! memory limit, so hot reload and start-up can never be stalled or exhausted
//! by a plugin file. Where no `logpipe` binary is at hand (the library used by
//! tests), it runs in-process after the same checks.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// The engine settings; a compiled artifact loads only into an engine built
/// from the same ones.
pub fn engine_config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    // `LOGPIPE_WASM_PERFMAP=1` names plugin code for `perf` (/tmp/perf-PID.map),
    // to profile plugins where they run.
    if std::env::var_os("LOGPIPE_WASM_PERFMAP").is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// Limits on compiling one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileLimits {
    /// Size of the component file. CPython components built with
    /// componentize-py are about 40 MB.
    pub max_bytes: usize,
    /// Functions in all its core modules together (CPython: about 20,000).
    pub max_functions: u64,
    /// Wall-clock time of one compilation.
    pub max_time: Duration,
    /// Resident memory of the compiling process.
    pub max_memory: u64,
}

impl Default for CompileLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_functions: 100_000,
            max_time: Duration::from_secs(120),
            max_memory: 2 << 30,
        }
    }
}

/// Where compilation happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiler {
    /// In this process, after the static checks (library use, tests).
    InProcess,
    /// In a child process of this `logpipe` binary, killed past the limits.
    Child(PathBuf),
}

/// Why a component was not compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// Over a static limit.
    #[error("{0}")]
    TooLarge(String),
    /// Not a component wasmparser can read.
    #[error("not a readable component: {0}")]
    Unreadable(String),
    /// Over the time or memory limit while compiling.
    #[error("compiling {0}")]
    Exceeded(String),
    /// Cranelift (or the child process) failed.
    #[error("{0}")]
    Failed(String),
}

/// Checks size and function count, linearly, before any compilation.
pub fn check_size(bytes: &[u8], limits: &CompileLimits) -> Result<(), CompileError> {
    if bytes.len() > limits.max_bytes {
        return Err(CompileError::TooLarge(format!(
            "the component is {} MiB, over the limit of {} MiB",
            bytes.len() >> 20,
            limits.max_bytes >> 20
        )));
    }
    let mut functions: u64 = 0;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| CompileError::Unreadable(e.to_string()))?;
        if let wasmparser::Payload::CodeSectionStart { count, .. } = payload {
            functions += u64::from(count);
            if functions > limits.max_functions {
                return Err(CompileError::TooLarge(format!(
                    "the component has more than {} functions",
                    limits.max_functions
                )));
            }
        }
    }
    Ok(())
}

/// A compiled component, with its serialised form when compiling produced it.
pub struct Compiled {
    /// The component, ready to link.
    pub component: Component,
    /// What `Component::serialize` gives for it, when already at hand.
    pub artifact: Option<Vec<u8>>,
}

/// Compiles `bytes` within `limits`.
pub fn compile(
    engine: &Engine,
    bytes: &[u8],
    compiler: &Compiler,
    limits: &CompileLimits,
) -> Result<Compiled, CompileError> {
    check_size(bytes, limits)?;
    let failed = |e: wasmtime::Error| CompileError::Failed(format!("{e:#}"));
    match compiler {
        Compiler::InProcess => Ok(Compiled {
            component: Component::new(engine, bytes).map_err(failed)?,
            artifact: None,
        }),
        Compiler::Child(program) => {
            let artifact = compile_in_child(program, bytes, limits)?;
            // SAFETY: the artifact was produced just now by this same binary's
            // `__compile-component` for an engine built from `engine_config()`,
            // as this engine is; `deserialize` also checks the engine's
            // compatibility hash recorded in it.
            let component = unsafe { Component::deserialize(engine, &artifact) }.map_err(failed)?;
            Ok(Compiled {
                component,
                artifact: Some(artifact),
            })
        }
    }
}

fn compile_in_child(
    program: &PathBuf,
    bytes: &[u8],
    limits: &CompileLimits,
) -> Result<Vec<u8>, CompileError> {
    let failed = |what: &str, e: std::io::Error| CompileError::Failed(format!("{what}: {e}"));
    let mut child = std::process::Command::new(program)
        .arg("__compile-component")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| failed("starting the compiler process", e))?;
    let mut stdin = child.stdin.take().expect("piped");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stderr.by_ref().take(64 << 10).read_to_string(&mut out);
        out
    });
    let started = Instant::now();
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| failed("waiting for the compiler", e))?
        {
            break status;
        }
        peak = peak.max(resident_bytes(pid).unwrap_or(0));
        let over = if started.elapsed() > limits.max_time {
            Some(format!("took longer than {} s", limits.max_time.as_secs()))
        } else if peak > limits.max_memory {
            Some(format!(
                "took more than {} MiB of memory",
                limits.max_memory >> 20
            ))
        } else {
            None
        };
        if let Some(over) = over {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CompileError::Exceeded(over));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    let artifact = reader
        .join()
        .expect("reader thread")
        .map_err(|e| failed("reading the compiled component", e))?;
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(CompileError::Failed(
            errors
                .trim()
                .lines()
                .last()
                .unwrap_or("the compiler process failed")
                .to_string(),
        ));
    }
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        peak_mib = peak >> 20,
        "component compiled in a child process"
    );
    Ok(artifact)
}

/// Resident memory of process `pid` (Linux), in bytes.
fn resident_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The child's side: reads a component on stdin, writes the compiled artifact
/// on stdout (`logpipe __compile-component`, run by [`compile`]).
pub fn serve_child() -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes)?;
    let engine = Engine::new(&engine_config()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let component = Component::new(&engine, &bytes).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let artifact = component
        .serialize()
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    std::io::stdout().write_all(&artifact)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_checked_before_compiling() {
        // The function count is checked end to end, with a component of
        // 300,000 functions (tests/integration/sandbox.rs).
        let empty = b"\0asm\x0d\0\x01\0";
        check_size(empty, &CompileLimits::default()).unwrap();
        let small = CompileLimits {
            max_bytes: 4,
            ..CompileLimits::default()
        };
        assert!(matches!(
            check_size(empty, &small),
            Err(CompileError::TooLarge(_))
        ));
        assert!(matches!(
            check_size(b"\0asm\x0d\0\x01\0garbage", &CompileLimits::default()),
            Err(CompileError::Unreadable(_))
        ));
    }
}
