//! The files `import` writes: `scenario.toml`, `formula.formula` for an
//! autoscaled pool, and a CSV trace per job whose tasks are all plain.
//! Everything is built in memory first and each file written atomically,
//! so a failed import leaves no scenario that refers to a missing file.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};

use super::{Done, ImportError, Job, Options, most_common, service};
use crate::atomic_write::write_atomically;
use crate::scenario::vm;
use crate::time::SimDuration;

/// What `import` wrote, and what it could not map.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The files, the scenario first.
    pub files: Vec<PathBuf>,
    /// What the reader should know: defaults taken, things left out.
    pub notes: Vec<String>,
}

/// Builds and writes the scenario of `pool` and `jobs` (time zero at
/// `first`, in ticks) into `out`.
pub(super) fn scenario(
    pool: &service::Pool,
    jobs: &BTreeMap<String, Job>,
    first: i64,
    options: &Options,
    mut notes: Vec<String>,
    out: &Path,
) -> Result<Written, ImportError> {
    let unusable = |m: String| ImportError::Unusable(m);
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut doc = DocumentMut::new();
    let pool_id = pool.id.clone().unwrap_or_else(|| {
        notes.push("the pool has no `id`: called `pool`".to_owned());
        "pool".to_owned()
    });
    doc["name"] = value(pool_id.as_str());
    let start = autoscale_runtime::Timestamp::from_unix_ticks(first).map_err(|e| unusable(e.to_string()))?;
    doc["start"] = value(start.to_string());
    let last_end = jobs.values().flat_map(|j| &j.done).map(|d| d.created + d.run.as_millis() as i64 * 10_000).max();
    // The tasks' span, to the next hour, and an hour more for a slower pool.
    let span_ms = (last_end.unwrap_or(first) - first).max(0) as u64 / 10_000;
    let duration = SimDuration((span_ms / 3_600_000 + 2) * 3_600_000);
    doc["duration"] = value(duration.written().to_string());
    notes.push(format!(
        "duration {}: the tasks' span to the next hour, plus an hour for a pool slower than the real one",
        duration.written()
    ));

    let mut p = Table::new();
    p["id"] = value(pool_id.as_str());
    p["vm"] = Item::Value(vm_table(pool, options, &mut notes)?.into());
    if let Some(slots) = pool.task_slots_per_node {
        p["task_slots_per_node"] = value(i64::from(slots));
    }
    match pool.task_scheduling_policy.as_ref().and_then(|t| t.node_fill_type.as_deref()) {
        Some(fill) if fill.eq_ignore_ascii_case("pack") => p["node_fill"] = value("pack"),
        _ => {}
    }
    let gallery = pool
        .virtual_machine_configuration
        .as_ref()
        .and_then(|v| v.image_reference.as_ref())
        .is_some_and(|i| i.virtual_machine_image_id.is_some());
    if gallery {
        p["image"] = value("gallery");
    }
    if let Some(timeout) = service::field_duration(pool.resize_timeout.as_deref(), "resizeTimeout").map_err(unusable)? {
        p["resize_timeout"] = value(timeout.written().to_string());
    }
    if let Some(st) = &pool.start_task {
        let mut t = InlineTable::new();
        t.insert("duration", "1m".into());
        t.insert("wait_for_success", st.wait_for_success.unwrap_or(true).into());
        if let Some(line) = &st.command_line {
            t.insert("command_line", line.as_str().into());
        }
        p["start_task"] = Item::Value(t.into());
        notes.push("the start task's duration is not in the export: 1m assumed".to_owned());
        if st.max_task_retry_count.is_some_and(|n| n != 0) {
            notes.push("the start task's maxTaskRetryCount is not simulated (its failures are not either)".to_owned());
        }
    }
    if pool.enable_auto_scale == Some(true) {
        let formula = pool
            .auto_scale_formula
            .as_deref()
            .ok_or_else(|| unusable("the pool autoscales but its export has no autoScaleFormula".to_owned()))?;
        let mut a = Table::new();
        a["formula_file"] = value("formula.formula");
        match service::field_duration(pool.auto_scale_evaluation_interval.as_deref(), "autoScaleEvaluationInterval")
            .map_err(unusable)?
        {
            Some(interval) => a["interval"] = value(interval.written().to_string()),
            None => notes.push("no autoScaleEvaluationInterval: the service's default, 15m".to_owned()),
        }
        p["autoscale"] = Item::Table(a);
        files.push((out.join("formula.formula"), formula.as_bytes().to_vec()));
    } else {
        p["target_dedicated"] = value(i64::from(pool.target_dedicated_nodes.unwrap_or(0)));
        p["target_low_priority"] = value(i64::from(pool.target_low_priority_nodes.unwrap_or(0)));
    }
    doc["pool"] = Item::Table(p);

    let mut tables = toml_edit::ArrayOfTables::new();
    for (id, job) in jobs.iter().filter(|(_, j)| !j.done.is_empty()) {
        tables.push(job_table(id, job, first, out, &mut files, &mut notes)?);
    }
    doc["jobs"] = Item::ArrayOfTables(tables);

    let header = format!(
        "# Made by `autoscale-sim import` from {} and {} task list(s).\n# Run it with: autoscale-sim run {}\n",
        options.pool.display(),
        options.tasks.len(),
        out.join("scenario.toml").display()
    );
    files.insert(0, (out.join("scenario.toml"), format!("{header}{doc}").into_bytes()));
    std::fs::create_dir_all(out)
        .map_err(|e| ImportError::Input { path: out.display().to_string(), message: e.to_string() })?;
    for (path, bytes) in &files {
        write_atomically(path, bytes)
            .map_err(|e| ImportError::Input { path: path.display().to_string(), message: e.to_string() })?;
    }
    let scenario = out.join("scenario.toml");
    if let Err(e) = crate::scenario::Scenario::load(&scenario) {
        return Err(ImportError::Unusable(format!(
            "{} was written but does not load, so the export holds something this simulator refuses:\n{e}",
            scenario.display()
        )));
    }
    Ok(Written { files: files.into_iter().map(|(p, _)| p).collect(), notes })
}

