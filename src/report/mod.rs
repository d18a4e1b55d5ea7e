//! What a simulation run leaves behind: the summary (as text for people
//! and as `summary.json`) with where the money went, the files
//! `timeline.csv`, `evaluations.jsonl`, `operations.jsonl`, `tasks.csv`
//! and `job_tasks.csv` (tasks and timeline as parquet with the `parquet`
//! feature), the charts and `report.html` (for several pools, each pool's
//! in a folder of its own, and the account's summary: `account.rs`); and
//! the comparisons of `compare`, `sweep` and `merge`.
//!
//! Every file is written to a temporary name in the output folder and
//! renamed when complete, so a reader never sees half a file.
#![forbid(unsafe_code)]

pub mod account;
pub mod breakdown;
pub mod charts;
pub mod compare;
mod files;
pub mod params;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod run_charts;
pub mod run_report;
mod split;
mod streamed;
mod summary;
pub mod sweep;

pub use files::{ReportError, write_others};
pub use split::Split;
pub use streamed::{EvaluationsJsonl, JobTasksCsv, OutFormat, RunFiles, TasksCsv, TimelineCsv, write_all};
pub use summary::{Evaluations, Summary, TaskCounts, Waits};
