//! A parser a hostile author would write, built against contract 0.2.0 with
//! wit-bindgen alone (the SDK would refuse to produce most of these answers).
//!
//! On a line whose message contains `TRIGGER` it does what `mode` says (with
//! `all=1`, on every line); on any other line it emits `{"length": N}` on
//! channel `out`, so tests can check that the other lines still get through.
//! `n` sizes the floods (default 1,000,000).

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "../../../wit/since_v0.2.0", world: "parser-plugin" });

    use exports::logpipe::plugin::parser::{Document, Guest, Parsed};
    use logpipe::plugin::types::{Batch, EventError, PluginInfo, Span};
    use std::cell::RefCell;

    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        /// `std::thread::sleep` for `n` milliseconds (a blocking WASI call).
        Sleep,
        /// Waits `n` milliseconds of wall-clock time in a loop of 1 ms sleeps.
        Busy,
        /// `n` documents for the line, of about `bytes` bytes each (default `{}`).
        ManyDocuments,
        /// `n` documents all pointing at one stretch of text of about `bytes`
        /// bytes (default 10 MB).
        Overlap,
        /// One document with `n` keys.
        Keys,
        /// `n` errors for the batch.
        Errors,
        /// One error whose reason is `n` bytes long.
        LongReason,
        /// Reads the clocks and random bytes, which the sandbox grants.
        Clocks,
        /// `{"status_code": "not a number"}`: a field a search server refuses.
        TextStatus,
    }

    struct Settings {
        mode: Mode,
        n: u64,
        bytes: usize,
        all: bool,
    }

    thread_local! {
        static SETTINGS: RefCell<Settings> = const {
            RefCell::new(Settings { mode: Mode::Sleep, n: 1_000_000, bytes: 0, all: false })
        };
    }

    struct Hostile;

    impl Guest for Hostile {
        fn info() -> PluginInfo {
            PluginInfo {
                name: "hostile".into(),
                version: "0.0.1".into(),
                needs: vec![],
                channels: vec!["out".into()],
            }
        }

        fn configure(config: Vec<(String, String)>) -> Result<(), String> {
            let mut s = Settings {
                mode: Mode::Sleep,
                n: 1_000_000,
                bytes: 0,
                all: false,
            };
            for (k, v) in config {
                match k.as_str() {
                    "mode" => {
                        s.mode = match v.as_str() {
                            "sleep" => Mode::Sleep,
                            "busy" => Mode::Busy,
                            "many-documents" => Mode::ManyDocuments,
                            "overlap" => Mode::Overlap,
                            "keys" => Mode::Keys,
                            "errors" => Mode::Errors,
                            "long-reason" => Mode::LongReason,
                            "clocks" => Mode::Clocks,
                            "text-status" => Mode::TextStatus,
                            other => return Err(format!("unknown mode `{other}`")),
                        }
                    }
                    "n" => s.n = v.parse().map_err(|_| format!("n: not a number: {v}"))?,
                    "bytes" => {
                        s.bytes = v.parse().map_err(|_| format!("bytes: not a number: {v}"))?
                    }
                    "all" => s.all = v == "1",
                    other => return Err(format!("unknown key `{other}`")),
                }
            }
            SETTINGS.with(|cell| *cell.borrow_mut() = s);
            Ok(())
        }

        fn parse(batch: Batch) -> Parsed {
            SETTINGS.with(|cell| answer(&cell.borrow(), &batch))
        }
    }

    fn answer(s: &Settings, batch: &Batch) -> Parsed {
        let mut out = Parsed {
            text: String::new(),
            documents: Vec::new(),
            errors: Vec::new(),
        };
        for (event, part) in batch.parts.iter().enumerate() {
            let event = event as u32;
            let message = part.map_or("", |p| {
                &batch.text[p.start as usize..(p.start + p.len) as usize]
            });
            if !(s.all || message.contains("TRIGGER")) {
                let start = out.text.len() as u32;
                out.text
                    .push_str(&format!("{{\"length\":{}}}", message.len()));
                let len = out.text.len() as u32 - start;
                out.documents.push(Document {
                    event,
                    channel: 0,
                    json: Span { start, len },
                });
                continue;
            }
            misbehave(s, event, &mut out);
        }
        out
    }

    /// A document of about `bytes` bytes (`{}` for 0).
    fn document_of(bytes: usize) -> String {
        if bytes == 0 {
            return "{}".into();
        }
        format!("{{\"x\":\"{}\"}}", "x".repeat(bytes.saturating_sub(8)))
    }

    fn push_doc(out: &mut Parsed, event: u32, json: &str) {
        let start = out.text.len() as u32;
        out.text.push_str(json);
        out.documents.push(Document {
            event,
            channel: 0,
            json: Span {
                start,
                len: json.len() as u32,
            },
        });
    }

    fn misbehave(s: &Settings, event: u32, out: &mut Parsed) {
        match s.mode {
            Mode::Sleep => std::thread::sleep(std::time::Duration::from_millis(s.n)),
            Mode::Busy => {
                let start = std::time::Instant::now();
                while start.elapsed() < std::time::Duration::from_millis(s.n) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                push_doc(out, event, "{\"busy\":true}");
            }
            Mode::ManyDocuments => {
                let json = document_of(s.bytes);
                for _ in 0..s.n {
                    push_doc(out, event, &json);
                }
            }
            Mode::Overlap => {
                let start = out.text.len() as u32;
                out.text
                    .push_str(&document_of(if s.bytes == 0 { 10 << 20 } else { s.bytes }));
                let len = out.text.len() as u32 - start;
                for _ in 0..s.n {
                    out.documents.push(Document {
                        event,
                        channel: 0,
                        json: Span { start, len },
                    });
                }
            }
            Mode::Keys => {
                let mut json = String::from("{");
                for k in 0..s.n {
                    if k > 0 {
                        json.push(',');
                    }
                    json.push_str(&format!("\"k{k}\":{k}"));
                }
                json.push('}');
                push_doc(out, event, &json);
            }
            Mode::Errors => {
                for _ in 0..s.n {
                    out.errors.push(EventError {
                        event,
                        reason: "no".into(),
                    });
                }
            }
            Mode::LongReason => {
                out.errors.push(EventError {
                    event,
                    reason: "r".repeat(s.n as usize),
                });
            }
            Mode::TextStatus => push_doc(out, event, "{\"status_code\":\"not a number\"}"),
            Mode::Clocks => {
                let mut bytes = [0u8; 16];
                let random = wasi_random(&mut bytes);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let json = format!("{{\"unix\":{now},\"random_bytes\":{random}}}");
                push_doc(out, event, &json);
            }
        }
    }

    /// Reads random bytes the way CPython does at start (through `getrandom`,
    /// which is `wasi:random` on this target); returns how many were read.
    fn wasi_random(bytes: &mut [u8]) -> usize {
        let seed = std::collections::hash_map::RandomState::new();
        use std::hash::{BuildHasher, Hasher};
        let mut h = seed.build_hasher();
        h.write_u8(1);
        let v = h.finish().to_le_bytes();
        let n = bytes.len().min(v.len());
        bytes[..n].copy_from_slice(&v[..n]);
        n
    }

    export!(Hostile);
}
