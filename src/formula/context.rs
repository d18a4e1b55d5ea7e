//! The evaluation context: the instant, the pool's state and the metric
//! samples an evaluation sees. `eval --context` reads it from TOML or JSON,
//! in the schema of the oracle cases (`tests/oracle/cases.json`).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use autoscale_runtime::samples::History;
use autoscale_runtime::{Interval, Timestamp};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::builtins::Metric;

/// The pool as the formula sees it.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolState {
    /// The dedicated target before this evaluation.
    pub target_dedicated: f64,
    /// The low-priority target before this evaluation.
    pub target_low_priority: f64,
    /// `$CurrentDedicatedNodes`.
    pub current_dedicated: f64,
    /// `$CurrentLowPriorityNodes`.
    pub current_low_priority: f64,
    /// `$TaskSlotsPerNode`.
    pub task_slots_per_node: f64,
}

impl Default for PoolState {
    fn default() -> Self {
        PoolState {
            target_dedicated: 0.0,
            target_low_priority: 0.0,
            current_dedicated: 0.0,
            current_low_priority: 0.0,
            task_slots_per_node: 1.0,
        }
    }
}

impl PoolState {
    /// Checks that every count is a finite number at least 0; otherwise
    /// names the field and says what is wrong.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (key, value) in [
            ("target_dedicated", self.target_dedicated),
            ("target_low_priority", self.target_low_priority),
            ("current_dedicated", self.current_dedicated),
            ("current_low_priority", self.current_low_priority),
            ("task_slots_per_node", self.task_slots_per_node),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err((key, format!("must be a number at least 0, got {value}")));
            }
        }
        Ok(())
    }
}

/// Everything one evaluation reads.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalContext {
    /// The evaluation instant (`time()`).
    pub now: Timestamp,
    /// Seed of `rand()`.
    pub seed: u64,
    /// The pool's counts and targets.
    pub pool: PoolState,
    /// Visible samples per metric, indexed by `Metric as usize`.
    histories: Vec<History>,
}

impl EvalContext {
    /// A context at `now` with an empty pool and no samples.
    pub fn new(now: Timestamp) -> EvalContext {
        EvalContext { now, seed: 0, pool: PoolState::default(), histories: vec![History::default(); Metric::COUNT] }
    }

    /// The samples of `metric`.
    pub fn history(&self, metric: Metric) -> &History {
        &self.histories[metric as usize]
    }

    /// The samples of `metric`, to append to in place: a simulation keeps
    /// one context and pushes each sample as it becomes visible.
    pub fn history_mut(&mut self, metric: Metric) -> &mut History {
        &mut self.histories[metric as usize]
    }

    /// Makes room for `n` more samples in every metric's history, so that
    /// a simulator appending them does not reallocate.
    pub fn reserve_samples(&mut self, n: usize) {
        for h in &mut self.histories {
            h.reserve(n);
        }
    }

    /// Every metric's samples, indexed by `Metric as usize`.
    pub fn histories(&self) -> &[History] {
        &self.histories
    }

    /// Replaces the samples of `metric`.
    pub fn set_history(&mut self, metric: Metric, history: History) {
        self.histories[metric as usize] = history;
    }

    /// Reads a context file, TOML or JSON by its extension.
    pub fn load(path: &Path) -> Result<EvalContext, ContextError> {
        let shown = path.display().to_string();
        let text = crate::input::read_settings(path, "the context file")
            .map_err(|e| ContextError::Io { path: shown.clone(), message: e.to_string() })?;
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let file: ContextFile = match extension.as_str() {
            "toml" => toml::from_str(&text)
                .map_err(|e| ContextError::Syntax { path: shown.clone(), message: e.to_string() })?,
            "json" => serde_json::from_str(&text)
                .map_err(|e| ContextError::Syntax { path: shown.clone(), message: e.to_string() })?,
            _ => return Err(ContextError::Extension { path: shown }),
        };
        file.into_context().map_err(|(key, message)| ContextError::Invalid { path: shown, key, message })
    }

