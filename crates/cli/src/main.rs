//! `wechatpay-card`: the command line of the wechatpay-card project. One module per subcommand.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

mod sandbox_cmd;

/// WeChat Pay APIv3 member cards (修改用户会员卡信息, update a user's member card) from the
/// command line.
///
/// Logs go to stderr, filtered by RUST_LOG (default: warn).
#[derive(Debug, Parser)]
#[command(name = "wechatpay-card", version, propagate_version = true)]
enum Cli {
    Sandbox(sandbox_cmd::SandboxArgs),
}

fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Prints an error and its causes to stderr.
fn report(error: &dyn std::error::Error) {
    eprintln!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli {
        Cli::Sandbox(args) => sandbox_cmd::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}
