//! The HTTP server: an accept loop serving the axum router on one hyper HTTP/1.1 connection per
//! socket, so that a handler can have its connection closed without an answer.

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::Stats;
use crate::answer::{self, RequestIds};
use crate::credentials::Keys;
use crate::endpoint;
use crate::faults::FaultInjector;
use crate::nonces::NonceMemory;
use crate::notify::{self, Notifier};
use crate::params::Endpoints;
use crate::store::CardStore;

/// At most this many connections are served at once; more wait in the accept queue.
pub const MAX_CONNECTIONS: usize = 1024;
/// The accept queue's length asked of the system (which may cap it, e.g. at
/// `net.core.somaxconn`).
pub const LISTEN_BACKLOG: u32 = 4096;
/// The largest request head (request line and headers) read: 64 KiB. A larger one is answered
/// 431 by the HTTP layer, and the connection closed.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How long a graceful shutdown waits for requests in flight before closing their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The test hook's path prefix: not counted in the stats, no fault, no signature check.
pub(crate) const HOOK_PREFIX: &str = "/_sandbox/";

/// What the handlers share.
pub(crate) struct Shared {
    pub(crate) keys: Keys,
    pub(crate) store: CardStore,
    pub(crate) faults: FaultInjector,
    pub(crate) counters: Counters,
    /// The endpoints of the schema, their parameters' and bodies' checks.
    pub(crate) endpoints: Endpoints,
    pub(crate) request_ids: RequestIds,
    /// The nonces of the requests accepted within the timestamp window.
    pub(crate) nonces: NonceMemory,
    /// How long a request's head, then its body, may take to arrive.
    pub(crate) read_timeout: Duration,
    /// The APIv3 key, the notify URL and the deliveries.
    pub(crate) notifier: Notifier,
    /// Whether the requests-per-second limit's 429s carry `Retry-After`.
    pub(crate) retry_after: bool,
}

/// The lowest HTTP status code; [`http::StatusCode`] keeps them from 100 to 999.
const FIRST_STATUS: u16 = 100;
/// How many status codes there can be: one counter each, so that counting is bounded and
/// lock-free.
const STATUS_CODES: usize = 900;

/// The [`Stats`] counters.
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) updates_applied: AtomicU64,
    pub(crate) reads_answered: AtomicU64,
    pub(crate) faults_injected: AtomicU64,
    /// 429s of the requests-per-second limit.
    pub(crate) rate_limited: AtomicU64,
    /// Answers by status code, the counter of code `c` at `c - 100`.
    by_status: Box<[AtomicU64]>,
    started: Instant,
    started_at: String,
}

impl Counters {
    /// Every counter at zero, started now.
    pub(crate) fn new() -> Self {
        Self {
            requests: AtomicU64::new(0),
            updates_applied: AtomicU64::new(0),
            reads_answered: AtomicU64::new(0),
            faults_injected: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            by_status: (0..STATUS_CODES).map(|_| AtomicU64::new(0)).collect(),
            started: Instant::now(),
            started_at: crate::handlers::now().to_string(),
        }
    }

    /// Counts an answer of the API.
    pub(crate) fn count_status(&self, status: StatusCode) {
        let index = usize::from(status.as_u16().saturating_sub(FIRST_STATUS));
        if let Some(counter) = self.by_status.get(index) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let by_status: BTreeMap<u16, u64> = (FIRST_STATUS..)
            .zip(self.by_status.iter())
            .map(|(status, counter)| (status, counter.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect();
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            updates_applied: self.updates_applied.load(Ordering::Relaxed),
            reads_answered: self.reads_answered.load(Ordering::Relaxed),
            faults_injected: self.faults_injected.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            by_status,
            started_at: self.started_at.clone(),
            uptime_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// Lets a handler close its connection without an answer (in each request's extensions).
#[derive(Clone)]
pub(crate) struct ConnectionKiller(Arc<Notify>);

impl ConnectionKiller {
    /// Tells the connection's task to drop the socket.
    pub(crate) fn kill(&self) {
        self.0.notify_one();
    }
}

/// The routes: the test hooks; everything else goes to the endpoints, routed by the schema's
/// templates (signed 404 and 405 answers for what matches none).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sandbox/user-cards", get(hook_user_cards))
        .route("/_sandbox/stats", get(hook_stats))
        .route("/_sandbox/notifications", get(notify::hook_notifications))
        .route("/_sandbox/users/open-card", post(notify::hook_open_card))
        .route(
            "/_sandbox/users/delete-card",
            post(notify::hook_delete_card),
        )
        .fallback(endpoint::api)
        .with_state(shared)
}

/// `GET /_sandbox/user-cards`: the stored cards, sensitive values in plaintext. A test hook:
/// WeChat Pay has no such thing.
async fn hook_user_cards(State(shared): State<Arc<Shared>>) -> Response {
    let body = serde_json::to_vec(&shared.store.all()).unwrap_or_default();
    answer::plain(StatusCode::OK, body, "")
}

/// `GET /_sandbox/stats`: the [`Stats`] counters as JSON (`by_status` keyed by the code as a
/// string). A test hook.
async fn hook_stats(State(shared): State<Arc<Shared>>) -> Response {
    let body = serde_json::to_vec(&shared.counters.snapshot()).unwrap_or_default();
    answer::plain(StatusCode::OK, body, "")
}

/// Resolves when `stop` says so, or when its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Accepts connections until told to stop, then lets the requests in flight finish (for
/// [`SHUTDOWN_GRACE`] at most).
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let router = router(shared.clone());
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = stopped(&mut stop) => break,
            permit = limit.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // the listener itself is fine. A short pause lets descriptors free up.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        // Answers are small and written whole: no reason to wait for more (Nagle).
        let _ = stream.set_nodelay(true);
        connections.spawn(serve_connection(
            stream,
            router.clone(),
            shared.clone(),
            stop.clone(),
            permit,
        ));
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.shutdown().await;
    }
}

/// Serves one connection until the client closes it, a handler kills it, or the sandbox stops.
async fn serve_connection(
    stream: TcpStream,
    router: Router,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let killer = ConnectionKiller(Arc::new(Notify::new()));
    let read_timeout = shared.read_timeout;
    let handle = killer.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let counted = !request.uri().path().starts_with(HOOK_PREFIX);
        if counted {
            shared.counters.requests.fetch_add(1, Ordering::Relaxed);
        }
        request.extensions_mut().insert(handle.clone());
        let answer = router.clone().oneshot(request.map(Body::new));
        let shared = shared.clone();
        async move {
            let response = answer.await?;
            // A connection closed without an answer never gets here: it is not counted.
            if counted {
                shared.counters.count_status(response.status());
            }
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(read_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = pin!(connection);
    let mut draining = false;
    loop {
        tokio::select! {
            biased;
            // Dropping the connection drops the socket: closed without (the rest of) an answer.
            () = killer.0.notified() => return,
            () = stopped(&mut stop), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
        }
    }
}
