//! The charts of one run (`run --out`): the nodes by state as stacked
//! areas under the target, the queue with the tasks running, and the cost
//! accrued by state — on the scenario's clock, with the evaluations and
//! the resize errors marked.
//!
//! The colours are Okabe and Ito's, which readers with any common colour
//! vision deficiency tell apart; every band is also named on the chart
//! where it is widest and in the legend in stacking order, and the marks
//! differ in shape, so no reading depends on colour alone.

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::breakdown::Attribution;
#[cfg(test)]
use super::charts::SIZE;
use super::charts::{ChartError, Draw, PlotArea, Render, font, io_error, message, write_chart};
use crate::sim::{NodeState, Output, TimelineRow};
use crate::time::SimTime;

/// The charts `run --out` writes, each as `.svg` and `.png`.
pub const RUN_CHARTS: [&str; 3] = ["nodes", "queue", "cost"];

const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
const SKY_BLUE: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
const YELLOW: RGBColor = RGBColor(0xF0, 0xE4, 0x42);
const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
const GREY: RGBColor = RGBColor(0x99, 0x99, 0x99);
const LIGHT_GREY: RGBColor = RGBColor(0xCC, 0xCC, 0xCC);

/// The bands of the stacks, bottom first: each node state is in one.
/// Idle is vermillion, the colour that reads as waste.
pub const GROUPS: [(&str, RGBColor, &[NodeState]); 8] = [
    ("running", BLUE, &[NodeState::Running]),
    ("idle", VERMILLION, &[NodeState::Idle]),
    ("allocating, booting", SKY_BLUE, &[NodeState::Creating, NodeState::Starting]),
    ("start task", YELLOW, &[NodeState::WaitingForStartTask]),
    ("start task failed, unusable", PURPLE, &[NodeState::StartTaskFailed, NodeState::Unusable]),
    ("leaving", GREEN, &[NodeState::LeavingPool]),
    ("rebooting, reimaging, offline", ORANGE, &[NodeState::Rebooting, NodeState::Reimaging, NodeState::Offline]),
    ("preempted", GREY, &[NodeState::Preempted]),
];

/// At most this many samples per drawn series: a week of 30-s samples
/// would make megabyte SVGs, and a chart 960 pixels wide shows no more.
const MAX_SAMPLES: usize = 600;

/// One band of a stacked chart: its name, its colour, its value at each sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Its name, in the legend and on the band.
    pub label: &'static str,
    /// Its fill.
    pub color: RGBColor,
    /// Its height at each sample.
    pub values: Vec<f64>,
}

/// What the run's charts plot, read from its timeline and records.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSeries {
    /// Hours since the start, one per timeline row.
    pub hours: Vec<f64>,
    /// Nodes by group of states (the groups with any node), bottom first.
    pub nodes: Vec<Band>,
    /// Target nodes, both priorities.
    pub target: Vec<f64>,
    /// Tasks waiting (`$ActiveTasks`).
    pub waiting: Vec<f64>,
    /// Tasks running.
    pub running: Vec<f64>,
    /// Cost accrued by group of states, then the minimum and rounding.
    pub cost: Vec<Band>,
    /// The cost accrued, as the timeline records it.
    pub total_cost: Vec<f64>,
    /// Evaluations: when (hours), and whether they failed.
    pub evaluations: Vec<(f64, bool)>,
    /// Resize errors: when (hours).
    pub resize_errors: Vec<f64>,
}

fn hours(t: SimTime) -> f64 {
    t.as_millis() as f64 / 3_600_000.0
}

