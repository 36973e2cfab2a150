//! `wechatpay-card listen`: receives WeChat Pay's card event notifications, verifies, decrypts
//! and answers each, prints each new event as one JSON line on stdout, and optionally confirms
//! each opened card.

use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use wechatpay_card_client::models::{
    ConfirmUserCardBody, ConfirmUserCardRequest, UserCardConfirmState,
};
use wechatpay_card_client::notify::{Acknowledgement, CardEvent, NotificationReceiver, answer};
use wechatpay_card_client::signing::ApiV3Key;
use wechatpay_card_client::{Client, env};

use crate::connection::ConnectionArgs;
use crate::exit::{self, Failure, printable};

/// How long reading a notification's body may take: the whole answer is due within 5 s.
const READ_DEADLINE: Duration = Duration::from_millis(4_000);
/// How many notification ids are remembered to deduplicate (the oldest are forgotten first).
pub(crate) const MAX_REMEMBERED_IDS: usize = 100_000;
/// The longest journal line read back; longer lines are skipped.
const MAX_JOURNAL_LINE: usize = 256;

/// Receive card event notifications (会员卡事件通知): verify, decrypt and answer each
/// within 5 s, print each new event as one JSON line on stdout.
///
/// The first stderr line is `listening on http://ADDR`. Notifications are accepted on any path
/// (POST). A notification that fails a check (signature, timestamp, decryption, …) is answered
/// with a 4xx and `{"code":"FAIL",…}` (WeChat Pay sends it again) and nothing is printed. The
/// same notification (by id) is printed once. Ctrl-C or SIGTERM stops it (exit 0).
#[derive(Debug, clap::Args)]
#[command(after_help = exit::HELP)]
pub(crate) struct ListenArgs {
    /// The address to listen on, e.g. 127.0.0.1:8080 (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,

    /// Confirm each opened card (CREATE events) with CREATE_CARD_SUCCESS
    /// (POST user-cards/{code}/confirm), after answering the notification.
    #[arg(long)]
    auto_confirm: bool,

    /// Remember the ids of printed notifications in FILE (one per line, appended) and read them
    /// back on start, so that a restart does not print a notification again.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,

    /// The APIv3 key, 32 characters, which decrypts notifications
    /// [variable: WECHATPAY_APIV3_KEY].
    #[arg(long, value_name = "KEY", value_parser = parse_api_v3_key)]
    apiv3_key: Option<ApiV3Key>,

    #[command(flatten)]
    connection: ConnectionArgs,
}

/// The key from a flag; its error names the length, never the value.
fn parse_api_v3_key(text: &str) -> Result<ApiV3Key, String> {
    text.parse().map_err(|e| format!("{e}"))
}

/// The ids already printed: a set and the order to forget them in, at most
/// [`MAX_REMEMBERED_IDS`].
pub(crate) struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
    capacity: usize,
}

impl Seen {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            ids: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    fn insert(&mut self, id: &str) {
        if self.capacity == 0 || !self.ids.insert(id.to_owned()) {
            return;
        }
        self.order.push_back(id.to_owned());
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// What the handlers share.
struct Listener {
    receiver: NotificationReceiver,
    client: Client,
    auto_confirm: bool,
    /// The ids printed and the journal file, under one lock: checking, printing and recording
    /// an id happen together.
    state: Mutex<(Seen, Option<std::fs::File>)>,
}

/// Reads the journal's ids (the last [`MAX_REMEMBERED_IDS`]); a missing file is empty. Lines
/// over [`MAX_JOURNAL_LINE`] bytes or not UTF-8 are skipped.
fn load_journal(path: &Path, seen: &mut Seen) -> std::io::Result<usize> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    read_journal(BufReader::new(file), seen)
}

/// Reads journal ids from `reader` into `seen` (which forgets the oldest beyond its capacity),
/// a line of at most [`MAX_JOURNAL_LINE`] bytes at a time; returns how many lines were skipped
/// (too long or not UTF-8). No file and no side effect: the fuzz target `cli_listen_journal`
/// calls it on arbitrary bytes.
pub(crate) fn read_journal(mut reader: impl BufRead, seen: &mut Seen) -> std::io::Result<usize> {
    let mut skipped = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        let limit = u64::try_from(MAX_JOURNAL_LINE + 1).unwrap_or(u64::MAX);
        let read = (&mut reader).take(limit).read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        if line.last() != Some(&b'\n') && line.len() > MAX_JOURNAL_LINE {
            // Too long: skip to the end of the line, a bounded piece at a time.
            skipped += 1;
            loop {
                line.clear();
                let n = (&mut reader).take(limit).read_until(b'\n', &mut line)?;
                if n == 0 || line.last() == Some(&b'\n') {
                    break;
                }
            }
            continue;
        }
        match std::str::from_utf8(&line) {
            Ok(id) if !id.trim().is_empty() => seen.insert(id.trim()),
            Ok(_) => {}
            Err(_) => skipped += 1,
        }
    }
    Ok(skipped)
}

