//! `wechatpay-card bulk`: many cards from a JSON Lines file, with bounded concurrency, an
//! optional rate limit, and a journal that makes a run resumable after any interruption.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use wechatpay_card_client::models::{
    ConfirmUserCard, ConfirmUserCardBody, ConfirmUserCardRequest, Endpoint, EndpointRequest,
    ImportUserCardByOpenid, ImportUserCardByOpenidBody, ImportUserCardByOpenidRequest,
    ImportUserCardByPhone, ImportUserCardByPhoneBody, ImportUserCardByPhoneRequest,
    InvalidateUserCard, InvalidateUserCardBody, InvalidateUserCardRequest, RateLimit,
    UpdateUserCard, UpdateUserCardBody, UpdateUserCardRequest, UserCard, Validate, Violation,
};
use wechatpay_card_client::{Client, Error, ErrorKind, RateLimiter};

use crate::connection::ConnectionArgs;
use crate::exit::{self, Failure};
use crate::journal::{DoneRequests, ErrorRecord, Journal, Outcome, Record, RequestDigest};
use crate::plumbing;
use crate::progress::{Counters, Progress};
use crate::read_back;

/// A line longer than this is journaled as failed without being parsed (nor held in memory).
const MAX_LINE_BYTES: usize = 1 << 20;
/// The bounds of `--rps`: from one request every 1,000 s to a million a second.
const RPS_RANGE: std::ops::RangeInclusive<f64> = 0.001..=1_000_000.0;
/// Where `--rps auto` starts when the endpoint documents no limit: the one the card-member
/// pages give their other endpoints (5 per second per service-provider merchant id).
const DEFAULT_START_RPS: f64 = 5.0;

/// Update, invalidate, confirm or import many cards from a JSON Lines file, resumably.
///
/// One request per line (the operation is --op): its parameters at the top level under their API
/// names and its body under `body`, sensitive values in plaintext. update:
/// `{"user_card_code": "…", "card_id": "…", "body": {…}}` (`code` also accepted);
/// invalidate: `{"user_card_code", "brand_id", "card_id", "body": {"openid", "invalid_reason"}}`;
/// confirm: `{"user_card_code", "card_id", "body": {…}}`; import-by-openid and import-by-phone:
/// `{"body": {…}}`. Lines are read as a stream and sent with bounded concurrency (and an optional
/// rate limit), with the client's retries and failover. Each finished line is appended to the
/// journal at once; rerun with the same --journal after an interruption (Ctrl-C, kill, a crash)
/// and the lines whose exact request (operation, parameters and body) already ended ok are
/// skipped, the rest sent again. An answer that fails verification, or the refusal of a repeat
/// (an import of a code already imported, a second invalidate or confirm: what a retry after a
/// lost answer meets), is resolved by reading the card back: ok when it holds what was sent.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 when every line is ok (this run or an earlier one); 3 when the \
whole input was read but some line did not end ok (see the journal); 130 interrupted (Ctrl-C, \
SIGTERM) before the end of the input: run the same command again to resume; 2 invalid \
arguments, configuration or journal; 1 the input or journal cannot be read or written."
)]
pub(crate) struct BulkArgs {
    /// The updates, a JSON Lines file.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,

    /// The journal: created if absent, resumed if present (JSON Lines, one record per finished
    /// line); may be reused for an edited input: only requests already ok are skipped.
    #[arg(long, value_name = "FILE")]
    journal: PathBuf,

    /// The operation of every line.
    #[arg(long, value_enum, default_value_t = Op::Update)]
    op: Op,

    /// Confirm an irreversible operation (--op invalidate); without it nothing is sent (exit 2).
    #[arg(long)]
    yes: bool,

    /// Requests in flight at once, 1 to 1024.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    concurrency: u32,

    /// The request rate: `auto` finds the rate WeChat Pay allows (it starts at the endpoint's
    /// documented limit, speeds up while answers succeed and slows down on 429 answers); a
    /// number N fixes it at N attempts per second (0.001 to 1000000); `off` sends as fast as
    /// --concurrency allows. Every attempt counts, retries included; a Retry-After is honoured.
    #[arg(long, value_name = "auto|off|N", default_value = "auto", value_parser = parse_rps)]
    rps: Rps,

