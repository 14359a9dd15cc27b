//! Plugins built against an older contract version keep loading and running:
//! `legacy-parser` and `legacy-filter` are written against `wit/since_v0.1.0`
//! with wit-bindgen directly, as a third party did before 0.2.0.

use crate::util::{cache_dir, guest};
use logpipe::plugin::{EventBatch, Kind, Limits, Outcome, PluginEngine, PluginRunner};

fn load(file: &str) -> PluginRunner {
    let engine = PluginEngine::new(Limits::default(), Some(cache_dir())).unwrap();
    let plugin = logpipe::plugin::LoadedPlugin::load_file(&engine, &guest(file)).unwrap();
    PluginRunner::new(plugin, vec![]).unwrap()
}

#[test]
fn a_parser_built_against_0_1_0_gets_its_fields_and_reports_errors() {
    let mut runner = load("logpipe_legacy_parser.wasm");
    let info = runner.plugin().info().clone();
    assert_eq!(
        (info.kind, info.contract.as_str(), info.needs.as_slice()),
        (Kind::Parser, "0.1.0", ["level".to_string()].as_slice())
    );
    let mut batch = EventBatch::new(1);
    batch.push("héllo", [Some("INFO")]);
    batch.push("please REFUSE this", [Some("ERROR")]);
    batch.push("no level", [None]);
    let parsed = runner.parse(&batch);
    let outcomes = parsed.outcomes(batch.len());
    let json = |i: usize| match &outcomes[i] {
        Outcome::Ok(docs) => docs.iter().map(|d| (d.channel, d.json)).collect::<Vec<_>>(),
        other => panic!("event {i}: {other:?}"),
    };
    assert_eq!(json(0), [(0, r#"{"length":6,"level":"INFO"}"#)]);
    assert_eq!(
        outcomes[1],
        Outcome::Rejected("legacy-parser: refused".into())
    );
    assert_eq!(json(2), [(0, r#"{"length":8,"level":"none"}"#)]);
    assert_eq!(runner.isolated_batches, 0);
}

#[test]
fn a_filter_built_against_0_1_0_decides_every_event() {
    let mut runner = load("logpipe_legacy_filter.wasm");
    assert_eq!(runner.plugin().info().contract, "0.1.0");
    let batch = EventBatch::of_messages(["keep me", "drop me", "REFUSE and keep"]);
    let decisions = runner.accept(&batch);
    assert_eq!(decisions.keep, [true, false, false]);
    assert_eq!(
        decisions.outcomes()[2],
        Outcome::Rejected("legacy-filter: refused".into())
    );
}

#[test]
fn the_reference_plugins_are_built_against_the_current_contract() {
    let engine = PluginEngine::new(Limits::default(), Some(cache_dir())).unwrap();
    for file in [
        "logpipe_message.wasm",
        "logpipe_filter.wasm",
        "logpipe_perf.wasm",
    ] {
        let plugin = logpipe::plugin::LoadedPlugin::load_file(&engine, &guest(file)).unwrap();
        assert_eq!(plugin.info().contract, "0.2.0", "{file}");
    }
}
