//! Task arrivals: each source of a job (a list, a trace, a generator) keeps
//! only its next arrival in the event queue, so a month of ten million
//! tasks never sits in the queue at once.

use std::sync::Arc;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::queue::Queue;
use super::scheduler::{NodeSide, Scheduler};
use super::streams::{Concern, rng};
use super::{Env, Event};

use crate::scenario::downloads::total_mib;
use crate::scenario::{
    Dist, Generator, IdRange, Job, Origin, Package, Scenario, Source as SourceSpec, TaskConstraints, TaskEntry,
    TaskFiles, TraceError, TraceTask, task_trace::TraceTasks,
};
use crate::time::{SimDuration, SimTime};

/// Tasks submitted at one instant.
#[derive(Debug)]
pub struct Batch<'a> {
    /// How many.
    pub count: u32,
    /// Slots each.
    pub slots: u32,
    /// Their durations: one fixed value, or drawn per task.
    pub duration: Durations<'a>,
    /// The first one's id in its job, when the scenario numbered them.
    pub id: Option<u32>,
    /// The ids they wait for.
    pub depends_on: &'a [IdRange],
    /// Nodes each runs on at once.
    pub instances: u32,
    /// The constraints each sets for itself.
    pub constraints: TaskConstraints,
    /// How each run ends, when the trace logged it.
    pub exit_code: Option<i32>,
    /// Packages each task needs besides its job's.
    pub packages: &'a [Package],
    /// MiB of resource files each run fetches.
    pub resource_mib: u64,
}

impl Batch<'_> {
    /// No task: what a source past its end yields.
    const EMPTY: Batch<'static> = Batch {
        count: 0,
        slots: 1,
        duration: Durations::Fixed(SimDuration::ZERO),
        id: None,
        depends_on: &[],
        instances: 1,
        constraints: TaskConstraints::EMPTY,
        exit_code: None,
        packages: &[],
        resource_mib: 0,
    };
}

/// Where a batch's durations come from.
#[derive(Debug)]
pub enum Durations<'a> {
    /// The trace's value.
    Fixed(SimDuration),
    /// Drawn from a distribution with the source's duration stream.
    Drawn(&'a Dist, &'a mut ChaCha8Rng),
}

impl Durations<'_> {
    /// The next task's duration.
    pub fn draw(&mut self) -> SimDuration {
        match self {
            Durations::Fixed(d) => *d,
            Durations::Drawn(dist, rng) => dist.sample(*rng),
        }
    }
}

#[derive(Debug)]
enum Kind {
    List {
        entries: Arc<[TaskEntry]>,
        next: usize,
    },
    /// A trace, read as the run goes: the row due next, if any, and why
    /// the rows stopped early.
    Trace {
        rows: TraceTasks,
        next: Option<TraceTask>,
        failed: Option<TraceError>,
    },
    Generate {
        generator: Generator,
        until: SimTime,
    },
}

/// One arrival process of one job.
#[derive(Debug)]
pub struct Source {
    /// The job its tasks belong to.
    pub job: u32,
    /// When its job was created: the times of its list, trace and
    /// generator count from there.
    created: SimTime,
    kind: Kind,
    arrivals: ChaCha8Rng,
    durations: ChaCha8Rng,
}

/// The workload as a component: every admitted job's sources, each
/// keeping only its next arrival queued, and the jobs the schedules
/// create.
#[derive(Debug, Default)]
pub struct Workload {
    /// The sources, by number (the number of their random streams).
    sources: Vec<Source>,
    /// Sources with arrivals still to come.
    pub(crate) live: u32,
    /// Jobs and job schedules created so far and admitted: what the
    /// active-job quota counts, with the ended jobs taken off.
    admitted: u32,
    /// The jobs a schedule created past the active-job quota, in order.
    pub(crate) refused: Vec<u32>,
    /// The number of each job's first source's random streams, by job.
    streams: Vec<u32>,
    /// The run's seed and end, for the sources of jobs created later.
    seed: u64,
    end: SimTime,
    /// Why a trace stopped being read (it changed since the scenario was
    /// loaded): the run stops there.
    pub(crate) failed: Option<TraceError>,
    /// The sources reading a trace from its file, which their job's end
    /// closes; and the jobs ended when they were last looked at.
    reading: Vec<u32>,
    ended_seen: u32,
}