impl RunSeries {
    /// The series of `output`'s charts.
    pub fn of(output: &Output) -> RunSeries {
        let rows = &output.timeline;
        let col = |f: &dyn Fn(&TimelineRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
        let nodes = GROUPS
            .iter()
            .map(|&(label, color, states)| Band {
                label,
                color,
                values: col(&|r| {
                    states.iter().map(|&s| f64::from(r.nodes[0][s as usize] + r.nodes[1][s as usize])).sum()
                }),
            })
            .filter(|b| b.values.iter().any(|&v| v > 0.0))
            .collect();
        let attributions: Vec<Attribution> =
            rows.iter().map(|r| Attribution::new(&r.time_in_state, r.charged_seconds)).collect();
        let cost_of = |ms: &dyn Fn(&Attribution) -> [u64; 2]| -> Vec<f64> {
            attributions.iter().map(|a| Attribution::cost(ms(a), output.prices).iter().sum()).collect()
        };
        let mut cost: Vec<Band> = GROUPS
            .iter()
            .filter(|(_, _, states)| states.iter().any(|s| s.billed()))
            .map(|&(label, color, states)| Band {
                label,
                color,
                values: cost_of(&|a| {
                    let per_state = states.iter().map(|&s| a.state_ms(s));
                    per_state.fold([0, 0], |sum, ms| [sum[0] + ms[0], sum[1] + ms[1]])
                }),
            })
            .collect();
        cost.push(Band {
            label: "minimum, rounding",
            color: LIGHT_GREY,
            values: cost_of(&|a| a.minimum_and_rounding_ms),
        });
        cost.retain(|b| b.values.iter().any(|&v| v > 0.0));
        RunSeries {
            hours: col(&|r| hours(r.time)),
            nodes,
            target: col(&|r| f64::from(r.target[0] + r.target[1])),
            waiting: col(&|r| f64::from(r.active_tasks)),
            running: col(&|r| f64::from(r.running_tasks)),
            cost,
            total_cost: col(&|r| r.cost),
            evaluations: output.evaluations.iter().map(|e| (hours(e.time), e.error.is_some())).collect(),
            resize_errors: output.resize_errors.iter().map(|e| hours(e.time)).collect(),
        }
    }
}

/// The time axis: the whole seconds, minutes, hours, days or weeks of the
/// scenario's clock that fall in the run, and their labels (`Mon 06:00`;
/// `Mon 06:00:30` when the ticks are seconds apart, as in a run on real
/// agents that lasts a minute; `Mon 4 Mar` when they are days apart).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeAxis {
    /// The run's length in hours.
    pub end: f64,
    /// The ticks, in hours since the start.
    pub ticks: Vec<f64>,
    /// Their labels.
    pub labels: Vec<String>,
}

/// Tick spacings in seconds: whole clock units.
const TICK_SECONDS: [u64; 21] =
    [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400, 172_800, WEEK];

/// A week in seconds: the longest tick spacing, and its multiples beyond.
const WEEK: u64 = 604_800;

/// At most this many ticks on the time axis.
const MAX_TICKS: u64 = 9;

impl TimeAxis {
    /// The time axis of `output`.
    pub fn of(output: &Output) -> TimeAxis {
        let span_ms = output.duration.as_millis().max(1);
        let seconds = span_ms.div_ceil(1000);
        let step_s = TICK_SECONDS
            .into_iter()
            .find(|&s| seconds / s < MAX_TICKS)
            .unwrap_or_else(|| seconds.div_ceil(MAX_TICKS * WEEK) * WEEK);
        let step = step_s * 1000;
        // Ticks fall on the clock's whole units: multiples of the step
        // since the epoch (a Thursday), weeks from a Monday.
        let start = output.start.unix_ticks().div_euclid(10_000);
        let origin = if step_s % WEEK == 0 { 4 * 86_400_000 } else { 0 };
        let first = (start - origin).rem_euclid(step as i64);
        let first = if first == 0 { 0 } else { step - first as u64 };
        let ticks_ms: Vec<u64> = (0..).map(|k| first + k * step).take_while(|&t| t <= span_ms).collect();
        let unit = match step_s {
            ..60 => Unit::Second,
            60..86_400 => Unit::Minute,
            _ => Unit::Day,
        };
        let labels = ticks_ms.iter().map(|&t| clock_label(output, SimTime(t), unit)).collect();
        TimeAxis {
            end: hours(SimTime(span_ms)),
            ticks: ticks_ms.into_iter().map(|t| hours(SimTime(t))).collect(),
            labels,
        }
    }
}

/// The finest clock unit a time axis' labels show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Second,
    Minute,
    Day,
}

