//! `wechatpay-card listen`, run as a user would: hand-made signed, encrypted notifications are
//! POSTed to it; valid ones are answered 200 and printed once, forged, stale, tampered and
//! undecryptable ones get a 4xx and print nothing; --journal survives a restart; --auto-confirm
//! confirms an opened card in an in-process sandbox.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{BIN, CARD_ID, fixture};
use wechatpay_card_client::models::UserCardState;
use wechatpay_sandbox::{Sandbox, env as sandbox_env};
use wechatpay_signing::{ApiV3Key, PrivateKey, WechatPaySigner};

const API_V3_KEY: &str = "0123456789abcdefghijABCDEFGHIJ01";

/// A running `wechatpay-card listen`: its URL, its stdout lines, its stderr so far.
struct Listening {
    child: Option<Child>,
    url: String,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Listening {
    fn start(env: &HashMap<String, String>, extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["listen", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_clear()
            .envs(env)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (first_tx, first_rx) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (err, all) = (child.stderr.take().unwrap(), Arc::clone(&stderr));
        std::thread::spawn(move || {
            let mut first = Some(first_tx);
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if let Some(tx) = first.take() {
                    let _ = tx.send(line.clone());
                }
                all.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let first = first_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        let url = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first stderr line: {first:?}"))
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Self {
            child: Some(child),
            url,
            lines,
            stderr,
        }
    }

    /// The next stdout line, parsed, or `None` within `wait`.
    fn next_event(&self, wait: Duration) -> Option<serde_json::Value> {
        self.lines
            .recv_timeout(wait)
            .ok()
            .map(|line| serde_json::from_str(&line).unwrap())
    }

    /// SIGTERM; the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A sandbox (WeChat Pay for the listener's client) and the listener's environment.
async fn sandbox() -> (Sandbox, HashMap<String, String>) {
    let sandbox = Sandbox::builder().start().await.unwrap();
    let mut env: HashMap<String, String> = sandbox_env::ALL
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), sandbox.setting(name)?)))
        .collect();
    env.insert("WECHATPAY_APIV3_KEY".into(), API_V3_KEY.into());
    (sandbox, env)
}

/// WeChat Pay's signer, as the sandbox (and so the listener's client) knows it.
fn wechatpay(sandbox: &Sandbox) -> WechatPaySigner {
    let creds = sandbox.credentials();
    let key = PrivateKey::from_pem(&creds.wechatpay_private_key_pem).unwrap();
    WechatPaySigner::new(creds.wechatpay_key_id.clone(), key).unwrap()
}

/// Another key under the same id.
fn forger(sandbox: &Sandbox) -> WechatPaySigner {
    let pem = std::fs::read_to_string(fixture("wechatpay_key.pem")).unwrap();
    let key = PrivateKey::from_pem(&pem).unwrap();
    WechatPaySigner::new(sandbox.credentials().wechatpay_key_id.clone(), key).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A CREATE notification body for the card `code` of `openid`, encrypted under `api_v3_key`.
fn notification(id: &str, code: &str, openid: &str, api_v3_key: &str) -> Vec<u8> {
    let event = serde_json::json!({
        "event_type": "MEMBERCARDSP.USER_CARD.CREATE",
        "card_id": CARD_ID,
        "user_card_code": code,
        "openid": openid,
        "brand_id": "1004",
        "event_time": "2026-12-01T10:00:00+08:00",
    })
    .to_string();
    let key: ApiV3Key = api_v3_key.parse().unwrap();
    let nonce = ApiV3Key::new_resource_nonce().unwrap();
    let ciphertext = key
        .encrypt_resource(event.as_bytes(), &nonce, "user_card")
        .unwrap();
    serde_json::json!({
        "id": id,
        "create_time": "2026-12-01T10:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "MEMBERCARDSP.USER_CARD.CREATE",
        "summary": "用户开通会员卡通知",
        "resource": {
            "original_type": "user_card",
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": "user_card",
            "nonce": nonce,
        }
    })
    .to_string()
    .into_bytes()
}

/// POSTs `body` signed by `signer` at `timestamp`; the status.
async fn post_signed(url: &str, signer: &WechatPaySigner, body: &[u8], timestamp: u64) -> u16 {
    let nonce = format!("n{}", fresh_nonce());
    let signature = signer.sign_response_at(body, timestamp, &nonce).unwrap();
    post(url, &signature.headers(), body.to_vec()).await
}

async fn post(url: &str, headers: &[(&'static str, &str)], body: Vec<u8>) -> u16 {
    let client = reqwest::Client::new();
    let mut request = client
        .post(format!("{url}/notify"))
        .header("Content-Type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status != 200 {
        let text = response.text().await.unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["code"], "FAIL", "{text}");
    }
    status
}

fn fresh_nonce() -> String {
    ApiV3Key::new_resource_nonce().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_ones_print_once_and_bad_ones_get_a_4xx_and_print_nothing() {
    let (sandbox, env) = sandbox().await;
    let listener = Listening::start(&env, &[]);
    let url = listener.url.clone();
    let signer = wechatpay(&sandbox);

    let body = notification("EV-1", "CODE1", "o1", API_V3_KEY);
    for _ in 0..5 {
        assert_eq!(post_signed(&url, &signer, &body, now()).await, 200);
    }
    let event = listener.next_event(Duration::from_secs(5)).unwrap();
    assert_eq!(event["id"], "EV-1");
    assert_eq!(event["event_type"], "MEMBERCARDSP.USER_CARD.CREATE");
    assert_eq!(event["event"]["user_card_code"], "CODE1");
    assert_eq!(event["event"]["card_id"], CARD_ID);

    let forged = notification("EV-F", "CODEF", "o1", API_V3_KEY);
    assert_eq!(
        post_signed(&url, &forger(&sandbox), &forged, now()).await,
        401
    );
    let stale = notification("EV-S", "CODES", "o1", API_V3_KEY);
    assert_eq!(post_signed(&url, &signer, &stale, now() - 301).await, 401);
    let tampered = notification("EV-T", "CODET", "o1", API_V3_KEY);
    let signature = signer.sign_response(&tampered).unwrap();
    let changed = String::from_utf8(tampered.clone())
        .unwrap()
        .replace("EV-T", "EV-U")
        .into_bytes();
    assert_eq!(post(&url, &signature.headers(), changed).await, 401);
    let wrong_key = notification("EV-K", "CODEK", "o1", "ABCDEFGHIJ0123456789abcdefghij01");
    assert_eq!(post_signed(&url, &signer, &wrong_key, now()).await, 400);
    assert_eq!(post(&url, &[], b"{}".to_vec()).await, 401);

    // Nothing was printed for those: the next line is the next valid notification.
    let body = notification("EV-2", "CODE2", "o1", API_V3_KEY);
    assert_eq!(post_signed(&url, &signer, &body, now()).await, 200);
    let event = listener.next_event(Duration::from_secs(5)).unwrap();
    assert_eq!(event["id"], "EV-2");
    assert!(listener.next_event(Duration::from_millis(300)).is_none());

    let stderr = Arc::clone(&listener.stderr);
    assert!(listener.terminate().success());
    let logs = stderr.lock().unwrap().clone();
    assert!(logs.contains("refused a notification"), "{logs}");
    assert!(!logs.contains(API_V3_KEY), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_keeps_ids_across_restarts() {
    let (sandbox, env) = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("ids");
    let journal = journal.to_str().unwrap();
    let signer = wechatpay(&sandbox);
    let first = notification("EV-J1", "CODEJ1", "o1", API_V3_KEY);

    let listener = Listening::start(&env, &["--journal", journal]);
    assert_eq!(
        post_signed(&listener.url, &signer, &first, now()).await,
        200
    );
    assert_eq!(
        listener.next_event(Duration::from_secs(5)).unwrap()["id"],
        "EV-J1"
    );
    assert!(listener.terminate().success());
    assert_eq!(std::fs::read_to_string(journal).unwrap(), "EV-J1\n");

    let listener = Listening::start(&env, &["--journal", journal]);
    assert_eq!(
        post_signed(&listener.url, &signer, &first, now()).await,
        200
    );
    let second = notification("EV-J2", "CODEJ2", "o1", API_V3_KEY);
    assert_eq!(
        post_signed(&listener.url, &signer, &second, now()).await,
        200
    );
    assert_eq!(
        listener.next_event(Duration::from_secs(5)).unwrap()["id"],
        "EV-J2"
    );
    assert!(listener.terminate().success());
    assert!(Path::new(journal).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_confirm_makes_the_opened_card_effective() {
    let (sandbox, env) = sandbox().await;
    let opened = sandbox.open_card(CARD_ID, "OPENED1", "oNewUser").unwrap();
    assert_eq!(opened.user_card_state, UserCardState::Unactivated);
    let listener = Listening::start(&env, &["--auto-confirm"]);

    let body = notification("EV-C1", "OPENED1", "oNewUser", API_V3_KEY);
    let started = Instant::now();
    assert_eq!(
        post_signed(&listener.url, &wechatpay(&sandbox), &body, now()).await,
        200
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        listener.next_event(Duration::from_secs(5)).unwrap()["id"],
        "EV-C1"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let card = sandbox.card(CARD_ID, "OPENED1").unwrap();
        if card.user_card_state == UserCardState::Effective {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {:?}",
            card.user_card_state
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stderr = Arc::clone(&listener.stderr);
    assert!(listener.terminate().success());
    let logs = stderr.lock().unwrap().clone();
    assert!(logs.contains("confirmed"), "{logs}");
}

#[test]
fn a_missing_api_v3_key_is_a_usage_error() {
    let output = Command::new(BIN)
        .args(["listen", "--listen", "127.0.0.1:0"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("--apiv3-key or WECHATPAY_APIV3_KEY"),
        "{stderr}"
    );
}

/// `POST path` with a JSON body on a sandbox's test hooks; the status and the answer.
fn post_hook(base_url: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    use std::io::{Read as _, Write as _};
    let addr = base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let body = body.to_string();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or_default())
}

#[test]
fn a_user_opens_a_card_the_listener_confirms_it_then_the_user_deletes_it() {
    // Two processes, as an operator runs them: the sandbox delivers to the listener, whose
    // client confirms through the sandbox.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let notify_url = format!("http://127.0.0.1:{port}/notify");
    let (sandbox, env) = common::sandbox(
        dir.path(),
        &["--notify-url", &notify_url, "--notify-interval", "0.2"],
    );
    assert!(env.contains_key("WECHATPAY_APIV3_KEY"), "{env:?}");
    let listen_addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args(["listen", "--listen", &listen_addr, "--auto-confirm"])
        .env_clear()
        .envs(&env)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let next = || -> serde_json::Value {
        serde_json::from_str(&lines.recv_timeout(Duration::from_secs(30)).unwrap()).unwrap()
    };

    // The listener may still be binding: the sandbox retries every 0.2 s.
    let (status, answer) = post_hook(
        &sandbox.base_url,
        "/_sandbox/users/open-card",
        &serde_json::json!({"card_id": CARD_ID, "openid": "oNewUser", "user_card_code": "NEW0001"}),
    );
    assert_eq!(status, 200, "{answer}");
    let created = next();
    assert_eq!(created["event"]["user_card_code"], "NEW0001", "{created}");
    assert!(
        created["event_type"]
            .as_str()
            .unwrap()
            .ends_with("USER_CARD.CREATE"),
        "{created}"
    );
    // --auto-confirm: the card becomes effective.
    let started = Instant::now();
    loop {
        let card = &common::cards(&sandbox.base_url)["NEW0001"];
        if card["user_card_state"] == "EFFECTIVE" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not confirmed: {card}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let (status, answer) = post_hook(
        &sandbox.base_url,
        "/_sandbox/users/delete-card",
        &serde_json::json!({"card_id": CARD_ID, "user_card_code": "NEW0001"}),
    );
    assert_eq!(status, 200, "{answer}");
    let deleted = next();
    assert!(
        deleted["event_type"]
            .as_str()
            .unwrap()
            .ends_with("USER_CARD.DELETE"),
        "{deleted}"
    );
    assert!(!common::cards(&sandbox.base_url).contains_key("NEW0001"));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    sandbox.terminate();
}
