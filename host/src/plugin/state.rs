//! What a plugin's store holds: a WASI context that grants nothing, the
//! resource table, the memory limiter and the captured output.

use super::captured_output::CapturedOutput;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The data of one plugin store.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    /// The plugin's stdout.
    pub stdout: CapturedOutput,
    /// The plugin's stderr.
    pub stderr: CapturedOutput,
}

impl PluginState {
    /// A state whose WASI context has no files, no network and no environment.
    pub fn new(memory_bytes: usize, output_bytes: usize) -> Self {
        let stdout = CapturedOutput::new(output_bytes);
        let stderr = CapturedOutput::new(output_bytes);
        let mut builder = WasiCtxBuilder::new();
        // No preopened directories, no environment variables, no arguments:
        // the builder grants none unless asked. Sockets are refused outright.
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        Self {
            wasi: builder.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                max: memory_bytes,
                exceeded: None,
            },
            stdout,
            stderr,
        }
    }

    /// The memory limiter, for `Store::limiter`.
    pub fn limiter(&mut self) -> &mut MemoryLimiter {
        &mut self.limiter
    }

    /// The size an instance asked for when it went over its memory cap.
    pub fn memory_exceeded(&self) -> Option<usize> {
        self.limiter.exceeded
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and remembers that the cap was hit, so the failure can be
/// reported as a memory overrun rather than an anonymous trap.
pub struct MemoryLimiter {
    max: usize,
    exceeded: Option<usize>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            self.exceeded = Some(desired);
            return Err(wasmtime::format_err!(
                "memory limit of {} MiB reached (asked for {} MiB)",
                self.max >> 20,
                desired >> 20
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