    #[command(flatten)]
    connection: ConnectionArgs,
}

pub(crate) async fn run(args: BulkArgs) -> ExitCode {
    match bulk(args).await {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

/// How `bulk` paces its requests (`--rps`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Rps {
    /// Adaptive: starts at the endpoint's documented limit and follows the 429 answers.
    Auto,
    /// No limiter: only `--concurrency` bounds the rate.
    Off,
    /// At most this many attempts per second.
    Fixed(f64),
}

impl Rps {
    /// The limiter for `op`'s endpoint, if any.
    fn limiter(self, op: Op) -> Option<RateLimiter> {
        match self {
            Self::Off => None,
            // Both rates are within the limiter's bounds: RPS_RANGE is its range, and the
            // documented limits are small whole numbers.
            Self::Fixed(rps) => RateLimiter::fixed(rps).ok(),
            Self::Auto => {
                let start = op
                    .rate_limit()
                    .map_or(DEFAULT_START_RPS, |limit| f64::from(limit.per_second));
                RateLimiter::adaptive(start.clamp(*RPS_RANGE.start(), *RPS_RANGE.end())).ok()
            }
        }
    }
}

/// `--rps`: `auto`, `off`, or a number of requests per second within [`RPS_RANGE`] (clap makes
/// any other a usage error, exit 2).
fn parse_rps(text: &str) -> Result<Rps, String> {
    match text.trim() {
        "auto" => return Ok(Rps::Auto),
        "off" => return Ok(Rps::Off),
        _ => {}
    }
    let rps: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("not auto, off or a number: {text:?}"))?;
    if !RPS_RANGE.contains(&rps) {
        return Err(format!(
            "must be from {} to {} requests per second",
            RPS_RANGE.start(),
            RPS_RANGE.end()
        ));
    }
    Ok(Rps::Fixed(rps))
}

