//! `--out-format parquet`: `tasks.parquet` and `timeline.parquet`, columnar
//! files for readers such as pandas, polars and DuckDB, instead of
//! `tasks.csv` and `timeline.csv`. Behind the `parquet` cargo feature, so
//! that the default build does not compile the parquet crate (its cost is
//! in docs/performance.md). Times are integer milliseconds since the start
//! (`*_ms` columns), exactly as the simulation keeps them; an empty CSV
//! cell is a null. Rows are buffered a row group at a time
//! ([`ROW_GROUP`]), so memory does not grow with the file, and the file
//! takes its name only when complete, as every output file.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use autoscale_runtime::Timestamp;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::ReportError;
use crate::atomic_write::TempFile;
use crate::sim::{NodeState, Priority, Sink, Task, TaskFailure, TaskSink, TimelineRow};

/// Rows per row group: the buffered columns (a text cell is its own
/// allocation) take about 350 bytes a row, so a group of 1 048 576 rows
/// added 350 MiB to the month benchmark's peak; this many, about 45 MiB.
pub const ROW_GROUP: usize = 1 << 17;

/// A column's type in the schema, and whether it may be null.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int64,
    Int32,
    Double,
    Text,
}

/// One column's values in the row group being filled.
#[derive(Debug)]
enum Values {
    Int64(Vec<i64>),
    Int32(Vec<i32>),
    Double(Vec<f64>),
    Text(Vec<ByteArray>),
}

/// One column: its values, and for an optional column one definition
/// level per row (1 present, 0 null).
#[derive(Debug)]
struct Column {
    values: Values,
    defs: Option<Vec<i16>>,
}

/// A parquet file being written: the columns of its current row group.
#[derive(Debug)]
struct Table {
    path: PathBuf,
    temp: TempFile,
    writer: SerializedFileWriter<BufWriter<File>>,
    columns: Vec<Column>,
    rows: usize,
}

/// A cell of a row, in column order.
enum Cell<'a> {
    Int64(Option<i64>),
    Int32(Option<i32>),
    Double(f64),
    Text(Option<&'a str>),
}

impl Table {
    /// Starts the file `name` in `dir` (created if missing) with `columns`
    /// (name, kind, optional).
    fn create(dir: &Path, name: &str, columns: &[(String, Kind, bool)]) -> Result<Table, ReportError> {
        let (path, temp, file) = super::files::start_file(dir, name)?;
        let fail = |e: &dyn std::fmt::Display| ReportError::Io { path: path.clone(), message: e.to_string() };
        let fields: Vec<String> = columns
            .iter()
            .map(|(name, kind, optional)| {
                let repetition = if *optional { "OPTIONAL" } else { "REQUIRED" };
                match kind {
                    Kind::Int64 => format!("{repetition} INT64 {name};"),
                    Kind::Int32 => format!("{repetition} INT32 {name};"),
                    Kind::Double => format!("{repetition} DOUBLE {name};"),
                    Kind::Text => format!("{repetition} BYTE_ARRAY {name} (UTF8);"),
                }
            })
            .collect();
        let schema = parse_message_type(&format!("message {} {{ {} }}", name.replace('.', "_"), fields.join(" ")))
            .map_err(|e| fail(&e))?;
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let writer =
            SerializedFileWriter::new(BufWriter::new(file), Arc::new(schema), Arc::new(props)).map_err(|e| fail(&e))?;
        let columns = columns
            .iter()
            .map(|&(_, kind, optional)| Column {
                values: match kind {
                    Kind::Int64 => Values::Int64(Vec::new()),
                    Kind::Int32 => Values::Int32(Vec::new()),
                    Kind::Double => Values::Double(Vec::new()),
                    Kind::Text => Values::Text(Vec::new()),
                },
                defs: optional.then(Vec::new),
            })
            .collect();
        Ok(Table { path, temp, writer, columns, rows: 0 })
    }

