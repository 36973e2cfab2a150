//! `wechatpay-card invalidate`: invalidate one user's card, irreversibly.

use std::process::ExitCode;

use wechatpay_card_client::models::{InvalidateUserCardBody, InvalidateUserCardRequest};

use crate::connection::ConnectionArgs;
use crate::exit::{self, Failure};
use crate::plumbing::{self, CardArgs};

/// Invalidate one user's member card (作废用户会员卡) and print the verified card.
///
/// IRREVERSIBLE: an invalidated card cannot be made usable again (it refuses updates and
/// confirms). Without --yes the command refuses (exit 2) and sends nothing.
#[derive(Debug, clap::Args)]
#[command(after_help = exit::HELP)]
pub(crate) struct InvalidateArgs {
    #[command(flatten)]
    card: CardArgs,

    /// Why (invalid_reason, at most 32 characters).
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,

    /// Confirm: invalidation cannot be undone.
    #[arg(long)]
    yes: bool,

    /// Print the card's sensitive fields decrypted with the merchant key.
    #[arg(long)]
    decrypt: bool,

    #[command(flatten)]
    connection: ConnectionArgs,
}

pub(crate) async fn run(args: InvalidateArgs) -> ExitCode {
    plumbing::finish(invalidate(args).await)
}

async fn invalidate(args: InvalidateArgs) -> Result<(), Failure> {
    let mut body = InvalidateUserCardBody::new(&args.card.openid);
    if let Some(reason) = &args.reason {
        body = body.with_invalid_reason(reason);
    }
    let request = plumbing::request_from_flags(
        InvalidateUserCardRequest::builder()
            .user_card_code(&args.card.code)
            .card_id(&args.card.card_id)
            .brand_id(&args.card.brand_id)
            .body(body)
            .build(),
    )?;
    if !args.yes {
        return Err(Failure::usage(
            "invalidating a card is irreversible: add --yes to send it; nothing was sent",
        ));
    }
    let client = args.connection.client()?;
    plumbing::send_and_print(&client, request, args.decrypt, "card invalidated").await
}
