//! What `tune` shows and writes: the best point with its intervals, the
//! runner-ups and the saving over the formula as written; `trials.csv`
//! and `tuned.formula`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::slo::Bound;
use super::slo::Metric;
use super::{Trial, Tuning};
use crate::atomic_write::write_atomically;
use crate::formula::params::{constant, set_constant};
use crate::report::charts::{ChartError, TradeOff, write_trade_off};
use crate::report::compare::paired_t;
use crate::report::params::Key;

/// Runner-ups shown after the best point.
const RUNNER_UPS: usize = 5;

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// `trials.csv` or `tuned.formula`.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// The reason.
        message: String,
    },
    /// The chart or `report.html`.
    #[error(transparent)]
    Chart(#[from] ChartError),
}

fn fail(path: &Path, e: impl std::fmt::Display) -> OutputError {
    OutputError::File { path: path.display().to_string(), message: e.to_string() }
}

/// `12.34 ±0.56`, `25m 3s ±1m 2s`, or the mean alone with one seed.
fn estimate(metric: Metric, (mean, half): (f64, Option<f64>)) -> String {
    match half {
        Some(h) if h.is_finite() => format!("{} ±{}", metric.show(mean), metric.show(h)),
        _ => metric.show(mean),
    }
}

impl Tuning {
    /// The variable a formula parameter's `NAME` sets: itself, or with
    /// several pools `NAME` without its pool's `ID.`.
    fn variable<'a>(&self, name: &'a str) -> &'a str {
        self.pool.as_deref().and_then(|id| name.strip_prefix(id)?.strip_prefix('.')).unwrap_or(name)
    }

    /// The metrics shown for each point: the objective, then each constrained one.
    fn shown(&self) -> Vec<Metric> {
        let mut m = vec![self.objective];
        for s in &self.slos {
            if !m.contains(&s.metric) {
                m.push(s.metric);
            }
        }
        m
    }

    /// A point's figures on one line: `cost 12.34 ±0.56, p95_wait 25m ±1m`.
    fn figures(&self, trial: &Trial) -> String {
        let parts: Vec<String> =
            self.shown().iter().map(|m| format!("{} {}", m.name(), estimate(*m, trial.mean(*m)))).collect();
        parts.join(", ")
    }

    /// The report for people, as `autoscale-sim tune` prints it.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let seeds = crate::report::compare::seeds_label(&self.seeds);
        let constraints: Vec<String> = self.slos.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            s,
            "{}: {} points of {} x {} seeds ({seeds}, the same for every point); minimise {}{}",
            self.scenario,
            self.trials.len(),
            self.space.size(),
            self.seeds.len(),
            self.objective.name(),
            if constraints.is_empty() { String::new() } else { format!(" with {}", constraints.join(", ")) },
        );
        let _ = writeln!(s, "seed means with their 95% confidence intervals (Student's t)\n");
        let Some(best) = self.best() else {
            if let Some(closest) = self.closest() {
                let _ = writeln!(s, "no point meets the constraints; the closest is {}", closest.label);
                let _ = writeln!(s, "  {}", self.figures(closest));
                for slo in self.failing(closest) {
                    let _ = writeln!(
                        s,
                        "  fails {slo}: {} is {}",
                        slo.metric.name(),
                        slo.metric.show(closest.mean(slo.metric).0)
                    );
                }
            }
            return s;
        };
        let _ = writeln!(s, "best: {}", best.label);
        for m in self.shown() {
            let _ = writeln!(s, "  {:<18} {}", m.name(), estimate(m, best.mean(m)));
        }
        let _ = writeln!(s, "\nas written{}: {}", self.written_constants(), self.figures(&self.as_written));
        let unmet = self.failing(&self.as_written);
        if !unmet.is_empty() {
            let names: Vec<String> = unmet.iter().map(ToString::to_string).collect();
            let _ = writeln!(s, "  (fails {})", names.join(", "));
        }
        let base: Vec<f64> = self.as_written.runs.iter().map(|r| self.objective.of(r)).collect();
        let tuned: Vec<f64> = best.runs.iter().map(|r| self.objective.of(r)).collect();
        let (base_mean, _) = self.as_written.mean(self.objective);
        let saving = base_mean - best.mean(self.objective).0;
        let percent = if base_mean != 0.0 { format!(" ({:.1}%)", 100.0 * saving / base_mean) } else { String::new() };
        let interval = match paired_t(&base, &tuned) {
            Some(t) => format!(" ±{:.2}", t.half_width),
            None => String::new(),
        };
        let word = if saving >= 0.0 { "less" } else { "more" };
        let _ = writeln!(
            s,
            "the best point: {} {:.2}{interval} {word} than as written{percent}, seed by seed",
            self.objective.name(),
            saving.abs()
        );
        let ranked = self.ranked();
        if ranked.len() > 1 {
            let _ = writeln!(s, "\nrunner-ups:");
            for t in ranked.iter().skip(1).take(RUNNER_UPS) {
                let _ = writeln!(s, "  {}: {}", t.label, self.figures(t));
            }
        }
        s
    }

    /// The formula's constants as written, ` (formula.cap=25)`, for the
    /// formula parameters searched.
    fn written_constants(&self) -> String {
        let parts: Vec<String> = self
            .space
            .dims
            .iter()
            .filter_map(|d| match &d.key {
                Key::Formula(name) => {
                    let value = constant(self.formula.as_deref()?, self.variable(name)).ok()?.value;
                    Some(format!("{}={value}", d.key))
                }
                Key::Scenario(_) => None,
            })
            .collect();
        if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) }
    }

    /// `trials.csv`: one row per point in evaluation order, with each
    /// metric's seed mean and interval half-width (shortest round-trip form).
    pub fn trials_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = vec!["trial".into(), "batch".into()];
        header.extend(self.space.dims.iter().map(|d| d.key.to_string()));
        header.push("feasible".into());
        for m in Metric::ALL {
            // Durations in seconds, as in `runs.csv`.
            let name = if m.is_duration() { format!("{}_s", m.name()) } else { m.name().to_owned() };
            header.push(format!("{name}_ci"));
            header.insert(header.len() - 1, name);
        }
        w.write_record(&header)?;
        for (i, t) in self.trials.iter().enumerate() {
            let mut row: Vec<String> = vec![(i + 1).to_string(), t.batch.to_string()];
            row.extend(self.space.values(&t.point).iter().map(|(_, v)| (*v).to_owned()));
            row.push(self.feasible(t).to_string());
            for m in Metric::ALL {
                let (mean, half) = t.mean(m);
                row.push(mean.to_string());
                row.push(half.filter(|h| h.is_finite()).map(|h| h.to_string()).unwrap_or_default());
            }
            w.write_record(&row)?;
        }
        w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
    }

    /// The formula with the best point's constants, when a point is
    /// feasible and the pool has a formula.
    pub fn tuned_formula(&self) -> Option<String> {
        let (best, mut source) = (self.best()?, self.formula.clone()?);
        for (key, value) in self.space.values(&best.point) {
            if let Key::Formula(name) = key {
                // Every value was set once already when its point ran.
                source = set_constant(&source, self.variable(name), value).ok()?;
            }
        }
        Some(source)
    }

    /// The evaluated points as a chart: the objective against the first
    /// constrained wait (else the p95 wait), in minutes; points whose wait
    /// is infinite (an unfinished makespan) are left out.
    pub fn trade_off(&self) -> TradeOff {
        let slo = self.slos.iter().find(|s| s.metric.is_duration());
        let across = slo.map_or(Metric::P95Wait, |s| s.metric);
        let points = self
            .trials
            .iter()
            .map(|t| (t.mean(across).0 / 60.0, t.mean(self.objective).0, self.feasible(t)))
            .filter(|p| p.0.is_finite())
            .collect();
        TradeOff {
            title: format!(
                "{}: {} against {}, one point per parameter set",
                self.scenario,
                self.objective.name(),
                across.name()
            ),
            x_desc: format!("{} (minutes, mean over the seeds)", across.name()),
            y_desc: format!("{} (mean over the seeds)", self.objective.name()),
            points,
            x_limit: slo.filter(|s| s.bound == Bound::AtMost).map(|s| s.limit / 60.0),
        }
    }

    /// Writes `trials.csv`, the `cost-vs-wait` chart, `report.html` and,
    /// when a point is feasible, `tuned.formula` into `dir`; returns the paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
        let mut written = Vec::new();
        let path = dir.join("trials.csv");
        let csv = self.trials_csv().map_err(|e| fail(&path, e))?;
        write_atomically(&path, &csv).map_err(|e| fail(&path, e))?;
        written.push(path);
        written.extend(write_trade_off(&self.trade_off(), &self.to_text(), dir)?);
        if let Some(formula) = self.tuned_formula() {
            let path = dir.join("tuned.formula");
            write_atomically(&path, formula.as_bytes()).map_err(|e| fail(&path, e))?;
            written.push(path);
        }
        Ok(written)
    }
}
