//! Exit codes, and how each error becomes one.

use std::process::ExitCode;

use wechatpay_card_client::{Error, ErrorKind, Untrusted};

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

    /// The exit code and message of a client error: the error and its causes, each once.
    pub(crate) fn from_error(error: &Error) -> Self {
        let code = match error.kind() {
            ErrorKind::Validation | ErrorKind::Encryption | ErrorKind::Config => USAGE,
            ErrorKind::Api => API,
            ErrorKind::Signature | ErrorKind::InvalidResponse => UNVERIFIED,
            _ => OTHER,
        };
        Self {
            code,
            message: with_sources(error),
        }
    }

    /// Prints the message to stderr and gives the exit code.
    pub(crate) fn report(self) -> ExitCode {
        eprintln!("error: {}", printable(&self.message));
        ExitCode::from(self.code)
    }
}

/// The texts of an error and of its sources, outermost first, each said once: a cause whose
/// text the level above it already shows (`cannot read x: No such file` over `No such file`,
/// as errors built with `#[error("…: {source}")]` do) is left out, its own causes still
/// walked. Levels with no text are left out too.
pub(crate) fn causes(error: &dyn std::error::Error) -> Vec<String> {
    let mut levels = vec![error.to_string()];
    let mut above = levels[0].clone();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !text.is_empty() && !above.contains(&text) {
            levels.push(text.clone());
        }
        above = text;
        source = cause.source();
    }
    levels
}

/// An error and its sources on one line, `a: b: c`, each said once (see [`causes`]).
pub(crate) fn with_sources(error: &dyn std::error::Error) -> String {
    causes(error).join(": ")
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

    /// An error whose text repeats its source's, as `#[error("…: {source}")]` makes them.
    #[derive(Debug)]
    struct Repeats(std::io::Error);

    impl std::fmt::Display for Repeats {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "cannot read the cards file /nonexistent.json: {}",
                self.0
            )
        }
    }

    impl std::error::Error for Repeats {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// An error that says only its own level, its cause below it.
    #[derive(Debug)]
    struct Wraps(Repeats);

    impl std::fmt::Display for Wraps {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the sandbox could not start")
        }
    }

    impl std::error::Error for Wraps {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn not_found() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory")
    }

    #[test]
    fn a_cause_the_message_already_shows_is_printed_once() {
        let error = Repeats(not_found());
        let message = with_sources(&error);
        assert_eq!(message.matches("No such file").count(), 1, "{message}");
        assert_eq!(
            message,
            "cannot read the cards file /nonexistent.json: No such file or directory"
        );
        // Deeper in the chain too, and a level that does not repeat is kept.
        let error = Wraps(Repeats(not_found()));
        assert_eq!(
            causes(&error),
            [
                "the sandbox could not start",
                "cannot read the cards file /nonexistent.json: No such file or directory"
            ]
        );
    }

    #[test]
    fn a_client_error_shows_its_causes() {
        let error = wechatpay_card_client::ClientBuilder::new()
            .private_key_file("/nonexistent/apiclient_key.pem")
            .build()
            .unwrap_err();
        let failure = Failure::from_error(&error);
        assert_eq!(failure.code, USAGE);
        // The client's own text, then the configuration error below it that names the missing
        // settings: both, once.
        assert!(
            failure.message.starts_with(&error.to_string()),
            "{}",
            failure.message
        );
        assert!(
            failure.message.contains("WECHATPAY_MCHID"),
            "{}",
            failure.message
        );
        assert_eq!(failure.message.matches(&error.to_string()).count(), 1);
    }

    #[test]
    fn printable_keeps_lines_and_escapes_the_rest() {
        assert_eq!(
            printable("invalid:\n  - level: \u{1b}[2J\r"),
            "invalid:\n  - level: \\u{1b}[2J\\r"
        );
    }
}
