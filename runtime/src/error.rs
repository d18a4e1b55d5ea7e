//! Errors a built-in can raise while a formula is evaluated.
//!
//! They carry no source position: the caller (interpreter or compiled code)
//! knows which call raised them and attaches the line and column.

use thiserror::Error;

/// A run-time failure of a built-in function or operator.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RuntimeError {
    /// An aggregate such as `avg()` or `max($CPUPercent.GetSample(0))` saw no values.
    #[error("{function}() of an empty list")]
    EmptyAggregate {
        /// The aggregate's name as the user writes it.
        function: &'static str,
    },
    /// `val(v, 5)` on a vector of fewer than six elements, or a negative index.
    #[error("index {index} is out of range for a vector of {len} elements")]
    IndexOutOfRange {
        /// The index as given (it is a double in the language).
        index: f64,
        /// The vector's length.
        len: usize,
    },
    /// Element-wise arithmetic on two vectors of different lengths.
    #[error("element-wise operation on vectors of different lengths ({left} and {right})")]
    LengthMismatch {
        /// Length of the left operand.
        left: usize,
        /// Length of the right operand.
        right: usize,
    },
    /// `percentile(v, 120)`: the percentage must lie in [0, 100].
    #[error("percentile {0} is outside [0, 100]")]
    PercentileOutOfRange(f64),
    /// `GetSample(-3)`: a sample count must be a finite number at least 0.
    #[error("sample count must be a finite number at least 0, got {0}")]
    BadSampleCount(f64),
    /// `GetSample(w, 150)`: the required percentage must lie in [0, 100].
    #[error("sample percentage {0} is outside [0, 100]")]
    BadSamplePercent(f64),
    /// `time("yesterday")`: neither W3C-DTF (ISO 8601) nor RFC 1123.
    #[error(
        "cannot parse time \"{0}\": expected W3C-DTF (2016-10-13T19:18:47Z) or RFC 1123 (Thu, 13 Oct 2016 19:18:47 GMT)"
    )]
    BadTime(String),
    /// Time arithmetic left the representable range (years 1 to 9999, or a
    /// non-finite interval such as `TimeInterval_Second * (1/0)`).
    #[error("time value out of range")]
    TimeOutOfRange,
    /// A `GetSample` with a percentage found fewer samples than required.
    #[error("wanted {wanted}%, received {received}%")]
    InsufficientSamples {
        /// The percentage the formula asked for, as written.
        wanted: f64,
        /// The percentage found, truncated to an integer as the service prints it.
        received: f64,
    },
}
