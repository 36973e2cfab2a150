//! One thin method per endpoint of the user-card family, each over [`Client::execute`].
//!
//! Everything a call does (validation, encryption, signing, retries, failover, verification,
//! binding, lenient parsing) is the generic pipeline's; a method only names the endpoint and what
//! it returns. A new endpoint of an already-supported shape is a schema entry and one of these.

use std::collections::VecDeque;

use futures_core::Stream;
use wechatpay_card_models::{
    ConfirmUserCardRequest, GetUserCardRequest, ImportUserCardByOpenidRequest,
    ImportUserCardByPhoneRequest, InvalidateUserCardRequest, ListUserCardsRequest,
    UpdateUserCardRequest, UserCard,
};

use crate::error::{Repr, SignatureCause, SignatureError};
use crate::{Client, Error, Verified};

/// The largest page `list_user_cards` asks for: the page's maximum `limit`.
pub const MAX_PAGE_SIZE: i64 = 20;

impl Client {
    /// 查询用户会员卡信息: reads one user's member card, verified.
    ///
    /// A read changes nothing: an error of any kind leaves the card as it was, and the call can
    /// be retried freely. Sensitive fields of the answer stay encrypted: see
    /// [`Client::decrypt`].
    ///
    /// ```no_run
    /// # async fn run(client: wechatpay_card_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use wechatpay_card_client::models::GetUserCardRequest;
    ///
    /// let request = GetUserCardRequest::builder()
    ///     .user_card_code("478515832665")
    ///     .card_id("pbLatjvWOibDc5-TBnbUk1pD12o0")
    ///     .brand_id("1004")
    ///     .openid("obLatjnx9gnqzS4myYGmLZ7LgLBA")
    ///     .build()?;
    /// let card = client.get_user_card(request).await?;
    /// println!("{:?} since {}", card.user_card_state, card.pickup_time);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn get_user_card(&self, request: GetUserCardRequest) -> Result<UserCard, Error> {
        self.execute(request).await.map(Verified::into_inner)
    }

    /// 修改用户会员卡信息: updates a user's member card and returns it as WeChat Pay answered,
    /// verified. Give sensitive fields in plaintext: they are encrypted here.
    ///
    /// Sending the same update twice leaves the card as sending it once (a PATCH sets absolute
    /// values), so a retry after an unknown outcome is safe.
    ///
    /// # Errors
    /// See [`Error`]: nothing is sent for [`ErrorKind::Validation`](crate::ErrorKind::Validation) and [`ErrorKind::Encryption`](crate::ErrorKind::Encryption);
    /// [`ErrorKind::Signature`](crate::ErrorKind::Signature) means the update may have been applied.
    pub async fn update_user_card(
        &self,
        request: UpdateUserCardRequest,
    ) -> Result<UserCard, Error> {
        self.execute(request).await.map(Verified::into_inner)
    }

    /// 作废用户会员卡: invalidates a user's member card. **Irreversible**: an invalidated card
    /// cannot be made valid again, and WeChat Pay requires the user's prior consent.
    ///
    /// A second invalidation of the same card is refused by WeChat Pay; after an unknown
    /// outcome ([`Error::may_have_been_applied`]), read the card
    /// ([`Client::get_user_card`]) rather than invalidating again.
    ///
    /// ```no_run
    /// # async fn run(client: wechatpay_card_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use wechatpay_card_client::models::{InvalidateUserCardBody, InvalidateUserCardRequest};
    ///
    /// let request = InvalidateUserCardRequest::builder()
    ///     .user_card_code("478515832665")
    ///     .card_id("pbLatjvWOibDc5-TBnbUk1pD12o0")
    ///     .brand_id("1004")
    ///     .body(InvalidateUserCardBody::new("obLatjnx9gnqzS4myYGmLZ7LgLBA").with_invalid_reason("会员注销"))
    ///     .build()?;
    /// let card = client.invalidate_user_card(request).await?;
    /// assert_eq!(card.invalid_reason.as_deref(), Some("会员注销"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn invalidate_user_card(
        &self,
        request: InvalidateUserCardRequest,
    ) -> Result<UserCard, Error> {
        self.execute(request).await.map(Verified::into_inner)
    }

    /// 根据OPENID导入用户会员卡: imports an existing member, known by openid, with the code the
    /// brand gave them; the card is active at once. Sensitive fields in plaintext.
    ///
    /// Importing a code twice is refused (400 `INVALID_REQUEST`): after an unknown outcome, read
    /// the card ([`Client::get_user_card`]) to learn whether the first attempt landed.
    ///
    /// ```no_run
    /// # async fn run(client: wechatpay_card_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use wechatpay_card_client::models::{ImportUserCardByOpenidBody, ImportUserCardByOpenidRequest};
    ///
    /// let body = ImportUserCardByOpenidBody::builder()
    ///     .brand_id("1004")
    ///     .card_id("pbLatjvWOibDc5-TBnbUk1pD12o0")
    ///     .openid("obLatjnx9gnqzS4myYGmLZ7LgLBA")
    ///     .user_card_code("M000123")
    ///     .build()?
    /// .with_level("金卡")
    /// .with_phone_number("13800138000");
    /// let request = ImportUserCardByOpenidRequest::builder().body(body).build()?;
    /// let card = client.import_user_card_by_openid(request).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn import_user_card_by_openid(
        &self,
        request: ImportUserCardByOpenidRequest,
    ) -> Result<UserCard, Error> {
        self.execute(request).await.map(Verified::into_inner)
    }

    /// 根据手机号导入用户会员卡: imports an existing member known by phone number (the
    /// required, encrypted `phone_number`: give it in plaintext), with the code the brand gave
    /// them; the card is active at once.
    ///
    /// As for [`Client::import_user_card_by_openid`], a second import of a code is refused.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn import_user_card_by_phone(
        &self,
        request: ImportUserCardByPhoneRequest,
    ) -> Result<UserCard, Error> {
        self.execute(request).await.map(Verified::into_inner)
    }

    /// 同步会员开通结果: tells WeChat Pay whether opening the card a user just applied for
    /// succeeded (`CREATE_CARD_SUCCESS`, the card becomes valid) or failed, after the
    /// card-opening notification. Until it is confirmed, the card is not valid.
    ///
    /// # Errors
    /// See [`Error`]; a card that is not awaiting confirmation is 404 `NOT_FOUND`.
    pub async fn confirm_user_card(
        &self,
        request: ConfirmUserCardRequest,
    ) -> Result<UserCard, Error> {
        self.execute(request).await.map(Verified::into_inner)
    }

    /// 查询用户在品牌下所有会员卡: every card of a user under a brand, as a stream that fetches
    /// pages as it is read.
    ///
    /// The stream starts at the request's `offset` and asks for pages of [`MAX_PAGE_SIZE`] (the
    /// largest WeChat Pay serves; the request's `limit` is replaced), until a page comes back
    /// empty or `total_count` is reached. Each card is verified and must belong to the request's
    /// `brand_id` and `openid` (else [`ErrorKind::Signature`](crate::ErrorKind::Signature) names the field). After an error the
    /// stream ends.
    ///
    /// ```no_run
    /// # async fn run(client: wechatpay_card_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures_util::StreamExt as _;
    /// use wechatpay_card_client::models::ListUserCardsRequest;
    ///
    /// let request = ListUserCardsRequest::builder()
    ///     .brand_id("1004")
    ///     .openid("obLatjnx9gnqzS4myYGmLZ7LgLBA")
    ///     .offset(0)
    ///     .limit(20)
    ///     .build()?;
    /// let mut cards = std::pin::pin!(client.list_user_cards(request));
    /// while let Some(card) = cards.next().await {
    ///     println!("{}", card?.user_card_code);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_user_cards(
        &self,
        mut request: ListUserCardsRequest,
    ) -> impl Stream<Item = Result<UserCard, Error>> + Send + 'static {
        request.limit = MAX_PAGE_SIZE;
        let pages = Pages {
            client: self.clone(),
            request,
            buffered: VecDeque::new(),
            done: false,
        };
        futures_util::stream::unfold(pages, Pages::next)
    }
}

