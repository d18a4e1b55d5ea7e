//! Task dependencies at run time: which numbered tasks have finished, who
//! waits for whom, and how many dependencies each waiting task still has.
//!
//! A task with unmet dependencies is `waiting`: outside the ready queue,
//! so not in `$ActiveTasks`, as the service counts it. When a dependency
//! succeeds its waiters count down and join the queue at zero; when one
//! fails (or is itself blocked) its waiters are `blocked` for good, and so
//! are theirs. Only tasks the scenario numbered are tracked, so a workload
//! without ids pays one emptiness check per finished task.
//!
//! What is kept follows the work in flight: a numbered task leaves the
//! tracker when it finishes, is blocked, or its job ends while it is
//! queued; an ended job's ids go with it, since none of its tasks is
//! submitted again.

use std::collections::HashMap;

use crate::scenario::IdRange;

/// Where one id of one job stands.
#[derive(Debug, Clone)]
enum IdState {
    /// Not finished, or not submitted yet: these tasks wait for it (a task
    /// appears once per time it names the id).
    Pending(Vec<u32>),
    /// Finished with success: later dependents need not wait.
    Succeeded,
    /// Failed or blocked: later dependents are blocked at once.
    Failed,
}

/// What a newly submitted task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Its dependencies have all succeeded (or it has none): queue it.
    Ready,
    /// It waits for some.
    Waiting,
    /// One has already failed: it never runs.
    Blocked,
}

/// The dependency bookkeeping of every job.
#[derive(Debug, Clone, Default)]
pub struct Dependencies {
    /// By job, then id within the job.
    ids: HashMap<u32, HashMap<u32, IdState>>,
    /// The job and id of each numbered task not finished yet, by task number.
    numbered: HashMap<u32, (u32, u32)>,
    /// Unmet dependencies of each waiting task, by task number.
    remaining: HashMap<u32, u32>,
}

impl Dependencies {
    /// Tasks waiting for dependencies.
    pub fn waiting(&self) -> u32 {
        self.remaining.len() as u32
    }

    /// Whether a numbered task is still unfinished: if none is, a task
    /// that finishes has no dependents to release or block.
    pub fn tracks_any(&self) -> bool {
        !self.numbered.is_empty()
    }

