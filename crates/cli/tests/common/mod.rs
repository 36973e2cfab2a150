//! Running the `wechatpay-card` binary as a user would, shared by the command's tests.

// Each test file uses a part of this module.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_wechatpay-card");

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../signing/tests/fixtures")
        .join(name)
}

/// A running `wechatpay-card sandbox`, killed if a test fails before stopping it.
pub(crate) struct Running {
    child: Option<Child>,
    pub(crate) base_url: String,
}

impl Running {
    pub(crate) fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("sandbox")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut running = Self {
            child: Some(child),
            base_url: String::new(),
        };
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        running.base_url = line.trim_end().to_owned();
        assert!(
            running.base_url.starts_with("http://127.0.0.1:"),
            "first line: {line:?}"
        );
        running
    }

    /// SIGTERM, then the exit status and stderr.
    pub(crate) fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let (tx, rx) = mpsc::channel();
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let status = child.wait().unwrap();
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = tx.send((status, text));
        });
        rx.recv_timeout(Duration::from_secs(10)).unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The variables `set -a; . DIR/env; set +a` sets, as `sh` sees them.
pub(crate) fn source_env(dir: &Path) -> HashMap<String, String> {
    let script = format!("set -a; . '{}'; set +a; env", dir.join("env").display());
    let output = Command::new("sh")
        .args(["-c", &script])
        .env_clear()
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| name.starts_with("WECHATPAY_"))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// `GET path` on the sandbox's test hook, parsed as JSON (plain HTTP/1.1 over a socket).
pub(crate) fn get_json(base_url: &str, path: &str) -> serde_json::Value {
    use std::io::Write as _;
    let addr = base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap()
}

/// The sandbox's stored cards, by code.
pub(crate) fn cards(base_url: &str) -> HashMap<String, serde_json::Value> {
    get_json(base_url, "/_sandbox/user-cards")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["user_card_code"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

/// Requests the sandbox received.
pub(crate) fn requests(base_url: &str) -> u64 {
    get_json(base_url, "/_sandbox/stats")["requests"]
        .as_u64()
        .unwrap()
}

/// A sandbox with a state dir; its env variables for the command.
pub(crate) fn sandbox(dir: &Path, args: &[&str]) -> (Running, HashMap<String, String>) {
    let state = dir.join("sandbox");
    let mut all = vec!["--state-dir", state.to_str().unwrap()];
    all.extend_from_slice(args);
    let running = Running::start(&all);
    let env = source_env(&state);
    (running, env)
}

/// `wechatpay-card ARGS` with exactly `env` (and PATH) as its environment.
pub(crate) fn command(env: &HashMap<String, String>, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .envs(env)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

/// `n` copies of the page's example card, codes `CODE00000`…, written as a cards file.
pub(crate) fn cards_file(dir: &Path, n: usize) -> PathBuf {
    let page: serde_json::Value = serde_json::from_str(include_str!(
        "../../../models/tests/fixtures/user-card.response.json"
    ))
    .unwrap();
    let cards: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let mut card = page.clone();
            card["brand_id"] = "1004".into();
            card["user_card_code"] = format!("CODE{i:05}").into();
            card["phone_number"] = "13800138000".into();
            card.as_object_mut().unwrap().remove("user_information");
            card
        })
        .collect();
    let path = dir.join("cards.json");
    std::fs::write(&path, serde_json::to_vec(&cards).unwrap()).unwrap();
    path
}

pub(crate) const CARD_ID: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";
pub(crate) const OPENID: &str = "obLatjnx9gnqzS4myYGmLZ7LgLBA";
