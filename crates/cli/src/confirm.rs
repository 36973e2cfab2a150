//! `wechatpay-card confirm`: send the result of a card opening.

use std::path::PathBuf;
use std::process::ExitCode;

use wechatpay_card_client::models::{ConfirmUserCardBody, ConfirmUserCardRequest};

use crate::connection::ConnectionArgs;
use crate::exit::{self, Failure};
use crate::plumbing;

/// Confirm the opening of a card awaiting confirmation (同步会员开通结果) and print the verified
/// card.
///
/// The body is the request body as JSON (brand_id, openid, user_card_confirm_state
/// CREATE_CARD_SUCCESS or CREATE_CARD_FAIL, and the card's fields to set), sensitive values in
/// plaintext: they are encrypted here. A card that is not awaiting confirmation is refused (404
/// NOT_FOUND, exit 3): a confirm is not repeated.
#[derive(Debug, clap::Args)]
#[command(after_help = exit::HELP)]
pub(crate) struct ConfirmArgs {
    /// The user's card code (the user_card_code path parameter).
    #[arg(long, value_name = "CODE")]
    code: String,

    /// The card template id (the card_id query parameter).
    #[arg(long, value_name = "ID")]
    card_id: String,

    /// The request body, a JSON file; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    body: PathBuf,

    /// Print the answer's sensitive fields decrypted with the merchant key.
    #[arg(long)]
    decrypt: bool,

    #[command(flatten)]
    connection: ConnectionArgs,
}

pub(crate) async fn run(args: ConfirmArgs) -> ExitCode {
    plumbing::finish(confirm(args).await)
}

async fn confirm(args: ConfirmArgs) -> Result<(), Failure> {
    let request = plumbing::request_from_file(&args.body, |body: Option<ConfirmUserCardBody>| {
        let builder = ConfirmUserCardRequest::builder()
            .user_card_code(&args.code)
            .card_id(&args.card_id);
        match body {
            Some(body) => builder.body(body),
            None => builder,
        }
        .build()
    })?;
    let client = args.connection.client()?;
    plumbing::send_and_print(&client, request, args.decrypt, "card confirmed").await
}
