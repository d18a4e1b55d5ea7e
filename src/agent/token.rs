//! The shared secret an agent shows the controller to join it.

use std::fmt;
use std::path::Path;

use subtle::ConstantTimeEq as _;

use super::error::AgentError;

/// The shared secret. Compared in constant time, so that a client cannot
/// guess it byte by byte from how long the rejection takes; never printed.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// The token in `path`, without the surrounding whitespace (a file
    /// written by `echo` ends with a newline). An empty file is an error.
    pub fn from_file(path: &Path) -> Result<Token, AgentError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| AgentError::TokenFile { path: path.to_owned(), source })?;
        Token::new(text).map_err(|_| AgentError::EmptyToken { path: Some(path.to_owned()) })
    }

    /// A token from text, trimmed like [`Token::from_file`]; empty is an error.
    pub fn new(s: impl Into<String>) -> Result<Token, AgentError> {
        let s = s.into();
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(AgentError::EmptyToken { path: None });
        }
        Ok(Token(trimmed.to_owned()))
    }

    /// Whether `candidate` is this token, in time independent of where they differ.
    pub(crate) fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }

    /// The secret itself, for the agent's hello.
    pub(crate) fn reveal(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Token) -> bool {
        self.matches(&other.0)
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

    #[test]
    fn equal_tokens_match_and_different_ones_do_not() {
        let token = Token::new("s3cret").unwrap();
        assert_eq!(token, Token::new(" s3cret\n").unwrap());
        assert_ne!(token, Token::new("s3creT").unwrap());
        assert_ne!(token, Token::new("s3cret-longer").unwrap());
        assert!(token.matches("s3cret"));
        assert!(!token.matches(""));
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let shown = format!("{:?}", Token::new("s3cret").unwrap());
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn from_file_trims_and_names_the_file_in_errors() {
        let dir = std::env::temp_dir().join(format!("autoscale-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        std::fs::write(&good, "abc\n").unwrap();
        assert_eq!(Token::from_file(&good).unwrap(), Token::new("abc").unwrap());

        let empty = dir.join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let err = Token::from_file(&empty).unwrap_err().to_string();
        assert!(err.contains("is empty") && err.contains("empty"), "{err}");
        assert!(err.contains(&empty.display().to_string()), "{err}");

        let missing = dir.join("missing");
        let err = Token::from_file(&missing).unwrap_err().to_string();
        assert!(err.starts_with("cannot read token file") && err.contains(&missing.display().to_string()), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(matches!(Token::new(""), Err(AgentError::EmptyToken { path: None })));
    }
}
