//! `wechatpay-card`: the command line of the wechatpay-card project. One module per subcommand.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

mod bulk;
mod confirm;
mod connection;
mod demo;
mod exit;
mod get;
mod import_by_openid;
mod import_by_phone;
mod invalidate;
mod journal;
mod list;
mod listen;
mod plumbing;
mod progress;
mod read_back;
mod sandbox_cmd;
mod update;

/// mimalloc rather than the system's allocator: a `bulk` line allocates and frees a few hundred
/// small blocks (the request, its JSON, headers, the answer), and with mimalloc the process
/// executes 12% fewer instructions per line outside aws-lc (`scripts/count-instructions.sh`:
/// 270,957 against 237,851 per line).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// WeChat Pay APIv3 user member cards from the command line: import members, read, list,
/// update, confirm and invalidate their cards, one at a time or in bulk.
///
/// Logs go to stderr, filtered by RUST_LOG (default: warn).
#[derive(Debug, Parser)]
#[command(
    name = "wechatpay-card",
    version,
    propagate_version = true,
    after_help = "Start with `wechatpay-card demo` (no configuration needed). The commands that talk to WeChat Pay read the WECHATPAY_* variables `wechatpay-card sandbox --state-dir DIR` writes to DIR/env."
)]
enum Cli {
    Get(get::GetArgs),
    List(list::ListArgs),
    Update(update::UpdateArgs),
    Invalidate(invalidate::InvalidateArgs),
    Confirm(confirm::ConfirmArgs),
    ImportByOpenid(import_by_openid::ImportByOpenidArgs),
    ImportByPhone(import_by_phone::ImportByPhoneArgs),
    Bulk(bulk::BulkArgs),
    Sandbox(sandbox_cmd::SandboxArgs),
    Demo(demo::DemoArgs),
    Listen(listen::ListenArgs),
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Prints an error and its causes to stderr, each once (see [`exit::causes`]).
fn report(error: &dyn std::error::Error) {
    let causes = exit::causes(error);
    let mut levels = causes.iter();
    if let Some(message) = levels.next() {
        eprintln!("error: {}", exit::printable(message));
    }
    for cause in levels {
        eprintln!("  caused by: {}", exit::printable(cause));
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    // `bulk` runs on one thread: one core signs thousands of requests a second, far above
    // WeChat Pay's rate limits, and a single-threaded runtime spares the cross-thread wake-ups
    // of a multi-threaded one (measured: a few percent of the CPU per line at concurrency 8,
    // more at 1; README, "Performance"). The others, the sandbox and the demo among them, serve
    // many connections at once.
    let runtime = match cli {
        Cli::Bulk(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            report(&error);
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    match cli {
        Cli::Get(args) => get::run(args).await,
        Cli::List(args) => list::run(args).await,
        Cli::Update(args) => update::run(args).await,
        Cli::Invalidate(args) => invalidate::run(args).await,
        Cli::Confirm(args) => confirm::run(args).await,
        Cli::ImportByOpenid(args) => import_by_openid::run(args).await,
        Cli::ImportByPhone(args) => import_by_phone::run(args).await,
        Cli::Bulk(args) => bulk::run(args).await,
        Cli::Demo(args) => demo::run(args).await,
        Cli::Listen(args) => listen::run(args).await,
        Cli::Sandbox(args) => match sandbox_cmd::run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                report(&error);
                ExitCode::FAILURE
            }
        },
    }
}
