//! The user-card endpoints over HTTP, hand-signed: import, get, list (paging), invalidate,
//! confirm, and the life-cycle rules.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

const BASE: &str = "/v3/brand/partner/card-member/user-cards";

/// A GET: no body, no Content-Type, no Wechatpay-Serial; signed over the empty body.
async fn get(client: &Client, url: &str) -> Answer {
    let headers: Vec<(String, String)> = client
        .headers("GET", url, b"")
        .into_iter()
        .filter(|(n, _)| n != "Content-Type" && n != "Wechatpay-Serial")
        .collect();
    client.send("GET", url, "", &headers).await
}

async fn post(client: &Client, url: &str, body: &serde_json::Value) -> Answer {
    let body = body.to_string();
    let headers = client.headers("POST", url, body.as_bytes());
    client.send("POST", url, body, &headers).await
}

fn import(code: &str, card_id: &str, openid: &str) -> serde_json::Value {
    json!({"brand_id": BRAND, "card_id": card_id, "openid": openid, "user_card_code": code})
}

#[tokio::test]
async fn import_get_invalidate_and_the_rules_after() {
    let sandbox = builder().template("t2", BRAND).start().await.unwrap();
    let client = Client::new(&sandbox);
    let url = format!("{BASE}/import-by-openid");
    let answer = post(&client, &url, &import("c1", "t2", "u1")).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["user_card_state"], "EFFECTIVE");
    assert_eq!(answer.json()["card_type"], "NORMAL");
    // The same code again, and the same user again: refused.
    for body in [import("c1", "t2", "u2"), import("c9", "t2", "u1")] {
        let answer = post(&client, &url, &body).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (400, "INVALID_REQUEST")
        );
    }
    let answer = post(&client, &url, &import("c9", "t2", "u1")).await;
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("用户已有已生效的会员卡")
    );

    let one = format!("{BASE}/c1?brand_id={BRAND}&card_id=t2&openid=u1");
    let answer = get(&client, &one).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["user_card_code"], "c1");
    // Another user, another brand: 404.
    for url in [
        format!("{BASE}/c1?brand_id={BRAND}&card_id=t2&openid=u2"),
        format!("{BASE}/c1?brand_id=9999&card_id=t2&openid=u1"),
    ] {
        assert_eq!(get(&client, &url).await.status, 404, "{url}");
    }

    let inv = format!("{BASE}/c1/invalidate?brand_id={BRAND}&card_id=t2");
    let answer = post(
        &client,
        &inv,
        &json!({"openid": "u1", "invalid_reason": "moved"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["user_card_state"], "INVALID");
    assert_eq!(answer.json()["invalid_reason"], "moved");
    assert!(answer.json()["invalid_time"].is_string());
    let again = post(&client, &inv, &json!({"openid": "u1"})).await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (400, "INVALID_REQUEST")
    );
    let patch = client
        .patch(
            &url_of("c1", "t2"),
            &json!({"brand_id": BRAND, "openid": "u1", "level": "x"}).to_string(),
        )
        .await;
    assert_eq!(
        (patch.status, patch.code().as_str()),
        (400, "INVALID_REQUEST")
    );
    let stats = sandbox.stats();
    assert_eq!((stats.updates_applied, stats.reads_answered), (2, 1));
}

fn url_of(code: &str, card_id: &str) -> String {
    url(code, card_id)
}

