//! `wechatpay-card update` as a user runs it, against a `wechatpay-card sandbox` process.

#![allow(clippy::unwrap_used)]

mod common;

use common::{CARD_ID, OPENID, cards, command, requests, sandbox};

const CODE: &str = "478515832665";

fn body_file(dir: &std::path::Path, json: &str) -> String {
    let path = dir.join("body.json");
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}

fn run(env: &std::collections::HashMap<String, String>, args: &[&str]) -> (i32, String, String) {
    let output = command(env, args).output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// `wechatpay-card update --card-id CARD_ID --code CODE --body BODY EXTRA…`.
fn update(
    env: &std::collections::HashMap<String, String>,
    code: &str,
    body: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let mut args = vec![
        "update",
        "--card-id",
        CARD_ID,
        "--code",
        code,
        "--body",
        body,
    ];
    args.extend_from_slice(extra);
    run(env, &args)
}

#[test]
fn prints_the_verified_card_and_decrypts_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let (running, env) = sandbox(dir.path(), &[]);
    let body = body_file(
        dir.path(),
        &format!(
            r#"{{"brand_id":"1004","openid":"{OPENID}","level":"黑金会员","phone_number":"13912345678"}}"#
        ),
    );
    let (code, stdout, stderr) = update(&env, CODE, &body, &[]);
    assert_eq!(code, 0, "{stderr}");
    let card: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(card["level"], "黑金会员");
    let phone = card["phone_number"].as_str().unwrap();
    assert_ne!(
        phone, "13912345678",
        "encrypted for the merchant unless --decrypt"
    );
    assert!(phone.len() > 300);

    let (code, stdout, _) = update(&env, CODE, &body, &["--decrypt"]);
    assert_eq!(code, 0);
    let card: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(card["phone_number"], "13912345678");
    assert_eq!(
        cards(&running.base_url)[CODE]["phone_number"],
        "13912345678"
    );

    // The body from standard input.
    let mut child = command(
        &env,
        &[
            "update",
            "--card-id",
            CARD_ID,
            "--code",
            CODE,
            "--body",
            "-",
        ],
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!(r#"{{"brand_id":"1004","openid":"{OPENID}","level":"银卡"}}"#).as_bytes(),
        )
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(cards(&running.base_url)[CODE]["level"], "银卡");
}

#[test]
fn invalid_input_exits_2_listing_every_violation_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (running, env) = sandbox(dir.path(), &[]);
    let body = body_file(
        dir.path(),
        r#"{"brand_id":"1004","openid":"o","card_color":"yellow","levle":"x","phone_number":13800138000,
            "user_information":{"custom_field_list":[{"name":"运动🏀"}]}}"#,
    );
    let (code, stdout, stderr) = update(&env, "bad code", &body, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    for path in ["user_card_code", "levle", "phone_number"] {
        assert!(
            stderr.contains(&format!("- {path}:")),
            "{path} missing from {stderr}"
        );
    }
    assert!(
        !stderr.contains("13800138000"),
        "no sensitive value quoted: {stderr}"
    );
    let body = body_file(
        dir.path(),
        r#"{"brand_id":"1004","openid":"o","card_color":"yellow","user_information":{"custom_field_list":[{"name":"运动🏀"}]}}"#,
    );
    let (code, _, stderr) = update(&env, CODE, &body, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("- card_color: must match"), "{stderr}");
    assert!(
        stderr.contains("- user_information.custom_field_list[0].name: character 3 is outside"),
        "{stderr}"
    );
    assert_eq!(requests(&running.base_url), 0, "nothing was sent");
}

