//! What a simulation run leaves behind: the summary (as text for people
//! and as `summary.json`), and the files `timeline.csv`,
//! `evaluations.jsonl`, `operations.jsonl`, `tasks.csv` and `job_tasks.csv`.
//!
//! Every file is written to a temporary name in the output folder and
//! renamed when complete, so a reader never sees half a file.
#![forbid(unsafe_code)]

pub mod charts;
pub mod compare;
mod files;
pub mod params;
mod summary;
pub mod sweep;

pub use files::{ReportError, write_all};
pub use summary::{Evaluations, Split, Summary, TaskCounts, Waits};