impl Workload {
    /// Every admitted job's sources, each with its first arrival queued
    /// now, after the job's time limit (a job-level event queued here so
    /// that same-instant events keep the order they have always had).
    /// Jobs past the active-job quota are refused when created, at the
    /// start: no arrivals, no manager, no time limit. Then each admitted
    /// schedule's jobs are queued for their creation.
    ///
    /// Only the jobs of pool number `pool` are its own; a source's random
    /// streams are numbered among every job's sources, in the scenario's
    /// order, so that the same job draws the same tasks whichever pools
    /// the account has.
    pub(crate) fn new(scenario: &Scenario, pool: usize, seed: u64, end: SimTime, q: &mut Queue<Event>) -> Workload {
        let (jobs, schedules) = (scenario.admitted_jobs(), scenario.admitted_schedules());
        let own_jobs = scenario.jobs[..jobs].iter().filter(|job| job.pool == pool).count();
        let own_schedules = scenario.schedules[..schedules].iter().filter(|s| s.pool == pool).count();
        let mut workload = Workload { admitted: (own_jobs + own_schedules) as u32, seed, end, ..Workload::default() };
        let mut streams = 0;
        for (j, job) in scenario.jobs.iter().enumerate() {
            workload.streams.push(streams);
            streams += job.sources.len() as u32;
            if job.pool != pool {
                continue;
            }
            match job.origin {
                Origin::File if j < jobs => workload.start_job(j as u32, job, q),
                Origin::Schedule { schedule, at } if (schedule as usize) < schedules => {
                    q.schedule(SimTime(at.as_millis()), Event::JobCreated(j as u32));
                }
                _ => {}
            }
        }
        workload
    }

    /// Job `j` is created now: its time limit and its sources' first
    /// arrivals are queued.
    fn start_job(&mut self, j: u32, job: &Job, q: &mut Queue<Event>) {
        let created = SimTime(job.created().as_millis());
        if let Some(limit) = job.max_wall_clock_time {
            q.schedule(created + limit, Event::JobTimeout(j));
        }
        for (k, spec) in job.sources.iter().enumerate() {
            let number = self.sources.len() as u32;
            let streams = self.streams[j as usize] + k as u32;
            let mut source = Source::new(streams, j, spec, self.seed, self.end, created);
            if let Some(t) = source.first() {
                q.schedule(t, Event::Arrival(number));
                self.live += 1;
            }
            if source.reads_a_file() {
                self.reading.push(number);
            }
            if let Some(error) = source.take_error() {
                self.failed.get_or_insert(error);
            }
            self.sources.push(source);
        }
    }

    /// A schedule's job `j` is due now: the service creates it if the
    /// jobs and schedules active now leave room under the active-job
    /// quota — this pool's and the other pools' (`Env::others_active_jobs`)
    /// — and refuses it otherwise. A created job's manager is queued and
    /// placed.
    pub(crate) fn on_job_created<P: NodeSide>(&mut self, j: u32, sched: &mut Scheduler, pool: &mut P, env: &mut Env) {
        let scenario = Arc::clone(&env.scenario);
        let active = self.active_jobs(sched) + env.others_active_jobs;
        if active >= scenario.account.active_jobs {
            self.refused.push(j);
            return;
        }
        self.admitted += 1;
        self.start_job(j, &scenario.jobs[j as usize], &mut env.q);
        sched.submit_manager(j, env);
        sched.schedule(pool, env);
    }

    /// Jobs have ended since this was last called: their sources still
    /// reading a trace close its file now, rather than at their next
    /// arrival, which may be days away (a schedule's jobs could otherwise
    /// hold thousands of files open). Cheap when no job ended.
    #[inline]
    pub(crate) fn after_event(&mut self, sched: &Scheduler) {
        if sched.ended_jobs() == self.ended_seen {
            return;
        }
        self.ended_seen = sched.ended_jobs();
        let sources = &mut self.sources;
        self.reading.retain(|&s| {
            let source = &mut sources[s as usize];
            if sched.job_ended(source.job) {
                source.stop();
            }
            source.reads_a_file()
        });
    }

    /// This pool's jobs and job schedules active now: those admitted,
    /// less the jobs that ended.
    pub(crate) fn active_jobs(&self, sched: &Scheduler) -> u32 {
        self.admitted - sched.ended_jobs()
    }

    /// Tasks of source `s` arrive: they are submitted, the source's next
    /// arrival is queued, and the scheduler places what it can. An ended
    /// job takes no more tasks, and its sources stop.
    pub(crate) fn on_arrival<P: NodeSide>(&mut self, s: u32, sched: &mut Scheduler, pool: &mut P, env: &mut Env) {
        let now = env.q.now();
        let Some(source) = self.sources.get_mut(s as usize) else { return };
        let job = source.job;
        if sched.job_ended(job) {
            // Its trace's file, if any, closed when the job ended (`after_event`).
            self.live -= 1;
            return;
        }
        let (mut batch, next) = source.fire(now);
        for k in 0..batch.count {
            let duration = batch.duration.draw();
            let id = batch.id.map(|first| first + k);
            sched.submit(job, now, duration, [batch.slots, batch.instances], id, batch.depends_on);
            sched.constrain(batch.constraints);
            if let Some(code) = batch.exit_code {
                sched.log_exit_code(code);
            }
            if !batch.packages.is_empty() || batch.resource_mib > 0 {
                sched.attach_files(TaskFiles { packages: batch.packages.to_vec(), resource_mib: batch.resource_mib });
            }
        }
        match next {
            Some(t) => _ = env.q.schedule(t, Event::Arrival(s)),
            None => self.live -= 1,
        }
        if let Some(error) = self.sources[s as usize].take_error() {
            self.failed.get_or_insert(error);
        }
        sched.schedule(pool, env);
    }
}

