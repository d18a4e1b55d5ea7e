//! What evaluation needs from the compiler besides the code: the failure
//! sites, the string constants, and which kind of value each statement
//! leaves in each user variable.

use std::rc::Rc;

use autoscale_runtime::abi::SlotKind;

use crate::formula::ast::Span;
use crate::formula::builtins::Metric;
use crate::formula::diag::Diagnostic;

/// What a failure site stands for, to turn a runtime failure back into the
/// service's error.
#[derive(Debug, Clone)]
pub(super) enum Site {
    /// An expression or assignment.
    Expr(Span),
    /// A sample method call: a shortfall is reported at its `(`.
    Sample { span: Span, metric: Metric, paren: Span },
    /// An error the checker found, raised when reached.
    Static(Box<Diagnostic>),
}

/// What evaluation needs from the compiler besides the code.
#[derive(Debug, Default)]
pub(super) struct Tables {
    /// Failure sites by number, each with the statement it is in.
    pub sites: Vec<(Site, u32)>,
    /// String constants by handle.
    pub strings: Vec<Rc<str>>,
    /// Per user variable, the statements that assign it, in order, with
    /// the kind of value each stores.
    pub assignments: Vec<Vec<(u32, SlotKind)>>,
}

impl Tables {
    /// The kind of value user variable `variable` holds once the first
    /// `reached` statements have run: that of the last of them to assign
    /// it (`None` if none did). Statements run in order, so this is known
    /// without storing a tag at run time.
    pub fn kind(&self, variable: usize, reached: u32) -> Option<SlotKind> {
        self.assignments
            .get(variable)
            .and_then(|a| a.iter().rev().find(|(statement, _)| *statement < reached))
            .map(|&(_, kind)| kind)
    }
}