async fn bulk(args: BulkArgs) -> Result<ExitCode, Failure> {
    if args.op.is_irreversible() && !args.yes {
        return Err(Failure::usage(format!(
            "--op {} is irreversible: add --yes to send it; nothing was sent",
            args.op.name()
        )));
    }
    let op = args.op;
    let mut builder = args.connection.builder();
    if let Some(limiter) = args.rps.limiter(op) {
        tracing::debug!(
            adaptive = limiter.is_adaptive(),
            rate = limiter.rate(),
            "rate limiter"
        );
        builder = builder.rate_limiter(limiter);
    }
    let client = args.connection.build(builder)?;
    let file = tokio::fs::File::open(&args.input).await.map_err(|e| {
        Failure::usage(format!(
            "cannot read the input {}: {e}",
            args.input.display()
        ))
    })?;
    if file.metadata().await.is_ok_and(|m| m.is_dir()) {
        return Err(Failure::usage(format!(
            "the input {} is a directory, not a JSON Lines file",
            args.input.display()
        )));
    }
    let (journal_path, input_path) = (args.journal.clone(), args.input.clone());
    let (journal, mut done) =
        tokio::task::spawn_blocking(move || Journal::open(&journal_path, &input_path))
            .await
            .map_err(|e| Failure {
                code: exit::OTHER,
                message: format!("opening the journal failed: {e}"),
            })??;
    let journal = Arc::new(journal);

    let counters = Arc::new(Counters::default());
    let total = Arc::new(std::sync::OnceLock::new());
    let counting = tokio::spawn(count_lines(args.input.clone(), total.clone()));
    let progress = Progress::start(
        counters.clone(),
        total.clone(),
        std::io::stderr().is_terminal(),
    );
    let mut stop = interrupt_signal();

    let permits = Arc::new(Semaphore::new(args.concurrency as usize));
    let mut tasks = JoinSet::new();
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut fatal: Option<Failure> = None;
    let mut stopped_early = false;

    'lines: loop {
        if *stop.borrow() {
            stopped_early = true;
            break;
        }
        buf.clear();
        // A line that never ends (or a slow pipe) must not hold off an interruption.
        let line = tokio::select! {
            line = read_line(&mut reader, &mut buf) => line.map_err(|e| Failure {
                code: exit::OTHER,
                message: format!("cannot read the input {}: {e}", args.input.display()),
            })?,
            _ = stop.wait_for(|stopped| *stopped) => {
                stopped_early = true;
                break;
            }
        };
        let Some(too_long) = line else { break };
        line_no += 1;
        if !too_long && buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = if too_long {
            Err(InvalidLine::new(format!(
                "the line is longer than {MAX_LINE_BYTES} bytes"
            )))
        } else {
            parse_line(op, &buf, &mut done)
        };
        let (request, digest) = match parsed {
            Ok(Parsed::Send(request, digest)) => (*request, digest),
            Ok(Parsed::Done) => {
                counters.skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(invalid) => {
                let error = ErrorRecord {
                    status: None,
                    code: "INVALID_LINE".into(),
                    message: invalid.message,
                    request_id: None,
                };
                journal.record(&Record {
                    line: line_no,
                    card_id: &invalid.card_id,
                    code: &invalid.code,
                    digest: invalid.digest,
                    outcome: Outcome::Failed,
                    request_id: None,
                    attempts: None,
                    resolved: None,
                    error: Some(error),
                })?;
                counters.failed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };

        // Wait for a free slot, unless interrupted meanwhile (the client waits for the rate
        // limiter before each attempt).
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => {
                permit.map_err(|e| Failure { code: exit::OTHER, message: e.to_string() })?
            }
            _ = stop.wait_for(|stopped| *stopped) => {
                stopped_early = true;
                break 'lines;
            }
        };
        let (client, journal, counters) = (client.clone(), journal.clone(), counters.clone());
        tasks.spawn(async move {
            let result = request
                .send(&client, &journal, &counters, line_no, digest)
                .await;
            drop(permit);
            result
        });
        while let Some(finished) = tasks.try_join_next() {
            if let Err(failure) = joined(finished) {
                fatal = Some(failure);
                break 'lines;
            }
        }
    }

    // Let the updates in flight finish and be journaled (a second Ctrl-C stops at once).
    while let Some(finished) = tasks.join_next().await {
        if let Err(failure) = joined(finished) {
            fatal.get_or_insert(failure);
        }
    }
    let closed = journal.close().await;
    counting.abort();
    progress.finish().await;
    if let Some(failure) = fatal {
        return Err(failure);
    }
    closed?;

    let (succeeded, failed, skipped) =
        (counters.succeeded(), counters.failed(), counters.skipped());
    eprintln!("{succeeded} succeeded, {failed} failed, {skipped} skipped");
    if stopped_early {
        eprintln!("interrupted before the end of the input: run the same command again to resume");
    }
    if failed > 0 {
        eprintln!(
            "the journal {} has the reason of each failed line",
            args.journal.display()
        );
    }
    Ok(ExitCode::from(if stopped_early {
        exit::INTERRUPTED
    } else if failed > 0 {
        exit::API
    } else {
        exit::OK
    }))
}

fn joined(finished: Result<Result<(), Failure>, tokio::task::JoinError>) -> Result<(), Failure> {
    finished.map_err(|e| Failure {
        code: exit::OTHER,
        message: format!("a request task failed: {e}"),
    })?
}

/// The request of one line.
pub(crate) enum Request {
    Update(UpdateUserCardRequest),
    Invalidate(InvalidateUserCardRequest),
    Confirm(ConfirmUserCardRequest),
    ImportByOpenid(ImportUserCardByOpenidRequest),
    ImportByPhone(ImportUserCardByPhoneRequest),
}

impl Request {
    /// Sends it and journals how it ended.
    async fn send(
        self,
        client: &Client,
        journal: &Journal,
        counters: &Counters,
        line: u64,
        digest: RequestDigest,
    ) -> Result<(), Failure> {
        let at = At {
            client,
            journal,
            counters,
            line,
            digest,
        };
        match self {
            Self::Update(r) => at.send(Op::Update, r).await,
            Self::Invalidate(r) => at.send(Op::Invalidate, r).await,
            Self::Confirm(r) => at.send(Op::Confirm, r).await,
            Self::ImportByOpenid(r) => at.send(Op::ImportByOpenid, r).await,
            Self::ImportByPhone(r) => at.send(Op::ImportByPhone, r).await,
        }
    }
}

