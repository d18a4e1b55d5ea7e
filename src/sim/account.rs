//! The account as a component: the runs of its pools on one clock, and
//! the core quotas they share.
//!
//! Each pool is a [`Simulation`] of its own — its nodes, scheduler,
//! workload (its jobs only), recorder and autoscaler — since the service
//! schedules work in each pool independently. What they share is the
//! account's dedicated and low-priority core quotas: before a pool
//! handles an event, it is told the cores the other pools hold
//! (`Env::others_cores`), and a grow takes what the quota has left after
//! all of them; likewise the jobs and schedules active in the others
//! (`Env::others_active_jobs`), which a schedule's new job counts against
//! the active-job quota. Events come out in time order across pools; at the same
//! instant, the first pool in file order handles all of its events first,
//! then the next: so of two pools growing at the same instant, the
//! earlier in the file is served first, and the quota error is recorded
//! on the other.

use std::sync::Arc;

use super::agents::{AnyAgents, Simulated};
use super::priority::Priority;
use super::{Output, Progress, Recordings, Records, Simulation, run_to_end};
use crate::scenario::Scenario;
use crate::time::SimTime;

/// The runs of every pool of a scenario's account, on one clock.
#[derive(Debug)]
pub struct Account {
    /// One run per pool, in the scenario's order.
    runs: Vec<Simulation>,
    /// The account's core quotas: dedicated, low-priority.
    quota: [u64; 2],
    /// When the scenario ends.
    end: SimTime,
}

impl Account {
    /// Prepares every pool of `scenario` with its own seed, or `seed`
    /// when given (see [`Simulation::new`]).
    pub fn new(scenario: impl Into<Arc<Scenario>>, seed: Option<u64>) -> Account {
        let scenario: Arc<Scenario> = scenario.into();
        let runs = (0..scenario.pools.len())
            .map(|pool| Simulation::with_agents(Arc::clone(&scenario), pool, seed, AnyAgents::Simulated(Simulated)))
            .collect();
        let quota = [scenario.account.dedicated_cores, scenario.account.low_priority_cores];
        Account { runs, quota, end: SimTime(scenario.duration.as_millis()) }
    }

    /// Keeps what runs measured by their figures need
    /// ([`Recordings::measured`]): no task records, only their tally.
    pub fn measured(mut self) -> Account {
        self.runs = self.runs.into_iter().map(|r| r.send_records_to(Recordings::measured())).collect();
        self
    }

    /// Sends each pool's records where `to` says for that pool (given its
    /// id; see [`Simulation::send_records_to`]): `run --out` writes each
    /// pool's files as the run goes, `run` without it keeps only what the
    /// summary counts. The first error `to` returns stops it.
    pub fn send_records_to<E>(mut self, mut to: impl FnMut(&str) -> Result<Recordings, E>) -> Result<Account, E> {
        self.runs = self
            .runs
            .into_iter()
            .map(|run| {
                let recordings = to(&run.env.spec().id)?;
                Ok(run.send_records_to(recordings))
            })
            .collect::<Result<_, E>>()?;
        Ok(self)
    }

    /// Delivers the account's next event due by the end — the earliest of
    /// the pools' next ones, the first pool's at the same instant — after
    /// telling its pool the cores the others hold and the jobs active in
    /// them; false when there is none.
    pub fn step(&mut self) -> bool {
        let mut next: Option<(SimTime, usize)> = None;
        for (i, run) in self.runs.iter_mut().enumerate() {
            if let Some(t) = run.next_time()
                && next.is_none_or(|(first, _)| t < first)
            {
                next = Some((t, i));
            }
        }
        let Some((_, i)) = next else { return false };
        let (mut cores, mut active) = ([0; 2], 0);
        for run in &self.runs {
            let held = run.cores_held();
            cores = [cores[0] + held[0], cores[1] + held[1]];
            active += run.active_jobs();
        }
        let run = &mut self.runs[i];
        let held = run.cores_held();
        run.env.others_cores = [cores[0] - held[0], cores[1] - held[1]];
        run.env.others_active_jobs = active - run.active_jobs();
        run.step()
    }

    /// Runs to the end, calling `progress` about a thousand times along the
    /// way, and returns each pool's output, in the scenario's order.
    pub fn run(self, progress: &mut dyn FnMut(Progress)) -> Vec<Output> {
        self.run_with_records(progress).into_iter().map(|(output, _)| output).collect()
    }

    /// [`Account::run`], and where each pool's records went (see
    /// [`Simulation::finish_with_records`]).
    pub fn run_with_records(mut self, progress: &mut dyn FnMut(Progress)) -> Vec<(Output, Records)> {
        let end = self.end;
        run_to_end(&mut self, end, Account::step, Account::now, Account::events, progress);
        self.runs.into_iter().map(Simulation::finish_with_records).collect()
    }

    /// The latest instant any pool has reached.
    pub fn now(&self) -> SimTime {
        self.runs.iter().map(Simulation::now).max().unwrap_or(SimTime::ZERO)
    }

    /// Events delivered so far, over every pool.
    pub fn events(&self) -> u64 {
        self.runs.iter().map(Simulation::events).sum()
    }

    /// Each pool's own invariants (see [`Simulation::check_invariants`]),
    /// and the account's: its pools together hold no more cores of either
    /// priority than its quota.
    pub fn check_invariants(&self) -> Result<(), String> {
        for run in &self.runs {
            run.check_invariants().map_err(|e| format!("pool {}: {e}", run.env.spec().id))?;
        }
        for p in Priority::ALL {
            let held: u64 = self.runs.iter().map(|r| r.cores_held()[p as usize]).sum();
            if held > self.quota[p as usize] {
                let quota = self.quota[p as usize];
                return Err(format!("{held} {} cores held, over the account's quota of {quota}", p.name()));
            }
        }
        Ok(())
    }

    /// Closes every pool's books (see [`Simulation::finish`]) and returns
    /// their outputs, in the scenario's order.
    pub fn finish(self) -> Vec<Output> {
        self.runs.into_iter().map(Simulation::finish).collect()
    }
}
