//! `report.html` of one run (`run --out`): the summary, where the money
//! went, the charts inline, the evaluations (the failed ones
//! highlighted), the resize errors and the slowest tasks — one page with
//! no script and no external file, that opens from disk and offline.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::breakdown::MINIMUM_AND_ROUNDING;
use super::charts::{ChartError, esc, io_error, page_head};
use super::run_charts;
use super::summary::Summary;
use crate::atomic_write::write_atomically;
use crate::sim::Output;
use crate::time::SimTime;

/// How many of the slowest tasks the page lists: as many as the run keeps.
pub use crate::sim::SLOWEST;

/// A failed evaluation's row stands out without relying on colour: bold,
/// and its error in the last column.
const CSS: &str = "tr.failed td{background:#fde0cc;font-weight:bold}";

/// Writes the run's charts and `report.html` into `dir`; returns the
/// files written.
pub fn write(output: &Output, summary: &Summary, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    let (mut written, svgs) = run_charts::write_run(output, dir)?;
    let path = dir.join("report.html");
    write_atomically(&path, html(output, summary, &svgs).as_bytes()).map_err(|e| io_error(&path, e))?;
    written.push(path);
    Ok(written)
}

/// The page.
pub fn html(output: &Output, summary: &Summary, svgs: &[String]) -> String {
    let title = format!("{}: run", esc(&output.name));
    let mut h = page_head(&title, CSS);
    let _ = writeln!(h, "<h1>{title}</h1>");
    let _ = writeln!(h, "<h2>Summary</h2>\n<pre>{}</pre>", esc(&summary.to_text(output.duration)));
    breakdown(&mut h, summary);
    let _ = writeln!(h, "<h2>Charts</h2>");
    for svg in svgs {
        let _ = writeln!(h, "<figure>\n{svg}\n</figure>");
    }
    evaluations(&mut h, output);
    resize_errors(&mut h, output);
    slowest(&mut h, output);
    let _ = writeln!(h, "</body>\n</html>");
    h
}

/// The breakdown as a table: every line with any time or cost.
fn breakdown(h: &mut String, summary: &Summary) {
    let b = &summary.where_the_money_went;
    let _ = writeln!(h, "<h2>Where the money went</h2>\n<table>");
    let _ = writeln!(
        h,
        "<tr><th>node state</th><th>cost</th><th>share</th><th>node-hours</th>\
         <th>dedicated cost</th><th>low-priority cost</th></tr>"
    );
    for l in b.lines.iter().filter(|l| l.cost.total > 0.0 || l.node_hours.total > 0.0) {
        let name = if l.state == MINIMUM_AND_ROUNDING { "minimum charge and rounding" } else { l.state };
        let _ = writeln!(
            h,
            "<tr><td>{name}</td><td>{:.2}</td><td>{:.1}&nbsp;%</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            l.cost.total,
            l.share * 100.0,
            l.node_hours.total,
            l.cost.dedicated,
            l.cost.low_priority
        );
    }
    let _ = writeln!(
        h,
        "<tr><th>total</th><th>{:.2}</th><th>100&nbsp;%</th><th>{:.2}</th><th>{:.2}</th><th>{:.2}</th></tr>\n</table>",
        summary.cost.total, summary.node_hours.total, summary.cost.dedicated, summary.cost.low_priority
    );
    let utilisation = b.utilisation.map_or_else(|| "no node billed".to_owned(), |u| format!("{:.1}&nbsp;%", u * 100.0));
    let _ = writeln!(
        h,
        "<p>Utilisation (share of the billed node time that ran tasks): {utilisation}. \
         Work lost to requeues and preemptions: {:.2} task-hours, {:.2} of the running cost. \
         The minimum charge and rounding line is what the 60-s minimum and the per-second rounding \
         of each billed period add to the exact billed time.</p>",
        b.lost_work.task_hours.total, b.lost_work.cost.total
    );
}

/// Every evaluation kept: time, results string or error; the failed ones
/// marked. A long run that wrote them as it went kept a bounded copy,
/// evenly spaced: the page says how many of them it lists.
fn evaluations(h: &mut String, output: &Output) {
    let tally = output.evaluation_tally;
    if tally.count == 0 {
        return;
    }
    let _ = write!(
        h,
        "<h2>Evaluations</h2>\n<p>{} evaluations, {} failed (marked <b>FAILED</b>, in bold).",
        tally.count, tally.failed
    );
    let listed = output.evaluations.len() as u64;
    if listed < tally.count {
        let _ = write!(
            h,
            " {listed} of them, evenly spaced, are listed here; <code>evaluations.jsonl</code> has all of them."
        );
    }
    let _ = writeln!(h, "</p>\n<table>\n<tr><th>time</th><th>results</th><th>error</th></tr>");
    for e in &output.evaluations {
        let (class, error) = match &e.error {
            Some(err) => {
                let values: Vec<String> = err.values.iter().map(|v| format!("{}: {}", v.name, v.value)).collect();
                (" class=\"failed\"", format!("FAILED: {} ({})", err.code, esc(&values.join("; "))))
            }
            None => ("", String::new()),
        };
        let _ = writeln!(
            h,
            "<tr{class}><td>{}</td><td style=\"text-align:left\"><code>{}</code></td><td style=\"text-align:left\">{error}</td></tr>",
            output.timestamp(e.time),
            esc(&e.results)
        );
    }
    let _ = writeln!(h, "</table>");
}

