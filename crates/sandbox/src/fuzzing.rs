//! Hooks for the fuzz targets in `fuzz/`: not part of the API, and may change at any time.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use crate::Sandbox;

/// Runs one request through the sandbox's routes, as the server does with a request read off a
/// connection (faults, routing, signature, headers, parameters, body, handler, signed answer),
/// without a socket. Returns the answer's status, headers and body (empty when the sandbox
/// would have closed the connection).
pub async fn handle(
    sandbox: &Sandbox,
    request: http::Request<Bytes>,
) -> (http::StatusCode, http::HeaderMap, Bytes) {
    let router = crate::server::router(Arc::clone(&sandbox.shared));
    let response = match router.oneshot(request.map(axum::body::Body::from)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    (parts.status, parts.headers, body)
}
