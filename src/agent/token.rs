//! The shared secret, and the challenge–response that proves knowing it
//! without sending it (see [`super::protocol`]).

use std::fmt;
use std::path::Path;

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::error::AgentError;

/// The shortest token accepted, in bytes (after trimming): shorter ones
/// could be guessed offline from one recorded proof.
pub const MIN_TOKEN_BYTES: usize = 16;
/// The size of a handshake nonce, in bytes (sent as 64 hex digits).
pub const NONCE_BYTES: usize = 32;

/// Which side a proof is made by: part of what is MACed, so that a proof
/// made by one side can never be replayed as the other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The agent proves itself to the controller.
    Agent,
    /// The controller proves itself to the agent.
    Controller,
}

impl Role {
    fn label(self) -> &'static [u8] {
        match self {
            Role::Agent => b"autoscale-sim protocol 3: agent proof",
            Role::Controller => b"autoscale-sim protocol 3: controller proof",
        }
    }
}

/// A fresh random nonce from the operating system's seeded generator, as 64 lowercase hex digits.
pub fn nonce() -> String {
    let mut bytes = [0u8; NONCE_BYTES];
    rand::fill(&mut bytes);
    hex(&bytes)
}

/// Whether `text` is a nonce: exactly [`NONCE_BYTES`] bytes in hex.
pub fn is_nonce(text: &str) -> bool {
    unhex(text).is_some_and(|bytes| bytes.len() == NONCE_BYTES)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// The shared secret. Never sent: each side proves it knows it with
/// [`Token::proof`]; never printed.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// The token in `path`, without the surrounding whitespace (a file
    /// written by `echo` ends with a newline). An empty file, or one
    /// shorter than [`MIN_TOKEN_BYTES`], is an error naming the file.
    pub fn from_file(path: &Path) -> Result<Token, AgentError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| AgentError::TokenFile { path: path.to_owned(), source })?;
        Token::new(text).map_err(|e| match e {
            AgentError::ShortToken { len, min, .. } => AgentError::ShortToken { path: Some(path.to_owned()), len, min },
            _ => AgentError::EmptyToken { path: Some(path.to_owned()) },
        })
    }

    /// A token from text, trimmed like [`Token::from_file`]; empty or
    /// shorter than [`MIN_TOKEN_BYTES`] is an error.
    pub fn new(s: impl Into<String>) -> Result<Token, AgentError> {
        let s = s.into();
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(AgentError::EmptyToken { path: None });
        }
        if trimmed.len() < MIN_TOKEN_BYTES {
            return Err(AgentError::ShortToken { path: None, len: trimmed.len(), min: MIN_TOKEN_BYTES });
        }
        Ok(Token(trimmed.to_owned()))
    }

    /// The proof that `role` knows this token, for the handshake whose
    /// agent and controller nonces are given (hex): HMAC-SHA256 keyed with
    /// the token over the role's label, a zero byte and both nonces, in hex.
    /// `None` when a nonce is not [`NONCE_BYTES`] bytes of hex.
    pub fn proof(&self, role: Role, agent_nonce: &str, controller_nonce: &str) -> Option<String> {
        self.mac(role, agent_nonce, controller_nonce).map(|mac| hex(&mac))
    }

    /// Whether `proof` is [`Token::proof`] for these nonces, compared in constant time.
    pub(crate) fn verify(&self, role: Role, agent_nonce: &str, controller_nonce: &str, proof: &str) -> bool {
        match (self.mac(role, agent_nonce, controller_nonce), unhex(proof)) {
            (Some(expected), Some(given)) => expected.ct_eq(&given).into(),
            _ => false,
        }
    }

    fn mac(&self, role: Role, agent_nonce: &str, controller_nonce: &str) -> Option<Vec<u8>> {
        let (agent, controller) = (unhex(agent_nonce)?, unhex(controller_nonce)?);
        if agent.len() != NONCE_BYTES || controller.len() != NONCE_BYTES {
            return None;
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.as_bytes()).ok()?;
        mac.update(role.label());
        mac.update(&[0]);
        mac.update(&agent);
        mac.update(&controller);
        Some(mac.finalize().into_bytes().to_vec())
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Token) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Token {}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cret-s3cret-s3cret";

    #[test]
    fn equal_tokens_match_and_different_ones_do_not() {
        let token = Token::new(SECRET).unwrap();
        assert_eq!(token, Token::new(format!(" {SECRET}\n")).unwrap());
        assert_ne!(token, Token::new("s3cret-s3cret-s3creT").unwrap());
        assert_ne!(token, Token::new(format!("{SECRET}-longer")).unwrap());
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let shown = format!("{:?}", Token::new(SECRET).unwrap());
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn short_tokens_are_refused() {
        assert!(matches!(Token::new("x"), Err(AgentError::ShortToken { len: 1, .. })));
        assert!(Token::new("0123456789abcdef").is_ok());
        assert!(Token::new("0123456789abcde").is_err());
    }

    #[test]
    fn proofs_depend_on_the_token_the_role_and_both_nonces() {
        let token = Token::new(SECRET).unwrap();
        let (a, c) = (nonce(), nonce());
        assert!(is_nonce(&a) && a != c);
        let proof = token.proof(Role::Agent, &a, &c).unwrap();
        assert_eq!(proof.len(), 64);
        assert!(token.verify(Role::Agent, &a, &c, &proof));
        assert!(!token.verify(Role::Controller, &a, &c, &proof), "reflected");
        assert!(!token.verify(Role::Agent, &c, &a, &proof), "nonces swapped");
        assert!(!token.verify(Role::Agent, &a, &nonce(), &proof), "another nonce");
        let other = Token::new("another-token-of-length").unwrap();
        assert!(!other.verify(Role::Agent, &a, &c, &proof), "another token");
        assert!(!token.verify(Role::Agent, &a, &c, "zz"));
        assert!(token.proof(Role::Agent, "abcd", &c).is_none());
        assert!(!is_nonce("xyz") && !is_nonce(&"ab".repeat(31)) && !is_nonce("é"));
    }

    #[test]
    fn from_file_trims_and_names_the_file_in_errors() {
        let dir = std::env::temp_dir().join(format!("autoscale-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        std::fs::write(&good, format!("{SECRET}\n")).unwrap();
        assert_eq!(Token::from_file(&good).unwrap(), Token::new(SECRET).unwrap());

        let empty = dir.join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let err = Token::from_file(&empty).unwrap_err().to_string();
        assert!(err.contains("is empty") && err.contains("empty"), "{err}");
        assert!(err.contains(&empty.display().to_string()), "{err}");

        let short = dir.join("short");
        std::fs::write(&short, "abc\n").unwrap();
        let err = Token::from_file(&short).unwrap_err().to_string();
        assert!(err.contains(&short.display().to_string()) && err.contains("3 bytes") && err.contains("16"), "{err}");

        let missing = dir.join("missing");
        let err = Token::from_file(&missing).unwrap_err().to_string();
        assert!(err.starts_with("cannot read token file") && err.contains(&missing.display().to_string()), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(matches!(Token::new(""), Err(AgentError::EmptyToken { path: None })));
    }
}
