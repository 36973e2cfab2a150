//! `wechatpay-card update`: one card, from a terminal or a script.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use wechatpay_card_client::models::{
    UpdateUserCardBody, UpdateUserCardRequest, Validate, ValidationError, Violation,
    from_json_strict,
};

use crate::connection::ConnectionArgs;
use wechatpay_card_client::Untrusted;

use crate::exit::{self, Failure};

/// The largest body read: a request body with every field at its longest is a few KiB.
const MAX_BODY_BYTES: u64 = 256 * 1024;

/// Update one user's member card (修改用户会员卡信息) and print the card WeChat Pay answers.
///
/// The body is the request body as JSON, sensitive values (phone_number, user_information's
/// common_field_list[].value and custom_field_list[].user_chosen_values[]) in plaintext: the
/// command validates it, encrypts them, signs, sends, verifies the answer and prints the
/// verified card as JSON on stdout.
#[derive(Debug, clap::Args)]
#[command(after_help = exit::HELP)]
pub(crate) struct UpdateArgs {
    /// The card template id (the card_id query parameter).
    #[arg(long, value_name = "ID")]
    card_id: String,

    /// The user's card code (the user_card_code path parameter).
    #[arg(long, value_name = "CODE")]
    code: String,

    /// The request body, a JSON file; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    body: PathBuf,

    /// Print the answer's sensitive fields decrypted with the merchant key (else they are
    /// printed as WeChat Pay sent them, encrypted).
    #[arg(long)]
    decrypt: bool,

    #[command(flatten)]
    connection: ConnectionArgs,
}

pub(crate) async fn run(args: UpdateArgs) -> ExitCode {
    match update(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

async fn update(args: UpdateArgs) -> Result<(), Failure> {
    let request = read_request(&args)?;
    let client = args.connection.client()?;
    let verified = client
        .execute(request)
        .await
        .map_err(|e| Failure::from_error(&e))?;
    tracing::info!(
        request_id = verified.request_id().map(|id| Untrusted(id).to_string()),
        attempts = verified.attempts(),
        "card updated"
    );
    let mut card = verified.into_inner();
    if args.decrypt {
        client
            .decrypt(&mut card)
            .map_err(|e| Failure::from_error(&e))?;
    }
    let json = serde_json::to_string_pretty(&card).map_err(|e| Failure {
        code: exit::OTHER,
        message: e.to_string(),
    })?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{json}")
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure {
            code: exit::OTHER,
            message: format!("cannot write to stdout: {e}"),
        })
}

/// The request from the flags and the body file, every violation reported at once.
fn read_request(args: &UpdateArgs) -> Result<UpdateUserCardRequest, Failure> {
    let what = if args.body.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        args.body.display().to_string()
    };
    let mut bytes = Vec::new();
    let read = if args.body.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_BODY_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(&args.body)
            .and_then(|file| file.take(MAX_BODY_BYTES + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| Failure::usage(format!("cannot read the body from {what}: {e}")))?;
    if bytes.len() as u64 > MAX_BODY_BYTES {
        return Err(Failure::usage(format!(
            "the body from {what} is larger than {MAX_BODY_BYTES} bytes: not a request body"
        )));
    }

    match from_json_strict::<UpdateUserCardBody>(&bytes) {
        Ok(body) => {
            let request = UpdateUserCardRequest::new(&args.code, &args.card_id, body);
            match request.validate() {
                Ok(()) => Ok(request),
                Err(e) => Err(invalid(&what, e.violations())),
            }
        }
        Err(body_errors) => {
            // Report the parameters' violations with the body's: a minimal valid body stands in.
            let params = UpdateUserCardRequest::new(
                &args.code,
                &args.card_id,
                UpdateUserCardBody::new("-", "-"),
            );
            let mut violations = params
                .validate()
                .err()
                .map(ValidationError::into_violations)
                .unwrap_or_default();
            violations.extend(body_errors.into_violations());
            Err(invalid(&what, &violations))
        }
    }
}

fn invalid(what: &str, violations: &[Violation]) -> Failure {
    let n = violations.len();
    let list: String = violations.iter().map(|v| format!("\n  - {v}")).collect();
    Failure::usage(format!(
        "invalid request ({what}), nothing sent: {n} invalid field{}:{list}",
        if n == 1 { "" } else { "s" }
    ))
}
