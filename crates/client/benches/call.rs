//! What one call costs the client: the whole call, and each step of it, next to the floor of
//! the three RSA operations every call needs (sign the request, verify the answer, encrypt one
//! field).
//!
//! `cargo bench -p wechatpay-card-client --bench call`
//!
//! - `floor/*`: the signing crate's bare operations.
//! - `steps/*`: the client's steps one by one, with the same building blocks it uses.
//! - `call/canned`: a whole `Client::execute` against a local server that answers every
//!   request with one pre-signed answer at once (on its own thread): wall time, the client's
//!   work plus the loopback round trip.
//! - `call/canned, client thread CPU`: the same calls timed by the CPU time of the client's
//!   thread alone (`CLOCK_THREAD_CPUTIME_ID`, kernel time included):
//!   what a call costs the client, whatever else the machine is doing.
//! - `call/http round trip only, client thread CPU`: the same exchange with plain reqwest,
//!   nothing signed, verified or parsed: the share of a call that is the kernel's and the HTTP
//!   stack's.
//! - `call/sandbox`: a whole call against the in-process sandbox (both sides' work).
//!
//! The client runs on a current-thread runtime: its times are one core's.

// A benchmark: a panic is the failure report.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wechatpay_card_client::Client;
use wechatpay_card_client::models::{
    UpdateUserCardBody, UpdateUserCardRequest, UserCard, Validate,
};
use wechatpay_card_client::signing::{
    MerchantSigner, PrivateKey, ResponseVerifier, WechatPayKeySet, WechatPayPublicKey,
    WechatPaySigner,
};
use wechatpay_sandbox::Sandbox;

const MERCHANT_KEY: &str = include_str!("../../signing/tests/fixtures/merchant_key.pkcs8.pem");
const WECHATPAY_KEY: &str = include_str!("../../signing/tests/fixtures/wechatpay_key.pem");
const WECHATPAY_PUB: &str = include_str!("../../signing/tests/fixtures/wechatpay_pub.pem");
const KEY_ID: &str = "PUB_KEY_ID_0119000000012026112600000000000001";
const SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const CARD: &str = include_str!("../../models/tests/fixtures/user-card.response.json");

/// The request of every benchmark: a level and one encrypted field, the phone number.
fn request() -> UpdateUserCardRequest {
    UpdateUserCardRequest::new(
        "478515832665",
        "pbLatjvWOibDc5-TBnbUk1pD12o0",
        UpdateUserCardBody::new("1004", "obLatjnx9gnqzS4myYGmLZ7LgLBA")
            .with_level("钻石会员")
            .with_phone_number("13800138000"),
    )
}

fn client(base_url: &str) -> Client {
    Client::builder()
        .mchid("1900000001")
        .merchant_serial(SERIAL)
        .private_key_pem(MERCHANT_KEY)
        .wechatpay_public_key_pem(KEY_ID, WECHATPAY_PUB)
        .base_url(base_url)
        .disable_failover()
        .build()
        .unwrap()
}

/// Times `iterations` runs of `f` by the CPU time of the calling thread (kernel time included),
/// not the wall clock: what the work costs this thread, whatever else the machine is doing.
fn thread_cpu(iterations: u64, mut f: impl FnMut()) -> Duration {
    let before = cpu_time::ThreadTime::now();
    for _ in 0..iterations {
        f();
    }
    before.elapsed()
}

/// A server, on its own thread and runtime, answering every request on a connection with
/// `answer` as soon as it is read.
fn canned_server(answer: Vec<u8>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", listener.local_addr().unwrap()))
                .unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                tokio::spawn(answer_all(stream, answer.clone()));
            }
        });
    });
    rx.recv().unwrap()
}

