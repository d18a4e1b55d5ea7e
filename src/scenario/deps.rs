//! Task ids and dependencies in a job's `tasks` list: `id` numbers an
//! entry's tasks (`id`, `id + 1`, … for `count` tasks) and `depends_on`
//! lists the ids they wait for, single (`3`) or as inclusive ranges
//! (`"5..10"`), as the service's `dependsOn` takes task ids and id ranges.
//!
//! A task may depend only on lower ids of its own job. The service lets a
//! client add tasks in any order, but a cycle would leave every task in
//! it waiting forever; requiring lower ids rules cycles out with a check
//! that costs nothing at run time.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Visitor};

use super::TaskEntry;

/// The ids `first..=last` of one job: one dependency, or a range of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdRange {
    /// The lowest id.
    pub first: u32,
    /// The highest id, included.
    pub last: u32,
}

impl fmt::Display for IdRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last { write!(f, "{}", self.first) } else { write!(f, "{}..{}", self.first, self.last) }
    }
}

/// Parses `"5..10"` (both ends included) or `"7"`.
fn parse_range(text: &str) -> Result<IdRange, String> {
    let number =
        |s: &str| s.trim().parse::<u32>().map_err(|_| format!("`{text}` is not a task id or a range like \"5..10\""));
    let range = match text.split_once("..") {
        Some((a, b)) => IdRange { first: number(a)?, last: number(b)? },
        None => {
            let id = number(text)?;
            IdRange { first: id, last: id }
        }
    };
    if range.first > range.last {
        return Err(format!("the range `{text}` is empty; write the lower id first"));
    }
    Ok(range)
}

impl<'de> Deserialize<'de> for IdRange {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IdRange;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a task id (3) or an inclusive id range (\"5..10\")")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IdRange, E> {
                let id =
                    u32::try_from(v).map_err(|_| E::custom(format!("{v} is not a task id (0 to {})", u32::MAX)))?;
                Ok(IdRange { first: id, last: id })
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IdRange, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdRange, E> {
                parse_range(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Checks a job's task list: ids unique, dependencies only on entries with
/// ids, on lower ids, and on ids that exist. Returns the key (relative to
/// the job) and the message of the first problem.
pub(crate) fn check(entries: &[TaskEntry]) -> Result<(), (String, String)> {
    let mut defined: Vec<(IdRange, usize)> = Vec::new();
    for (n, e) in entries.iter().enumerate() {
        let Some(first) = e.id else {
            if !e.depends_on.is_empty() {
                return Err((format!("tasks[{n}].depends_on"), "give the entry an `id` to use depends_on".into()));
            }
            continue;
        };
        let Some(last) = e.count.checked_sub(1).and_then(|c| first.checked_add(c)) else {
            return Err((format!("tasks[{n}].id"), format!("{first} + count {} passes the largest id", e.count)));
        };
        defined.push((IdRange { first, last }, n));
    }
    defined.sort_unstable();
    for pair in defined.windows(2) {
        let [(a, _), (b, n)] = pair else { continue };
        if b.first <= a.last {
            return Err((format!("tasks[{n}].id"), format!("ids {b} overlap ids {a} of another entry")));
        }
    }
    // Whether every id of `r` is some entry's: the defined ranges are
    // sorted and disjoint, so walk them from the one holding `r.first`.
    let covered = |r: IdRange| {
        let mut next = r.first;
        let start = defined.partition_point(|(d, _)| d.last < r.first);
        for (d, _) in &defined[start..] {
            if d.first > next {
                return false;
            }
            if d.last >= r.last {
                return true;
            }
            next = d.last + 1;
        }
        false
    };
    for (n, e) in entries.iter().enumerate() {
        let Some(own) = e.id else { continue };
        for (k, dep) in e.depends_on.iter().enumerate() {
            let key = format!("tasks[{n}].depends_on[{k}]");
            if dep.last >= own {
                return Err((key, format!("{dep} is not below the entry's id {own}; a task depends on lower ids")));
            }
            if !covered(*dep) {
                return Err((key, format!("{dep} names ids no entry of this job has")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_inclusive_and_refuse_nonsense() {
        assert_eq!(parse_range("5..10"), Ok(IdRange { first: 5, last: 10 }));
        assert_eq!(parse_range(" 7 "), Ok(IdRange { first: 7, last: 7 }));
        assert!(parse_range("10..5").is_err_and(|e| e.contains("empty")));
        assert!(parse_range("a..b").is_err());
        assert_eq!(IdRange { first: 2, last: 10 }.to_string(), "2..10");
    }
}