    /// The numbered tasks not finished yet, in no order.
    pub fn numbered(&self) -> impl Iterator<Item = u32> + '_ {
        self.numbered.keys().copied()
    }

    /// The jobs whose ids are kept, in no order.
    pub fn jobs(&self) -> impl Iterator<Item = u32> + '_ {
        self.ids.keys().copied()
    }

    /// Whether task `task` waits for dependencies.
    pub fn is_waiting(&self, task: u32) -> bool {
        self.remaining.contains_key(&task)
    }

    /// Registers task `task` of `job`, numbered `id` within the job if the
    /// scenario numbered it, which depends on `deps`.
    pub fn submit(&mut self, task: u32, job: u32, id: Option<u32>, deps: &[IdRange]) -> Admission {
        if let Some(id) = id {
            self.numbered.insert(task, (job, id));
        }
        let mut unmet = 0u32;
        for r in deps {
            let ids = self.ids.entry(job).or_default();
            for i in r.first..=r.last {
                match ids.entry(i).or_insert_with(|| IdState::Pending(Vec::new())) {
                    IdState::Pending(waiters) => {
                        waiters.push(task);
                        unmet += 1;
                    }
                    IdState::Succeeded => {}
                    // Entries already pushed above are skipped later: the
                    // task is not in `remaining`.
                    IdState::Failed => return Admission::Blocked,
                }
            }
        }
        if unmet == 0 {
            Admission::Ready
        } else {
            self.remaining.insert(task, unmet);
            Admission::Waiting
        }
    }

    /// Task `task` finished for good (retries done). Fills `ready` with
    /// the tasks whose last dependency this was and `blocked` with those it
    /// blocks, directly or through blocked tasks.
    pub fn finished(&mut self, task: u32, succeeded: bool, ready: &mut Vec<u32>, blocked: &mut Vec<u32>) {
        if !self.tracks_any() {
            return;
        }
        let mut stack = vec![(task, succeeded)];
        while let Some((task, succeeded)) = stack.pop() {
            let Some((job, id)) = self.numbered.remove(&task) else { continue };
            let state = if succeeded { IdState::Succeeded } else { IdState::Failed };
            let Some(IdState::Pending(waiters)) = self.ids.entry(job).or_default().insert(id, state) else {
                continue;
            };
            for w in waiters {
                if succeeded {
                    let Some(left) = self.remaining.get_mut(&w) else { continue };
                    *left -= 1;
                    if *left == 0 {
                        self.remaining.remove(&w);
                        ready.push(w);
                    }
                } else if self.remaining.remove(&w).is_some() {
                    blocked.push(w);
                    stack.push((w, false));
                }
            }
        }
    }

    /// Task `task` leaves without finishing (its job ended while it was
    /// queued or waiting): it no longer waits, and no longer counts as
    /// unfinished; its dependents are blocked as by a failure.
    pub fn abandon(&mut self, task: u32, blocked: &mut Vec<u32>) {
        self.remaining.remove(&task);
        self.finished(task, false, &mut Vec::new(), blocked);
    }

    /// Job `job` ended, and with it every one of its tasks: nothing looks
    /// up its ids again.
    pub fn forget_job(&mut self, job: u32) {
        self.ids.remove(&job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u32, last: u32) -> IdRange {
        IdRange { first, last }
    }

    #[test]
    fn waiters_count_down_and_failures_block_transitively() {
        let mut d = Dependencies::default();
        assert_eq!(d.submit(0, 0, Some(1), &[]), Admission::Ready);
        assert_eq!(d.submit(1, 0, Some(2), &[range(1, 1)]), Admission::Waiting);
        assert_eq!(d.submit(2, 0, Some(3), &[range(1, 2)]), Admission::Waiting);
        assert_eq!(d.submit(3, 0, Some(4), &[range(3, 3)]), Admission::Waiting);
        assert_eq!(d.waiting(), 3);
        let (mut ready, mut blocked) = (Vec::new(), Vec::new());
        d.finished(0, true, &mut ready, &mut blocked);
        assert_eq!((ready.as_slice(), blocked.as_slice()), (&[1][..], &[][..]));
        d.finished(1, false, &mut ready, &mut blocked);
        assert_eq!((ready.as_slice(), blocked.as_slice()), (&[1][..], &[2, 3][..]));
        assert_eq!(d.waiting(), 0);
        assert_eq!(d.submit(4, 0, None, &[range(4, 4)]), Admission::Blocked, "4 was blocked");
        assert_eq!(d.submit(5, 1, None, &[range(4, 4)]), Admission::Waiting, "ids are per job");
    }

    #[test]
    fn tasks_abandoned_with_their_job_leave_nothing_behind() {
        let mut d = Dependencies::default();
        assert_eq!(d.submit(0, 0, Some(1), &[]), Admission::Ready);
        assert_eq!(d.submit(1, 0, Some(2), &[range(1, 1)]), Admission::Waiting);
        assert_eq!(d.submit(2, 1, Some(1), &[]), Admission::Ready);
        let mut blocked = Vec::new();
        d.abandon(0, &mut blocked);
        assert_eq!(blocked, [1], "queued, not waiting: its dependents are blocked all the same");
        d.abandon(1, &mut blocked);
        d.forget_job(0);
        assert_eq!((d.numbered().collect::<Vec<_>>(), d.jobs().collect::<Vec<_>>(), d.waiting()), (vec![2], vec![], 0));
        assert!(d.tracks_any(), "job 1's task still runs");
    }
}