/// `Mon 06:00`, `Mon 06:00:30` to the second, or `Mon 4 Mar` for a day.
fn clock_label(output: &Output, t: SimTime, unit: Unit) -> String {
    use autoscale_runtime::time::TimestampField as F;
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let at = output.timestamp(t);
    let field = |f: F| at.field(f) as usize;
    let weekday = DAYS[(field(F::Weekday) + 6) % 7];
    match unit {
        Unit::Day => format!("{weekday} {} {}", field(F::Day), MONTHS[(field(F::Month) + 11) % 12]),
        Unit::Minute => format!("{weekday} {:02}:{:02}", field(F::Hour), field(F::Minute)),
        Unit::Second => format!("{weekday} {:02}:{:02}:{:02}", field(F::Hour), field(F::Minute), field(F::Second)),
    }
}

/// Ticks from 0 to `top` a round step apart (1, 2 or 5 times a power of
/// ten; whole numbers when `integer`), and the decimals their labels need.
pub fn value_ticks(top: f64, integer: bool) -> (Vec<f64>, usize) {
    let raw = (top / 6.0).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(raw);
    if integer {
        step = step.round().max(1.0);
    }
    let decimals = if integer { 0 } else { (-step.log10().floor()).max(0.0) as usize };
    let ticks = (0..).map(|k| f64::from(k) * step).take_while(|&t| t <= top + step * 1e-9).collect();
    (ticks, decimals)
}

/// A range with a little room above the data, never empty.
fn upper(max: f64) -> f64 {
    if max > 0.0 { max * 1.08 } else { 1.0 }
}

/// Every `k`-th sample index, and the last, so that at most
/// [`MAX_SAMPLES`] are drawn.
fn sampled(n: usize) -> Vec<usize> {
    let k = n.div_ceil(MAX_SAMPLES).max(1);
    let mut idx: Vec<usize> = (0..n).step_by(k).collect();
    if n > 0 && idx.last() != Some(&(n - 1)) {
        idx.push(n - 1);
    }
    idx
}

/// The outline of `values` at the samples `idx`: as steps (a count holds
/// until the next sample) or straight between samples (a running total).
fn outline(xs: &[f64], values: &[f64], idx: &[usize], step: bool) -> Vec<(f64, f64)> {
    let mut points = Vec::with_capacity(idx.len() * 2);
    for (j, &i) in idx.iter().enumerate() {
        points.push((xs[i], values[i]));
        if step && let Some(&next) = idx.get(j + 1) {
            points.push((xs[next], values[i]));
        }
    }
    points
}

/// A line over a stacked chart: its legend label, style, dashed or not, values.
struct Line<'a> {
    label: &'a str,
    style: ShapeStyle,
    dashed: bool,
    values: &'a [f64],
}

/// One of the run's charts.
enum RunChart<'a> {
    Nodes(&'a RunSeries, &'a TimeAxis),
    Queue(&'a RunSeries, &'a TimeAxis),
    Cost(&'a RunSeries, &'a TimeAxis),
}

impl Draw for RunChart<'_> {
    /// The same drawing for every backend: its lines are few and thin
    /// enough that plotters strokes them whole on bitmaps too.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _render: Render) -> Result<PlotArea, String> {
        let area = self.draw_in(root)?;
        root.present().map_err(message)?;
        Ok(area)
    }
}

impl RunChart<'_> {
    /// Draws the chart; returns its plotting area in pixels (x, y).
    fn draw_in<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(Range<i32>, Range<i32>), String> {
        root.fill(&WHITE).map_err(message)?;
        let black = BLACK.stroke_width(2);
        let area = match *self {
            RunChart::Nodes(s, axis) => {
                let target = Line { label: "target (black line)", style: black, dashed: false, values: &s.target };
                let title = "Nodes by state, and the target";
                let plot =
                    Plot { title, y_desc: "nodes", bands: &s.nodes, lines: &[target], counts: true, marks: true };
                plot.draw(root, axis, s)
            }
            RunChart::Queue(s, axis) => {
                let waiting = Line {
                    label: "tasks waiting (solid)",
                    style: BLUE.stroke_width(2),
                    dashed: false,
                    values: &s.waiting,
                };
                let running = Line {
                    label: "tasks running (dashed)",
                    style: ORANGE.stroke_width(2),
                    dashed: true,
                    values: &s.running,
                };
                let title = "Tasks waiting and running";
                let plot =
                    Plot { title, y_desc: "tasks", bands: &[], lines: &[waiting, running], counts: true, marks: true };
                plot.draw(root, axis, s)
            }
            RunChart::Cost(s, axis) => {
                let total = Line { label: "total (black line)", style: black, dashed: false, values: &s.total_cost };
                let title = "Cost accrued, by node state";
                let y_desc = "cost (price currency)";
                let plot = Plot { title, y_desc, bands: &s.cost, lines: &[total], counts: false, marks: false };
                plot.draw(root, axis, s)
            }
        }?;
        root.present().map_err(message)?;
        Ok(area)
    }
}

