//! `wechatpay-card update`: one card, from a terminal or a script.

use std::path::PathBuf;
use std::process::ExitCode;

use wechatpay_card_client::models::{UpdateUserCardBody, UpdateUserCardRequest, Validate};

use crate::connection::ConnectionArgs;
use crate::exit::{self, Failure};
use crate::plumbing;

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
    plumbing::finish(update(args).await)
}

async fn update(args: UpdateArgs) -> Result<(), Failure> {
    let request = read_request(&args)?;
    let client = args.connection.client()?;
    plumbing::send_and_print(&client, request, args.decrypt, "card updated").await
}

/// The request from the flags and the body file, every violation reported at once.
fn read_request(args: &UpdateArgs) -> Result<UpdateUserCardRequest, Failure> {
    plumbing::request_from_file(&args.body, |body: Option<UpdateUserCardBody>| {
        // Without a valid body, a minimal valid one stands in to check the parameters.
        let body = body.unwrap_or_else(|| UpdateUserCardBody::new("-", "-"));
        let request = UpdateUserCardRequest::new(&args.code, &args.card_id, body);
        request.validate().map(|()| request)
    })
}