/// Exponential gap of mean `mean` ms, by inversion.
fn exponential(rng: &mut ChaCha8Rng, mean_ms: f64) -> SimDuration {
    let u: f64 = rng.random();
    SimDuration::from_millis_f64((-(1.0 - u).ln() * mean_ms).min(u64::MAX as f64))
}

/// A trace's next row; none at its end, or when the file changed since
/// the scenario was loaded (why, kept in `failed`).
fn read_next(rows: &mut TraceTasks, failed: &mut Option<TraceError>) -> Option<TraceTask> {
    match rows.next()? {
        Ok(row) => Some(row),
        Err(error) => {
            failed.get_or_insert(error);
            None
        }
    }
}

impl Source {
    /// No more arrivals from a trace: its job has ended, and its file closes.
    fn stop(&mut self) {
        if let Kind::Trace { rows, next, .. } = &mut self.kind {
            (*rows, *next) = (TraceTasks::Done(None), None);
        }
    }

    /// Whether it holds a trace's file open.
    fn reads_a_file(&self) -> bool {
        matches!(&self.kind, Kind::Trace { rows: TraceTasks::File { .. }, .. })
    }

    /// Why its trace stopped being read early, once.
    fn take_error(&mut self) -> Option<TraceError> {
        match &mut self.kind {
            Kind::Trace { failed, .. } => failed.take(),
            _ => None,
        }
    }

    /// The source numbered `number` (its streams' id) of a job created
    /// at `created`, ending at `end`.
    pub fn new(number: u32, job: u32, spec: &SourceSpec, seed: u64, end: SimTime, created: SimTime) -> Source {
        let kind = match spec {
            SourceSpec::List(entries) => Kind::List { entries: Arc::clone(entries), next: 0 },
            SourceSpec::Trace(trace) => Kind::Trace { rows: trace.tasks(), next: None, failed: None },
            SourceSpec::Generate(generator) => {
                let until = match generator {
                    Generator::Poisson { until, .. }
                    | Generator::Periodic { until, .. }
                    | Generator::Bursty { until, .. } => until.map_or(end, |u| (created + u).min(end)),
                };
                Kind::Generate { generator: generator.clone(), until }
            }
        };
        Source {
            job,
            created,
            kind,
            arrivals: rng(seed, Concern::Arrivals(number)),
            durations: rng(seed, Concern::Durations(number)),
        }
    }

    /// When the first tasks arrive.
    pub fn first(&mut self) -> Option<SimTime> {
        let created = self.created;
        match &mut self.kind {
            Kind::List { entries, .. } => entries.first().map(|e| created + e.at),
            Kind::Trace { rows, next, failed } => {
                *next = read_next(rows, failed);
                next.map(|r| created + r.submit.since(SimTime::ZERO))
            }
            Kind::Generate { generator, until } => {
                let (from, gap) = match generator {
                    Generator::Poisson { rate_per_hour, from, .. } => {
                        (*from, exponential(&mut self.arrivals, 3_600_000.0 / *rate_per_hour))
                    }
                    Generator::Periodic { from, .. } => (*from, SimDuration::ZERO),
                    Generator::Bursty { mean_gap, from, .. } => {
                        (*from, exponential(&mut self.arrivals, mean_gap.as_millis() as f64))
                    }
                };
                Some(created + from + gap).filter(|t| t <= until)
            }
        }
    }

