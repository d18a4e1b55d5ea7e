//! Durations in scenario files: humantime text (`"15m"`, `"7d"`) and
//! duration distributions, written either as a fixed duration or as a
//! table naming a statrs distribution.
//!
//! ```toml
//! allocation = "3m"                                        # fixed
//! allocation = { dist = "uniform", min = "1m", max = "8m" }
//! duration = { dist = "exponential", mean = "10m" }
//! duration = { dist = "normal", mean = "10m", std_dev = "2m" }
//! duration = { dist = "lognormal", median = "10m", sigma = 0.5 }
//! ```

use std::fmt;

use rand::Rng;
use rand::distr::Distribution;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, de::value::MapAccessDeserializer};
use statrs::distribution::{Exp, LogNormal, Normal, Uniform};

use crate::time::{DURATION_HINT, SimDuration, parse_duration};

/// A random duration: fixed, or drawn from a distribution. Negative draws
/// (possible with `normal`) count as zero.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// Always the same: what exact tests use.
    Fixed(SimDuration),
    /// Uniform between two durations, in seconds.
    Uniform(Uniform),
    /// Exponential with the given mean.
    Exponential(Exp),
    /// Normal, truncated at zero.
    Normal(Normal),
    /// Log-normal: `ln(seconds)` is normal; written by its median.
    LogNormal(LogNormal),
}

impl Dist {
    /// One draw, rounded to the millisecond. A fixed duration consumes no
    /// random number, so switching a concern to a fixed value does not
    /// shift the others sharing its stream.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        let seconds = match self {
            Dist::Fixed(d) => return *d,
            Dist::Uniform(d) => d.sample(rng),
            Dist::Exponential(d) => d.sample(rng),
            Dist::Normal(d) => d.sample(rng),
            Dist::LogNormal(d) => d.sample(rng),
        };
        // Saturating float-to-int: NaN → 0, huge → u64::MAX.
        SimDuration::from_millis_f64(seconds * 1000.0)
    }

    /// The fixed value, if the distribution is one.
    pub fn fixed(&self) -> Option<SimDuration> {
        match self {
            Dist::Fixed(d) => Some(*d),
            _ => None,
        }
    }
}

/// The table form, tagged by `dist`.
#[derive(Debug, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
enum DistTable {
    Fixed { value: SimDuration },
    Uniform { min: SimDuration, max: SimDuration },
    Exponential { mean: SimDuration },
    Normal { mean: SimDuration, std_dev: SimDuration },
    LogNormal { median: SimDuration, sigma: f64 },
}

