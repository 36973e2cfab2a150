//! [`SandboxError`]: why a sandbox could not start.

use std::net::SocketAddr;
use std::path::PathBuf;

use thiserror::Error;
use wechatpay_signing::{CryptoError, KeyError};

/// A sandbox could not start: a misconfiguration (named) or the system refused (the address).
///
/// Every check happens in [`SandboxBuilder::start`](crate::SandboxBuilder::start), before a
/// socket is bound, so a sandbox that starts has no configuration error left to find.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The listening address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// A key, certificate or identifier given to the builder could not be loaded.
    #[error("invalid {what}")]
    Key {
        /// Which one, e.g. "merchant public key".
        what: &'static str,
        /// Why.
        source: KeyError,
    },
    /// A key could not be generated or exported.
    #[error("cannot generate the {what}")]
    KeyGeneration {
        /// Which one, e.g. "merchant key".
        what: &'static str,
        /// Why.
        source: CryptoError,
    },
    /// Options that contradict each other, or a value that cannot be right.
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    /// The cards file could not be read.
    #[error("cannot read the cards file {path}")]
    CardsFile {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The cards file is not a JSON array of user cards.
    #[error("the cards file {path} is not a JSON array of user cards")]
    CardsJson {
        /// The file.
        path: PathBuf,
        /// What the parser said (a path and a reason; never a sensitive value).
        source: serde_json::Error,
    },
    /// The cards (from a file or given) contradict each other or cannot be served.
    #[error("invalid cards: {0}")]
    Cards(String),
    /// A fault rate outside 0.0..=1.0.
    #[error("invalid faults: {0}")]
    Faults(String),
    /// The request schema bundled with the models did not compile (a bug, not a configuration).
    #[error("the request schema does not compile: {0}")]
    Schema(String),
}
