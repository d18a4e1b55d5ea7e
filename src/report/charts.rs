//! Charts of runs and comparisons, drawn with plotters as SVG and PNG, and
//! the one-page `report.html` that inlines the SVGs.
//!
//! The font is DejaVu Sans, embedded in the binary (see
//! `assets/fonts/DejaVuSans-LICENSE.txt`), so charts render the same on a
//! machine with no fonts installed — a CI runner or a container.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::{BackendCoord, DrawingErrorKind};

use super::compare::{Comparison, Series, mean_ci};
use crate::atomic_write::{TempFile, write_atomically};

/// DejaVu Sans, registered as plotters' `sans-serif`.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Width and height of every chart, in pixels.
pub const SIZE: (u32, u32) = (960, 540);

/// The charts `compare --out` writes, each as `.svg` and `.png`.
pub const COMPARE_CHARTS: [&str; 5] = ["nodes", "queue", "cost", "cost-vs-wait", "cost-distribution"];

/// Why a chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The embedded font was rejected (a build problem, not an input one).
    #[error("the embedded font cannot be loaded")]
    Font,
    /// Plotters failed while drawing: the chart and its message.
    #[error("cannot draw {chart}: {message}")]
    Draw {
        /// The chart's file stem.
        chart: String,
        /// Plotters' reason.
        message: String,
    },
    /// The folder or a file could not be created, written or renamed.
    #[error("cannot write {path}: {message}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
}

/// Registers the embedded font once per process.
pub(super) fn font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

/// One chart's data, drawn the same way on any backend.
enum Chart<'a> {
    /// Target (dashed) and current nodes per formula and priority.
    Nodes(&'a [(String, &'a Series)]),
    /// Tasks waiting, per formula.
    Queue(&'a [(String, &'a Series)]),
    /// Cost accrued, per formula.
    Cost(&'a [(String, &'a Series)]),
    /// One point per formula and seed.
    Scatter(&'a Comparison),
    /// A box per formula.
    Distribution(&'a Comparison),
    /// The points `tune` evaluated, their Pareto front and the feasible region.
    TradeOff(&'a TradeOff),
}

/// What `tune` evaluated, as a chart: one point per parameter set, a wait
/// across and the objective up. Plain numbers, so that this module needs
/// nothing from `tune`.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeOff {
    /// The chart's title.
    pub title: String,
    /// What is across (a wait, in minutes).
    pub x_desc: String,
    /// What is up (the objective).
    pub y_desc: String,
    /// Each point: across, up, whether it meets every objective.
    pub points: Vec<(f64, f64, bool)>,
    /// The bound on what is across, when there is one: the region left of it is shaded.
    pub x_limit: Option<f64>,
}

/// The points no other point beats on both axes (both minimised), from
/// left to right.
fn pareto(points: &[(f64, f64, bool)]) -> Vec<(f64, f64)> {
    let mut sorted: Vec<(f64, f64)> = points.iter().map(|&(x, y, _)| (x, y)).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut front: Vec<(f64, f64)> = Vec::new();
    for p in sorted {
        if front.last().is_none_or(|last| p.1 < last.1) {
            front.push(p);
        }
    }
    front
}

/// A line to draw: legend label, style, dashed or not, points.
type Line = (String, ShapeStyle, bool, Vec<(f64, f64)>);

/// The plot area of a drawn chart, in pixels: columns and rows.
pub(super) type PlotArea = (std::ops::Range<i32>, std::ops::Range<i32>);

/// How a backend draws lines wider than a pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stroke {
    /// As one path: SVG joins its segments itself.
    Path,
    /// Segment by segment: plotters turns a wide path into one polygon for
    /// a bitmap, which a step line (a spike up and down one pixel column,
    /// two points on the same pixel) breaks into gaps and miter spikes
    /// running off the chart; each segment alone is a plain quadrilateral.
    Segments,
}

/// How a chart is drawn: its lines, and whether with its legend (a chart
/// always has one; the tests draw it without, to find where it went).
#[derive(Debug, Clone, Copy)]
pub(super) struct Render {
    stroke: Stroke,
    legend: bool,
}