/// Where one line is sent and journaled.
struct At<'a> {
    client: &'a Client,
    journal: &'a Journal,
    counters: &'a Counters,
    line: u64,
    digest: RequestDigest,
}

impl At<'_> {
    /// Sends one request and journals how it ended; an answer that cannot say (it failed
    /// verification, or it refuses a repeat of the request) is resolved by reading the card back.
    async fn send<R>(&self, op: Op, request: R) -> Result<(), Failure>
    where
        R: EndpointRequest,
        R::Endpoint: Endpoint<Response = UserCard>,
    {
        let card_id = request
            .bound_value("card_id")
            .unwrap_or_default()
            .to_string();
        let code = request
            .bound_value("user_card_code")
            .unwrap_or_default()
            .to_string();
        let check = read_back::Check::of(op.read_back(), &request);

        let error = match self.client.execute(request).await {
            Ok(verified) => {
                return self.record(
                    &card_id,
                    &code,
                    Outcome::Ok,
                    verified.request_id(),
                    Some(verified.attempts()),
                    None,
                    None,
                );
            }
            Err(error) => error,
        };
        let unverified = matches!(
            error.kind(),
            ErrorKind::Signature | ErrorKind::InvalidResponse
        );
        let refused_repeat = error
            .as_api()
            .is_some_and(|api| op.repeat_refusal() == Some((api.status(), api.code())));
        // A lost answer (the request may have been applied) is worth a read-back too.
        if (unverified || refused_repeat || error.may_have_been_applied())
            && let Some(check) = &check
            && let Some(read) = check.run(self.client).await
        {
            return self.record(
                &card_id,
                &code,
                Outcome::Ok,
                read.request_id.as_deref(),
                None,
                Some("read back"),
                Some(error_record(&error)),
            );
        }
        let outcome = if unverified {
            Outcome::Unverified
        } else {
            Outcome::Failed
        };
        self.record(
            &card_id,
            &code,
            outcome,
            None,
            None,
            None,
            Some(error_record(&error)),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        card_id: &str,
        code: &str,
        outcome: Outcome,
        request_id: Option<&str>,
        attempts: Option<u32>,
        resolved: Option<&'static str>,
        error: Option<ErrorRecord>,
    ) -> Result<(), Failure> {
        let counter = if outcome == Outcome::Ok {
            &self.counters.succeeded
        } else {
            &self.counters.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.journal.record(&Record {
            line: self.line,
            card_id,
            code,
            digest: Some(self.digest),
            outcome,
            request_id,
            attempts,
            resolved,
            error,
        })
    }
}

fn error_record(error: &Error) -> ErrorRecord {
    let code = match error.kind() {
        ErrorKind::Api => error.code().unwrap_or_default().to_string(),
        ErrorKind::Validation => "INVALID_REQUEST_BODY".into(),
        ErrorKind::Encryption => "ENCRYPTION_FAILED".into(),
        ErrorKind::Signature if error.as_signature().is_some_and(|s| s.is_probe()) => {
            "PROBE_SIGNATURE".into()
        }
        ErrorKind::Signature => "SIGNATURE_INVALID".into(),
        ErrorKind::InvalidResponse => "INVALID_RESPONSE".into(),
        ErrorKind::Transport => "TRANSPORT".into(),
        ErrorKind::Timeout => "TIMEOUT".into(),
        _ => "CLIENT_ERROR".into(),
    };
    ErrorRecord {
        status: error.status(),
        code,
        message: crate::exit::with_sources(error),
        request_id: error.request_id().map(str::to_string),
    }
}

/// Why an input line is not an update, with its card id, code and digest when it has them.
pub(crate) struct InvalidLine {
    card_id: String,
    code: String,
    digest: Option<RequestDigest>,
    message: String,
}

impl InvalidLine {
    fn new(message: String) -> Self {
        Self {
            card_id: String::new(),
            code: String::new(),
            digest: None,
            message,
        }
    }
}

/// What to do with a line that parsed.
pub(crate) enum Parsed {
    /// Send this request.
    Send(Box<Request>, RequestDigest),
    /// This exact request already ended ok in the journal: skip it.
    Done,
}

/// The operation `bulk` sends for every line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Op {
    /// Update a card (PATCH, 修改用户会员卡信息): a line is {"user_card_code", "card_id", "body"}.
    Update,
    /// Invalidate a card, irreversibly (作废用户会员卡): {"user_card_code", "brand_id", "card_id", "body"}.
    Invalidate,
    /// Confirm a card opening (同步会员开通结果): {"user_card_code", "card_id", "body"}.
    Confirm,
    /// Import a member by openid (根据openid导入用户会员卡): {"body"}.
    ImportByOpenid,
    /// Import a member by phone number (根据手机号导入用户会员卡): {"body"}.
    ImportByPhone,
}