/// The command: exit 0 when stopped by Ctrl-C or SIGTERM, 2 for a configuration error, 1 when
/// the address cannot be bound.
pub(crate) async fn run(args: ListenArgs) -> ExitCode {
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

async fn serve(args: ListenArgs) -> Result<(), Failure> {
    let api_v3_key = match args.apiv3_key {
        Some(key) => key,
        None => match std::env::var(env::APIV3_KEY) {
            Ok(text) => text
                .parse::<ApiV3Key>()
                .map_err(|e| Failure::usage(format!("--apiv3-key or {}: {e}", env::APIV3_KEY)))?,
            Err(_) => {
                return Err(Failure::usage(format!(
                    "missing the APIv3 key (--apiv3-key or {})",
                    env::APIV3_KEY
                )));
            }
        },
    };
    let client = args.connection.client()?;
    let mut seen = Seen::new(MAX_REMEMBERED_IDS);
    let journal = match &args.journal {
        Some(path) => {
            let skipped = load_journal(path, &mut seen)
                .map_err(|e| Failure::usage(format!("--journal {}: {e}", path.display())))?;
            if skipped > 0 {
                tracing::warn!(skipped, "journal lines skipped (too long or not UTF-8)");
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Failure::usage(format!("--journal {}: {e}", path.display())))?;
            Some(file)
        }
        None => None,
    };
    let listener = Arc::new(Listener {
        receiver: NotificationReceiver::for_client(&client, api_v3_key),
        client,
        auto_confirm: args.auto_confirm,
        state: Mutex::new((seen, journal)),
    });

    let stop = stop_signals().map_err(|e| Failure {
        code: exit::OTHER,
        message: format!("cannot listen for Ctrl-C / SIGTERM: {e}"),
    })?;
    let socket = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure {
            code: exit::OTHER,
            message: format!("cannot listen on {}: {e}", args.listen),
        })?;
    let addr = socket.local_addr().map_err(|e| Failure {
        code: exit::OTHER,
        message: format!("cannot listen on {}: {e}", args.listen),
    })?;
    eprintln!("listening on http://{addr}");
    {
        let (seen, _) = &*lock(&listener.state);
        if seen.len() > 0 {
            tracing::info!(ids = seen.len(), "notification ids read from the journal");
        }
    }

    let app = Router::new()
        .route("/", post(notify))
        .route("/{*path}", post(notify))
        .with_state(listener);
    axum::serve(socket, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| Failure {
            code: exit::OTHER,
            message: format!("serving on {addr}: {e}"),
        })
}

/// A future that ends at Ctrl-C or SIGTERM, listening from its creation.
fn stop_signals() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn respond(ack: &Acknowledgement) -> Response {
    let status = StatusCode::from_u16(ack.status).unwrap_or(StatusCode::BAD_REQUEST);
    match ack.content_type() {
        Some(content_type) => (
            status,
            [(header::CONTENT_TYPE, content_type)],
            ack.body.clone(),
        )
            .into_response(),
        None => status.into_response(),
    }
}

