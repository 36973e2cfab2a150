//! `wechatpay-card sandbox`: a local WeChat Pay serving the member-card update endpoint.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;
use wechatpay_sandbox::{Credentials, DEFAULT_MCHID, Faults, MAX_RPS, Sandbox, SandboxError};

/// Run a local WeChat Pay sandbox serving the member-card update endpoint over HTTP.
///
/// A stand-in for WeChat Pay at
/// PATCH /v3/brand/partner/card-member/user-cards/{user_card_code}?card_id=…: it verifies request signatures, validates requests as WeChat Pay does, keeps user cards in
/// memory (by default the official page's example card) and signs every answer. Keys not given
/// are generated. The first line on stdout is the base URL (e.g. http://127.0.0.1:41234);
/// everything else goes to stderr. With --state-dir, the keys it made and an `env` file are
/// written there: `set -a; . DIR/env; set +a` points the client at it.
///
/// GET /_sandbox/user-cards lists the stored cards (sensitive values in plaintext): a test
/// hook, not part of WeChat Pay. POST /_sandbox/users/open-card and /_sandbox/users/delete-card
/// simulate users; with --notify-url the card event notifications are delivered there (GET
/// /_sandbox/notifications lists the attempts). Ctrl-C or SIGTERM stops it.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  wechatpay-card sandbox --state-dir /tmp/wx &\n  set -a; . /tmp/wx/env; set +a"
)]
pub(crate) struct SandboxArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Directory to write the generated keys and the `env` file to (created if missing, mode
    /// 0700). An existing one must be this user's, not group- or world-writable, and not a
    /// symbolic link; a file in it that is a symbolic link is refused, never followed.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,

    /// JSON file of the user cards to serve: an array of UserCard objects, sensitive values in
    /// plaintext [default: the page's example card, brand_id 1004]
    #[arg(long, value_name = "FILE")]
    cards: Option<PathBuf>,

    /// Merchant id requests must be signed for.
    #[arg(long, value_name = "MCHID", default_value = DEFAULT_MCHID)]
    mchid: String,

    /// Merchant API certificate serial number requests must name (hex) [default: random]
    #[arg(long, value_name = "SERIAL")]
    merchant_serial: Option<String>,

    /// PEM file of the merchant's public key (or certificate) [default: a key pair is generated]
    #[arg(long, value_name = "PEM")]
    merchant_public_key: Option<PathBuf>,

    /// PEM file of WeChat Pay's private key; with --wechatpay-cert, the certificate's key
    /// [default: generated]
    #[arg(long, value_name = "PEM")]
    wechatpay_private_key: Option<PathBuf>,

    /// Id of WeChat Pay's public key, PUB_KEY_ID_… [default: random]
    #[arg(long, value_name = "ID", conflicts_with = "wechatpay_cert")]
    wechatpay_public_key_id: Option<String>,

    /// PEM file of a platform certificate: platform-certificate mode (its serial number is
    /// Wechatpay-Serial; --wechatpay-private-key is its key)
    #[arg(long, value_name = "PEM", requires = "wechatpay_private_key")]
    wechatpay_cert: Option<PathBuf>,

    /// URL card event notifications are POSTed to, http(s)://host:port/path (port optional) [default: none:
    /// users can still open and delete cards, nothing is sent]
    #[arg(long, value_name = "URL", help_heading = "Notifications")]
    notify_url: Option<String>,

    /// Seconds between two delivery attempts of a notification (decimals allowed).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds, help_heading = "Notifications")]
    notify_interval: Duration,

    /// Retries of a notification not answered 2xx.
    #[arg(long, value_name = "N", default_value_t = wechatpay_sandbox::DEFAULT_NOTIFY_RETRIES, help_heading = "Notifications")]
    notify_retries: u32,

    /// APIv3 key notifications are encrypted with: 32 bytes [default: 32 random letters and
    /// digits]. With --state-dir it is written to the env file.
    #[arg(
        long,
        value_name = "KEY",
        env = "WECHATPAY_APIV3_KEY",
        hide_env_values = true,
        help_heading = "Notifications"
    )]
    apiv3_key: Option<String>,

    /// Rate of 500 SYSTEM_ERROR answers (0.0 to 1.0; the update is not applied).
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = rate, help_heading = "Faults")]
    fail_rate: f64,

    /// Rate of 429 RATELIMIT_EXCEEDED answers (the update is not applied).
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = rate, help_heading = "Faults")]
    rate_limit_rate: f64,

    /// Requests per second each merchant may make to each endpoint (decimals allowed, above 0,
    /// at most 1000000): a token bucket per merchant and endpoint, holding max(1, N) tokens and
    /// refilled at N per second. A request takes a token once its signature verifies; with none
    /// left it gets 429 RATELIMIT_EXCEEDED and changes nothing [default: no limit]
    #[arg(long, value_name = "N", value_parser = rps, help_heading = "Faults")]
    rps: Option<f64>,

    /// Give the 429s of --rps a Retry-After header: the whole seconds until a token is back
    /// [default: none, as WeChat Pay documents none]
    #[arg(long, requires = "rps", help_heading = "Faults")]
    retry_after: bool,

    /// Milliseconds added to every answer.
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = "Faults")]
    latency_ms: u64,

    /// Rate of connections closed without an answer (the update is not applied).
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = rate, help_heading = "Faults")]
    drop_rate: f64,

    /// Rate of updates applied whose answer is then lost (the connection is closed).
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = rate, help_heading = "Faults")]
    applied_drop_rate: f64,

    /// Rate of answers whose signature does not verify.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = rate, help_heading = "Faults")]
    tamper_rate: f64,

    /// Rate of answers with a WeChat Pay probe signature (WECHATPAY/SIGNTEST/…).
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = rate, help_heading = "Faults")]
    probe_rate: f64,

    /// Seed of the fault sequence, to make it reproducible.
    #[arg(long, value_name = "N", help_heading = "Faults")]
    seed: Option<u64>,
}

