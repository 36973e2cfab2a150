//! `wechatpay-card get`: read one user's card.

use std::process::ExitCode;

use wechatpay_card_client::models::GetUserCardRequest;

use crate::connection::ConnectionArgs;
use crate::exit::{self, Failure};
use crate::plumbing::{self, CardArgs};

/// Read one user's member card (查询用户会员卡详情) and print the verified card.
///
/// A GET: it changes nothing, so any failure can be retried as is.
#[derive(Debug, clap::Args)]
#[command(after_help = exit::HELP_READ)]
pub(crate) struct GetArgs {
    #[command(flatten)]
    card: CardArgs,

    /// Print the card's sensitive fields decrypted with the merchant key (else as WeChat Pay
    /// sent them, encrypted).
    #[arg(long)]
    decrypt: bool,

    #[command(flatten)]
    connection: ConnectionArgs,
}

pub(crate) async fn run(args: GetArgs) -> ExitCode {
    plumbing::finish(get(args).await)
}

async fn get(args: GetArgs) -> Result<(), Failure> {
    let request = plumbing::request_from_flags(
        GetUserCardRequest::builder()
            .user_card_code(&args.card.code)
            .card_id(&args.card.card_id)
            .brand_id(&args.card.brand_id)
            .openid(&args.card.openid)
            .build(),
    )?;
    let client = args.connection.client()?;
    plumbing::send_and_print(&client, request, args.decrypt, "card read").await
}
