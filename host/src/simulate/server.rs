//! The simulator's HTTP side: a growing window of generated lines served through
//! Gradio's call protocol (`/gradio_api/call/logs_api`) and the plain route
//! (`/logs`), with injectable faults and a ledger of every line produced.

use super::generator::{Generator, Knobs};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The API's window size (`REDIS_LOGS_MAX_SIZE`).
pub const WINDOW: usize = 1000;

/// A failure the simulator gives instead of its next answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// An HTTP status on the call (e.g. 503, 401).
    Status(u16),
    /// A normal answer holding `{"error": ...}` (what the UI proxy does when the API is down).
    ApiError,
    /// `event: error` on the event stream.
    EventError,
    /// An event stream whose data is not JSON.
    Malformed,
}

struct Sim {
    window: VecDeque<String>,
    ledger: Vec<String>,
    generator: Generator,
    faults: VecDeque<Fault>,
    events: HashMap<String, Result<(u64, u64), ()>>,
    next_event: u64,
    requests: u64,
    churn: usize,
    growing: bool,
}

/// A running simulator.
pub struct Simulator {
    state: Arc<Mutex<Sim>>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

type Shared = Arc<Mutex<Sim>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Sim> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl Simulator {
    /// Starts serving on `listen` (port 0 picks a free one) with `initial_lines` already logged.
    pub async fn start(
        listen: SocketAddr,
        knobs: Knobs,
        initial_lines: usize,
    ) -> std::io::Result<Self> {
        // About two seconds per line (0-3 s between events of 1-3 lines): the
        // lines logged at start end about now.
        let follow_clock = knobs.start.is_none();
        let start = knobs
            .start
            .unwrap_or_else(|| jiff::Timestamp::now().as_second() - 2 * initial_lines as i64);
        let state = Arc::new(Mutex::new(Sim {
            window: VecDeque::with_capacity(WINDOW),
            ledger: Vec::new(),
            generator: Generator::new(knobs, start),
            faults: VecDeque::new(),
            events: HashMap::new(),
            next_event: 0,
            requests: 0,
            churn: 0,
            growing: false,
        }));
        push_lines(&state, initial_lines);
        if follow_clock {
            lock(&state).generator.follow_clock();
        }
        let app = Router::new()
            .route("/gradio_api/call/{api}", post(call))
            .route("/gradio_api/call/{api}/{event}", get(events))
            .route("/logs", get(logs))
            .route("/_simulator/ledger", get(ledger))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            state,
            addr,
            stop: Some(tx),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Logs at least `n` more lines (whole events), as the API would.
    pub fn push_lines(&self, n: usize) {
        push_lines(&self.state, n);
    }

    /// Logs one raw line as it is (for tests of odd records).
    pub fn push_raw(&self, line: &str) {
        let mut s = lock(&self.state);
        s.ledger.push(line.to_string());
        s.window.push_front(line.to_string());
        s.window.truncate(WINDOW);
    }

    /// The next answers fail with these faults, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.state).faults.extend(faults);
    }

    /// After answering each page, logs `lines` more: offsets shift under paging,
    /// as they do on a busy API.
    pub fn set_churn(&self, lines: usize) {
        lock(&self.state).churn = lines;
    }

    /// Empties the window, as `DELETE /logs` does (the ledger keeps every line).
    pub fn clear(&self) {
        lock(&self.state).window.clear();
    }

    /// Every line logged so far, oldest first.
    pub fn ledger(&self) -> Vec<String> {
        lock(&self.state).ledger.clone()
    }

    /// Requests answered so far (a Gradio call counts once, on its POST).
    pub fn requests(&self) -> u64 {
        lock(&self.state).requests
    }

    /// Stops the growth started by [`Simulator::grow`].
    pub fn stop_growing(&self) {
        lock(&self.state).growing = false;
    }

    /// Logs `rate` lines per second until [`Simulator::stop_growing`] or drop.
    pub fn grow(&self, rate: f64) {
        lock(&self.state).growing = true;
        let state = Arc::downgrade(&self.state);
        let period = std::time::Duration::from_secs_f64(1.0 / rate.max(0.001));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(state) = state.upgrade() else { break };
                if !lock(&state).growing {
                    break;
                }
                push_lines(&state, 1);
            }
        });
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn push_lines(state: &Shared, n: usize) {
    if n == 0 {
        return;
    }
    let mut s = lock(state);
    let mut pushed = 0;
    while pushed < n {
        for line in s.generator.next_event() {
            s.ledger.push(line.clone());
            s.window.push_front(line);
            pushed += 1;
        }
    }
    s.window.truncate(WINDOW);
}

/// The API's answer for a page: entries cut at the first three ` - `; records
/// without them are left out of `logs` but count in `total` and the offsets.
fn window_json(window: &VecDeque<String>, offset: u64, limit: u64) -> String {
    let logs: Vec<serde_json::Value> = window
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .filter_map(|line| {
            let mut parts = line.splitn(4, " - ");
            let (ts, _logger, level, message) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            Some(serde_json::json!({"timestamp": ts, "level": level, "message": message, "data": null}))
        })
        .collect();
    serde_json::json!({"total": window.len(), "logs": logs}).to_string()
}

