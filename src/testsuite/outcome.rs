//! How a case ended: [`Outcome`], with the [`Mismatch`]es of a failure.

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The expectation's key path, e.g. `cases.busy.expect.target_dedicated`.
    pub key: String,
    /// Its line in the suite file, from 1.
    pub line: Option<usize>,
    /// What the suite expects, as written for people.
    pub expected: String,
    /// What happened.
    pub actual: String,
}

/// How one case ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every expectation held.
    Passed,
    /// Some expectations did not hold.
    Failed(Vec<Mismatch>),
    /// The case could not run at all (e.g. its scenario became invalid
    /// after loading); counts as a failure.
    Error(String),
    /// Failed, then `--bless` rewrote its expectations; counts as passed.
    Blessed,
}

impl Outcome {
    /// Whether the case counts as passed.
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed | Outcome::Blessed)
    }
}
