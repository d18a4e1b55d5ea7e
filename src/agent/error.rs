//! [`AgentError`]: the one error type of agents and of the controller's setup.

use std::path::PathBuf;

/// What can stop an agent, or keep a controller from being set up.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The token file is missing or unreadable (`--token-file nope`).
    #[error("cannot read token file `{}`: {source}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The token is empty or only whitespace (an empty token file, `Token::new("")`).
    #[error("{}", match path { Some(p) => format!("token file `{}` is empty", p.display()), None => "the token is empty".to_owned() })]
    EmptyToken {
        /// The file it came from, if any.
        path: Option<PathBuf>,
    },
    /// The token is too short to be safe (`echo x > agent.token`).
    #[error(
        "{} holds a token of {len} bytes; at least {min} are needed (for example: `head -c 32 /dev/urandom | base64 > agent.token`)",
        match path { Some(p) => format!("token file `{}`", p.display()), None => "the token".to_owned() }
    )]
    ShortToken {
        /// The file it came from, if any.
        path: Option<PathBuf>,
        /// Its length in bytes.
        len: usize,
        /// The shortest length accepted.
        min: usize,
    },
    /// A TLS certificate or key file that cannot be used (`--tls-cert` of a missing file, a key of another certificate).
    #[error("cannot use `{}` for TLS: {why}", path.display())]
    Tls {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The controller did not prove it knows the token: an impostor, or one
    /// started with another token file. The agent ran nothing it sent.
    #[error("the controller at {controller} is not trusted: {why}")]
    Untrusted {
        /// The address given.
        controller: String,
        /// What it failed to prove.
        why: String,
    },
    /// Every attempt to reach the controller failed (nothing listens at `--controller`).
    #[error("cannot reach the controller at {controller} after {attempts} attempts: {last}")]
    Unreachable {
        /// The address given.
        controller: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        last: String,
    },
    /// The controller refused this agent (wrong token, other protocol version); retrying would not help.
    #[error("the controller rejected this agent: {0}")]
    Rejected(String),
    /// The node root could not be created or an OS facility failed (`--root` on a read-only disk).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}