/// A line drawn as separate segments with the backend's own `draw_line`
/// (see [`Stroke::Segments`]), skipping segments that round to no length.
struct Segments {
    points: Vec<(f64, f64)>,
    style: ShapeStyle,
}

impl<'a> PointCollection<'a, (f64, f64)> for &'a Segments {
    type Point = &'a (f64, f64);
    type IntoIter = &'a [(f64, f64)];
    fn point_iter(self) -> &'a [(f64, f64)] {
        &self.points
    }
}

impl<DB: DrawingBackend> Drawable<DB> for Segments {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        pixels: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let mut from: Option<BackendCoord> = None;
        for to in pixels {
            match from {
                Some(f) if f == to => continue,
                Some(f) => backend.draw_line(f, to, &self.style)?,
                None => {}
            }
            from = Some(to);
        }
        Ok(())
    }
}

/// At most this many points per line: a week of 30 s samples would make
/// megabyte SVGs, and a chart 960 pixels wide shows no more.
const MAX_POINTS: usize = 1000;

/// The points of a step function, keeping only the changes (node counts
/// change rarely, so this is both exact and small), then capped.
fn steps(xs: &[f64], ys: &[f64]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (i, (&x, &y)) in xs.iter().zip(ys).enumerate() {
        match out.last() {
            Some(&(_, prev)) if prev == y && i + 1 < xs.len() => {}
            Some(&(_, prev)) => {
                out.push((x, prev));
                out.push((x, y));
            }
            None => out.push((x, y)),
        }
    }
    cap(out)
}

/// Keeps every k-th point, and each bucket's maximum so that spikes stay visible.
fn cap(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let k = points.len().div_ceil(MAX_POINTS / 2);
    points
        .chunks(k)
        .flat_map(|c| {
            let first = c[0];
            let top = c.iter().copied().fold(first, |a, b| if b.1 > a.1 { b } else { a });
            if top.0 > first.0 { vec![first, top] } else { vec![first] }
        })
        .collect()
}

fn max_of<'a>(values: impl Iterator<Item = &'a f64>) -> f64 {
    values.copied().fold(0.0, f64::max)
}

/// A range with a little room above the data, never empty.
fn upper(max: f64) -> f64 {
    if max > 0.0 { max * 1.08 } else { 1.0 }
}

/// A chart that draws the same on any backend: SVG and PNG are one
/// drawing, but for how `render` strokes wide lines.
pub(super) trait Draw {
    /// Draws the chart on `root` and presents it; returns where the plot area is.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, render: Render) -> Result<PlotArea, String>;
}

impl Draw for Chart<'_> {
    /// Draws the chart on `root`: a white page, the chart, and its legend;
    /// returns where the plot area is.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, render: Render) -> Result<PlotArea, String> {
        root.fill(&WHITE).map_err(message)?;
        let area = match self {
            Chart::Nodes(runs) => {
                draw_lines(root, render, "Nodes over time (dashed: target)", "nodes", runs, node_lines(runs))
            }
            Chart::Queue(runs) => {
                draw_lines(root, render, "Queue length over time", "tasks waiting", runs, queue_lines(runs))
            }
            Chart::Cost(runs) => {
                draw_lines(root, render, "Cumulative cost", "cost (price currency)", runs, cost_lines(runs))
            }
            Chart::Scatter(c) => draw_scatter(root, render, c),
            Chart::Distribution(c) => draw_distribution(root, render, c),
            Chart::TradeOff(t) => draw_trade_off(root, render, t),
        }?;
        root.present().map_err(message)?;
        Ok(area)
    }
}

/// Plotters' error as the message of [`ChartError::Draw`].
pub(super) fn message<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// What every chart starts from: its title above, room for the axes' labels.
fn frame<'a, DB: DrawingBackend>(root: &'a DrawingArea<DB, Shift>, title: &str) -> ChartBuilder<'a, 'static, DB> {
    let mut builder = ChartBuilder::on(root);
    builder.caption(title, ("sans-serif", 22).into_font()).margin(16).x_label_area_size(48).y_label_area_size(64);
    builder
}