#[tokio::test]
async fn confirm_only_a_card_awaiting_confirmation() {
    let sandbox = builder().template("t2", BRAND).start().await.unwrap();
    let client = Client::new(&sandbox);
    sandbox.open_card("t2", "c5", "u5").unwrap();
    assert!(
        sandbox.open_card("t2", "c6", "u5").is_err(),
        "one waiting card per user"
    );
    let url = format!("{BASE}/c5/confirm?card_id=t2");
    let body = json!({"brand_id": BRAND, "openid": "u5", "user_card_confirm_state": "CREATE_CARD_SUCCESS", "level": "金"});
    let answer = post(&client, &url, &body).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.json()["user_card_state"], "EFFECTIVE");
    assert_eq!(answer.json()["level"], "金");
    let again = post(&client, &url, &body).await;
    assert_eq!((again.status, again.code().as_str()), (404, "NOT_FOUND"));
    assert!(
        again.json()["message"]
            .as_str()
            .unwrap()
            .contains("用户不存在未激活的会员卡")
    );
    // A failed opening: INVALID; then a confirmation is a 400.
    sandbox.open_card("t2", "c7", "u7").unwrap();
    let url = format!("{BASE}/c7/confirm?card_id=t2");
    let fail =
        json!({"brand_id": BRAND, "openid": "u7", "user_card_confirm_state": "CREATE_CARD_FAIL"});
    assert_eq!(
        post(&client, &url, &fail).await.json()["user_card_state"],
        "INVALID"
    );
    let answer = post(&client, &url, &fail).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (400, "INVALID_REQUEST")
    );
}

#[tokio::test]
async fn list_pages_of_45_and_query_rules() {
    let mut builder = builder();
    for i in 0..45 {
        builder = builder.template(format!("t{i:02}"), BRAND);
    }
    let sandbox = builder.start().await.unwrap();
    let client = Client::new(&sandbox);
    for i in 0..45 {
        let answer = post(
            &client,
            &format!("{BASE}/import-by-openid"),
            &import(&format!("c{i}"), &format!("t{i:02}"), "u1"),
        )
        .await;
        assert_eq!(answer.status, 200);
    }
    let mut codes = Vec::new();
    for (offset, expected) in [(0, 20), (20, 20), (40, 5)] {
        let url = format!("{BASE}?brand_id={BRAND}&openid=u1&offset={offset}&limit=20");
        let answer = get(&client, &url).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        let json = answer.json();
        assert_eq!(json["total_count"], 45);
        assert_eq!(
            (json["offset"].as_i64(), json["limit"].as_i64()),
            (Some(offset), Some(20))
        );
        let data = json["data"].as_array().unwrap();
        assert_eq!(data.len(), expected);
        codes.extend(
            data.iter()
                .map(|c| c["card_id"].as_str().unwrap().to_owned()),
        );
    }
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted);
    assert_eq!(codes.len(), 45);
    for query in [
        "brand_id=1004&openid=u1&offset=0&limit=21",
        "brand_id=1004&openid=u1&offset=0&limit=0",
        "brand_id=1004&openid=u1&offset=0&limit=20&limit=20",
        "brand_id=1004&openid=u1&offset=0&limit=20&page=1",
        "brand_id=1004&openid=u1&offset=0",
        "brand_id=1004&openid=u1&user_card_state=GONE&offset=0&limit=20",
    ] {
        let answer = get(&client, &format!("{BASE}?{query}")).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (400, "PARAM_ERROR"),
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_get_has_no_body_and_no_content_type() {
    let sandbox = start().await;
    let client = Client::new(&sandbox);
    let url = format!("{BASE}/{CODE}?brand_id={BRAND}&card_id={CARD_ID}&openid={OPENID}");
    assert_eq!(get(&client, &url).await.status, 200);
    // A body, even signed: refused.
    let headers: Vec<(String, String)> = client
        .headers("GET", &url, b"{}")
        .into_iter()
        .filter(|(n, _)| n != "Content-Type")
        .collect();
    let answer = client.send("GET", &url, "{}", &headers).await;
    assert_eq!(
        (answer.status, answer.code().as_str()),
        (400, "INVALID_REQUEST")
    );
    // A Content-Type: refused, named.
    let headers = client.headers("GET", &url, b"");
    let answer = client.send("GET", &url, "", &headers).await;
    assert_eq!(
        (answer.status, answer.detail().0.as_str()),
        (400, "Content-Type")
    );
}
