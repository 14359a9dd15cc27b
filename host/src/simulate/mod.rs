//! The source API's traffic, simulated: for the demo, the tests and the benchmarks.

pub mod generator;
pub mod server;

pub use generator::{Drift, Generator, Knobs};
pub use server::{Fault, Simulator};