    /// Adds a row: one cell per column, of the column's kind.
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ParquetError> {
        for (column, cell) in self.columns.iter_mut().zip(cells) {
            let present = match (&mut column.values, cell) {
                (Values::Int64(v), Cell::Int64(x)) => x.map(|x| v.push(x)).is_some(),
                (Values::Int32(v), Cell::Int32(x)) => x.map(|x| v.push(x)).is_some(),
                (Values::Double(v), Cell::Double(x)) => {
                    v.push(*x);
                    true
                }
                (Values::Text(v), Cell::Text(x)) => x.map(|x| v.push(ByteArray::from(x))).is_some(),
                _ => return Err(ParquetError::General("a cell of the wrong type".into())),
            };
            match &mut column.defs {
                Some(defs) => defs.push(i16::from(present)),
                None if !present => return Err(ParquetError::General("a null in a required column".into())),
                None => {}
            }
        }
        self.rows += 1;
        if self.rows == ROW_GROUP { self.flush() } else { Ok(()) }
    }

    /// Writes the buffered rows as a row group.
    fn flush(&mut self) -> Result<(), ParquetError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        for column in &mut self.columns {
            let Some(mut writer) = group.next_column()? else {
                return Err(ParquetError::General("fewer columns in the schema than in the table".into()));
            };
            let defs = column.defs.as_deref();
            match &column.values {
                Values::Int64(v) => writer.typed::<Int64Type>().write_batch(v, defs, None)?,
                Values::Int32(v) => writer.typed::<Int32Type>().write_batch(v, defs, None)?,
                Values::Double(v) => writer.typed::<DoubleType>().write_batch(v, defs, None)?,
                Values::Text(v) => writer.typed::<ByteArrayType>().write_batch(v, defs, None)?,
            };
            writer.close()?;
            match &mut column.values {
                Values::Int64(v) => v.clear(),
                Values::Int32(v) => v.clear(),
                Values::Double(v) => v.clear(),
                Values::Text(v) => v.clear(),
            }
            if let Some(defs) = &mut column.defs {
                defs.clear();
            }
        }
        group.close()?;
        self.rows = 0;
        Ok(())
    }

    /// Writes what is buffered and the footer, and gives the file its name.
    fn close(mut self) -> Result<PathBuf, ReportError> {
        let path = self.path.clone();
        let fail = |e: &dyn std::fmt::Display| ReportError::Io { path: path.clone(), message: e.to_string() };
        self.flush().map_err(|e| fail(&e))?;
        let buffered = self.writer.into_inner().map_err(|e| fail(&e))?;
        let file = buffered.into_inner().map_err(|e| fail(&e.into_error()))?;
        self.temp.persist_file(file).map_err(|e| fail(&e))?;
        Ok(path)
    }
}

/// `tasks.parquet` written as the run goes, as [`super::TasksCsv`] writes
/// `tasks.csv`: the same columns, times in ms.
#[derive(Debug)]
pub struct TasksParquet {
    table: Table,
    jobs: Vec<String>,
    /// The first error met; nothing more is written after it.
    error: Option<ParquetError>,
}

impl TasksParquet {
    /// Starts `tasks.parquet` in `dir` (created if missing) for a run of
    /// `jobs` (ids by index).
    pub fn create(dir: &Path, jobs: Vec<String>) -> Result<TasksParquet, ReportError> {
        let columns = [
            ("task", Kind::Int64, false),
            ("job", Kind::Text, false),
            ("submit_ms", Kind::Int64, false),
            ("start_ms", Kind::Int64, true),
            ("end_ms", Kind::Int64, true),
            ("node", Kind::Int64, true),
            ("attempts", Kind::Int32, false),
            ("outcome", Kind::Text, false),
            ("exit_code", Kind::Int32, true),
            ("failure", Kind::Text, true),
            ("role", Kind::Text, false),
        ]
        .map(|(name, kind, optional)| (name.to_owned(), kind, optional));
        Ok(TasksParquet { table: Table::create(dir, "tasks.parquet", &columns)?, jobs, error: None })
    }
}

/// Milliseconds as a parquet INT64 (a simulated time is far below 2^63 ms).
fn ms(t: crate::time::SimTime) -> i64 {
    t.as_millis() as i64
}

