//! What a plugin's store holds: a WASI context that grants nothing, the
//! resource table, the memory limiter, the captured output and the deadline of
//! the call in progress.

use super::captured_output::CapturedOutput;
use std::time::Instant;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Host resources (streams, pollables…) one instance may hold at once. Each is a
/// host allocation the plugin controls; Rust and CPython plugins hold a handful.
pub const MAX_HOST_RESOURCES: usize = 10_000;

/// Table elements (function references) one instance may hold, all tables
/// together.
pub const MAX_TABLE_ELEMENTS: usize = 1_000_000;

/// The data of one plugin store.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    /// When the call in progress must end; checked at each epoch tick.
    pub(crate) deadline: Instant,
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
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HOST_RESOURCES);
        Self {
            wasi: builder.build(),
            table,
            limiter: MemoryLimiter::new(memory_bytes),
            deadline: Instant::now(),
            stdout,
            stderr,
        }
    }

    /// The memory limiter, for `Store::limiter`.
    pub fn limiter(&mut self) -> &mut MemoryLimiter {
        &mut self.limiter
    }

    /// Bytes of linear memory the instance holds now.
    pub fn memory_bytes(&self) -> usize {
        self.limiter.total
    }

    /// The size an instance asked for when it went over its memory cap.
    pub fn memory_exceeded(&self) -> Option<usize> {
        self.limiter.exceeded
    }

    /// The resource table, for host functions the sandbox defines itself.
    pub(crate) fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
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

/// Caps the linear memory of an instance, **all its memories together** (a
/// component can hold several core modules, each with its own memory), and
/// remembers that the cap was hit, so the failure is reported as a memory
/// overrun rather than an anonymous trap.
#[derive(Debug)]
pub struct MemoryLimiter {
    max: usize,
    /// Bytes of every memory of the instance.
    total: usize,
    /// Elements of every table of the instance.
    table_elements: usize,
    exceeded: Option<usize>,
}

impl MemoryLimiter {
    /// A limiter for `max` bytes in all.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            total: 0,
            table_elements: 0,
            exceeded: None,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Memories only grow and live as long as the store: the total is the
        // sum of every growth.
        let total = self.total.saturating_add(desired.saturating_sub(current));
        if total > self.max {
            self.exceeded = Some(total);
            return Err(wasmtime::format_err!(
                "memory limit of {} MiB reached (all memories would take {} MiB)",
                self.max >> 20,
                total >> 20
            ));
        }
        self.total = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .table_elements
            .saturating_add(desired.saturating_sub(current));
        if total > MAX_TABLE_ELEMENTS {
            return Ok(false);
        }
        self.table_elements = total;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memories_count_together() {
        let mut l = MemoryLimiter::new(64 << 20);
        assert!(l.memory_growing(0, 40 << 20, None).unwrap());
        // A second memory of 40 MiB would pass a per-memory cap of 64 MiB.
        let err = l.memory_growing(0, 40 << 20, None).unwrap_err();
        assert!(err.to_string().contains("80 MiB"), "{err}");
        assert_eq!(l.exceeded, Some(80 << 20));
        // Growing the first one within what is left still works.
        assert!(l.memory_growing(40 << 20, 60 << 20, None).unwrap());
        assert!(l.memory_growing(60 << 20, 65 << 20, None).is_err());
    }

    #[test]
    fn tables_count_together() {
        let mut l = MemoryLimiter::new(64 << 20);
        assert!(l.table_growing(0, MAX_TABLE_ELEMENTS / 2, None).unwrap());
        assert!(l.table_growing(0, MAX_TABLE_ELEMENTS / 2, None).unwrap());
        assert!(!l.table_growing(0, 1, None).unwrap());
    }
}
