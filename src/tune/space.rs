//! The search space of `tune`: one dimension per `--param`, each a finite,
//! ordered list of values, so that the space is a lattice whose points are
//! index vectors.
//!
//! `LO..HI` with two integers is every integer between them; with two
//! reals, [`REAL_STEPS`] equal steps (so a real range is searched to 1 % of
//! its width); `A,B,C` is those values in that order (any scenario value,
//! `5m` included). The optimiser sees each dimension as its index scaled to
//! [0, 1], so that a list is ordinal: neighbours in the list are neighbours
//! in the space.

use crate::report::params::Key;

/// Steps a real range is divided into.
pub const REAL_STEPS: u32 = 100;
/// The most values an integer range may have: past this a lattice is no
/// longer a list one can hold, and the range is better given as a real one.
pub const MAX_VALUES: u64 = 100_000;

/// Why a `--param` is not a dimension.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpaceError {
    /// Not `KEY=LO..HI` or `KEY=A,B,C`.
    #[error("--param {0}: write KEY=LO..HI (integers or reals) or KEY=A,B,C, e.g. formula.maxNumberofVMs=1..40")]
    Syntax(String),
    /// A range whose ends are not two integers or two reals, or are not in order.
    #[error("--param {key}: `{range}` is not a range LO..HI with LO < HI, both integers or both reals")]
    Range {
        /// The key.
        key: String,
        /// The range as written.
        range: String,
    },
    /// An integer range with too many values.
    #[error("--param {key}: {count} values is more than {MAX_VALUES}; give a real range (LO.0..HI.0)")]
    TooLarge {
        /// The key.
        key: String,
        /// How many values it has.
        count: u64,
    },
    /// The same key twice.
    #[error("--param {0} is given twice")]
    Repeated(String),
}

/// One parameter and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Dimension {
    /// What it sets.
    pub key: Key,
    /// Its values, in order, as they are set (TOML values, or formula numbers).
    pub values: Vec<String>,
}

impl Dimension {
    /// Parses `KEY=LO..HI` or `KEY=A,B,C`.
    pub fn parse(text: &str) -> Result<Dimension, SpaceError> {
        let syntax = || SpaceError::Syntax(text.to_owned());
        let (key, spec) = text.split_once('=').ok_or_else(syntax)?;
        let (key, spec) = (key.trim(), spec.trim());
        if key.is_empty() || spec.is_empty() {
            return Err(syntax());
        }
        let values = match spec.split_once("..") {
            Some((lo, hi)) => range(key, lo.trim(), hi.trim())?,
            None => {
                let values: Vec<String> = spec.split(',').map(|v| v.trim().to_owned()).collect();
                if values.iter().any(String::is_empty) {
                    return Err(syntax());
                }
                values
            }
        };
        Ok(Dimension { key: Key::parse(key), values })
    }

    /// The coordinate of value `i` in [0, 1] (0 for a single value).
    pub fn coordinate(&self, i: usize) -> f64 {
        let last = self.values.len().saturating_sub(1);
        if last == 0 { 0.0 } else { i as f64 / last as f64 }
    }
}

/// The values of `lo..hi`: integers, or [`REAL_STEPS`] steps of a real range.
fn range(key: &str, lo: &str, hi: &str) -> Result<Vec<String>, SpaceError> {
    let bad = || SpaceError::Range { key: key.to_owned(), range: format!("{lo}..{hi}") };
    if let (Ok(a), Ok(b)) = (lo.parse::<i64>(), hi.parse::<i64>()) {
        if a >= b {
            return Err(bad());
        }
        let count = b.abs_diff(a).saturating_add(1);
        if count > MAX_VALUES {
            return Err(SpaceError::TooLarge { key: key.to_owned(), count });
        }
        return Ok((a..=b).map(|v| v.to_string()).collect());
    }
    let (a, b) = match (lo.parse::<f64>(), hi.parse::<f64>()) {
        (Ok(a), Ok(b)) if a.is_finite() && b.is_finite() && a < b => (a, b),
        _ => return Err(bad()),
    };
    Ok((0..=REAL_STEPS)
        .map(|i| {
            let v = a + (b - a) * f64::from(i) / f64::from(REAL_STEPS);
            // Twelve significant digits: `0.30000000000000004` is written `0.3`.
            let digits = 11 - v.abs().log10().floor().clamp(-300.0, 300.0) as i32;
            let v = if v == 0.0 || digits <= 0 { v } else { (v * 10f64.powi(digits)).round() / 10f64.powi(digits) };
            v.to_string()
        })
        .collect())
}

/// The lattice: every combination of the dimensions' values.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    /// The dimensions, in the order given.
    pub dims: Vec<Dimension>,
}

