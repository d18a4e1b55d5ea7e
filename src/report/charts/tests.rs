//! The charts' data reduction, and what they look like: each chart is
//! drawn on a bitmap, as the PNG is, and its pixels checked — lines whole
//! and inside the plot area, whiskers clear of the frame, the legend over
//! no data.

use plotters::style::Color as _;

use super::*;
use crate::report::compare::SeedRun;

#[test]
fn steps_keep_only_changes() {
    let xs = [0.0, 1.0, 2.0, 3.0, 4.0];
    let ys = [1.0, 1.0, 3.0, 3.0, 3.0];
    assert_eq!(steps(&xs, &ys), vec![(0.0, 1.0), (2.0, 1.0), (2.0, 3.0), (4.0, 3.0), (4.0, 3.0)]);
}

#[test]
fn cap_keeps_spikes() {
    let mut points: Vec<(f64, f64)> = (0..5000).map(|i| (i as f64, 0.0)).collect();
    points[2501].1 = 9.0;
    let capped = cap(points);
    assert!(capped.len() <= MAX_POINTS);
    assert!(capped.iter().any(|p| p.1 == 9.0));
}

#[test]
fn five_numbers_are_the_range_and_the_quartiles() {
    assert_eq!(five_numbers(&[4.0, 1.0, 3.0, 2.0, 5.0]), [1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(five_numbers(&[1.0, 2.0]), [1.0, 1.25, 1.5, 1.75, 2.0]);
    assert_eq!(five_numbers(&[]), [0.0; 5]);
}

/// A chart drawn as its PNG is: RGB pixels, row by row, and its plot area.
struct Bitmap {
    pixels: Vec<u8>,
    area: PlotArea,
}

impl Bitmap {
    fn draw(chart: &Chart<'_>, legend: bool) -> Bitmap {
        font().expect("the font");
        let mut pixels = vec![0; (SIZE.0 * SIZE.1 * 3) as usize];
        let area = {
            let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
            chart.draw(&root, Render { stroke: Stroke::Segments, legend }).expect("drawn")
        };
        Bitmap { pixels, area }
    }

    fn at(&self, x: i32, y: i32) -> (u8, u8, u8) {
        let i = ((y as u32 * SIZE.0 + x as u32) * 3) as usize;
        (self.pixels[i], self.pixels[i + 1], self.pixels[i + 2])
    }

    /// Every pixel of `color`.
    fn of(&self, color: (u8, u8, u8)) -> Vec<(i32, i32)> {
        let (w, h) = (SIZE.0 as i32, SIZE.1 as i32);
        (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).filter(|&(x, y)| self.at(x, y) == color).collect()
    }

    /// Inside the plot area, or within half a 2-pixel line of its edge.
    fn inside(&self, (x, y): (i32, i32)) -> bool {
        let (columns, rows) = &self.area;
        (columns.start - 1..=columns.end).contains(&x) && (rows.start - 1..=rows.end).contains(&y)
    }
}

/// The RGB of series `i`'s colour.
fn series_color(i: usize) -> (u8, u8, u8) {
    Palette99::pick(i).to_rgba().rgb()
}

/// How many pieces `pixels` make, touching pixels (diagonals too) counting as one.
fn pieces(pixels: &[(i32, i32)]) -> usize {
    let mut left: std::collections::HashSet<(i32, i32)> = pixels.iter().copied().collect();
    let mut count = 0;
    while let Some(&start) = left.iter().next() {
        count += 1;
        left.remove(&start);
        let mut stack = vec![start];
        while let Some((x, y)) = stack.pop() {
            for next in [-1, 0, 1].into_iter().flat_map(|dx| [-1, 0, 1].map(|dy| (x + dx, y + dy))) {
                if left.remove(&next) {
                    stack.push(next);
                }
            }
        }
    }
    count
}

/// A bursty queue, sampled every 30 s for a day: long flat stretches, and
/// bursts that jump by 120 in one sample and drain over the next hour.
fn bursty_queue() -> Series {
    let n = 2880;
    let hours: Vec<f64> = (0..n).map(|i| i as f64 / 120.0).collect();
    let queue: Vec<f64> = (0..n)
        .map(|i| {
            let since_burst = i % 420;
            let wobble = ((i * 7919) % 5) as f64;
            if since_burst < 120 { (120 - since_burst) as f64 + wobble } else { wobble }
        })
        .collect();
    Series {
        hours,
        target: [vec![0.0; n], vec![0.0; n]],
        current: [vec![0.0; n], vec![0.0; n]],
        queue,
        cost: vec![0.0; n],
    }
}

#[test]
fn a_run_line_is_one_piece_inside_the_plot_area() {
    let series = bursty_queue();
    let runs = [("bursty".to_owned(), &series)];
    for chart in [Chart::Queue(&runs), Chart::Cost(&runs)] {
        let bitmap = Bitmap::draw(&chart, false);
        let line = bitmap.of(series_color(0));
        assert!(line.len() > 1000, "the line is drawn: {} pixels", line.len());
        let outside: Vec<_> = line.iter().filter(|&&p| !bitmap.inside(p)).collect();
        assert!(outside.is_empty(), "{} pixels outside the plot area, e.g. {:?}", outside.len(), outside.first());
        assert_eq!(pieces(&line), 1, "the line has gaps");
    }
}

fn comparison(costs: &[&[f64]]) -> Comparison {
    let run = |(seed, &cost): (usize, &f64)| SeedRun {
        seed: seed as u64,
        cost,
        node_hours: 0.0,
        mean_wait_s: None,
        p95_wait_s: None,
        makespan_s: None,
        unfinished: 0,
        failed_evaluations: 0,
        requeued_hours: 0.0,
        utilisation: None,
        idle_cost: 0.0,
        series: None,
    };
    Comparison {
        what: "formula",
        scenario: "s".to_owned(),
        formulas: (0..costs.len()).map(|f| format!("formula-with-a-long-name-{f}.formula")).collect(),
        seeds: (0..costs[0].len() as u64).collect(),
        runs: costs.iter().map(|c| c.iter().enumerate().map(run).collect()).collect(),
    }
}

#[test]
fn boxes_stay_clear_of_the_frame_and_of_the_legend() {
    // The third formula's highest cost is the highest of all: its whisker
    // reaches the top of the data, under the legend's corner.
    let c = comparison(&[
        &[19.0, 21.5, 24.7, 30.0, 16.2],
        &[15.0, 17.4, 19.0, 21.9, 16.4],
        &[17.0, 22.3, 25.2, 32.9, 20.0],
    ]);
    let chart = Chart::Distribution(&c);
    let plain = Bitmap::draw(&chart, false);
    let with_legend = Bitmap::draw(&chart, true);
    let (w, h) = (SIZE.0 as i32, SIZE.1 as i32);
    let changed: Vec<(i32, i32)> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| plain.at(x, y) != with_legend.at(x, y))
        .collect();
    assert!(!changed.is_empty(), "the legend is drawn");
    let (left, right) = (changed.iter().map(|p| p.0).min().unwrap(), changed.iter().map(|p| p.0).max().unwrap());
    let (top, bottom) = (changed.iter().map(|p| p.1).min().unwrap(), changed.iter().map(|p| p.1).max().unwrap());
    for i in 0..3 {
        let drawn = plain.of(series_color(i));
        assert!(!drawn.is_empty(), "box {i} is drawn");
        let (rows, columns) = (&plain.area.1, &plain.area.0);
        for &(x, y) in &drawn {
            assert!(rows.start + 2 < y && y < rows.end - 3, "box {i} touches the frame at {x},{y}: {rows:?}");
            assert!(columns.contains(&x), "box {i} outside the plot area at {x},{y}");
            let under_legend = (left..=right).contains(&x) && (top..=bottom).contains(&y);
            assert!(!under_legend, "the legend ({left}..{right}, {top}..{bottom}) covers box {i} at {x},{y}");
        }
    }
}

#[test]
fn the_pareto_front_keeps_the_points_nothing_beats() {
    let points = [(3.0, 1.0, true), (1.0, 5.0, false), (2.0, 2.0, true), (2.5, 4.0, true), (1.0, 6.0, false)];
    assert_eq!(pareto(&points), vec![(1.0, 5.0), (2.0, 2.0), (3.0, 1.0)]);
}
