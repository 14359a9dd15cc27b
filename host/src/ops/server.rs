//! `/metrics` and `/health` over HTTP.

use super::metrics::Metrics;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;

/// Serves the endpoints until the process ends; returns the bound address.
pub async fn serve(listen: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<SocketAddr> {
    let app = Router::new()
        .route("/metrics", get(render))
        .route("/health", get(health))
        .with_state(metrics);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

async fn render(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        m.render(),
    )
}

async fn health(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    let last = m.last_success.load(std::sync::atomic::Ordering::Relaxed);
    let body = serde_json::json!({
        "status": if last > 0 { "ok" } else { "starting" },
        "last_success_unix": last,
    });
    (StatusCode::OK, axum::Json(body))
}
