//! Load generator: requests per second and latency of a sandbox on loopback, with signature
//! verification and answer signing on, and the signing crate's cost per RSA operation beside
//! them for comparison.
//!
//! ```sh
//! cargo run --release -p wechatpay-sandbox --example load -- [CONNECTIONS] [SECONDS] [MODE]
//! ```
//!
//! MODE is `plain` (a signed update without encrypted fields: verify + sign + encrypting the
//! answer's 3 sensitive fields), `sensitive` (the same with an encrypted phone number: one more
//! RSA decryption), or `hook` (`GET /_sandbox/stats`: no cryptography, the framework alone).
//! The sandbox runs in this process on its own 2-thread runtime; the load comes from one more
//! thread. The sandbox refuses a replayed nonce, so each request carries its own signature:
//! they are made before the timed run (6,000 per second of it, more than the sandbox serves),
//! so that the figures measure the sandbox, not the load generator's signing; past them a
//! request is signed as it is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wechatpay_sandbox::Sandbox;
use wechatpay_signing::{MerchantSigner, PrivateKey, WechatPaySigner};

const URL: &str =
    "/v3/brand/partner/card-member/user-cards/478515832665?card_id=pbLatjvWOibDc5-TBnbUk1pD12o0";

/// Microseconds per call of `f`, the median of 5 batches of `n`.
fn per_op(n: u32, mut f: impl FnMut()) -> f64 {
    let mut batches: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..n {
                f();
            }
            started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    batches[2]
}

fn crypto_costs() {
    let merchant = PrivateKey::generate().unwrap();
    let wechatpay = WechatPaySigner::new("PUB_KEY_ID_01", PrivateKey::generate().unwrap()).unwrap();
    let signer = MerchantSigner::new("1900000001", "ABCDEF", merchant.clone()).unwrap();
    let authorization = signer.authorization("PATCH", URL, b"{}").unwrap();
    let header = wechatpay_signing::AuthorizationHeader::parse(&authorization).unwrap();
    let ciphertext = wechatpay.public_key().encrypt(b"13800138000").unwrap();
    let sign = per_op(200, || {
        wechatpay.sign_response(b"{}").unwrap();
    });
    let verify = per_op(2000, || {
        header
            .verify(merchant.public_key(), "PATCH", URL, b"{}")
            .unwrap();
    });
    let encrypt = per_op(2000, || {
        merchant.public_key().encrypt(b"13800138000").unwrap();
    });
    let decrypt = per_op(200, || {
        wechatpay.decrypt(&ciphertext).unwrap();
    });
    println!(
        "signing crate ({}), one core: sign {sign:.0} µs, verify {verify:.1} µs, \
         encrypt {encrypt:.1} µs, decrypt {decrypt:.0} µs",
        wechatpay_signing::BACKEND
    );
    println!(
        "  per request: plain (verify + sign + 3 encrypts) {:.0} µs, sensitive (+ 1 decrypt) {:.0} µs",
        verify + sign + 3.0 * encrypt,
        verify + sign + 3.0 * encrypt + decrypt
    );
}

