//! `wechatpay-card sandbox` as a new user runs it: start the binary, read the base URL from its
//! first stdout line, source the env file of --state-dir, send a signed request, stop it with
//! SIGTERM.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use common::{BIN, Running, fixture, source_env};

use wechatpay_signing::{
    MerchantSigner, PlatformCertificate, PrivateKey, ResponseHeaders, ResponseVerifier,
    WechatPayKeySet, WechatPayPublicKey,
};

const URL: &str =
    "/v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0";

/// A client configured from the env file's variables alone.
struct Client {
    base_url: String,
    signer: MerchantSigner,
    keys: WechatPayKeySet,
}

impl Client {
    fn from_env(env: &HashMap<String, String>) -> Self {
        let read = |name: &str| std::fs::read_to_string(&env[name]).unwrap();
        let key = PrivateKey::from_pem(&read("WECHATPAY_PRIVATE_KEY")).unwrap();
        let signer = MerchantSigner::new(
            &env["WECHATPAY_MCHID"],
            &env["WECHATPAY_MERCHANT_SERIAL"],
            key,
        )
        .unwrap();
        let keys = match env.get("WECHATPAY_PLATFORM_CERT") {
            Some(_) => WechatPayKeySet::new().with_certificate(
                PlatformCertificate::from_pem(&read("WECHATPAY_PLATFORM_CERT")).unwrap(),
            ),
            None => WechatPayKeySet::new().with_public_key(
                WechatPayPublicKey::from_pem(
                    &env["WECHATPAY_PUBLIC_KEY_ID"],
                    &read("WECHATPAY_PUBLIC_KEY"),
                )
                .unwrap(),
            ),
        };
        Self {
            base_url: env["WECHATPAY_BASE_URL"].clone(),
            signer,
            keys,
        }
    }

    /// The page's example update (phone number encrypted); returns the status and the body,
    /// after verifying the signature.
    async fn update(&self, level: &str) -> (u16, serde_json::Value) {
        let encryptor = self.keys.encryptor().unwrap();
        let phone = encryptor.encrypt("13800138000").unwrap();
        let body = serde_json::json!({
            "brand_id": "1004", "openid": "obLatjnx9gnqzS4myYGmLZ7LgLBA",
            "level": level, "phone_number": phone.ciphertext,
        })
        .to_string();
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .patch(format!("{}{URL}", self.base_url))
            .header(
                "Authorization",
                self.signer
                    .authorization("PATCH", URL, body.as_bytes())
                    .unwrap(),
            )
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .header("User-Agent", "wechatpay-card-tests/0.1")
            .header("Wechatpay-Serial", phone.key_id)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap();
        let lookup =
            ResponseHeaders::from_lookup(|name| headers.get(name).and_then(|v| v.to_str().ok()));
        ResponseVerifier::new(self.keys.clone())
            .verify(&lookup, &body)
            .unwrap();
        assert!(headers.contains_key("Request-ID"));
        (status, serde_json::from_slice(&body).unwrap())
    }
}

#[cfg(unix)]
fn mode(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn serves_the_client_its_env_file_describes_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let running = Running::start(&["--state-dir", state.to_str().unwrap()]);
    let env = source_env(&state);
    assert_eq!(env["WECHATPAY_BASE_URL"], running.base_url);
    assert_eq!(env["WECHATPAY_BACKUP_BASE_URL"], "none");
    assert_eq!(env["WECHATPAY_MCHID"], "1900000001");
    assert!(env["WECHATPAY_PUBLIC_KEY_ID"].starts_with("PUB_KEY_ID_"));
    assert!(!env.contains_key("WECHATPAY_PLATFORM_CERT"));
    // A generated APIv3 key: 32 letters and digits.
    let apiv3_key = &env["WECHATPAY_APIV3_KEY"];
    assert_eq!(apiv3_key.len(), 32, "{apiv3_key}");
    assert!(apiv3_key.bytes().all(|b| b.is_ascii_alphanumeric()));
    #[cfg(unix)]
    {
        assert_eq!(mode(&env["WECHATPAY_PRIVATE_KEY"]), 0o600);
        let env_file = state.join("env");
        assert_eq!(
            mode(env_file.to_str().unwrap()),
            0o600,
            "it holds the APIv3 key"
        );
        assert_eq!(mode(state.to_str().unwrap()), 0o700, "created private");
    }
    assert!(
        std::fs::read_to_string(&env["WECHATPAY_PRIVATE_KEY"])
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );

    let client = Client::from_env(&env);
    let (status, card) = client.update("金卡").await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(card["level"], "金卡");
    let phone = card["phone_number"].as_str().unwrap();
    assert_eq!(
        client.signer.decrypt(phone).unwrap().as_str(),
        "13800138000"
    );

    let (status, stderr) = running.terminate();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains("stopped (1 requests, 1 updates applied"),
        "{stderr}"
    );
    // Nothing secret on stderr.
    assert!(
        !stderr.contains("PRIVATE KEY")
            && !stderr.contains("13800138000")
            && !stderr.contains(apiv3_key.as_str()),
        "{stderr}"
    );
}

