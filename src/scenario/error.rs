//! Why a scenario is refused, or a formula for it: the errors callers see,
//! and [`Check`], which words a refused value the same way everywhere.

/// Why [`Scenario::replace_formula`](super::Scenario::replace_formula)
/// refused a formula; each caller words the message for its own command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplaceFormulaError {
    /// The pool has fixed targets: there is no formula to replace.
    #[error("the pool has fixed targets; give it a [pool.autoscale] table")]
    FixedTargets,
    /// The formula does not parse (the syntax error's message).
    #[error("the formula does not compile: {0}")]
    DoesNotCompile(String),
    /// The formula has checker errors (the first one's message).
    #[error("the formula has errors ({0}); a simulation needs a valid one")]
    HasErrors(String),
}

/// Why a `--formula` argument names no pool of the scenario
/// ([`Scenario::formula_target`](super::Scenario::formula_target)).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormulaTargetError {
    /// A plain `FILE` with several pools.
    #[error("`{arg}` is ambiguous: the scenario has several pools ({pools}); write POOL=FILE")]
    Ambiguous {
        /// The argument.
        arg: String,
        /// The scenario's pool ids.
        pools: String,
    },
    /// `POOL=FILE` naming no pool of several.
    #[error("`{id}` is not a pool of the scenario; its pools are {pools}")]
    UnknownPool {
        /// The id given.
        id: String,
        /// The scenario's pool ids.
        pools: String,
    },
}

/// A scenario file toml or serde refused: `t.toml:31:1:
/// jobs[1].generate[0].rate_per_hr: unknown key `rate_per_hr`; did you
/// mean `rate_per_hour`?`, then that line with the refused text underlined.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}:{line}:{column}: {}{message}\n{excerpt}", key_prefix(key))]
pub struct Refusal {
    /// The scenario file.
    pub path: String,
    /// The refused key's line, from 1.
    pub line: usize,
    /// Its column, from 1, in characters.
    pub column: usize,
    /// The key path, e.g. `jobs[1].generate[0].rate_per_hr`; empty for a
    /// syntax error.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// The line, with the refused text underlined.
    pub excerpt: String,
}

/// Why a scenario cannot be run. Every variant names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// The scenario file could not be read, or holds more than
    /// [`MAX_SCENARIO_BYTES`](super::MAX_SCENARIO_BYTES): `cannot read
    /// x.toml: No such file`. (A formula file or a trace that cannot be
    /// read is [`Invalid`](ScenarioError::Invalid) at the key naming it.)
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// Not TOML, an unknown key, or a value of the wrong type, at the
    /// refused key's own line, in the user's words (see [`Refusal`]).
    #[error("{0}")]
    Toml(Box<Refusal>),
    /// A formula file given where a scenario was expected: `run
    /// x.formula`. Formulas run inside a scenario's pool.
    #[error(
        "{path} is a formula, not a scenario: a scenario (a .toml file such as simulations/bursty-day.toml) names \
         its formula in [pool.autoscale] formula_file; `autoscale-sim check {path}` checks the formula alone"
    )]
    NotAScenario {
        /// The formula file.
        path: String,
    },
    /// Well-formed, but a value is out of range or keys conflict:
    /// `scenario.toml:24: pool.autoscale.interval: 2m is below the minimum 5m`.
    #[error("{path}{}: {key}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The scenario file.
        path: String,
        /// The key's line, from 1, where the file has the key (a default
        /// value has none).
        line: Option<usize>,
        /// The key path, e.g. `jobs[1].generate[0].rate_per_hour`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The formula does not compile or has errors the checker found; the
    /// diagnostics rendered as `autoscale-sim check` shows them.
    #[error("{path}: the autoscale formula has errors:\n{rendered}")]
    Formula {
        /// Where the formula is: its file, or the scenario's key.
        path: String,
        /// The rendered diagnostics.
        rendered: String,
    },
    /// A row of a CSV trace is invalid: `tasks.csv: line 3: duration: ...`
    /// (from [`trace`](super::trace)'s readers; a scenario wraps it in
    /// [`Invalid`](ScenarioError::Invalid) at the key naming the trace).
    #[error("{path}: line {line}: {message}")]
    Trace {
        /// The trace file.
        path: String,
        /// Its line, from 1.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

/// `key: `, or nothing for a refusal at no key.
fn key_prefix(key: &str) -> String {
    if key.is_empty() { String::new() } else { format!("{key}: ") }
}

/// Builds validation errors for one file: every refused value is
/// reported as `file: key: message`, the key's full path from the file's
/// root, so that the user can find it.
pub(super) struct Check<'a> {
    /// The file, as errors show it.
    path: &'a str,
    /// The tables the keys checked are in, e.g. `jobs[1].generate[0].`;
    /// empty at the root.
    prefix: String,
}

impl<'a> Check<'a> {
    /// Checks the keys of the file `path`, as errors show it.
    pub(super) fn new(path: &'a str) -> Check<'a> {
        Check { path, prefix: String::new() }
    }

    /// Checks the keys of `table`, e.g. `jobs[1]`, within the current one.
    pub(super) fn within(&self, table: &str) -> Check<'a> {
        Check { path: self.path, prefix: format!("{}{table}.", self.prefix) }
    }

    /// The full path of `key` in the current table, e.g. `pools[1].autoscale.formula`.
    pub(super) fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Refuses the value at `key`, saying what is wrong and how to fix it.
    pub(super) fn fail<T>(&self, key: impl Into<String>, message: impl Into<String>) -> Result<T, ScenarioError> {
        let key = self.key(&key.into());
        Err(ScenarioError::Invalid { path: self.path.to_owned(), line: None, key, message: message.into() })
    }

    /// Refuses the file `key` names with the error reading it gave, so that
    /// the message says which scenario and which key pointed at it:
    /// `scenario.toml: jobs[0].trace: cannot read tasks.csv: No such file…`.
    pub(super) fn file_error<T>(&self, key: impl Into<String>, error: ScenarioError) -> Result<T, ScenarioError> {
        self.fail(key, error.to_string())
    }
}