    /// Parses a context from JSON text (the form the oracle cases carry).
    pub fn from_json(text: &str) -> Result<EvalContext, ContextError> {
        let file: ContextFile = serde_json::from_str(text)
            .map_err(|e| ContextError::Syntax { path: "<json>".into(), message: e.to_string() })?;
        file.into_context().map_err(|(key, message)| ContextError::Invalid { path: "<json>".into(), key, message })
    }
}

/// Why a context file could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContextError {
    /// The file could not be read.
    #[error("cannot read context file {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// Neither `.toml` nor `.json`.
    #[error("context file {path}: unknown format; name it *.toml or *.json")]
    Extension {
        /// The file.
        path: String,
    },
    /// Not valid TOML/JSON, an unknown key, or a value of the wrong type.
    #[error("context file {path}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// Well-formed, but a value is out of range.
    #[error("context file {path}: `{key}`: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The key path, e.g. `metrics.PendingTasks.samples[2]`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// The evaluation context as a file gives it, the schema of
/// `eval --context` and of the oracle's cases: the keys `now`, `seed`,
/// `pool` and `metrics`, each metric a table `M`, by default its samples
/// ([`MetricFile`]). A test suite's point case holds the same keys among
/// its own and describes a metric's samples in more ways
/// (`testsuite/file.rs`): it reads them with [`ContextFile::read_table`].
#[derive(Debug, Clone, PartialEq)]
pub struct ContextFile<M = MetricFile> {
    /// `time()`, e.g. `2024-01-01T00:00:00Z`; the clock's time when absent.
    pub now: Option<String>,
    /// Seed of `rand()`.
    pub seed: u64,
    /// The pool's counts and targets.
    pub pool: PoolState,
    /// Each metric's table, by the metric's name.
    pub metrics: BTreeMap<String, M>,
}

/// A metric's table in a context file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricFile {
    /// `[age in seconds, value]` pairs.
    #[serde(default)]
    pub samples: Vec<(f64, f64)>,
}

impl<M> Default for ContextFile<M> {
    fn default() -> Self {
        ContextFile { now: None, seed: 0, pool: PoolState::default(), metrics: BTreeMap::new() }
    }
}

/// The keys of a context file, in the order serde's messages list them.
pub const CONTEXT_KEYS: [&str; 4] = ["now", "seed", "pool", "metrics"];

impl<'de, M: Deserialize<'de>> ContextFile<M> {
    /// Reads a table whose keys are `keys`: the context's keys, read here,
    /// and others, whose values `other` reads. A key not in `keys`, or one
    /// given twice, is refused in serde's words (`unknown field `x`,
    /// expected one of …`) while the key is read, so that the error carries
    /// the key's position and path as a derived `Deserialize` would.
    pub fn read_table<A: MapAccess<'de>>(
        mut map: A,
        keys: &'static [&'static str],
        mut other: impl FnMut(&'static str, &mut A) -> Result<(), A::Error>,
    ) -> Result<ContextFile<M>, A::Error> {
        let mut file = ContextFile::default();
        let mut seen = Vec::with_capacity(keys.len());
        while let Some(key) = map.next_key_seed(Key(keys))? {
            if seen.contains(&key) {
                return Err(de::Error::duplicate_field(key));
            }
            seen.push(key);
            match key {
                "now" => file.now = map.next_value()?,
                "seed" => file.seed = map.next_value()?,
                "pool" => file.pool = map.next_value()?,
                "metrics" => file.metrics = map.next_value()?,
                _ => other(key, &mut map)?,
            }
        }
        Ok(file)
    }
}

impl<'de, M: Deserialize<'de>> Deserialize<'de> for ContextFile<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Table<M>(PhantomData<M>);
        impl<'de, M: Deserialize<'de>> Visitor<'de> for Table<M> {
            type Value = ContextFile<M>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("struct ContextFile")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ContextFile<M>, A::Error> {
                ContextFile::read_table(map, &CONTEXT_KEYS, |_, map| map.next_value::<IgnoredAny>().map(drop))
            }
        }
        deserializer.deserialize_struct("ContextFile", &CONTEXT_KEYS, Table(PhantomData))
    }
}

/// A table's key that must be one of a list.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = &'static str;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<&'static str, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = &'static str;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("field identifier")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<&'static str, E> {
        self.0.iter().copied().find(|k| *k == key).ok_or_else(|| E::unknown_field(key, self.0))
    }
}

