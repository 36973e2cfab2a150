//! `wechatpay-card demo` needs nothing: no configuration, no server.

#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn runs_the_page_example_without_configuration() {
    let output = common::command(&Default::default(), &["demo"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in [
        "PATCH /v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0 HTTP/1.1",
        "Authorization: WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\"",
        "3 sensitive fields, RSAES-OAEP",
        "HTTP 200",
        "Wechatpay-Signature verified with PUB_KEY_ID_",
        "\"level\": \"钻石会员\"",
    ] {
        assert!(stdout.contains(step), "{step} missing from\n{stdout}");
    }
    assert!(
        !stdout.contains("13800138000"),
        "plaintext sensitive values stay masked"
    );
}
