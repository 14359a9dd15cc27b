//! The `logpipe` binary: parse the command line, set up logging, run the
//! command, print the error chain and choose the exit code.

use clap::Parser;
use logpipe::cli::{Cli, LogFormat, exit};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

// The pipeline allocates small buffers per line in its workers and frees them
// in the sink threads; glibc's allocator spent about 13 % of a worker's time on
// that (perf, one worker). mimalloc keeps per-thread heaps with cheap remote frees.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal (and never with NO_COLOR): a
    // file, a pipe or a journal gets plain text.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && !logpipe::config::environment::no_color();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    match cli.command.execute() {
        Ok(code) => code,
        Err(error) => {
            // Errors can carry a URL (a sink's, a source's) with its password.
            let mask =
                |e: &dyn std::fmt::Display| logpipe::redact::mask_url_password(&e.to_string());
            eprintln!("error: {}", mask(&error));
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {}", mask(&cause));
            }
            exit::code_for(&error)
        }
    }
}
