//! The pool: its VM size, how nodes are filled and imaged, how its size is
//! set (fixed targets with manual resizes, or an autoscale formula), and
//! low-priority preemption; and the checks that build it from `[pool]`.

use std::path::Path;

use autoscale_runtime::DeallocationOption;
use serde::Deserialize;

use super::error::Check;
use super::file::{FileAutoscale, FilePool, FilePreemption, deallocation};
use super::vm::{self, VmSize};
use super::{
    Account, Container, Dist, MAX_INTERVAL, MIN_INTERVAL, MIN_RESIZE_TIMEOUT, NodeAction, Package, ScenarioError,
    StartTask, TracePreemption, trace,
};
use crate::formula::diag::{Diagnostic, render_to_string};
use crate::formula::{Engine, Formula};
use crate::time::SimDuration;

/// How nodes are filled with tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NodeFill {
    /// Across nodes: the node with the most free slots first.
    #[default]
    Spread,
    /// One node's slots before the next: the fullest node that fits first.
    Pack,
}

/// Where the nodes' OS image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Image {
    /// A marketplace image.
    #[default]
    Marketplace,
    /// A shared-gallery image: nodes reach `idle` up to 25 % faster.
    Gallery,
}

impl Image {
    /// The factor a node's allocation and boot times are multiplied by,
    /// drawn per node: 1 for marketplace images, between 0.75 and 1 for
    /// gallery images ("up to 25 % faster").
    pub fn speed_up(self, rng: &mut rand_chacha::ChaCha8Rng) -> f64 {
        use rand::RngExt;
        match self {
            Image::Marketplace => 1.0,
            Image::Gallery => rng.random_range(0.75..=1.0),
        }
    }
}

/// The pool's size: fixed targets (with optional manual resizes) or a formula.
#[derive(Debug, Clone)]
pub enum Scaling {
    /// Fixed targets, applied at the start, then changed by manual resizes.
    Fixed {
        /// Dedicated nodes wanted at the start.
        target_dedicated: u32,
        /// Low-priority nodes wanted at the start.
        target_low_priority: u32,
        /// Later resizes, by time.
        resizes: Vec<ManualResize>,
    },
    /// Autoscale.
    Autoscale(Autoscale),
}

/// A manual resize of a fixed pool; refused when the pool is not steady.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualResize {
    /// When, from the start.
    pub at: SimDuration,
    /// The new dedicated target.
    #[serde(default)]
    pub target_dedicated: u32,
    /// The new low-priority target.
    #[serde(default)]
    pub target_low_priority: u32,
    /// What happens to the tasks of removed nodes (default `requeue`).
    #[serde(default, deserialize_with = "deallocation")]
    pub deallocation: DeallocationOption,
}

/// An autoscale formula and how often it runs.
#[derive(Debug, Clone)]
pub struct Autoscale {
    /// The formula's text, checked when the scenario was loaded: it
    /// compiles with no diagnostics. Text, not compiled code, so that the
    /// scenario stays plain data; each run compiles it for `engine`.
    pub formula: String,
    /// The engine that evaluates it.
    pub engine: Engine,
    /// Where it came from, for messages: a file or `<scenario>: pool.autoscale.formula`.
    pub source_name: String,
    /// Time between evaluations (5 min to 168 h, default 15 min).
    pub interval: SimDuration,
}

/// Low-priority preemption.
#[derive(Debug, Clone)]
pub struct Preemption {
    /// When nodes are reclaimed.
    pub schedule: PreemptionSchedule,
    /// How long a preempted node stays away before it starts again.
    pub recovery: Dist,
}

/// When low-priority nodes are reclaimed.
#[derive(Debug, Clone, PartialEq)]
pub enum PreemptionSchedule {
    /// Each allocated low-priority node is preempted at this rate per
    /// node-hour (exponential times between preemptions).
    Rate(f64),
    /// At the listed times, that many nodes, chosen at random.
    Trace(std::sync::Arc<[TracePreemption]>),
}

