//! `wechatpay-card list`: every card of one user, all pages, as JSON Lines.

use std::process::ExitCode;

use wechatpay_card_client::models::{ListUserCardsRequest, UserCardState};

use crate::connection::ConnectionArgs;
use crate::exit::{self, Failure};
use crate::plumbing;

/// The page size asked for: the largest the endpoint allows.
const PAGE: i64 = 20;

/// List every member card of one user under a brand (查询用户会员卡列表), one verified card per
/// line (JSON Lines), all pages.
///
/// Pages of 20 are read one after the other, each card printed as soon as its page is verified;
/// a failure stops at the page it happened on (the cards printed before it are good).
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

fn page(args: &ListArgs, offset: i64) -> Result<ListUserCardsRequest, Failure> {
    let mut builder = ListUserCardsRequest::builder()
        .brand_id(&args.brand_id)
        .openid(&args.openid)
        .offset(offset)
        .limit(PAGE);
    if let Some(state) = &args.state {
        builder = builder.user_card_state(UserCardState::from(state.as_str()));
    }
    plumbing::request_from_flags(builder.build())
}

async fn list(args: ListArgs) -> Result<(), Failure> {
    let first = page(&args, 0)?;
    let client = args.connection.client()?;
    let mut request = Some(first);
    let mut offset = 0i64;
    while let Some(current) = request.take() {
        let verified = client
            .execute(current)
            .await
            .map_err(|e| Failure::from_error(&e))?;
        let mut list = verified.into_inner();
        if args.decrypt {
            client
                .decrypt(&mut list)
                .map_err(|e| Failure::from_error(&e))?;
        }
        let got = list.data.len() as i64;
        for card in &list.data {
            plumbing::print_line(card)?;
        }
        // The next page, while this one was full and more remain (an empty page ends the walk
        // whatever total_count says, so a wrong count never loops).
        offset = offset.saturating_add(got);
        if got > 0 && offset < list.total_count {
            request = Some(page(&args, offset)?);
        }
    }
    Ok(())
}