/// A point of the lattice: one value index per dimension.
pub type Point = Vec<usize>;

impl Space {
    /// Parses the `--param` arguments.
    pub fn parse(params: &[String]) -> Result<Space, SpaceError> {
        let mut dims: Vec<Dimension> = Vec::with_capacity(params.len());
        for p in params {
            let dim = Dimension::parse(p)?;
            if dims.iter().any(|d| d.key == dim.key) {
                return Err(SpaceError::Repeated(dim.key.to_string()));
            }
            dims.push(dim);
        }
        Ok(Space { dims })
    }

    /// How many points the lattice has (saturating).
    pub fn size(&self) -> u64 {
        self.dims.iter().fold(1u64, |n, d| n.saturating_mul(d.values.len() as u64))
    }

    /// Point number `i` of the lattice, the last dimension varying fastest.
    pub fn point(&self, mut i: u64) -> Point {
        let mut out = vec![0; self.dims.len()];
        for (slot, d) in out.iter_mut().zip(&self.dims).rev() {
            let n = d.values.len() as u64;
            *slot = (i % n) as usize;
            i /= n;
        }
        out
    }

    /// The number of `point` in the lattice, the inverse of [`Space::point`].
    pub fn index(&self, point: &[usize]) -> u64 {
        self.dims.iter().zip(point).fold(0u64, |n, (d, &i)| n * d.values.len() as u64 + i as u64)
    }

    /// The point's coordinates in [0, 1]^d, what the optimiser models.
    pub fn coordinates(&self, point: &[usize]) -> Vec<f64> {
        self.dims.iter().zip(point).map(|(d, &i)| d.coordinate(i)).collect()
    }

    /// The point's `(key, value)` pairs.
    pub fn values<'a>(&'a self, point: &[usize]) -> Vec<(&'a Key, &'a str)> {
        self.dims.iter().zip(point).map(|(d, &i)| (&d.key, d.values[i].as_str())).collect()
    }

    /// The point as a label: `formula.cap=12, pool.autoscale.interval=5m`.
    pub fn label(&self, point: &[usize]) -> String {
        let parts: Vec<String> = self.values(point).iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<String> {
        Dimension::parse(text).unwrap().values
    }

    #[test]
    fn integer_and_real_ranges_and_lists() {
        assert_eq!(values("formula.cap=1..4"), ["1", "2", "3", "4"]);
        assert_eq!(values("formula.cap=-2..0"), ["-2", "-1", "0"]);
        let real = values("formula.w=0.5..1.5");
        assert_eq!(real.len(), 101);
        assert_eq!((real[0].as_str(), real[1].as_str(), real[20].as_str()), ("0.5", "0.51", "0.7"));
        assert_eq!(real[100], "1.5");
        assert_eq!(values("pool.autoscale.interval=5m, 10m,15m"), ["5m", "10m", "15m"]);
        let d = Dimension::parse("formula.cap=1..5").unwrap();
        assert_eq!(d.key, Key::Formula("cap".to_owned()));
        assert_eq!((d.coordinate(0), d.coordinate(2), d.coordinate(4)), (0.0, 0.5, 1.0));
    }

    #[test]
    fn bad_parameters_name_their_key() {
        let e = |t: &str| Dimension::parse(t).unwrap_err().to_string();
        assert_eq!(
            e("formula.cap=4..1"),
            "--param formula.cap: `4..1` is not a range LO..HI with LO < HI, both integers or both reals"
        );
        assert!(e("formula.cap=1..x").starts_with("--param formula.cap: `1..x` is not a range"));
        assert!(e("formula.cap").starts_with("--param formula.cap: write KEY=LO..HI"));
        assert!(e("formula.cap=1,,2").starts_with("--param formula.cap=1,,2: write"));
        assert_eq!(
            e("formula.cap=0..100000"),
            "--param formula.cap: 100001 values is more than 100000; give a real range (LO.0..HI.0)"
        );
        let twice = Space::parse(&["formula.a=1..2".to_owned(), "formula.a=3,4".to_owned()]).unwrap_err();
        assert_eq!(twice.to_string(), "--param formula.a is given twice");
    }

    #[test]
    fn lattice_points_number_the_last_dimension_fastest() {
        let s = Space::parse(&["formula.a=1..2".to_owned(), "b=x,y,z".to_owned()]).unwrap();
        assert_eq!(s.size(), 6);
        assert_eq!(s.point(4), [1, 1]);
        assert_eq!(s.index(&[1, 1]), 4);
        assert_eq!(s.label(&[1, 2]), "formula.a=2, b=z");
        assert_eq!(s.coordinates(&[1, 1]), [1.0, 0.5]);
    }
}
