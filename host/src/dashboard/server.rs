//! The dashboard's HTTP server: the page, its assets, and `/api/...`, each
//! answer computed on a blocking thread from a store connection of its own.

use super::assets;
use super::panels::Span;
use super::pipeline::History;
use super::search_panels::SearchPanels;
use super::store_panels;
use crate::drift::dataset::Dataset;
use crate::store::StoreReader;
use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the panels come from.
#[derive(Clone)]
pub enum Backend {
    /// The embedded store at this path (a connection per answer).
    Store(PathBuf),
    /// Elasticsearch, by aggregations.
    Search(Arc<SearchPanels>),
}

/// What the dashboard reads.
#[derive(Clone)]
pub struct Dashboard {
    /// The store or search server.
    pub backend: Backend,
    /// The drift reference, if one was given.
    pub reference: Option<Arc<Dataset>>,
    /// `run`'s counters over time, when served by `run`.
    pub pipeline: Option<Arc<History>>,
}

/// `?from=MS&to=MS`: the range, default the last 24 hours.
#[derive(Debug, Deserialize)]
struct RangeQuery {
    from: Option<i64>,
    to: Option<i64>,
}

impl RangeQuery {
    fn span(&self) -> Span {
        let now = jiff::Timestamp::now().as_millisecond();
        let to = self.to.unwrap_or(now + 1);
        let from = self.from.unwrap_or(to - 86_400_000);
        Span::new(from, to)
    }
}

/// Serves the dashboard until the process ends; returns the bound address.
pub async fn serve(listen: SocketAddr, dashboard: Dashboard) -> std::io::Result<SocketAddr> {
    let app = Router::new()
        .route("/", get(page))
        .route("/assets/app.js", get(app_js))
        .route("/assets/plotly.js", get(plotly_js))
        .route("/api/extent", get(extent))
        .route("/api/predictions", get(predictions))
        .route("/api/performance", get(performance))
        .route("/api/drift", get(drift))
        .route("/api/pipeline", get(pipeline))
        .route("/api/trace/{transaction_id}", get(trace))
        .with_state(dashboard);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

async fn page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        assets::PAGE,
    )
}

async fn app_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        assets::APP,
    )
}

async fn plotly_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        assets::plotly(),
    )
}

/// Runs `panel` on a store connection of its own, on a blocking thread.
async fn with_store(
    path: &std::path::Path,
    panel: impl FnOnce(&mut StoreReader) -> Result<Value, super::DashboardError> + Send + 'static,
) -> Result<Value, super::DashboardError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut store = StoreReader::open(&path)?;
        panel(&mut store)
    })
    .await?
}

/// The answer, or the error as JSON with status 500.
fn respond(answer: Result<Value, super::DashboardError>) -> Response {
    match answer {
        Ok(value) => axum::Json(value).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": crate::chain::chain(&e)})),
        )
            .into_response(),
    }
}

async fn extent(State(d): State<Dashboard>) -> Response {
    respond(match &d.backend {
        Backend::Store(path) => with_store(path, |s| store_panels::extent(s)).await,
        Backend::Search(search) => search.extent().await,
    })
}

async fn predictions(State(d): State<Dashboard>, Query(q): Query<RangeQuery>) -> Response {
    let span = q.span();
    respond(match &d.backend {
        Backend::Store(path) => with_store(path, move |s| store_panels::predictions(s, span)).await,
        Backend::Search(search) => search.predictions(span).await,
    })
}

async fn performance(State(d): State<Dashboard>, Query(q): Query<RangeQuery>) -> Response {
    let span = q.span();
    respond(match &d.backend {
        Backend::Store(path) => with_store(path, move |s| store_panels::performance(s, span)).await,
        Backend::Search(search) => search.performance(span).await,
    })
}

async fn drift(State(d): State<Dashboard>, Query(q): Query<RangeQuery>) -> Response {
    let span = q.span();
    let reference = d.reference.clone();
    respond(match &d.backend {
        Backend::Store(path) => {
            with_store(path, move |s| {
                store_panels::drift(s, span, reference.as_deref())
            })
            .await
        }
        Backend::Search(search) => search.drift(span, reference.as_deref()).await,
    })
}

async fn pipeline(State(d): State<Dashboard>) -> Response {
    match &d.pipeline {
        None => axum::Json(json!({
            "available": false,
            "why": "the pipeline's figures come from a running pipeline: serve the dashboard with `logpipe run --dashboard-listen ADDR` (or `logpipe demo --dashboard`)",
        }))
        .into_response(),
        Some(history) => {
            axum::Json(json!({"available": true, "samples": history.samples()})).into_response()
        }
    }
}

async fn trace(State(d): State<Dashboard>, UrlPath(tx): UrlPath<String>) -> Response {
    respond(match &d.backend {
        Backend::Store(path) => with_store(path, move |s| store_panels::trace(s, &tx)).await,
        Backend::Search(search) => search.trace(&tx).await,
    })
}
