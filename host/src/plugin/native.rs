//! The reference plugins compiled natively, for benchmarks: the same logic the
//! components run, called without WebAssembly, so the sandbox's cost is a ratio.
//! Only in builds with the `native-bench` feature: the production binary
//! neither links the guest crates nor has a second way to run a stage.

use super::batch::{Decisions, EventBatch, EventProblem, ParsedBatch};
use logpipe_plugin_sdk::batch::PackedEvents;
use logpipe_plugin_sdk::{Config, Emit, Event, Filter, Info, Parser};

/// A configured parser's function.
pub type ParseFn = Box<dyn Fn(&Event<'_>, &mut Emit) -> Result<(), String> + Send>;
/// A configured filter's function.
pub type AcceptFn = Box<dyn Fn(&Event<'_>) -> Result<bool, String> + Send>;

/// A reference plugin running natively.
pub enum NativePlugin {
    /// A parser.
    Parser {
        /// What it is.
        info: Info,
        /// Its parse function, configured.
        parse: ParseFn,
    },
    /// A filter.
    Filter {
        /// What it is.
        info: Info,
        /// Its decision function, configured.
        accept: AcceptFn,
    },
}

fn parser<P: Parser + Send>(config: &Config) -> Result<NativePlugin, String> {
    let p = P::configure(config)?;
    Ok(NativePlugin::Parser {
        info: P::info(),
        parse: Box::new(move |e, emit| p.parse(e, emit)),
    })
}

fn filter<F: Filter + Send>(config: &Config) -> Result<NativePlugin, String> {
    let f = F::configure(config)?;
    Ok(NativePlugin::Filter {
        info: F::info(),
        accept: Box::new(move |e| f.accept(e)),
    })
}

/// The native build of reference plugin `name`, configured; `None` if `name` is
/// not a reference plugin.
pub fn native(name: &str, config: &[(String, String)]) -> Option<Result<NativePlugin, String>> {
    let config = Config::new(config.to_vec());
    Some(match name {
        "message" => parser::<logpipe_message::MessageParser>(&config),
        "perf" => parser::<logpipe_perf::PerfParser>(&config),
        "top-functions" => parser::<logpipe_top_functions::TopFunctionsParser>(&config),
        "filter" => filter::<logpipe_filter::PredictionFilter>(&config),
        _ => return None,
    })
}

impl NativePlugin {
    fn info(&self) -> &Info {
        match self {
            NativePlugin::Parser { info, .. } | NativePlugin::Filter { info, .. } => info,
        }
    }

    /// `batch` as the SDK's batch runner sees it.
    fn events<'b>(
        &self,
        batch: &'b EventBatch,
    ) -> PackedEvents<'static, impl Fn(usize) -> Option<&'b str>> {
        PackedEvents {
            parts: batch.parts().len(),
            needs: self.info().needs,
            part: |k: usize| batch.part(k),
        }
    }

    /// Parses a batch the way a component would answer it.
    pub fn parse(&self, batch: &EventBatch) -> ParsedBatch {
        let NativePlugin::Parser { parse, .. } = self else {
            unreachable!("parse on a filter");
        };
        let parsed = self.events(batch).parse(parse);
        ParsedBatch {
            text: parsed.text,
            documents: parsed.documents,
            problems: EventProblem::rejected(parsed.errors),
        }
    }

    /// Decides a batch the way a component would answer it.
    pub fn accept(&self, batch: &EventBatch) -> Decisions {
        let NativePlugin::Filter { accept, .. } = self else {
            unreachable!("accept on a parser");
        };
        let decided = self.events(batch).accept(accept);
        Decisions {
            keep: decided.keep,
            problems: EventProblem::rejected(decided.errors),
        }
    }
}

impl super::runner::StageRunner for NativePlugin {
    fn parse(&mut self, batch: &EventBatch) -> ParsedBatch {
        NativePlugin::parse(self, batch)
    }

    fn accept(&mut self, batch: &EventBatch) -> Decisions {
        NativePlugin::accept(self, batch)
    }

    /// A native build is compiled in: there is no other version to switch to.
    fn switch_to(
        &mut self,
        _plugin: std::sync::Arc<super::LoadedPlugin>,
    ) -> Result<(), super::LoadError> {
        Ok(())
    }
}
