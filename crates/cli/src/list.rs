//! `wechatpay-card list`: every card of one user, all pages, as JSON Lines.

use std::process::ExitCode;

use futures_util::StreamExt as _;
use wechatpay_card_client::models::{ListUserCardsRequest, UserCardState};

use crate::connection::ConnectionArgs;
use crate::exit::{self, Failure};
use crate::plumbing;

/// The page size (the client asks for the largest the endpoint allows whatever is given).
const PAGE: i64 = 20;

/// List every member card of one user under a brand (查询用户会员卡列表), one verified card per
/// line (JSON Lines), all pages.
///
/// Pages of 20 are read one after the other (the client's `list_user_cards`), each card printed
/// as soon as its page is verified; a failure stops at the page it happened on (the cards
/// printed before it are good).
#[derive(Debug, clap::Args)]
#[command(after_help = exit::HELP_READ)]
pub(crate) struct ListArgs {
    /// The brand id.
    #[arg(long, value_name = "ID")]
    brand_id: String,

    /// The user's openid.
    #[arg(long, value_name = "OPENID")]
    openid: String,

    /// Only the cards in this state: UNACTIVATED, EFFECTIVE, EXPIRED or INVALID.
    #[arg(long, value_name = "STATE")]
    state: Option<String>,

    /// Print the cards' sensitive fields decrypted with the merchant key.
    #[arg(long)]
    decrypt: bool,

    #[command(flatten)]
    connection: ConnectionArgs,
}

pub(crate) async fn run(args: ListArgs) -> ExitCode {
    plumbing::finish(list(args).await)
}

async fn list(args: ListArgs) -> Result<(), Failure> {
    let mut builder = ListUserCardsRequest::builder()
        .brand_id(&args.brand_id)
        .openid(&args.openid)
        .offset(0)
        .limit(PAGE);
    if let Some(state) = &args.state {
        builder = builder.user_card_state(UserCardState::from(state.as_str()));
    }
    let request = plumbing::request_from_flags(builder.build())?;
    let client = args.connection.client()?;
    // The client's stream reads the pages one after the other; each card is printed as it comes.
    let mut cards = std::pin::pin!(client.list_user_cards(request));
    while let Some(card) = cards.next().await {
        let mut card = card.map_err(|e| Failure::from_error(&e))?;
        if args.decrypt {
            client
                .decrypt(&mut card)
                .map_err(|e| Failure::from_error(&e))?;
        }
        plumbing::print_line(&card)?;
    }
    Ok(())
}
