//! What a node fetches before its work can start, and when: the pool's
//! container image and application packages once per disk (before the
//! start task, so that the node stays `starting` meanwhile); a job's or a
//! task's packages once per disk each, before the first run that needs
//! them; resource files before every run that lists them. A reimage or a
//! preemption gives the node a new disk, which fetches everything again;
//! a reboot keeps it. How long each download takes is the agents' to say
//! (`Agents::download`): real agents fetch nothing.

use std::sync::Arc;

use super::Env;
use super::agents::Agents;
use super::node::Node;
use crate::scenario::downloads::total_mib;
use crate::scenario::{Job, Package, Scenario, TaskFiles};
use crate::time::SimDuration;

/// What `node` fetches before its start task: the container image and
/// the pool's packages, unless its disk already has them.
pub(super) fn node_setup(node: &mut Node, env: &mut Env) -> SimDuration {
    let pool = &env.scenario.pools[env.pool];
    if std::mem::replace(&mut node.fetched, true) || (pool.container.is_none() && pool.application_packages.is_empty())
    {
        return SimDuration::ZERO;
    }
    let mut took = SimDuration::ZERO;
    if let Some(container) = &pool.container {
        took += env.agents.download(container.image_size_mib, container.pull_time.as_ref(), pool, &mut env.rngs);
    }
    let packages = pool.application_packages.iter().map(|p| p.size_mib).sum();
    took += env.agents.download(packages, None, pool, &mut env.rngs);
    took
}

/// `node` gets a new disk: whatever it fetched is gone.
pub(super) fn wipe(node: &mut Node) {
    node.fetched = false;
    node.packages.clear();
}

/// What a run fetches first: the `packages` `node` lacks (kept there from
/// now on) and `resource_mib` of resource files.
pub(super) fn before_run<'a>(
    node: &mut Node,
    packages: impl IntoIterator<Item = &'a Package>,
    resource_mib: u64,
    env: &mut Env,
) -> SimDuration {
    let mut mib = resource_mib;
    for package in packages {
        if !node.packages.contains(package) {
            mib += package.size_mib;
            node.packages.push(package.clone());
        }
    }
    resource_files(mib, env)
}

/// How long fetching `mib` MiB takes on a node of the pool: what a start,
/// preparation or release task's run fetches first (its resource files),
/// and what [`before_run`] adds up.
pub(super) fn resource_files(mib: u64, env: &mut Env) -> SimDuration {
    env.agents.download(mib, None, &env.scenario.pools[env.pool], &mut env.rngs)
}

/// Whether any job has packages or a manager with resource files: if
/// not, only tasks with files of their own fetch anything.
pub(super) fn jobs_fetch(scenario: &Scenario) -> bool {
    let manager_files = |j: &Job| j.manager.as_ref().is_some_and(|m| !m.resource_files.is_empty());
    scenario.jobs.iter().any(|j| !j.application_packages.is_empty() || manager_files(j))
}

/// What a run of job `job`'s task fetches first, on `node`: the job's
/// packages and the task's own (`own`), and its resource files (the
/// `manager`'s, for the job manager). Cold: the scheduler calls it only
/// when some job or task fetches, and keeps its hot path small.
#[cold]
pub(super) fn before_task(
    node: &mut Node,
    job: u32,
    manager: bool,
    own: Option<&TaskFiles>,
    env: &mut Env,
) -> SimDuration {
    let j = &env.scenario.jobs[job as usize];
    let manager_mib = match &j.manager {
        Some(m) if manager => total_mib(&m.resource_files),
        _ => 0,
    };
    if j.application_packages.is_empty() && own.is_none() && manager_mib == 0 {
        return SimDuration::ZERO;
    }
    let scenario = Arc::clone(&env.scenario);
    let packages = &scenario.jobs[job as usize].application_packages;
    let own_packages = own.map_or(&[][..], |f| f.packages.as_slice());
    let resource_mib = manager_mib + own.map_or(0, |f| f.resource_mib);
    before_run(node, packages.iter().chain(own_packages), resource_mib, env)
}
