//! The pipeline: source → line ids → plugins → documents → sinks, with
//! acknowledgements flowing back to the checkpoint.

pub mod build;
pub mod collect;
pub mod open;
pub mod plan;
pub mod poll;
pub mod run;
pub mod worker;

pub use plan::{LINE, Plan, Route, Stage};
pub use run::{IdAssigner, RunOptions, RunSummary, run_file};
pub use worker::{BatchOutput, Execution, Line, PluginProblem, Worker};