impl TaskSink for TasksParquet {
    fn task(&mut self, number: u32, t: &Task) {
        if self.error.is_some() {
            return;
        }
        let job = self.jobs.get(t.job as usize).map_or("", String::as_str);
        let row = [
            Cell::Int64(Some(i64::from(number))),
            Cell::Text(Some(job)),
            Cell::Int64(Some(ms(t.submit))),
            Cell::Int64(t.first_start().map(ms)),
            Cell::Int64(t.end().map(ms)),
            Cell::Int64(t.node().map(i64::from)),
            Cell::Int32(Some(i32::from(t.attempts))),
            Cell::Text(Some(t.state.name())),
            Cell::Int32(t.exit_code),
            Cell::Text(t.failure.map(TaskFailure::name)),
            Cell::Text(Some(t.role.name())),
        ];
        self.error = self.table.row(&row).err();
    }

    fn close(self: Box<Self>) -> std::io::Result<()> {
        let TasksParquet { table, error, .. } = *self;
        if let Some(e) = error {
            return Err(std::io::Error::other(e));
        }
        table.close().map(drop).map_err(std::io::Error::other)
    }
}

/// `timeline.parquet` written as the run goes (a [`Sink`] of timeline rows): the
/// columns of `timeline.csv`, the time as `elapsed_ms`, a row per sample
/// at full resolution.
#[derive(Debug)]
pub struct TimelineParquet {
    table: Table,
    /// The wall-clock instant of time zero, for the `time` column.
    start: Timestamp,
    /// The first error met; nothing more is written after it.
    error: Option<ParquetError>,
}

impl TimelineParquet {
    /// Starts `timeline.parquet` in `dir` (created if missing) for a run
    /// whose time zero is `start`.
    pub fn create(dir: &Path, start: Timestamp) -> Result<TimelineParquet, ReportError> {
        let mut columns: Vec<(String, Kind, bool)> = vec![
            ("time".into(), Kind::Text, false),
            ("elapsed_ms".into(), Kind::Int64, false),
            ("allocation_state".into(), Kind::Text, false),
            ("target_dedicated".into(), Kind::Int64, false),
            ("target_low_priority".into(), Kind::Int64, false),
        ];
        for p in Priority::ALL {
            for s in NodeState::ALL {
                columns.push((format!("{}_{}", p.name(), s.name()), Kind::Int64, false));
            }
        }
        for name in ["active_tasks", "running_tasks", "succeeded_tasks", "failed_tasks"] {
            columns.push((name.into(), Kind::Int64, false));
        }
        columns.push(("cpu_percent".into(), Kind::Double, false));
        columns.push(("cost".into(), Kind::Double, false));
        columns.push(("resize_errors".into(), Kind::Text, false));
        Ok(TimelineParquet { table: Table::create(dir, "timeline.parquet", &columns)?, start, error: None })
    }
}

