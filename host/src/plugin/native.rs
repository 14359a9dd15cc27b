//! The reference plugins compiled natively, for benchmarks: the same logic the
//! components run, called without WebAssembly, so the sandbox's cost is a ratio.

use super::instance::RawDocument;
use super::runner::Outcome;
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

/// An event as the native plugins see it.
pub struct NativeEvent<'a> {
    /// The message.
    pub message: &'a str,
    /// Needed fields, owned as the component would receive them.
    pub fields: Vec<(String, String)>,
}

impl<'a> NativeEvent<'a> {
    /// The native form of events built for a component.
    pub fn from_params(events: &[super::EventParam<'a>]) -> Vec<Self> {
        events
            .iter()
            .map(|e| NativeEvent {
                message: e.message,
                fields: e
                    .fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            })
            .collect()
    }
}

impl NativePlugin {
    /// Parses a batch the way a component would answer it.
    pub fn parse(&self, events: &[NativeEvent<'_>]) -> Vec<Outcome<Vec<RawDocument>>> {
        let NativePlugin::Parser { parse, .. } = self else {
            unreachable!("parse on a filter");
        };
        let mut emit = Emit::new();
        events
            .iter()
            .map(|e| {
                emit.clear();
                match parse(&Event::with_fields(e.message, &e.fields), &mut emit) {
                    Ok(()) => Outcome::Ok(
                        emit.take()
                            .into_iter()
                            .map(|(channel, json)| RawDocument { channel, json })
                            .collect(),
                    ),
                    Err(reason) => Outcome::Rejected(reason),
                }
            })
            .collect()
    }

    /// Decides a batch the way a component would answer it.
    pub fn accept(&self, events: &[NativeEvent<'_>]) -> Vec<Outcome<bool>> {
        let NativePlugin::Filter { accept, .. } = self else {
            unreachable!("accept on a parser");
        };
        events
            .iter()
            .map(
                |e| match accept(&Event::with_fields(e.message, &e.fields)) {
                    Ok(b) => Outcome::Ok(b),
                    Err(reason) => Outcome::Rejected(reason),
                },
            )
            .collect()
    }
}
