//! Collection from a window over HTTP (simulator; a real Gradio app in
//! `gradio.rs`): paging, shifting offsets, identical lines, restarts, gaps,
//! and every error kind.

use logpipe::ids::{Checkpoint, WindowTracker};
use logpipe::pipeline::collect::{Collector, Poll};
use logpipe::simulate::{Fault, Knobs, Simulator};
use logpipe::source::error::SourceErrorKind;
use logpipe::source::http::{Endpoint, PageFetcher};
use std::collections::HashSet;
use std::time::Duration;

async fn simulator(lines: usize) -> Simulator {
    Simulator::start("127.0.0.1:0".parse().unwrap(), Knobs::default(), lines)
        .await
        .unwrap()
}

fn gradio(sim: &Simulator) -> Collector {
    Collector::new(PageFetcher::new(
        Endpoint::Gradio {
            base: format!("http://{}", sim.addr()),
            api: "logs_api".into(),
        },
        None,
    ))
}

fn rest(sim: &Simulator) -> Collector {
    Collector::new(PageFetcher::new(
        Endpoint::Rest {
            url: format!("http://{}/logs", sim.addr()),
        },
        None,
    ))
}

/// The line a record came from (the endpoint drops the logger, which is `api`).
fn line_of(poll: &Poll) -> Vec<String> {
    poll.lines
        .iter()
        .map(|(_, _, r)| {
            format!(
                "{} - api - {} - {}",
                r.timestamp().unwrap(),
                r.level().unwrap(),
                r.message()
            )
        })
        .collect()
}

async fn poll_and_remember(c: &Collector, t: &mut WindowTracker) -> Poll {
    let poll = c.poll(t).await.unwrap();
    t.remember(poll.lines.iter().map(|(_, s, _)| *s));
    poll
}

