//! A parser that misbehaves on purpose, for the host's sandbox tests.
//!
//! On a line whose message contains `TRIGGER` it does what `mode` says; on any
//! other line it emits `{"length": N}` on channel `out`, so tests can check that
//! the other lines of a batch still get through.

use logpipe_plugin_sdk::{Config, Emit, Event, Info, Parser, export_parser};

/// What to do on a triggering line.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Loop,
    Alloc,
    Panic,
    InvalidJson,
    Inject,
    Metadata,
    Print,
    Error,
}

/// The misbehaving parser.
pub struct Misbehave {
    mode: Mode,
}

impl Parser for Misbehave {
    fn info() -> Info {
        Info::new("misbehave", "0.0.1").channels(&["out"])
    }

    fn configure(config: &Config) -> Result<Self, String> {
        config.reject_unknown(&["mode"])?;
        let mode = match config.get("mode").unwrap_or("panic") {
            "loop" => Mode::Loop,
            "alloc" => Mode::Alloc,
            "panic" => Mode::Panic,
            "invalid-json" => Mode::InvalidJson,
            "inject" => Mode::Inject,
            "metadata" => Mode::Metadata,
            "print" => Mode::Print,
            "error" => Mode::Error,
            other => return Err(format!("unknown mode `{other}`")),
        };
        Ok(Self { mode })
    }

    fn parse(&self, event: &Event<'_>, emit: &mut Emit) -> Result<(), String> {
        if !event.message.contains("TRIGGER") {
            emit.raw(0, format!("{{\"length\":{}}}", event.message.len()));
            return Ok(());
        }
        match self.mode {
            Mode::Loop => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            Mode::Alloc => {
                // black_box keeps the optimiser from eliding the allocation.
                let v: Vec<u8> = std::hint::black_box(vec![1u8; 1 << 30]);
                emit.raw(
                    0,
                    format!("{{\"length\":{}}}", std::hint::black_box(&v).len()),
                );
            }
            Mode::Panic => panic!("misbehave: panicking on purpose"),
            Mode::InvalidJson => emit.raw(0, "{\"unterminated\": ".into()),
            Mode::Inject => emit.raw(
                0,
                "{\"a\":1}\n{\"index\":{\"_index\":\"stolen\"}}\n{\"b\":2}".into(),
            ),
            Mode::Metadata => emit.raw(0, "{\"_index\":\"stolen\",\"a\":1}".into()),
            Mode::Print => {
                for i in 0..4_000 {
                    println!("misbehave: line {i} of noise on stdout");
                }
                emit.raw(0, "{\"printed\":true}".into());
            }
            Mode::Error => return Err("misbehave: refusing this line".into()),
        }
        Ok(())
    }
}

export_parser!(Misbehave);
