//! What an evaluation returns, in the service's form: the results string
//! (spec §8) and, when it failed, an error with code, message and values
//! (spec §9).

use std::fmt;
use std::rc::Rc;

use autoscale_runtime::format::format_double;
use autoscale_runtime::{DeallocationOption, RuntimeError, Value};

use super::ast::Span;
use super::builtins::{Metric, ServiceVar};
use super::context::PoolState;

/// The values an evaluation leaves behind, printed as the results string.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// `$TargetDedicatedNodes` as computed (not yet truncated).
    pub target_dedicated: f64,
    /// `$TargetLowPriorityNodes` as computed.
    pub target_low_priority: f64,
    /// `$NodeDeallocationOption`.
    pub deallocation: DeallocationOption,
    /// Every user variable assigned, with its last value, sorted by the
    /// byte order of the name as written.
    pub variables: Vec<(Rc<str>, Value)>,
}

impl Results {
    /// The results of an evaluation that assigned nothing.
    pub fn unassigned(pool: &PoolState) -> Results {
        Results {
            target_dedicated: pool.target_dedicated,
            target_low_priority: pool.target_low_priority,
            deallocation: DeallocationOption::default(),
            variables: Vec::new(),
        }
    }
}

/// The results string: `$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;...`.
impl fmt::Display for Results {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        out.push_str("$TargetDedicatedNodes=");
        Value::Double(self.target_dedicated).write_to(&mut out);
        out.push_str(";$TargetLowPriorityNodes=");
        Value::Double(self.target_low_priority).write_to(&mut out);
        out.push_str(";$NodeDeallocationOption=");
        out.push_str(self.deallocation.keyword());
        for (name, value) in &self.variables {
            out.push(';');
            out.push_str(name);
            out.push('=');
            value.write_to(&mut out);
        }
        f.write_str(&out)
    }
}

/// The service's error codes (spec §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The text does not parse.
    SyntaxError,
    /// Over 8192 bytes or 100 statements.
    TooLong,
    /// A run-time failure: undefined symbol, type error, bad argument, …
    EvaluationError,
    /// A `GetSample` with a percentage found too few samples.
    InsufficientSampleData,
}

impl ErrorCode {
    /// The code as the service returns it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::SyntaxError => "AutoScalingFormulaSyntaxError",
            ErrorCode::TooLong => "AutoScalingFormulaTooLong",
            ErrorCode::EvaluationError => "AutoScalingFormulaEvaluationError",
            ErrorCode::InsufficientSampleData => "InsufficientSampleData",
        }
    }

    /// The error's fixed message.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::SyntaxError => "The specified auto-scaling formula has a syntax error.",
            // (decision) the service's text for this code is not on record.
            ErrorCode::TooLong => "The specified auto-scaling formula is too long.",
            ErrorCode::EvaluationError => "The specified auto-scaling formula has evaluation error",
            ErrorCode::InsufficientSampleData => "Autoscale evaluation failed due to insufficient sample data",
        }
    }
}

/// Where in the formula an error is, 1-based, plus the byte span for carets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// The bytes the error points at.
    pub span: Span,
}

/// A failed evaluation: the service's error, and the results string as far
/// as the evaluation got.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    /// The error code.
    pub code: ErrorCode,
    /// What went wrong, e.g. `Undefined symbol: $x`.
    pub detail: String,
    /// Where, when the error belongs to a place in the formula.
    pub location: Option<Location>,
    /// What was assigned before the failure; the pool applies none of it.
    pub results: Results,
}

impl EvalError {
    /// The service's `message`.
    pub fn message(&self) -> &'static str {
        self.code.message()
    }

    /// The service's `values`: one `Message` of the form
    /// `Line L, Col C: <detail>`.
    pub fn values(&self) -> Vec<(String, String)> {
        let text = match self.location {
            Some(l) => format!("Line {}, Col {}: {}", l.line, l.column, self.detail),
            None => self.detail.clone(),
        };
        vec![("Message".to_owned(), text)]
    }
}

