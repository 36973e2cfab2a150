//! `wechatpay-card bulk` as a user runs it: thousands of lines against a faulty sandbox process,
//! interrupted and resumed, with malformed lines.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{CARD_ID, OPENID, cards, cards_file, command, sandbox};

/// An input of `n` lines, line i setting card CODE{i}'s level and phone number.
fn input(dir: &Path, n: usize) -> String {
    let lines: String = (0..n)
        .map(|i| {
            let line = serde_json::json!({
                "card_id": CARD_ID,
                "code": format!("CODE{i:05}"),
                "body": {"brand_id": "1004", "openid": OPENID, "level": format!("L{i}"), "phone_number": format!("139{i:08}")},
            });
            format!("{line}\n")
        })
        .collect();
    let path = dir.join("input.jsonl");
    std::fs::write(&path, lines).unwrap();
    path.display().to_string()
}

/// How many lines the journal of a run in progress has records for (a missing journal, or a
/// record being written, count as nothing yet).
fn lines_done(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: std::collections::HashSet<u64> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|r| r["line"].as_u64())
        .collect();
    lines.len()
}

/// The journal's records, by input line.
fn journal(path: &Path) -> HashMap<u64, Vec<serde_json::Value>> {
    let mut by_line: HashMap<u64, Vec<serde_json::Value>> = HashMap::new();
    for (i, line) in std::fs::read_to_string(path).unwrap().lines().enumerate() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if i == 0 {
            assert_eq!(record["journal"], "wechatpay-card bulk");
            continue;
        }
        by_line
            .entry(record["line"].as_u64().unwrap())
            .or_default()
            .push(record);
    }
    by_line
}

fn assert_every_line_ok_exactly_once(journal_path: &Path, n: usize) {
    let records = journal(journal_path);
    for line in 1..=n as u64 {
        let oks = records
            .get(&line)
            .map_or(0, |r| r.iter().filter(|r| r["outcome"] == "ok").count());
        assert_eq!(oks, 1, "line {line}: {:?}", records.get(&line));
    }
}

fn assert_cards_hold_their_lines(base_url: &str, n: usize) {
    let stored = cards(base_url);
    for i in 0..n {
        let card = &stored[&format!("CODE{i:05}")];
        assert_eq!(card["level"], format!("L{i}"));
        assert_eq!(card["phone_number"], format!("139{i:08}"));
    }
}

#[test]
fn thousands_of_lines_survive_500s_429s_drops_and_lost_answers() {
    const N: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let cards_path = cards_file(dir.path(), N);
    let faults = [
        "--fail-rate",
        "0.1",
        "--rate-limit-rate",
        "0.1",
        "--drop-rate",
        "0.05",
        "--applied-drop-rate",
        "0.05",
        "--seed",
        "42",
    ];
    let mut args = vec!["--cards", cards_path.to_str().unwrap()];
    args.extend(faults);
    let (running, env) = sandbox(dir.path(), &args);
    let input = input(dir.path(), N);
    let journal_path = dir.path().join("journal.jsonl");
    let output = command(
        &env,
        &[
            "bulk",
            "--input",
            &input,
            "--journal",
            journal_path.to_str().unwrap(),
            "--concurrency",
            "32",
            "--max-attempts",
            "12",
            // The sandbox's 429 faults fall at random whatever the rate: the adaptive limiter
            // (--rps auto) would take each for the limit and slow down for nothing.
            "--rps",
            "off",
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("{N} succeeded, 0 failed, 0 skipped")),
        "{stderr}"
    );
    assert_every_line_ok_exactly_once(&journal_path, N);
    assert_cards_hold_their_lines(&running.base_url, N);
    let stats = common::get_json(&running.base_url, "/_sandbox/stats");
    assert!(stats["faults_injected"].as_u64().unwrap() > 200, "{stats}");
}