#[test]
fn missing_configuration_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, mut env) = sandbox(dir.path(), &[]);
    let body = body_file(dir.path(), r#"{"brand_id":"1004","openid":"o"}"#);
    for (variable, flag) in [
        ("WECHATPAY_MCHID", "--mchid"),
        ("WECHATPAY_PRIVATE_KEY", "--private-key"),
        ("WECHATPAY_PUBLIC_KEY", "--wechatpay-public-key"),
    ] {
        let mut without = env.clone();
        without.remove(variable);
        let (code, _, stderr) = update(&without, CODE, &body, &[]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains(variable),
            "{stderr}"
        );
    }
    env.insert(
        "WECHATPAY_PRIVATE_KEY".into(),
        "/nonexistent/key.pem".into(),
    );
    let (code, _, stderr) = update(&env, CODE, &body, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/key.pem"), "{stderr}");
}

#[test]
fn an_api_error_exits_3_with_status_code_message_and_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, env) = sandbox(dir.path(), &[]);
    let body = body_file(
        dir.path(),
        &format!(r#"{{"brand_id":"1004","openid":"{OPENID}","level":"金卡"}}"#),
    );
    let (code, stdout, stderr) = update(&env, "000000", &body, &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("404 NOT_FOUND") && stderr.contains("Request-ID: "),
        "{stderr}"
    );
}

#[test]
fn a_failed_verification_exits_4_and_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for fault in ["--tamper-rate", "--probe-rate"] {
        let (_running, env) = sandbox(&dir.path().join(fault), &[fault, "1"]);
        let body = body_file(
            dir.path(),
            &format!(r#"{{"brand_id":"1004","openid":"{OPENID}","level":"金卡"}}"#),
        );
        let (code, stdout, stderr) = update(&env, CODE, &body, &[]);
        assert_eq!(code, 4, "{stderr}");
        assert!(stdout.is_empty(), "an unverified answer is never printed");
        assert!(stderr.contains("read the card back"), "{stderr}");
    }
}