/// A request the receiver got: lower-case header names and values, the body.
type Notification = (HashMap<String, String>, Vec<u8>);

/// A notify URL on loopback: records each request (lower-case header names, body) and answers
/// 200.
fn receiver() -> (String, std::sync::mpsc::Receiver<Notification>) {
    use std::io::{BufRead as _, Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut headers = HashMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let Some((name, value)) = line.trim_end().split_once(':') else {
                    break;
                };
                headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
            }
            let len: usize = headers["content-length"].parse().unwrap();
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .unwrap();
            if tx.send((headers, body)).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

#[tokio::test]
async fn notify_url_receives_the_signed_encrypted_notification_of_a_user_opening_a_card() {
    const KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (url, received) = receiver();
    let running = Running::start(&[
        "--state-dir",
        state.to_str().unwrap(),
        "--notify-url",
        &url,
        "--notify-interval",
        "0.1",
        "--notify-retries",
        "2",
        "--apiv3-key",
        KEY,
    ]);
    let env = source_env(&state);
    assert_eq!(env["WECHATPAY_APIV3_KEY"], KEY);

    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{}/_sandbox/users/open-card", running.base_url))
        .header("Content-Type", "application/json")
        .body(
            serde_json::json!({"brand_id": "1004", "card_id": "pbLatjvWOibDc5-TBnbUk1pD12o0",
                "openid": "u-new", "user_card_code": "c-new"})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: serde_json::Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!(answer["card"]["user_card_state"], "UNACTIVATED");

    let (headers, body) = received
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    // Verified with the env file's WeChat Pay key, decrypted with its APIv3 key.
    let keys = WechatPayKeySet::new().with_public_key(
        WechatPayPublicKey::from_pem(
            &env["WECHATPAY_PUBLIC_KEY_ID"],
            &std::fs::read_to_string(&env["WECHATPAY_PUBLIC_KEY"]).unwrap(),
        )
        .unwrap(),
    );
    let header = |name: &str| headers.get(&name.to_ascii_lowercase()).map(String::as_str);
    wechatpay_signing::NotificationVerifier::new(keys)
        .verify(&ResponseHeaders::from_lookup(header), &body)
        .unwrap();
    let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope["id"], answer["notification_id"]);
    assert_eq!(envelope["event_type"], "MEMBERCARDSP.USER_CARD.CREATE");
    let resource = &envelope["resource"];
    let key: wechatpay_signing::ApiV3Key = env["WECHATPAY_APIV3_KEY"].parse().unwrap();
    let card = key
        .decrypt_resource(
            resource["ciphertext"].as_str().unwrap(),
            resource["nonce"].as_str().unwrap(),
            resource["associated_data"].as_str().unwrap(),
        )
        .unwrap();
    let card: serde_json::Value = serde_json::from_slice(&card).unwrap();
    assert_eq!(card["user_card_code"], "c-new");
    assert_eq!(card["user_card_state"], "UNACTIVATED");

    // The attempt is recorded once its answer is read: poll for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let deliveries = loop {
        let deliveries = common::get_json(&running.base_url, "/_sandbox/notifications");
        if deliveries[0].is_object() || std::time::Instant::now() > deadline {
            break deliveries;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(deliveries[0]["status"], 200, "{deliveries}");
    assert_eq!(deliveries[0]["notification_id"], answer["notification_id"]);
    let (status, stderr) = running.terminate();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains(&format!("notifications         to {url}")),
        "{stderr}"
    );
    assert!(
        !stderr.contains(KEY),
        "the APIv3 key is never printed: {stderr}"
    );
}

#[tokio::test]
async fn a_backup_host_shares_the_keys_through_the_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let primary_dir = dir.path().join("primary");
    let primary = Running::start(&[
        "--state-dir",
        primary_dir.to_str().unwrap(),
        "--fail-rate",
        "1",
    ]);
    let env = source_env(&primary_dir);
    let key = |name: &str| primary_dir.join(name).to_str().unwrap().to_owned();
    let backup_dir = dir.path().join("backup");
    let backup = Running::start(&[
        "--state-dir",
        backup_dir.to_str().unwrap(),
        "--mchid",
        &env["WECHATPAY_MCHID"],
        "--merchant-serial",
        &env["WECHATPAY_MERCHANT_SERIAL"],
        "--merchant-public-key",
        &key("merchant_public_key.pem"),
        "--wechatpay-private-key",
        &key("wechatpay_private_key.pem"),
        "--wechatpay-public-key-id",
        &env["WECHATPAY_PUBLIC_KEY_ID"],
    ]);
    let backup_env = source_env(&backup_dir);
    assert!(!backup_env.contains_key("WECHATPAY_PRIVATE_KEY"));
    assert_eq!(
        backup_env["WECHATPAY_PUBLIC_KEY_ID"],
        env["WECHATPAY_PUBLIC_KEY_ID"]
    );

    let mut client = Client::from_env(&env);
    assert_eq!(client.update("金卡").await.0, 500, "--fail-rate 1");
    client.base_url = backup.base_url.clone();
    assert_eq!(client.update("金卡").await.0, 200);
    assert!(primary.terminate().0.success());
    assert!(backup.terminate().0.success());
}