/// The state of a [`Client::list_user_cards`] stream.
struct Pages {
    client: Client,
    request: ListUserCardsRequest,
    buffered: VecDeque<UserCard>,
    done: bool,
}

impl Pages {
    async fn next(mut self) -> Option<(Result<UserCard, Error>, Self)> {
        loop {
            if let Some(card) = self.buffered.pop_front() {
                return Some((Ok(card), self));
            }
            if self.done {
                return None;
            }
            match self.fetch().await {
                Ok(()) => {}
                Err(error) => {
                    self.done = true;
                    self.buffered.clear();
                    return Some((Err(error), self));
                }
            }
        }
    }

    /// Fetches the page at the request's offset into the buffer and moves the offset past it.
    async fn fetch(&mut self) -> Result<(), Error> {
        let verified = self.client.execute(self.request.clone()).await?;
        let status = verified.status();
        let request_id = verified.request_id().map(str::to_string);
        let page = verified.into_inner();
        for (i, card) in page.data.iter().enumerate() {
            for (field, sent, answered) in [
                ("brand_id", &self.request.brand_id, &card.brand_id),
                ("openid", &self.request.openid, &card.openid),
            ] {
                if sent != answered {
                    return Err(Error::new(Repr::Signature(SignatureError {
                        method: "GET",
                        status,
                        request_id,
                        cause: SignatureCause::Mismatch {
                            field: format!("data[{i}].{field}"),
                            sent: sent.clone(),
                            answered: Some(answered.clone()),
                        },
                    })));
                }
            }
        }
        let received = page.data.len() as i64;
        self.request.offset = self.request.offset.saturating_add(received);
        // An empty page ends the listing even if total_count says otherwise: a server that
        // keeps promising more without giving any must not make the stream spin.
        self.done = received == 0 || self.request.offset >= page.total_count;
        self.buffered.extend(page.data);
        Ok(())
    }
}
