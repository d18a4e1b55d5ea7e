//! Job schedules (`[[schedules]]`): a job created every period between
//! two bounds, each one written with the keys of a `[[jobs]]` table and
//! built by the same checks (`job::build`). The occurrences are expanded
//! here, once, into ordinary jobs created later than the start
//! ([`Origin::Schedule`]), so that the simulator runs them as any other
//! job; whether the active-job quota lets each one in is decided when it
//! comes, by the jobs active then.

use std::path::Path;

use super::error::Check;
use super::file::FileSchedule;
use super::job::{self, Job, Origin};
use super::{MAX_OCCURRENCES, MIN_RECURRENCE, Pool, ScenarioError};
use crate::time::SimDuration;

/// A job schedule: when its jobs are created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Its id; its jobs are `ID:job-N`, N from 1, as the service names
    /// the jobs of a schedule.
    pub id: String,
    /// The time between two jobs.
    pub every: SimDuration,
    /// The first job's creation, from the start.
    pub from: SimDuration,
    /// No job is created after this (the end of the scenario by default).
    pub until: Option<SimDuration>,
    /// The index of the pool its jobs run in (in `Scenario::pools`).
    pub pool: usize,
}

impl Schedule {
    /// The id of occurrence `n` (from 1).
    pub fn job_id(&self, n: usize) -> String {
        format!("{}:job-{n}", self.id)
    }
}

/// Checks every schedule and appends its occurrences to `jobs`, schedule
/// by schedule, each in time order; `duration` is the scenario's.
pub(super) fn build_all(
    check: &Check<'_>,
    file: Vec<FileSchedule>,
    duration: SimDuration,
    base: &Path,
    pools: &[Pool],
    notes: &mut Vec<String>,
    jobs: &mut Vec<Job>,
) -> Result<Vec<Schedule>, ScenarioError> {
    let mut schedules: Vec<Schedule> = Vec::with_capacity(file.len());
    let mut occurrences = 0;
    for (k, s) in file.into_iter().enumerate() {
        let check = check.within(&format!("schedules[{k}]"));
        if let Some(first) = schedules.iter().position(|other| other.id == s.id) {
            return check.fail("id", format!("`{}` is already the id of schedules[{first}]; give each its own", s.id));
        }
        if s.id.is_empty() || s.id.contains(':') {
            return check.fail("id", "give a non-empty id without `:`; its jobs are named `ID:job-N`");
        }
        let prefix = format!("{}:", s.id);
        if let Some(i) = jobs.iter().position(|j| j.id.starts_with(&prefix)) {
            return check.fail("id", format!("jobs[{i}] has an id of this schedule's jobs, `{}`", jobs[i].id));
        }
        if s.every < MIN_RECURRENCE {
            return check
                .fail("every", format!("{} is too short; the service's shortest period is 1m", s.every.written()));
        }
        let from = s.from.unwrap_or(SimDuration::ZERO);
        if let Some(until) = s.until
            && until <= from
        {
            return check.fail("until", format!("{} is not after from ({})", until.written(), from.written()));
        }
        let template = check.within("job");
        if s.job.id.is_some() {
            return template.fail("id", format!("a schedule names its jobs `{}:job-N`; remove this id", s.id));
        }
        if s.job.manager.is_none() {
            return template.fail(
                "manager",
                "a scheduled job needs a job manager task, which adds its tasks and whose end ends the job; add \
                 [schedules.job.manager]",
            );
        }
        let template = job::build(&template, s.job, format!("{}:job-N", s.id), base, pools, notes)?;
        let last = s.until.unwrap_or(duration);
        let schedule = Schedule { id: s.id, every: s.every, from, until: s.until, pool: template.pool };
        let mut at = from;
        let mut n = 0;
        // A job created at the very end would run nothing.
        while at <= last && at < duration {
            n += 1;
            occurrences += 1;
            if occurrences > MAX_OCCURRENCES {
                return check.fail(
                    "every",
                    format!(
                        "the schedules create more than {MAX_OCCURRENCES} jobs over {}; lengthen the period or \
                         bound it with from and until",
                        duration.written()
                    ),
                );
            }
            let origin = Origin::Schedule { schedule: k as u32, at };
            jobs.push(Job { id: schedule.job_id(n), origin, ..template.clone() });
            at += schedule.every;
        }
        schedules.push(schedule);
    }
    Ok(schedules)
}
