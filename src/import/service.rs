//! The service's JSON, as its REST API and command-line client print a
//! pool and a job's tasks (camelCase). Only the fields the import maps
//! are read; the service adds fields over time, so others are ignored.

use autoscale_runtime::Timestamp;
use serde::Deserialize;

use crate::time::SimDuration;

/// A pool (`az batch pool show`, `GET /pools/{id}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Pool {
    pub id: Option<String>,
    pub vm_size: Option<String>,
    pub task_slots_per_node: Option<u32>,
    pub task_scheduling_policy: Option<TaskSchedulingPolicy>,
    pub enable_auto_scale: Option<bool>,
    pub auto_scale_formula: Option<String>,
    pub auto_scale_evaluation_interval: Option<String>,
    pub resize_timeout: Option<String>,
    pub target_dedicated_nodes: Option<u32>,
    pub target_low_priority_nodes: Option<u32>,
    pub start_task: Option<StartTask>,
    pub virtual_machine_configuration: Option<VirtualMachineConfiguration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskSchedulingPolicy {
    pub node_fill_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StartTask {
    pub command_line: Option<String>,
    pub wait_for_success: Option<bool>,
    pub max_task_retry_count: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VirtualMachineConfiguration {
    pub image_reference: Option<ImageReference>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageReference {
    /// Set for a shared-gallery image (or a managed image), not a marketplace one.
    pub virtual_machine_image_id: Option<String>,
}

/// A task (`az batch task list`, `GET /jobs/{id}/tasks`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Task {
    pub id: String,
    /// `https://ACCOUNT…/jobs/JOB/tasks/TASK`: the job's id is in it.
    pub url: Option<String>,
    pub creation_time: Option<String>,
    pub state: Option<String>,
    pub command_line: Option<String>,
    pub required_slots: Option<u32>,
    pub constraints: Option<Constraints>,
    pub execution_info: Option<ExecutionInfo>,
    pub multi_instance_settings: Option<MultiInstanceSettings>,
    pub depends_on: Option<DependsOn>,
}

impl Task {
    /// The job id in the task's URL, if it has one.
    pub fn job_id(&self) -> Option<&str> {
        let url = self.url.as_deref()?;
        let after = &url[url.find("/jobs/")? + "/jobs/".len()..];
        after.split('/').next().filter(|id| !id.is_empty())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Constraints {
    pub max_wall_clock_time: Option<String>,
    pub max_task_retry_count: Option<i32>,
    pub retention_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionInfo {
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub exit_code: Option<i32>,
    pub retry_count: Option<u32>,
    pub requeue_count: Option<u32>,
    /// `success` or `failure`.
    pub result: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MultiInstanceSettings {
    pub number_of_instances: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DependsOn {
    pub task_ids: Vec<String>,
    pub task_id_ranges: Vec<IdRange>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IdRange {
    pub start: u64,
    pub end: u64,
}

/// A task list as printed: an array, or one REST page (`value`, and
/// `odata.nextLink` when more pages follow).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum TaskList {
    Array(Vec<Task>),
    Page {
        value: Vec<Task>,
        #[serde(rename = "odata.nextLink")]
        next_link: Option<String>,
    },
}

/// An ISO 8601 duration as the service prints them (`PT15M`, `P1DT2H`,
/// `PT0.5S`): `None` for the service's "unlimited"
/// (`P10675199DT2H48M5.4775807S`, printed for constraints never set) and
/// anything of a year or more; an error for other text.
pub fn duration(text: &str) -> Result<Option<SimDuration>, String> {
    let bad = || format!("`{text}` is not an ISO 8601 duration such as PT15M");
    let rest = text.strip_prefix('P').ok_or_else(bad)?;
    let (days, time) = match rest.split_once('T') {
        Some((days, time)) => (days, time),
        None => (rest, ""),
    };
    let mut ms: f64 = 0.0;
    let mut add = |part: &str, units: &[(char, f64)]| -> Result<(), String> {
        let mut number = String::new();
        for c in part.chars() {
            match units.iter().find(|(unit, _)| *unit == c) {
                Some((_, scale)) if !number.is_empty() => {
                    ms += number.parse::<f64>().map_err(|_| bad())? * scale;
                    number.clear();
                }
                _ if c.is_ascii_digit() || c == '.' => number.push(c),
                _ => return Err(bad()),
            }
        }
        if number.is_empty() { Ok(()) } else { Err(bad()) }
    };
    add(days, &[('W', 7.0 * 86_400_000.0), ('D', 86_400_000.0)])?;
    add(time, &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1000.0)])?;
    if rest.is_empty() || rest == "T" {
        return Err(bad());
    }
    // Anything of a year or more is "no limit" for a simulation of at most a year.
    Ok((ms < 366.0 * 86_400_000.0).then(|| SimDuration::from_millis_f64(ms)))
}

/// The optional duration of the export's `field`: `None` when absent or
/// unlimited; an error naming the field for other text.
pub fn field_duration(text: Option<&str>, field: &str) -> Result<Option<SimDuration>, String> {
    text.map(duration).transpose().map(Option::flatten).map_err(|e| format!("{field}: {e}"))
}

/// A span of ticks (100 ns, as the service's times count), to the
/// nearest millisecond; a negative span counts as 0.
pub fn ticks_to_millis(ticks: i64) -> SimDuration {
    SimDuration((ticks.max(0) as u64 + 5_000) / 10_000)
}

/// A time as the service prints it (`2016-11-21T22:43:31.4733476Z`).
pub fn timestamp(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|_| format!("`{text}` is not a time such as 2016-11-21T22:43:31.4733476Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNLIMITED: &str = "P10675199DT2H48M5.4775807S";

    #[test]
    fn iso_durations_as_the_service_prints_them() {
        let ms = |text| duration(text).unwrap().map(|d| d.as_millis());
        assert_eq!(ms("PT15M"), Some(900_000));
        assert_eq!(ms("PT5M30.25S"), Some(330_250));
        assert_eq!(ms("P1DT2H"), Some(93_600_000));
        assert_eq!(ms("P2D"), Some(172_800_000));
        assert_eq!(ms("P1W"), Some(604_800_000));
        assert_eq!(ms(UNLIMITED), None);
        for bad in ["15m", "P", "PT", "PT15", "PTM", "P1H", "PT1D", "PT1.2.3S"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_task_page_or_array_and_the_job_in_its_url() {
        let page: TaskList = serde_json::from_str(
            r#"{"value": [{"id": "t1", "url": "https://a.b.batch.azure.com/jobs/render/tasks/t1", "extra": 1}],
                "odata.nextLink": "https://a.b.batch.azure.com/jobs/render/tasks?skiptoken=x"}"#,
        )
        .unwrap();
        let TaskList::Page { value, next_link } = page else { panic!("a page") };
        assert_eq!((value[0].job_id(), next_link.is_some()), (Some("render"), true));
        let array: TaskList = serde_json::from_str(r#"[{"id": "t2"}]"#).unwrap();
        assert!(matches!(array, TaskList::Array(tasks) if tasks[0].job_id().is_none()));
    }
}