impl Sink<TimelineRow> for TimelineParquet {
    fn put(&mut self, row: &TimelineRow) {
        if self.error.is_some() {
            return;
        }
        let time = crate::time::wall_clock(self.start, row.time).to_string();
        let errors = row.errors.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" ");
        let mut cells = vec![
            Cell::Text(Some(&time)),
            Cell::Int64(Some(ms(row.time))),
            Cell::Text(Some(row.allocation_state.name())),
            Cell::Int64(Some(i64::from(row.target[0]))),
            Cell::Int64(Some(i64::from(row.target[1]))),
        ];
        cells.extend(row.nodes.iter().flat_map(|n| n.iter()).map(|&n| Cell::Int64(Some(i64::from(n)))));
        cells.extend([
            Cell::Int64(Some(i64::from(row.active_tasks))),
            Cell::Int64(Some(i64::from(row.running_tasks))),
            Cell::Int64(Some(row.succeeded as i64)),
            Cell::Int64(Some(row.failed as i64)),
            Cell::Double(row.cpu_percent),
            Cell::Double(row.cost),
            Cell::Text(Some(&errors)),
        ]);
        self.error = self.table.row(&cells).err();
    }

    fn close(self: Box<Self>) -> std::io::Result<()> {
        let TimelineParquet { table, error, .. } = *self;
        if let Some(e) = error {
            return Err(std::io::Error::other(e));
        }
        table.close().map(drop).map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::{Field, Row};

    use super::*;
    use crate::scenario::Scenario;
    use crate::sim::Simulation;

    /// The rows of the parquet file at `path`.
    fn rows(path: &Path) -> Vec<Row> {
        let reader = SerializedFileReader::new(File::open(path).expect("the file")).expect("a parquet file");
        reader.get_row_iter(None).expect("rows").map(|r| r.expect("a row")).collect()
    }

    /// Cell `i` of `row`, as text (`null` for a null).
    fn cell(row: &Row, i: usize) -> String {
        match row.get_column_iter().nth(i).map(|(_, f)| f) {
            Some(Field::Null) | None => "null".to_owned(),
            Some(Field::Str(s)) => s.clone(),
            Some(field) => field.to_string(),
        }
    }

    #[test]
    fn tasks_and_timeline_read_back_as_the_run_recorded_them() {
        // Two nodes, four 20-minute tasks and two that outlast the hour:
        // one runs at the end, one never starts.
        let text = r#"
            duration = "1h"
            [pool]
            vm = { cores = 1, dedicated_price = 0.10 }
            target_dedicated = 2
            [[jobs]]
            id = "j"
            tasks = [{ duration = "20m", count = 4 }, { duration = "3h", count = 2 }]
        "#;
        let scenario = Scenario::from_toml(text, "t.toml", "t", ".".as_ref()).expect("the scenario");
        let output = Simulation::new(scenario, None).run(&mut |_| {});
        let dir = std::env::temp_dir().join(format!("autoscale-sim-parquet-{}", std::process::id()));
        let mut tasks = Box::new(TasksParquet::create(&dir, output.jobs.clone()).expect("created"));
        for (i, t) in output.tasks.iter().enumerate() {
            tasks.task(i as u32, t);
        }
        tasks.close().expect("written");
        // A folder not created yet: `run --out` starts the timeline first.
        let fresh = dir.join("fresh");
        let mut timeline = Box::new(TimelineParquet::create(&fresh, output.start).expect("created"));
        for row in &output.timeline {
            timeline.put(row);
        }
        timeline.close().expect("written");

        let read = rows(&dir.join("tasks.parquet"));
        let got: Vec<Vec<String>> = read.iter().map(|r| (0..11).map(|i| cell(r, i)).collect()).collect();
        let want = [
            ["0", "j", "0", "240000", "1440000", "0", "1", "succeeded", "0", "null", "task"],
            ["1", "j", "0", "240000", "1440000", "1", "1", "succeeded", "0", "null", "task"],
            ["2", "j", "0", "1440000", "2640000", "0", "1", "succeeded", "0", "null", "task"],
            ["3", "j", "0", "1440000", "2640000", "1", "1", "succeeded", "0", "null", "task"],
            ["4", "j", "0", "2640000", "null", "0", "1", "running", "null", "null", "task"],
            ["5", "j", "0", "2640000", "null", "1", "1", "running", "null", "null", "task"],
        ];
        assert_eq!(got, want.map(|r| r.map(String::from).to_vec()).to_vec());
        let nodes: Vec<String> =
            output.tasks.iter().map(|t| t.node().map_or("null".into(), |n| n.to_string())).collect();
        assert_eq!(nodes, got.iter().map(|r| r[5].clone()).collect::<Vec<_>>(), "as the run recorded them");

        let timeline = rows(&fresh.join("timeline.parquet"));
        assert_eq!(timeline.len(), output.timeline.len());
        let last = (timeline.last().expect("a row"), output.timeline.last().expect("a row"));
        assert_eq!(cell(last.0, 1), last.1.time.as_millis().to_string());
        assert_eq!(cell(last.0, 0), output.timestamp(last.1.time).to_string());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
