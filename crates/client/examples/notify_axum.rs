//! Receiving WeChat Pay's card event notifications in an axum app.
//!
//! ```sh
//! # the client's settings (WECHATPAY_MCHID, WECHATPAY_PRIVATE_KEY, WECHATPAY_PUBLIC_KEY_ID,
//! # WECHATPAY_PUBLIC_KEY, …) and the APIv3 key:
//! export WECHATPAY_APIV3_KEY=…
//! cargo run -p wechatpay-card-client --example notify_axum -- 127.0.0.1:8080
//! ```
//!
//! The route hands the request's headers and raw body bytes to
//! [`NotificationReceiver::receive`], answers with [`answer`] (200, or a 4xx with
//! `{"code":"FAIL",…}` so that WeChat Pay retries) and acts on the event after answering.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use wechatpay_card_client::notify::{DEFAULT_MAX_NOTIFICATION_BYTES, NotificationReceiver, answer};
use wechatpay_card_client::signing::ApiV3Key;
use wechatpay_card_client::{Client, env};

async fn notify(
    State(receiver): State<Arc<NotificationReceiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    // Verify over the bytes as received, before anything is parsed.
    let result = receiver.receive(|name| headers.get(name)?.to_str().ok(), &body);
    match &result {
        // Answer first (within 5 s); a real app deduplicates by `event.id` and confirms a
        // CREATE (`Client::confirm_user_card`) in a spawned task.
        Ok(event) => println!(
            "{} {} card {} code {}",
            event.id, event.event_type, event.event.card_id, event.event.user_card_code
        ),
        Err(error) => eprintln!("refused a notification: {error}"),
    }
    let ack = answer(&result);
    let status = StatusCode::from_u16(ack.status).unwrap_or(StatusCode::BAD_REQUEST);
    let content_type = ack.content_type().unwrap_or("text/plain");
    (status, [(header::CONTENT_TYPE, content_type)], ack.body)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let client = Client::from_env()?;
    let api_v3_key: ApiV3Key = std::env::var(env::APIV3_KEY)
        .map_err(|_| format!("{} is not set", env::APIV3_KEY))?
        .parse()?;
    let receiver = Arc::new(NotificationReceiver::for_client(&client, api_v3_key));
    let app = Router::new()
        .route("/notify", post(notify))
        // A larger body is refused (413) before it is read in full.
        .layer(DefaultBodyLimit::max(DEFAULT_MAX_NOTIFICATION_BYTES))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on http://{}/notify", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