    /// The tasks due `now` (the time [`Source::first`] or the previous call
    /// returned), and when the next ones arrive. Inlined into the arrival
    /// handler, which then knows a generated task's batch of one.
    #[inline]
    pub fn fire(&mut self, now: SimTime) -> (Batch<'_>, Option<SimTime>) {
        let created = self.created;
        match &mut self.kind {
            Kind::List { entries, next } => {
                let Some(e) = entries.get(*next) else { return (Batch::EMPTY, None) };
                *next += 1;
                let following = entries.get(*next).map(|e| created + e.at);
                let duration = Durations::Drawn(&e.duration, &mut self.durations);
                let (id, depends_on, constraints) = (e.id, e.depends_on.as_slice(), e.constraints());
                let batch = Batch {
                    count: e.count,
                    slots: e.slots,
                    duration,
                    id,
                    depends_on,
                    instances: e.instances,
                    constraints,
                    exit_code: None,
                    packages: &e.application_packages,
                    resource_mib: total_mib(&e.resource_files),
                };
                (batch, following)
            }
            Kind::Trace { rows, next, failed } => {
                let Some(row) = next.take() else { return (Batch::EMPTY, None) };
                *next = read_next(rows, failed);
                let following = next.map(|r| created + r.submit.since(SimTime::ZERO));
                let duration = Durations::Fixed(row.duration);
                let constraints = row.constraints;
                (
                    Batch {
                        count: 1,
                        slots: row.slots,
                        duration,
                        id: None,
                        depends_on: &[],
                        instances: row.instances,
                        constraints,
                        exit_code: row.exit_code,
                        packages: &[],
                        resource_mib: 0,
                    },
                    following,
                )
            }
            Kind::Generate { generator, until } => {
                let constraints = generator.constraints();
                let (count, slots, gap, dist) = match generator {
                    Generator::Poisson { rate_per_hour, slots, duration, .. } => {
                        (1, *slots, exponential(&mut self.arrivals, 3_600_000.0 / *rate_per_hour), &*duration)
                    }
                    Generator::Periodic { every, count, slots, duration, .. } => (*count, *slots, *every, &*duration),
                    Generator::Bursty { mean_gap, size, slots, duration, .. } => {
                        (*size, *slots, exponential(&mut self.arrivals, mean_gap.as_millis() as f64), &*duration)
                    }
                };
                // A zero gap would stall the clock; arrivals are at least 1 ms apart.
                let following = Some(now + gap.max(SimDuration(1))).filter(|t| t <= until);
                let duration = Durations::Drawn(dist, &mut self.durations);
                let batch = Batch {
                    count,
                    slots,
                    duration,
                    id: None,
                    depends_on: &[],
                    instances: 1,
                    constraints,
                    exit_code: None,
                    packages: &[],
                    resource_mib: 0,
                };
                (batch, following)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut s: Source) -> Vec<(SimTime, u32)> {
        let mut out = Vec::new();
        let mut at = s.first();
        while let Some(t) = at {
            let (batch, next) = s.fire(t);
            out.push((t, batch.count));
            at = next;
        }
        out
    }

    #[test]
    fn periodic_sources_fire_on_the_period_until_the_end() {
        let g = Generator::Periodic {
            every: SimDuration::from_mins(10),
            count: 3,
            duration: Dist::Fixed(SimDuration::from_mins(1)),
            slots: 1,
            from: SimDuration::from_mins(5),
            until: None,
            max_wall_clock_time: None,
            max_task_retry_count: None,
            retention: None,
        };
        let s = Source::new(
            0,
            0,
            &SourceSpec::Generate(g),
            1,
            SimTime(SimDuration::from_mins(30).as_millis()),
            SimTime::ZERO,
        );
        let minutes: Vec<_> = drain(s).into_iter().map(|(t, n)| (t.as_millis() / 60_000, n)).collect();
        assert_eq!(minutes, [(5, 3), (15, 3), (25, 3)]);
    }

    #[test]
    fn poisson_sources_average_their_rate() {
        let g = Generator::Poisson {
            rate_per_hour: 60.0,
            duration: Dist::Fixed(SimDuration::from_mins(1)),
            slots: 1,
            from: SimDuration::ZERO,
            until: None,
            max_wall_clock_time: None,
            max_task_retry_count: None,
            retention: None,
        };
        let end = SimTime(SimDuration::from_hours(100).as_millis());
        let n = drain(Source::new(0, 0, &SourceSpec::Generate(g.clone()), 7, end, SimTime::ZERO)).len();
        assert!((5_400..6_600).contains(&n), "{n} arrivals in 100 h at 60/h");
        let again = drain(Source::new(0, 0, &SourceSpec::Generate(g), 7, end, SimTime::ZERO)).len();
        assert_eq!(n, again);
    }

    #[test]
    fn lists_fire_in_time_order() {
        let entry = |at, count| TaskEntry {
            at: SimDuration::from_secs(at),
            duration: Dist::Fixed(SimDuration::from_secs(1)),
            count,
            slots: 1,
            id: None,
            depends_on: Vec::new(),
            instances: 1,
            max_wall_clock_time: None,
            max_task_retry_count: None,
            retention: None,
            application_packages: Vec::new(),
            resource_files: Vec::new(),
        };
        let s = Source::new(
            0,
            0,
            &SourceSpec::List(vec![entry(0, 2), entry(60, 1)].into()),
            1,
            SimTime(u64::MAX),
            SimTime::ZERO,
        );
        assert_eq!(drain(s), [(SimTime(0), 2), (SimTime(60_000), 1)]);
    }
}