impl Op {
    /// The name in `--op` and in the digest.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Update => "update",
            Self::Invalidate => "invalidate",
            Self::Confirm => "confirm",
            Self::ImportByOpenid => "import-by-openid",
            Self::ImportByPhone => "import-by-phone",
        }
    }

    /// The parameters a line gives at its top level, in the order of the digest (for update,
    /// the order of version 2 journals, so that their ok records still skip).
    fn params(self) -> &'static [&'static str] {
        match self {
            Self::Update | Self::Confirm => &["user_card_code", "card_id"],
            Self::Invalidate => &["user_card_code", "brand_id", "card_id"],
            Self::ImportByOpenid | Self::ImportByPhone => &[],
        }
    }

    /// The endpoint's documented (or inferred) rate limit, from the schema.
    fn rate_limit(self) -> Option<RateLimit> {
        match self {
            Self::Update => UpdateUserCard::RATE_LIMIT,
            Self::Invalidate => InvalidateUserCard::RATE_LIMIT,
            Self::Confirm => ConfirmUserCard::RATE_LIMIT,
            Self::ImportByOpenid => ImportUserCardByOpenid::RATE_LIMIT,
            Self::ImportByPhone => ImportUserCardByPhone::RATE_LIMIT,
        }
    }

    fn is_irreversible(self) -> bool {
        self == Self::Invalidate
    }

    /// The answer WeChat Pay gives to a repeat of a request that was applied (what a retry after
    /// a lost answer meets): status and code. An update can be repeated.
    fn repeat_refusal(self) -> Option<(u16, &'static str)> {
        match self {
            Self::Update => None,
            Self::Invalidate | Self::ImportByOpenid | Self::ImportByPhone => {
                Some((400, "INVALID_REQUEST"))
            }
            Self::Confirm => Some((404, "NOT_FOUND")),
        }
    }

    /// What the card must hold after this operation, beyond the body's fields.
    fn read_back(self) -> read_back::Expect {
        match self {
            Self::Invalidate => read_back::Expect::Invalidated,
            Self::Confirm => read_back::Expect::Confirmed,
            _ => read_back::Expect::Body,
        }
    }

    /// The request of a line's parameters and body.
    fn request(
        self,
        params: &std::collections::BTreeMap<&'static str, String>,
        body: serde_json::Value,
    ) -> Result<Request, Vec<Violation>> {
        let p = |name: &str| params.get(name).cloned();
        /// Sets each parameter given (a missing one is reported by `build`).
        macro_rules! with {
            ($builder:expr, $($name:ident),*) => {{
                let builder = $builder;
                $(let builder = match p(stringify!($name)) {
                    Some(value) => builder.$name(value),
                    None => builder,
                };)*
                builder
            }};
        }
        match self {
            Self::Update => {
                plumbing::request_from_value(body, |body: Option<UpdateUserCardBody>| {
                    let body = body.unwrap_or_else(|| UpdateUserCardBody::new("-", "-"));
                    let request = UpdateUserCardRequest::new(
                        p("user_card_code").unwrap_or_default(),
                        p("card_id").unwrap_or_default(),
                        body,
                    );
                    request.validate().map(|()| request)
                })
                .map(Request::Update)
            }
            Self::Invalidate => {
                plumbing::request_from_value(body, |body: Option<InvalidateUserCardBody>| {
                    let b = with!(
                        InvalidateUserCardRequest::builder(),
                        user_card_code,
                        brand_id,
                        card_id
                    );
                    with_body(b, body, |b, body| b.body(body)).build()
                })
                .map(Request::Invalidate)
            }
            Self::Confirm => {
                plumbing::request_from_value(body, |body: Option<ConfirmUserCardBody>| {
                    let b = with!(ConfirmUserCardRequest::builder(), user_card_code, card_id);
                    with_body(b, body, |b, body| b.body(body)).build()
                })
                .map(Request::Confirm)
            }
            Self::ImportByOpenid => {
                plumbing::request_from_value(body, |body: Option<ImportUserCardByOpenidBody>| {
                    let b = ImportUserCardByOpenidRequest::builder();
                    with_body(b, body, |b, body| b.body(body)).build()
                })
                .map(Request::ImportByOpenid)
            }
            Self::ImportByPhone => {
                plumbing::request_from_value(body, |body: Option<ImportUserCardByPhoneBody>| {
                    let b = ImportUserCardByPhoneRequest::builder();
                    with_body(b, body, |b, body| b.body(body)).build()
                })
                .map(Request::ImportByPhone)
            }
        }
    }
}