/// The pool.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The pool's id, for reports.
    pub id: String,
    /// Its VM size.
    pub vm: VmSize,
    /// Task slots per node (1 to min(4 × cores, 256)).
    pub task_slots_per_node: u32,
    /// How tasks are spread over nodes.
    pub node_fill: NodeFill,
    /// The nodes' OS image.
    pub image: Image,
    /// How long allocations may take before they are abandoned (≥ 5 min).
    pub resize_timeout: SimDuration,
    /// Fixed targets or autoscale.
    pub scaling: Scaling,
    /// `creating` → `starting`.
    pub allocation_time: Dist,
    /// `starting` → `idle`.
    pub boot_time: Dist,
    /// `leavingpool` → gone.
    pub removal_time: Dist,
    /// Low-priority preemption, if any.
    pub preemption: Option<Preemption>,
    /// The start task every node runs after booting, if any.
    pub start_task: Option<StartTask>,
    /// Node actions, by time.
    pub node_actions: Vec<NodeAction>,
    /// Application packages every node downloads once, before its start
    /// task.
    pub application_packages: Vec<Package>,
    /// The container image every node pulls once, before its start task.
    pub container: Option<Container>,
}

/// The account's pools: one `[pool]` (its id `pool` unless it gives
/// one), or every `[[pools]]` table, each with an id of its own; never
/// both, and no more than the account's pool quota lets it create.
pub(super) fn build_all(
    check: &Check<'_>,
    one: Option<FilePool>,
    several: Vec<FilePool>,
    account: &Account,
    base: &Path,
    shown: &str,
) -> Result<Vec<Pool>, ScenarioError> {
    let pools = match (one, several.is_empty()) {
        (Some(_), false) => {
            return check.fail(
                "pools",
                "give either [pool] (one pool) or [[pools]] tables (several pools, each with an id), not both",
            );
        }
        (None, true) => {
            return check.fail("pool", "missing; give a [pool] table, or [[pools]] tables for several pools");
        }
        (Some(p), true) => {
            let id = p.id.clone().unwrap_or_else(|| "pool".to_owned());
            vec![build(&check.within("pool"), id, p, base, shown)?]
        }
        (None, false) => {
            let mut pools: Vec<Pool> = Vec::with_capacity(several.len());
            for (i, p) in several.into_iter().enumerate() {
                let check = check.within(&format!("pools[{i}]"));
                let Some(id) = p.id.clone() else {
                    return check.fail("id", "missing; give each of several pools an id, e.g. id = \"render\"");
                };
                let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
                if id.is_empty() || id.len() > 64 || !id.chars().all(allowed) {
                    return check.fail(
                        "id",
                        format!(
                            "`{id}` is not a pool id: give 1 to 64 letters, digits, `-` or `_` (it names the \
                             pool's output folder)"
                        ),
                    );
                }
                if let Some(first) = pools.iter().position(|q| q.id == id) {
                    return check
                        .fail("id", format!("`{id}` is already the id of pools[{first}]; give each pool its own id"));
                }
                pools.push(build(&check, id, p, base, shown)?);
            }
            pools
        }
    };
    let quota = account.pools;
    if pools.len() > quota as usize {
        let message = if quota == 0 {
            "a pool quota of 0 makes the service refuse the pool (PoolQuotaReached); give at least 1".to_owned()
        } else {
            format!(
                "{} pools but a pool quota of {quota}: the service refuses the pools past it (PoolQuotaReached); \
                 raise the quota or remove pools",
                pools.len()
            )
        };
        return check.fail("account.pools", message);
    }
    Ok(pools)
}

