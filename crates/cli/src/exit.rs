//! Exit codes, and how each error becomes one.

use std::process::ExitCode;

use wechatpay_card_client::{Error, Untrusted};

/// Everything went well.
pub(crate) const OK: u8 = 0;
/// Anything else: the network, a timeout.
pub(crate) const OTHER: u8 = 1;
/// Invalid input or configuration; nothing was sent.
pub(crate) const USAGE: u8 = 2;
/// WeChat Pay answered with an error (for `bulk`: some line did not end ok).
pub(crate) const API: u8 = 3;
/// An answer failed verification: the request may have been applied.
pub(crate) const UNVERIFIED: u8 = 4;
/// Interrupted (Ctrl-C, SIGTERM) before the end: 128 + SIGINT, as shells report it.
pub(crate) const INTERRUPTED: u8 = 130;

/// The exit codes, as `--help` shows them.
pub(crate) const HELP: &str = "Exit status: 0 success; 2 invalid input or configuration (nothing sent); \
3 WeChat Pay answered an error; 4 an answer failed verification (the request may have been \
applied: read the card back with `get`); 1 anything else (network, timeout).";

/// The exit codes of a read (`get`, `list`), as `--help` shows them.
pub(crate) const HELP_READ: &str = "Exit status: 0 success; 2 invalid input or configuration (nothing sent); \
3 WeChat Pay answered an error; 4 an answer failed verification (a read changes nothing: run it \
again); 1 anything else (network, timeout).";

/// Why a command stopped, and with which exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    /// Invalid input or configuration: exit 2.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }

    /// The exit code and message of a client error.
    pub(crate) fn from_error(error: &Error) -> Self {
        let code = match error {
            Error::Validation(_) | Error::Encryption { .. } | Error::Config(_) => USAGE,
            Error::Api(_) => API,
            Error::Signature(_) | Error::InvalidResponse { .. } => UNVERIFIED,
            _ => OTHER,
        };
        Self {
            code,
            message: error.to_string(),
        }
    }

    /// Prints the message to stderr and gives the exit code.
    pub(crate) fn report(self) -> ExitCode {
        eprintln!("error: {}", printable(&self.message));
        ExitCode::from(self.code)
    }
}

/// A message as it may reach a terminal: its lines kept, every other control character (and
/// every bidirectional-formatting character) escaped. The client's errors already escape what
/// came from the network; this also covers what came from a file or a flag (a path, a value).
pub(crate) fn printable(message: &str) -> String {
    message
        .split('\n')
        .map(|line| Untrusted(line).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_keeps_lines_and_escapes_the_rest() {
        assert_eq!(
            printable("invalid:\n  - level: \u{1b}[2J\r"),
            "invalid:\n  - level: \\u{1b}[2J\\r"
        );
    }
}
