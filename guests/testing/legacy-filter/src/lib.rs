//! A filter built against contract 0.1.0 with wit-bindgen directly, as a third
//! party wrote it before 0.2.0: the host must keep loading and running it.
//!
//! Keeps messages containing `keep`; a message containing `REFUSE` is an error
//! of the event.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "../../../wit/since_v0.1.0", world: "filter-plugin" });

    use exports::logpipe::plugin::filter::{Event, Guest, PluginInfo};

    struct Legacy;

    impl Guest for Legacy {
        fn info() -> PluginInfo {
            PluginInfo {
                name: "legacy-filter".into(),
                version: "0.1.0".into(),
                needs: Vec::new(),
                channels: Vec::new(),
            }
        }

        fn configure(_config: Vec<(String, String)>) -> Result<(), String> {
            Ok(())
        }

        fn accept(events: Vec<Event>) -> Vec<Result<bool, String>> {
            events
                .iter()
                .map(|e| {
                    if e.message.contains("REFUSE") {
                        Err("legacy-filter: refused".to_string())
                    } else {
                        Ok(e.message.contains("keep"))
                    }
                })
                .collect()
        }
    }

    export!(Legacy);
}