/// Builds one checked pool from its table (`check` is within it) with its
/// id; formula and trace files are found under `base`, and `shown` names
/// the scenario in messages. The checks run in a fixed order, so that of
/// two mistakes the same one is always reported.
fn build(check: &Check<'_>, id: String, p: FilePool, base: &Path, shown: &str) -> Result<Pool, ScenarioError> {
    let vm = vm::resolve(check, p.vm, p.prices.as_deref(), base)?;
    check_vm(check, &vm, p.task_slots_per_node)?;
    if let Some(st) = &p.start_task
        && !(0.0..=1.0).contains(&st.failure_probability)
    {
        return check.fail(
            "start_task.failure_probability",
            format!("{} is not a probability in [0, 1]", st.failure_probability),
        );
    }
    let resize_timeout = p.resize_timeout.unwrap_or(SimDuration::from_mins(15));
    if resize_timeout < MIN_RESIZE_TIMEOUT {
        return check.fail(
            "resize_timeout",
            format!("{} is below the minimum {}", resize_timeout.written(), MIN_RESIZE_TIMEOUT.written()),
        );
    }
    let scaling = match p.autoscale {
        Some(_) if p.target_dedicated.is_some() || p.target_low_priority.is_some() || !p.resizes.is_empty() => {
            return check.fail(
                "autoscale",
                "an autoscale pool takes its targets from the formula; remove target_dedicated, \
                 target_low_priority and resizes, or remove [pool.autoscale]",
            );
        }
        Some(a) => Scaling::Autoscale(build_autoscale(check, a, base, shown)?),
        None => fixed(p.target_dedicated, p.target_low_priority, p.resizes),
    };
    let preemption = p.preemption.map(|f| build_preemption(check, f, base)).transpose()?;
    let mut node_actions = p.node_actions;
    node_actions.sort_by_key(|a| a.at);
    Ok(Pool {
        id,
        vm,
        task_slots_per_node: p.task_slots_per_node,
        node_fill: p.node_fill,
        image: p.image,
        resize_timeout,
        scaling,
        allocation_time: p.allocation_time.unwrap_or(Dist::Fixed(SimDuration::from_mins(3))),
        boot_time: p.boot_time.unwrap_or(Dist::Fixed(SimDuration::from_mins(1))),
        removal_time: p.removal_time.unwrap_or(Dist::Fixed(SimDuration::ZERO)),
        preemption,
        start_task: p.start_task,
        node_actions,
        application_packages: p.application_packages,
        container: p.container,
    })
}

/// The VM's cores and prices, and the task slots its cores allow.
fn check_vm(check: &Check<'_>, vm: &VmSize, task_slots_per_node: u32) -> Result<(), ScenarioError> {
    if vm.cores == 0 {
        return check.fail("vm.cores", "a VM has at least 1 core");
    }
    for (key, price) in [("vm.dedicated_price", vm.dedicated_price), ("vm.low_priority_price", vm.low_priority_price)] {
        if !(price.is_finite() && price >= 0.0) {
            return check.fail(key, format!("{price} is not a price per hour at least 0"));
        }
    }
    let max_slots = vm.cores.saturating_mul(4).min(256);
    if task_slots_per_node == 0 || task_slots_per_node > max_slots {
        return check.fail(
            "task_slots_per_node",
            format!("{task_slots_per_node} is out of range; a {}-core VM allows 1 to {max_slots}", vm.cores),
        );
    }
    Ok(())
}

/// Fixed targets, nothing wanted unless the file says; the resizes in the
/// order they happen.
fn fixed(target_dedicated: Option<u32>, target_low_priority: Option<u32>, mut resizes: Vec<ManualResize>) -> Scaling {
    resizes.sort_by_key(|r| r.at);
    Scaling::Fixed {
        target_dedicated: target_dedicated.unwrap_or(0),
        target_low_priority: target_low_priority.unwrap_or(0),
        resizes,
    }
}

