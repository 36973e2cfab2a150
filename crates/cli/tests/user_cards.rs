//! The user-card subcommands (get, list, invalidate, confirm, import-by-openid, import-by-phone)
//! and `bulk --op` beyond update, as a user runs them against a `wechatpay-card sandbox` process.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{cards, command, get_json, requests, sandbox};

const BRAND: &str = "1004";
const TEMPLATE: &str = "pbLatjvWOibDc5-TBnbUk1pD12o0";

/// A stored card of the page's example: `template`, `code`, `openid`, `state`.
fn card(template: &str, code: &str, openid: &str, state: &str) -> serde_json::Value {
    let mut card: serde_json::Value = serde_json::from_str(include_str!(
        "../../models/tests/fixtures/user-card.response.json"
    ))
    .unwrap();
    card["brand_id"] = BRAND.into();
    card["card_id"] = template.into();
    card["user_card_code"] = code.into();
    card["openid"] = openid.into();
    card["user_card_state"] = state.into();
    card["phone_number"] = "13800138000".into();
    let card_map = card.as_object_mut().unwrap();
    card_map.remove("user_information");
    card_map.remove("invalid_reason");
    card_map.remove("invalid_time");
    card
}

/// A cards file for the sandbox: `templates` templates (T00…, T01…; each with one card of
/// another user, so that it exists) plus an UNACTIVATED card `PENDING1` of user `oPENDING` under
/// the page's template.
fn cards_file(dir: &Path, templates: usize) -> PathBuf {
    let mut all: Vec<_> = (0..templates)
        .map(|i| {
            card(
                &format!("T{i:02}"),
                &format!("SEED{i:02}"),
                "oSEED",
                "EFFECTIVE",
            )
        })
        .collect();
    all.push(card(TEMPLATE, "478515832665", "oPAGE", "EFFECTIVE"));
    all.push(card(TEMPLATE, "PENDING1", "oPENDING", "UNACTIVATED"));
    let path = dir.join("cards.json");
    std::fs::write(&path, serde_json::to_vec(&all).unwrap()).unwrap();
    path
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `wechatpay-card ARGS`: exit code, stdout, stderr.
fn run(env: &HashMap<String, String>, args: &[&str]) -> (i32, String, String) {
    let output = command(env, args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn import_body(code: &str, openid: &str, level: &str) -> String {
    serde_json::json!({
        "brand_id": BRAND, "card_id": TEMPLATE, "openid": openid, "user_card_code": code,
        "level": level, "phone_number": "13911112222",
    })
    .to_string()
}

#[test]
fn each_subcommand_succeeds_and_fails_with_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let file = cards_file(dir.path(), 0);
    let (running, env) = sandbox(dir.path(), &["--cards", file.to_str().unwrap()]);
    let url = running.base_url.clone();
    let d = dir.path();

    // import-by-openid: ok, then refused as a repeat (exit 3), and an invalid body sends nothing.
    let body = write(d, "import.json", &import_body("M0001", "oMEMBER1", "金卡"));
    let (code, stdout, stderr) = run(&env, &["import-by-openid", "--body", &body, "--decrypt"]);
    assert_eq!(code, 0, "{stderr}");
    let imported: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(imported["user_card_state"], "EFFECTIVE");
    assert_eq!(imported["phone_number"], "13911112222", "--decrypt");
    let (code, _, stderr) = run(&env, &["import-by-openid", "--body", &body]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("INVALID_REQUEST"), "{stderr}");
    let before = requests(&url);
    let bad = write(
        d,
        "bad.json",
        r#"{"brand_id":"1004","card_id":"x","nick":1}"#,
    );
    let (code, _, stderr) = run(&env, &["import-by-openid", "--body", &bad]);
    assert_eq!(code, 2, "{stderr}");
    for field in ["openid", "user_card_code", "nick"] {
        assert!(stderr.contains(field), "{field}: {stderr}");
    }
    assert_eq!(requests(&url), before, "nothing sent");

    // get: ok (decrypted on demand), an unknown card exits 3, invalid flags exit 2.
    let card_flags = [
        "--code",
        "M0001",
        "--card-id",
        TEMPLATE,
        "--brand-id",
        BRAND,
        "--openid",
        "oMEMBER1",
    ];
    let (code, stdout, stderr) = run(&env, &[&["get", "--decrypt"][..], &card_flags].concat());
    assert_eq!(code, 0, "{stderr}");
    let read: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (read["level"].as_str(), read["phone_number"].as_str()),
        (Some("金卡"), Some("13911112222"))
    );
    let (code, _, stderr) = run(
        &env,
        &[
            "get",
            "--code",
            "NOPE",
            "--card-id",
            TEMPLATE,
            "--brand-id",
            BRAND,
            "--openid",
            "oMEMBER1",
        ],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    let (code, _, stderr) = run(
        &env,
        &[
            "get",
            "--code",
            "..",
            "--card-id",
            TEMPLATE,
            "--brand-id",
            BRAND,
            "--openid",
            "",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("user_card_code") && stderr.contains("openid"),
        "{stderr}"
    );

    // list: one line per card; a bad state exits 2.
    let (code, stdout, stderr) = run(&env, &["list", "--brand-id", BRAND, "--openid", "oMEMBER1"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let (code, _, stderr) = run(
        &env,
        &[
            "list",
            "--brand-id",
            BRAND,
            "--openid",
            "oMEMBER1",
            "--state",
            "GONE",
        ],
    );
    assert_eq!(code, 2, "{stderr}");

    // invalidate: refused without --yes (nothing sent), then done, then refused as a repeat.
    let before = requests(&url);
    let (code, _, stderr) = run(
        &env,
        &[&["invalidate", "--reason", "注销"][..], &card_flags].concat(),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(
        requests(&url),
        before,
        "invalidate without --yes sends nothing"
    );
    let (code, stdout, stderr) = run(
        &env,
        &[
            &["invalidate", "--reason", "注销", "--yes"][..],
            &card_flags,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    let invalid: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(invalid["user_card_state"], "INVALID");
    assert_eq!(invalid["invalid_reason"], "注销");
    let (code, _, stderr) = run(&env, &[&["invalidate", "--yes"][..], &card_flags].concat());
    assert_eq!(code, 3, "{stderr}");

    // import-by-phone: ok; the sandbox finds the openid.
    let phone = write(
        d,
        "phone.json",
        &serde_json::json!({"brand_id": BRAND, "card_id": TEMPLATE, "phone_number": "13900000002", "user_card_code": "P0001"}).to_string(),
    );
    let (code, stdout, stderr) = run(&env, &["import-by-phone", "--body", &phone]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"P0001\""), "{stdout}");

    // confirm: a card awaiting confirmation becomes EFFECTIVE; a second confirm is refused (404).
    let confirm = write(
        d,
        "confirm.json",
        &serde_json::json!({"brand_id": BRAND, "openid": "oPENDING", "user_card_confirm_state": "CREATE_CARD_SUCCESS", "level": "新会员"}).to_string(),
    );
    let args = [
        "confirm",
        "--code",
        "PENDING1",
        "--card-id",
        TEMPLATE,
        "--body",
        &confirm,
    ];
    let (code, stdout, stderr) = run(&env, &args);
    assert_eq!(code, 0, "{stderr}");
    let confirmed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            confirmed["user_card_state"].as_str(),
            confirmed["level"].as_str()
        ),
        (Some("EFFECTIVE"), Some("新会员"))
    );
    let (code, _, stderr) = run(&env, &args);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("NOT_FOUND"), "{stderr}");

    // No configuration: exit 2 naming the settings.
    let (code, _, stderr) = run(&HashMap::new(), &[&["get"][..], &card_flags].concat());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("WECHATPAY_MCHID"), "{stderr}");
    drop(running);

    // An answer that fails verification: exit 4, nothing printed; a read says so.
    let (_running, env) = sandbox(&d.join("tampered"), &["--tamper-rate", "1"]);
    let (code, stdout, stderr) = run(
        &env,
        &[
            "get",
            "--code",
            "478515832665",
            "--card-id",
            TEMPLATE,
            "--brand-id",
            BRAND,
            "--openid",
            common::OPENID,
        ],
    );
    assert_eq!(code, 4, "{stderr}");
    assert!(stdout.is_empty());
}

#[test]
fn help_exists_for_every_subcommand() {
    for sub in [
        "get",
        "list",
        "invalidate",
        "confirm",
        "import-by-openid",
        "import-by-phone",
        "bulk",
    ] {
        let (code, stdout, _) = run(&HashMap::new(), &[sub, "--help"]);
        assert_eq!(code, 0, "{sub}");
        assert!(stdout.contains("Exit status"), "{sub}: {stdout}");
    }
}

/// Runs `bulk` until the whole input is ok (at most `runs` times); the journal's path.
fn bulk_until_ok(
    env: &HashMap<String, String>,
    dir: &Path,
    op: &str,
    lines: &[serde_json::Value],
    runs: usize,
) -> PathBuf {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let input = write(dir, &format!("{op}.jsonl"), &text);
    let journal = dir.join(format!("{op}.journal"));
    for _ in 0..runs {
        let (code, _, stderr) = run(
            env,
            &[
                "bulk",
                "--op",
                op,
                "--input",
                &input,
                "--journal",
                journal.to_str().unwrap(),
                "--concurrency",
                "16",
                "--max-attempts",
                "6",
                "--yes",
            ],
        );
        if code == 0 {
            return journal;
        }
        assert_eq!(code, 3, "{stderr}");
    }
    panic!("bulk --op {op} did not end ok in {runs} runs");
}

/// The journal's records (header skipped).
fn journal_records(journal: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(journal)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn list_prints_every_card_of_a_user_over_pages() {
    let dir = tempfile::tempdir().unwrap();
    let file = cards_file(dir.path(), 45);
    let (_running, env) = sandbox(dir.path(), &["--cards", file.to_str().unwrap()]);
    // One card of each of 45 templates for the same user, imported in bulk.
    let lines: Vec<_> = (0..45)
        .map(|i| {
            serde_json::json!({"body": {"brand_id": BRAND, "card_id": format!("T{i:02}"), "openid": "oMANY", "user_card_code": format!("C{i:02}")}})
        })
        .collect();
    bulk_until_ok(&env, dir.path(), "import-by-openid", &lines, 1);
    let (code, stdout, stderr) = run(&env, &["list", "--brand-id", BRAND, "--openid", "oMANY"]);
    assert_eq!(code, 0, "{stderr}");
    let codes: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["user_card_code"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(codes.len(), 45, "{stdout}");
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 45, "every card once");
    let (code, stdout, _) = run(
        &env,
        &[
            "list",
            "--brand-id",
            BRAND,
            "--openid",
            "oMANY",
            "--state",
            "INVALID",
        ],
    );
    assert_eq!((code, stdout.as_str()), (0, ""));
}

#[test]
fn thousands_of_members_are_imported_exactly_once_under_faults() {
    let dir = tempfile::tempdir().unwrap();
    let file = cards_file(dir.path(), 0);
    let (running, env) = sandbox(
        dir.path(),
        &[
            "--cards",
            file.to_str().unwrap(),
            "--fail-rate",
            "0.05",
            "--drop-rate",
            "0.05",
            "--applied-drop-rate",
            "0.1",
            "--seed",
            "10",
        ],
    );
    const N: usize = 2000;
    let lines: Vec<_> = (0..N)
        .map(|i| {
            serde_json::json!({"body": {"brand_id": BRAND, "card_id": TEMPLATE, "openid": format!("oM{i:05}"), "user_card_code": format!("M{i:05}"), "level": format!("L{}", i % 7)}})
        })
        .collect();
    let journal = bulk_until_ok(&env, dir.path(), "import-by-openid", &lines, 3);

    let stored = cards(&running.base_url);
    for i in 0..N {
        let card = &stored[&format!("M{i:05}")];
        assert_eq!(card["openid"], format!("oM{i:05}"));
        assert_eq!(card["level"], format!("L{}", i % 7));
    }
    assert_eq!(stored.len(), N + 2, "no other card");
    // Every line ends ok exactly once (records of a later run only for lines not ok before).
    let records = journal_records(&journal);
    let mut ok = vec![0; N + 1];
    for r in &records {
        if r["outcome"] == "ok" {
            ok[r["line"].as_u64().unwrap() as usize] += 1;
        }
    }
    assert!(ok[1..].iter().all(|&n| n == 1), "each line ok once");
    let resolved = records
        .iter()
        .filter(|r| r["resolved"] == "read back")
        .count();
    assert!(
        resolved > 0,
        "lost answers were resolved by reading the card back"
    );
    // The sandbox received each import at least once: imports that were lost were not resent blind.
    let stats = get_json(&running.base_url, "/_sandbox/stats");
    assert!(stats["requests"].as_u64().unwrap() >= N as u64, "{stats}");
}

#[test]
fn unverified_answers_are_resolved_by_reading_the_card_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = cards_file(dir.path(), 0);
    let (running, env) = sandbox(
        dir.path(),
        &[
            "--cards",
            file.to_str().unwrap(),
            "--tamper-rate",
            "0.3",
            "--probe-rate",
            "0.1",
            "--seed",
            "7",
        ],
    );
    const N: usize = 60;
    let lines: Vec<_> = (0..N)
        .map(|i| {
            serde_json::json!({"body": {"brand_id": BRAND, "card_id": TEMPLATE, "openid": format!("oU{i:03}"), "user_card_code": format!("U{i:03}"), "phone_number": format!("139{i:08}")}})
        })
        .collect();
    let journal = bulk_until_ok(&env, dir.path(), "import-by-openid", &lines, 3);
    let records = journal_records(&journal);
    assert!(
        records.iter().any(|r| r["outcome"] == "ok"
            && r["resolved"] == "read back"
            && r["error"]["code"].is_string()),
        "some unverified answers were resolved"
    );
    let stored = cards(&running.base_url);
    for i in 0..N {
        assert_eq!(
            stored[&format!("U{i:03}")]["phone_number"],
            format!("139{i:08}")
        );
    }

    // An update whose answer fails verification is read back too.
    let updates: Vec<_> = (0..N)
        .map(|i| {
            serde_json::json!({"user_card_code": format!("U{i:03}"), "card_id": TEMPLATE, "body": {"brand_id": BRAND, "openid": format!("oU{i:03}"), "level": "升级"}})
        })
        .collect();
    let journal = bulk_until_ok(&env, dir.path(), "update", &updates, 3);
    assert!(
        journal_records(&journal)
            .iter()
            .any(|r| r["resolved"] == "read back")
    );

    // An import by phone names no openid: its unverified answer cannot be read back.
    drop(running);
    let (_running, env) = sandbox(
        &dir.path().join("all"),
        &["--cards", file.to_str().unwrap(), "--tamper-rate", "1"],
    );
    let line = serde_json::json!({"body": {"brand_id": BRAND, "card_id": TEMPLATE, "phone_number": "13900000009", "user_card_code": "PH1"}});
    let input = write(dir.path(), "phone.jsonl", &format!("{line}\n"));
    let journal = dir.path().join("phone.journal");
    let (code, _, stderr) = run(
        &env,
        &[
            "bulk",
            "--op",
            "import-by-phone",
            "--input",
            &input,
            "--journal",
            journal.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 3, "{stderr}");
    let records = journal_records(&journal);
    assert_eq!(records[0]["outcome"], "unverified");
    assert!(records[0].get("resolved").is_none());
}

#[test]
fn bulk_invalidate_needs_yes_and_sends_nothing_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let (running, env) = sandbox(dir.path(), &[]);
    let line = serde_json::json!({"user_card_code": "478515832665", "brand_id": BRAND, "card_id": TEMPLATE, "body": {"openid": common::OPENID}});
    let input = write(dir.path(), "inv.jsonl", &format!("{line}\n"));
    let journal = dir.path().join("inv.journal");
    let before = requests(&running.base_url);
    let (code, _, stderr) = run(
        &env,
        &[
            "bulk",
            "--op",
            "invalidate",
            "--input",
            &input,
            "--journal",
            journal.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(requests(&running.base_url), before);
    assert!(!journal.exists(), "no journal either");
    let (code, _, stderr) = run(
        &env,
        &[
            "bulk",
            "--op",
            "invalidate",
            "--yes",
            "--input",
            &input,
            "--journal",
            journal.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        cards(&running.base_url)["478515832665"]["user_card_state"],
        "INVALID"
    );
    // A rerun skips the line that ended ok: nothing is invalidated twice.
    let (code, _, stderr) = run(
        &env,
        &[
            "bulk",
            "--op",
            "invalidate",
            "--yes",
            "--input",
            &input,
            "--journal",
            journal.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("0 succeeded, 0 failed, 1 skipped"),
        "{stderr}"
    );
}
