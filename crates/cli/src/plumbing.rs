//! What the one-card subcommands share: reading a body file (bounded), turning flags and a body
//! into a request with every violation reported at once, printing a card, and an error's exit
//! code.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;
use wechatpay_card_client::models::runtime::{LenientDeserialize, StrictFields};
use wechatpay_card_client::models::{
    UserCard, Validate, ValidationError, Violation, from_json_strict, from_value_strict,
};
use wechatpay_card_client::{Client, Untrusted, Verified};

use crate::exit::{self, Failure};

/// The largest body read: a request body with every field at its longest is a few KiB.
pub(crate) const MAX_BODY_BYTES: u64 = 256 * 1024;

/// The exit code of a subcommand's result, its error reported on stderr.
pub(crate) fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// Any other failure (exit 1) with its message.
pub(crate) fn other(e: impl std::fmt::Display) -> Failure {
    Failure {
        code: exit::OTHER,
        message: e.to_string(),
    }
}

/// Reads a body file (`-`: standard input) of at most [`MAX_BODY_BYTES`]; with the name of
/// where it came from, for messages.
pub(crate) fn read_body_file(path: &Path) -> Result<(Vec<u8>, String), Failure> {
    let stdin = path.as_os_str() == "-";
    let what = if stdin {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    let mut bytes = Vec::new();
    let read = if stdin {
        std::io::stdin()
            .lock()
            .take(MAX_BODY_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_BODY_BYTES + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| Failure::usage(format!("cannot read the body from {what}: {e}")))?;
    if bytes.len() as u64 > MAX_BODY_BYTES {
        return Err(Failure::usage(format!(
            "the body from {what} is larger than {MAX_BODY_BYTES} bytes: not a request body"
        )));
    }
    Ok((bytes, what))
}

/// The request made of the flags and the body file `path`, every violation (of the flags and of
/// the body) reported at once, exit 2. See [`request_from_json`] for `build`.
pub(crate) fn request_from_file<B, R>(
    path: &Path,
    build: impl FnOnce(Option<B>) -> Result<R, ValidationError>,
) -> Result<R, Failure>
where
    B: LenientDeserialize + Validate + StrictFields,
{
    let (bytes, what) = read_body_file(path)?;
    request_from_json(&bytes, build).map_err(|violations| invalid(&what, &violations))
}

/// The request made of parameters and a JSON body, or every violation of both. `build` makes
/// the request from the parameters and the body, validated; given `None` (the body is invalid)
/// it reports the parameters' violations (a violation at `body`, the missing body, is left out:
/// the body's own are reported instead).
pub(crate) fn request_from_json<B, R>(
    bytes: &[u8],
    build: impl FnOnce(Option<B>) -> Result<R, ValidationError>,
) -> Result<R, Vec<Violation>>
where
    B: LenientDeserialize + Validate + StrictFields,
{
    request_from(from_json_strict::<B>(bytes), build)
}

/// [`request_from_json`] of a body already parsed (a `bulk` line's).
pub(crate) fn request_from_value<B, R>(
    body: serde_json::Value,
    build: impl FnOnce(Option<B>) -> Result<R, ValidationError>,
) -> Result<R, Vec<Violation>>
where
    B: LenientDeserialize + Validate + StrictFields,
{
    request_from(from_value_strict::<B>(body), build)
}

fn request_from<B, R>(
    body: Result<B, ValidationError>,
    build: impl FnOnce(Option<B>) -> Result<R, ValidationError>,
) -> Result<R, Vec<Violation>> {
    match body {
        Ok(body) => build(Some(body)).map_err(ValidationError::into_violations),
        Err(body_errors) => {
            let mut violations: Vec<Violation> = build(None)
                .err()
                .map(ValidationError::into_violations)
                .unwrap_or_default()
                .into_iter()
                .filter(|v| v.path() != "body")
                .collect();
            violations.extend(body_errors.into_violations());
            Err(violations)
        }
    }
}

/// A request built from flags alone (no body file), every violation reported at once, exit 2.
pub(crate) fn request_from_flags<R>(built: Result<R, ValidationError>) -> Result<R, Failure> {
    built.map_err(|e| invalid("the flags", e.violations()))
}

/// Exit 2: the request is invalid, nothing was sent; each violation on a line.
pub(crate) fn invalid(what: &str, violations: &[Violation]) -> Failure {
    let n = violations.len();
    let list: String = violations.iter().map(|v| format!("\n  - {v}")).collect();
    Failure::usage(format!(
        "invalid request ({what}), nothing sent: {n} invalid field{}:{list}",
        if n == 1 { "" } else { "s" }
    ))
}

/// The card of a verified answer, its sensitive fields decrypted when asked, logged with its
/// Request-ID.
pub(crate) fn card_of(
    client: &Client,
    verified: Verified<UserCard>,
    decrypt: bool,
    what: &str,
) -> Result<UserCard, Failure> {
    tracing::info!(
        request_id = verified.request_id().map(|id| Untrusted(id).to_string()),
        attempts = verified.attempts(),
        "{what}"
    );
    let mut card = verified.into_inner();
    if decrypt {
        client
            .decrypt(&mut card)
            .map_err(|e| Failure::from_error(&e))?;
    }
    Ok(card)
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn print_pretty<T: Serialize>(value: &T) -> Result<(), Failure> {
    let json = serde_json::to_string_pretty(value).map_err(other)?;
    print_text(&json)
}

/// Prints a value as one JSON line on stdout (JSON Lines).
pub(crate) fn print_line<T: Serialize>(value: &T) -> Result<(), Failure> {
    let json = serde_json::to_string(value).map_err(other)?;
    print_text(&json)
}

fn print_text(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure {
            code: exit::OTHER,
            message: format!("cannot write to stdout: {e}"),
        })
}

/// Sends a request whose answer is a card and prints the verified card (decrypted if asked):
/// what `update`, `invalidate`, `confirm` and the imports do once their request is made.
pub(crate) async fn send_and_print<R>(
    client: &Client,
    request: R,
    decrypt: bool,
    what: &str,
) -> Result<(), Failure>
where
    R: wechatpay_card_client::models::EndpointRequest,
    R::Endpoint: wechatpay_card_client::models::Endpoint<Response = UserCard>,
{
    let verified = client
        .execute(request)
        .await
        .map_err(|e| Failure::from_error(&e))?;
    let card = card_of(client, verified, decrypt, what)?;
    print_pretty(&card)
}

/// The flags that name one user's card, as `get` and `invalidate` take them.
#[derive(Debug, clap::Args)]
pub(crate) struct CardArgs {
    /// The user's card code (the user_card_code path parameter).
    #[arg(long, value_name = "CODE")]
    pub(crate) code: String,

    /// The card template id (the card_id query parameter).
    #[arg(long, value_name = "ID")]
    pub(crate) card_id: String,

    /// The brand id (the brand_id query parameter).
    #[arg(long, value_name = "ID")]
    pub(crate) brand_id: String,

    /// The user's openid under the brand's card template AppID.
    #[arg(long, value_name = "OPENID")]
    pub(crate) openid: String,
}