/// The width of the legend column, right of the plot, in pixels: the
/// legend never hides data.
const LEGEND_WIDTH: u32 = 220;

/// An entry of the legend: what it shows, and its label.
enum Key<'a> {
    /// A band's colour.
    Swatch(RGBColor, &'a str),
    /// A line, dashed or not.
    Line(ShapeStyle, bool, &'a str),
    /// The evaluations' tick.
    Tick(&'a str),
    /// A failed evaluation's cross.
    Cross(&'a str),
    /// A resize error's triangle.
    Triangle(&'a str),
}

/// An evaluation's tick: thin grey.
fn tick_style() -> ShapeStyle {
    BLACK.mix(0.55).stroke_width(1)
}

/// A failed evaluation's cross: thick vermillion.
fn failed_style() -> ShapeStyle {
    VERMILLION.stroke_width(2)
}

/// A resize error's triangle: filled black.
fn error_style() -> ShapeStyle {
    BLACK.filled()
}

/// A chart over the run's time.
struct Plot<'a> {
    /// Its title.
    title: &'a str,
    /// What the values are.
    y_desc: &'a str,
    /// Stacked bottom first, and named.
    bands: &'a [Band],
    /// Drawn over the bands.
    lines: &'a [Line<'a>],
    /// Counts: whole ticks, drawn as steps (a count holds until the next
    /// sample); otherwise totals, straight between samples.
    counts: bool,
    /// Whether the evaluations and resize errors are marked.
    marks: bool,
}

impl Plot<'_> {
    /// Draws it on `root`; returns the plotting area in pixels (x, y).
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        axis: &TimeAxis,
        s: &RunSeries,
    ) -> Result<(Range<i32>, Range<i32>), String> {
        let Plot { title, y_desc, bands, lines, counts: integer, marks } = *self;
        let n = s.hours.len();
        let mut tops = vec![0.0; n];
        let mut stack = Vec::with_capacity(bands.len());
        for band in bands {
            let lower = tops.clone();
            for (t, v) in tops.iter_mut().zip(&band.values) {
                *t += v;
            }
            stack.push((band, lower, tops.clone()));
        }
        let max = lines.iter().flat_map(|l| l.values.iter()).chain(&tops).copied().fold(0.0, f64::max);
        let top = upper(max);
        let (y_ticks, decimals) = value_ticks(top, integer);
        let (width, _) = root.dim_in_pixel();
        let (plot, side) = root.split_horizontally(width.saturating_sub(LEGEND_WIDTH));
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, ("sans-serif", 22).into_font())
            .margin(16)
            .margin_right(36)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..axis.end.max(1e-9), 0.0..top)
            .map_err(message)?;
        // Plotters places ticks where its own algorithm likes; the axes are
        // drawn here instead, at the clock's whole units and round values.
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(0)
            .x_desc("scenario time (UTC)")
            .y_desc(y_desc)
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(message)?;
        let x_ticks: Vec<(f64, String)> = axis.ticks.iter().copied().zip(axis.labels.iter().cloned()).collect();
        let y_ticks: Vec<(f64, String)> = y_ticks.into_iter().map(|v| (v, format!("{v:.decimals$}"))).collect();
        draw_ticks(&plot, &mut chart, &x_ticks, &y_ticks, top, axis.end)?;
        let idx = sampled(n);
        let mut keys = Vec::new();
        for (band, lower, upper) in &stack {
            let mut polygon = outline(&s.hours, upper, &idx, integer);
            polygon.extend(outline(&s.hours, lower, &idx, integer).into_iter().rev());
            chart.draw_series(std::iter::once(Polygon::new(polygon, band.color.filled()))).map_err(message)?;
            keys.push(Key::Swatch(band.color, band.label));
        }
        name_bands(&mut chart, &s.hours, &stack, top)?;
        for line in lines {
            let points = outline(&s.hours, line.values, &idx, integer);
            if line.dashed {
                chart.draw_series(DashedLineSeries::new(points, 8, 5, line.style)).map_err(message)?;
            } else {
                chart.draw_series(LineSeries::new(points, line.style)).map_err(message)?;
            }
            keys.push(Key::Line(line.style, line.dashed, line.label));
        }
        if marks {
            draw_marks(&mut chart, s, top, &mut keys)?;
        }
        draw_legend(&side, &keys)?;
        Ok(chart.plotting_area().get_pixel_range())
    }
}

