//! The random streams: one seeded ChaCha8 stream per concern of the
//! model, so that a change in one concern leaves every other one's draws
//! as they were.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What a random stream is used for. Each concern draws from its own
/// stream, so a scenario change that consumes more numbers in one concern
/// (say, turning preemption on) leaves every other concern's numbers —
/// arrivals, durations, allocation times — exactly as they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concern {
    /// Node allocation times.
    Allocation,
    /// Node boot times.
    Boot,
    /// Node removal times.
    Removal,
    /// Low-priority preemptions: when, and which nodes for a trace.
    Preemption,
    /// How long a preempted node stays away.
    Recovery,
    /// Which metric samples are dropped.
    Metrics,
    /// The seed each evaluation gives the formula's `rand()`.
    Formula,
    /// Task arrivals of workload source `n`.
    Arrivals(u32),
    /// Task durations of workload source `n`.
    Durations(u32),
    /// Task failures of job `n`.
    Failures(u32),
    /// Start task durations and failures.
    StartTask,
    /// Reboot and reimage durations.
    NodeActions,
    /// Job preparation task durations.
    Preparation,
    /// Job manager and job release task runs.
    JobTasks,
    /// Download times: packages, resource files, container images.
    Downloads,
}

impl Concern {
    /// The stream number: fixed forever per concern, since changing one
    /// would change every run's output.
    fn stream(self) -> u64 {
        const SOURCES: u64 = 1 << 32;
        match self {
            Concern::Allocation => 1,
            Concern::Boot => 2,
            Concern::Removal => 3,
            Concern::Preemption => 4,
            Concern::Recovery => 5,
            Concern::Metrics => 6,
            Concern::Formula => 7,
            Concern::StartTask => 8,
            Concern::NodeActions => 9,
            Concern::Preparation => 10,
            Concern::JobTasks => 11,
            Concern::Downloads => 12,
            Concern::Arrivals(n) => SOURCES + u64::from(n),
            Concern::Durations(n) => 2 * SOURCES + u64::from(n),
            Concern::Failures(n) => 3 * SOURCES + u64::from(n),
        }
    }
}

/// The random stream for `concern` under the scenario seed `seed`: the
/// same ChaCha8 key for every concern, and the concern as ChaCha's stream
/// number, which gives independent sequences by construction.
pub fn rng(seed: u64, concern: Concern) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(concern.stream());
    rng
}

/// The random stream for `concern` of the account's pool number `pool`
/// (a concern of the pool's own: its nodes, metrics, formula and job
/// tasks): the first pool's streams are [`rng`]'s, so that a one-pool
/// scenario draws what it always has, and each other pool's are its own
/// (stream numbers past every source's, `pool << 40` on).
pub fn pool_rng(seed: u64, pool: usize, concern: Concern) -> ChaCha8Rng {
    let mut rng = rng(seed, concern);
    rng.set_stream(concern.stream() + ((pool as u64) << 40));
    rng
}

/// The streams of node lives and task outcomes, which the `Env` carries
/// (the sources, the recorder and the autoscaler keep their own).
#[derive(Debug, Clone)]
pub struct Streams {
    pub(crate) allocation: ChaCha8Rng,
    pub(crate) boot: ChaCha8Rng,
    pub(crate) removal: ChaCha8Rng,
    pub(crate) preemption: ChaCha8Rng,
    pub(crate) recovery: ChaCha8Rng,
    pub(crate) failures: Vec<ChaCha8Rng>,
    pub(crate) start_task: ChaCha8Rng,
    pub(crate) node_actions: ChaCha8Rng,
    pub(crate) preparation: ChaCha8Rng,
    pub(crate) job_tasks: ChaCha8Rng,
    pub(crate) downloads: ChaCha8Rng,
}

impl Streams {
    /// Every stream of the run of pool number `pool` with `seed` and
    /// `jobs` jobs in the account (a job's failures are its own, whatever
    /// its pool).
    pub fn new(seed: u64, pool: usize, jobs: u32) -> Streams {
        let own = |concern| pool_rng(seed, pool, concern);
        Streams {
            allocation: own(Concern::Allocation),
            boot: own(Concern::Boot),
            removal: own(Concern::Removal),
            preemption: own(Concern::Preemption),
            recovery: own(Concern::Recovery),
            start_task: own(Concern::StartTask),
            node_actions: own(Concern::NodeActions),
            preparation: own(Concern::Preparation),
            job_tasks: own(Concern::JobTasks),
            downloads: own(Concern::Downloads),
            failures: (0..jobs).map(|j| rng(seed, Concern::Failures(j))).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let draw = |seed, c| -> Vec<u64> {
            let mut r = rng(seed, c);
            (0..4).map(|_| r.random()).collect()
        };
        assert_eq!(draw(7, Concern::Arrivals(0)), draw(7, Concern::Arrivals(0)));
        assert_ne!(draw(7, Concern::Arrivals(0)), draw(7, Concern::Arrivals(1)));
        assert_ne!(draw(7, Concern::Arrivals(0)), draw(8, Concern::Arrivals(0)));
        assert_ne!(draw(7, Concern::Allocation), draw(7, Concern::Boot));
    }

    #[test]
    fn the_first_pool_draws_the_one_pool_streams_and_the_others_their_own() {
        let draw = |pool, c| -> Vec<u64> {
            let mut r = pool_rng(7, pool, c);
            (0..4).map(|_| r.random()).collect()
        };
        let one: Vec<u64> = {
            let mut r = rng(7, Concern::Boot);
            (0..4).map(|_| r.random()).collect()
        };
        assert_eq!(draw(0, Concern::Boot), one);
        assert_ne!(draw(1, Concern::Boot), one);
        assert_ne!(draw(1, Concern::Boot), draw(2, Concern::Boot));
        assert_ne!(draw(1, Concern::Boot), draw(1, Concern::Allocation));
    }
}