/// Per run, the target (thin, dashed) and current (thick) node counts:
/// dedicated, then low-priority (paler) when the run has any.
fn node_lines(runs: &[(String, &Series)]) -> Vec<Line> {
    let mut lines = Vec::new();
    for (i, (name, s)) in runs.iter().enumerate() {
        let color = Palette99::pick(i);
        let low = s.target[1].iter().chain(&s.current[1]).any(|&v| v > 0.0);
        for (p, label) in [(0, "dedicated"), (1, "low-priority")] {
            if p == 1 && !low {
                continue;
            }
            let style = if p == 0 { color.stroke_width(2) } else { color.mix(0.55).stroke_width(2) };
            let thin = if p == 0 { color.stroke_width(1) } else { color.mix(0.55).stroke_width(1) };
            lines.push((format!("{name} target {label}"), thin, true, steps(&s.hours, &s.target[p])));
            lines.push((format!("{name} current {label}"), style, false, steps(&s.hours, &s.current[p])));
        }
    }
    lines
}

/// Per run, the tasks waiting.
fn queue_lines(runs: &[(String, &Series)]) -> Vec<Line> {
    let line = |i: usize, (name, s): &(String, &Series)| {
        (name.clone(), Palette99::pick(i).stroke_width(2), false, steps(&s.hours, &s.queue))
    };
    runs.iter().enumerate().map(|(i, run)| line(i, run)).collect()
}

/// Per run, the cost accrued.
fn cost_lines(runs: &[(String, &Series)]) -> Vec<Line> {
    let line = |i: usize, (name, s): &(String, &Series)| {
        let points = cap(s.hours.iter().copied().zip(s.cost.iter().copied()).collect());
        (name.clone(), Palette99::pick(i).stroke_width(2), false, points)
    };
    runs.iter().enumerate().map(|(i, run)| line(i, run)).collect()
}

/// A chart of `lines` against the hours since the start, as long as the
/// longest run, with the legend in the upper left.
fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    render: Render,
    title: &str,
    y_desc: &str,
    runs: &[(String, &Series)],
    lines: Vec<Line>,
) -> Result<PlotArea, String> {
    let hours = runs.iter().map(|(_, s)| s.hours.last().copied().unwrap_or(0.0)).fold(0.0, f64::max);
    let top = upper(lines.iter().flat_map(|l| l.3.iter().map(|p| p.1)).fold(0.0, f64::max));
    let mut chart = frame(root, title).build_cartesian_2d(0.0..hours.max(1e-9), 0.0..top).map_err(message)?;
    chart
        .configure_mesh()
        .x_desc("time since start (hours)")
        .y_desc(y_desc)
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(message)?;
    for (label, style, dashed, points) in lines {
        let series = match (dashed, render.stroke) {
            (true, _) => chart.draw_series(DashedLineSeries::new(points, 6, 4, style)),
            (false, Stroke::Path) => chart.draw_series(LineSeries::new(points, style)),
            (false, Stroke::Segments) => chart.draw_series(std::iter::once(Segments { points, style })),
        }
        .map_err(message)?;
        series.label(label).legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    }
    legend(&mut chart, render, SeriesLabelPosition::UpperLeft).map_err(message)?;
    Ok(chart.plotting_area().get_pixel_range())
}