/// A rate: a number from 0.0 to 1.0.
fn rate(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not a rate from 0.0 to 1.0"))
    }
}

/// A requests-per-second limit: a finite number above 0, at most [`MAX_RPS`]; decimals allowed.
fn rps(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of requests per second"))?;
    if value.is_finite() && value > 0.0 && value <= MAX_RPS {
        Ok(value)
    } else {
        Err(format!(
            "{value} is not a number of requests per second above 0 and at most {MAX_RPS}"
        ))
    }
}

/// The most seconds `--notify-interval` takes: a day.
const MAX_NOTIFY_INTERVAL_SECS: f64 = 86_400.0;

/// A pause in seconds: a number above 0, at most a day; decimals allowed.
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if value > 0.0 && value <= MAX_NOTIFY_INTERVAL_SECS {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(format!(
            "{value} is not a number of seconds above 0 and at most {MAX_NOTIFY_INTERVAL_SECS}"
        ))
    }
}

/// Why the sandbox command failed.
#[derive(Debug, Error)]
pub(crate) enum Error {
    /// A file given as an option could not be read.
    #[error("cannot read {what} {}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The sandbox refused its configuration or could not listen.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The state directory could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The state directory, or a file in it, is not safe to write keys to.
    #[error("refusing to write to {}: {reason}", path.display())]
    Unsafe { path: PathBuf, reason: String },
    /// stdout is closed, or signals cannot be listened to.
    #[error("{what}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

fn read(what: &'static str, path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// Starts the sandbox, announces it, serves until Ctrl-C or SIGTERM, then stops gracefully.
pub(crate) async fn run(args: SandboxArgs) -> Result<(), Error> {
    let mut builder = Sandbox::builder()
        .listen(args.listen)
        .mchid(args.mchid)
        .faults(Faults {
            fail_rate: args.fail_rate,
            rate_limit_rate: args.rate_limit_rate,
            rps_limit: args.rps,
            latency: Duration::from_millis(args.latency_ms),
            drop_rate: args.drop_rate,
            applied_drop_rate: args.applied_drop_rate,
            tamper_rate: args.tamper_rate,
            probe_rate: args.probe_rate,
            seed: args.seed,
        });
    builder = builder
        .retry_after(args.retry_after)
        .notify_interval(args.notify_interval)
        .notify_retries(args.notify_retries);
    if let Some(url) = &args.notify_url {
        builder = builder.notify_url(url);
    }
    if let Some(key) = args.apiv3_key {
        builder = builder.apiv3_key(key);
    }
    if let Some(path) = &args.cards {
        builder = builder.cards_file(path);
    }
    if let Some(serial) = args.merchant_serial {
        builder = builder.merchant_serial(serial);
    }
    if let Some(path) = &args.merchant_public_key {
        builder = builder.merchant_public_key_pem(read("the merchant public key", path)?);
    }
    if let Some(id) = args.wechatpay_public_key_id {
        builder = builder.wechatpay_public_key_id(id);
    }
    match (&args.wechatpay_cert, &args.wechatpay_private_key) {
        (Some(cert), Some(key)) => {
            builder = builder.platform_certificate(
                read("the platform certificate", cert)?,
                read("the platform certificate's key", key)?.as_str(),
            );
        }
        (None, Some(key)) => {
            builder = builder
                .wechatpay_private_key_pem(read("the WeChat Pay private key", key)?.as_str());
        }
        // clap requires the key with the certificate.
        (Some(_) | None, None) => {}
    }

    let sandbox = builder.start().await?;
    let env_file = match &args.state_dir {
        Some(dir) => Some(write_state(
            dir,
            sandbox.base_url(),
            sandbox.credentials(),
            args.wechatpay_private_key.is_none(),
            &sandbox
                .setting(wechatpay_sandbox::env::APIV3_KEY)
                .unwrap_or_default(),
        )?),
        None => None,
    };

    // Listening for Ctrl-C and SIGTERM before the base URL says the sandbox is up.
    let stop = StopSignals::listen()?;
    // The first line on stdout, at once: scripts wait for it.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", sandbox.base_url())
        .and_then(|()| stdout.flush())
        .map_err(|source| Error::Io {
            what: "cannot write the base URL to stdout",
            source,
        })?;
    drop(stdout);
    announce(&sandbox, env_file.as_deref());

    stop.wait().await?;
    eprintln!("stopping: letting requests in flight finish");
    let stats = sandbox.stats();
    sandbox.shutdown().await;
    eprintln!(
        "stopped ({} requests, {} updates applied, {} faults injected, {} over the rate limit)",
        stats.requests, stats.updates_applied, stats.faults_injected, stats.rate_limited
    );
    Ok(())
}

/// How many cards the start-up message lists; the rest are counted.
const CARDS_LISTED: usize = 5;

/// What a person starting it wants to know, on stderr. No key.
fn announce(sandbox: &Sandbox, env_file: Option<&Path>) {
    let creds = sandbox.credentials();
    eprintln!("WeChat Pay sandbox listening on {}", sandbox.base_url());
    eprintln!("  mchid                 {}", creds.mchid);
    eprintln!("  merchant serial       {}", creds.merchant_serial);
    if creds.is_certificate_mode() {
        eprintln!("  platform certificate  {}", creds.wechatpay_key_id);
    } else {
        eprintln!("  WeChat Pay key id     {}", creds.wechatpay_key_id);
    }
    let cards = sandbox.cards();
    eprintln!("  cards                 {}", cards.len());
    for card in cards.iter().take(CARDS_LISTED) {
        eprintln!(
            "  card                  {} (card_id {}, brand_id {}, openid {})",
            card.user_card_code, card.card_id, card.brand_id, card.openid
        );
    }
    if cards.len() > CARDS_LISTED {
        eprintln!(
            "                        … and {} more (GET {}/_sandbox/user-cards lists them)",
            cards.len() - CARDS_LISTED,
            sandbox.base_url()
        );
    }
    match env_file {
        Some(env) => eprintln!(
            "  client settings       set -a; . {}; set +a",
            env.display()
        ),
        None => {
            eprintln!("  (give --state-dir DIR to get the keys and an env file for the client)")
        }
    }
    eprintln!(
        "  test hook             GET {}/_sandbox/user-cards",
        sandbox.base_url()
    );
    eprintln!(
        "  users                 POST {}/_sandbox/users/open-card, …/delete-card",
        sandbox.base_url()
    );
    match sandbox.notify_url() {
        Some(url) => eprintln!(
            "  notifications         to {url} (attempts: GET {}/_sandbox/notifications)",
            sandbox.base_url()
        ),
        None => eprintln!("  notifications         none (give --notify-url URL to receive them)"),
    }
    eprintln!("Ctrl-C or SIGTERM stops it.");
}

/// Ctrl-C, or SIGTERM on Unix, listened to from creation: a signal that comes as soon as the
/// base URL is printed (a script that starts the sandbox and stops it at once) stops it
/// gracefully rather than killing it.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn signal_error(source: std::io::Error) -> Error {
        Error::Io {
            what: "cannot listen for Ctrl-C / SIGTERM",
            source,
        }
    }

