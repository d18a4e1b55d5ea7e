//! A task's own constraints — its wall-clock limit, its retry count and
//! how long its data is retained — which a `tasks` entry, a generator or
//! a trace row may set, each overriding its job's.

use crate::time::SimDuration;

/// Constraints a task sets for itself; each one it leaves out is its job's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskConstraints {
    /// How long each run may take, from its start; then the service ends
    /// it and it completes as failed (`TaskEnded`), without a retry.
    pub max_wall_clock_time: Option<SimDuration>,
    /// Retries of a failed run (−1 = unlimited), instead of the job's.
    pub max_task_retry_count: Option<i32>,
    /// How long its data stays on its node once it ends (`retaineddata`),
    /// instead of the job's.
    pub retention: Option<SimDuration>,
}

impl TaskConstraints {
    /// None: the job's constraints apply.
    pub const EMPTY: TaskConstraints =
        TaskConstraints { max_wall_clock_time: None, max_task_retry_count: None, retention: None };

    /// Whether it sets nothing: the job's constraints apply.
    pub fn is_empty(&self) -> bool {
        *self == TaskConstraints::EMPTY
    }

    /// The key (as in the file) and the fix of the first constraint out of
    /// range, if any.
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.max_wall_clock_time == Some(SimDuration::ZERO) {
            return Err((
                "max_wall_clock_time",
                "a limit of 0s ends every run as it starts; give a time above 0s".into(),
            ));
        }
        if let Some(n) = self.max_task_retry_count
            && n < -1
        {
            return Err((
                "max_task_retry_count",
                format!("{n} is out of range; give -1 (unlimited) or a count at least 0"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_out_of_range_name_their_key() {
        let zero = TaskConstraints { max_wall_clock_time: Some(SimDuration::ZERO), ..TaskConstraints::default() };
        assert_eq!(zero.check().unwrap_err().0, "max_wall_clock_time");
        let retries = TaskConstraints { max_task_retry_count: Some(-2), ..TaskConstraints::default() };
        assert_eq!(
            retries.check().unwrap_err(),
            ("max_task_retry_count", "-2 is out of range; give -1 (unlimited) or a count at least 0".to_owned())
        );
        let fine = TaskConstraints { max_task_retry_count: Some(-1), ..TaskConstraints::default() };
        assert!(fine.check().is_ok() && !fine.is_empty() && TaskConstraints::default().is_empty());
    }
}