/// Cost against p95 queue wait: one point per formula and seed.
fn draw_scatter<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    render: Render,
    c: &Comparison,
) -> Result<PlotArea, String> {
    let points: Vec<Vec<(f64, f64)>> =
        c.runs.iter().map(|runs| runs.iter().map(|r| (r.p95_wait_s.unwrap_or(0.0) / 60.0, r.cost)).collect()).collect();
    let x_top = upper(max_of(points.iter().flatten().map(|p| &p.0)));
    let y_top = upper(max_of(points.iter().flatten().map(|p| &p.1)));
    let mut chart = frame(root, "Cost against p95 queue wait, one point per seed")
        .build_cartesian_2d(0.0..x_top, 0.0..y_top)
        .map_err(message)?;
    chart
        .configure_mesh()
        .x_desc("p95 queue wait (minutes)")
        .y_desc("cost (price currency)")
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(message)?;
    for (i, (name, pts)) in c.formulas.iter().zip(points).enumerate() {
        let color = Palette99::pick(i);
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 5, color.filled())))
            .map_err(message)?
            .label(name.clone())
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
    }
    legend(&mut chart, render, SeriesLabelPosition::LowerRight).map_err(message)?;
    Ok(chart.plotting_area().get_pixel_range())
}

/// The feasible region shaded, the points (filled: feasible) and their
/// Pareto front.
fn draw_trade_off<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    render: Render,
    t: &TradeOff,
) -> Result<PlotArea, String> {
    let x_top = upper(max_of(t.points.iter().map(|p| &p.0)).max(t.x_limit.unwrap_or(0.0)));
    let y_top = upper(max_of(t.points.iter().map(|p| &p.1)));
    let mut chart = frame(root, &t.title).build_cartesian_2d(0.0..x_top, 0.0..y_top).map_err(message)?;
    chart
        .configure_mesh()
        .x_desc(t.x_desc.as_str())
        .y_desc(t.y_desc.as_str())
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(message)?;
    if let Some(limit) = t.x_limit {
        let shade = GREEN.mix(0.12);
        chart
            .draw_series(std::iter::once(Rectangle::new([(0.0, 0.0), (limit, y_top)], shade.filled())))
            .map_err(message)?
            .label("where the wait objective is met")
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], shade.filled()));
    }
    let front = pareto(&t.points);
    let style = RED.stroke_width(2);
    match render.stroke {
        Stroke::Path => chart.draw_series(LineSeries::new(front, style)),
        Stroke::Segments => chart.draw_series(std::iter::once(Segments { points: front, style })),
    }
    .map_err(message)?
    .label("Pareto front")
    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    let (feasible, infeasible): (Vec<&(f64, f64, bool)>, Vec<_>) = t.points.iter().partition(|p| p.2);
    let blue = BLUE;
    chart
        .draw_series(feasible.into_iter().map(|p| Circle::new((p.0, p.1), 5, blue.filled())))
        .map_err(message)?
        .label("meets every objective")
        .legend(move |(x, y)| Circle::new((x + 10, y), 5, blue.filled()));
    chart
        .draw_series(infeasible.into_iter().map(|p| Circle::new((p.0, p.1), 5, BLACK.mix(0.5).stroke_width(2))))
        .map_err(message)?
        .label("fails an objective")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, BLACK.mix(0.5).stroke_width(2)));
    legend(&mut chart, render, SeriesLabelPosition::UpperRight).map_err(message)?;
    Ok(chart.plotting_area().get_pixel_range())
}