#[tokio::test]
async fn platform_certificate_mode() {
    let dir = tempfile::tempdir().unwrap();
    let running = Running::start(&[
        "--state-dir",
        dir.path().to_str().unwrap(),
        "--wechatpay-cert",
        fixture("platform_cert.pem").to_str().unwrap(),
        "--wechatpay-private-key",
        fixture("platform_key.pem").to_str().unwrap(),
    ]);
    let env = source_env(dir.path());
    assert!(env.contains_key("WECHATPAY_PLATFORM_CERT"));
    assert!(!env.contains_key("WECHATPAY_PUBLIC_KEY_ID"));
    assert!(!dir.path().join("wechatpay_private_key.pem").exists());
    let (status, _) = Client::from_env(&env).update("银卡").await;
    assert_eq!(status, 200);
    assert!(running.terminate().0.success());
}

#[test]
fn help_version_and_bad_options() {
    let run = |args: &[&str]| Command::new(BIN).args(args).output().unwrap();
    let help = run(&["sandbox", "--help"]);
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for option in [
        "--listen",
        "--state-dir",
        "--cards",
        "--mchid",
        "--merchant-serial",
        "--merchant-public-key",
        "--wechatpay-private-key",
        "--wechatpay-public-key-id",
        "--wechatpay-cert",
        "--fail-rate",
        "--rate-limit-rate",
        "--rps",
        "--latency-ms",
        "--drop-rate",
        "--applied-drop-rate",
        "--tamper-rate",
        "--probe-rate",
        "--seed",
        "--notify-url",
        "--notify-interval",
        "--notify-retries",
        "--apiv3-key",
    ] {
        assert!(text.contains(option), "{option} missing from --help");
    }
    // The env variable's value (a secret) is never shown in --help.
    let help = Command::new(BIN)
        .args(["sandbox", "--help"])
        .env("WECHATPAY_APIV3_KEY", "secret-secret-secret-secret-1234")
        .output()
        .unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("WECHATPAY_APIV3_KEY"), "{text}");
    assert!(!text.contains("secret-secret"), "{text}");
    let version = run(&["--version"]);
    assert!(version.status.success());
    assert!(
        String::from_utf8(version.stdout)
            .unwrap()
            .starts_with("wechatpay-card 0.1")
    );

    // Refused by the option parser: exit 2.
    for args in [
        &["sandbox", "--fail-rate", "2"][..],
        &["sandbox", "--wechatpay-cert", "cert.pem"],
        &["sandbox", "--listen", "nowhere"],
        &["sandbox", "--notify-interval", "0"],
        &["sandbox", "--notify-interval", "soon"],
        &["sandbox", "--notify-retries", "-1"],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    // Refused at start, naming the cause: exit 1, nothing on stdout.
    let missing = run(&["sandbox", "--wechatpay-private-key", "/nonexistent/key.pem"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stdout.is_empty());
    assert!(
        String::from_utf8(missing.stderr)
            .unwrap()
            .contains("/nonexistent/key.pem")
    );
    let bad = run(&["sandbox", "--mchid", "19-00"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8(bad.stderr).unwrap().contains("mchid"));
    for (args, says) in [
        (
            &["sandbox", "--notify-url", "ftp://127.0.0.1/n"][..],
            "notify URL",
        ),
        (&["sandbox", "--apiv3-key", "too-short"], "APIv3 key"),
    ] {
        let bad = run(args);
        assert_eq!(bad.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8(bad.stderr).unwrap();
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("too-short"),
            "the key is never shown: {stderr}"
        );
    }
}

/// Runs `wechatpay-card sandbox ARGS`, expected to fail at start: its exit status, stdout and
/// stderr (killed, and the test failed, if it is still running after 20 s).
fn run_failing(args: &[&str]) -> (Option<i32>, String, String) {
    use std::io::Read as _;
    use std::process::Stdio;
    let mut child = Command::new(BIN)
        .arg("sandbox")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sandbox {args:?} did not stop: it started");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stdout, stderr)
}

#[cfg(unix)]
#[test]
fn a_symlink_planted_in_the_state_dir_is_refused_and_its_target_untouched() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let planted = state.join("merchant_private_key.pem");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();

    let (code, stdout, stderr) = run_failing(&["--state-dir", state.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "no base URL: {stdout}");
    assert!(
        stderr.contains("merchant_private_key.pem") && stderr.contains("symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(mode(victim.to_str().unwrap()), 0o644);
    assert!(
        std::fs::symlink_metadata(&planted)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");

    // A regular file left there (a previous run's) is replaced, with the private mode.
    std::fs::remove_file(&planted).unwrap();
    std::fs::write(&planted, "old").unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o644)).unwrap();
    let running = Running::start(&["--state-dir", state.to_str().unwrap()]);
    assert!(
        std::fs::read_to_string(&planted)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert_eq!(mode(planted.to_str().unwrap()), 0o600);
    assert!(running.terminate().0.success());
    // No temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[cfg(unix)]
#[test]
fn a_state_dir_others_can_write_to_or_a_linked_one_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, _, stderr) = run_failing(&["--state-dir", shared.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("world-writable"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&shared).unwrap().count(),
        0,
        "nothing written"
    );

    let private = dir.path().join("private");
    std::fs::create_dir(&private).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&private, &link).unwrap();
    let (code, _, stderr) = run_failing(&["--state-dir", link.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&private).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn thousands_of_cards_are_counted_and_only_the_first_few_listed() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sandbox/fixtures/default-cards.json");
    let card: serde_json::Value =
        serde_json::from_str::<Vec<serde_json::Value>>(&std::fs::read_to_string(fixture).unwrap())
            .unwrap()
            .remove(0);
    let cards: Vec<serde_json::Value> = (0..2000)
        .map(|i| {
            let mut card = card.clone();
            card["user_card_code"] = serde_json::json!(format!("C{i:06}"));
            card
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cards.json");
    std::fs::write(&file, serde_json::to_string(&cards).unwrap()).unwrap();

    let running = Running::start(&["--cards", file.to_str().unwrap()]);
    let (status, stderr) = running.terminate();
    assert!(status.success(), "{stderr}");
    let listed: Vec<&str> = stderr
        .lines()
        .filter(|line| line.trim_start().starts_with("card "))
        .collect();
    assert_eq!(listed.len(), 5, "{stderr}");
    assert!(listed[0].contains("C000000"), "{stderr}");
    assert!(stderr.contains("cards                 2000"), "{stderr}");
    assert!(stderr.contains("… and 1995 more"), "{stderr}");
    assert!(stderr.lines().count() < 30, "{stderr}");
}