/// `builder` with its body set, when there is one.
fn with_body<B, T>(builder: B, body: Option<T>, set: impl FnOnce(B, T) -> B) -> B {
    match body {
        Some(body) => set(builder, body),
        None => builder,
    }
}

/// The request of one input line, unless the journal says it already ended ok.
pub(crate) fn parse_line(
    op: Op,
    bytes: &[u8],
    done: &mut DoneRequests,
) -> Result<Parsed, InvalidLine> {
    let shape = || {
        let params: String = op.params().iter().map(|p| format!("\"{p}\", ")).collect();
        format!("not a {} line ({{{params}\"body\"}})", op.name())
    };
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| InvalidLine::new(format!("{}: {e}", shape())))?;
    if op == Op::Update
        && let Some(code) = map.remove("code")
    {
        if map.contains_key("user_card_code") {
            return Err(InvalidLine::new(format!(
                "{}: both \"code\" and \"user_card_code\"",
                shape()
            )));
        }
        map.insert("user_card_code".into(), code);
    }
    let body = map
        .remove("body")
        .ok_or_else(|| InvalidLine::new(format!("{}: no \"body\"", shape())))?;
    let mut params = std::collections::BTreeMap::new();
    let mut pairs = Vec::new();
    for &name in op.params() {
        match map.remove(name) {
            Some(serde_json::Value::String(value)) => {
                params.insert(name, value);
            }
            Some(_) => {
                return Err(InvalidLine::new(format!(
                    "{}: \"{name}\" is not a string",
                    shape()
                )));
            }
            None => {}
        }
    }
    if let Some(unknown) = map.keys().next() {
        return Err(InvalidLine::new(format!(
            "{}: unknown field {:?}",
            shape(),
            unknown
        )));
    }
    for &name in op.params() {
        pairs.push((name, params.get(name).map_or("", String::as_str)));
    }
    let digest = RequestDigest::new(op.name(), &pairs, &body);
    if done.take(&digest) {
        return Ok(Parsed::Done);
    }
    // Imports name the card in their body.
    let named = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .or_else(|| body.get(name).and_then(serde_json::Value::as_str))
            .unwrap_or_default()
            .to_string()
    };
    let (card_id, code) = (named("card_id"), named("user_card_code"));
    let checked = op.request(&params, body).map_err(|violations| {
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        InvalidLine::new(format!("invalid: {}", list.join("; ")))
    });
    checked
        .map(|request| Parsed::Send(Box::new(request), digest))
        .map_err(|invalid| InvalidLine {
            card_id,
            code,
            digest: Some(digest),
            ..invalid
        })
}

/// Reads one line into `buf` (without its newline). `Ok(None)` at the end of the input;
/// `Ok(Some(true))` when the line is longer than [`MAX_LINE_BYTES`] (the rest is skipped,
/// never held in memory).
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    let mut read_any = false;
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(read_any.then_some(too_long));
        }
        read_any = true;
        let (consumed, found) =
            crate::journal::take_line_chunk(available, buf, MAX_LINE_BYTES, &mut too_long);
        reader.consume(consumed);
        if found {
            return Ok(Some(too_long));
        }
    }
}

