//! The service's number format: C's `%g` with six significant digits.

use std::fmt::Write;

/// Significant digits of `%g`.
const PRECISION: i32 = 6;

/// Appends `x` formatted as C's `printf("%g", x)` would print it.
///
/// `29.0 / 30.0 * 100.0` prints `96.6667`, `1e7` prints `1e+07`, integers
/// print without a fraction. Non-finite values print as `nan`, `inf`, `-inf`.
pub fn write_double(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // Most values are whole numbers of at most six digits (targets, task
    // counts): `%g` prints them as they are, and formatting them the
    // general way below dominated the simulator's evaluations.
    if x.fract() == 0.0 && x.abs() < 1e6 {
        let _ = write!(out, "{}", x as i64);
        return;
    }
    write_general(out, x);
}

/// `%g` for a finite, non-zero `x`.
fn write_general(out: &mut String, x: f64) {
    // `{:e}` rounds to PRECISION digits first, so its exponent is the X of
    // the C standard's rule ("style e if X < -4 or X >= P").
    let scientific = format!("{:.*e}", (PRECISION - 1) as usize, x);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..PRECISION).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "{}e{sign}{:02}", strip_fraction_zeros(mantissa), exponent.abs());
    } else {
        let decimals = (PRECISION - 1 - exponent) as usize;
        out.push_str(strip_fraction_zeros(&format!("{x:.decimals$}")));
    }
}

/// `x` formatted as C's `%g`; see [`write_double`].
pub fn format_double(x: f64) -> String {
    let mut out = String::new();
    write_double(&mut out, x);
    out
}

/// Appends a vector as `[1,2,3]`, each element in the `%g` format.
pub fn write_vector(out: &mut String, values: &[f64]) {
    out.push('[');
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_double(out, v);
    }
    out.push(']');
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_print_as_the_general_rule_prints_them() {
        let mut x = 1.0f64;
        let mut checked = 0;
        let edges = [999_999.0, 1e6, 1_000_001.0];
        while x < 2e6 {
            for v in [x, -x, x + 1.0, x - 1.0, x * 7.0].into_iter().chain(edges).chain(edges.map(|e| -e)) {
                if v != 0.0 {
                    let (mut fast, mut general) = (String::new(), String::new());
                    write_double(&mut fast, v);
                    write_general(&mut general, v);
                    assert_eq!(fast, general, "{v}");
                    checked += 1;
                }
            }
            x = (x * 1.37).floor() + 1.0;
        }
        assert!(checked > 100);
    }

    #[test]
    fn matches_c_printf_g() {
        // Expected strings are what glibc's printf("%g") prints.
        let cases: &[(f64, &str)] = &[
            (5.0, "5"),
            (-3.0, "-3"),
            (0.5, "0.5"),
            (29.0 / 30.0 * 100.0, "96.6667"),
            (1e7, "1e+07"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (999999.5, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (1e-300, "1e-300"),
            (2.5e-2, "0.025"),
            (100.0, "100"),
            (1.1, "1.1"),
            (f64::MAX, "1.79769e+308"),
            (f64::MIN_POSITIVE, "2.22507e-308"),
            (-0.0, "-0"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(format_double(x), want, "formatting {x:?}");
        }
    }

    #[test]
    fn vectors_have_no_spaces() {
        let mut s = String::new();
        write_vector(&mut s, &[1.0, 2.5, 1e7]);
        assert_eq!(s, "[1,2.5,1e+07]");
        s.clear();
        write_vector(&mut s, &[]);
        assert_eq!(s, "[]");
    }
}
