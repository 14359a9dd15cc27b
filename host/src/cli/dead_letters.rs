//! `logpipe dead-letters`: look at and re-send the documents Elasticsearch refused.

use super::common::StorageArgs;
use super::exit::{self, ExitError};
use crate::document::Document;
use crate::sink::elasticsearch::retry::ItemOutcome;
use crate::sink::elasticsearch::service::EsService;
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

/// The dead-letter file of each `es:` sink (`$LOGPIPE_DEAD_LETTER_FILE`, default
/// `<state dir>/dead-letters.ndjson`).
#[derive(Debug, Args)]
pub struct DeadLettersCommand {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Send every dead letter again, once its cause is fixed (a mapping, a full
    /// disk, credentials): entries accepted or already present are removed from
    /// the file, the others stay. Appenders (a running `run`) wait meanwhile.
    /// Exit status 1 when some are still refused.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
struct ReplayArgs {
    #[command(flatten)]
    pipeline: StorageArgs,
    /// Say what would be sent (documents per index), send nothing.
    #[arg(long)]
    dry_run: bool,
}

impl DeadLettersCommand {
    /// Runs the action.
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self.action {
            Action::Replay(args) => args.execute(),
        }
    }
}

impl ReplayArgs {
    fn execute(self) -> anyhow::Result<ExitCode> {
        let settings = self.pipeline.resolve()?;
        let addresses: Vec<_> = settings.es_sinks().collect();
        if addresses.is_empty() {
            return Err(ExitError::bad_input(
                "no es: sink configured: dead letters come from Elasticsearch sinks (give --sink es:URL)",
            )
            .into());
        }
        let runtime = super::runtime()?;
        let mut still_refused = 0;
        for address in addresses {
            let config = crate::pipeline::open::es_config(&settings, address);
            let service = EsService::new(config)?;
            still_refused += runtime.block_on(replay(&service, self.dry_run))?;
        }
        Ok(ExitCode::from(if still_refused > 0 {
            exit::FAILURE
        } else {
            exit::OK
        }))
    }
}

/// Replays one sink's file; returns how many entries are still refused.
/// Documents sent per bulk request of a replay.
const REPLAY_SLICE: usize = 1000;

async fn replay(service: &EsService, dry_run: bool) -> anyhow::Result<usize> {
    let dead = service.dead_letters();
    let path = dead.path().display().to_string();
    if !dead.path().exists() {
        println!("{path}: no dead letters");
        return Ok(0);
    }
    let replay = dead
        .replay()
        .map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
    let mut per_index: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &replay.entries {
        *per_index.entry(&e.index).or_default() += 1;
    }
    println!(
        "{path}: {} entries{}",
        replay.entries.len(),
        if replay.unreadable.is_empty() {
            String::new()
        } else {
            format!(
                ", {} unreadable lines (kept as they are)",
                replay.unreadable.len()
            )
        }
    );
    for (index, n) in &per_index {
        println!("  {index}: {n}");
    }
    if dry_run {
        println!("dry run: nothing sent");
        return Ok(0);
    }
    let docs: Vec<Document> = replay
        .entries
        .iter()
        .map(|e| Document {
            index: Arc::from(e.index.as_str()),
            id: e.id.clone(),
            source: e.source.clone(),
            // Dead letters go back to Elasticsearch, which keys by id alone.
            line_time: 0,
            prediction: None,
            columns: None,
            block: None,
        })
        .collect();
    // In slices, so that a long replay shows its progress.
    let mut progress =
        super::progress::Progress::new("replay", "documents", Some(docs.len() as u64));
    let mut outcomes = Vec::with_capacity(docs.len());
    for slice in docs.chunks(REPLAY_SLICE) {
        outcomes.extend(service.send_each_once(slice).await);
        progress.update(outcomes.len() as u64, outcomes.len() as u64);
    }
    progress.finish();
    let (mut stored, mut present, mut refused) = (0, 0, Vec::new());
    for (entry, outcome) in replay.entries.iter().zip(&outcomes) {
        match outcome {
            ItemOutcome::Stored => stored += 1,
            ItemOutcome::AlreadyPresent => present += 1,
            ItemOutcome::Retry { reason, .. }
            | ItemOutcome::Rejected { reason, .. }
            | ItemOutcome::RequestRefused { reason, .. } => {
                refused.push((entry.id.as_str(), reason.as_str()))
            }
        }
    }
    println!(
        "  stored: {stored}  already present: {present}  still refused: {}",
        refused.len()
    );
    for (id, reason) in refused.iter().take(5) {
        println!("    {id}: {reason}");
    }
    let settled: std::collections::HashSet<String> = replay
        .entries
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| matches!(o, ItemOutcome::Stored | ItemOutcome::AlreadyPresent))
        .map(|(e, _)| e.line.clone())
        .collect();
    let left = refused.len();
    replay
        .finish(|e| !settled.contains(&e.line))
        .map_err(|e| anyhow::anyhow!("rewriting {path}: {e}"))?;
    Ok(left)
}