    fn listen() -> Result<Self, Error> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).map_err(Self::signal_error)?,
                terminate: signal(SignalKind::terminate()).map_err(Self::signal_error)?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    async fn wait(mut self) -> Result<(), Error> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Ok(()),
                _ = self.terminate.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            tokio::signal::ctrl_c().await.map_err(Self::signal_error)
        }
    }
}

/// A value for a `sh` script: single-quoted, `'` written as `'\''`.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Writes `contents` to `path`, readable by the owner only when `private`, without following
/// a symbolic link: an existing `path` must be a regular file (a symbolic link planted there is
/// refused, its target untouched); the contents go to a new file (`create_new`: `O_CREAT |
/// O_EXCL`, which never follows a link) beside it, renamed over `path` once written, so `path`
/// is replaced, never written through. The directory is one [`prepare_state_dir`] checked.
fn write_file(path: &Path, contents: &str, private: bool) -> Result<(), Error> {
    let error = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(Error::Unsafe {
                path: path.to_owned(),
                reason: "it is a symbolic link (remove it: the sandbox does not write through \
                         links)"
                    .to_owned(),
            });
        }
        Ok(meta) if !meta.is_file() => {
            return Err(Error::Unsafe {
                path: path.to_owned(),
                reason: "it exists and is not a regular file".to_owned(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(error(e)),
    }
    let (temporary, mut file) = new_file_beside(path, private).map_err(error)?;
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error(e));
    }
    Ok(())
}

