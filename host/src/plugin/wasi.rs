//! The WASI a plugin links against: what Rust's and CPython's standard
//! libraries import, granting nothing (see `state.rs`), with one change that
//! keeps the batch time limit whole: **waiting never blocks the host**.
//!
//! wasmtime interrupts WebAssembly at its deadline, but not a host call in
//! progress. A plugin that sleeps (`wasi:clocks/monotonic-clock` subscribe, then
//! `wasi:io/poll`) would hold the worker's thread for as long as it asked, past
//! any limit. Here every clock subscription is ready at once: a sleep returns
//! immediately, and a plugin that waits in a loop spins in WebAssembly, where the
//! deadline catches it. Clocks still read the real time and random bytes stay
//! readable (CPython reads them at start).

use super::state::PluginState;
use std::sync::OnceLock;
use std::time::Instant;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi_io::poll::{DynPollable, Pollable, subscribe};

/// Adds WASI to `linker`, with clock subscriptions that are ready at once.
pub fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<PluginState, ImmediateClock>(linker, |state| ClockView {
        table: state.table(),
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// `wasi:clocks/monotonic-clock` whose subscriptions never wait.
struct ImmediateClock;

impl HasData for ImmediateClock {
    type Data<'a> = ClockView<'a>;
}

/// What the clock's functions reach in a plugin's store.
pub struct ClockView<'a> {
    table: &'a mut ResourceTable,
}

/// The origin of the monotonic clock: the same for every plugin of the process.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// A pollable that is always ready.
struct Elapsed;

#[async_trait::async_trait]
impl Pollable for Elapsed {
    async fn ready(&mut self) {}
}

impl ClockView<'_> {
    fn ready(&mut self) -> wasmtime::Result<Resource<DynPollable>> {
        let elapsed = self.table.push(Elapsed)?;
        subscribe(self.table, elapsed)
    }
}

impl monotonic_clock::Host for ClockView<'_> {
    fn now(&mut self) -> wasmtime::Result<monotonic_clock::Instant> {
        Ok(origin().elapsed().as_nanos() as u64)
    }

    fn resolution(&mut self) -> wasmtime::Result<monotonic_clock::Duration> {
        Ok(1)
    }

    fn subscribe_instant(
        &mut self,
        _when: monotonic_clock::Instant,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.ready()
    }

    fn subscribe_duration(
        &mut self,
        _duration: monotonic_clock::Duration,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        self.ready()
    }
}
