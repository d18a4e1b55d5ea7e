//! Engine benchmarks: the event queue alone, and the whole service model on
//! one day of the 30-day, 10 000-node benchmark scenario
//! (`benches/scenarios/month-10k-nodes.toml`). Run with
//! `cargo bench --bench engine`; divan reports time per iteration and,
//! through the item counters, events per second.

use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::{Queue, Simulation};
use autoscale_sim::time::SimDuration;
use divan::Bencher;
use divan::counter::ItemsCount;

fn main() {
    divan::main();
}

/// Events delivered per iteration of the queue benchmark.
const HOLD_OPS: usize = 1_000_000;

/// The classic "hold" model: `pending` events wait in the queue; each
/// operation pops the earliest and schedules a new one a pseudo-random
/// delay later. The delays come from a cheap LCG so that the random
/// numbers do not dominate the measurement.
#[divan::bench(args = [1_000, 100_000])]
fn queue_hold(bencher: Bencher, pending: usize) {
    bencher
        .counter(ItemsCount::new(HOLD_OPS))
        .with_inputs(|| {
            let mut q = Queue::new();
            let mut x = 1u64;
            for i in 0..pending {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                q.schedule_in(SimDuration(x >> 44), i as u32);
            }
            (q, x)
        })
        .bench_local_values(|(mut q, mut x)| {
            for _ in 0..HOLD_OPS {
                if let Some((_, e)) = q.pop() {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    q.schedule_in(SimDuration(x >> 44), e);
                }
            }
            q
        });
}

/// One day of the benchmark scenario: arrivals, allocation, scheduling,
/// metrics and an evaluation every 5 minutes, with up to 10 000 nodes.
#[divan::bench(sample_count = 15, sample_size = 1)]
fn month_scenario_first_day(bencher: Bencher) {
    let load = || {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/scenarios/month-10k-nodes.toml");
        let text = std::fs::read_to_string(path).unwrap_or_default().replace("duration = \"30d\"", "duration = \"1d\"");
        Scenario::from_toml(&text, path, "month", path.as_ref()).map_err(|e| e.to_string())
    };
    let events = match load() {
        Ok(s) => Simulation::new(s, None).run(&mut |_| {}).events,
        Err(e) => panic!("benchmark scenario: {e}"),
    };
    bencher
        .counter(ItemsCount::new(events))
        .with_inputs(|| load().map(|s| Simulation::new(s, None)))
        .bench_local_values(|sim| sim.map(|s| s.run(&mut |_| {}).events));
}
