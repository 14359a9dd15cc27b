//! The reference plugins compiled natively, for benchmarks: the same logic the
//! components run, called without WebAssembly, so the sandbox's cost is a ratio.

use super::batch::{Decisions, EventBatch, EventProblem, ParsedBatch, Problem};
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

    /// Calls `each` with every event of `batch` as the plugin sees it.
    fn for_each_event(&self, batch: &EventBatch, mut each: impl FnMut(u32, &Event<'_>)) {
        let needs = self.info().needs;
        let mut values: Vec<Option<&str>> = Vec::with_capacity(needs.len());
        for i in 0..batch.len() {
            values.clear();
            values.extend(batch.values(i));
            each(
                i as u32,
                &Event::with_needs(batch.message(i), needs, &values),
            );
        }
    }

    /// Parses a batch the way a component would answer it.
    pub fn parse(&self, batch: &EventBatch) -> ParsedBatch {
        let NativePlugin::Parser { parse, .. } = self else {
            unreachable!("parse on a filter");
        };
        let mut emit = Emit::new();
        let mut problems = Vec::new();
        self.for_each_event(batch, |i, event| {
            emit.start_event(i);
            if let Err(reason) = parse(event, &mut emit) {
                emit.discard_event();
                problems.push(EventProblem {
                    event: i,
                    problem: Problem::Rejected(reason),
                });
            }
        });
        let (text, documents) = emit.into_parts();
        ParsedBatch {
            text,
            documents,
            problems,
        }
    }

    /// Decides a batch the way a component would answer it.
    pub fn accept(&self, batch: &EventBatch) -> Decisions {
        let NativePlugin::Filter { accept, .. } = self else {
            unreachable!("accept on a parser");
        };
        let mut decisions = Decisions::default();
        self.for_each_event(batch, |i, event| match accept(event) {
            Ok(keep) => decisions.keep.push(keep),
            Err(reason) => {
                decisions.keep.push(false);
                decisions.problems.push(EventProblem {
                    event: i,
                    problem: Problem::Rejected(reason),
                });
            }
        });
        decisions
    }
}