/// Every resize error: time, code, message.
fn resize_errors(h: &mut String, output: &Output) {
    let _ = writeln!(h, "<h2>Resize errors</h2>");
    if output.resize_errors.is_empty() {
        let _ = writeln!(h, "<p>None.</p>");
        return;
    }
    let _ = writeln!(h, "<table>\n<tr><th>time</th><th>code</th><th>message</th></tr>");
    for e in &output.resize_errors {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            output.timestamp(e.time),
            e.code.as_str(),
            esc(&e.message)
        );
    }
    let _ = writeln!(h, "</table>");
}

/// The tasks that took longest from submission to their end (or to the
/// end of the run, for those that had not ended), with their wait.
fn slowest(h: &mut String, output: &Output) {
    let end = SimTime(output.duration.as_millis());
    // The longest first; ties in submission order.
    let tasks = output.task_tally.slowest(end);
    let _ = writeln!(
        h,
        "<h2>Slowest tasks</h2>\n<p>The {SLOWEST} tasks longest from submission to their end \
         (or to the end of the run).</p>\n<table>\n\
         <tr><th>task</th><th>job</th><th>submitted</th><th>waited</th><th>submission to end</th>\
         <th>attempts</th><th>outcome</th></tr>"
    );
    for (i, t, took) in tasks {
        let waited = t.first_start().map_or_else(|| "never started".to_owned(), |s| s.since(t.submit).to_string());
        let _ = writeln!(
            h,
            "<tr><td>{i}</td><td>{}</td><td>{}</td><td>{waited}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(output.jobs.get(t.job as usize).map_or("", String::as_str)),
            output.timestamp(t.submit),
            crate::time::SimDuration(took),
            t.attempts,
            t.state.name()
        );
    }
    let _ = writeln!(h, "</table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use crate::sim::{EvaluationRecord, Recording, Recordings, Simulation, Sink};

    #[test]
    fn failed_evaluations_stand_out_and_the_slowest_tasks_come_first() {
        // The first evaluation sees no sample yet: `max` of an empty list fails.
        let text = r#"
            duration = "1h"
            [pool]
            vm = { cores = 2, dedicated_price = 3.6 }
            autoscale = { formula = "$TargetDedicatedNodes = max($ActiveTasks.GetSample(1));", interval = "15m" }
            [[jobs]]
            tasks = [{ duration = "10m" }, { at = "30m", duration = "5m" }]
        "#;
        let scenario = Scenario::from_toml(text, "t.toml", "t", Path::new(".")).unwrap();
        let output = Simulation::new(scenario, None).run(&mut |_| {});
        let summary = Summary::of(&output);
        let page = html(&output, &summary, &[]);
        let failed: Vec<&str> = page.lines().filter(|l| l.starts_with("<tr class=\"failed\">")).collect();
        assert_eq!(failed.len(), 1, "{page}");
        assert!(
            failed[0].contains(
                "FAILED: AutoScalingFormulaEvaluationError (Message: Line 1, Col 25: max() of an empty list)"
            ),
            "{}",
            failed[0]
        );
        let ok = page.lines().filter(|l| l.starts_with("<tr><td>2024-01-01T")).count();
        assert_eq!(ok, 4, "the evaluations that succeeded, at 15, 30, 45 and 60 min");
        // The first task waits for the pool that the 15-min evaluation
        // starts: it is the slower one, and listed first.
        let slowest = &page[page.find("<h2>Slowest tasks</h2>").unwrap()..];
        let first = slowest.lines().find(|l| l.starts_with("<tr><td>")).unwrap();
        assert!(first.starts_with("<tr><td>0</td>"), "{first}");
        assert!(page.contains("<td>running</td><td>0.90</td>"), "the 10-min and 5-min runs at 3.6 an hour");
    }

    /// A sink that writes nothing.
    #[derive(Debug)]
    struct Discard;

    impl Sink<EvaluationRecord> for Discard {
        fn put(&mut self, _: &EvaluationRecord) {}

        fn close(self: Box<Self>) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_run_that_sent_more_evaluations_than_it_kept_says_how_many_are_listed() {
        let text = r#"
            duration = "30d"
            [pool]
            vm = { cores = 2, dedicated_price = 1.0 }
            autoscale = { formula = "$TargetDedicatedNodes = 1;", interval = "5m" }
        "#;
        let scenario = Scenario::from_toml(text, "t.toml", "t", Path::new(".")).unwrap();
        let recordings = Recordings { evaluations: Recording::Send(Box::new(Discard)), ..Recordings::counted() };
        let output = Simulation::new(scenario, None).send_records_to(recordings).run(&mut |_| {});
        let page = html(&output, &Summary::of(&output), &[]);
        // 8 641 evaluations, halved once past 8 192: every other one.
        assert!(
            page.contains(
                "<p>8641 evaluations, 0 failed (marked <b>FAILED</b>, in bold). 4321 of them, evenly spaced, \
                 are listed here; <code>evaluations.jsonl</code> has all of them.</p>"
            ),
            "{}",
            &page[page.find("<h2>Evaluations").unwrap()..][..300]
        );
        assert_eq!(page.lines().filter(|l| l.starts_with("<tr><td>2024-")).count(), 4321);
    }
}