/// Answers each request of a keep-alive connection with `answer`.
async fn answer_all(mut stream: tokio::net::TcpStream, answer: Vec<u8>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    loop {
        let n = match stream.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        filled += n;
        // A request is complete once its head and Content-Length body are in.
        let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        if filled < end + 4 + length {
            continue;
        }
        filled = 0;
        if stream.write_all(&answer).await.is_err() {
            return;
        }
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let merchant_key = PrivateKey::from_pem(MERCHANT_KEY).unwrap();
    let signer = MerchantSigner::new("1900000001", SERIAL, merchant_key).unwrap();
    let wechatpay =
        WechatPaySigner::new(KEY_ID, PrivateKey::from_pem(WECHATPAY_KEY).unwrap()).unwrap();
    let keys = WechatPayKeySet::new()
        .with_public_key(WechatPayPublicKey::from_pem(KEY_ID, WECHATPAY_PUB).unwrap());
    let verifier = ResponseVerifier::new(keys.clone());
    let encryptor = keys.encryptor().unwrap();

    // One answer, signed now: valid for the 300 s window, longer than the benchmark runs.
    // The answer names the card, brand and user of `request()`: the client refuses one that does not.
    let mut card: UserCard = serde_json::from_str(CARD).unwrap();
    card.brand_id = "1004".into();
    let answer_body = serde_json::to_vec(&card).unwrap();
    let signature = wechatpay.sign_response(&answer_body).unwrap();
    let mut answer =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nRequest-ID: bench\r\n".to_vec();
    for (name, value) in signature.headers() {
        answer.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    answer.extend_from_slice(format!("Content-Length: {}\r\n\r\n", answer_body.len()).as_bytes());
    answer.extend_from_slice(&answer_body);

    let prepared_client = client("http://127.0.0.1:9");
    let prepared = prepared_client.prepare(request()).unwrap();
    let target = prepared.target().to_string();
    let body = prepared.body().to_vec();

    let mut floor = c.benchmark_group("floor");
    floor.bench_function("sign+verify+encrypt", |b| {
        b.iter(|| {
            let auth = signer.authorization("PATCH", &target, &body).unwrap();
            verifier
                .verify(&signature.as_response_headers(), &answer_body)
                .unwrap();
            let encrypted = encryptor.encrypt("13800138000").unwrap();
            black_box((auth, encrypted))
        })
    });
    floor.bench_function("sign+verify+encrypt, thread CPU", |b| {
        b.iter_custom(|iterations| {
            thread_cpu(iterations, || {
                let auth = signer.authorization("PATCH", &target, &body).unwrap();
                verifier
                    .verify(&signature.as_response_headers(), &answer_body)
                    .unwrap();
                black_box((auth, encryptor.encrypt("13800138000").unwrap()));
            })
        })
    });
    floor.finish();

    let mut steps = c.benchmark_group("steps");
    steps.bench_function("validate", |b| {
        let request = request();
        b.iter(|| black_box(&request).validate().unwrap())
    });
    steps.bench_function("prepare (validate+encrypt+serialize)", |b| {
        b.iter_batched(
            request,
            |r| prepared_client.prepare(r).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    steps.bench_function("sign", |b| {
        b.iter(|| {
            signer
                .authorization("PATCH", &target, black_box(&body))
                .unwrap()
        })
    });
    steps.bench_function("verify", |b| {
        b.iter(|| {
            verifier
                .verify(&signature.as_response_headers(), black_box(&answer_body))
                .unwrap()
        })
    });
    steps.bench_function("parse", |b| {
        b.iter(|| serde_json::from_slice::<UserCard>(black_box(&answer_body)).unwrap())
    });
    steps.finish();

    let mut call = c.benchmark_group("call");
    call.measurement_time(Duration::from_secs(8));
    let canned = canned_server(answer);
    let canned_client = client(&canned);
    call.bench_function("canned", |b| {
        b.to_async(&rt)
            .iter(|| async { canned_client.execute(request()).await.unwrap() })
    });
    // The HTTP exchange alone (reqwest, same answer, nothing signed or verified): the part of a
    // call's cost that is the kernel's and the HTTP stack's, not the client's.
    let http = reqwest::Client::new();
    call.bench_function("http round trip only, client thread CPU", |b| {
        b.iter_custom(|iterations| {
            thread_cpu(iterations, || {
                let send = http
                    .patch(format!("{canned}{target}"))
                    .body(body.clone())
                    .send();
                black_box(rt.block_on(async { send.await.unwrap().bytes().await.unwrap() }));
            })
        })
    });
    call.bench_function("canned, client thread CPU", |b| {
        b.iter_custom(|iterations| {
            thread_cpu(iterations, || {
                black_box(rt.block_on(canned_client.execute(request())).unwrap());
            })
        })
    });
    let sandbox = rt.block_on(async { Sandbox::builder().start().await.unwrap() });
    let creds = sandbox.credentials();
    let sandbox_client = Client::builder()
        .mchid(&creds.mchid)
        .merchant_serial(&creds.merchant_serial)
        .private_key_pem(creds.merchant_private_key_pem.as_deref().unwrap().as_str())
        .wechatpay_public_key_pem(&creds.wechatpay_key_id, &creds.wechatpay_public_key_pem)
        .base_url(sandbox.base_url())
        .disable_failover()
        .build()
        .unwrap();
    call.bench_function("sandbox", |b| {
        b.to_async(&rt)
            .iter(|| async { sandbox_client.execute(request()).await.unwrap() })
    });
    call.finish();
}

criterion_group!(call_benches, benches);
criterion_main!(call_benches);