/// The chart context of every run chart.
type Chart2d<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Light grid lines at the ticks, inside the plot, and the tick labels
/// outside it: below the time axis, left of the value axis.
fn draw_ticks<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    chart: &mut Chart2d<'_, DB>,
    x_ticks: &[(f64, String)],
    y_ticks: &[(f64, String)],
    top: f64,
    end: f64,
) -> Result<(), String> {
    let grid = BLACK.mix(0.12).stroke_width(1);
    let font = ("sans-serif", 15).into_font();
    chart.draw_series(x_ticks.iter().map(|(x, _)| PathElement::new([(*x, 0.0), (*x, top)], grid))).map_err(message)?;
    chart.draw_series(y_ticks.iter().map(|(y, _)| PathElement::new([(0.0, *y), (end, *y)], grid))).map_err(message)?;
    // The plot is the left part of the page: its pixels are the page's.
    let below = TextStyle::from(font.clone()).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
    for (x, label) in x_ticks {
        let (px, py) = chart.backend_coord(&(*x, 0.0));
        plot.draw(&Text::new(label.clone(), (px, py + 6), below.clone())).map_err(message)?;
    }
    let left = TextStyle::from(font).color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center));
    for (y, label) in y_ticks {
        let (px, py) = chart.backend_coord(&(0.0, *y));
        plot.draw(&Text::new(label.clone(), (px - 6, py), left.clone())).map_err(message)?;
    }
    Ok(())
}

/// Writes each band's name on it, where it stays thickest over a stretch
/// wide enough for the text, when that is thick enough and clear of the
/// names already written.
fn name_bands<DB: DrawingBackend>(
    chart: &mut Chart2d<'_, DB>,
    xs: &[f64],
    stack: &[(&Band, Vec<f64>, Vec<f64>)],
    top: f64,
) -> Result<(), String> {
    let n = xs.len();
    let mut placed: Vec<(Range<i32>, Range<i32>)> = Vec::new();
    for (band, lower, upper) in stack {
        // Half the text's width, in samples (about 8 pixels a character
        // on a plot some 650 pixels wide).
        let half = (n * band.label.len() * 8 / 2 / 650).max(1);
        // Over the text's stretch around sample `i`: the band's lowest top
        // and highest bottom, between which the text stays on the band.
        let span = |i: usize| {
            let window = i.saturating_sub(half)..(i + half + 1).min(n);
            let top = window.clone().map(|j| upper[j]).fold(f64::INFINITY, f64::min);
            let bottom = window.map(|j| lower[j]).fold(f64::NEG_INFINITY, f64::max);
            (bottom, top)
        };
        // The middle of the first stretch where the band is thickest.
        let spans: Vec<(f64, f64)> = (half..n.saturating_sub(half)).map(span).collect();
        let thickest = spans.iter().map(|(b, t)| t - b).fold(f64::NEG_INFINITY, f64::max);
        let Some(first) = spans.iter().position(|(b, t)| t - b >= thickest) else {
            continue;
        };
        let stretch = spans[first..].iter().take_while(|(b, t)| t - b >= thickest).count();
        let middle = first + stretch / 2;
        let (i, (bottom, top_of_band)) = (half + middle, spans[middle]);
        if top_of_band - bottom < 0.06 * top {
            continue;
        }
        let at = (xs[i], (bottom + top_of_band) / 2.0);
        let (px, py) = chart.backend_coord(&at);
        let width = (band.label.len() * 8) as i32;
        let bounds = (px - width / 2..px + width / 2, py - 9..py + 9);
        let overlaps = |b: &(Range<i32>, Range<i32>)| {
            b.0.start < bounds.0.end && bounds.0.start < b.0.end && b.1.start < bounds.1.end && bounds.1.start < b.1.end
        };
        if placed.iter().any(overlaps) {
            continue;
        }
        placed.push(bounds);
        // White on the dark bands, black on the light ones.
        let RGBColor(r, g, b) = band.color;
        let dark = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b) < 110.0;
        let ink = if dark { WHITE } else { BLACK };
        let style =
            TextStyle::from(("sans-serif", 14).into_font()).color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
        chart.draw_series(std::iter::once(Text::new(band.label, at, style))).map_err(message)?;
    }
    Ok(())
}

