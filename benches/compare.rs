//! `compare` on one and on two worker threads: the parallel speed-up of
//! running formulas × seeds with rayon. Run with
//! `cargo bench --bench compare`; the ratio of the two medians is the
//! speed-up (the issue asks for at least 1.7× on 2 cores).

use std::path::Path;

use autoscale_sim::formula::Engine;
use autoscale_sim::report::compare::{CompareSpec, compare};

fn main() {
    divan::main();
}

/// Two formulas × 8 seeds of the bursty day: 16 independent runs, enough
/// for both threads to stay busy until the end.
fn spec(threads: usize) -> CompareSpec {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    CompareSpec {
        scenario: root.join("simulations/bursty-day.toml"),
        formulas: vec![
            root.join("simulations/formulas/pending-tasks.formula"),
            root.join("simulations/compare/pending-tasks-10.formula"),
        ],
        seeds: 8,
        engine: Engine::Jit,
        threads: Some(threads),
    }
}

#[divan::bench(args = [1, 2], sample_count = 10, sample_size = 1)]
fn bursty_day_2_formulas_8_seeds(threads: usize) {
    let spec = spec(threads);
    match compare(&spec, &|| {}) {
        Ok(c) => {
            divan::black_box(c);
        }
        Err(e) => panic!("the bundled comparison fails: {e}"),
    }
}