#[test]
fn killed_mid_run_then_resumed_every_line_ends_ok_exactly_once() {
    const N: usize = 400;
    let dir = tempfile::tempdir().unwrap();
    let cards_path = cards_file(dir.path(), N);
    let (running, env) = sandbox(
        dir.path(),
        &[
            "--cards",
            cards_path.to_str().unwrap(),
            "--fail-rate",
            "0.1",
            "--seed",
            "5",
        ],
    );
    let input = input(dir.path(), N);
    let journal_path = dir.path().join("journal.jsonl");
    let journal_arg = journal_path.to_str().unwrap();
    let args = [
        "bulk",
        "--input",
        input.as_str(),
        "--journal",
        journal_arg,
        "--max-attempts",
        "12",
    ];

    for signal in ["-KILL", "-INT"] {
        // Slowed down by --rps so that it is surely interrupted mid-run.
        let mut slow = args.to_vec();
        slow.extend(["--rps", "100"]);
        let mut child = command(&env, &slow)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let done_before = lines_done(&journal_path);
        while lines_done(&journal_path) < done_before + 40 {
            assert!(started.elapsed() < Duration::from_secs(30), "no progress");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        if signal == "-INT" {
            // A graceful stop: the updates in flight finish, then exit 130 with how to resume.
            assert_eq!(status.code(), Some(130), "{stderr}");
            assert!(
                stderr.contains("run the same command again to resume"),
                "{stderr}"
            );
        } else {
            assert!(!status.success());
        }
        let records = journal(&journal_path);
        assert!(
            records.len() < N,
            "stopped before the end: {} lines done",
            records.len()
        );
    }

    let output = command(&env, &args).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let skipped: usize = stderr
        .lines()
        .find_map(|l| {
            l.strip_suffix(" skipped")
                .and_then(|l| l.rsplit(", ").next())
                .map(|n| n.parse().unwrap())
        })
        .unwrap();
    assert!(
        skipped >= 80,
        "the lines done before were skipped: {stderr}"
    );
    assert_every_line_ok_exactly_once(&journal_path, N);
    assert_cards_hold_their_lines(&running.base_url, N);

    // Once more: everything is skipped, nothing is sent.
    let output = command(&env, &args).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains(&format!("0 succeeded, 0 failed, {N} skipped"))
    );
}

