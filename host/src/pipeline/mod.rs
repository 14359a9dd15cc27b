//! The pipeline: source → line ids → plugins → documents → sinks, with
//! acknowledgements flowing back to the checkpoint.

pub mod plan;
pub mod worker;

pub use plan::{LINE, Plan, Route, Stage};
pub use worker::{BatchOutput, Line, PluginProblem, Worker};