/// Preemption by a rate or by a trace of times (read from `base`), never
/// both; a preempted node is away 10 minutes unless the file says.
fn build_preemption(check: &Check<'_>, f: FilePreemption, base: &Path) -> Result<Preemption, ScenarioError> {
    let schedule = match (f.rate_per_node_hour, f.trace) {
        (Some(rate), None) if rate.is_finite() && rate >= 0.0 => PreemptionSchedule::Rate(rate),
        (Some(rate), None) => {
            return check.fail("preemption.rate_per_node_hour", format!("{rate} is not a rate at least 0"));
        }
        (None, Some(path)) => match trace::read_preemptions(&base.join(path)) {
            Ok(rows) => PreemptionSchedule::Trace(rows.into()),
            Err(e) => return check.file_error("preemption.trace", e),
        },
        _ => return check.fail("preemption", "give exactly one of rate_per_node_hour or trace"),
    };
    Ok(Preemption { schedule, recovery: f.recovery.unwrap_or(Dist::Fixed(SimDuration::from_mins(10))) })
}

/// The interval and the formula, which is checked here once to refuse a
/// scenario whose formula has errors before any run starts.
fn build_autoscale(check: &Check<'_>, a: FileAutoscale, base: &Path, shown: &str) -> Result<Autoscale, ScenarioError> {
    let interval = a.interval.unwrap_or(SimDuration::from_mins(15));
    if interval < MIN_INTERVAL {
        return check.fail(
            "autoscale.interval",
            format!("{} is below the minimum {}", interval.written(), MIN_INTERVAL.written()),
        );
    }
    if interval > MAX_INTERVAL {
        return check.fail(
            "autoscale.interval",
            format!("{} is above the maximum {}", interval.written(), MAX_INTERVAL.written()),
        );
    }
    let (source_name, source) = match (a.formula, a.formula_file) {
        (Some(text), None) => (format!("{shown}: {}", check.key("autoscale.formula")), text),
        (None, Some(file)) => {
            let path = base.join(&file);
            let name = path.display().to_string();
            // At most the service's limit (more is its formula-too-long
            // error), a byte-order mark dropped.
            match crate::input::read_formula(&path, crate::formula::MAX_BYTES) {
                Ok(text) => (name, text),
                Err(e @ crate::input::ReadError::TooLarge { .. }) => {
                    return check.fail(
                        "autoscale.formula_file",
                        format!("{name}: {e} (the service refuses it: AutoScalingFormulaTooLong)"),
                    );
                }
                Err(e) => return check.fail("autoscale.formula_file", format!("cannot read {name}: {e}")),
            }
        }
        _ => return check.fail("autoscale", "give exactly one of formula (the text) or formula_file (a path)"),
    };
    let diagnostics = match check_formula(&source) {
        Ok(()) => return Ok(Autoscale { formula: source, engine: Engine::default(), source_name, interval }),
        Err(FormulaRefusal::DoesNotCompile(d)) => vec![d],
        Err(FormulaRefusal::HasErrors(diagnostics)) => diagnostics,
    };
    Err(ScenarioError::Formula { rendered: render_to_string(&source_name, &source, &diagnostics), path: source_name })
}

/// Why a formula cannot drive a simulation.
pub(super) enum FormulaRefusal {
    /// A syntax or size error: the service refuses it.
    DoesNotCompile(Diagnostic),
    /// The checker's errors, in source order.
    HasErrors(Vec<Diagnostic>),
}

/// Checks `source` as a simulation needs it: it compiles, and the checker
/// finds nothing. Checked once, when the scenario is loaded, with the
/// interpreter (no code is generated for a check); each run compiles it
/// for its engine.
pub(super) fn check_formula(source: &str) -> Result<(), FormulaRefusal> {
    let formula = Formula::compile_with(source, Engine::Interp).map_err(FormulaRefusal::DoesNotCompile)?;
    match formula.diagnostics() {
        [] => Ok(()),
        errors => Err(FormulaRefusal::HasErrors(errors.to_vec())),
    }
}