/// Sets `total` to the number of lines of the input, when it is a file that can be read ahead
/// (for the progress line); read in chunks, never held whole, while the run goes on.
async fn count_lines(path: PathBuf, total: Arc<std::sync::OnceLock<u64>>) {
    if let Some(lines) = lines_of(&path).await {
        let _ = total.set(lines);
    }
}

async fn lines_of(path: &std::path::Path) -> Option<u64> {
    let mut file = tokio::fs::File::open(path).await.ok()?;
    if !file.metadata().await.ok()?.is_file() {
        return None;
    }
    let mut buf = vec![0u8; 256 * 1024];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = file.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[n - 1];
    }
    Some(lines + u64::from(last != b'\n'))
}

/// Becomes `true` at the first Ctrl-C or SIGTERM: no new line is started, the updates in flight
/// finish and are journaled. A second one exits at once (the journal holds every finished line).
fn interrupt_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        signal().await;
        let _ = tx.send(true);
        eprintln!("\ninterrupted: finishing the updates in flight; Ctrl-C again to stop now");
        signal().await;
        eprintln!("stopped: run the same command again to resume");
        std::process::exit(i32::from(exit::INTERRUPTED));
    });
    rx
}

async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling here: never interrupted.
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(op: Op, line: &serde_json::Value) -> Result<RequestDigest, String> {
        let bytes = serde_json::to_vec(line).unwrap();
        match parse_line(op, &bytes, &mut DoneRequests::default()) {
            Ok(Parsed::Send(_, digest)) => Ok(digest),
            Ok(Parsed::Done) => Err("done".into()),
            Err(invalid) => Err(invalid.message),
        }
    }

    #[test]
    fn update_lines_with_code_keep_their_version_2_digest() {
        let body = json!({"brand_id": "1004", "openid": "o1", "level": "L"});
        let old = json!({"card_id": "T", "code": "C1", "body": body});
        let new = json!({"card_id": "T", "user_card_code": "C1", "body": body});
        let v2 = RequestDigest::new(
            "update",
            &[("user_card_code", "C1"), ("card_id", "T")],
            &body,
        );
        assert_eq!(parsed(Op::Update, &old), Ok(v2));
        assert_eq!(parsed(Op::Update, &new), Ok(v2));
        let both = json!({"card_id": "T", "code": "C1", "user_card_code": "C1", "body": body});
        assert!(parsed(Op::Update, &both).unwrap_err().contains("both"));
    }

    #[test]
    fn each_op_reads_its_own_line_shape() {
        let import = json!({"body": {"brand_id": "1004", "card_id": "T", "openid": "o1", "user_card_code": "C1"}});
        let digest = parsed(Op::ImportByOpenid, &import).unwrap();
        // The operation is part of the digest: the same body as another operation differs.
        assert_ne!(
            Ok(digest),
            parsed(
                Op::ImportByPhone,
                &json!({"body": {"brand_id": "1004", "card_id": "T", "phone_number": "139", "user_card_code": "C1"}})
            )
        );
        let error = parsed(Op::ImportByOpenid, &json!({"body": {"brand_id": "1004"}})).unwrap_err();
        assert!(
            error.contains("card_id")
                && error.contains("openid")
                && error.contains("user_card_code"),
            "{error}"
        );
        let error = parsed(Op::ImportByOpenid, &json!({"card_id": "T", "body": {}})).unwrap_err();
        assert!(error.contains("unknown field \"card_id\""), "{error}");
        let invalidate = json!({"user_card_code": "C1", "card_id": "T", "body": {"openid": "o1"}});
        let error = parsed(Op::Invalidate, &invalidate).unwrap_err();
        assert!(
            error.contains("brand_id"),
            "a missing parameter is named: {error}"
        );
        let error = parsed(
            Op::Confirm,
            &json!({"user_card_code": 5, "card_id": "T", "body": {}}),
        )
        .unwrap_err();
        assert!(
            error.contains("\"user_card_code\" is not a string"),
            "{error}"
        );
    }
}