impl ContextFile {
    /// The context the file describes, or the key path of the first value
    /// out of range and what is wrong with it.
    pub fn into_context(self) -> Result<EvalContext, (String, String)> {
        let now = match &self.now {
            Some(text) => Timestamp::parse(text).map_err(|e| ("now".to_owned(), e.to_string()))?,
            None => Timestamp::now(),
        };
        self.pool.validate().map_err(|(key, message)| (format!("pool.{key}"), message))?;
        let mut context = EvalContext { seed: self.seed, pool: self.pool, ..EvalContext::new(now) };
        for (name, metric_file) in self.metrics {
            let Some(metric) = Metric::named(name.trim_start_matches('$')) else {
                let known: Vec<&str> = Metric::ALL.iter().map(|(_, n, _)| *n).collect();
                return Err((
                    format!("metrics.{name}"),
                    format!("no such metric; the metrics are {}", known.join(", ")),
                ));
            };
            let mut samples = Vec::with_capacity(metric_file.samples.len());
            for (i, (age, value)) in metric_file.samples.into_iter().enumerate() {
                let key = || format!("metrics.{name}.samples[{i}]");
                if !(age.is_finite() && age >= 0.0) {
                    return Err((key(), format!("the age must be a number of seconds at least 0, got {age}")));
                }
                let at = Interval::from_seconds(age)
                    .and_then(|a| now.sub_interval(a))
                    .map_err(|_| (key(), format!("an age of {age} s reaches before the year 1")))?;
                samples.push((at, value));
            }
            context.set_history(metric, History::new(samples));
        }
        Ok(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_schema_with_defaults() {
        let c = EvalContext::from_json(r#"{"now":"2020-01-01T00:00:00Z","pool":{"target_dedicated":2},"metrics":{"PendingTasks":{"samples":[[15,1],[45,2]]}}}"#).unwrap();
        assert_eq!(c.pool.target_dedicated, 2.0);
        assert_eq!(c.pool.task_slots_per_node, 1.0);
        assert_eq!(c.history(Metric::PendingTasks).count(), 2);
        assert_eq!(c.history(Metric::CPUPercent).count(), 0);
    }

    #[test]
    fn history_mut_appends_to_one_metric() {
        let now = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
        let mut c = EvalContext::new(now);
        c.history_mut(Metric::RunningTasks).push(now, 3.0);
        assert_eq!(c.history(Metric::RunningTasks).last(1.0), Ok(&[3.0][..]));
        assert_eq!(c.history(Metric::ActiveTasks).count(), 0);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = EvalContext::from_json(r#"{"pool":{"target":2}}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `target`"), "{e}");
        let e = EvalContext::from_json(r#"{"metrics":{"Pending":{"samples":[]}}}"#).unwrap_err();
        assert!(e.to_string().contains("`metrics.Pending`: no such metric"), "{e}");
        let e = EvalContext::from_json(r#"{"metrics":{"PendingTasks":{"samples":[[-1,0]]}}}"#).unwrap_err();
        assert!(e.to_string().contains("metrics.PendingTasks.samples[0]"), "{e}");
        let e = EvalContext::from_json(r#"{"now":"soon"}"#).unwrap_err();
        assert!(e.to_string().contains("`now`"), "{e}");
    }

    #[test]
    fn the_table_reader_refuses_unknown_and_repeated_keys_in_serdes_words() {
        let e = EvalContext::from_json(r#"{"seed":1,"nowx":2}"#).unwrap_err();
        assert!(
            e.to_string().contains("unknown field `nowx`, expected one of `now`, `seed`, `pool`, `metrics` at line 1"),
            "{e}"
        );
        let e = EvalContext::from_json(r#"{"seed":1,"seed":2}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate field `seed`"), "{e}");
        let file: ContextFile = toml::from_str(
            "seed = 7
[metrics.PendingTasks]
samples = [[1, 2]]
",
        )
        .unwrap();
        assert_eq!((file.now, file.seed, file.pool), (None, 7, PoolState::default()));
        assert_eq!(file.metrics["PendingTasks"].samples, [(1.0, 2.0)]);
    }
}