/// The evaluations as short ticks on the time axis (a failed one as a
/// cross above them), and the resize errors as triangles at the top.
fn draw_marks<'a, DB: DrawingBackend>(
    chart: &mut Chart2d<'_, DB>,
    s: &RunSeries,
    top: f64,
    keys: &mut Vec<Key<'a>>,
) -> Result<(), String> {
    let ok: Vec<f64> = s.evaluations.iter().filter(|e| !e.1).map(|e| e.0).collect();
    if !ok.is_empty() {
        let tick = top * 0.025;
        chart
            .draw_series(ok.iter().map(|&h| PathElement::new([(h, 0.0), (h, tick)], tick_style())))
            .map_err(message)?;
        keys.push(Key::Tick("evaluation (tick)"));
    }
    let failed: Vec<f64> = s.evaluations.iter().filter(|e| e.1).map(|e| e.0).collect();
    if !failed.is_empty() {
        chart.draw_series(failed.iter().map(|&h| Cross::new((h, top * 0.06), 5, failed_style()))).map_err(message)?;
        keys.push(Key::Cross("failed evaluation (cross)"));
    }
    if !s.resize_errors.is_empty() {
        chart
            .draw_series(s.resize_errors.iter().map(|&h| TriangleMarker::new((h, top * 0.95), 6, error_style())))
            .map_err(message)?;
        keys.push(Key::Triangle("resize error (triangle)"));
    }
    Ok(())
}

