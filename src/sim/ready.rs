//! The ready queue: active tasks waiting for a node, in the order the
//! scheduler places them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Queue order: higher job priority first, then lower task number (FIFO
/// within a job, and a requeued task goes back to its original place).
pub(crate) type ReadyKey = (i16, Reverse<u32>);

/// The active tasks waiting for a node, greatest [`ReadyKey`] first.
///
/// Keys mostly arrive in queue order: a job's new tasks have ever larger
/// numbers. Those wait in a FIFO, in order, whose head comes off in a few
/// instructions; the others (a requeued task, a released dependent, a
/// task of a higher priority than the last one queued) wait in a binary
/// heap, whose every pop walks its depth. The head is the greater of the
/// two heads. Keys are unique (a task waits once), so the order is that
/// of one heap holding them all.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadyQueue {
    /// Keys in decreasing order.
    fifo: VecDeque<ReadyKey>,
    /// Keys that came out of order.
    heap: BinaryHeap<ReadyKey>,
}

impl ReadyQueue {
    /// Queues `key`.
    pub(crate) fn push(&mut self, key: ReadyKey) {
        if self.fifo.back().is_none_or(|&last| key < last) {
            self.fifo.push_back(key);
        } else {
            self.heap.push(key);
        }
    }

    /// The greatest key, if any.
    pub(crate) fn peek(&self) -> Option<ReadyKey> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(&f), Some(&h)) => Some(f.max(h)),
            (f, h) => f.or(h).copied(),
        }
    }

    /// Takes the greatest key.
    pub(crate) fn pop(&mut self) -> Option<ReadyKey> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(f), Some(h)) if h > f => self.heap.pop(),
            (Some(_), _) => self.fifo.pop_front(),
            (None, _) => self.heap.pop(),
        }
    }

    /// Keys waiting.
    pub(crate) fn len(&self) -> usize {
        self.fifo.len() + self.heap.len()
    }

    /// Whether none waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every key, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &ReadyKey> {
        self.fifo.iter().chain(self.heap.iter())
    }

    /// Keeps only the keys for which `keep` holds.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&ReadyKey) -> bool) {
        self.fifo.retain(&mut keep);
        self.heap.retain(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_queue_pops_as_one_heap_would() {
        // New tasks in order, requeued ones behind them, a higher priority
        // later, and pops in between.
        let mut ready = ReadyQueue::default();
        let mut heap = BinaryHeap::new();
        let keys = [(0, 1), (0, 2), (0, 5), (0, 3), (5, 9), (0, 10), (0, 4), (5, 7), (0, 11)];
        for (i, (priority, task)) in keys.into_iter().enumerate() {
            ready.push((priority, Reverse(task)));
            heap.push((priority, Reverse(task)));
            if i % 3 == 2 {
                assert_eq!(ready.pop(), heap.pop());
            }
            assert_eq!(ready.peek(), heap.peek().copied());
            assert_eq!(ready.len(), heap.len());
        }
        ready.retain(|&(_, Reverse(t))| t != 10);
        heap.retain(|&(_, Reverse(t))| t != 10);
        assert_eq!(
            std::iter::from_fn(|| ready.pop()).collect::<Vec<_>>(),
            heap.into_sorted_vec().into_iter().rev().collect::<Vec<_>>()
        );
        assert!(ready.is_empty());
    }
}