impl DistTable {
    fn build(self) -> Result<Dist, String> {
        let secs = |d: SimDuration| d.as_secs_f64();
        Ok(match self {
            DistTable::Fixed { value } => Dist::Fixed(value),
            DistTable::Uniform { min, max } => {
                if min > max {
                    return Err(format!("uniform: min {min} is above max {max}; swap them"));
                }
                if min == max {
                    return Ok(Dist::Fixed(min));
                }
                Dist::Uniform(Uniform::new(secs(min), secs(max)).map_err(|e| format!("uniform: {e}"))?)
            }
            DistTable::Exponential { mean } => {
                if mean == SimDuration::ZERO {
                    return Err("exponential: the mean must be above 0s".into());
                }
                Dist::Exponential(Exp::new(1.0 / secs(mean)).map_err(|e| format!("exponential: {e}"))?)
            }
            DistTable::Normal { mean, std_dev } => {
                if std_dev == SimDuration::ZERO {
                    return Ok(Dist::Fixed(mean));
                }
                Dist::Normal(Normal::new(secs(mean), secs(std_dev)).map_err(|e| format!("normal: {e}"))?)
            }
            DistTable::LogNormal { median, sigma } => {
                if median == SimDuration::ZERO {
                    return Err("lognormal: the median must be above 0s".into());
                }
                if !(sigma.is_finite() && sigma > 0.0) {
                    return Err(format!("lognormal: sigma must be a number above 0, got {sigma}"));
                }
                Dist::LogNormal(LogNormal::new(secs(median).ln(), sigma).map_err(|e| format!("lognormal: {e}"))?)
            }
        })
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Dist;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "{DURATION_HINT}, or a table such as {{ dist = \"uniform\", min = \"1m\", max = \"8m\" }} \
                     (dist = fixed, uniform, exponential, normal or lognormal)"
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dist, E> {
                parse_duration(v).map(Dist::Fixed).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Dist, A::Error> {
                DistTable::deserialize(MapAccessDeserializer::new(map))?.build().map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Holder {
        d: Dist,
    }

    fn parse(text: &str) -> Result<Dist, String> {
        toml::from_str::<Holder>(text).map(|h| h.d).map_err(|e| e.to_string())
    }

    #[test]
    fn fixed_durations_read_the_duration_grammar() {
        assert_eq!(parse(r#"d = "15m""#), Ok(Dist::Fixed(SimDuration::from_mins(15))));
        assert_eq!(parse(r#"d = "7d""#), Ok(Dist::Fixed(SimDuration::from_hours(168))));
        assert_eq!(parse(r#"d = "1h 30m""#), Ok(Dist::Fixed(SimDuration::from_mins(90))));
        assert_eq!(parse(r#"d = { dist = "fixed", value = "250ms" }"#), Ok(Dist::Fixed(SimDuration(250))));
        let e = parse(r#"d = "15 minutes please""#).unwrap_err();
        assert!(e.contains("`15 minutes please` is not a duration;") && e.contains("line 1"), "{e}");
        let e = parse(r#"d = "15 minutes""#).unwrap_err();
        assert!(e.contains("`15 minutes` is not a duration here; write \"15m\""), "{e}");
        let e = parse("d = 15").unwrap_err();
        assert!(e.contains("a duration such as"), "{e}");
    }

    #[test]
    fn tables_name_a_distribution_and_are_checked() {
        assert!(matches!(parse(r#"d = { dist = "uniform", min = "1m", max = "8m" }"#), Ok(Dist::Uniform(_))));
        assert!(matches!(parse(r#"d = { dist = "exponential", mean = "10m" }"#), Ok(Dist::Exponential(_))));
        assert!(matches!(parse(r#"d = { dist = "lognormal", median = "10m", sigma = 0.5 }"#), Ok(Dist::LogNormal(_))));
        let e = parse(r#"d = { dist = "uniform", min = "8m", max = "1m" }"#).unwrap_err();
        assert!(e.contains("min 8m is above max 1m"), "{e}");
        let e = parse(r#"d = { dist = "uniform", min = "1m", maxi = "8m" }"#).unwrap_err();
        assert!(e.contains("unknown field `maxi`"), "{e}");
        let e = parse(r#"d = { dist = "pareto", scale = "1m" }"#).unwrap_err();
        assert!(e.contains("unknown variant `pareto`"), "{e}");
    }

    #[test]
    fn samples_stay_in_range_and_fixed_values_draw_nothing() {
        let mut r = ChaCha8Rng::seed_from_u64(1);
        let d = parse(r#"d = { dist = "uniform", min = "1m", max = "8m" }"#).unwrap();
        for _ in 0..1000 {
            let s = d.sample(&mut r);
            assert!(s >= SimDuration::from_mins(1) && s <= SimDuration::from_mins(8), "{s:?}");
        }
        let n = parse(r#"d = { dist = "normal", mean = "1s", std_dev = "10s" }"#).unwrap();
        assert!((0..1000).all(|_| n.sample(&mut r) < SimDuration::from_secs(100)));
        let mut a = ChaCha8Rng::seed_from_u64(1);
        let mut b = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(Dist::Fixed(SimDuration(5)).sample(&mut a), SimDuration(5));
        assert_eq!(d.sample(&mut a), d.sample(&mut b));
    }
}