#[test]
fn malformed_lines_are_journaled_and_do_not_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let cards_path = cards_file(dir.path(), 3);
    let (running, env) = sandbox(dir.path(), &["--cards", cards_path.to_str().unwrap()]);
    let good = |i: usize| {
        serde_json::json!({"card_id": CARD_ID, "code": format!("CODE{i:05}"), "body": {"brand_id": "1004", "openid": OPENID, "level": format!("L{i}")}})
            .to_string()
    };
    let lines = [
        good(0),
        "this is not JSON".to_string(),
        format!(r#"{{"card_id":"{CARD_ID}","code":"CODE00001"}}"#),
        good(1),
        format!(
            r#"{{"card_id":"{CARD_ID}","code":"CODE00002","body":{{"brand_id":"1004","openid":"o","card_color":"red","nickname":"x"}}}}"#
        ),
        String::new(),
        format!(
            r#"{{"card_id":"{CARD_ID}","code":"CODE00002","body":{{"brand_id":"1004","openid":"{OPENID}"}},"extra":1}}"#
        ),
        good(2),
        format!(
            r#"{{"card_id":"{CARD_ID}","code":"NO_SUCH_CARD","body":{{"brand_id":"1004","openid":"{OPENID}"}}}}"#
        ),
    ];
    let input = dir.path().join("input.jsonl");
    std::fs::write(&input, lines.join("\n")).unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let output = command(
        &env,
        &[
            "bulk",
            "--input",
            input.to_str().unwrap(),
            "--journal",
            journal_path.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("3 succeeded, 5 failed, 0 skipped"),
        "{stderr}"
    );
    let records = journal(&journal_path);
    let outcome = |line: u64| records[&line][0]["outcome"].as_str().unwrap().to_string();
    let error = |line: u64| records[&line][0]["error"].clone();
    for line in [1, 4, 8] {
        assert_eq!(outcome(line), "ok");
    }
    for line in [2, 3, 5, 7] {
        assert_eq!(outcome(line), "failed");
        assert_eq!(error(line)["code"], "INVALID_LINE");
    }
    assert!(
        error(3)["message"]
            .as_str()
            .unwrap()
            .contains("no \"body\"")
    );
    let reason = error(5)["message"].as_str().unwrap().to_string();
    assert!(
        reason.contains("card_color") && reason.contains("nickname"),
        "{reason}"
    );
    assert_eq!(records[&5][0]["code"], "CODE00002");
    assert!(!records.contains_key(&6), "blank lines are not updates");
    assert_eq!(error(9)["code"], "NOT_FOUND");
    assert_eq!(error(9)["status"], 404);
    assert!(
        error(9)["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(cards(&running.base_url)["CODE00002"]["level"], "L2");
}

fn bulk_args<'a>(input: &'a str, journal: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["bulk", "--input", input, "--journal", journal];
    args.extend_from_slice(more);
    args
}

fn summary(output: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find(|l| l.ends_with(" skipped") && l.contains(" succeeded, "))
        .unwrap_or_else(|| panic!("no summary: {stderr}"))
        .to_string()
}

#[test]
fn an_edited_or_inserted_line_is_sent_on_resume_and_unchanged_lines_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let cards_path = cards_file(dir.path(), 5);
    let (running, env) = sandbox(dir.path(), &["--cards", cards_path.to_str().unwrap()]);
    let line = |i: usize, level: &str| {
        serde_json::json!({"card_id": CARD_ID, "code": format!("CODE{i:05}"), "body": {"brand_id": "1004", "openid": OPENID, "level": level}})
            .to_string()
    };
    let input = dir.path().join("input.jsonl");
    let journal_path = dir.path().join("journal.jsonl");
    let args = bulk_args(input.to_str().unwrap(), journal_path.to_str().unwrap(), &[]);
    let first: Vec<String> = (0..4).map(|i| line(i, &format!("L{i}"))).collect();
    std::fs::write(&input, first.join("\n")).unwrap();
    let output = command(&env, &args).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(summary(&output), "4 succeeded, 0 failed, 0 skipped");

    // A line inserted before the others, one level fixed, one line only reformatted.
    let reformatted = format!(
        r#"{{ "body" : {{ "level": "L3", "openid": "{OPENID}", "brand_id": "1004" }}, "code": "CODE00003", "card_id": "{CARD_ID}" }}"#
    );
    let edited = [
        line(4, "NEW"),
        first[0].clone(),
        first[1].clone(),
        line(2, "FIXED"),
        reformatted,
    ];
    std::fs::write(&input, edited.join("\n")).unwrap();
    let before = common::requests(&running.base_url);
    let output = command(&env, &args).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(summary(&output), "2 succeeded, 0 failed, 3 skipped");
    assert_eq!(common::requests(&running.base_url) - before, 2);
    let stored = cards(&running.base_url);
    assert_eq!(stored["CODE00004"]["level"], "NEW");
    assert_eq!(stored["CODE00002"]["level"], "FIXED");
    for i in [0, 1, 3] {
        assert_eq!(stored[&format!("CODE{i:05}")]["level"], format!("L{i}"));
    }

    // A card set to A, then B, then A again: the second A was never sent, so it is.
    let again = [line(0, "A"), line(0, "B"), line(0, "A")];
    std::fs::write(&input, again[..2].join("\n")).unwrap();
    assert_eq!(
        command(&env, &args).output().unwrap().status.code(),
        Some(0)
    );
    std::fs::write(&input, again.join("\n")).unwrap();
    let output = command(&env, &args).output().unwrap();
    assert_eq!(summary(&output), "1 succeeded, 0 failed, 2 skipped");
    assert_eq!(cards(&running.base_url)["CODE00000"]["level"], "A");
}

#[test]
fn an_overlong_line_is_journaled_and_an_endless_one_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let cards_path = cards_file(dir.path(), 1);
    let (running, env) = sandbox(dir.path(), &["--cards", cards_path.to_str().unwrap()]);
    let good = serde_json::json!({"card_id": CARD_ID, "code": "CODE00000", "body": {"brand_id": "1004", "openid": OPENID, "level": "AFTER"}});
    let long = format!(r#"{{"card_id": "{}"}}"#, "x".repeat(3 << 20));
    let input = dir.path().join("input.jsonl");
    std::fs::write(&input, format!("{long}\n{good}\n")).unwrap();
    let journal_path = dir.path().join("journal.jsonl");
    let output = command(
        &env,
        &bulk_args(input.to_str().unwrap(), journal_path.to_str().unwrap(), &[]),
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert_eq!(summary(&output), "1 succeeded, 1 failed, 0 skipped");
    let records = journal(&journal_path);
    assert_eq!(records[&1][0]["error"]["code"], "INVALID_LINE");
    assert!(
        records[&1][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than 1048576 bytes")
    );
    assert_eq!(records[&2][0]["outcome"], "ok");
    assert_eq!(cards(&running.base_url)["CODE00000"]["level"], "AFTER");

    // A line that never ends: SIGTERM still stops the run, at once, with its own status.
    let journal_path = dir.path().join("zero.journal");
    let mut child = command(
        &env,
        &bulk_args("/dev/zero", journal_path.to_str().unwrap(), &[]),
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let killed = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if killed.elapsed() > Duration::from_secs(5) {
            child.kill().unwrap();
            panic!("still running 5 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("0 succeeded, 0 failed, 0 skipped"),
        "{stderr}"
    );
}

#[test]
fn every_flag_value_is_a_usage_error_or_works() {
    let dir = tempfile::tempdir().unwrap();
    let cards_path = cards_file(dir.path(), 1);
    let (running, env) = sandbox(dir.path(), &["--cards", cards_path.to_str().unwrap()]);
    let good = serde_json::json!({"card_id": CARD_ID, "code": "CODE00000", "body": {"brand_id": "1004", "openid": OPENID, "level": "X"}});
    let input = dir.path().join("input.jsonl");
    std::fs::write(&input, format!("{good}\n")).unwrap();
    let input = input.to_str().unwrap();
    let huge = "1".repeat(400);
    let rejected: Vec<(&str, &str)> = vec![
        ("--rps", "nan"),
        ("--rps", "NaN"),
        ("--rps", "inf"),
        ("--rps", "-inf"),
        ("--rps", "-1"),
        ("--rps", "0"),
        ("--rps", "-0"),
        ("--rps", "1e-20"),
        ("--rps", "0.0009"),
        ("--rps", "1e10"),
        ("--rps", "1e300"),
        ("--rps", "1000000.5"),
        ("--rps", &huge),
        ("--rps", ""),
        ("--rps", "fast"),
        ("--rps", "automatic"),
        ("--rps", "Off"),
        ("--concurrency", "0"),
        ("--concurrency", "-1"),
        ("--concurrency", "1025"),
        ("--concurrency", "4294967296"),
        ("--concurrency", "18446744073709551616"),
        ("--concurrency", &huge),
        ("--concurrency", "1e3"),
        ("--concurrency", "nan"),
        ("--max-attempts", "0"),
        ("--max-attempts", &huge),
    ];
    let journal_path = dir.path().join("journal.jsonl");
    let journal_arg = journal_path.to_str().unwrap();
    for (flag, value) in rejected {
        let flag_value = format!("{flag}={value}");
        let output = command(&env, &bulk_args(input, journal_arg, &[&flag_value]))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag_value}: {stderr}");
        assert!(stderr.contains(flag), "{flag_value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{flag_value}: {stderr}");
    }
    let dir_arg = dir.path().to_str().unwrap();
    for (args, expected) in [
        (bulk_args(dir_arg, journal_arg, &[]), "is a directory"),
        (bulk_args(input, input, &[]), "is the input"),
        (bulk_args(input, dir_arg, &[]), "cannot open the journal"),
    ] {
        let output = command(&env, &args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(!journal_path.exists(), "nothing was started");
    assert_eq!(
        std::fs::read_to_string(input).unwrap(),
        format!("{good}\n"),
        "the input is untouched"
    );

    for more in [
        ["--rps", "0.001"],
        ["--rps", "1000000"],
        ["--rps", "1e6"],
        ["--rps", "auto"],
        ["--rps", "off"],
        ["--concurrency", "1024"],
        ["--concurrency", "1"],
    ] {
        let journal_path = dir.path().join(format!("{}{}.journal", more[0], more[1]));
        let output = command(
            &env,
            &bulk_args(input, journal_path.to_str().unwrap(), &more),
        )
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(0), "{more:?}: {output:?}");
        assert_eq!(summary(&output), "1 succeeded, 0 failed, 0 skipped");
    }
    assert_eq!(cards(&running.base_url)["CODE00000"]["level"], "X");
}

#[test]
fn a_damaged_journal_stops_the_run_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let cards_path = cards_file(dir.path(), 1);
    let (running, env) = sandbox(dir.path(), &["--cards", cards_path.to_str().unwrap()]);
    let good = serde_json::json!({"card_id": CARD_ID, "code": "CODE00000", "body": {"brand_id": "1004", "openid": OPENID, "level": "X"}});
    let input = dir.path().join("input.jsonl");
    std::fs::write(&input, format!("{good}\n")).unwrap();
    let header = r#"{"journal":"wechatpay-card bulk","version":2,"input":"/x"}"#;
    let huge_line = r#"{"line":18446744073709551615,"card_id":"c","code":"x","outcome":"failed"}"#;
    let journal_path = dir.path().join("journal.jsonl");
    let args = bulk_args(input.to_str().unwrap(), journal_path.to_str().unwrap(), &[]);

    // Absurd numbers are harmless; a torn last record is tolerated.
    std::fs::write(
        &journal_path,
        format!("{header}\n{huge_line}\n{{\"line\":4000"),
    )
    .unwrap();
    let output = command(&env, &args).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");

    // A damaged record in the middle: exit 2, naming the line, nothing sent.
    std::fs::write(
        &journal_path,
        format!("{header}\n{huge_line}\nnot a record\n{huge_line}\n"),
    )
    .unwrap();
    let before = common::requests(&running.base_url);
    let output = command(&env, &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("damaged at line 3"), "{stderr}");
    assert_eq!(common::requests(&running.base_url), before);
}