/// The legend, in the column right of the plot: the bands in stacking
/// order (top of the list: bottom of the stack), then the lines and marks.
fn draw_legend<DB: DrawingBackend>(side: &DrawingArea<DB, Shift>, keys: &[Key<'_>]) -> Result<(), String> {
    let style = TextStyle::from(("sans-serif", 14).into_font()).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    for (k, key) in keys.iter().enumerate() {
        let y = 64 + 24 * k as i32;
        let (x, label) = (4, 32);
        let text = match *key {
            Key::Swatch(color, text) => {
                side.draw(&Rectangle::new([(x, y - 7), (x + 20, y + 7)], color.filled())).map_err(message)?;
                text
            }
            Key::Line(line, dashed, text) => {
                if dashed {
                    side.draw(&PathElement::new([(x, y), (x + 8, y)], line)).map_err(message)?;
                    side.draw(&PathElement::new([(x + 12, y), (x + 20, y)], line)).map_err(message)?;
                } else {
                    side.draw(&PathElement::new([(x, y), (x + 20, y)], line)).map_err(message)?;
                }
                text
            }
            Key::Tick(text) => {
                side.draw(&PathElement::new([(x + 10, y - 7), (x + 10, y + 7)], tick_style())).map_err(message)?;
                text
            }
            Key::Cross(text) => {
                side.draw(&Cross::new((x + 10, y), 5, failed_style())).map_err(message)?;
                text
            }
            Key::Triangle(text) => {
                side.draw(&TriangleMarker::new((x + 10, y), 6, error_style())).map_err(message)?;
                text
            }
        };
        side.draw(&Text::new(text, (x + label, y), style.clone())).map_err(message)?;
    }
    Ok(())
}

/// Writes the run's charts into `dir`, each as SVG and PNG; returns the
/// files written and the SVGs, for `report.html`.
pub fn write_run(output: &Output, dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>), ChartError> {
    font()?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let series = RunSeries::of(output);
    let axis = TimeAxis::of(output);
    let charts = [RunChart::Nodes(&series, &axis), RunChart::Queue(&series, &axis), RunChart::Cost(&series, &axis)];
    let (mut written, mut svgs) = (Vec::new(), Vec::new());
    for (stem, chart) in RUN_CHARTS.iter().zip(charts) {
        let (files, svg) = write_chart(dir, stem, &chart)?;
        written.extend(files);
        svgs.push(svg);
    }
    Ok((written, svgs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use crate::sim::Simulation;

    fn bundled(name: &str) -> Output {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations").join(name);
        let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        Simulation::new(scenario, None).run(&mut |_| {})
    }

    #[test]
    fn every_state_is_in_one_group() {
        for state in NodeState::ALL {
            let groups = GROUPS.iter().filter(|g| g.2.contains(&state)).count();
            assert_eq!(groups, 1, "{}", state.name());
        }
    }

    #[test]
    fn value_ticks_are_round_and_counts_whole() {
        assert_eq!(value_ticks(27.0, true), (vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0], 0));
        assert_eq!(value_ticks(3.2, true), (vec![0.0, 1.0, 2.0, 3.0], 0));
        assert_eq!(value_ticks(1.0, true), (vec![0.0, 1.0], 0));
        let (ticks, decimals) = value_ticks(0.5, false);
        assert_eq!((ticks.len(), ticks[5], decimals), (6, 0.5, 1));
    }

    #[test]
    fn the_time_axis_ticks_whole_clock_units() {
        let day = TimeAxis::of(&bundled("bursty-day.toml"));
        assert_eq!(day.ticks, (0..=8).map(|k| f64::from(3 * k)).collect::<Vec<_>>());
        assert_eq!((day.labels[0].as_str(), day.labels[2].as_str()), ("Mon 00:00", "Mon 06:00"));
        assert_eq!(day.labels[8], "Tue 00:00");
        let half_day = TimeAxis::of(&bundled("quota-bound.toml"));
        assert_eq!((half_day.labels[0].as_str(), half_day.ticks[1]), ("Mon 06:00", 2.0));
        let week = TimeAxis::of(&bundled("working-week.toml"));
        assert_eq!(
            week.labels,
            ["Mon 4 Mar", "Tue 5 Mar", "Wed 6 Mar", "Thu 7 Mar", "Fri 8 Mar", "Sat 9 Mar", "Sun 10 Mar", "Mon 11 Mar"]
        );
    }

    /// A run of a minute and a quarter (one on real agents that stops when
    /// its few tasks are done) is ticked every 10 s, labelled to the second.
    #[test]
    fn a_run_of_seconds_is_ticked_in_seconds() {
        let text = "start = \"2024-03-04T08:00:00Z\"\nduration = \"75s\"\n[pool]\n\
                    vm = { cores = 1, dedicated_price = 1.0 }\ntarget_dedicated = 1\n";
        let scenario = Scenario::from_toml(text, "short.toml", "short", Path::new(".")).unwrap();
        let axis = TimeAxis::of(&Simulation::new(scenario, None).run(&mut |_| {}));
        assert_eq!(axis.ticks, (0..8).map(|k| f64::from(10 * k) / 3600.0).collect::<Vec<_>>());
        assert_eq!((axis.labels[0].as_str(), axis.labels[7].as_str()), ("Mon 08:00:00", "Mon 08:01:10"));
        assert_eq!(axis.end, 75.0 / 3600.0);
    }

    #[test]
    fn the_series_are_the_timeline_s() {
        let out = bundled("low-priority-preemption.toml");
        let s = RunSeries::of(&out);
        assert_eq!(s.hours.len(), out.timeline.len());
        assert!(s.nodes.iter().any(|b| b.label == "preempted"), "the scenario preempts nodes");
        for (i, row) in out.timeline.iter().enumerate() {
            let nodes: u32 = row.nodes.iter().flatten().sum();
            let stacked: f64 = s.nodes.iter().map(|b| b.values[i]).sum();
            assert_eq!(stacked, f64::from(nodes), "row {i}");
            assert_eq!((s.waiting[i], s.running[i]), (f64::from(row.active_tasks), f64::from(row.running_tasks)));
            assert_eq!(s.target[i], f64::from(row.target[0] + row.target[1]));
            let cost: f64 = s.cost.iter().map(|b| b.values[i]).sum();
            assert!((cost - row.cost).abs() < 1e-9, "row {i}: {cost} != {}", row.cost);
            assert_eq!(s.total_cost[i], row.cost);
        }
        assert_eq!(s.evaluations.len(), out.evaluations.len());
        assert_eq!(s.resize_errors.len(), out.resize_errors.len());
    }

    /// A small run on fixed timings: two nodes boot for 3 min and run
    /// three 10-min tasks; at 40 min the pool shrinks to one node.
    fn small_run() -> Output {
        let text = r#"
            start = "2024-03-04T08:00:00Z"
            duration = "1h"
            [pool]
            vm = { cores = 2, dedicated_price = 3.6 }
            allocation_time = "2m"
            boot_time = "3m"
            target_dedicated = 2
            resizes = [{ at = "40m", target_dedicated = 1 }]
            [[jobs]]
            tasks = [{ duration = "10m", count = 3 }]
        "#;
        let scenario = Scenario::from_toml(text, "small.toml", "small", Path::new(".")).unwrap();
        Simulation::new(scenario, None).run(&mut |_| {})
    }

    #[test]
    fn the_nodes_chart_of_a_small_run_is_as_reviewed() {
        let out = small_run();
        let (series, axis) = (RunSeries::of(&out), TimeAxis::of(&out));
        font().unwrap();
        let mut svg = String::new();
        RunChart::Nodes(&series, &axis).draw_in(&SVGBackend::with_string(&mut svg, SIZE).into_drawing_area()).unwrap();
        insta::assert_snapshot!(svg);
    }

    /// Every point of `svg`'s polygons and polylines, element by element.
    fn shapes(svg: &str) -> Vec<Vec<(i32, i32)>> {
        svg.split("<poly")
            .skip(1)
            .filter_map(|e| {
                let points = e.split("points=\"").nth(1)?.split('"').next()?;
                let parse = |p: &str| {
                    let (x, y) = p.split_once(',')?;
                    Some((x.parse().ok()?, y.parse().ok()?))
                };
                Some(points.split_whitespace().filter_map(parse).collect())
            })
            .collect()
    }

    #[test]
    fn nothing_is_drawn_outside_the_plot_and_svg_and_png_agree() {
        for name in ["bursty-day.toml", "quota-bound.toml", "low-priority-preemption.toml"] {
            let out = bundled(name);
            let (series, axis) = (RunSeries::of(&out), TimeAxis::of(&out));
            font().unwrap();
            for chart in
                [RunChart::Nodes(&series, &axis), RunChart::Queue(&series, &axis), RunChart::Cost(&series, &axis)]
            {
                let mut svg = String::new();
                let area = chart.draw_in(&SVGBackend::with_string(&mut svg, SIZE).into_drawing_area()).unwrap();
                let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
                let png_area =
                    chart.draw_in(&BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area()).unwrap();
                assert_eq!(area, png_area, "{name}");
                let legend = (SIZE.0 - LEGEND_WIDTH) as i32;
                let (xs, ys) = (area.0.start - 1..area.0.end + 1, area.1.start - 1..area.1.end + 1);
                let shapes = shapes(&svg);
                assert!(shapes.len() > 10, "{name}");
                for shape in shapes.iter().filter(|s| s.iter().any(|p| p.0 < legend)) {
                    for p in shape {
                        assert!(xs.contains(&p.0) && ys.contains(&p.1), "{name}: {p:?} outside {xs:?} × {ys:?}");
                    }
                }
            }
        }
    }
}