/// `vm = { name, cores, dedicated_price, low_priority_price }`: the cores
/// from the options or the catalog, the prices from the options.
fn vm_table(pool: &service::Pool, options: &Options, notes: &mut Vec<String>) -> Result<InlineTable, ImportError> {
    let mut name = pool.vm_size.clone().unwrap_or_default();
    let cores = match (options.cores, name.as_str()) {
        (Some(cores), _) => cores,
        (None, "") => return Err(ImportError::Unusable("the pool has no vmSize: give its cores with --cores".into())),
        (None, given) => {
            let known = vm::lookup(given).map_err(|e| ImportError::Unusable(format!("{e} (import: --cores N)")))?;
            name.clone_from(&known.name);
            known.vcpus
        }
    };
    let mut t = InlineTable::new();
    t.insert("name", name.as_str().into());
    t.insert("cores", i64::from(cores).into());
    let dedicated = options.dedicated_price.unwrap_or_else(|| {
        notes.push("no --dedicated-price: nodes cost 0; give your price per hour to see costs".to_owned());
        0.0
    });
    t.insert("dedicated_price", dedicated.into());
    t.insert("low_priority_price", options.low_priority_price.unwrap_or(0.0).into());
    Ok(t)
}

/// One `[[jobs]]` table: its failures and retries, and its tasks as a
/// trace (all plain) or a task list (dependencies or instances).
fn job_table(
    id: &str,
    job: &Job,
    first: i64,
    out: &Path,
    files: &mut Vec<(PathBuf, Vec<u8>)>,
    notes: &mut Vec<String>,
) -> Result<Table, ImportError> {
    let mut done: Vec<&Done> = job.done.iter().collect();
    done.sort_by_key(|d| d.created);
    let mut t = Table::new();
    t["id"] = value(id);
    // The job's retry count is its tasks' most common; the others keep their own.
    let retries = most_common(done.iter().filter_map(|d| d.max_task_retry_count));
    if let Some(retries) = retries {
        t["max_task_retry_count"] = value(i64::from(retries));
    }
    let own = |d: &Done| Own {
        max_wall_clock_time: d.max_wall_clock_time,
        max_task_retry_count: d.max_task_retry_count.filter(|&r| Some(r) != retries),
        retention: d.retention.filter(|&r| r != DEFAULT_RETENTION),
    };
    let (failed, runs) =
        done.iter().fold((0u64, 0u64), |(f, r), d| (f + u64::from(d.failed_runs), r + u64::from(d.runs)));
    if failed > 0 {
        t["failure_probability"] = value(failed as f64 / runs as f64);
        notes.push(format!(
            "job {id}: {failed} of {runs} runs failed: failure_probability {}",
            failed as f64 / runs as f64
        ));
    }
    let at = |d: &Done| service::ticks_to_millis(d.created - first);
    let plain = done.iter().all(|d| {
        d.instances == 1
            && d.depends_on.as_ref().is_none_or(|deps| deps.task_ids.is_empty() && deps.task_id_ranges.is_empty())
    });
    if plain {
        let name = format!("{}.csv", file_stem(id));
        let constrained = done.iter().any(|d| !own(d).is_empty());
        let mut csv = String::from("submit,duration,slots");
        csv += if constrained { ",max_wall_clock_time,max_task_retry_count,retention\n" } else { "\n" };
        for d in &done {
            let _ = write!(csv, "{},{},{}", seconds(at(d)), seconds(d.run), d.slots);
            if constrained {
                let o = own(d);
                let text = |d: Option<SimDuration>| d.map_or(String::new(), |d| d.written().to_string());
                let retries = o.max_task_retry_count.map_or(String::new(), |r| r.to_string());
                let _ = write!(csv, ",{},{retries},{}", text(o.max_wall_clock_time), text(o.retention));
            }
            csv.push('\n');
        }
        files.push((out.join(&name), csv.into_bytes()));
        t["trace"] = value(name);
    } else {
        let number: HashMap<&str, u32> = done.iter().enumerate().map(|(n, d)| (d.id.as_str(), n as u32)).collect();
        // Ranges name numeric ids: looked up by range, never walked id by id.
        let numeric: BTreeMap<u64, u32> =
            done.iter().enumerate().filter_map(|(n, d)| Some((d.id.parse::<u64>().ok()?, n as u32))).collect();
        let mut list = Array::new();
        let mut dropped = 0;
        for (n, d) in done.iter().enumerate() {
            let mut e = InlineTable::new();
            e.insert("at", at(d).written().to_string().into());
            e.insert("duration", d.run.written().to_string().into());
            if d.slots != 1 {
                e.insert("slots", i64::from(d.slots).into());
            }
            if d.instances != 1 {
                e.insert("instances", i64::from(d.instances).into());
            }
            let o = own(d);
            if let Some(limit) = o.max_wall_clock_time {
                e.insert("max_wall_clock_time", limit.written().to_string().into());
            }
            if let Some(retries) = o.max_task_retry_count {
                e.insert("max_task_retry_count", i64::from(retries).into());
            }
            if let Some(retention) = o.retention {
                e.insert("retention", retention.written().to_string().into());
            }
            e.insert("id", (n as i64).into());
            let mut deps = Array::new();
            if let Some(on) = &d.depends_on {
                let by_id = on.task_ids.iter().map(|dep| number.get(dep.as_str()).copied());
                let in_ranges = on
                    .task_id_ranges
                    .iter()
                    .filter(|r| r.start <= r.end)
                    .flat_map(|r| numeric.range(r.start..=r.end).map(|(_, &k)| Some(k)));
                for dep in by_id.chain(in_ranges) {
                    // Only tasks imported, and created before it: a scenario's dependencies point back.
                    match dep {
                        Some(k) if (k as usize) < n => deps.push(i64::from(k)),
                        _ => dropped += 1,
                    }
                }
            }
            if !deps.is_empty() {
                e.insert("depends_on", deps.into());
            }
            list.push(e);
            if let Some(last) = list.iter_mut().last() {
                last.decor_mut().set_prefix("\n  ");
            }
        }
        list.set_trailing("\n");
        list.set_trailing_comma(true);
        if dropped > 0 {
            notes.push(format!("job {id}: {dropped} dependencies on tasks not imported (or created later) dropped"));
        }
        t["tasks"] = value(list);
    }
    Ok(t)
}

/// How long the service keeps a task's data by default, as the scenario does.
const DEFAULT_RETENTION: SimDuration = SimDuration(7 * 86_400_000);

/// A task's constraints that differ from its job's.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Own {
    max_wall_clock_time: Option<SimDuration>,
    max_task_retry_count: Option<i32>,
    retention: Option<SimDuration>,
}

impl Own {
    fn is_empty(&self) -> bool {
        self.max_wall_clock_time.is_none() && self.max_task_retry_count.is_none() && self.retention.is_none()
    }
}

/// `1 task has`, `2 tasks have`.
pub(super) fn tasks(n: usize, one: &str, many: &str) -> String {
    if n == 1 { format!("1 task {one}") } else { format!("{n} tasks {many}") }
}

/// Seconds with milliseconds, as a CSV trace takes them.
fn seconds(d: SimDuration) -> String {
    let ms = d.as_millis();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// A job id as a file name: letters, digits, `-` and `_` kept.
fn file_stem(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}