/// A new file beside `path` (`.NAME.PID.N.tmp`), created exclusively with the final mode.
fn new_file_beside(path: &Path, private: bool) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = None;
    for attempt in 0..16 {
        let temporary =
            path.with_file_name(format!(".{name}.{}.{attempt}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
            let mode = if private { 0o600 } else { 0o644 };
            options.mode(mode);
            match options.open(&temporary) {
                Ok(file) => {
                    // The umask may have taken bits off: the mode is the one asked.
                    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
                    return Ok((temporary, file));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = private;
            match options.open(&temporary) {
                Ok(file) => return Ok((temporary, file)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// Why a state directory is not safe to write keys to, from its metadata (`None`: it is).
#[cfg(unix)]
fn unsafe_state_dir(meta: &std::fs::Metadata, user: u32) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    if meta.file_type().is_symlink() {
        return Some(
            "it is a symbolic link (give the directory itself: the sandbox does not follow links \
             to write its keys)"
                .to_owned(),
        );
    }
    if !meta.is_dir() {
        return Some("it is not a directory".to_owned());
    }
    if meta.uid() != user {
        return Some(format!(
            "it is owned by uid {}, not by this user (uid {user})",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Some(format!(
            "it is group- or world-writable (mode {mode:03o}): another user could plant links \
             or files in it (chmod go-w, or give a new directory)"
        ));
    }
    None
}

/// Creates the state directory (mode 0700, and its missing parents) or checks the existing one
/// with [`unsafe_state_dir`]. Returns it absolute.
fn prepare_state_dir(dir: &Path) -> Result<PathBuf, Error> {
    let write_error = |source| Error::Write {
        path: dir.to_owned(),
        source,
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            builder.create(dir).map_err(write_error)?;
            std::fs::symlink_metadata(dir).map_err(write_error)?
        }
        Err(e) => return Err(write_error(e)),
    };
    #[cfg(unix)]
    {
        let user = current_uid().map_err(write_error)?;
        if let Some(reason) = unsafe_state_dir(&meta, user) {
            return Err(Error::Unsafe {
                path: dir.to_owned(),
                reason,
            });
        }
    }
    #[cfg(not(unix))]
    {
        if !meta.is_dir() {
            return Err(Error::Unsafe {
                path: dir.to_owned(),
                reason: "it is not a directory".to_owned(),
            });
        }
    }
    std::fs::canonicalize(dir).map_err(write_error)
}

/// This process's user id (std has no `getuid`, and `unsafe` is forbidden here): on Linux from
/// `/proc/self/status` (the effective uid); elsewhere the owner of a file this process creates
/// in the system's temporary directory, and removes at once.
#[cfg(unix)]
fn current_uid() -> std::io::Result<u32> {
    use std::os::unix::fs::MetadataExt as _;
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(uid) = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|euid| euid.parse().ok())
    {
        return Ok(uid);
    }
    let probe =
        std::env::temp_dir().join(format!(".wechatpay-card-uid.{}.tmp", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    let uid = file.metadata().map(|m| m.uid());
    let _ = std::fs::remove_file(&probe);
    uid
}

/// Writes the keys the sandbox made and the `env` file; returns the `env` file's path.
fn write_state(
    dir: &Path,
    base_url: &str,
    creds: &Credentials,
    wechatpay_key_generated: bool,
    apiv3_key: &str,
) -> Result<PathBuf, Error> {
    let dir = prepare_state_dir(dir)?;
    let path = |name: &str| dir.join(name);
    let mut env = vec![
        "# Written by `wechatpay-card sandbox`: `set -a; . THIS_FILE; set +a` points the client at it.".to_owned(),
        format!("WECHATPAY_MCHID={}", shell_quote(&creds.mchid)),
        format!("WECHATPAY_MERCHANT_SERIAL={}", shell_quote(&creds.merchant_serial)),
    ];

    write_file(
        &path("merchant_public_key.pem"),
        &creds.merchant_public_key_pem,
        false,
    )?;
    match &creds.merchant_private_key_pem {
        Some(pem) => {
            let key = path("merchant_private_key.pem");
            write_file(&key, pem, true)?;
            env.push(format!(
                "WECHATPAY_PRIVATE_KEY={}",
                shell_quote(&key.to_string_lossy())
            ));
        }
        None => env.push(
            "# WECHATPAY_PRIVATE_KEY: the merchant private key of --merchant-public-key (the sandbox does not have it)"
                .to_owned(),
        ),
    }
    match &creds.platform_certificate_pem {
        Some(cert) => {
            let file = path("platform_cert.pem");
            write_file(&file, cert, false)?;
            env.push(format!(
                "WECHATPAY_PLATFORM_CERT={}",
                shell_quote(&file.to_string_lossy())
            ));
        }
        None => {
            let public = path("wechatpay_public_key.pem");
            write_file(&public, &creds.wechatpay_public_key_pem, false)?;
            if wechatpay_key_generated {
                // For a second sandbox (a backup host) to share the key.
                write_file(
                    &path("wechatpay_private_key.pem"),
                    &creds.wechatpay_private_key_pem,
                    true,
                )?;
            }
            env.push(format!(
                "WECHATPAY_PUBLIC_KEY_ID={}",
                shell_quote(&creds.wechatpay_key_id)
            ));
            env.push(format!(
                "WECHATPAY_PUBLIC_KEY={}",
                shell_quote(&public.to_string_lossy())
            ));
        }
    }
    env.push(format!("WECHATPAY_BASE_URL={}", shell_quote(base_url)));
    env.push("WECHATPAY_BACKUP_BASE_URL=none".to_owned());
    env.push(format!("WECHATPAY_APIV3_KEY={}", shell_quote(apiv3_key)));
    env.push(String::new());
    let env_file = path("env");
    // The APIv3 key is a secret: the env file is the owner's only.
    write_file(&env_file, &env.join("\n"), true)?;
    Ok(env_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_probabilities() {
        assert_eq!(rate("0.25"), Ok(0.25));
        assert_eq!(rate("1"), Ok(1.0));
        assert!(rate("1.5").is_err());
        assert!(rate("-0.1").is_err());
        assert!(rate("NaN").is_err());
        assert!(rate("half").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_state_dir_of_another_user_or_writable_by_others_is_refused() {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let me = meta.uid();
        assert_eq!(unsafe_state_dir(&meta, me), None);
        let other = unsafe_state_dir(&meta, me.wrapping_add(1)).unwrap();
        assert!(other.contains(&format!("owned by uid {me}")), "{other}");
        for mode in [0o775, 0o757, 0o777] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let reason = unsafe_state_dir(&meta, me).unwrap();
            assert!(reason.contains("writable"), "{mode:o}: {reason}");
        }
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let reason = unsafe_state_dir(&std::fs::symlink_metadata(&link).unwrap(), me).unwrap();
        assert!(reason.contains("symbolic link"), "{reason}");
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let reason = unsafe_state_dir(&std::fs::symlink_metadata(&file).unwrap(), me).unwrap();
        assert!(reason.contains("not a directory"), "{reason}");
        assert_eq!(current_uid().unwrap(), me, "tempdir is ours");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