fn fail(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"code": "FAIL", "message": message}).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// One notification: read (bounded in size and time), verify, decrypt, print if new, answer;
/// then confirm in the background.
async fn notify(State(listener): State<Arc<Listener>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let limit = listener.receiver.max_body_bytes();
    let body = match tokio::time::timeout(READ_DEADLINE, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            tracing::warn!("refused a notification: body over {limit} bytes or unreadable");
            return fail(StatusCode::PAYLOAD_TOO_LARGE, "notification body too large");
        }
        Err(_) => return fail(StatusCode::REQUEST_TIMEOUT, "notification body too slow"),
    };
    let headers = &parts.headers;
    let result = listener
        .receiver
        .receive(|name| headers.get(name)?.to_str().ok(), &body);
    let event = match result {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!("refused a notification: {error}");
            return respond(&answer::<()>(&Err(error)));
        }
    };
    for correction in &event.corrections {
        tracing::warn!(id = %printable(&event.id), "notification field corrected: {correction}");
    }
    match record(&listener, &event) {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(id = %printable(&event.id), "notification already received");
            return respond(&answer::<()>(&Ok(())));
        }
        Err(e) => {
            tracing::error!("cannot print the event: {e}");
            return fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot record the event");
        }
    }
    if listener.auto_confirm && event.is_create() {
        let listener = Arc::clone(&listener);
        tokio::spawn(async move { confirm(&listener.client, &event).await });
    }
    respond(&answer::<()>(&Ok(())))
}

/// Prints `event` as one JSON line unless its id was seen, and records the id. `Ok(false)` for
/// a repeat; an error when stdout cannot be written (the id is then not recorded, so that
/// WeChat Pay's next attempt prints it).
fn record(listener: &Listener, event: &CardEvent) -> std::io::Result<bool> {
    let mut state = lock(&listener.state);
    let (seen, journal) = &mut *state;
    if seen.contains(&event.id) {
        return Ok(false);
    }
    let line = serde_json::to_string(event)?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
    }
    seen.insert(&event.id);
    if let Some(file) = journal
        && let Err(e) = writeln!(file, "{}", event.id).and_then(|()| file.flush())
    {
        tracing::error!("cannot append to the journal: {e}");
    }
    Ok(true)
}

/// Confirms an opened card with CREATE_CARD_SUCCESS, logging the result.
async fn confirm(client: &Client, event: &CardEvent) {
    let card = &event.event;
    let code = printable(&card.user_card_code);
    let (Some(brand_id), Some(openid)) = (&card.brand_id, &card.openid) else {
        tracing::warn!(
            user_card_code = %code,
            "cannot confirm: the event has no brand_id or openid"
        );
        return;
    };
    let request = ConfirmUserCardBody::builder()
        .brand_id(brand_id.as_str())
        .openid(openid.as_str())
        .user_card_confirm_state(UserCardConfirmState::CreateCardSuccess)
        .build()
        .and_then(|body| {
            ConfirmUserCardRequest::builder()
                .user_card_code(card.user_card_code.as_str())
                .card_id(card.card_id.as_str())
                .body(body)
                .build()
        });
    let request = match request {
        Ok(request) => request,
        Err(e) => {
            tracing::warn!(user_card_code = %code, "cannot confirm: {e}");
            return;
        }
    };
    match client.confirm_user_card(request).await {
        Ok(confirmed) => tracing::info!(
            user_card_code = %code,
            state = %confirmed.user_card_state,
            "confirmed (CREATE_CARD_SUCCESS)"
        ),
        Err(e) => tracing::warn!(
            user_card_code = %code,
            "confirm failed: {}",
            wechatpay_card_client::Untrusted(&crate::exit::with_sources(&e))
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seen_ids_are_bounded_oldest_first() {
        let mut seen = Seen::new(2);
        seen.insert("a");
        seen.insert("b");
        seen.insert("a");
        assert!(seen.contains("a") && seen.contains("b"));
        seen.insert("c");
        assert!(!seen.contains("a"));
        assert!(seen.contains("b") && seen.contains("c"));
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn journal_lines_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids");
        let long = "x".repeat(MAX_JOURNAL_LINE * 3);
        let mut text = format!("EV-1\n{long}\nEV-2\n\n").into_bytes();
        text.extend_from_slice(b"\xffEV-3\nEV-4");
        std::fs::write(&path, text).unwrap();
        let mut seen = Seen::new(10);
        assert_eq!(load_journal(&path, &mut seen).unwrap(), 2);
        assert!(seen.contains("EV-1") && seen.contains("EV-2") && seen.contains("EV-4"));
        assert!(!seen.contains(&long));
        assert_eq!(seen.len(), 3);
        let mut none = Seen::new(10);
        assert_eq!(
            load_journal(&dir.path().join("absent"), &mut none).unwrap(),
            0
        );
    }

    #[test]
    fn a_bad_key_flag_never_shows_the_value() {
        let error = parse_api_v3_key("secret-but-too-short").unwrap_err();
        assert!(!error.contains("secret"), "{error}");
    }
}