/// A box of each formula's costs over the seeds (the quartiles, the
/// median across it), whiskers to the lowest and highest cost, its mean
/// in the legend. The legend, upper right, gets rows of its own above the
/// data, so that it covers no box.
fn draw_distribution<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    render: Render,
    c: &Comparison,
) -> Result<PlotArea, String> {
    let costs: Vec<Vec<f64>> = (0..c.formulas.len()).map(|f| c.costs(f)).collect();
    let n = c.formulas.len();
    // The plot is about 400 pixels high; a legend row takes 20, its frame 20.
    let legend_share = ((20 * n + 20) as f64 / 400.0).min(0.6);
    let top = upper(max_of(costs.iter().flatten())) / (1.0 - legend_share);
    let mut chart = frame(root, "Cost per run, by formula (box: quartiles, whiskers: range)")
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..top)
        .map_err(message)?;
    let names = c.formulas.clone();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.max(2))
        .x_desc(c.what)
        .y_desc("cost per run (price currency)")
        .label_style(("sans-serif", 16))
        .x_label_formatter(&move |v| {
            let i = v.round();
            let named = (v - i).abs() < 1e-9 && i >= 0.0;
            if named { names.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
        })
        .draw()
        .map_err(message)?;
    for (i, values) in costs.iter().enumerate() {
        let (mean, _) = mean_ci(values);
        let color = Palette99::pick(i);
        let style = color.stroke_width(2);
        let [low, q1, median, q3, high] = five_numbers(values);
        let x = i as f64;
        let (half, cap) = (0.2, 0.1);
        let path = |points: Vec<(f64, f64)>| PathElement::new(points, style);
        let parts = [
            Rectangle::new([(x - half, q1), (x + half, q3)], style).into_dyn(),
            path(vec![(x - half, median), (x + half, median)]).into_dyn(),
            path(vec![(x, q3), (x, high)]).into_dyn(),
            path(vec![(x, q1), (x, low)]).into_dyn(),
            path(vec![(x - cap, high), (x + cap, high)]).into_dyn(),
            path(vec![(x - cap, low), (x + cap, low)]).into_dyn(),
        ];
        chart
            .draw_series(parts)
            .map_err(message)?
            .label(format!("{} (mean {mean:.2})", c.formulas[i]))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], style));
    }
    legend(&mut chart, render, SeriesLabelPosition::UpperRight).map_err(message)?;
    Ok(chart.plotting_area().get_pixel_range())
}

/// The lowest value, the quartiles and the highest, linearly interpolated
/// between the sorted values (as plotters' box plots interpolate them).
fn five_numbers(values: &[f64]) -> [f64; 5] {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let Some(last) = sorted.len().checked_sub(1) else { return 0.0 };
        let rank = q * last as f64;
        let (below, above) = (rank.floor() as usize, rank.ceil() as usize);
        sorted[below] + (sorted[above] - sorted[below]) * (rank - below as f64)
    };
    [at(0.0), at(0.25), at(0.5), at(0.75), at(1.0)]
}

/// Draws the legend box where the chart's data usually leaves room.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    render: Render,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    if !render.legend {
        return Ok(());
    }
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 15))
        .draw()
}

/// Writes `stem.svg` and `stem.png` into `dir`, each under a temporary name
/// renamed when complete; returns the SVG text for the HTML report.
pub(super) fn write_chart(dir: &Path, stem: &str, chart: &impl Draw) -> Result<(Vec<PathBuf>, String), ChartError> {
    let fail = |message: String| ChartError::Draw { chart: stem.to_owned(), message };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        chart.draw(&root, Render { stroke: Stroke::Path, legend: true }).map_err(fail)?;
    }
    let svg_path = dir.join(format!("{stem}.svg"));
    write_atomically(&svg_path, svg.as_bytes()).map_err(|e| io_error(&svg_path, e))?;
    let png_path = dir.join(format!("{stem}.png"));
    // The PNG encoder picks the format from the extension, so the temporary name ends in `.png`.
    let temp = TempFile::beside(&png_path, ".png").map_err(|e| io_error(&png_path, e))?;
    {
        let root = BitMapBackend::new(temp.path(), SIZE).into_drawing_area();
        chart.draw(&root, Render { stroke: Stroke::Segments, legend: true }).map_err(fail)?;
    }
    temp.persist().map_err(|e| io_error(&png_path, e))?;
    Ok((vec![svg_path, png_path], svg))
}

pub(super) fn io_error(path: &Path, e: std::io::Error) -> ChartError {
    ChartError::Io { path: path.to_owned(), message: e.to_string() }
}

