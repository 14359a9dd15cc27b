//! `logpipe trace`: one transaction across the indices.

use super::common::StorageArgs;
use super::exit::ExitError;
use crate::config::StoredSpec;
use crate::es::EsClient;
use crate::store::StoreReader;
use anyhow::Context;
use clap::Args;
use elasticsearch::SearchParts;
use serde_json::Value;
use std::process::ExitCode;

/// Shows the raw lines, the prediction and the performance metrics of one
/// transaction, joined by `transaction_id` across the indices of the first
/// `sqlite:` or `es:` sink. Exit status 1 when nothing has that id.
#[derive(Debug, Args)]
pub struct TraceCommand {
    /// The transaction id (the bracketed id of an API call).
    transaction_id: String,
    #[command(flatten)]
    pipeline: StorageArgs,
}

impl TraceCommand {
    /// Looks the transaction up and prints it.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        let settings = self.pipeline.resolve()?;
        let sink = settings.stored().ok_or_else(|| {
            ExitError::bad_input("trace reads an sqlite: or es: sink; none is configured")
        })?;
        let docs: Vec<(String, Value)> = match &sink {
            StoredSpec::Sqlite(path) => {
                let mut store = StoreReader::open(path)
                    .map_err(|e| ExitError::bad_input(super::exit::chain(&e)))?;
                store
                    .trace(&self.transaction_id)?
                    .into_iter()
                    .map(|(index, _, source)| Ok((index, serde_json::from_str(&source)?)))
                    .collect::<anyhow::Result<_>>()?
            }
            StoredSpec::Es(address) => {
                let config = crate::pipeline::open::es_config(&settings, address);
                let service = EsClient::connect(&config)?;
                let runtime = super::runtime()?;
                runtime.block_on(search(&service, &self.transaction_id))?
            }
        };
        if docs.is_empty() {
            eprintln!(
                "no document has transaction_id {} in {sink}",
                self.transaction_id
            );
            return Ok(ExitCode::from(super::exit::FAILURE));
        }
        print_trace(&self.transaction_id, &settings.line_index, &docs);
        Ok(ExitCode::SUCCESS)
    }
}

async fn search(service: &EsClient, tx: &str) -> anyhow::Result<Vec<(String, Value)>> {
    let resp = service
        .client()
        .search(SearchParts::Index(&["*"]))
        .body(serde_json::json!({
            "size": 1000,
            "query": {"term": {"transaction_id": tx}},
            "sort": [{"@timestamp": {"order": "asc", "unmapped_type": "date"}}]
        }))
        .send()
        .await
        .with_context(|| format!("searching {}", service.label()))?;
    let status = resp.status_code().as_u16();
    let body: Value = resp.json().await?;
    anyhow::ensure!(
        (200..300).contains(&status),
        "{}: search answered {status}: {body}",
        service.label()
    );
    Ok(body["hits"]["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            (
                h["_index"].as_str().unwrap_or("").to_string(),
                h["_source"].clone(),
            )
        })
        .collect())
}

fn print_trace(tx: &str, line_index: &str, docs: &[(String, Value)]) {
    println!("transaction {tx}");
    println!("\nraw lines ({line_index}):");
    for (_, d) in docs.iter().filter(|(i, _)| i == line_index) {
        println!("  {}", d["raw_log"].as_str().unwrap_or(""));
    }
    for (index, d) in docs.iter().filter(|(i, _)| i != line_index) {
        if d.get("input_data").is_some() {
            println!("\nprediction ({index}):");
            println!(
                "  {} {} -> {}  {} ms",
                d["http_method"].as_str().unwrap_or("?"),
                d["http_path"].as_str().unwrap_or("?"),
                d["status_code"],
                d["execution_time_ms"]
            );
            println!("  input:  {}", d["input_data"]);
            println!("  result: {}", d["result"]);
        } else if d.get("inference_time_ms").is_some() || d.get("top_functions").is_some() {
            println!("\nperformance ({index}):");
            println!(
                "  inference {} ms, cpu {} ms, memory {} MB (delta {}), {} function calls",
                d["inference_time_ms"],
                d["cpu_time_ms"],
                d["memory_mb"],
                d["memory_delta_mb"],
                d["function_calls"]
            );
            for f in d["top_functions"].as_array().into_iter().flatten() {
                println!(
                    "    {} ({}:{}) cumulative {} ms, {} calls",
                    f["function"].as_str().unwrap_or("?"),
                    f["file"].as_str().unwrap_or("?"),
                    f["line"],
                    f["cumulative_time_ms"],
                    f["calls"]
                );
            }
        } else {
            println!("\n{index}:\n  {d}");
        }
    }
}
