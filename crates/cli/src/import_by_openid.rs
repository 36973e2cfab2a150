//! `wechatpay-card import-by-openid`: import one existing member.

use std::path::PathBuf;
use std::process::ExitCode;

use wechatpay_card_client::models::{ImportUserCardByOpenidBody, ImportUserCardByOpenidRequest};

use crate::connection::ConnectionArgs;
use crate::exit::{self, Failure};
use crate::plumbing;

/// Import one existing member by openid (根据openid导入用户会员卡) and print the verified card.
///
/// The body is the request body as JSON (brand_id, card_id, openid, user_card_code required; the card's other fields optional),
/// sensitive values in plaintext: they are encrypted here. The card is activated silently
/// (EFFECTIVE). An import is not repeated: a code already imported, or a user who already has an
/// effective card of the template, is refused (400 INVALID_REQUEST, exit 3). To import many,
/// use `bulk --op import-by-openid`.
#[derive(Debug, clap::Args)]
#[command(after_help = exit::HELP)]
pub(crate) struct ImportByOpenidArgs {
    /// The request body, a JSON file; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    body: PathBuf,

    /// Print the answer's sensitive fields decrypted with the merchant key.
    #[arg(long)]
    decrypt: bool,

    #[command(flatten)]
    connection: ConnectionArgs,
}

pub(crate) async fn run(args: ImportByOpenidArgs) -> ExitCode {
    plumbing::finish(import(args).await)
}

async fn import(args: ImportByOpenidArgs) -> Result<(), Failure> {
    let request =
        plumbing::request_from_file(&args.body, |body: Option<ImportUserCardByOpenidBody>| {
            let builder = ImportUserCardByOpenidRequest::builder();
            match body {
                Some(body) => builder.body(body),
                None => builder,
            }
            .build()
        })?;
    let client = args.connection.client()?;
    plumbing::send_and_print(&client, request, args.decrypt, "member imported").await
}
