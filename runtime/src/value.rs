//! Values of the formula language and how the results string prints them.

use std::fmt;
use std::rc::Rc;

use crate::format::{write_double, write_vector};
use crate::{Interval, Timestamp};

/// What happens to the tasks of a node the pool removes
/// (`$NodeDeallocationOption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeallocationOption {
    /// Stop running tasks and put them back in the queue (the default).
    #[default]
    Requeue,
    /// Stop running tasks; they are not run again.
    Terminate,
    /// Let running tasks finish, schedule no new ones.
    TaskCompletion,
    /// Let running tasks finish and wait out their data retention time.
    RetainedData,
}

impl DeallocationOption {
    /// Every option with its keyword.
    pub const ALL: [(&'static str, DeallocationOption); 4] = [
        ("requeue", DeallocationOption::Requeue),
        ("terminate", DeallocationOption::Terminate),
        ("taskcompletion", DeallocationOption::TaskCompletion),
        ("retaineddata", DeallocationOption::RetainedData),
    ];

    /// The option whose keyword is `word`, ignoring ASCII case
    /// (**decision**: the service documents lowercase only).
    pub fn from_keyword(word: &str) -> Option<DeallocationOption> {
        Self::ALL.iter().find(|(k, _)| k.eq_ignore_ascii_case(word)).map(|&(_, o)| o)
    }

    /// The lowercase keyword, as the results string prints it.
    pub fn keyword(self) -> &'static str {
        Self::ALL.iter().find(|(_, o)| *o == self).map_or("requeue", |(k, _)| k)
    }
}

impl fmt::Display for DeallocationOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A value a formula computes.
///
/// Vectors and strings are reference-counted: reading a variable clones the
/// handle, not the data.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `double` (booleans are 1 and 0).
    Double(f64),
    /// `doubleVec`.
    Vector(Rc<[f64]>),
    /// `string`.
    Str(Rc<str>),
    /// `timestamp`.
    Timestamp(Timestamp),
    /// `timeinterval`.
    Interval(Interval),
    /// A deallocation option keyword (only `$NodeDeallocationOption` holds one).
    Dealloc(DeallocationOption),
}

impl Value {
    /// Appends the value in the results-string format.
    pub fn write_to(&self, out: &mut String) {
        match self {
            Value::Double(x) => write_double(out, *x),
            Value::Vector(v) => write_vector(out, v),
            Value::Str(s) => out.push_str(s),
            Value::Timestamp(t) => out.push_str(&t.to_string()),
            Value::Interval(i) => out.push_str(&i.to_string()),
            Value::Dealloc(o) => out.push_str(o.keyword()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_in_results_format() {
        assert_eq!(Value::Double(96.666666).to_string(), "96.6667");
        assert_eq!(Value::Vector(Rc::from([1.0, 0.5])).to_string(), "[1,0.5]");
        assert_eq!(Value::Str(Rc::from("a b")).to_string(), "a b");
        assert_eq!(Value::Dealloc(DeallocationOption::TaskCompletion).to_string(), "taskcompletion");
        assert_eq!(DeallocationOption::from_keyword("TaskCompletion"), Some(DeallocationOption::TaskCompletion));
        assert_eq!(DeallocationOption::from_keyword("requeued"), None);
    }
}