#[tokio::test(flavor = "multi_thread")]
async fn collects_every_line_in_order_across_pages_then_quiet_polls_cost_one_request() {
    let sim = simulator(450).await;
    let c = gradio(&sim);
    let mut t = WindowTracker::new();
    let first = poll_and_remember(&c, &mut t).await;
    assert_eq!(line_of(&first), sim.ledger(), "every line, oldest first");
    assert!(
        first.requests >= 5,
        "450 lines in pages of 100: {}",
        first.requests
    );
    let before = sim.requests();
    let quiet = poll_and_remember(&c, &mut t).await;
    assert!(quiet.lines.is_empty());
    assert_eq!(quiet.requests, 1);
    assert_eq!(sim.requests() - before, 1);
    sim.push_lines(30);
    let busy = poll_and_remember(&c, &mut t).await;
    assert_eq!(line_of(&busy), sim.ledger()[450..].to_vec());
    assert_eq!(busy.requests, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn offsets_shifting_during_paging_lose_and_repeat_nothing() {
    let sim = simulator(600).await;
    let mut t = WindowTracker::new();
    let c = gradio(&sim);
    let first = poll_and_remember(&c, &mut t).await;
    let mut collected = line_of(&first);
    // Lines keep arriving while each page is read.
    sim.set_churn(7);
    sim.push_lines(250);
    let second = poll_and_remember(&c, &mut t).await;
    assert!(second.requests > 1, "it had to page");
    collected.extend(line_of(&second));
    sim.set_churn(0);
    let third = poll_and_remember(&c, &mut t).await;
    collected.extend(line_of(&third));
    let ledger = sim.ledger();
    assert_eq!(
        collected, ledger,
        "exactly the ledger: nothing skipped, nothing twice"
    );
    let ids: HashSet<_> = first
        .lines
        .iter()
        .chain(&second.lines)
        .chain(&third.lines)
        .map(|(id, _, _)| *id)
        .collect();
    assert_eq!(ids.len(), ledger.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_lines_of_one_second_arrive_with_distinct_ids() {
    let sim = simulator(20).await;
    let mut t = WindowTracker::new();
    let c = rest(&sim);
    poll_and_remember(&c, &mut t).await;
    let health =
        "2025-11-21 10:00:00 - api - INFO - Health check effectué - Model: True, Redis: True";
    for _ in 0..3 {
        sim.push_raw(health);
    }
    let poll = poll_and_remember(&c, &mut t).await;
    assert_eq!(poll.lines.len(), 3);
    let ids: HashSet<_> = poll.lines.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids.len(), 3);
    // One more identical line in a later poll continues the ranks.
    sim.push_raw(health);
    let next = poll_and_remember(&c, &mut t).await;
    assert_eq!(next.lines.len(), 1);
    assert!(!ids.contains(&next.lines[0].0));
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_with_checkpoint_emits_nothing_old_and_without_one_the_same_ids() {
    let sim = simulator(250).await;
    let dir = tempfile::tempdir().unwrap();
    let cp = Checkpoint::new(dir.path(), "gradio:test");
    let c = gradio(&sim);
    let mut t = cp.load().unwrap();
    let first = poll_and_remember(&c, &mut t).await;
    cp.save(&t).unwrap();
    // "Restart": a new tracker from the checkpoint.
    let restored = cp.load().unwrap();
    sim.push_lines(5);
    let after = c.poll(&restored).await.unwrap();
    assert_eq!(line_of(&after), sim.ledger()[250..].to_vec());
    // Without a checkpoint everything comes again, with the same ids.
    let again = c.poll(&WindowTracker::new()).await.unwrap();
    let old: Vec<_> = first.lines.iter().map(|(id, _, _)| *id).collect();
    let replay: Vec<_> = again
        .lines
        .iter()
        .take(old.len())
        .map(|(id, _, _)| *id)
        .collect();
    assert_eq!(replay, old);
}

#[tokio::test(flavor = "multi_thread")]
async fn overflow_between_polls_is_reported_as_a_gap() {
    let sim = simulator(100).await;
    let c = rest(&sim);
    let mut t = WindowTracker::new();
    assert!(poll_and_remember(&c, &mut t).await.gap.is_none());
    let remembered = sim.ledger().len();
    sim.push_lines(1500);
    let poll = poll_and_remember(&c, &mut t).await;
    let gap = poll.gap.expect("gap reported");
    assert_eq!(gap.window_entries, 1000);
    assert_eq!(gap.remembered, remembered);
    assert_eq!(poll.lines.len(), 1000);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_kind_is_reported_and_the_next_poll_works() {
    let sim = simulator(50).await;
    let c = gradio(&sim);
    let t = WindowTracker::new();
    for (fault, kind) in [
        (Fault::Status(503), SourceErrorKind::Status(503)),
        (Fault::Status(401), SourceErrorKind::Unauthorized),
        (Fault::ApiError, SourceErrorKind::Api),
        (Fault::EventError, SourceErrorKind::Api),
        (Fault::Malformed, SourceErrorKind::Malformed),
    ] {
        sim.inject([fault.clone()]);
        let err = c.poll(&t).await.unwrap_err();
        assert_eq!(err.kind, kind, "{fault:?}: {err}");
        assert!(
            err.to_string().contains(&sim.addr().to_string()),
            "names the URL: {err}"
        );
        if kind == SourceErrorKind::Unauthorized {
            assert!(err.to_string().contains("HF_TOKEN"));
        }
        assert_eq!(
            c.poll(&t).await.unwrap().lines.len(),
            50,
            "recovers after {fault:?}"
        );
    }
    // Refused connection.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let refused = Collector::new(PageFetcher::new(
        Endpoint::Rest {
            url: format!("http://{addr}/logs"),
        },
        None,
    ));
    assert_eq!(
        refused.poll(&t).await.unwrap_err().kind,
        SourceErrorKind::Connect
    );
    // A server that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let slow = Collector::new(PageFetcher::with_timeout(
        Endpoint::Rest {
            url: format!("http://{silent_addr}/logs"),
        },
        None,
        Duration::from_millis(300),
    ));
    assert_eq!(
        slow.poll(&t).await.unwrap_err().kind,
        SourceErrorKind::Timeout
    );
}
