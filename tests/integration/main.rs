//! logpipe's integration tests: one binary, one module per topic, shared helpers
//! in `util`. They run the real `logpipe` binary and the real components.

mod collect;
mod contract;
mod dashboard;
mod drift;
mod elasticsearch;
mod export;
mod gradio;
mod no_loss;
mod once;
mod plugins;
mod python_plugins;
mod run;
mod sandbox;
mod soak;
mod util;