#[test]
fn a_network_failure_exits_1_and_flags_win_over_variables() {
    let dir = tempfile::tempdir().unwrap();
    let (running, mut env) = sandbox(dir.path(), &[]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    env.insert("WECHATPAY_BASE_URL".into(), format!("http://{closed}"));
    let body = body_file(
        dir.path(),
        &format!(r#"{{"brand_id":"1004","openid":"{OPENID}","level":"金卡"}}"#),
    );
    let (code, _, stderr) = update(&env, CODE, &body, &["--max-attempts", "2"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("could not connect"), "{stderr}");
    let (code, _, stderr) = update(
        &env,
        CODE,
        &body,
        &["--max-attempts", "2", "--base-url", &running.base_url],
    );
    assert_eq!(code, 0, "the flag wins over WECHATPAY_BASE_URL: {stderr}");
}

#[test]
fn logs_at_any_level_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, mut env) = sandbox(dir.path(), &["--fail-rate", "0.5", "--seed", "1"]);
    env.insert("RUST_LOG".into(), "trace".into());
    let body = body_file(
        dir.path(),
        &format!(
            r#"{{"brand_id":"1004","openid":"{OPENID}","phone_number":"13912345678","level":"金卡"}}"#
        ),
    );
    let (code, _, stderr) = update(&env, CODE, &body, &["--max-attempts", "10"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("wechatpay_call"),
        "trace logging is on: {stderr}"
    );
    let key = std::fs::read_to_string(&env["WECHATPAY_PRIVATE_KEY"]).unwrap();
    let key_line = key.lines().nth(1).unwrap();
    for secret in [
        "13912345678",
        "WECHATPAY2-SHA256-RSA2048",
        "signature=\"",
        key_line,
    ] {
        assert!(!stderr.contains(secret), "{secret} in the logs");
    }
}

#[test]
fn key_settings_take_pem_text_and_never_print_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let (running, mut env) = sandbox(dir.path(), &[]);
    let body = body_file(
        dir.path(),
        &format!(r#"{{"brand_id":"1004","openid":"{OPENID}","level":"文本"}}"#),
    );
    // The key as PEM text in the variable, as containers pass secrets: it works.
    let key_file = env["WECHATPAY_PRIVATE_KEY"].clone();
    let pem = std::fs::read_to_string(&key_file).unwrap();
    env.insert("WECHATPAY_PRIVATE_KEY".into(), pem.clone());
    let (code, _, stderr) = update(&env, CODE, &body, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(cards(&running.base_url)[CODE]["level"], "文本");

    // Key material that is not quite PEM: an error naming the setting, never the key.
    let armourless: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for value in [armourless.as_str(), &pem[5..]] {
        env.insert("WECHATPAY_PRIVATE_KEY".into(), value.to_string());
        let (code, stdout, stderr) = update(&env, CODE, &body, &[]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains("WECHATPAY_PRIVATE_KEY"), "{stderr}");
        assert!(!stderr.contains(&armourless[..32]), "key printed: {stderr}");
        // The same through the flag.
        let (code, _, stderr) = update(&env, CODE, &body, &["--private-key", value]);
        assert_eq!(code, 2, "{stderr}");
        assert!(!stderr.contains(&armourless[..32]), "key printed: {stderr}");
    }
    // A key file that never ends: refused at a bound.
    env.insert("WECHATPAY_PRIVATE_KEY".into(), "/dev/zero".into());
    let (code, _, stderr) = update(&env, CODE, &body, &[]);
    assert_eq!(code, 2, "{stderr}");
    running.terminate();
}

#[test]
fn every_missing_setting_is_named_at_once_and_help_shows_no_empty_env() {
    let env = std::collections::HashMap::new();
    let dir = tempfile::tempdir().unwrap();
    let body = body_file(
        dir.path(),
        &format!(r#"{{"brand_id":"1004","openid":"{OPENID}"}}"#),
    );
    let (code, _, stderr) = update(&env, CODE, &body, &[]);
    assert_eq!(code, 2, "{stderr}");
    for variable in [
        "WECHATPAY_MCHID",
        "WECHATPAY_PRIVATE_KEY",
        "WECHATPAY_MERCHANT_SERIAL",
        "WECHATPAY_PUBLIC_KEY",
    ] {
        assert!(stderr.contains(variable), "{variable} not named: {stderr}");
    }
    for command in ["update", "bulk"] {
        let (code, stdout, _) = run(&env, &[command, "--help"]);
        assert_eq!(code, 0);
        assert!(!stdout.contains("[env:"), "{stdout}");
        assert!(stdout.contains("WECHATPAY_PRIVATE_KEY"), "{stdout}");
    }
}

#[test]
fn extreme_flag_values_are_usage_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (running, env) = sandbox(dir.path(), &[]);
    let body = body_file(
        dir.path(),
        &format!(r#"{{"brand_id":"1004","openid":"{OPENID}"}}"#),
    );
    for timeout in ["1e20", "1.8e19", "1e-20", "0", "-1", "nan", "inf", "x"] {
        let (code, _, stderr) = update(&env, CODE, &body, &["--timeout", timeout]);
        assert_eq!(code, 2, "--timeout {timeout}: {stderr}");
    }
    for attempts in ["0", "101", "18446744073709551616", "-1"] {
        let (code, _, stderr) = update(&env, CODE, &body, &["--max-attempts", attempts]);
        assert_eq!(code, 2, "--max-attempts {attempts}: {stderr}");
    }
    let (code, _, stderr) = update(&env, CODE, &body, &["--timeout", "86400"]);
    assert_eq!(code, 0, "{stderr}");
    // A body that never ends is refused at a bound.
    let (code, _, stderr) = update(&env, CODE, "/dev/zero", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("larger than"), "{stderr}");
    running.terminate();
}

#[test]
fn a_test_base_url_alone_never_fails_over_to_production_and_errors_name_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let (running, mut env) = sandbox(dir.path(), &[]);
    running.terminate();
    env.remove("WECHATPAY_BACKUP_BASE_URL");
    let base_url = format!("http://127.0.0.1:{port}");
    env.insert("WECHATPAY_BASE_URL".into(), base_url.clone());
    let body = body_file(
        dir.path(),
        &format!(r#"{{"brand_id":"1004","openid":"{OPENID}"}}"#),
    );
    let (code, _, stderr) = update(&env, CODE, &body, &["--max-attempts", "3"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&base_url),
        "the URL tried is named: {stderr}"
    );
    assert!(!stderr.contains("api2.mch.weixin.qq.com"), "{stderr}");
}

#[test]
fn an_error_answer_cannot_drive_the_terminal() {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let body = r#"{"code":"PARAM_ERROR","message":"\u001b]0;pwned\u0007\u001b[2J\u001b[31mred\rforged"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\nRequest-ID: r1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (running, mut env) = sandbox(dir.path(), &[]);
    running.terminate();
    env.insert("WECHATPAY_BASE_URL".into(), base_url);
    let body = body_file(
        dir.path(),
        &format!(r#"{{"brand_id":"1004","openid":"{OPENID}"}}"#),
    );
    let output = command(
        &env,
        &[
            "update",
            "--card-id",
            CARD_ID,
            "--code",
            CODE,
            "--body",
            &body,
        ],
    )
    .env("RUST_LOG", "debug")
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("PARAM_ERROR"), "{stderr}");
    assert!(
        !stderr.contains(['\u{1b}', '\u{7}', '\r']),
        "raw control characters on stderr: {stderr:?}"
    );
}

/// A server answering every request with `card`, signed now with the WeChat Pay key of the
/// signing crate's fixtures; the variables for a command that trusts that key.
fn signed_server(card: &serde_json::Value) -> std::collections::HashMap<String, String> {
    use std::io::{Read as _, Write as _};
    use wechatpay_signing::{PrivateKey, WechatPaySigner};
    let key_id = "PUB_KEY_ID_0119000000012026112600000000000001";
    let signer = WechatPaySigner::new(
        key_id,
        PrivateKey::from_pem(
            &std::fs::read_to_string(common::fixture("wechatpay_key.pem")).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let body = card.to_string();
    let signature = signer.sign_response(body.as_bytes()).unwrap();
    let headers: String = signature
        .headers()
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let answer = format!(
        "HTTP/1.1 200 OK\r\n{headers}Request-ID: r-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    let path = |name: &str| common::fixture(name).display().to_string();
    std::collections::HashMap::from([
        ("WECHATPAY_MCHID".to_string(), "1900000001".to_string()),
        (
            "WECHATPAY_MERCHANT_SERIAL".to_string(),
            "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".to_string(),
        ),
        (
            "WECHATPAY_PRIVATE_KEY".to_string(),
            path("merchant_key.pkcs8.pem"),
        ),
        ("WECHATPAY_PUBLIC_KEY_ID".to_string(), key_id.to_string()),
        (
            "WECHATPAY_PUBLIC_KEY".to_string(),
            path("wechatpay_pub.pem"),
        ),
        ("WECHATPAY_BASE_URL".to_string(), base_url),
    ])
}

fn answer_card(code: &str) -> serde_json::Value {
    serde_json::json!({
        "user_card_code": code, "card_id": CARD_ID, "openid": OPENID, "brand_id": "1004",
        "card_type": "NORMAL", "valid_date_information": {"type": "PERMANENT"},
        "pickup_time": "2020-05-20T13:29:35.120+08:00", "user_card_state": "EFFECTIVE",
        "level": "旧等级",
        "create_time": "2020-05-20T13:29:35.120+08:00", "modify_time": "2020-05-20T13:29:35.120+08:00"
    })
}

#[test]
fn a_verified_answer_for_another_card_exits_4_and_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let body = body_file(
        dir.path(),
        &format!(r#"{{"brand_id":"1004","openid":"{OPENID}","level":"新等级"}}"#),
    );
    // The answer for card 478515832665, replayed to a request for card 999.
    let env = signed_server(&answer_card(CODE));
    let (code, stdout, stderr) = update(&env, "999", &body, &[]);
    assert_eq!(code, 4, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("user_card_code"), "{stderr}");
    // The same answer to the request it answers is accepted.
    let (code, stdout, stderr) = update(&env, CODE, &body, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(CODE));
}

#[test]
fn a_verified_answer_missing_documented_fields_exits_0_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let body = body_file(
        dir.path(),
        &format!(r#"{{"brand_id":"1004","openid":"{OPENID}"}}"#),
    );
    let mut card = answer_card(CODE);
    card.as_object_mut()
        .unwrap()
        .remove("valid_date_information");
    let env = signed_server(&card);
    let (code, stdout, stderr) = update(&env, CODE, &body, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(CODE));
    assert!(
        stderr.contains("WARN") && stderr.contains("valid_date_information: missing"),
        "{stderr}"
    );
}