/// The comparison's charts and `report.html` (`compare --out`, and the
/// whole sweeps of `sweep` and `merge`). The time series show each
/// formula's run on the first seed; a sweep has none.
pub fn write_comparison(c: &Comparison, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    font()?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let runs: Vec<(String, &Series)> = c
        .formulas
        .iter()
        .zip(&c.runs)
        .filter_map(|(name, runs)| Some((name.clone(), runs.first()?.series.as_ref()?)))
        .collect();
    let charts =
        [Chart::Nodes(&runs), Chart::Queue(&runs), Chart::Cost(&runs), Chart::Scatter(c), Chart::Distribution(c)];
    let mut written = Vec::new();
    let mut svgs = Vec::new();
    // A sweep keeps no timelines: only the charts across seeds apply.
    let skip = if runs.is_empty() { 3 } else { 0 };
    for (stem, chart) in COMPARE_CHARTS.iter().zip(charts).skip(skip) {
        let (files, svg) = write_chart(dir, stem, &chart)?;
        written.extend(files);
        svgs.push(svg);
    }
    let html = html(c, &svgs);
    let path = dir.join("report.html");
    write_atomically(&path, html.as_bytes()).map_err(|e| io_error(&path, e))?;
    written.push(path);
    Ok(written)
}

/// The chart of a `tune` (`cost-vs-wait`, SVG and PNG) and its
/// `report.html`: `text`, the report as printed, then the chart.
pub fn write_trade_off(t: &TradeOff, text: &str, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    font()?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let (mut written, svg) = write_chart(dir, "cost-vs-wait", &Chart::TradeOff(t))?;
    let title = esc(&t.title);
    let html = format!(
        "{}<h1>{title}</h1>\n<pre>{}</pre>\n<figure>\n{svg}\n</figure>\n</body>\n</html>\n",
        page_head(&title, ""),
        esc(text)
    );
    let path = dir.join("report.html");
    write_atomically(&path, html.as_bytes()).map_err(|e| io_error(&path, e))?;
    written.push(path);
    Ok(written)
}

/// Escapes text for HTML.
pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The start of a self-contained page, up to its `<body>`: its title and
/// its style, with `css` added (no script, no external file: it opens
/// from disk, offline).
pub(super) fn page_head(title: &str, css: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}}\
         table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}svg{{max-width:100%;height:auto}}{css}</style>\n\
         </head>\n<body>\n"
    )
}

/// One self-contained page: the table, the tests, every chart inline.
fn html(c: &Comparison, svgs: &[String]) -> String {
    let mut h = String::new();
    let title = format!("{}: formula comparison", esc(&c.scenario));
    h.push_str(&page_head(&title, ""));
    let _ = writeln!(h, "<h1>{title}</h1>");
    let _ = writeln!(
        h,
        "<p>{} {}s × {} seeds; each sees the same workload on each seed. \
         Means over the seeds; cost with its 95&nbsp;% confidence interval (Student's t).</p>",
        c.formulas.len(),
        c.what,
        c.seeds.len()
    );
    let _ = writeln!(h, "<table>\n<tr>");
    for head in c.headings() {
        let _ = write!(h, "<th>{}</th>", esc(head));
    }
    let _ = writeln!(h, "</tr>");
    for row in c.rows() {
        let _ = write!(h, "<tr>");
        for cell in row {
            let _ = write!(h, "<td>{}</td>", esc(&cell));
        }
        let _ = writeln!(h, "</tr>");
    }
    let _ = writeln!(h, "</table>");
    let tests = c.significance();
    if !tests.is_empty() {
        let _ = writeln!(h, "<h2>Cost against {} (paired t-test)</h2>\n<ul>", esc(&c.formulas[0]));
        for (name, t) in tests {
            let line = match t {
                Some(t) => format!(
                    "{:+.2} ±{:.2}, p {}: {}",
                    t.mean_diff,
                    t.half_width,
                    super::compare::p_value(t.p),
                    if t.p < 0.05 { "significant at 5 %" } else { "not significant" }
                ),
                None => "needs at least 2 seeds".to_owned(),
            };
            let _ = writeln!(h, "<li>{}: {}</li>", esc(&name), esc(&line));
        }
        let _ = writeln!(h, "</ul>");
    }
    for svg in svgs {
        let _ = writeln!(h, "<figure>\n{svg}\n</figure>");
    }
    let _ = writeln!(h, "</body>\n</html>");
    h
}

#[cfg(test)]
mod tests;