impl EvalError {
    /// The error as the service returns it.
    pub fn service_error(&self) -> ServiceError {
        ServiceError {
            code: self.code.as_str(),
            message: self.message(),
            values: self.values().into_iter().map(|(name, value)| NameValue { name, value }).collect(),
        }
    }
}

/// The service's error object, `{"code", "message", "values": [{"name", "value"}]}`,
/// as `eval --format json` prints it and `evaluations.jsonl` records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceError {
    /// E.g. `InsufficientSampleData`.
    pub code: &'static str,
    /// The code's fixed message.
    pub message: &'static str,
    /// Details; the service gives one `Message`.
    pub values: Vec<NameValue>,
}

/// One of a [`ServiceError`]'s values.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NameValue {
    /// E.g. `Message`.
    pub name: String,
    /// E.g. `Line 1, Col 1: Undefined symbol: $x`.
    pub value: String,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message())?;
        for (name, value) in self.values() {
            write!(f, "\n  {name}: {value}")?;
        }
        Ok(())
    }
}

/// A successful evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The values left behind.
    pub results: Results,
    /// Whether `stop()` ended the evaluation early.
    pub stopped: bool,
}

impl Outcome {
    /// The dedicated and low-priority node counts the service applies:
    /// the targets truncated toward zero.
    pub fn applied_targets(&self) -> (u64, u64) {
        (self.results.target_dedicated as u64, self.results.target_low_priority as u64)
    }
}

/// The user variables in results-string order (byte order of the name as
/// written), computed once per formula rather than sorted per evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VariableOrder(Vec<(usize, Rc<str>)>);

impl VariableOrder {
    /// The order of `names`, indexed like the program's variables.
    pub fn new(names: &[String]) -> VariableOrder {
        let mut order: Vec<(usize, Rc<str>)> = names.iter().map(|n| Rc::from(n.as_str())).enumerate().collect();
        order.sort_by(|a, b| a.1.cmp(&b.1));
        VariableOrder(order)
    }

    /// Each user variable's index and name, in this order.
    pub fn iter(&self) -> impl Iterator<Item = &(usize, Rc<str>)> {
        self.0.iter()
    }

    /// The value `user(i)` of each user variable i, in this order, leaving
    /// out those never assigned (`None`).
    pub fn values(&self, mut user: impl FnMut(usize) -> Option<Value>) -> Vec<(Rc<str>, Value)> {
        // Sized once: every variable is usually assigned.
        let mut variables = Vec::with_capacity(self.0.len());
        for (i, name) in &self.0 {
            if let Some(value) = user(*i) {
                variables.push((name.clone(), value));
            }
        }
        variables
    }
}

/// Tracks what an evaluation assigns to the service variables, the way the
/// service reads and reports them, and builds the results. Both engines
/// record through this, so the alias rules live in one place; each keeps
/// its user variables its own way and hands them to [`Recorder::conclude`]
/// in the [`VariableOrder`].
#[derive(Debug, Clone)]
pub struct Recorder {
    /// `$TargetDedicatedNodes`, `$TargetDedicated`, `$TargetLowPriorityNodes`,
    /// `$TargetLowPriority`: current value and the last assignment's span.
    targets: [(f64, Option<Span>); 4],
    deallocation: DeallocationOption,
}

fn target_slot(var: ServiceVar) -> Option<usize> {
    match var {
        ServiceVar::TargetDedicated => Some(0),
        ServiceVar::TargetDedicatedAlias => Some(1),
        ServiceVar::TargetLowPriority => Some(2),
        ServiceVar::TargetLowPriorityAlias => Some(3),
        _ => None,
    }
}

impl Recorder {
    /// Starts an evaluation: every target reads as the pool's current
    /// target, the option as `requeue`.
    pub fn new(pool: &PoolState) -> Recorder {
        let (d, l) = (pool.target_dedicated, pool.target_low_priority);
        Recorder { targets: [(d, None), (d, None), (l, None), (l, None)], deallocation: DeallocationOption::default() }
    }