/// CPU time of this process so far (user + system), from `/proc/self/stat` (Linux only).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses): utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let connections: usize = args.get(1).map_or(16, |a| a.parse().expect("CONNECTIONS"));
    let seconds: u64 = args.get(2).map_or(5, |a| a.parse().expect("SECONDS"));
    let mode = args.get(3).map_or("plain", String::as_str).to_owned();

    crypto_costs();

    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = server.block_on(Sandbox::builder().start()).unwrap();
    let creds = sandbox.credentials().clone();
    let key = PrivateKey::from_pem(creds.merchant_private_key_pem.as_ref().unwrap()).unwrap();
    let signer = MerchantSigner::new(&creds.mchid, &creds.merchant_serial, key).unwrap();
    let wechatpay_key =
        wechatpay_signing::PublicKey::from_pem(&creds.wechatpay_public_key_pem).unwrap();

    let (method, url, body) = match mode.as_str() {
        "hook" => (
            reqwest::Method::GET,
            "/_sandbox/stats".to_owned(),
            String::new(),
        ),
        "sensitive" => {
            let phone = wechatpay_key.encrypt(b"13800138000").unwrap();
            let body = format!(
                r#"{{"brand_id":"1004","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","level":"金卡","phone_number":"{phone}"}}"#
            );
            (reqwest::Method::PATCH, URL.to_owned(), body)
        }
        _ => (
            reqwest::Method::PATCH,
            URL.to_owned(),
            r#"{"brand_id":"1004","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","level":"金卡"}"#
                .to_owned(),
        ),
    };
    // One signature per request (distinct nonces), made ahead of the timed run.
    let signed = method == reqwest::Method::PATCH;
    let presigned = if signed {
        let count = usize::try_from(seconds + 1).unwrap_or(usize::MAX) * 6_000;
        println!("signing {count} requests ahead of the run");
        (0..count)
            .map(|_| {
                signer
                    .authorization("PATCH", &url, body.as_bytes())
                    .unwrap()
            })
            .collect()
    } else {
        Vec::new()
    };
    let authorizations = Arc::new((presigned, AtomicUsize::new(0)));
    let next_authorization = {
        let authorizations = authorizations.clone();
        let (signer, url, body) = (Arc::new(signer), url.clone(), body.clone());
        move || {
            let (presigned, next) = &*authorizations;
            let i = next.fetch_add(1, Ordering::Relaxed);
            // The test hook needs no signature: an empty header, no signing.
            presigned.get(i).cloned().unwrap_or_else(|| {
                if signed {
                    signer
                        .authorization("PATCH", &url, body.as_bytes())
                        .unwrap()
                } else {
                    String::new()
                }
            })
        }
    };
    let target = format!("{}{url}", sandbox.base_url());

    let load = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (latencies, errors, elapsed, cpu_during) = load.block_on(async move {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(connections)
            .build()
            .unwrap();
        let send = {
            let client = client.clone();
            move || {
                client
                    .request(method.clone(), &target)
                    .header("Authorization", next_authorization())
                    .header("User-Agent", "wechatpay-sandbox-load/0.1")
                    .header("Accept", "application/json")
                    .header("Content-Type", "application/json")
                    .header("Wechatpay-Serial", &creds.wechatpay_key_id)
                    .body(body.clone())
                    .send()
            }
        };
        // Warm-up: open the connections.
        let warm_until = Instant::now() + Duration::from_secs(1);
        let run_until = warm_until + Duration::from_secs(seconds);
        let cpu = tokio::spawn(async move {
            tokio::time::sleep_until(warm_until.into()).await;
            let before = cpu_time();
            tokio::time::sleep_until(run_until.into()).await;
            before.zip(cpu_time()).map(|(b, a)| a.saturating_sub(b))
        });
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..connections {
            let send = send.clone();
            tasks.spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                loop {
                    let started = Instant::now();
                    if started >= run_until {
                        break;
                    }
                    let ok = match send().await {
                        Ok(response) => {
                            let ok = response.status().is_success();
                            ok && response.bytes().await.is_ok()
                        }
                        Err(_) => false,
                    };
                    if started >= warm_until {
                        latencies.push(started.elapsed());
                        errors += u64::from(!ok);
                    }
                }
                (latencies, errors)
            });
        }
        let mut all = Vec::new();
        let mut errors = 0;
        while let Some(result) = tasks.join_next().await {
            let (latencies, e) = result.unwrap();
            all.extend(latencies);
            errors += e;
        }
        let cpu = cpu.await.ok().flatten();
        (all, errors, Duration::from_secs(seconds), cpu)
    });

    let mut latencies = latencies;
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).copied().unwrap_or_default()
    };
    let rps = latencies.len() as f64 / elapsed.as_secs_f64();
    println!(
        "{mode}: {connections} connections, {seconds} s: {rps:.0} requests/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, {errors} errors",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.9).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
    if let Some(cpu) = cpu_during {
        println!(
            "  CPU (sandbox and load generator together): {:.0} µs per request, {:.2} cores busy",
            cpu.as_secs_f64() * 1e6 / latencies.len().max(1) as f64,
            cpu.as_secs_f64() / elapsed.as_secs_f64()
        );
    }
    let used = authorizations.1.load(Ordering::Relaxed);
    if used > authorizations.0.len() && !authorizations.0.is_empty() {
        println!(
            "  note: {} requests were signed while sent (the load generator's CPU is in the figures)",
            used - authorizations.0.len()
        );
    }
    let stats = sandbox.stats();
    println!(
        "  sandbox: {} requests, {} updates applied",
        stats.requests, stats.updates_applied
    );
    drop(sandbox);
    server.shutdown_timeout(Duration::from_secs(1));
}
