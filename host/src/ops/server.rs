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

/// `ok` while polls succeed; `starting` before the first one; `stale` (503)
/// when the last successful poll is older than the run's stale limit, so a
/// probe restarts or alerts on a run that only looks alive.
async fn health(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    use std::sync::atomic::Ordering::Relaxed;
    let last = m.last_success.load(Relaxed);
    let stale_after = m.stale_after.load(Relaxed);
    let now = jiff::Timestamp::now().as_second().max(0) as u64;
    let age = (last > 0).then(|| now.saturating_sub(last));
    let (status, code) = match age {
        None => ("starting", StatusCode::OK),
        Some(age) if stale_after > 0 && age > stale_after => {
            ("stale", StatusCode::SERVICE_UNAVAILABLE)
        }
        Some(_) => ("ok", StatusCode::OK),
    };
    let body = serde_json::json!({
        "status": status,
        "last_success_unix": last,
        "last_success_age_seconds": age,
        "stale_after_seconds": stale_after,
    });
    (code, axum::Json(body))
}
