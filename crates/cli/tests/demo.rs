//! `wechatpay-card demo` needs nothing: no configuration, no server.

#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn runs_the_life_cycle_of_one_member_without_configuration() {
    let output = common::command(&Default::default(), &["demo"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    const PATH: &str = "/v3/brand/partner/card-member/user-cards";
    const CARD: &str = "card_id=pbLatjvWOibDc5-TBnbUk1pD12o0";
    let steps = [
        format!("POST {PATH}/import-by-phone HTTP/1.1"),
        format!("GET {PATH}/DEMO20260001?brand_id=1004&{CARD}&openid="),
        format!("PATCH {PATH}/DEMO20260001?{CARD} HTTP/1.1"),
        format!("GET {PATH}?brand_id=1004&openid="),
        format!("POST {PATH}/DEMO20260001/invalidate?brand_id=1004&{CARD} HTTP/1.1"),
        "received MEMBERCARDSP.USER_CARD.CREATE".to_string(),
        format!("POST {PATH}/DEMO20260002/confirm?{CARD} HTTP/1.1"),
        "received MEMBERCARDSP.USER_CARD.DELETE".to_string(),
    ];
    let mut from = 0;
    for step in &steps {
        let at = stdout[from..]
            .find(step.as_str())
            .unwrap_or_else(|| panic!("{step} missing (in order) from\n{stdout}"));
        from += at + step.len();
    }
    for shown in [
        "Authorization: WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\"",
        "3 sensitive fields, RSAES-OAEP",
        "HTTP 200",
        "Wechatpay-Signature verified with PUB_KEY_ID_",
        "\"level\": \"钻石会员\"",
        "\"user_card_state\": \"INVALID\"",
        "\"user_card_state\": \"EFFECTIVE\"",
    ] {
        assert!(stdout.contains(shown), "{shown} missing from\n{stdout}");
    }
    assert!(
        !stdout.contains("13800138000") && !stdout.contains("13900001234"),
        "plaintext sensitive values stay masked"
    );
}
