//! Dedicated or low-priority: what a node is, and what sets its price and
//! its core quota. Its own module because both the nodes and the billing
//! are counted by it.

/// Dedicated or low-priority (spot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Never preempted; the dedicated price and quota.
    Dedicated = 0,
    /// May be preempted; the low-priority price and quota.
    LowPriority = 1,
}

impl Priority {
    /// Both, in index order.
    pub const ALL: [Priority; 2] = [Priority::Dedicated, Priority::LowPriority];

    /// As in reports.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Dedicated => "dedicated",
            Priority::LowPriority => "low_priority",
        }
    }
}
