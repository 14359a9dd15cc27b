//! A parser built against contract 0.1.0 with wit-bindgen directly, as a third
//! party wrote it before 0.2.0: the host must keep loading and running it.
//!
//! For each event it emits `{"length": N, "level": "…"}` on channel `out` (the
//! `level` field it asks for, when the event has it); a message containing
//! `REFUSE` is an error of the event.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "../../../wit/since_v0.1.0", world: "parser-plugin" });

    use exports::logpipe::plugin::parser::{Document, Event, Guest, PluginInfo};

    struct Legacy;

    impl Guest for Legacy {
        fn info() -> PluginInfo {
            PluginInfo {
                name: "legacy-parser".into(),
                version: "0.1.0".into(),
                needs: vec!["level".into()],
                channels: vec!["out".into()],
            }
        }

        fn configure(_config: Vec<(String, String)>) -> Result<(), String> {
            Ok(())
        }

        fn parse(events: Vec<Event>) -> Vec<Result<Vec<Document>, String>> {
            events
                .iter()
                .map(|e| {
                    if e.message.contains("REFUSE") {
                        return Err("legacy-parser: refused".to_string());
                    }
                    let level = e
                        .fields
                        .iter()
                        .find(|(k, _)| k == "level")
                        .map_or("none", |(_, v)| v.as_str());
                    let json = format!(r#"{{"length":{},"level":"{level}"}}"#, e.message.len());
                    Ok(vec![Document { channel: 0, json }])
                })
                .collect()
        }
    }

    export!(Legacy);
}