/// Escapes non-ASCII like Python's `json.dumps`, as Gradio sends it.
fn ascii(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

async fn call(State(s): State<Shared>, Path(_api): Path<String>, body: String) -> Response {
    let mut sim = lock(&s);
    sim.requests += 1;
    if let Some(Fault::Status(code)) = sim.faults.front().cloned() {
        sim.faults.pop_front();
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, "simulated failure").into_response();
    }
    let args = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("data").cloned())
        .and_then(|d| {
            let limit = d.get(0)?.as_f64()?;
            let offset = d.get(1)?.as_f64()?;
            ((1.0..=100.0).contains(&limit) && offset >= 0.0)
                .then_some((limit as u64, offset as u64))
        })
        .ok_or(());
    sim.next_event += 1;
    let id = format!(
        "{:032x}",
        u128::from(sim.next_event) * 0x9e37_79b9_7f4a_7c15
    );
    sim.events.insert(id.clone(), args);
    axum::Json(serde_json::json!({ "event_id": id })).into_response()
}

async fn events(State(s): State<Shared>, Path((_api, event)): Path<(String, String)>) -> Response {
    let mut sim = lock(&s);
    let body = match sim.events.remove(&event) {
        None => "event: error\ndata: \"404: Not Found\"\n\n".to_string(),
        Some(Err(())) => "event: error\ndata: null\n\n".to_string(),
        Some(Ok((limit, offset))) => match sim.faults.front().cloned() {
            Some(Fault::EventError) => {
                sim.faults.pop_front();
                "event: error\ndata: null\n\n".to_string()
            }
            Some(Fault::Malformed) => {
                sim.faults.pop_front();
                "event: complete\ndata: [{\"total\": 3, \"logs\": [\n\n".to_string()
            }
            Some(Fault::ApiError) => {
                sim.faults.pop_front();
                "event: complete\ndata: [{\"error\": \"Erreur de connexion: simulated\"}]\n\n"
                    .to_string()
            }
            _ => {
                let page = ascii(&window_json(&sim.window, offset, limit));
                let churn = sim.churn;
                drop(sim);
                push_lines(&s, churn);
                return (
                    [(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")],
                    format!("event: heartbeat\ndata: null\n\nevent: complete\ndata: [{page}]\n\n"),
                )
                    .into_response();
            }
        },
    };
    (
        [(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")],
        body,
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct Page {
    limit: Option<u64>,
    offset: Option<u64>,
}

async fn logs(State(s): State<Shared>, Query(page): Query<Page>) -> Response {
    let mut sim = lock(&s);
    sim.requests += 1;
    match sim.faults.pop_front() {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, "simulated failure").into_response();
        }
        Some(Fault::ApiError | Fault::EventError) => {
            return axum::Json(serde_json::json!({"detail": "Erreur lors de la récupération des logs : simulated"}))
                .into_response();
        }
        Some(Fault::Malformed) => return "{\"total\": 3, \"logs\": [".into_response(),
        None => {}
    }
    let limit = page.limit.unwrap_or(100);
    let offset = page.offset.unwrap_or(0);
    if !(1..=1000).contains(&limit) {
        return (StatusCode::UNPROCESSABLE_ENTITY, "limit must be 1..1000").into_response();
    }
    let page = window_json(&sim.window, offset, limit);
    let churn = sim.churn;
    drop(sim);
    push_lines(&s, churn);
    ([(header::CONTENT_TYPE, "application/json")], page).into_response()
}

async fn ledger(State(s): State<Shared>) -> Response {
    let sim = lock(&s);
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        sim.ledger.join("\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time_of(line: &str) -> i64 {
        format!("{}Z", line[..19].replace(' ', "T"))
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    }

    #[test]
    fn lines_carry_the_clocks_time_unless_a_start_is_given() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let any = "127.0.0.1:0".parse().unwrap();
            let now = jiff::Timestamp::now().as_second();
            let sim = Simulator::start(any, Knobs::default(), 200).await.unwrap();
            let ledger = sim.ledger();
            let last = time_of(ledger.last().unwrap());
            assert!((now - 600..=now + 5).contains(&last), "{last} vs {now}");
            assert!(time_of(&ledger[0]) < last);
            sim.push_lines(5);
            let grown = time_of(sim.ledger().last().unwrap());
            assert!((now..=now + 5).contains(&grown), "{grown} vs {now}");

            let start = 1_763_716_323; // 2025-11-21 09:12:03
            let knobs = Knobs {
                start: Some(start),
                ..Knobs::default()
            };
            let past = Simulator::start(any, knobs, 50).await.unwrap();
            let ledger = past.ledger();
            assert_eq!(time_of(&ledger[0]), start);
            assert!(time_of(ledger.last().unwrap()) < start + 3600);
        });
    }
}