    /// The value a target variable or its alias reads as now.
    pub fn target(&self, var: ServiceVar) -> Option<f64> {
        target_slot(var).map(|i| self.targets[i].0)
    }

    /// The deallocation option as assigned so far.
    pub fn deallocation(&self) -> DeallocationOption {
        self.deallocation
    }

    /// Assigns a target variable or alias at `span`.
    pub fn set_target(&mut self, var: ServiceVar, value: f64, span: Span) {
        if let Some(i) = target_slot(var) {
            self.targets[i] = (value, Some(span));
        }
    }

    /// Assigns `$NodeDeallocationOption`.
    pub fn set_deallocation(&mut self, option: DeallocationOption) {
        self.deallocation = option;
    }

    /// Ends an evaluation that ended with `status`: the results, with the
    /// user variables `variables` (in results order: see
    /// [`VariableOrder::values`]), and the status turned into a fault when it
    /// succeeded with a target the pool cannot apply.
    pub fn conclude(self, variables: Vec<(Rc<str>, Value)>, status: Result<bool, Fault>) -> Run {
        // The full name wins when assigned; otherwise the alias's value
        // (which is the pool's target when neither was assigned).
        let pick = |full: (f64, Option<Span>), alias: (f64, Option<Span>)| if full.1.is_some() { full } else { alias };
        let dedicated = pick(self.targets[0], self.targets[1]);
        let low = pick(self.targets[2], self.targets[3]);
        let status = match status {
            Ok(stopped) => invalid_target("$TargetDedicatedNodes", dedicated)
                .or_else(|| invalid_target("$TargetLowPriorityNodes", low))
                .map_or(Ok(stopped), Err),
            fault => fault,
        };
        let results = Results {
            target_dedicated: dedicated.0,
            target_low_priority: low.0,
            deallocation: self.deallocation,
            variables,
        };
        (results, status)
    }
}

/// The fault of a target the pool cannot apply (negative or not finite),
/// at the span that assigned it; `None` for a valid one.
#[inline]
fn invalid_target(name: &str, (value, span): (f64, Option<Span>)) -> Option<Fault> {
    if value.is_finite() && value >= 0.0 { None } else { Some(target_fault(name, value, span)) }
}

/// Out of line: a rare path that formats.
#[cold]
fn target_fault(name: &str, value: f64, span: Option<Span>) -> Fault {
    Fault {
        code: ErrorCode::EvaluationError,
        span: span.unwrap_or_default(),
        detail: format!("{name} must be a finite number at least 0, not {}", Value::Double(value)),
    }
}

/// An evaluation failure as an engine reports it: the byte span rather than
/// line and column, which the caller computes from the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// The service's code.
    pub code: ErrorCode,
    /// Where.
    pub span: Span,
    /// What went wrong.
    pub detail: String,
}

impl Fault {
    /// The fault for a built-in's `error` at `span`. A sample shortfall
    /// (`sample` gives the metric and the call's `(`) is the service's
    /// `InsufficientSampleData`, reported at the `(`.
    pub fn from_runtime(error: RuntimeError, span: Span, sample: Option<(Metric, Span)>) -> Fault {
        match (error, sample) {
            (RuntimeError::InsufficientSamples { wanted, received }, Some((metric, paren))) => Fault {
                code: ErrorCode::InsufficientSampleData,
                span: paren,
                detail: format!(
                    "Insufficient data from data set: ${} wanted {}%, received {}%",
                    metric.name(),
                    format_double(wanted),
                    format_double(received)
                ),
            },
            (error, _) => Fault { code: ErrorCode::EvaluationError, span, detail: error.to_string() },
        }
    }
}

/// How an engine's run ended: normally (`Ok(stopped)`) or with a fault;
/// the results are there either way.
pub type Run = (Results, Result<bool, Fault>);
