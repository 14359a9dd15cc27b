//! A parser for hot-reload tests: emits `{"tagged_by": "<package name>"}` on its
//! `fields` channel for every line. Built twice (tagger-a, tagger-b) from this
//! file, so a test can swap versions and see which one handled each line.

use logpipe_plugin_sdk::{Config, Emit, Event, Info, Parser, export_parser};

/// The tagger.
pub struct Tagger;

impl Parser for Tagger {
    fn info() -> Info {
        Info::new("tagger", env!("CARGO_PKG_NAME")).channels(&["fields"])
    }

    fn configure(config: &Config) -> Result<Self, String> {
        config.reject_unknown(&[])?;
        Ok(Tagger)
    }

    fn parse(&self, _event: &Event<'_>, emit: &mut Emit) -> Result<(), String> {
        emit.raw(
            0,
            concat!("{\"tagged_by\":\"", env!("CARGO_PKG_NAME"), "\"}").to_string(),
        );
        Ok(())
    }
}

export_parser!(Tagger);
