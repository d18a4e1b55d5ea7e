//! [`Split`]: a quantity by node priority, with its total — the shape of
//! every cost and node-hour figure the summary and the breakdown report.

use serde::Serialize;

/// A quantity by node priority.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Split {
    /// Dedicated nodes.
    pub dedicated: f64,
    /// Low-priority nodes.
    pub low_priority: f64,
    /// Both.
    pub total: f64,
}

impl Split {
    /// The split of `values` (dedicated, low-priority), with their total.
    pub(super) fn new(values: [f64; 2]) -> Split {
        Split { dedicated: values[0], low_priority: values[1], total: values[0] + values[1] }
    }

    /// The summary's line for people: `label` padded to `width`, the
    /// total, then each priority's share (`cost  12.34 (dedicated …)`).
    pub(super) fn line(&self, label: &str, width: usize) -> String {
        let (total, dedicated, low) = (self.total, self.dedicated, self.low_priority);
        format!("{label:<width$}{total:.2} (dedicated {dedicated:.2}, low-priority {low:.2})")
    }
}
