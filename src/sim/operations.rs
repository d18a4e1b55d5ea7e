//! What the scenario asks of the pool as a caller of the service's API —
//! a fixed pool's manual resizes and the `remove` node action — and the
//! error the service answers when it refuses one. A refused operation
//! changes nothing on the pool: unlike a resize error, which the pool
//! keeps, it is an answer to the caller, and the run keeps a log of them.

use std::fmt;

use crate::time::SimTime;

/// An operation the scenario calls on the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A manual resize to these targets (dedicated, low-priority).
    Resize {
        /// Dedicated and low-priority targets asked for.
        target: [u32; 2],
    },
    /// The `remove` node action on the node with this id.
    RemoveNode {
        /// The node's id.
        node: u32,
    },
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Resize { target: [dedicated, low] } => {
                write!(f, "resize to {dedicated} dedicated, {low} low-priority nodes")
            }
            Operation::RemoveNode { node } => write!(f, "remove node {node}"),
        }
    }
}

/// Why the service refused an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationError {
    /// A resize or a node removal asked while the pool was resizing.
    PoolNotSteady,
}

impl OperationError {
    /// The service's code.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationError::PoolNotSteady => "PoolNotSteady",
        }
    }

    /// What the code means.
    pub fn message(self) -> &'static str {
        match self {
            OperationError::PoolNotSteady => "the pool is resizing; this operation needs a steady pool",
        }
    }
}

/// An operation the service refused, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusedOperation {
    /// When it was called.
    pub time: SimTime,
    /// What was asked.
    pub operation: Operation,
    /// The error answered.
    pub error: OperationError,
}
